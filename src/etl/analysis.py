"""The analysis of one input: its bytes in, the rows of every per-article table out.

Everything here is a pure function of the input bytes, the metadata the reader hands over
with them and the options: no file is read here (see :mod:`etl.batches` for the edge).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from operator import itemgetter
from typing import Any, Final, NamedTuple, TypeAlias, cast

from etl.classify import classify
from etl.errors import EmptyArticle, InputError
from etl.facets import FacetTag, assign_facets
from etl.formats import format_of, parse
from etl.keyphrases import Phrase, article_keyphrases, extract_phrases, fold_near_duplicates
from etl.model import ParsedDocument
from etl.morph import text_tokens
from etl.reading import DEFAULT_MAX_BYTES, decode
from etl.schemas import (
    SCHEMA_VERSION,
    ArticleColumns,
    KeyphraseColumns,
    SegmentColumns,
    SegmentTopicColumns,
    SentenceColumns,
    SpeakerColumns,
    keyphrase_columns,
)
from etl.segment import Segment, Sentence, build_segments
from etl.speakers import ArticleReading, Attribution, Speaker, display_name, read_article, speaker_key
from etl.subjects import SubjectHit, SubjectMatcher
from etl.taxonomy import Taxonomy, load_taxonomy
from etl.timing import NO_TIMER, StageTimer

KEYPHRASE_KINDS: Final = frozenset({"paragraph", "question", "list_item", "quote"})
#: Kinds whose text is matched against the taxonomy's subjects.
SUBJECT_KINDS: Final = KEYPHRASE_KINDS | {"heading", "title", "caption"}


@dataclass(frozen=True, slots=True, kw_only=True)
class EtlOptions:
    """Options of one run, validated when built.

    >>> EtlOptions(max_bytes=1024).max_bytes
    1024
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    taxonomy_path: str | None = None
    #: The folders (or files) a run was asked to read: a local input whose real path leaves
    #: them (a symbolic link to /etc/passwd in raw/) is refused. Empty: no such check.
    input_roots: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes}")


#: One article's rows of a table as columns (see the column types of :mod:`etl.schemas`).
Columns: TypeAlias = Mapping[str, list[Any]]


_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_PHRASE_FIELDS: Final = tuple(itemgetter(k) for k in range(len(Phrase._fields)))


class PhraseColumns(NamedTuple):
    """An article's (segment_id, :class:`Phrase`) pairs as columns, one tuple per field.

    An article has hundreds of phrases: held as pairs, each pair and phrase is an object
    the garbage collector walks at every full pass until the batch is written; six tuples
    of strings and numbers are untracked at their first pass.

    >>> found = PhraseColumns.of([("a:0001", Phrase("庁", "庁", 2))])
    >>> found.count, found.pairs()
    ((2,), [('a:0001', Phrase(phrase='庁', base_form='庁', count=2, parts=1, marked=0))])
    """

    segment_id: tuple[str, ...]
    phrase: tuple[str, ...]
    base_form: tuple[str, ...]
    count: tuple[int, ...]  # type: ignore[assignment]  # hides tuple.count, as Phrase does
    parts: tuple[int, ...]
    marked: tuple[int, ...]

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, Phrase]]) -> PhraseColumns:
        """The columns of ``pairs``."""
        # A field at a time, in C: ``zip(*pairs)`` would make an iterator per pair, objects
        # the collector counts as it does the pairs.
        segment_ids = tuple(map(_FIRST, pairs))
        found = list(map(_SECOND, pairs))
        return cls(segment_ids, *(tuple(map(field, found)) for field in _PHRASE_FIELDS))

    def pairs(self) -> list[tuple[str, Phrase]]:
        """The (segment_id, Phrase) pairs again."""
        fields = zip(self.phrase, self.base_form, self.count, self.parts, self.marked, strict=True)
        return list(zip(self.segment_id, map(Phrase._make, fields), strict=True))


