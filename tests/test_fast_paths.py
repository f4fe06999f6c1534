"""The fast paths of the token stages agree with the plain definitions they replace.

Each reference below is the code the fast path replaced, kept here verbatim: the texts of
the samples, the seed and a few edge cases go through both.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import etl.keyphrases as kp
from etl import subjects
from etl.facet_config import load_facet_config
from etl.morph import TextTokens, Token, _analyse, _parse, _token_of, text_tokens, token_code, token_codes
from etl.subjects import SubjectMatcher, _is_nounish
from etl.taxonomy import load_taxonomy

from .conftest import SAMPLES, SEED

EDGE = [
    "",
    "ご紹介します。お知らせとお疲れ様",
    "e-Govデータポータル、Node.jsとGSS-PC.net",
    "「政策データダッシュボード」とは、各府省庁のデータの利活用",
    "あおばやしのデータ、ぜひお越しください",
    "①書類選考 出演者1: 約300人 3割 2023年12月 5G 3D地図",
    "LANやPC等の業務環境、長野県内と市内全域、担当者様とみなさん",
    "山田太郎さんの話。オバマ大統領の政策",
    "ＧＳＳ の 業務環境\u3000と\tクラウド基盤",
    "データ-",
    "-データ",
    ".",
    "の",
    "のの",
    "データの",
    "のデータ",
]


@cache
def corpus_texts() -> tuple[str, ...]:
    texts: list[str] = list(EDGE)
    if SEED.exists():
        texts += SEED.read_text(encoding="utf-8").splitlines()
    for p in sorted(SAMPLES.rglob("*")):
        if p.suffix in {".txt", ".html", ".json"}:
            texts += p.read_text(encoding="utf-8").splitlines()
    texts = list(dict.fromkeys(t for t in texts if t.strip()))
    assert len(texts) > 300
    return tuple(texts)


def _reference_code(tok: Token) -> str:
    """token_code spelled out from the tests the run loop and the の rule make."""
    if tok.pos1 == "名詞" and tok.pos3 != "人名":
        return "S" if tok.pos3 == "サ変可能" else "N"
    if tok.pos1 == "接頭辞":
        return "H" if tok.surface in kp._HONORIFIC else "P"
    if tok.pos1 == "接尾辞" and tok.pos2 == "名詞的":
        return "X"
    if tok.surface in kp._ASCII_JOINERS:
        return "m" if tok.is_person_name else "J"
    if tok.is_person_name:
        return "M"
    if tok.surface == "の" and tok.pos1 == "助詞":
        return "n"
    return "o"


def _reference_extract(tt: TextTokens) -> tuple[kp.Phrase, ...]:
    """keyphrases._extract before the stretch fast path."""
    acc: dict[str, list[Any]] = {}
    for tokens in tt.tokens:
        for run, before, after in kp._runs(tokens):
            phrase = "".join([t.surface for t in run])
            if not kp._keep(run, phrase):
                continue
            base = "".join([t.base for t in run])
            marked = 1 if kp._is_marked(tokens, before, after) else 0
            entry = acc.get(base)
            if entry is None:
                acc[base] = [phrase, 1, kp.compound_parts(phrase), marked]
            else:
                entry[1] += 1
                entry[2] = max(entry[2], kp.compound_parts(phrase))
                entry[3] += marked
    return tuple(kp.Phrase(e[0], base, e[1], e[2], e[3]) for base, e in acc.items())


def _reference_without_no(tokens: tuple[Token, ...]) -> str:
    """subjects' view without the の between nouns, as _drop_genitive_no defines it."""
    return "".join(t.base for t in subjects._drop_genitive_no(tokens))


def _reference_tokenize(text: str) -> tuple[Token, ...]:
    """morph._analyse's loop before the one-pass lookup."""
    return tuple(_token_of(line) for line in _parse(text).split("\n") if line and line != "EOS")


def test_token_codes_follow_the_definition() -> None:
    for text in corpus_texts():
        tt = text_tokens(text)
        for tokens, codes in zip(tt.tokens, tt.codes, strict=True):
            assert codes == "".join(_reference_code(t) for t in tokens) == token_codes(tokens)
    person = Token("-", "名詞", "固有名詞", "人名", "一般", "-")
    assert token_code(person) == _reference_code(person) == "m"


def test_tokenize_fast_lookup_equals_the_line_loop() -> None:
    for text in corpus_texts():
        for piece in [text, *text.split()]:
            tokens, codes = _analyse.__wrapped__(piece)
            assert tokens == _reference_tokenize(piece), piece
            assert codes == token_codes(tokens) == "".join(map(_reference_code, tokens)), piece


