"""Keyphrases: compound nouns, the filters, TF-IDF scoring, and the seed article's top phrases."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.keyphrases import (
    STOP_PHRASES,
    Phrase,
    compound_parts,
    document_frequencies,
    extract_phrases,
    merge_phrases,
    score_phrases,
    score_rows,
    weight,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "note_article.txt"


def phrases(text: str) -> list[str]:
    return [p.phrase for p in extract_phrases(text)]


@pytest.fixture(scope="module")
def seed_article() -> list[Phrase]:
    """The seed's phrases: each line a segment, added up for the article."""
    if not SEED.exists():
        pytest.fail(f"seed article not found at {SEED}")
    lines = [ln for ln in SEED.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return merge_phrases(extract_phrases(ln) for ln in lines)


@pytest.fixture(scope="module")
def seed_ranking(seed_article: list[Phrase]) -> list[str]:
    docs = {"seed": seed_article}
    return list(score_phrases(docs, document_frequencies(docs), n_docs=1)["seed"])


# -- extraction -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ガバメントクラウドを使う", ["ガバメントクラウド"]),
        ("「政策データダッシュボード」に携わる", ["政策データダッシュボード"]),
        ("デジタル庁に入る", ["デジタル庁"]),  # 名詞 + 接尾辞(名詞的)
        ("各府省庁と調整する", ["各府省庁", "調整"]),  # 接頭辞 + 名詞
        ("e-Govデータポータルを提供", ["e-Govデータポータル", "提供"]),  # ASCII joined by a hyphen
        ("ご紹介します", ["紹介"]),  # honorific prefix dropped
        ("LANやPC等の業務環境", ["LAN", "PC", "業務環境"]),  # 等 closes a list of examples
        ("人生100年時代と5G", ["人生100年時代", "5G"]),
    ],
)
def test_compound_nouns(text: str, expected: list[str]) -> None:
    assert phrases(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "そういうことです。もののため、ところ、ほう、とき",  # formal nouns
        "私たちや皆さん、自分の方",  # pronouns and people in general
        "2023年12月、1998年に、3人で",  # dates and quantities
        "12345 と 3.14 と ①",  # numbers and symbols
        "現在、一方で、必要な",  # adverbial / adjectival nouns alone
        "約300と約3割",  # quantities behind a prefix
        "木、日、と",  # one character
        "オバマ",  # a person name
    ],
)
def test_dropped_phrases(text: str) -> None:
    assert phrases(text) == []


def test_counts_and_first_occurrence_order() -> None:
    got = extract_phrases("クラウド基盤とGSS。GSSとクラウド基盤、そしてGSS")
    assert got == [Phrase("クラウド基盤", "クラウド基盤", 2, 2), Phrase("GSS", "GSS", 3)]


@pytest.mark.parametrize(
    "text",
    [
        "「ガバメントクラウド」に携わる",  # quoted whole
        "『政策データダッシュボード』を公開",
        "“ガバメントクラウド”だと",
        "「GSS(ガバメントソリューションサービス)」の",  # quoted, an abbreviation's expansion after it
        "ガバメントクラウドとは、政府共通のクラウドです",  # defined
        "ＧＳＳとは何か",  # after NFKC
    ],
)
def test_terms_the_writer_sets_off_are_marked(text: str) -> None:
    first = extract_phrases(text)[0]
    assert first.marked == 1 and first.count == 1


@pytest.mark.parametrize(
    "text",
    [
        "ガバメントクラウドを使う",
        "「ガバメントクラウドの利用」",  # the quotation holds more than the phrase
        "「新しいガバメントクラウド」",
        "データと連携する",  # と as "and", not とは
        "クラウドといえば",
        "(ガバメントクラウド)",  # a parenthesis is an aside, not a quotation
    ],
)
def test_plain_mentions_are_not_marked(text: str) -> None:
    assert all(p.marked == 0 for p in extract_phrases(text))


def test_marks_add_up_like_counts() -> None:
    (p,) = extract_phrases("「GSS」とGSS。GSSとは")
    assert (p.count, p.marked) == (3, 2)
    assert merge_phrases([[p], [Phrase("GSS", "GSS", 1, 1, 1)]])[0].marked == 3


def test_width_is_normalised() -> None:
    assert phrases("ＧＳＳとGSS") == ["GSS"]
    assert extract_phrases("ＧＳＳとGSS")[0].count == 2


def test_whitespace_ends_a_phrase() -> None:
    assert phrases("データ 連携") == ["データ", "連携"]


def test_control_characters_do_not_truncate() -> None:
    # MeCab reads a C string: an unremoved NUL would silently drop クラウド基盤.
    assert phrases("ガバメントクラウド\x00クラウド基盤") == ["ガバメントクラウド", "クラウド基盤"]


def test_base_form_is_the_identity() -> None:
    (p,) = extract_phrases("社会づくり")
    assert (p.phrase, p.base_form) == ("社会づくり", "社会つくり")  # unidic's orthBase drops rendaku


# -- aggregation and scoring ----------------------------------------------------------------------