class ArticleRows:
    """The rows one article contributes to each per-article table.

    The analysis hands them over as columns (:attr:`columns`: a list per column, without
    ``article_id`` and the run's columns, which are the article's and the batch's), the
    form the batch's Arrow tables are built from. :attr:`tables` gives them as plain row
    dicts: the first use turns the columns into rows for good, so that an edit of a row is
    what the tables are then built from.

    >>> r = ArticleRows("a", "raw/a.txt", "text", "0" * 64, None, columns={"speakers": {"name": ["山田"]}})
    >>> r.row_count("speakers"), r.tables["speakers"], r.columns is None
    (1, [{'article_id': 'a', 'name': '山田'}], True)
    """

    __slots__ = (
        "_columns",
        "_phrase_columns",
        "_phrases",
        "_rows",
        "article_id",
        "content_sha256",
        "pipeline_version",
        "published_at",
        "run_id",
        "source_format",
        "source_path",
    )

    def __init__(
        self,
        article_id: str,
        source_path: str,
        source_format: str,
        content_sha256: str,
        published_at: datetime | None,
        tables: dict[str, list[Any]] | None = None,
        phrases: list[tuple[str, Phrase]] | None = None,
        *,
        columns: dict[str, Columns] | None = None,
        phrase_columns: PhraseColumns | None = None,
    ) -> None:
        self.article_id = article_id
        self.source_path = source_path
        self.source_format = source_format
        self.content_sha256 = content_sha256
        self.published_at = published_at
        # Keyphrases are scored against the corpus later: (segment_id, Phrase) pairs, or
        # the same as columns (see :attr:`phrases`).
        self._phrases: list[tuple[str, Phrase]] = phrases if phrases is not None else []
        self._phrase_columns = phrase_columns if phrases is None else None
        #: The run (and pipeline version) the column rows are stamped with (:meth:`stamp`);
        #: rows carry their own.
        self.run_id: str | None = None
        self.pipeline_version: str | None = None
        self._rows = tables if tables is not None or columns is not None else {}
        self._columns = columns
        if columns is not None:
            self._rows = None

    @property
    def phrases(self) -> list[tuple[str, Phrase]]:
        """The keyphrases as (segment_id, Phrase) pairs; the first use turns the columns
        the analysis handed over into pairs for good."""
        if self._phrase_columns is not None:
            self._phrases, self._phrase_columns = self._phrase_columns.pairs(), None
        return self._phrases

    @phrases.setter
    def phrases(self, pairs: list[tuple[str, Phrase]]) -> None:
        self._phrases, self._phrase_columns = pairs, None

    def keyphrase_columns(self) -> KeyphraseColumns:
        """The ``keyphrases`` columns of :attr:`phrases` (:func:`etl.schemas.keyphrase_columns`),
        from the phrase columns while the article has them."""
        found = self._phrase_columns
        if found is None:
            return keyphrase_columns(self._phrases)
        return {
            "segment_id": list(found.segment_id),
            "phrase": list(found.phrase),
            "base_form": list(found.base_form),
            "count": list(found.count),
            "marked": list(found.marked),
            "score": [0.0] * len(found.segment_id),
        }

    @property
    def columns(self) -> dict[str, Columns] | None:
        """The rows as columns by table name; ``None`` once :attr:`tables` has been used."""
        return self._columns

    @property
    def tables(self) -> dict[str, list[Any]]:
        """Rows per table name, each typed by its table's row type in :mod:`etl.schemas`."""
        if self._rows is None:
            assert self._columns is not None
            self._rows = {name: self._rows_of(cols) for name, cols in self._columns.items()}
            self._columns = None
        return self._rows

    @tables.setter
    def tables(self, rows: dict[str, list[Any]]) -> None:
        self._rows, self._columns = rows, None

    def row_count(self, name: str) -> int:
        """How many rows of table ``name`` the article has."""
        if self._columns is None:
            return len(self.tables.get(name, []))
        cols = self._columns.get(name)
        return len(next(iter(cols.values()), [])) if cols else 0

    def stamp(self, run_id: str, pipeline_version: str) -> None:
        """Give every row the run's ``run_id`` and ``pipeline_version``, in place."""
        if self._columns is not None:
            self.run_id, self.pipeline_version = run_id, pipeline_version
            return
        for table_rows in self.tables.values():
            for row in table_rows:
                row["run_id"] = run_id
                row["pipeline_version"] = pipeline_version

    def _rows_of(self, cols: Columns) -> list[dict[str, Any]]:
        head: dict[str, Any] = {"article_id": self.article_id}
        tail: dict[str, Any] = {}
        if self.run_id is not None:
            tail = {"run_id": self.run_id, "pipeline_version": self.pipeline_version}
        names = list(cols)
        return [
            {**head, **dict(zip(names, values, strict=True)), **tail}
            for values in zip(*cols.values(), strict=True)
        ]

    def __repr__(self) -> str:
        return f"ArticleRows({self.article_id!r}, {self.source_path!r})"


