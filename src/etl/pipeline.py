"""The library's main entry: one input file in, the rows of every table out.

Everything here is a pure function of the input bytes and the options, except
:func:`process_path`, which reads the file. Prefect tasks in ``flows/`` call these.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Final

from etl import PIPELINE_VERSION
from etl.classify import classify
from etl.errors import EmptyArticle, InputError, TaxonomyError, UnsupportedFormat
from etl.facets import assign_facets
from etl.keyphrases import Phrase, article_keyphrases, extract_phrases, fold_near_duplicates
from etl.model import ParsedDocument, SourceFormat
from etl.morph import text_tokens
from etl.reading import DEFAULT_MAX_BYTES, read_input
from etl.schemas import SCHEMA_VERSION
from etl.segment import build_segments
from etl.speakers import display_name, read_article, speaker_key
from etl.subjects import SubjectMatcher
from etl.taxonomy import Taxonomy, load_taxonomy

FORMATS: Final[dict[str, SourceFormat]] = {
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".html": "html",
    ".htm": "html",
    ".json": "note_api",
}
# When two inputs are the same article (same note key), the richer source wins: the API
# answer has exact metadata, a saved page has the chrome, page text has neither.
FORMAT_PRIORITY: Final[dict[str, int]] = {"note_api": 3, "html": 2, "text": 1}
KEYPHRASE_KINDS: Final = frozenset({"paragraph", "question", "list_item", "quote"})


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
    tables: dict[str, list[dict[str, Any]]]
    # Keyphrases are scored against the corpus later: (segment_id, Phrase) pairs.
    phrases: list[tuple[str, Phrase]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reject:
    """An input that could not become an article, with its reason."""

    source_path: str
    content_sha256: str | None
    error_type: str
    error_message: str


class Analyzer:
    """Holds what is built once per run (taxonomy matcher) and processes documents.

    >>> a = Analyzer(EtlOptions())
    >>> rows = a.process_bytes("raw/a.txt", "見出し画像\\n\\nタイトル\\n\\n本文です。".encode())
    >>> rows.tables["segments"][2]["kind"], rows.source_format
    ('paragraph', 'text')
    """

    def __init__(self, options: EtlOptions, taxonomy: Taxonomy | None = None) -> None:
        self.options = options
        self.taxonomy = taxonomy or load_taxonomy(options.taxonomy_path)
        self.matcher = SubjectMatcher.from_taxonomy(self.taxonomy)

    def process_bytes(self, source_path: str, data: bytes, *, text: str | None = None) -> ArticleRows:
        """Parse and analyse one input's bytes; raises :class:`InputError` subclasses."""
        fmt = format_of(source_path)
        if text is None:
            from etl.reading import decode

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
        if fmt == "note_api":  # fetched API answers have a <key>.meta.json sidecar
            rows.tables["articles"][0]["fetched_at"] = _fetched_at(source_path)
        return rows

    def analyse(self, source_path: str, doc: ParsedDocument, content_sha256: str) -> ArticleRows:
        """Every stage after parsing, for one document."""
        units = classify(doc.blocks)
        body, segments, sentences = build_segments(units)
        if not any(s.kind not in ("boilerplate", "image_alt", "link") for s in segments):
            raise EmptyArticle(
                "no article content: only page chrome, links or images", source_path=source_path
            )
        meta = doc.meta
        reading = read_article(segments, account=meta.author)
        # The reader re-kinds a named host's prompts as questions; offsets are unchanged.
        segments, attributions, speakers = reading.segments, reading.attributions, reading.speakers
        facets = assign_facets(segments, attributions)

        title = meta.title or next((s.text for s in segments if s.kind == "title"), None)
        article_id = meta.note_key or "c" + hashlib.sha256(body.encode()).hexdigest()[:16]
        now = datetime.now(UTC)

        def sid(family: str | None) -> str | None:
            name = display_name(speakers, family)
            return f"{article_id}:{name}" if name else None

        seg_rows: list[dict[str, Any]] = []
        topic_rows: list[dict[str, Any]] = []
        phrases: list[tuple[str, Phrase]] = []
        sentence_counts: dict[int, int] = {}
        for sent in sentences:
            sentence_counts[sent.segment_ordinal] = sentence_counts.get(sent.segment_ordinal, 0) + 1
        article_subjects: list[str] = []
        article_facets: list[str] = []
        analysed_kinds = KEYPHRASE_KINDS | {"heading", "title", "caption"}  # subjects are matched in these
        for seg, att, tag in zip(segments, attributions, facets, strict=True):
            segment_id = f"{article_id}:{seg.ordinal:04d}"
            subjects: list[str] = []
            # One analysis of the text for both the subject matcher and the keyphrases.
            tt = text_tokens(seg.text) if seg.kind in analysed_kinds else None
            if tt is not None:
                for hit in self.matcher.match(seg.text, tokens=tt):
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
            if seg.kind in KEYPHRASE_KINDS:
                phrases.extend((segment_id, p) for p in extract_phrases(seg.text, tt))
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
        sentence_rows = []
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
        speaker_rows = [
            {
                "article_id": article_id,
                "speaker_id": f"{article_id}:{sp.name}",
                "name": sp.name,
                "speaker_key": speaker_key(sp.name),
                "affiliation": sp.affiliation,
                "job_title": sp.job_title,
                "role": sp.role,
                "evidence": sp.evidence,
                "first_ordinal": sp.first_ordinal,
                "segment_count": sp.segment_count,
                "char_count": sp.char_count,
            }
            for sp in speakers
        ]
        article_row = {
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


def format_of(source_path: str) -> SourceFormat:
    """The input format a file's extension names.

    >>> format_of("raw/note/digital_jp/nd9314f0e9d9f.json")
    'note_api'
    """
    suffix = PurePosixPath(source_path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        raise UnsupportedFormat(
            f"unknown extension {suffix or '(none)'!r}: expected one of {', '.join(sorted(FORMATS))}",
            source_path=source_path,
        ) from None


def parse(fmt: SourceFormat, text: str) -> ParsedDocument:
    """Run the parser of one format.

    >>> parse("text", "タイトル\\n本文。").blocks[1].text
    '本文。'
    """
    if fmt == "html":
        from etl.parse_html import parse_html

        return parse_html(text)
    if fmt == "note_api":
        from etl.parse_note_api import parse_note_api

        return parse_note_api(text)
    from etl.parse_text import parse_text

    return parse_text(text)


def process_path(analyzer: Analyzer, source_path: str) -> ArticleRows:
    """Read one file (local path or fsspec URI) and analyse it.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt"); _ = open(p, "w").write("題\\n本文です。")
    >>> process_path(Analyzer(EtlOptions()), p).tables["articles"][0]["title"]
    '題'
    """
    format_of(source_path)  # an unknown extension is rejected before reading the file
    raw = read_input(source_path, max_bytes=analyzer.options.max_bytes, roots=analyzer.options.input_roots)
    return analyzer.process_bytes(source_name(source_path), raw.data, text=raw.text)


def _fetched_at(source_path: str) -> datetime | None:
    """``fetched_at`` from a fetched answer's sidecar; a sidecar that cannot be read is none.

    The sidecar is metadata about the input, so nothing in it may cost the article: a local
    sidecar that is not a regular file (a FIFO would block the read) is not opened, and a
    broken one (100,000 nested ``[``, say) counts as absent.
    """
    from etl.fetch import sidecar_fetched_at, sidecar_path

    meta = sidecar_path(source_path)
    if "://" not in meta:
        try:
            if not stat.S_ISREG(os.stat(meta).st_mode):
                return None
        except (OSError, ValueError):
            return None
    try:
        return sidecar_fetched_at(source_path)
    except (RecursionError, ValueError, OverflowError, OSError, UnicodeError):
        return None


def source_name(path: str) -> str:
    """The ``source_path`` written for an input: its path, with bytes that are not UTF-8
    (a file name in Latin-1, kept by Python as lone surrogates) written as ``\\xNN``.

    >>> print(source_name("raw/caf\\udce9.txt"), source_name("raw/記事.txt"))
    raw/caf\\xe9.txt raw/記事.txt
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate that no file name decoding makes
            return path.encode("utf-8", "backslashreplace").decode("utf-8")
    return path


def reject_of(source_path: str, exc: Exception, content_sha256: str | None = None) -> Reject:
    """The ``rejects`` record of an exception raised for one input.

    >>> reject_of("raw/x.pdf", UnsupportedFormat("unknown extension '.pdf'")).error_type
    'unsupported_format'
    """
    source_path = source_name(source_path)
    if isinstance(exc, InputError):
        return Reject(source_path, content_sha256, exc.error_type, _printable(exc.reason))
    if isinstance(exc, TaxonomyError):
        # A configuration fault met while processing one input (a taxonomy regex too slow
        # for this text): typed, and not a defect of the input.
        return Reject(source_path, content_sha256, exc.error_type, _printable(str(exc)))
    # An unexpected exception is a bug, but one article must not stop the run: record it
    # with its type so the bug is visible in `rejects` and the logs.
    message = _printable(str(exc) or repr(exc))
    return Reject(source_path, content_sha256, f"internal_error:{type(exc).__name__}", message)


def _printable(message: str, limit: int = 2000) -> str:
    # A reason is written to a UTF-8 column: lone surrogates (from a file name, say) must
    # not make the rejects table itself unwritable. Long reasons are cut.
    text = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def discover_inputs(paths: Iterable[str]) -> list[str]:
    """Expand files and folders (recursively) to the sorted list of input files.

    Hidden files and metadata sidecars (``*.meta.json``) are skipped; files with unknown
    extensions are kept so they end up in ``rejects`` rather than vanish.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.txt"), "w").write("x")
    >>> [os.path.basename(p) for p in discover_inputs([d])]
    ['a.txt']
    """
    import fsspec

    found: list[str] = []
    for path in paths:
        fs, fs_path = fsspec.core.url_to_fs(path)
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        prefix = "" if protocol in ("file", "local") else f"{protocol}://"
        if not prefix and os.path.isdir(fs_path):
            found.extend(_local_files(fs_path))
        elif fs.isdir(fs_path):
            for file_path in fs.find(fs_path, withdirs=False):
                name = PurePosixPath(file_path).name
                if name.startswith(".") or name.endswith(".meta.json"):
                    continue
                found.append(prefix + file_path)
        else:
            # Kept even if missing: it then becomes an `unreadable` reject, not a silent gap.
            found.append(path)
    return sorted(dict.fromkeys(found))


def _local_files(root: str) -> list[str]:
    """The input files under a local folder, as :func:`discover_inputs` lists them.

    A sub-folder that cannot be listed (no permission) is listed itself, so that it becomes
    an ``unreadable`` reject instead of its files vanishing without a word; a symbolic link
    to a folder is listed, not followed (it becomes a reject too).
    """
    out: list[str] = []

    def unlisted(exc: OSError) -> None:
        if exc.filename is not None:
            out.append(os.fsdecode(exc.filename))

    for folder, dirs, files in os.walk(root, onerror=unlisted):
        out.extend(os.path.join(folder, d) for d in dirs if os.path.islink(os.path.join(folder, d)))
        for name in files:
            if not (name.startswith(".") or name.endswith(".meta.json")):
                out.append(os.path.join(folder, name))
    return out


def _rank(source_format: str, source_path: str) -> tuple[int, str]:
    return (-FORMAT_PRIORITY[source_format], source_path)


def resolve_duplicates(
    results: Sequence[ArticleRows], existing: Mapping[str, tuple[str, str]] | None = None
) -> tuple[list[ArticleRows], list[Reject]]:
    """Keep one input per article id: the richer format, then the first path.

    ``existing`` maps article ids already in the warehouse to the ``(source_path,
    source_format)`` that wrote them, for inputs still present and not reprocessed now; an
    existing winner keeps its article and the newcomer becomes the duplicate.

    >>> resolve_duplicates([])
    ([], [])
    """
    existing = existing or {}
    best: dict[str, tuple[tuple[int, str], str]] = {}  # article id -> (rank, winning path)
    for aid, (path, fmt) in existing.items():
        best[aid] = (_rank(fmt, path), path)
    for r in results:
        rank = _rank(r.source_format, r.source_path)
        if r.article_id not in best or rank < best[r.article_id][0]:
            best[r.article_id] = (rank, r.source_path)
    kept = [r for r in results if best[r.article_id][1] == r.source_path]
    rejects = [
        Reject(
            r.source_path,
            r.content_sha256,
            "duplicate",
            f"same article {r.article_id} as {best[r.article_id][1]}, which is kept",
        )
        for r in results
        if best[r.article_id][1] != r.source_path
    ]
    return kept, rejects


def stamp(rows: Mapping[str, list[dict[str, Any]]], run_id: str) -> None:
    """Add ``run_id`` and ``pipeline_version`` to every row, in place."""
    for table_rows in rows.values():
        for row in table_rows:
            row["run_id"] = run_id
            row["pipeline_version"] = PIPELINE_VERSION