def test_merge_phrases_adds_counts_by_base_form() -> None:
    merged = merge_phrases(
        [
            [Phrase("GSS", "GSS", 1), Phrase("社会づくり", "社会つくり", 1)],
            [Phrase("社会つくり", "社会つくり", 2)],
        ]
    )
    assert merged == [Phrase("GSS", "GSS", 1), Phrase("社会づくり", "社会つくり", 3)]


def test_document_frequencies_count_documents_not_occurrences() -> None:
    docs = {"a": [Phrase("GSS", "GSS", 5), Phrase("GSS", "GSS", 1)], "b": [Phrase("GSS", "GSS", 1)], "c": []}
    assert document_frequencies(docs) == {"GSS": 2}


def test_score_is_tf_idf_normalised_per_document() -> None:
    docs = {"a": [Phrase("X", "x", 3), Phrase("Y", "y", 1)], "b": [Phrase("Y", "y", 1)]}
    df = {"x": 1, "y": 40}
    got = score_phrases(docs, df, n_docs=100)
    x = (1 + math.log(3)) * (math.log(101 / 2) + 1)
    y = 1 * (math.log(101 / 41) + 1)
    assert got["a"] == {"x": 1.0, "y": pytest.approx(round(y / x, 4))}
    assert got["b"] == {"y": 1.0}
    assert all(isinstance(v, float) and 0 < v <= 1 for d in got.values() for v in d.values())


def test_a_phrase_in_every_document_still_counts() -> None:
    docs = {"a": [Phrase("X", "x", 2), Phrase("Y", "y", 1)]}
    assert score_phrases(docs, {"x": 10, "y": 10}, n_docs=10) == {
        "a": {"x": 1.0, "y": pytest.approx(round(1 / (1 + math.log(2)), 4))}
    }


def test_rare_phrases_outrank_common_ones() -> None:
    docs = {"a": [Phrase("データ", "データ", 5), Phrase("ガバメントクラウド", "ガバメントクラウド", 2)]}
    ranked = list(score_phrases(docs, {"データ": 900, "ガバメントクラウド": 3}, n_docs=1000)["a"])
    assert ranked == ["ガバメントクラウド", "データ"]


def test_missing_document_frequency_means_this_document_only() -> None:
    docs = {"a": [Phrase("X", "x", 1), Phrase("Y", "y", 1)]}
    assert score_phrases(docs, {"y": 1}, n_docs=5)["a"] == {"x": 1.0, "y": 1.0}


def test_repeated_phrases_of_a_document_are_added_up() -> None:
    docs = {"a": [Phrase("X", "x", 1), Phrase("Y", "y", 2), Phrase("X", "x", 2)]}
    assert score_phrases(docs, {}, n_docs=1)["a"] == {
        "x": 1.0,
        "y": pytest.approx(round((1 + math.log(2)) / (1 + math.log(3)), 4)),
    }


def test_empty_document_and_ties_keep_order() -> None:
    docs = {"empty": [], "tie": [Phrase("B", "b", 1), Phrase("A", "a", 1)]}
    got = score_phrases(docs, {}, n_docs=2)
    assert got["empty"] == {}
    assert list(got["tie"]) == ["b", "a"]


def test_inconsistent_corpus_counts_are_rejected() -> None:
    docs = {"a": [Phrase("X", "x", 1)], "b": []}
    with pytest.raises(ValueError, match="n_docs"):
        score_phrases(docs, {}, n_docs=1)
    with pytest.raises(ValueError, match="exceeds n_docs"):
        score_phrases(docs, {"x": 3}, n_docs=2)


def test_score_phrases_is_pure() -> None:
    docs = {"a": [Phrase("X", "x", 1)]}
    df = {"x": 1}
    score_phrases(docs, df, n_docs=3)
    assert docs == {"a": [Phrase("X", "x", 1)]} and df == {"x": 1}


# -- the seed article -------------------------------------------------------------------------------


def test_seed_top_phrases_name_the_agency_and_its_services(seed_ranking: list[str]) -> None:
    # The acceptance bullet of the topics issue: the agency, and the two services the
    # speakers explain, each mentioned only once or twice but quoted as terms.
    assert "デジタル庁" in seed_ranking[:3]
    assert {"ガバメントクラウド", "政策データダッシュボード"} <= set(seed_ranking[:15])


def test_seed_keyphrases_include_the_specific_terms(seed_ranking: list[str]) -> None:
    # With a one-article corpus every IDF is 1: termhood (compound length, marking) ranks.
    for phrase in [
        "ガバメントクラウド",
        "政策データダッシュボード",
        "省庁業務サービスグループ",
        "オープンガバメント",
    ]:
        assert phrase in seed_ranking
    assert {"デジタル庁", "デジタル技術", "国家公務員", "デジタル化"} <= set(seed_ranking[:15])
    # Termhood: specific compounds outrank frequent one-word generic nouns.
    assert not {"データ", "業務", "サービス", "国民", "行政"} & set(seed_ranking[:15])