class Analyzer:
    """Holds what is built once per run (taxonomy matcher) and processes documents.

    >>> a = Analyzer(EtlOptions())
    >>> rows = a.process_bytes("raw/a.txt", "見出し画像\\n\\nタイトル\\n\\n本文です。".encode())
    >>> rows.tables["segments"][2]["kind"], rows.source_format
    ('paragraph', 'text')
    """

    def __init__(
        self, options: EtlOptions, taxonomy: Taxonomy | None = None, *, timer: StageTimer = NO_TIMER
    ) -> None:
        self.options = options
        self.taxonomy = taxonomy or load_taxonomy(options.taxonomy_path)
        self.matcher = SubjectMatcher.from_taxonomy(self.taxonomy)
        self.timer = timer

    def process_bytes(
        self,
        source_path: str,
        data: bytes,
        *,
        text: str | None = None,
        fetched_at: datetime | None = None,
    ) -> ArticleRows:
        """Parse and analyse one input's bytes; raises :class:`InputError` subclasses.

        ``fetched_at``: when the input was fetched, from the metadata the reader found next
        to it (a fetched API answer's sidecar); the analysis reads no file itself.
        """
        fmt = format_of(source_path)
        with self.timer.stage("parse"):
            if text is None:
                try:
                    text, _ = decode(data)
                except InputError as exc:
                    raise exc.with_path(source_path) from exc
            if not text.strip():
                # The same reason for every format, before any parser sees it.
                raise EmptyArticle("empty file: no text at all, or only whitespace", source_path=source_path)
            try:
                doc = parse(fmt, text)
            except InputError as exc:
                raise exc.with_path(source_path) from exc
        return self.analyse(source_path, doc, hashlib.sha256(data).hexdigest(), fetched_at=fetched_at)

    def analyse(
        self,
        source_path: str,
        doc: ParsedDocument,
        content_sha256: str,
        *,
        fetched_at: datetime | None = None,
    ) -> ArticleRows:
        """Every stage after parsing, for one document."""
        timer = self.timer
        with timer.stage("segment"):
            units = classify(doc.blocks)
            body, segments, sentences = build_segments(units)
        if not any(s.kind not in ("boilerplate", "image_alt", "link") for s in segments):
            raise EmptyArticle(
                "no article content: only page chrome, links or images", source_path=source_path
            )
        meta = doc.meta
        with timer.stage("speakers"):
            reading = read_article(segments, account=meta.author)
        # The reader re-kinds a named host's prompts as questions; offsets are unchanged.
        segments, attributions = reading.segments, reading.attributions
        with timer.stage("tokens"):
            # One analysis of each text for the facets, the subject matcher and the keyphrases.
            stores = [text_tokens(seg.text) if seg.kind in SUBJECT_KINDS else None for seg in segments]
        with timer.stage("facets"):
            facets = assign_facets(segments, attributions)
        with timer.stage("subjects"):
            subject_hits = [
                self.matcher.match(seg.text, tokens=tt) if tt is not None else []
                for seg, tt in zip(segments, stores, strict=True)
            ]
        with timer.stage("keyphrases"):
            segment_phrases = [
                extract_phrases(seg.text, tt) if tt is not None and seg.kind in KEYPHRASE_KINDS else []
                for seg, tt in zip(segments, stores, strict=True)
            ]
        with timer.stage("rows"):
            return _article_rows(
                source_path,
                doc,
                content_sha256,
                fetched_at,
                _Analysed(body, segments, sentences, reading, facets, subject_hits, segment_phrases),
            )


