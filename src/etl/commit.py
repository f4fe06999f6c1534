"""The commit protocol: stage each batch's rows, then merge them all at the end of a run.

A run holds the warehouse lock from :meth:`RunState.start` to :func:`finish_run`. Batches
are staged (hidden, per partition) as they come; readers see nothing until
:func:`finish_run` merges every touched partition once, `articles` last, so a run killed
part-way leaves the inputs of unfinished articles unknown and the next run redoes them.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import fsspec
import pyarrow as pa
import pyarrow.compute as pc

from etl import PIPELINE_VERSION
from etl.batches import BatchResult, pack_parts, prepare_batch
from etl.discovery import source_name
from etl.duplicates import resolve_duplicates
from etl.executors import Executor, NoWorkers
from etl.merges import run_merge
from etl.rejects import Reject
from etl.rescore import Rescore, Sums, doc_freq_of, merge_job
from etl.schemas import RunRow, reject_row, topic_rows
from etl.taxonomy import Taxonomy
from etl.warehouse import (
    ARTICLE_TABLES,
    DEFAULT_STAGE_BUDGET,
    Staging,
    Warehouse,
    partition_of,
    to_table,
    unpack_table,
)


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
    changed: bool = True  # whether this run changed any table's content (not just `runs`)

    @property
    def line(self) -> str:
        """A one-line summary for logs and the CLI."""
        return (
            f"{self.inputs_seen} inputs: {self.articles_written} written, "
            f"{self.articles_unchanged} unchanged, {self.inputs_rejected} rejected -> {self.warehouse}"
        )


@dataclass(slots=True)
class RunState:
    """What a run knows while it commits batch after batch.

    It is loaded once from the warehouse (the article index and keyphrase document
    frequencies) and kept up to date in memory, so committing a batch costs the size of
    the partitions it touches, not the size of the warehouse. Article summaries keep no
    body text, so memory stays flat however many articles a run writes. Staged rows are
    held in memory up to ``stage_budget`` bytes, and parked on disk beyond it.
    """

    run_id: str
    flow_name: str
    started_at: datetime
    inputs: list[str]
    #: The inputs as the run reads them (``inputs`` holds the names written to the tables).
    paths: list[str] = field(default_factory=list)
    index: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # id -> path, format, partition
    by_path: dict[str, list[str]] = field(default_factory=dict)  # source path -> article ids
    known: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (sha256, version)
    written: dict[str, str] = field(default_factory=dict)  # source path -> article id, this run
    unchanged: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    speakers: list[dict[str, Any]] = field(default_factory=list)
    subjects: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    top_keyphrases: list[tuple[str, float]] = field(default_factory=list)  # set by the final scoring
    drop: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # partition -> ids
    staged: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # partition -> batches
    final_batch: dict[str, int] = field(default_factory=dict)  # article id -> batch that has its rows
    # Document frequencies of the staged keyphrases, counted as each batch is staged (while
    # a pool processes the next ones), and the articles they come from; the final scoring
    # adds those of the rows kept from the warehouse.
    doc_freq: Sums = field(default_factory=lambda: Sums("base_form", "df"))
    doc_articles: int = 0
    # (partition, batch) -> articles whose staged rows there a later batch took over: their
    # counts are taken back at the end.
    taken_over: dict[tuple[str, int], set[str]] = field(default_factory=lambda: defaultdict(set))
    batches: int = 0
    stage_budget: int = DEFAULT_STAGE_BUDGET
    staging: Staging = field(init=False)  # the staged rows themselves

    def __post_init__(self) -> None:
        self.staging = Staging(self.run_id, self.stage_budget)

    def gone_by_batch(self) -> dict[int, frozenset[str]]:
        """Per batch, the articles whose staged rows there a later batch took over.

        >>> state = RunState("r", "f", datetime.now(UTC), [])
        >>> state.taken_over[("2024-01", 0)].add("a"); state.taken_over[("undated", 0)].add("b")
        >>> sorted(state.gone_by_batch()[0])
        ['a', 'b']
        """
        gone: dict[int, set[str]] = defaultdict(set)
        for (_, seq), ids in self.taken_over.items():
            gone[seq] |= ids
        return {seq: frozenset(ids) for seq, ids in gone.items()}

    @classmethod
    def start(
        cls,
        warehouse: Warehouse,
        *,
        run_id: str,
        flow_name: str,
        started_at: datetime,
        inputs: Sequence[str],
        stage_budget: int = DEFAULT_STAGE_BUDGET,
    ) -> RunState:
        """Read the warehouse's article index and keyphrase statistics once."""
        state = cls(
            run_id=run_id,
            flow_name=flow_name,
            started_at=started_at,
            # By the names the tables hold them under (a name that is not UTF-8, escaped).
            inputs=[source_name(p) for p in inputs],
            paths=list(inputs),
            stage_budget=stage_budget,
        )
        warehouse.clear_staging()  # leftovers of a killed run; we hold the warehouse lock
        cols = ["article_id", "source_path", "source_format", "content_sha256", "pipeline_version"]
        # Only the index columns: the article bodies are most of the table. Each article's
        # partition is the folder its row is in, not one computed again from its date: a
        # row written by an older rule for months (before times were stored as UTC) must
        # be found, and dropped, where it is.
        for part in warehouse.partitions("articles"):
            existing = warehouse.read_partition("articles", part, cols)
            if existing is None:
                continue
            for row in existing.to_pylist():
                aid = row["article_id"]
                state.known[row["source_path"]] = (row["content_sha256"], row["pipeline_version"])
                state.index[aid] = (row["source_path"], row["source_format"], part)
                state.by_path.setdefault(row["source_path"], []).append(aid)
        return state


