"""The fast paths of the per-article analysis give what the plain definitions give.

Each stage kept its reference definition (``CueSet.find``, every pattern run on every text,
``subjects._join``); these tests hold the one-pass versions to it on the shipped samples and
on adversarial strings.
"""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pytest

from etl.cues import strip_quotes
from etl.facet_config import CueIndex, CueSet, load_facet_config
from etl.morph import text_tokens, tokenize
from etl.subjects import _join, _plain_join
from etl.taxonomy import GuardedPattern, PatternGate, _gate_parts, load_taxonomy

SHARED = Path(__file__).resolve().parents[2] / "shared" / "samples"
_SPLIT = re.compile(r"[。\n]")


def _sample_texts() -> list[str]:
    texts = [
        "",
        " ",
        "これまでの経歴、現在の業務について",
        "入社したきっかけ",
        "2015年に入社し、営業を経て、現在は人事を担当しています。",
        "「まず面白がる」が合言葉",
        "ＧＳＳの業務環境とPCR検査、DX推進",
        "データを活かした仕事",
        "(?a)\\bPC\\b PC-98 EPC",
    ]
    if SHARED.is_dir():
        for path in sorted(SHARED.rglob("*.txt"))[:20]:
            body = path.read_text(encoding="utf-8", errors="replace")
            texts.extend(t for t in _SPLIT.split(body)[:60] if t.strip())
    return texts


TEXTS = _sample_texts()


def _old_strip_quotes(text: str) -> str:
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch in "「『":
            depth += 1
            if depth == 1:
                out.append(ch)
        elif ch in "」』" and depth:
            depth -= 1
            if depth == 0:
                out.append(ch)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def test_strip_quotes_matches_the_character_loop() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice("「『」』あb ") for _ in range(rng.randint(0, 14)))
        assert strip_quotes(text) == (_old_strip_quotes(text) if "「" in text or "『" in text else text)


@pytest.mark.parametrize("kind", ["heading", "content"])
def test_cue_index_finds_what_each_cue_set_finds(kind: str) -> None:
    cfg = load_facet_config()
    sets = [getattr(f, kind) for f in cfg.facets]
    index = CueIndex(sets)
    for text in TEXTS:
        assert index.find_all(text) == [s.find(text) for s in sets], text
        assert index.find_all(text) == [s.find(text) for s in sets], text  # remembered


def test_cue_index_with_overlapping_lemmas_and_patterns() -> None:
    sets = [
        CueSet.build(("最後", "最後に", "後に"), (GuardedPattern("に入", "t"),)),
        CueSet.build(("勤める", "後"), (), weak=("後",), negative=(GuardedPattern("散歩", "t"),)),
    ]
    index = CueIndex(sets)
    for text in ("最後に入社して勤めています", "最後に散歩", "後に勤めた", "ＡＢ最後"):
        assert index.find_all(text) == [s.find(text) for s in sets], text


def test_pattern_gate_keeps_every_pattern_that_matches() -> None:
    tax = load_taxonomy()
    patterns = [p for t in tax.topics for p in (*t.patterns, *t.negative_patterns)]
    extra = [
        GuardedPattern(src, "t")
        for src in ("(a)\\1", "(?i)gss", "x(?=y)", "(?<!デ)ータ", "^データ", "(?i:pc)\\d", "", "a|b")
    ]
    gate = PatternGate([*patterns, *extra])
    for text in [*TEXTS, "gss", "xy", "ータ", "aa", "pc1", "データを活用"]:
        nfkc = unicodedata.normalize("NFKC", text)
        live = gate.live(nfkc)
        for p in [*patterns, *extra]:
            if p.search(nfkc) is not None:
                assert p in live, (p.pattern, text)


def test_gate_refuses_patterns_that_refer_to_the_whole_pattern() -> None:
    assert _gate_parts("(a)\\1") is None
    assert _gate_parts("(?P<x>a)(?P=x)") is None
    assert _gate_parts("a(?i)b") is None
    assert _gate_parts("(?x)a b") is None
    assert _gate_parts("(?a)\\bPC\\b") == ("a", "\\bPC\\b")
    assert _gate_parts("\\(?x") == ("", "\\(?x")


def test_text_tokens_pieces_are_the_stages_own_split() -> None:
    control = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
    for text in [*TEXTS, "ａ\x00ｂ　ｃ\u3000 d\x1fe", "ΑΣ ΟΣ"]:
        tt = text_tokens(text)
        nfkc = unicodedata.normalize("NFKC", text)
        pieces = [p for p in re.split(r"\s+", control.sub(" ", nfkc).strip()) if p]
        assert list(tt.pieces) == pieces
        assert [list(t) for t in tt.tokens] == [list(tokenize(p)) for p in pieces]
        assert _plain_join(tt.pieces) == _join(list(tt.pieces))
