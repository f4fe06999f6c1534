"""The table contract: one explicit pyarrow schema per warehouse table, and its row type.

Each schema is followed by the ``TypedDict`` of its rows, so the code that builds rows is
checked against the contract by mypy (a misspelt column or a wrong type fails the check);
:func:`etl.warehouse.to_table` builds the Arrow table column by column from those rows.
A per-article table also has the ``TypedDict`` of one article's rows as columns (a list
per column): the analysis builds those, as cheaper to turn into Arrow arrays than dicts,
and :func:`etl.warehouse.columns_table` builds a batch's table from them.

This module is the public interface other teams code against (see DESIGN.md §5). A change
to a column's name, type or meaning bumps :data:`SCHEMA_VERSION` and goes in the README's
changelog; ``tests/test_schemas.py`` fails when a column changes without that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final, NotRequired, TypedDict

import pyarrow as pa

if TYPE_CHECKING:
    from etl.keyphrases import Phrase
    from etl.rejects import Reject
    from etl.taxonomy import Taxonomy

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


class ArticleRow(TypedDict):
    """A row of ``articles``: the keys and value types of :data:`ARTICLES`."""

    article_id: str
    note_key: str | None
    url: str | None
    source_path: str
    source_format: str
    title: str | None
    account: str | None
    published_at: datetime | None
    fetched_at: datetime | None
    content_sha256: str
    body_chars: int
    segment_count: int
    sentence_count: int
    speaker_count: int
    speakers: list[str]
    facets: list[str]
    subjects: list[str]
    format: str
    format_confidence: float
    keyphrases: list[str]
    body: str
    schema_version: str
    processed_at: datetime
    run_id: NotRequired[str]
    pipeline_version: NotRequired[str]


class ArticleColumns(TypedDict):
    """One article's ``articles`` rows as columns: the row type's keys but ``article_id`` and
    the run's columns (the batch fills those in), each holding a list of the values."""

    note_key: list[str | None]
    url: list[str | None]
    source_path: list[str]
    source_format: list[str]
    title: list[str | None]
    account: list[str | None]
    published_at: list[datetime | None]
    fetched_at: list[datetime | None]
    content_sha256: list[str]
    body_chars: list[int]
    segment_count: list[int]
    sentence_count: list[int]
    speaker_count: list[int]
    speakers: list[list[str]]
    facets: list[list[str]]
    subjects: list[list[str]]
    format: list[str]
    format_confidence: list[float]
    keyphrases: list[list[str]]
    body: list[str]
    schema_version: list[str]
    processed_at: list[datetime]


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


class SegmentRow(TypedDict):
    """A row of ``segments``: the keys and value types of :data:`SEGMENTS`."""

    article_id: str
    segment_id: str
    ordinal: int
    kind: str
    heading_level: int | None
    section: str | None
    section_path: list[str]
    text: str
    label: str | None
    char_start: int
    char_end: int
    sentence_count: int
    speaker_id: str | None
    speaker_name: str | None
    speaker_role: str
    speaker_method: str
    speaker_confidence: float
    facet: str | None
    subjects: list[str]
    run_id: NotRequired[str]
    pipeline_version: NotRequired[str]


class SegmentColumns(TypedDict):
    """One article's ``segments`` rows as columns: the row type's keys but ``article_id`` and
    the run's columns (the batch fills those in), each holding a list of the values."""

    segment_id: list[str]
    ordinal: list[int]
    kind: list[str]
    heading_level: list[int | None]
    section: list[str | None]
    section_path: list[list[str]]
    text: list[str]
    label: list[str | None]
    char_start: list[int]
    char_end: list[int]
    sentence_count: list[int]
    speaker_id: list[str | None]
    speaker_name: list[str | None]
    speaker_role: list[str]
    speaker_method: list[str]
    speaker_confidence: list[float]
    facet: list[str | None]
    subjects: list[list[str]]


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


class SentenceRow(TypedDict):
    """A row of ``sentences``: the keys and value types of :data:`SENTENCES`."""

    article_id: str
    segment_id: str
    sentence_id: str
    ordinal: int
    text: str
    char_start: int
    char_end: int
    speaker_id: str | None
    speaker_name: str | None
    speaker_role: str
    run_id: NotRequired[str]
    pipeline_version: NotRequired[str]