def commit_batch(warehouse: Warehouse, batch: BatchResult, state: RunState) -> None:
    """Resolve duplicates against the run and the warehouse, and stage a batch's tables.

    A batch not yet prepared (processed in this process) is prepared here. The batch's
    rows are consumed: staged, then dropped from it. Nothing is visible to readers until
    :func:`finish_run` merges the staged rows.
    """
    original = batch
    if batch.tables is None and batch.packed is None:  # not prepared where it was processed
        batch = prepare_batch(batch, state.run_id)
    if batch.packed is None:
        assert batch.tables is not None
        batch.packed = pack_parts(batch.tables, batch.articles)
        batch.tables = None
    packed = batch.packed
    state.unchanged.extend(batch.unchanged)
    state.rejects.extend(batch.rejects)
    results = batch.articles
    if not results:
        return
    live = set(state.inputs) - {r.source_path for r in results}
    owners = {aid: (path, fmt) for aid, (path, fmt, _) in state.index.items() if path in live}
    kept, dup_rejects = resolve_duplicates(results, owners)
    state.rejects.extend(dup_rejects)
    for r in kept:
        # A richer source of an article written earlier in this run takes it over; the
        # earlier input is then a duplicate, not a written article.
        owner = state.index.get(r.article_id)
        if owner and owner[0] != r.source_path and state.written.get(owner[0]) == r.article_id:
            del state.written[owner[0]]
            state.rejects.append(
                Reject(
                    owner[0],
                    None,
                    "duplicate",
                    f"same article {r.article_id} as {r.source_path}, which is kept",
                )
            )

    # Articles replaced by this batch: rewritten ids, and the old ids of edited files.
    replaced = {r.article_id for r in kept if r.article_id in state.index}
    replaced |= {old for r in kept for old in state.by_path.get(r.source_path, []) if old != r.article_id}
    kept_ids = pa.array([r.article_id for r in kept], pa.string())
    dropped = len(kept) < len(results)  # duplicates of earlier inputs: their rows go

    # Stage the rows (hidden, per partition) instead of rewriting partitions per batch:
    # finish_run merges each touched partition once, so memory stays flat and the
    # warehouse's visible tables change only at the end of the run.
    seq = state.batches
    state.batches += 1
    article_parts = [partition_of(r.published_at) for r in kept]
    for r, part in zip(kept, article_parts, strict=True):
        state.drop[part].add(r.article_id)
        earlier = state.final_batch.get(r.article_id)
        if earlier is not None:  # staged by an earlier batch, in the partition it had then
            state.taken_over[(state.index[r.article_id][2], earlier)].add(r.article_id)
        state.final_batch[r.article_id] = seq
    for old in replaced:
        if old in state.index:
            state.drop[state.index[old][2]].add(old)
    parts = set(article_parts)
    for part in sorted(parts):
        state.staged[part].append(seq)
    for (name, part), blob in packed.items():
        if part not in parts:  # every article of it was a duplicate
            continue
        table = None
        if not dropped:
            state.staging.put_packed(warehouse, name, part, seq, blob)
        else:
            table = unpack_table(blob)
            table = table.filter(pc.is_in(table["article_id"], value_set=kept_ids))
            state.staging.put(warehouse, name, part, seq, table)
        if name == "keyphrases":
            counts, n = doc_freq_of(unpack_table(blob) if table is None else table)
            state.doc_freq.add(counts, "df")
            state.doc_articles += n
    state.staging.flush(warehouse)  # what went past the budget: one file for the batch

    for old in replaced:
        path = state.index.pop(old, ("", "", ""))[0]
        if old in state.by_path.get(path, []):
            state.by_path[path].remove(old)
    for r in kept:
        state.index[r.article_id] = (
            r.source_path,
            r.source_format,
            partition_of(r.published_at),
        )
        state.by_path.setdefault(r.source_path, []).append(r.article_id)
        state.written[r.source_path] = r.article_id
        state.articles.append(r.tables["articles"][0])
        state.speakers.extend(r.tables["speakers"])
        for row in r.tables["segment_topics"]:
            if row["dimension"] == "subject":
                state.subjects[row["topic_id"]] += 1
        # Drop the rows now that they are written: the run keeps summaries only.
        r.tables = {}
        r.phrases = []
    # And the batch's tables, which are staged now. In place: whoever handed the batch in
    # may keep holding it (Prefect keeps every task's result until the flow ends).
    batch.tables = batch.packed = None
    if batch is not original:
        original.tables = original.packed = None


