"""An article's top keyphrases (``articles.keyphrases``): whole words, distinct, the ones a reader picks."""

from __future__ import annotations

import importlib.util
import sys
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest

from etl.analysis import Analyzer, EtlOptions
from etl.keyphrases import article_keyphrases, extract_phrases, fold_near_duplicates, near_duplicates
from etl.morph import tokenize

from .conftest import ROOT, SAMPLES, SEED

# Invented articles (every name made up) and the phrases a reader would say they are about.
GOLDEN = [
    (
        "長野県内の小さな町で、りんご農家の後継者を探す「就農マッチング」を始めました。"
        "長野県の移住窓口と組んで、就農マッチングの説明会を毎月開いています。"
        "お疲れ様です、と声をかけ合う畑で、そのため応募した人も多いです。みなさんもぜひ。",
        ["就農マッチング", "長野県", "りんご農家"],
        ["長野県内", "疲れ様", "お疲れ様", "ため応募", "みなさん", "こと"],
    ),
    (
        "港北フードラボでは、規格外野菜を使った冷凍スープの開発を進めています。"
        "冷凍スープは「港北フードラボ」の看板商品です。規格外野菜の仕入れ先は県内の12農家。"
        "開発チームの1日は、朝9時の試食会から始まります。ご紹介した冷凍スープは通販でも買えます。",
        ["冷凍スープ", "港北フードラボ", "規格外野菜"],
        ["朝9時", "1日", "12農家", "もの"],
    ),
]


def top(text: str, n: int = 10) -> list[str]:
    return article_keyphrases([p for line in text.split("。") for p in extract_phrases(line)], n)


@pytest.mark.parametrize(("text", "picks", "never"), GOLDEN)
def test_golden_articles_name_what_a_reader_picks(text: str, picks: list[str], never: list[str]) -> None:
    got = top(text, 5)
    assert set(picks) <= set(got), got
    assert not set(never) & set(top(text)), top(text)


def test_top_phrases_are_distinct() -> None:
    text = "ＧＳＳの導入。GSSの運用。gssの研修。GSSとは何か。"
    got = top(text)
    keys = [unicodedata.normalize("NFKC", p).casefold() for p in got]
    assert len(keys) == len(set(keys)) and "gss" in keys


def test_near_duplicates_fold_only_when_both_occur() -> None:
    both = extract_phrases("長野県内の企業と長野県の自治体")
    assert near_duplicates(both) == {"長野県内": "長野県"}
    assert near_duplicates(extract_phrases("長野県内の企業")) == {}
    rows = fold_near_duplicates([("a", p) for p in both])
    assert [p.phrase for _, p in rows] == ["長野県", "企業", "自治体"]
    assert next(p.count for _, p in rows if p.phrase == "長野県") == 2


def test_selecting_prefixes_fold_too() -> None:
    assert near_duplicates(extract_phrases("各府省庁と府省庁")) == {"各府省庁": "府省庁"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("お疲れ様です。", []),  # a greeting, not 疲れ様
        ("お知らせです", []),  # the prefix belongs to the word; the word is generic
        ("おいしいお米の産地", ["お米", "産地"]),
        ("そのため応募しました。", ["応募"]),  # formal noun at the edge
        ("担当者様へ", []),  # people addressed
        ("①書類選考", ["書類選考"]),  # a list number
        ("出演者1:原", ["出演者"]),
        ("NPO法人あおばやし広報担当", ["NPO法人", "広報担当"]),  # unknown kana name: no fragment
    ],
)
def test_candidates_are_whole_words(text: str, expected: list[str]) -> None:
    assert [p.phrase for p in extract_phrases(text)] == expected


# -- property: no top keyphrase is a fragment of a longer word in its article -------------------

# Suffixes a keyphrase may stand before in the text: they were folded or dropped on purpose.
_FOLDED_AFTER = frozenset({"等", "内", "中", "全体", "全域", "全般", "周辺", "側", "向け", "以外", "外"})


def whole_word_in(phrase: str, body: str) -> bool:
    """Whether ``phrase`` occurs in ``body`` at least once as whole morphemes of the analysis.

    Whole: it starts and ends on morpheme boundaries, no prefix is bound to its start (an
    honorific before a verbal noun aside: ご紹介 is 紹介) and no suffix to its end (the
    folded place suffixes aside).
    """
    for piece in unicodedata.normalize("NFKC", body).split():
        if phrase not in piece:
            continue
        tokens = tokenize(piece)
        spans, pos = [], 0
        for t in tokens:
            at = piece.find(t.surface, pos)
            spans.append((at, at + len(t.surface)))
            pos = at + len(t.surface)
        starts = {s: i for i, (s, _) in enumerate(spans)}
        ends = {e: i for i, (_, e) in enumerate(spans)}
        at = piece.find(phrase)
        while at >= 0:
            i, j = starts.get(at), ends.get(at + len(phrase))
            if i is not None and j is not None:
                prev = tokens[i - 1] if i > 0 else None
                nxt = tokens[j + 1] if j + 1 < len(tokens) else None
                bound_before = prev is not None and prev.pos1 == "接頭辞"
                if bound_before and prev is not None and prev.surface in {"お", "ご", "御"}:
                    bound_before = tokens[i].pos3 != "サ変可能"
                bound_after = nxt is not None and nxt.pos1 == "接尾辞" and nxt.surface not in _FOLDED_AFTER
                if not bound_before and not bound_after:
                    return True
            at = piece.find(phrase, at + 1)
    return False


def _load_make_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_make_corpus_kp", ROOT / "bench" / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _inputs(tmp: Path) -> list[Path]:
    corpus = _load_make_corpus().make_corpus(str(tmp / "bench"), 3.0, seed=3)
    samples = [*sorted((SAMPLES / "text").glob("*.txt")), *sorted((SAMPLES / "cues" / "text").glob("*.txt"))]
    return [SEED, *samples, *(Path(p) for p in corpus)]


@pytest.fixture(scope="module")
def article_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    analyzer = Analyzer(EtlOptions())
    rows = []
    for path in _inputs(tmp_path_factory.mktemp("kp")):
        rows.append(analyzer.process_bytes(str(path), path.read_bytes()).tables["articles"][0])
    return rows


def test_no_top_keyphrase_is_a_fragment_of_a_longer_word(article_rows: list[dict[str, object]]) -> None:
    assert len(article_rows) > 100
    bad = []
    for row in article_rows:
        phrases = row["keyphrases"]
        assert isinstance(phrases, list) and len(phrases) <= 10
        assert len(set(phrases)) == len(phrases)
        bad += [(row["source_path"], p) for p in phrases if not whole_word_in(p, str(row["body"]))]
    assert not bad, bad[:20]


def test_every_article_has_top_keyphrases(article_rows: list[dict[str, object]]) -> None:
    assert all(row["keyphrases"] for row in article_rows)


def test_seed_article_keyphrases_name_its_services(article_rows: list[dict[str, object]]) -> None:
    seed = next(r for r in article_rows if str(r["source_path"]).endswith(SEED.name))
    phrases = seed["keyphrases"]
    assert isinstance(phrases, list)
    assert {"デジタル庁", "ガバメントクラウド", "政策データダッシュボード"} <= set(phrases), phrases


def test_schema_2_articles_read_with_empty_keyphrases(tmp_path: Path) -> None:
    from .test_schemas import _write_without

    warehouse = _write_without(tmp_path, "articles", "keyphrases")
    table = warehouse.read_partition("articles", "undated")
    assert table is not None and table["keyphrases"].to_pylist() == [[], []]
