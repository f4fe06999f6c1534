"""Subject matching: width and 表記ゆれ, ASCII word boundaries, the seed article's paragraphs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl import subjects
from etl.morph import text_tokens
from etl.subjects import SubjectHit, SubjectMatcher
from etl.taxonomy import load_taxonomy

from .conftest import sample_lines

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "note_article.txt"
SAMPLES = ROOT.parent / "shared" / "samples"


@pytest.fixture(scope="module")
def matcher() -> SubjectMatcher:
    return SubjectMatcher.from_taxonomy(load_taxonomy())


@pytest.fixture(scope="module")
def seed_lines() -> list[str]:
    if not SEED.exists():
        pytest.fail(f"seed article not found at {SEED}")
    return [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]


def ids(hits: list[SubjectHit]) -> list[str]:
    return [h.topic_id for h in hits]


def matcher_for(tmp_path: Path, topics: str) -> SubjectMatcher:
    path = tmp_path / "topics.yaml"
    path.write_text('taxonomy_version: "1"\ntopics:\n' + topics, encoding="utf-8")
    return SubjectMatcher.from_taxonomy(load_taxonomy(path))


# -- width, case, 表記ゆれ -----------------------------------------------------------------------


def test_full_width_acronym_matches(matcher: SubjectMatcher) -> None:
    assert ids(matcher.match("ＧＳＳの導入")) == ["gss_workplace"]
    assert matcher.match("ＧＳＳの導入")[0].evidence == ("GSS",)


def test_full_width_keyword_matches(tmp_path: Path) -> None:
    m = matcher_for(tmp_path, "  - id: pos\n    label_ja: POS\n    keywords: [POSデータ]\n")
    assert ids(m.match("消費ＰＯＳデータを分析")) == ["pos"]
    assert ids(m.match("pos データ")) == ["pos"]  # case and whitespace do not matter
    assert ids(m.match("EPOSデータ")) == []  # but a Latin word boundary does


def test_no_between_nouns_is_ignored(matcher: SubjectMatcher) -> None:
    assert "data_utilization" in ids(matcher.match("データの利活用を進める"))


def test_no_rule_is_generic(tmp_path: Path) -> None:
    # Only the の-less form is in this taxonomy: the の rule, not a listed variant, finds it.
    m = matcher_for(
        tmp_path, "  - id: du\n    label_ja: 利活用\n    keywords: [データ利活用, 政府共通クラウド]\n"
    )
    hits = m.match("データの利活用と、政府共通のクラウドサービス")
    assert [(h.topic_id, h.evidence) for h in hits] == [("du", ("データ利活用", "政府共通クラウド"))]
    # の between a noun and a non-noun stays: 「データの」 then a verb is not データ利活用.
    assert m.match("データの、利活用") == []


def test_keywords_differing_only_by_no_count_once(tmp_path: Path) -> None:
    m = matcher_for(
        tmp_path, "  - id: du\n    label_ja: 利活用\n    keywords: [データ利活用, データの利活用]\n"
    )
    (hit,) = m.match("データの利活用")
    assert hit.evidence == ("データ利活用",)


def test_inflected_forms_match_dictionary_form_keywords(tmp_path: Path) -> None:
    m = matcher_for(tmp_path, "  - id: use\n    label_ja: 活用\n    keywords: [活かす, 見える化する]\n")
    hit = m.match("経験を活かした仕事で、数字を見える化しました")[0]
    assert hit.evidence == ("活かす", "見える化する")


def test_caller_base_forms_are_one_more_view(tmp_path: Path) -> None:
    m = matcher_for(tmp_path, "  - id: kw\n    label_ja: K\n    keywords: [ダッシュボード]\n")
    assert m.match("表示", base_forms=["ダッシュ", "ボード"])[0].evidence == ("ダッシュボード",)


# -- ASCII word boundaries ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["PCR検査を受けた", "EPCの規格", "PCsが届く", "SPCとDXFの話", "LANDSAT"])
def test_short_acronyms_do_not_match_inside_words(matcher: SubjectMatcher, text: str) -> None:
    assert "gss_workplace" not in ids(matcher.match(text))
    assert "dx" not in ids(matcher.match(text))


@pytest.mark.parametrize(
    "text", ["LANやPC等の業務環境", "新しいPCを配布", "the PC is new", "DX推進", "(GSS)"]
)
def test_short_acronyms_match_as_tokens(matcher: SubjectMatcher, text: str) -> None:
    assert {"gss_workplace", "dx"} & set(ids(matcher.match(text)))


def test_ascii_keywords_need_word_boundaries(tmp_path: Path) -> None:
    m = matcher_for(tmp_path, "  - id: pc\n    label_ja: PC\n    keywords: [PC]\n")
    assert ids(m.match("PCR検査")) == []
    assert ids(m.match("EPC")) == []
    assert ids(m.match("PC_1")) == []
    assert ids(m.match("ノートPCを配布")) == ["pc"]
    assert ids(m.match("a pc b")) == ["pc"]  # the removed space still separates the words
    assert ids(m.match("ＰＣ")) == ["pc"]


# -- taxonomy-driven behaviour --------------------------------------------------------------------


def test_a_new_topic_in_yaml_needs_no_code(tmp_path: Path) -> None:
    base = (Path(__file__).resolve().parents[1] / "config" / "topics.yaml").read_text(encoding="utf-8")
    extra = "\n  - id: space\n    label_ja: 宇宙\n    label_en: Space\n    keywords: [人工衛星, 宇宙開発]\n"
    path = tmp_path / "topics.yaml"
    path.write_text(base + extra, encoding="utf-8")
    m = SubjectMatcher.from_taxonomy(load_taxonomy(path))
    assert ids(m.match("人工衛星のデータ利活用")) == ["data_utilization", "space"]


def test_negative_pattern_suppresses_the_topic(tmp_path: Path) -> None:
    m = matcher_for(
        tmp_path,
        "  - id: hire\n    label_ja: 採用\n    keywords: [採用]\n    negative_patterns: ['技術を採用']\n",
    )
    assert ids(m.match("新卒を採用します")) == ["hire"]
    assert ids(m.match("最新の技術を採用し、新卒も採用します")) == []


def test_pattern_evidence_is_the_matched_text(tmp_path: Path) -> None:
    m = matcher_for(tmp_path, "  - id: ver\n    label_ja: V\n    patterns: ['v\\d+\\.\\d+']\n")
    assert m.match("v1.2 と v1.2 と v2.0")[0].evidence == ("v1.2", "v2.0")


def test_patterns_only_taxonomy(tmp_path: Path) -> None:
    m = matcher_for(tmp_path, "  - id: ver\n    label_ja: V\n    patterns: ['(?a)\\bAPI\\b']\n")
    assert ids(m.match("Web API")) == ["ver"]
    assert m.match("RAPID") == []


def test_score_grows_with_distinct_evidence_only(matcher: SubjectMatcher) -> None:
    (one,) = matcher.match("国会")
    (same,) = matcher.match("国会、国会、国会")
    (two,) = matcher.match("国会の答弁")
    assert one.score == same.score == pytest.approx(0.6321, abs=1e-4)
    assert two.score == pytest.approx(0.8647, abs=1e-4)
    assert 0 < one.score < two.score <= 1


def test_overlapping_keywords_are_one_mention(matcher: SubjectMatcher) -> None:
    (hit,) = matcher.match("情報セキュリティ対策")
    assert hit.evidence == ("情報セキュリティ",)


def test_output_follows_taxonomy_order(matcher: SubjectMatcher) -> None:
    text = "国会答弁とガバメントクラウドとマイナンバー、そして調達"
    order = load_taxonomy().ids
    got = ids(matcher.match(text))
    assert got == sorted(got, key=order.index)
    assert got == ["government_cloud", "diet_affairs", "procurement", "mynumber"]


def test_empty_text(matcher: SubjectMatcher) -> None:
    assert matcher.match("") == []
    assert matcher.match(" \n ") == []


_MATCHER = SubjectMatcher.from_taxonomy(load_taxonomy())  # hypothesis tests cannot take fixtures


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_matching_never_fails_and_scores_are_in_range(text: str) -> None:
    for hit in _MATCHER.match(text):
        assert 0 < hit.score <= 1
        assert hit.evidence and len(set(hit.evidence)) == len(hit.evidence)


# -- the seed article -----------------------------------------------------------------------------


def line_with(lines: list[str], needle: str) -> str:
    (line,) = [ln for ln in lines if needle in ln]
    return line


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("ガバメントクラウドとは", {"government_cloud"}),
        ("GSSは政府共通の標準的な業務環境", {"gss_workplace"}),
        ("国民に開かれた政府(オープンガバメント)", {"open_data"}),
        ("オープンガバメントに向けて", {"open_data"}),
        ("「e-Govデータポータル」", {"open_data"}),
        ("「政策データダッシュボード」", {"dashboard", "data_utilization"}),
        ("入庁1年目には「国会担当」", {"diet_affairs"}),
        ("子育て支援や何らかの給付金", {"public_services"}),
        ("ユーザー体験を検証", {"user_centered"}),
        ("民間企業出身でネットワーク技術", {"diversity"}),
        ("企業間のデータ連携", {"data_utilization"}),
    ],
)
def test_seed_paragraph_subjects(
    matcher: SubjectMatcher, seed_lines: list[str], needle: str, expected: set[str]
) -> None:
    assert expected <= set(ids(matcher.match(line_with(seed_lines, needle))))


def test_seed_has_no_mynumber_procurement_or_legal(matcher: SubjectMatcher, seed_lines: list[str]) -> None:
    found = {t for line in seed_lines for t in ids(matcher.match(line))}
    assert not found & {"mynumber", "procurement", "legal"}
    # 「官民データ活用推進基本法」 names a law but is not legal work.
    assert "legal" not in ids(matcher.match(line_with(seed_lines, "官民データ活用推進基本法")))


def test_seed_false_friends(matcher: SubjectMatcher, seed_lines: list[str]) -> None:
    # 採用 as "adopt a technology" is not recruitment; 公務研究セミナー is not research.
    assert "career_recruitment" not in ids(matcher.match(line_with(seed_lines, "セキュリティ技術を採用")))
    assert "research" not in ids(matcher.match(line_with(seed_lines, "「公務研究セミナーin霞が関」")))
    assert "career_recruitment" in ids(matcher.match(line_with(seed_lines, "新卒採用(国家公務員採用試験)")))


def test_control_characters_do_not_hide_later_text(tmp_path: Path) -> None:
    m = matcher_for(tmp_path, "  - id: du\n    label_ja: 利活用\n    keywords: [データ利活用]\n")
    assert ids(m.match("前置き\x00データの利活用")) == ["du"]  # found in the の-less view


# -- fast paths agree with the general ones ------------------------------------------------


def _sample_texts() -> list[str]:
    texts = [
        *sample_lines(),
        "ＧＳＳ の 業務",
        "データの 利活用 と PC",
        "クラウド 基盤 を 活かした",
        "ΣΑΣ の ΟΔΟΣ",
        "PC\u3000LAN",
    ]
    return list(dict.fromkeys(t for t in texts if t.strip()))


def test_one_piece_views_equal_the_general_path() -> None:
    checked = 0
    for text in _sample_texts():
        tt = text_tokens(text)
        if len(tt.pieces) == 1:
            assert subjects._text_views(tt, ()) == subjects._views_of_pieces(tt, ()), text
            checked += 1
    assert checked > 100


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(["データ", "の", "利活用", "GSS", "PC", " ", "を", "活かし", "た", "ｄｘ", "Σ", "。"])
    )
)
def test_one_piece_views_equal_the_general_path_on_generated_texts(words: list[str]) -> None:
    tt = text_tokens("".join(words))
    if len(tt.pieces) == 1:
        assert subjects._text_views(tt, ()) == subjects._views_of_pieces(tt, ())


def test_one_scan_of_the_joined_views_keeps_what_each_scan_keeps(matcher: SubjectMatcher) -> None:
    for text in _sample_texts():
        for base_forms in ((), ("データ", "活用", "PC")):
            views = subjects._text_views(text_tokens(text), base_forms)
            if not views:
                continue
            each = {(kw.topic, kw.rank, kw.text) for view in views for kw in matcher._scan(view)}
            joined = {(kw.topic, kw.rank, kw.text) for kw in matcher._scan(subjects._joined(views))}
            assert joined == each, text