def finish_run(
    warehouse: Warehouse, state: RunState, taxonomy: Taxonomy, executor: Executor | None = None
) -> RunSummary:
    """Write ``rejects``, ``topics`` and the ``runs`` row; return the run's summary.

    The staged partitions are merged as :class:`~etl.merges.MergeJob` s by ``executor``
    (its worker processes side by side; by default here, one after the other).
    """
    each_job = executor or NoWorkers()
    # The article tables' partitions (keyphrases re-scored against the final corpus), then
    # `articles`: a run killed part-way leaves the inputs of unfinished articles unknown,
    # and the next run redoes them.
    changed = bool(state.staged or state.drop)
    parts = sorted(set(state.staged) | set(state.drop))
    if changed:
        taken = state.gone_by_batch()
        rescore = Rescore(warehouse, state)
        jobs = rescore.jobs(taken)
        jobs += [merge_job(warehouse, state, name, part, taken) for name in _MERGE_ORDER for part in parts]
        for job, totals in zip(jobs, each_job.each(run_merge, jobs), strict=True):
            if job.scoring is not None:  # added up in job order, wherever the jobs ran
                rescore.add(totals)
        rescore.done()
        articles = [merge_job(warehouse, state, "articles", part, taken) for part in parts]
        for _ in each_job.each(run_merge, articles):
            pass

    now = datetime.now(UTC)
    written_ids = set(state.written.values())
    state.articles = [
        a
        for a in state.articles
        if a["article_id"] in written_ids and state.written.get(a["source_path"]) == a["article_id"]
    ]
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
        or reject_row(rj, state.run_id, now, PIPELINE_VERSION)
        for rj in state.rejects
    ]
    old_paths = {k[0] for k in previous}
    # A reject of a file that is gone (deleted, or deleted while a run read it) goes too:
    # it describes no input any more.
    gone = {p for p in old_paths - set(state.inputs) if not _input_exists(p)}
    rejects_changed = (
        any(row["run_id"] == state.run_id for row in reject_rows)
        or bool(old_paths & (set(state.written) | set(state.unchanged)))
        or bool(gone)
    )
    warehouse.replace_rows(
        "rejects",
        {"all": to_table("rejects", reject_rows)},
        {"all": set(state.inputs) | gone},
        key="source_path",
    )
    warehouse.write_whole("topics", _topics_table(taxonomy, state.run_id))

    summary = RunSummary(
        run_id=state.run_id,
        flow_name=state.flow_name,
        started_at=state.started_at,
        finished_at=datetime.now(UTC),
        status="completed",
        inputs_seen=len(state.inputs),
        articles_written=len(state.written),
        articles_unchanged=len(state.unchanged),
        inputs_rejected=len(state.rejects),
        warehouse=warehouse.root,
        articles=state.articles,
        speakers=[sp for sp in state.speakers if sp["article_id"] in written_ids],
        rejects=state.rejects,
        changed=changed or rejects_changed,
    )
    summary.subjects = dict(sorted(state.subjects.items(), key=lambda kv: (-kv[1], kv[0])))
    summary.top_keyphrases = state.top_keyphrases
    run_row: RunRow = {
        "run_id": state.run_id,
        "flow_name": state.flow_name,
        "started_at": state.started_at,
        "finished_at": summary.finished_at,
        "status": summary.status,
        "inputs_seen": summary.inputs_seen,
        "articles_written": summary.articles_written,
        "articles_unchanged": summary.articles_unchanged,
        "inputs_rejected": summary.inputs_rejected,
        "pipeline_version": PIPELINE_VERSION,
    }
    warehouse.replace_rows(
        "runs", {state.started_at.strftime("%Y-%m"): to_table("runs", [run_row])}, {}, key="run_id"
    )
    warehouse.ensure_tables()
    # Staged rows go last: a retried finish_run merges them again (merging is idempotent).
    state.staging.clear(warehouse)
    # The staged rows are gone too: hand Arrow's freed pages back before the caller goes
    # on (the flow draws its report next, with DuckDB, outside Arrow).
    pa.default_memory_pool().release_unused()
    return summary


#: The article tables but `articles` and `keyphrases`.
_MERGE_ORDER: Final = ("segments", "sentences", "segment_topics", "speakers")
assert set(_MERGE_ORDER) == set(ARTICLE_TABLES) - {"articles", "keyphrases"}


def _input_exists(path: str) -> bool:
    """Whether an input path still names something (a dangling link counts: it is there)."""
    if "://" not in path:
        return os.path.lexists(path)
    try:
        fs, fs_path = fsspec.core.url_to_fs(path)
        return bool(fs.exists(fs_path))
    except Exception:  # an unreachable store: keep the reject rather than guess
        return True


def _topics_table(taxonomy: Taxonomy, run_id: str) -> pa.Table:
    return to_table("topics", topic_rows(taxonomy, run_id, PIPELINE_VERSION))
