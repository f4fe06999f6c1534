"""The analysis of one input: its bytes in, the rows of every per-article table out.

Everything here is a pure function of the input bytes, the metadata the reader hands over
with them and the options: no file is read here (see :mod:`etl.batches` for the edge).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

from etl.classify import classify
from etl.errors import EmptyArticle, InputError
from etl.facets import assign_facets
from etl.formats import format_of, parse
from etl.keyphrases import Phrase, article_keyphrases, extract_phrases, fold_near_duplicates
from etl.model import ParsedDocument
from etl.morph import text_tokens
from etl.reading import DEFAULT_MAX_BYTES, decode
from etl.schemas import (
    SCHEMA_VERSION,
    ArticleRow,
    SegmentRow,
    SegmentTopicRow,
    SentenceRow,
    SpeakerRow,
)
from etl.segment import build_segments
from etl.speakers import display_name, read_article, speaker_key
from etl.subjects import SubjectMatcher
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


@dataclass(slots=True)
class ArticleRows:
    """The rows one article contributes to each per-article table (plain dicts)."""

    article_id: str
    source_path: str
    source_format: str
    content_sha256: str
    published_at: datetime | None
    #: Rows per table name, each typed by its table's row type in :mod:`etl.schemas`.
    tables: dict[str, list[Any]]
    # Keyphrases are scored against the corpus later: (segment_id, Phrase) pairs.
    phrases: list[tuple[str, Phrase]] = field(default_factory=list)


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
        rows = self.analyse(source_path, doc, hashlib.sha256(data).hexdigest())
        rows.tables["articles"][0]["fetched_at"] = fetched_at
        return rows

    def analyse(self, source_path: str, doc: ParsedDocument, content_sha256: str) -> ArticleRows:
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
        segments, attributions, speakers = reading.segments, reading.attributions, reading.speakers
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
            title = meta.title or next((s.text for s in segments if s.kind == "title"), None)
            article_id = meta.note_key or "c" + hashlib.sha256(body.encode()).hexdigest()[:16]
            now = datetime.now(UTC)

            def sid(family: str | None) -> str | None:
                name = display_name(speakers, family)
                return f"{article_id}:{name}" if name else None

            seg_rows: list[SegmentRow] = []
            topic_rows: list[SegmentTopicRow] = []
            phrases: list[tuple[str, Phrase]] = []
            sentence_counts: dict[int, int] = {}
            for sent in sentences:
                sentence_counts[sent.segment_ordinal] = sentence_counts.get(sent.segment_ordinal, 0) + 1
            article_subjects: list[str] = []
            article_facets: list[str] = []
            for seg, att, tag, hits, seg_phrases in zip(
                segments, attributions, facets, subject_hits, segment_phrases, strict=True
            ):
                segment_id = f"{article_id}:{seg.ordinal:04d}"
                subjects: list[str] = []
                if hits:
                    for hit in hits:
                        subjects.append(hit.topic_id)
                        topic_rows.append(
                            {
                                "article_id": article_id,
                                "segment_id": segment_id,
                                "dimension": "subject",
                                "topic_id": hit.topic_id,
                                "score": hit.score,
                                "method": "keyword",
                                "evidence": list(hit.evidence),
                            }
                        )
                        if hit.topic_id not in article_subjects:
                            article_subjects.append(hit.topic_id)
                if tag.facet is not None:
                    topic_rows.append(
                        {
                            "article_id": article_id,
                            "segment_id": segment_id,
                            "dimension": "facet",
                            "topic_id": tag.facet,
                            "score": tag.score,
                            "method": tag.method,
                            "evidence": list(tag.evidence),
                        }
                    )
                    if seg.kind == "paragraph" and tag.facet not in article_facets:
                        article_facets.append(tag.facet)
                phrases.extend((segment_id, p) for p in seg_phrases)
                seg_rows.append(
                    {
                        "article_id": article_id,
                        "segment_id": segment_id,
                        "ordinal": seg.ordinal,
                        "kind": seg.kind,
                        "heading_level": seg.heading_level,
                        "section": seg.section,
                        "section_path": list(seg.section_path),
                        "text": seg.text,
                        "label": seg.label,
                        "char_start": seg.char_start,
                        "char_end": seg.char_end,
                        "sentence_count": sentence_counts.get(seg.ordinal, 0),
                        "speaker_id": sid(att.name),
                        "speaker_name": display_name(speakers, att.name),
                        "speaker_role": att.role,
                        "speaker_method": att.method,
                        "speaker_confidence": att.confidence,
                        "facet": tag.facet,
                        "subjects": subjects,
                    }
                )
            phrases = fold_near_duplicates(phrases)  # 長野県内 counts as 長野県 when both occur
            sentence_rows: list[SentenceRow] = []
            for sent in sentences:
                seg_row = seg_rows[sent.segment_ordinal]
                sentence_rows.append(
                    {
                        "article_id": article_id,
                        "segment_id": seg_row["segment_id"],
                        "sentence_id": f"{article_id}:{sent.ordinal:05d}",
                        "ordinal": sent.ordinal,
                        "text": sent.text,
                        "char_start": sent.char_start,
                        "char_end": sent.char_end,
                        "speaker_id": seg_row["speaker_id"],
                        "speaker_name": seg_row["speaker_name"],
                        "speaker_role": seg_row["speaker_role"],
                    }
                )
            speaker_rows: list[SpeakerRow] = [
                {
                    "article_id": article_id,
                    "speaker_id": f"{article_id}:{sp.name}",
                    "name": sp.name,
                    "speaker_key": speaker_key(sp.name),
                    "affiliation": sp.affiliation,
                    "job_title": sp.job_title,
                    "role": sp.role,
                    "evidence": sp.evidence,
                    # The reader lists only speakers who speak: each has a first segment.
                    "first_ordinal": cast(int, sp.first_ordinal),
                    "segment_count": sp.segment_count,
                    "char_count": sp.char_count,
                }
                for sp in speakers
            ]
            article_row: ArticleRow = {
                "article_id": article_id,
                "note_key": meta.note_key,
                "url": meta.url,
                "source_path": source_path,
                "source_format": doc.source_format,
                "title": title,
                "account": meta.account,
                "published_at": meta.published_at,
                "fetched_at": None,
                "content_sha256": content_sha256,
                "body_chars": len(body),
                "segment_count": len(seg_rows),
                "sentence_count": len(sentence_rows),
                "speaker_count": len(speaker_rows),
                "speakers": [sp.name for sp in speakers],
                "facets": article_facets,
                "subjects": article_subjects,
                "format": reading.format,
                "format_confidence": reading.format_confidence,
                "keyphrases": article_keyphrases(p for _, p in phrases),
                "body": body,
                "schema_version": SCHEMA_VERSION,
                "processed_at": now,
            }
            return ArticleRows(
                article_id=article_id,
                source_path=source_path,
                source_format=doc.source_format,
                content_sha256=content_sha256,
                published_at=meta.published_at,
                tables={
                    "articles": [article_row],
                    "segments": seg_rows,
                    "sentences": sentence_rows,
                    "speakers": speaker_rows,
                    "segment_topics": topic_rows,
                },
                phrases=phrases,
            )
