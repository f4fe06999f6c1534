"""A whole run without Prefect: discover inputs, process them in batches, commit.

The Prefect flow in ``flows/note_etl.py`` calls the same three steps as tasks; this module
keeps them plain so the library works (and is tested) without an orchestrator.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from etl import PIPELINE_VERSION
from etl.errors import InputError
from etl.keyphrases import score_phrases
from etl.pipeline import (
    Analyzer,
    ArticleRows,
    EtlOptions,
    Reject,
    discover_inputs,
    format_of,
    reject_of,
    resolve_duplicates,
    stamp,
)
from etl.reading import decode, read_bytes
from etl.taxonomy import Taxonomy
from etl.validation import validate_batch
from etl.warehouse import ARTICLE_TABLES, Warehouse, partition_of, to_table


@dataclass(slots=True)
class BatchResult:
    """What one batch of inputs produced: articles, rejects, and inputs skipped as unchanged."""

    articles: list[ArticleRows] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RunSummary:
    """The outcome of a run, as written to the ``runs`` table and shown to the user."""

    run_id: str
    flow_name: str
    started_at: datetime
    finished_at: datetime
    status: str
    inputs_seen: int
    articles_written: int
    articles_unchanged: int
    inputs_rejected: int
    warehouse: str
    articles: list[dict[str, Any]] = field(default_factory=list)
    speakers: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    subjects: dict[str, int] = field(default_factory=dict)
    top_keyphrases: list[tuple[str, float]] = field(default_factory=list)

    @property
    def line(self) -> str:
        """A one-line summary for logs and the CLI."""
        return (
            f"{self.inputs_seen} inputs: {self.articles_written} written, "
            f"{self.articles_unchanged} unchanged, {self.inputs_rejected} rejected -> {self.warehouse}"
        )


def process_batch(
    analyzer: Analyzer,
    paths: Sequence[str],
    known: Mapping[str, tuple[str, str]] | None = None,
    *,
    full_refresh: bool = False,
    on_done: Callable[[str], None] | None = None,
) -> BatchResult:
    """Process inputs; never raises for a bad input (it becomes a reject).

    ``known`` maps source paths to the (content hash, pipeline version) already written;
    an input whose hash and version are unchanged is skipped unless ``full_refresh``.

    >>> import tempfile, os
    >>> from etl.pipeline import EtlOptions
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "a.txt"); _ = open(p, "w").write("")
    >>> process_batch(Analyzer(EtlOptions()), [p]).rejects[0].error_type
    'empty_article'
    """
    known = known or {}
    out = BatchResult()
    for path in paths:
        sha: str | None = None
        try:
            format_of(path)
            data = read_bytes(path, max_bytes=analyzer.options.max_bytes)
            sha = hashlib.sha256(data).hexdigest()
            if not full_refresh and known.get(path) == (sha, PIPELINE_VERSION):
                out.unchanged.append(path)
                continue
            try:
                text, _ = decode(data)
            except InputError as exc:
                raise exc.with_path(path) from exc
            out.articles.append(analyzer.process_bytes(path, data, text=text))
        except Exception as exc:  # one bad input must never stop the run; it is recorded
            out.rejects.append(reject_of(path, exc, sha))
        finally:
            if on_done is not None:
                on_done(path)
    return out


def commit(
    warehouse: Warehouse,
    batches: Iterable[BatchResult],
    *,
    run_id: str,
    flow_name: str,
    started_at: datetime,
    inputs: Sequence[str],
    taxonomy: Taxonomy,
) -> RunSummary:
    """Write every table for a run's batches and return the run's summary.

    Article tables are written before ``articles`` itself, so an interrupted commit leaves
    the affected inputs unknown and the next run redoes them.
    """
    results: list[ArticleRows] = []
    rejects: list[Reject] = []
    unchanged: list[str] = []
    for batch in batches:
        results.extend(batch.articles)
        rejects.extend(batch.rejects)
        unchanged.extend(batch.unchanged)
    # Old rows of a rewritten article may sit in another partition (its date changed).
    existing = warehouse.read("articles")
    owners: dict[str, tuple[str, str]] = {}
    old_partition: dict[str, str] = {}
    written_from: dict[str, list[str]] = {}  # source path -> article ids it wrote before
    if existing is not None:
        live = set(inputs) - {r.source_path for r in results}
        for row in existing.select(
            ["article_id", "source_path", "source_format", "published_at"]
        ).to_pylist():
            old_partition[row["article_id"]] = partition_of(row["published_at"])
            written_from.setdefault(row["source_path"], []).append(row["article_id"])
            if row["source_path"] in live:
                owners[row["article_id"]] = (row["source_path"], row["source_format"])
    kept, dup_rejects = resolve_duplicates(results, owners)
    rejects.extend(dup_rejects)

    replaced = {
        old_id for r in kept for old_id in written_from.get(r.source_path, []) if old_id != r.article_id
    }
    _score_keyphrases(warehouse, kept, replaced)
    kept, invalid = validate_batch(kept)
    rejects.extend(invalid)
    for r in kept:
        stamp(r.tables, run_id)

    drop: dict[str, set[str]] = defaultdict(set)
    rows_by_part: dict[str, list[ArticleRows]] = defaultdict(list)
    for r in kept:
        part = partition_of(r.published_at)
        rows_by_part[part].append(r)
        drop[part].add(r.article_id)
        if r.article_id in old_partition:
            drop[old_partition[r.article_id]].add(r.article_id)
        # An edited file without a note key gets a new content-hash id: its old article goes.
        for old_id in written_from.get(r.source_path, []):
            if old_id != r.article_id:
                drop[old_partition[old_id]].add(old_id)

    for name in (*[t for t in ARTICLE_TABLES if t != "articles"], "articles"):
        new_tables = {
            part: to_table(name, [row for r in rs for row in r.tables.get(name, [])])
            for part, rs in rows_by_part.items()
        }
        warehouse.replace_rows(name, new_tables, drop)

    now = datetime.now(UTC)
    # `rejects` holds the current state of failing inputs: an input seen in this run
    # replaces its older reject (or clears it, if it now succeeds). The same failure of
    # the same bytes keeps its first row, so a rerun leaves the table unchanged.
    old_rejects = warehouse.read("rejects")
    previous = {
        (r["source_path"], r["content_sha256"], r["error_type"], r["error_message"]): r
        for r in (old_rejects.to_pylist() if old_rejects is not None else [])
    }
    reject_rows = [
        previous.get((rj.source_path, rj.content_sha256, rj.error_type, rj.error_message))
        or {
            "run_id": run_id,
            "source_path": rj.source_path,
            "content_sha256": rj.content_sha256,
            "error_type": rj.error_type,
            "error_message": rj.error_message,
            "rejected_at": now,
            "pipeline_version": PIPELINE_VERSION,
        }
        for rj in rejects
    ]
    warehouse.replace_rows(
        "rejects", {"all": to_table("rejects", reject_rows)}, {"all": set(inputs)}, key="source_path"
    )
    warehouse.write_whole("topics", _topics_table(taxonomy, run_id))

    written = len(kept)
    summary = RunSummary(
        run_id=run_id,
        flow_name=flow_name,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        status="completed",
        inputs_seen=len(inputs),
        articles_written=written,
        articles_unchanged=len(unchanged),
        inputs_rejected=len(rejects),
        warehouse=warehouse.root,
        articles=[r.tables["articles"][0] for r in kept],
        speakers=[row for r in kept for row in r.tables["speakers"]],
        rejects=rejects,
    )
    subjects: dict[str, int] = defaultdict(int)
    phrase_scores: dict[str, float] = defaultdict(float)
    for r in kept:
        for row in r.tables["segment_topics"]:
            if row["dimension"] == "subject":
                subjects[row["topic_id"]] += 1
        for row in r.tables.get("keyphrases", []):
            phrase_scores[row["phrase"]] = max(phrase_scores[row["phrase"]], row["score"])
    summary.subjects = dict(sorted(subjects.items(), key=lambda kv: (-kv[1], kv[0])))
    summary.top_keyphrases = sorted(phrase_scores.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    run_row = {
        "run_id": run_id,
        "flow_name": flow_name,
        "started_at": started_at,
        "finished_at": summary.finished_at,
        "status": summary.status,
        "inputs_seen": summary.inputs_seen,
        "articles_written": summary.articles_written,
        "articles_unchanged": summary.articles_unchanged,
        "inputs_rejected": summary.inputs_rejected,
        "pipeline_version": PIPELINE_VERSION,
    }
    warehouse.replace_rows(
        "runs", {started_at.strftime("%Y-%m"): to_table("runs", [run_row])}, {}, key="run_id"
    )
    warehouse.ensure_tables()
    return summary


def _score_keyphrases(warehouse: Warehouse, kept: Sequence[ArticleRows], replaced: set[str]) -> None:
    """TF-IDF against the corpus: the warehouse's other articles plus this run's."""
    ids = {r.article_id for r in kept} | replaced
    doc_freq, n_docs = warehouse.keyphrase_doc_freq(exclude=ids)
    df = dict(doc_freq)
    for r in kept:
        for base in {p.base_form for _, p in r.phrases}:
            df[base] = df.get(base, 0) + 1
    n_docs += len(kept)
    for r in kept:
        per_doc = {r.article_id: [p for _, p in r.phrases]}
        scores = score_phrases(per_doc, df, n_docs).get(r.article_id, {})
        rows = []
        for segment_id, p in r.phrases:
            rows.append(
                {
                    "article_id": r.article_id,
                    "segment_id": segment_id,
                    "phrase": p.phrase,
                    "base_form": p.base_form,
                    "count": p.count,
                    "score": float(scores.get(p.base_form, 0.0)),
                }
            )
        r.tables["keyphrases"] = rows


def _topics_table(taxonomy: Taxonomy, run_id: str) -> pa.Table:
    from etl.model import FACETS

    rows: list[dict[str, Any]] = [
        {
            "topic_id": t.id,
            "dimension": "subject",
            "label_ja": t.label_ja,
            "label_en": t.label_en,
            "parent_id": t.parent_id,
            "keywords": list(t.keywords),
            "taxonomy_version": taxonomy.version,
            "run_id": run_id,
            "pipeline_version": PIPELINE_VERSION,
        }
        for t in taxonomy.topics
    ]
    facet_labels = {
        "intro": ("導入", "Introduction"),
        "career": ("経歴", "Career"),
        "current_work": ("現在の業務", "Current work"),
        "motivation": ("志望動機・きっかけ", "Motivation"),
        "appeal": ("魅力・やりがい", "Appeal"),
        "culture": ("職場・チームの文化", "Culture"),
        "message": ("メッセージ・今後", "Message"),
        "other": ("その他", "Other"),
    }
    for facet in FACETS:
        ja, en = facet_labels[facet]
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
                "pipeline_version": PIPELINE_VERSION,
            }
        )
    return to_table("topics", rows)


def batched(items: Sequence[str], size: int) -> list[list[str]]:
    """Split a list into batches of at most ``size`` items.

    >>> batched(["a", "b", "c"], 2)
    [['a', 'b'], ['c']]
    """
    if size <= 0:
        raise ValueError("batch size must be positive")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def run_local(
    paths: Sequence[str],
    warehouse_root: str,
    *,
    options: EtlOptions | None = None,
    full_refresh: bool = False,
    run_id: str | None = None,
) -> RunSummary:
    """Run the whole pipeline in this process, without Prefect.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.txt"), "w").write("題\\n本文です。")
    >>> run_local([d], os.path.join(d, "wh")).articles_written
    1
    """
    options = options or EtlOptions()
    started = datetime.now(UTC)
    analyzer = Analyzer(options)
    warehouse = Warehouse(warehouse_root)
    inputs = discover_inputs(paths)
    with warehouse.lock():
        batch = process_batch(analyzer, inputs, warehouse.known_inputs(), full_refresh=full_refresh)
        return commit(
            warehouse,
            [batch],
            run_id=run_id or f"local-{uuid.uuid4()}",
            flow_name="note_etl",
            started_at=started,
            inputs=inputs,
            taxonomy=analyzer.taxonomy,
        )
