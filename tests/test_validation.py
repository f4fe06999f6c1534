"""The contract checks: what each one rejects, and the reasons a reject lists.

The reasons are the texts (and the order) the earlier pandera schemas reported: rejects of
an unchanged input keep their first row only when the message is the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from etl import PIPELINE_VERSION
from etl.analysis import Analyzer, ArticleRows, EtlOptions
from etl.batches import _keyphrase_rows
from etl.validation import CHECKS, _ordinals_contiguous, batch_tables, validate_tables

from .conftest import SAMPLES, SEED

TEXTS = sorted((SAMPLES / "text").glob("*.txt"))
FACETS = "['intro', 'career', 'current_work', 'motivation', 'appeal', 'culture', 'message', 'other']"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(EtlOptions())


@pytest.fixture
def batch(analyzer: Analyzer) -> list[ArticleRows]:
    results = [analyzer.process_bytes(str(p), p.read_bytes()) for p in (SEED, *TEXTS[:3])]
    _keyphrase_rows(results)
    for r in results:
        r.tables  # noqa: B018  # as rows, the form an edited article takes
        r.stamp("run", PIPELINE_VERSION)
    return results


Edit = Callable[[list[ArticleRows]], ArticleRows]


def _set(table: str, row: int, column: str, value: Any) -> Edit:
    """Set one value of the first article holding rows of ``table``; return that article."""

    def edit(results: list[ArticleRows]) -> ArticleRows:
        r = next(r for r in results if len(r.tables[table]) > max(row, -row - 1))
        r.tables[table][row][column] = value(r) if callable(value) else value
        return r

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(results: list[ArticleRows]) -> ArticleRows:
        edited = [e(results) for e in edits]  # every edit, on the article of the first
        return edited[0]

    return edit


def _body_chars(r: ArticleRows) -> int:
    return int(r.tables["articles"][0]["body_chars"])


CASES: dict[str, tuple[Edit, str]] = {
    "source format": (
        _set("articles", 0, "source_format", "pdf"),
        "articles.source_format: isin(['text', 'html', 'note_api'])",
    ),
    "hash": (
        _set("articles", 0, "content_sha256", "XYZ"),
        "articles.content_sha256: str_matches('^[0-9a-f]{64}$')",
    ),
    "negative body length": (
        _set("articles", 0, "body_chars", -1),
        "articles: body_chars == len(body); articles.body_chars: greater_than_or_equal_to(0)",
    ),
    "NaN confidence": (
        _set("articles", 0, "format_confidence", math.nan),
        "articles.format_confidence: not_nullable",
    ),
    "missing body length": (
        _set("articles", 0, "body_chars", None),
        "articles: body_chars == len(body); articles.body_chars: not_nullable; articles.body_chars: dtype('int64')",
    ),
    "repeated segment id": (
        _set("segments", 1, "segment_id", lambda r: r.tables["segments"][0]["segment_id"]),
        "segments: segment_id == {article_id}:{ordinal:04d}; segments.segment_id: field_uniqueness",
    ),
    "negative ordinal": (
        _set("segments", 0, "ordinal", -1),
        "segments: segment_id == {article_id}:{ordinal:04d}; segments: ordinals contiguous from 0; "
        "segments.ordinal: greater_than_or_equal_to(0)",
    ),
    "negative ordinal, its id": (
        _both(
            _set("segments", 0, "ordinal", -1),
            _set("segments", 0, "segment_id", lambda r: f"{r.article_id}:-001"),
        ),
        "segments: ordinals contiguous from 0; segments.ordinal: greater_than_or_equal_to(0)",
    ),
    "heading level": (_set("segments", 0, "heading_level", 7), "segments.heading_level: in_range(1, 6)"),
    "heading level past int8": (
        _set("segments", 0, "heading_level", 300),
        "segments.heading_level: in_range(1, 6)",
    ),
    "facet": (_set("segments", 0, "facet", "nope"), f"segments.facet: isin({FACETS})"),
    "speaker name without id": (
        _both(_set("segments", 0, "speaker_name", "X"), _set("segments", 0, "speaker_id", None)),
        "segments: speaker_id set exactly when speaker_name is",
    ),
    "past the body": (_set("segments", -1, "char_end", 10**6), "segments: offsets inside the article body"),
    "empty sentence": (
        _set("sentences", 0, "text", ""),
        "sentences: span length == len(text); sentences.text: str_length(1, None)",
    ),
    "repeated sentence ordinal": (
        _set("sentences", 1, "ordinal", 0),
        "sentences: ordinals contiguous from 0",
    ),
    "empty speaker name": (
        _set("speakers", 0, "name", ""),
        "speakers: speaker_id == {article_id}:{name}; speakers.name: str_length(1, None)",
    ),
    "topic method": (
        _set("segment_topics", 0, "method", "guess"),
        "segment_topics.method: isin(['heading', 'question', 'content', 'inherited', 'position', 'keyword', 'model'])",
    ),
    "topic of another article": (
        _set("segment_topics", 0, "segment_id", "zzz:0001"),
        "segment_topics: segment of the same article",
    ),
    "marked too often": (_set("keyphrases", 0, "marked", 99), "keyphrases: marked <= count"),
    "NaN score": (_set("keyphrases", 0, "score", math.nan), "keyphrases.score: not_nullable"),
    "several": (
        _both(
            _set("segments", 0, "char_end", 10**6),
            _set("segments", 0, "facet", "zz"),
            _set("segments", 1, "segment_id", "x"),
            _set("articles", 0, "segment_count", 0),
            _set("articles", 0, "content_sha256", "q"),
        ),
        "articles.content_sha256: str_matches('^[0-9a-f]{64}$'); articles.segment_count: "
        "greater_than_or_equal_to(1); segments: offsets inside the article body; segments: segment_id == "
        f"{{article_id}}:{{ordinal:04d}}; segments.facet: isin({FACETS})",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_failing_article_lists_its_failed_checks(batch: list[ArticleRows], case: str) -> None:
    edit, reasons = CASES[case]
    bad = edit(batch)
    kept, rejects, tables = validate_tables(batch)
    assert [(rj.source_path, rj.error_message) for rj in rejects] == [
        (bad.source_path, f"failed checks: {reasons}")
    ]
    assert [r.article_id for r in kept] == [r.article_id for r in batch if r is not bad]
    expected = batch_tables(kept)
    assert all(tables[name].equals(expected[name]) for name in expected)


def test_a_valid_batch_passes_every_check(batch: list[ArticleRows]) -> None:
    kept, rejects, tables = validate_tables(batch)
    assert kept == batch and not rejects
    assert tables["segments"].num_rows == sum(len(r.tables["segments"]) for r in batch)


def test_a_hash_with_a_final_newline_passes_as_it_did(batch: list[ArticleRows]) -> None:
    # Python's `$` (the checks' first engine) matched before a final newline.
    batch[1].tables["articles"][0]["content_sha256"] += "\n"
    assert not validate_tables(batch)[1]


def test_a_null_count_costs_only_its_own_article(batch: list[ArticleRows]) -> None:
    batch[2].tables["segments"][1]["ordinal"] = None
    _, rejects, _ = validate_tables(batch)
    assert [rj.source_path for rj in rejects] == [batch[2].source_path]
    assert "segments.ordinal: not_nullable; segments.ordinal: dtype('int64')" in rejects[0].error_message


def test_a_string_for_a_count_fails_its_type(batch: list[ArticleRows]) -> None:
    batch[1].tables["segments"][0]["sentence_count"] = "many"
    kept, rejects, _ = validate_tables(batch)
    assert [rj.error_message for rj in rejects] == ["failed checks: segments.sentence_count: dtype('int64')"]
    assert len(kept) == len(batch) - 1


def test_ordinals_are_contiguous_per_article() -> None:
    ids = pa.array(["a", "a", "a", "b", "b", "c", "c", None])
    ordinals = pa.array([2, 0, 1, 0, 0, 0, None, 0])
    assert _ordinals_contiguous(ids, ordinals).to_pylist()[:7] == [True] * 3 + [False] * 4


def test_every_table_of_an_article_is_checked() -> None:
    assert set(CHECKS) == {"articles", "segments", "sentences", "speakers", "segment_topics", "keyphrases"}
    assert all(CHECKS[name] for name in CHECKS)