@dataclass(frozen=True, slots=True)
class _Analysed:
    """What the stages before the rows found in one document."""

    body: str
    segments: Sequence[Segment]
    sentences: Sequence[Sentence]
    reading: ArticleReading
    facets: Sequence[FacetTag]
    subject_hits: Sequence[Sequence[SubjectHit]]
    segment_phrases: Sequence[Sequence[Phrase]]


def _article_rows(
    source_path: str,
    doc: ParsedDocument,
    content_sha256: str,
    fetched_at: datetime | None,
    found: _Analysed,
) -> ArticleRows:
    """The rows of every per-article table of one analysed document, as columns."""
    meta = doc.meta
    body, segments, sentences, reading = found.body, found.segments, found.sentences, found.reading
    facets, subject_hits, segment_phrases = found.facets, found.subject_hits, found.segment_phrases
    attributions, speakers = reading.attributions, reading.speakers
    title = meta.title or next((s.text for s in segments if s.kind == "title"), None)
    article_id = meta.note_key or "c" + hashlib.sha256(body.encode()).hexdigest()[:16]
    segment_ids = [f"{article_id}:{seg.ordinal:04d}" for seg in segments]
    seg_cols = _segment_columns(article_id, segment_ids, segments, attributions, speakers, facets)
    seg_cols["subjects"] = [[hit.topic_id for hit in hits] for hits in subject_hits]
    of = [sent.segment_ordinal for sent in sentences]  # each sentence's segment
    counts = Counter(of)
    seg_cols["sentence_count"] = [counts.get(seg.ordinal, 0) for seg in segments]
    phrases = [
        (segment_id, p)
        for segment_id, seg_phrases in zip(segment_ids, segment_phrases, strict=True)
        for p in seg_phrases
    ]
    phrases = fold_near_duplicates(phrases)  # 長野県内 counts as 長野県 when both occur
    sentence_cols = _sentence_columns(article_id, sentences, of, seg_cols)
    speaker_cols = _speaker_columns(article_id, speakers)
    article: ArticleColumns = {
        "note_key": [meta.note_key],
        "url": [meta.url],
        "source_path": [source_path],
        "source_format": [doc.source_format],
        "title": [title],
        "account": [meta.account],
        "published_at": [meta.published_at],
        "fetched_at": [fetched_at],
        "content_sha256": [content_sha256],
        "body_chars": [len(body)],
        "segment_count": [len(segments)],
        "sentence_count": [len(sentences)],
        "speaker_count": [len(speakers)],
        "speakers": [[sp.name for sp in speakers]],
        # Facets of paragraphs and subjects of any segment, in order of first use.
        "facets": [
            list(
                dict.fromkeys(
                    tag.facet
                    for seg, tag in zip(segments, facets, strict=True)
                    if seg.kind == "paragraph" and tag.facet is not None
                )
            )
        ],
        "subjects": [list(dict.fromkeys(hit.topic_id for hits in subject_hits for hit in hits))],
        "format": [reading.format],
        "format_confidence": [reading.format_confidence],
        "keyphrases": [article_keyphrases(map(_SECOND, phrases))],
        "body": [body],
        "schema_version": [SCHEMA_VERSION],
        "processed_at": [datetime.now(UTC)],
    }
    return ArticleRows(
        article_id,
        source_path,
        doc.source_format,
        content_sha256,
        meta.published_at,
        phrase_columns=PhraseColumns.of(phrases),
        columns={
            "articles": _columns(article),
            "segments": _columns(seg_cols),
            "sentences": _columns(sentence_cols),
            "speakers": _columns(speaker_cols),
            "segment_topics": _columns(_topic_columns(segment_ids, facets, subject_hits)),
        },
    )


def _columns(typed: Mapping[str, object]) -> Columns:
    """A table's typed columns as the plain mapping :class:`ArticleRows` holds."""
    return cast(Columns, typed)