class SentenceColumns(TypedDict):
    """One article's ``sentences`` rows as columns: the row type's keys but ``article_id`` and
    the run's columns (the batch fills those in), each holding a list of the values."""

    segment_id: list[str]
    sentence_id: list[str]
    ordinal: list[int]
    text: list[str]
    char_start: list[int]
    char_end: list[int]
    speaker_id: list[str | None]
    speaker_name: list[str | None]
    speaker_role: list[str]


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


class SpeakerRow(TypedDict):
    """A row of ``speakers``: the keys and value types of :data:`SPEAKERS`."""

    article_id: str
    speaker_id: str
    name: str
    speaker_key: str
    affiliation: str | None
    job_title: str | None
    role: str
    evidence: str
    first_ordinal: int
    segment_count: int
    char_count: int
    run_id: NotRequired[str]
    pipeline_version: NotRequired[str]


class SpeakerColumns(TypedDict):
    """One article's ``speakers`` rows as columns: the row type's keys but ``article_id`` and
    the run's columns (the batch fills those in), each holding a list of the values."""

    speaker_id: list[str]
    name: list[str]
    speaker_key: list[str]
    affiliation: list[str | None]
    job_title: list[str | None]
    role: list[str]
    evidence: list[str]
    first_ordinal: list[int]
    segment_count: list[int]
    char_count: list[int]


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


class TopicRow(TypedDict):
    """A row of ``topics``: the keys and value types of :data:`TOPICS`."""

    topic_id: str
    dimension: str
    label_ja: str
    label_en: str | None
    parent_id: str | None
    keywords: list[str]
    taxonomy_version: str
    run_id: NotRequired[str]
    pipeline_version: NotRequired[str]


class SegmentTopicRow(TypedDict):
    """A row of ``segment_topics``: the keys and value types of :data:`SEGMENT_TOPICS`."""

    article_id: str
    segment_id: str
    dimension: str
    topic_id: str
    score: float
    method: str
    evidence: list[str]
    run_id: NotRequired[str]
    pipeline_version: NotRequired[str]


class SegmentTopicColumns(TypedDict):
    """One article's ``segment_topics`` rows as columns: the row type's keys but ``article_id`` and
    the run's columns (the batch fills those in), each holding a list of the values."""

    segment_id: list[str]
    dimension: list[str]
    topic_id: list[str]
    score: list[float]
    method: list[str]
    evidence: list[list[str]]


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


class KeyphraseRow(TypedDict):
    """A row of ``keyphrases``: the keys and value types of :data:`KEYPHRASES`."""

    article_id: str
    segment_id: str
    phrase: str
    base_form: str
    count: int
    marked: int
    score: float
    run_id: NotRequired[str]
    pipeline_version: NotRequired[str]


class KeyphraseColumns(TypedDict):
    """One article's ``keyphrases`` rows as columns: the row type's keys but ``article_id`` and
    the run's columns (the batch fills those in), each holding a list of the values."""

    segment_id: list[str]
    phrase: list[str]
    base_form: list[str]
    count: list[int]
    marked: list[int]
    score: list[float]


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


class RunRow(TypedDict):
    """A row of ``runs``: the keys and value types of :data:`RUNS`."""

    run_id: str
    flow_name: str
    started_at: datetime
    finished_at: datetime
    status: str
    inputs_seen: int
    articles_written: int
    articles_unchanged: int
    inputs_rejected: int
    pipeline_version: str


REJECTS: Final = _schema(
    _f("run_id", pa.string(), False),
    _f("source_path", pa.string(), False),
    _f("content_sha256", pa.string()),
    _f("error_type", pa.string(), False),
    _f("error_message", pa.string(), False),
    _f("rejected_at", _TS, False),
    _f("pipeline_version", pa.string(), False),
)


class RejectRow(TypedDict):
    """A row of ``rejects``: the keys and value types of :data:`REJECTS`."""

    run_id: str
    source_path: str
    content_sha256: str | None
    error_type: str
    error_message: str
    rejected_at: datetime
    pipeline_version: str


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

#: The column type of each per-article table, by name (``tests/test_schemas.py`` holds
#: them to the row types).
COLUMN_TYPES: Final[dict[str, type]] = {
    "articles": ArticleColumns,
    "segments": SegmentColumns,
    "sentences": SentenceColumns,
    "speakers": SpeakerColumns,
    "segment_topics": SegmentTopicColumns,
    "keyphrases": KeyphraseColumns,
}