def test_extract_equals_the_run_loop_on_whole_pieces() -> None:
    for text in corpus_texts():
        tt = text_tokens(text)
        assert kp._extract(tt) == _reference_extract(tt), text
    # Again with the memos warm (a stretch met before is looked up, not analysed).
    for text in corpus_texts():
        tt = text_tokens(text)
        assert kp._extract(tt) == _reference_extract(tt), text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "ご",
                "お",
                "各",
                "データ",
                "の",
                "紹介",
                "-",
                ".",
                "e",
                "Gov",
                "庁",
                "等",
                "こと",
                "山田",
                "さん",
                "「",
                "」",
                "とは",
                "あ",
                "ぜひ",
                "1",
                "年",
                "内",
                "全",
                "、",
                "知らせ",
                "様",
            ]
        ),
        max_size=12,
    )
)
def test_extract_equals_the_run_loop_on_generated_texts(words: list[str]) -> None:
    tt = text_tokens("".join(words))
    assert kp._extract(tt) == _reference_extract(tt)


def test_without_no_view_equals_the_definition() -> None:
    for text in corpus_texts():
        for tokens in text_tokens(text).tokens:
            # The codes find exactly the の the reference drops.
            drop = [
                i
                for i, t in enumerate(tokens)
                if t.surface == "の"
                and t.pos1 == "助詞"
                and 0 < i < len(tokens) - 1
                and _is_nounish(tokens[i - 1])
                and _is_nounish(tokens[i + 1])
            ]
            found = [m.start() for m in subjects._DROPPED_NO.finditer(token_codes(tokens))]
            assert found == drop
            assert subjects._without(tokens, found) == _reference_without_no(tokens)


@pytest.fixture(scope="module")
def matcher() -> SubjectMatcher:
    return SubjectMatcher.from_taxonomy(load_taxonomy())


def _reference_scan(m: SubjectMatcher, view: subjects._View) -> list[subjects._Keyword]:
    """SubjectMatcher._scan before the tuple sort."""
    assert m._automaton is not None
    key, gaps = view.key, view.gaps
    spans: list[tuple[int, int, subjects._Keyword]] = []
    for end, entries in m._automaton.iter(key):
        stop = end + 1
        for kw in entries:
            start = stop - kw.length
            if kw.ascii_head and start > 0 and start not in gaps and subjects._is_word_char(key[start - 1]):
                continue
            if kw.ascii_tail and stop < len(key) and stop not in gaps and subjects._is_word_char(key[stop]):
                continue
            spans.append((start, stop, kw))
    spans.sort(key=lambda s: (s[2].topic, s[0], -(s[1] - s[0]), s[2].rank))
    kept: list[subjects._Keyword] = []
    last_topic, covered_to = -1, -1
    for start, stop, kw in spans:
        if kw.topic != last_topic:
            last_topic, covered_to = kw.topic, -1
        if start >= covered_to:
            kept.append(kw)
            covered_to = stop
    return kept


def test_scan_equals_the_reference(matcher: SubjectMatcher) -> None:
    for text in corpus_texts():
        for view in subjects._text_views(text_tokens(text), ()):
            assert matcher._scan(view) == _reference_scan(matcher, view), text


def test_work_story_index_finds_what_the_cue_set_finds() -> None:
    cfg = load_facet_config()
    assert cfg.work_story
    for text in corpus_texts():
        assert cfg.work_cues.find_all(text) == [cfg.work_story.find(text)], text


def _reference_merge(groups: list[list[kp.Phrase]]) -> list[kp.Phrase]:
    """keyphrases.merge_phrases before the one-dict pass."""
    counts: dict[str, int] = {}
    spelling: dict[str, str] = {}
    parts: dict[str, int] = {}
    marked: dict[str, int] = {}
    for group in groups:
        for p in group:
            counts[p.base_form] = counts.get(p.base_form, 0) + p.count
            spelling.setdefault(p.base_form, p.phrase)
            parts[p.base_form] = max(parts.get(p.base_form, 1), p.parts)
            marked[p.base_form] = marked.get(p.base_form, 0) + p.marked
    return [kp.Phrase(spelling[b], b, n, parts[b], marked[b]) for b, n in counts.items()]


def _reference_near(items: list[kp.Phrase]) -> dict[str, str]:
    bases = {p.base_form for p in items}
    out: dict[str, str] = {}
    for p in items:
        core = kp._core(p.phrase)
        if core is not None and core in bases and core != p.base_form:
            out[p.base_form] = core
    return out


def _reference_fold(rows: list[tuple[str, kp.Phrase]]) -> list[tuple[str, kp.Phrase]]:
    """keyphrases.fold_near_duplicates before rows that stay were kept as they are."""
    folded = _reference_near([p for _, p in rows])
    if not folded:
        return list(rows)
    spelling = {p.base_form: p.phrase for _, p in rows}
    acc: dict[tuple[str, str], list[int]] = {}
    for segment_id, p in rows:
        base = folded.get(p.base_form, p.base_form)
        entry = acc.setdefault((segment_id, base), [0, 0, 0])
        parts = kp.compound_parts(spelling[base]) if base != p.base_form else p.parts
        entry[0] += p.count
        entry[1] = max(entry[1], parts)
        entry[2] += p.marked
    return [
        (sid, kp.Phrase(spelling[b], b, n, parts, marked)) for (sid, b), (n, parts, marked) in acc.items()
    ]