def _segment_columns(
    article_id: str,
    segment_ids: list[str],
    segments: Sequence[Segment],
    attributions: Sequence[Attribution],
    speakers: Sequence[Speaker],
    facets: Sequence[FacetTag],
) -> SegmentColumns:
    """The ``segments`` columns; ``subjects`` and ``sentence_count`` are filled in after."""
    # Once per speaker, not per segment: the name as written and its id.
    names = {family: display_name(speakers, family) for family in {att.name for att in attributions}}
    ids = {name: f"{article_id}:{name}" if name else None for name in names.values()}
    speaker_names = [names[att.name] for att in attributions]
    return {
        "segment_id": segment_ids,
        "ordinal": [seg.ordinal for seg in segments],
        "kind": [seg.kind for seg in segments],
        "heading_level": [seg.heading_level for seg in segments],
        "section": [seg.section for seg in segments],
        "section_path": [list(seg.section_path) for seg in segments],
        "text": [seg.text for seg in segments],
        "label": [seg.label for seg in segments],
        "char_start": [seg.char_start for seg in segments],
        "char_end": [seg.char_end for seg in segments],
        "sentence_count": [],
        "speaker_id": [ids[name] for name in speaker_names],
        "speaker_name": speaker_names,
        "speaker_role": [att.role for att in attributions],
        "speaker_method": [att.method for att in attributions],
        "speaker_confidence": [att.confidence for att in attributions],
        "facet": [tag.facet for tag in facets],
        "subjects": [],
    }


def _sentence_columns(
    article_id: str, sentences: Sequence[Sentence], of: Sequence[int], seg: SegmentColumns
) -> SentenceColumns:
    """The ``sentences`` columns: a sentence's segment and speaker are those of the segment
    at position ``of[k]`` (its ``segment_ordinal``)."""
    return {
        "segment_id": [seg["segment_id"][k] for k in of],
        "sentence_id": [f"{article_id}:{sent.ordinal:05d}" for sent in sentences],
        "ordinal": [sent.ordinal for sent in sentences],
        "text": [sent.text for sent in sentences],
        "char_start": [sent.char_start for sent in sentences],
        "char_end": [sent.char_end for sent in sentences],
        "speaker_id": [seg["speaker_id"][k] for k in of],
        "speaker_name": [seg["speaker_name"][k] for k in of],
        "speaker_role": [seg["speaker_role"][k] for k in of],
    }


def _speaker_columns(article_id: str, speakers: Sequence[Speaker]) -> SpeakerColumns:
    return {
        "speaker_id": [f"{article_id}:{sp.name}" for sp in speakers],
        "name": [sp.name for sp in speakers],
        "speaker_key": [speaker_key(sp.name) for sp in speakers],
        "affiliation": [sp.affiliation for sp in speakers],
        "job_title": [sp.job_title for sp in speakers],
        "role": [sp.role for sp in speakers],
        "evidence": [sp.evidence for sp in speakers],
        # The reader lists only speakers who speak: each has a first segment.
        "first_ordinal": [cast(int, sp.first_ordinal) for sp in speakers],
        "segment_count": [sp.segment_count for sp in speakers],
        "char_count": [sp.char_count for sp in speakers],
    }


def _topic_columns(
    segment_ids: Sequence[str], facets: Sequence[FacetTag], subject_hits: Sequence[Sequence[SubjectHit]]
) -> SegmentTopicColumns:
    """The ``segment_topics`` columns: each segment's subjects, then its facet."""
    # Column by column, a segment's subjects at once: no tuple per row (the collector counts
    # every object made, and an article has a hundred rows).
    sids: list[str] = []
    dimensions: list[str] = []
    topic_ids: list[str] = []
    methods: list[str] = []
    found: list[SubjectHit | FacetTag] = []
    for sid, tag, hits in zip(segment_ids, facets, subject_hits, strict=True):
        if hits:
            n = len(hits)
            sids += repeat(sid, n)
            dimensions += repeat("subject", n)
            topic_ids += [hit.topic_id for hit in hits]
            methods += repeat("keyword", n)
            found += hits
        if tag.facet is not None:
            sids.append(sid)
            dimensions.append("facet")
            topic_ids.append(tag.facet)
            methods.append(tag.method)
            found.append(tag)
    return {
        "segment_id": sids,
        "dimension": dimensions,
        "topic_id": topic_ids,
        "score": [x.score for x in found],
        "method": methods,
        "evidence": [list(x.evidence) for x in found],
    }
