"""The table contract: one explicit pyarrow schema per warehouse table.

This module is the public interface other teams code against (see DESIGN.md §5). A change
to a column's name, type or meaning bumps :data:`SCHEMA_VERSION` and goes in the README's
changelog; ``tests/test_schemas.py`` fails when a column changes without that.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

SCHEMA_VERSION: Final = "3"

_TS = pa.timestamp("us", tz="UTC")
_STR_LIST = pa.list_(pa.string())


def _schema(*fields: pa.Field) -> pa.Schema:
    return pa.schema(list(fields))


def _f(name: str, type_: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


_RUN_COLS = (_f("run_id", pa.string(), False), _f("pipeline_version", pa.string(), False))

ARTICLES: Final = _schema(
    _f("article_id", pa.string(), False),
    _f("note_key", pa.string()),
    _f("url", pa.string()),
    _f("source_path", pa.string(), False),
    _f("source_format", pa.string(), False),
    _f("title", pa.string()),
    _f("account", pa.string()),
    _f("published_at", _TS),
    _f("fetched_at", _TS),
    _f("content_sha256", pa.string(), False),
    _f("body_chars", pa.int32(), False),
    _f("segment_count", pa.int32(), False),
    _f("sentence_count", pa.int32(), False),
    _f("speaker_count", pa.int32(), False),
    _f("speakers", _STR_LIST, False),
    _f("facets", _STR_LIST, False),
    _f("subjects", _STR_LIST, False),
    _f("format", pa.string(), False),
    _f("format_confidence", pa.float32(), False),
    _f("keyphrases", _STR_LIST, False),  # schema 3: the article's top ten, best first
    _f("body", pa.large_string(), False),
    _f("schema_version", pa.string(), False),
    _f("processed_at", _TS, False),
    *_RUN_COLS,
)

SEGMENTS: Final = _schema(
    _f("article_id", pa.string(), False),
    _f("segment_id", pa.string(), False),
    _f("ordinal", pa.int32(), False),
    _f("kind", pa.string(), False),
    _f("heading_level", pa.int8()),
    _f("section", pa.string()),
    _f("section_path", _STR_LIST, False),
    _f("text", pa.string(), False),
    _f("label", pa.string()),
    _f("char_start", pa.int32(), False),
    _f("char_end", pa.int32(), False),
    _f("sentence_count", pa.int16(), False),
    _f("speaker_id", pa.string()),
    _f("speaker_name", pa.string()),
    _f("speaker_role", pa.string(), False),
    _f("speaker_method", pa.string(), False),
    _f("speaker_confidence", pa.float32(), False),
    _f("facet", pa.string()),
    _f("subjects", _STR_LIST, False),
    *_RUN_COLS,
)

SENTENCES: Final = _schema(
    _f("article_id", pa.string(), False),
    _f("segment_id", pa.string(), False),
    _f("sentence_id", pa.string(), False),
    _f("ordinal", pa.int32(), False),
    _f("text", pa.string(), False),
    _f("char_start", pa.int32(), False),
    _f("char_end", pa.int32(), False),
    _f("speaker_id", pa.string()),
    _f("speaker_name", pa.string()),
    _f("speaker_role", pa.string(), False),
    *_RUN_COLS,
)

SPEAKERS: Final = _schema(
    _f("article_id", pa.string(), False),
    _f("speaker_id", pa.string(), False),
    _f("name", pa.string(), False),
    _f("speaker_key", pa.string(), False),
    _f("affiliation", pa.string()),
    _f("job_title", pa.string()),
    _f("role", pa.string(), False),
    _f("evidence", pa.string(), False),
    _f("first_ordinal", pa.int32(), False),
    _f("segment_count", pa.int32(), False),
    _f("char_count", pa.int32(), False),
    *_RUN_COLS,
)

SEGMENT_TOPICS: Final = _schema(
    _f("article_id", pa.string(), False),
    _f("segment_id", pa.string(), False),
    _f("dimension", pa.string(), False),
    _f("topic_id", pa.string(), False),
    _f("score", pa.float32(), False),
    _f("method", pa.string(), False),
    _f("evidence", _STR_LIST, False),
    *_RUN_COLS,
)

TOPICS: Final = _schema(
    _f("topic_id", pa.string(), False),
    _f("dimension", pa.string(), False),
    _f("label_ja", pa.string(), False),
    _f("label_en", pa.string()),
    _f("parent_id", pa.string()),
    _f("keywords", _STR_LIST, False),
    _f("taxonomy_version", pa.string(), False),
    *_RUN_COLS,
)

KEYPHRASES: Final = _schema(
    _f("article_id", pa.string(), False),
    _f("segment_id", pa.string(), False),
    _f("phrase", pa.string(), False),
    _f("base_form", pa.string(), False),
    _f("count", pa.int16(), False),
    _f("marked", pa.int16(), False),
    _f("score", pa.float32(), False),
    *_RUN_COLS,
)

RUNS: Final = _schema(
    _f("run_id", pa.string(), False),
    _f("flow_name", pa.string(), False),
    _f("started_at", _TS, False),
    _f("finished_at", _TS, False),
    _f("status", pa.string(), False),
    _f("inputs_seen", pa.int32(), False),
    _f("articles_written", pa.int32(), False),
    _f("articles_unchanged", pa.int32(), False),
    _f("inputs_rejected", pa.int32(), False),
    _f("pipeline_version", pa.string(), False),
)

REJECTS: Final = _schema(
    _f("run_id", pa.string(), False),
    _f("source_path", pa.string(), False),
    _f("content_sha256", pa.string()),
    _f("error_type", pa.string(), False),
    _f("error_message", pa.string(), False),
    _f("rejected_at", _TS, False),
    _f("pipeline_version", pa.string(), False),
)

#: Every table of the warehouse, by directory name.
TABLES: Final[dict[str, pa.Schema]] = {
    "articles": ARTICLES,
    "segments": SEGMENTS,
    "sentences": SENTENCES,
    "speakers": SPEAKERS,
    "segment_topics": SEGMENT_TOPICS,
    "topics": TOPICS,
    "keyphrases": KEYPHRASES,
    "runs": RUNS,
    "rejects": REJECTS,
}
#: Tables whose rows belong to one article and are replaced when it is reprocessed.
#: Columns added after schema 1, with the value rows of older files read as. A partition
#: written before a column existed stays readable; the next run that touches it rewrites it.
ADDED_COLUMNS: Final[dict[str, dict[str, object]]] = {
    "keyphrases": {"marked": 0},  # schema 2
    "articles": {"format": "other", "format_confidence": 0.0, "keyphrases": []},  # schema 3
}

ARTICLE_TABLES: Final = ("articles", "segments", "sentences", "speakers", "segment_topics", "keyphrases")