#: The row type of each table, by name (``tests/test_schemas.py`` holds them to the schemas).
ROW_TYPES: Final[dict[str, type]] = {
    "articles": ArticleRow,
    "segments": SegmentRow,
    "sentences": SentenceRow,
    "speakers": SpeakerRow,
    "segment_topics": SegmentTopicRow,
    "topics": TopicRow,
    "keyphrases": KeyphraseRow,
    "runs": RunRow,
    "rejects": RejectRow,
}

# -- Builders of the rows made outside the per-article analysis ----------------------------

#: Labels of the facets in the ``topics`` table.
FACET_LABELS: Final[dict[str, tuple[str, str]]] = {
    "intro": ("導入", "Introduction"),
    "career": ("経歴", "Career"),
    "current_work": ("現在の業務", "Current work"),
    "motivation": ("志望動機・きっかけ", "Motivation"),
    "appeal": ("魅力・やりがい", "Appeal"),
    "culture": ("職場・チームの文化", "Culture"),
    "message": ("メッセージ・今後", "Message"),
    "other": ("その他", "Other"),
}


def keyphrase_rows(article_id: str, phrases: Iterable[tuple[str, Phrase]]) -> list[KeyphraseRow]:
    """An article's ``keyphrases`` rows, one per (segment id, phrase); scores are set when
    the run finishes (they depend on the whole corpus).

    >>> from etl.keyphrases import Phrase
    >>> keyphrase_rows("a", [("a:0001", Phrase("デジタル庁", "デジタル庁", 2))])[0]["count"]
    2
    """
    return [
        {
            "article_id": article_id,
            "segment_id": segment_id,
            "phrase": p.phrase,
            "base_form": p.base_form,
            "count": p.count,
            "marked": p.marked,
            "score": 0.0,
        }
        for segment_id, p in phrases
    ]


def keyphrase_columns(phrases: Sequence[tuple[str, Phrase]]) -> KeyphraseColumns:
    """:func:`keyphrase_rows` as columns (without ``article_id``, which the batch adds).

    >>> from etl.keyphrases import Phrase
    >>> keyphrase_columns([("a:0001", Phrase("デジタル庁", "デジタル庁", 2))])["count"]
    [2]
    """
    return {
        "segment_id": [segment_id for segment_id, _ in phrases],
        "phrase": [p.phrase for _, p in phrases],
        "base_form": [p.base_form for _, p in phrases],
        "count": [p.count for _, p in phrases],
        "marked": [p.marked for _, p in phrases],
        "score": [0.0] * len(phrases),
    }


def topic_rows(taxonomy: Taxonomy, run_id: str, pipeline_version: str) -> list[TopicRow]:
    """The ``topics`` table: the taxonomy's subjects, then the facets.

    >>> from etl.taxonomy import load_taxonomy
    >>> rows = topic_rows(load_taxonomy(), "run", "v")
    >>> rows[-1]["topic_id"], rows[-1]["dimension"]
    ('other', 'facet')
    """
    from etl.model import FACETS

    rows: list[TopicRow] = [
        {
            "topic_id": t.id,
            "dimension": "subject",
            "label_ja": t.label_ja,
            "label_en": t.label_en,
            "parent_id": t.parent_id,
            "keywords": list(t.keywords),
            "taxonomy_version": taxonomy.version,
            "run_id": run_id,
            "pipeline_version": pipeline_version,
        }
        for t in taxonomy.topics
    ]
    for facet in FACETS:
        ja, en = FACET_LABELS[facet]
        rows.append(
            {
                "topic_id": facet,
                "dimension": "facet",
                "label_ja": ja,
                "label_en": en,
                "parent_id": None,
                "keywords": [],
                "taxonomy_version": taxonomy.version,
                "run_id": run_id,
                "pipeline_version": pipeline_version,
            }
        )
    return rows


def reject_row(reject: Reject, run_id: str, rejected_at: datetime, pipeline_version: str) -> RejectRow:
    """The ``rejects`` row of one input that could not become an article.

    >>> from etl.rejects import Reject
    >>> reject_row(Reject("raw/a.pdf", None, "unsupported_format", "x"), "r", datetime(2024, 1, 1), "v")["error_type"]
    'unsupported_format'
    """
    return {
        "run_id": run_id,
        "source_path": reject.source_path,
        "content_sha256": reject.content_sha256,
        "error_type": reject.error_type,
        "error_message": reject.error_message,
        "rejected_at": rejected_at,
        "pipeline_version": pipeline_version,
    }
