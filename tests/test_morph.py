"""The tokeniser: the same morphemes as fugashi's node API, and safe to call from several threads."""

from __future__ import annotations

import csv
import functools
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import fugashi
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.morph import Token, _analyse, analyse_text

from .conftest import SAMPLES, SEED


def test_threads_get_the_same_tokens_as_one_thread() -> None:
    texts = [SEED.read_text(encoding="utf-8")] + [
        p.read_text(encoding="utf-8") for p in sorted((SAMPLES / "text").glob("*.txt"))
    ]
    lines = [
        f"{line}{i}" for i, line in enumerate(line for t in texts for line in t.splitlines() if line.strip())
    ]
    _analyse.cache_clear()
    expected = [_fresh(line) for line in lines]
    for _ in range(3):
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(_fresh, lines * 4))
        assert got == expected * 4


def _fresh(text: str) -> tuple[Token, ...]:
    """The morphemes of ``text`` analysed now (not from the memo)."""
    return _analyse.__wrapped__(text)[0]


def _reference(text: str) -> tuple[Token, ...]:
    """The same analysis through fugashi's node objects and their UniDic CSV features."""
    tagger = _reference_tagger()
    out = []
    for word in tagger(text):
        f = next(csv.reader([word.feature_raw]))
        base = f[10] if len(f) > 10 and f[10] not in ("*", "") else word.surface
        out.append(Token(word.surface, *(f + ["*"] * 4)[:4], base))
    return tuple(out)


@functools.cache
def _reference_tagger() -> fugashi.Tagger:
    return fugashi.Tagger()


def test_mecab_formatted_output_equals_fugashi_nodes() -> None:
    # The tokenizer reads MeCab's own formatted output (one line per morpheme) for speed;
    # it must agree with the node features, quoted CSV fields and unknown words included.
    texts = [SEED.read_text(encoding="utf-8")] + [
        p.read_text(encoding="utf-8")
        for p in sorted(SAMPLES.rglob("*"))
        if p.suffix in {".txt", ".html", ".json"}
    ]
    pieces = [piece for t in texts for piece in t.split() if piece]
    pieces += ['"generator":', "、,，。", "ＡＢＣ①Ⅻ", "EOS", "絵文字😀と\u3000全角", "x\\ty"]
    assert len(pieces) > 1000
    for piece in pieces:
        assert _fresh(piece) == _reference(piece), piece


def test_left_rewrite_rules_keep_the_parts_of_speech() -> None:
    # The tokenizer reads a dictionary word's pos1-4 from its left context id: sound because
    # every left rewrite rule copies pos1-4 unchanged into the features left-id.def names.
    import unidic_lite

    text = (Path(unidic_lite.DICDIR) / "rewrite.def").read_text(encoding="utf-8")
    section = text.split("[left rewrite]")[1].split("[")[0]
    rules = [line.split("\t") for line in section.splitlines() if line.strip() and not line.startswith("#")]
    assert len(rules) > 5
    for pattern, result in rules:
        fields = result.split(",")
        assert pattern.startswith("BOS/EOS") or fields[:4] == ["$1", "$2", "$3", "$4"], result


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("データの活用をしたいとPC-e.Gov「」、。1２３ａ 　行っ来たアイウ😀")),
        max_size=40,
    )
)
def test_tokenize_equals_fugashi_nodes_on_generated_texts(text: str) -> None:
    assert _fresh(text) == _reference(text)


def test_pieces_are_the_whitespace_split_of_the_regex() -> None:
    # analyse_text cuts a text with str.split(); it replaced a split at re's \s+ with the
    # empty ends dropped. Both must cut at exactly the same characters, every code point.
    ws = re.compile(r"\s+")
    for code in range(sys.maxunicode + 1):
        text = f"a{chr(code)}b {chr(code)}"
        assert text.split() == [p for p in ws.split(text) if p], hex(code)
    text = "\u3000ＧＳＳ の\x1c業務\u2028環境\x85 "
    assert analyse_text(text).pieces == ("GSS", "の", "業務", "環境")