def _reference_article(phrases: list[kp.Phrase], n: int = kp.ARTICLE_TOP) -> list[str]:
    """keyphrases.article_keyphrases with the ranking spelled out by weight()."""
    merged = _reference_merge([phrases])
    folded = _reference_fold([("", p) for p in merged])
    ranked = sorted((p for _, p in folded), key=lambda p: -kp.weight(p.count, 1, 1, p.parts, p.marked))
    out: list[str] = []
    seen: set[str] = set()
    for p in ranked:
        key = unicodedata.normalize("NFKC", p.phrase).casefold()
        if key in seen or (not p.marked and kp.counts_something(p.phrase)):
            continue
        seen.add(key)
        out.append(p.phrase)
        if len(out) == n:
            break
    return out


# Spellings and base forms that fold (長野県内 -> 長野県, 各府省庁 -> 府省庁), several
# spellings of one base form, and phrases that fold into nothing.
_FOLD_WORDS = [
    ("長野県内", "長野県内"),
    ("長野県", "長野県"),
    ("各府省庁", "各府省庁"),
    ("府省庁", "府省庁"),
    ("市内全域", "市内全域"),
    ("市", "市"),
    ("ＧＳＳ", "GSS"),
    ("GSS", "GSS"),
    ("gss", "GSS"),
    ("データ", "データ"),
    ("週3日", "週3日"),
    ("県内", "県内"),
]
_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2", "s3"]),
        st.sampled_from(_FOLD_WORDS),
        st.integers(1, 5),
        st.integers(1, 4),
        st.integers(0, 2),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(_ROWS)
def test_fold_merge_and_article_ranking_equal_the_definitions(raw: list[Any]) -> None:
    rows = [(sid, kp.Phrase(w, b, c, parts, m)) for sid, (w, b), c, parts, m in raw]
    assert kp.fold_near_duplicates(rows) == _reference_fold(rows)
    phrases = [p for _, p in rows]
    assert kp.near_duplicates(phrases) == _reference_near(phrases)
    groups = [phrases[: len(phrases) // 2], phrases[len(phrases) // 2 :]]
    assert kp.merge_phrases(groups) == _reference_merge(groups)
    assert kp.article_keyphrases(phrases) == _reference_article(phrases)
    assert kp.article_keyphrases(phrases, 3) == _reference_article(phrases, 3)


def test_fold_equals_the_definition_on_the_corpus_phrases() -> None:
    rows = [(f"s{i % 7}", p) for i, text in enumerate(corpus_texts()) for p in kp.extract_phrases(text)]
    assert len(rows) > 1000
    assert kp.fold_near_duplicates(rows) == _reference_fold(rows)
    assert kp.article_keyphrases(p for _, p in rows) == _reference_article([p for _, p in rows])


def test_facet_cues_read_the_segment_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    # A text's dictionary forms for the facet cues come from the pieces the other stages
    # analysed: once a segment's text_tokens exist, the cues run MeCab no more.
    from etl import facet_config, morph

    texts = [t for t in corpus_texts() if " " in t or "\u3000" in t][:200] + list(EDGE)
    for text in texts:
        morph.analyse_text(text)  # what text_tokens holds, the pieces' memo refreshed
    calls: list[str] = []
    parse = morph._parse
    monkeypatch.setattr(morph, "_parse", lambda s: calls.append(s) or parse(s))
    facet_config._bases.cache_clear()
    for text in texts:
        facet_config._bases(unicodedata.normalize("NFKC", text))
    assert calls == []


def _reference_bases(text: str) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """facet_config._bases as the plain loop: each morpheme found after the one before."""
    from etl.morph import analyse_text

    bases: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for tok in (t for tokens in analyse_text(text).tokens for t in tokens):
        at = text.find(tok.surface, pos)
        if at < 0:
            continue
        pos = at + len(tok.surface)
        if not tok.pos1.startswith(("補助記号", "空白")):
            bases.append(tok.base)
            spans.append((at, pos))
    return tuple(bases), tuple(spans)


def test_facet_bases_equal_the_loop_on_the_corpus() -> None:
    from etl.facet_config import _bases

    for text in corpus_texts():
        norm = unicodedata.normalize("NFKC", text)
        assert _bases.__wrapped__(norm) == _reference_bases(norm), text


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("入社して勤めたデータの、。「」 \u3000\t\x00\x85ａＡ①㍻ﾃﾞ😀")),
        max_size=30,
    )
)
def test_facet_bases_equal_the_loop_on_generated_texts(text: str) -> None:
    from etl.facet_config import _bases

    assert _bases.__wrapped__(text) == _reference_bases(text)