def test_weight_caps_compound_length_and_boosts_marked_terms() -> None:
    assert weight(1, 1, 1, 3, 0) == weight(1, 1, 1, 6, 0) == 3 * weight(1, 1, 1, 1, 0)
    assert weight(1, 1, 1, 2, 0) == 2 * weight(1, 1, 1, 1, 0)
    assert weight(1, 1, 1, 1, 1) == weight(1, 1, 1, 1, 3) == 2 * weight(1, 1, 1, 1, 0)
    assert weight(3, 1, 1, 1, 0) == pytest.approx(1 + math.log(3))
    # Rare over common: same counts, the phrase in fewer documents scores higher.
    assert weight(1, 2, 100, 1, 0) > weight(1, 50, 100, 1, 0)


def test_score_rows_agrees_with_score_phrases() -> None:
    # Stored rows (one per segment) re-scored from the table give the same scores as the
    # article's phrases scored when they were extracted, marks included.
    rows = [
        ("a", "ガバメントクラウド", "ガバメントクラウド", 1, 1),
        ("a", "データ", "データ", 3, 0),
        ("a", "ガバメントクラウド", "ガバメントクラウド", 1, 0),
        ("b", "データ", "データ", 1, 0),
    ]
    aids, bases, spellings, counts, marks = (list(c) for c in zip(*rows, strict=True))
    docs = {
        aid: [Phrase(p, b, c, compound_parts(p), m) for a, b, p, c, m in rows if a == aid]
        for aid in ("a", "b")
    }
    df = document_frequencies(docs)
    expected = score_phrases(docs, df, n_docs=2)
    got = score_rows(aids, bases, spellings, counts, marks, df, 2)
    assert got == [expected[a][b] for a, b in zip(aids, bases, strict=True)]


def test_seed_has_no_stop_words(seed_article: list[Phrase], seed_ranking: list[str]) -> None:
    found = {p.phrase for p in seed_article} | {p.base_form for p in seed_article}
    assert not found & {"こと", "もの", "ため", "私", "皆さん", "私たち", "自分", "方", "中"}
    assert not set(seed_ranking[:15]) & STOP_PHRASES


# -- property ---------------------------------------------------------------------------------------

# Japanese-heavy text with Latin letters, digits, symbols, spaces and stop words mixed in.
_pieces = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x3040, max_codepoint=0x30FF), max_size=8),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), max_size=4),
    st.sampled_from([*sorted(STOP_PHRASES), "デジタル庁", "GSS", "2023年", "e-Gov", "・", "、", " ", "\n"]),
    st.text(max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_pieces, max_size=12).map("".join))
def test_extracted_phrases_are_never_empty_short_or_stop_words(text: str) -> None:
    for p in extract_phrases(text):
        assert len(p.phrase) >= 2 and p.base_form
        assert p.phrase not in STOP_PHRASES
        assert p.count >= 1
        assert not any(ch.isspace() for ch in p.phrase)
        assert unicodedata.category(p.phrase[0])[0] not in "PSZC"
        assert unicodedata.category(p.phrase[-1])[0] not in "PSZC"
        assert not all(unicodedata.category(ch) == "Nd" for ch in p.phrase)


_row = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(
        ["ガバメントクラウド", "データ", "GSS", "政策データダッシュボード", "内閣官房IT総合戦略室"]
    ),
    st.integers(1, 5),
    st.integers(0, 5),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_row, min_size=1, max_size=12), st.integers(0, 20))
def test_stored_rows_score_like_the_articles_phrases(
    rows: list[tuple[str, str, int, int]], extra_docs: int
) -> None:
    # The columnar re-scoring of stored rows (one per segment, any order) gives each
    # article's phrases the scores score_phrases gives them, up to the 4-decimal rounding.
    rows = [(a, p, c, min(m, c)) for a, p, c, m in rows]
    docs: dict[str, list[Phrase]] = {}
    for a, p, c, m in rows:
        docs.setdefault(a, []).append(Phrase(p, p, c, compound_parts(p), m))
    df = document_frequencies(docs)
    n_docs = len(docs) + extra_docs
    expected = score_phrases(docs, df, n_docs)
    aids, phrases_, counts, marks = (list(col) for col in zip(*rows, strict=True))
    got = score_rows(aids, phrases_, phrases_, counts, marks, df, n_docs)
    for aid, phrase, score in zip(aids, phrases_, got, strict=True):
        assert score == pytest.approx(expected[aid][phrase], abs=1e-4)


def test_run_summary_lists_the_scored_top_keyphrases(tmp_path: Path) -> None:
    from etl.run import run_local

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / SEED.name).write_bytes(SEED.read_bytes())
    summary = run_local([str(raw)], str(tmp_path / "wh"))
    top = summary.top_keyphrases
    assert len(top) == 20 and all(score > 0 for _, score in top)
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    assert {"デジタル庁", "ガバメントクラウド", "政策データダッシュボード"} <= {p for p, _ in top[:15]}
    # An unchanged rerun writes nothing and so has no keyphrases of its own.
    assert run_local([str(raw)], str(tmp_path / "wh")).top_keyphrases == []
