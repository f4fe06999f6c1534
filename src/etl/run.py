"""A whole run without Prefect: discover inputs, process them in batches, commit.

The Prefect flow in ``flows/note_etl.py`` calls the same three steps as tasks; this module
keeps them plain so the library works (and is tested) without an orchestrator.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import itertools
import multiprocessing
import os
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl import PIPELINE_VERSION
from etl.errors import InputError
from etl.keyphrases import score_table
from etl.pipeline import (
    Analyzer,
    ArticleRows,
    EtlOptions,
    Reject,
    discover_inputs,
    format_of,
    reject_of,
    resolve_duplicates,
    source_name,
    stamp,
)
from etl.reading import decode, read_bytes
from etl.taxonomy import Taxonomy
from etl.validation import validate_tables
from etl.warehouse import (
    ARTICLE_TABLES,
    DEFAULT_STAGE_BUDGET,
    Source,
    Staging,
    Warehouse,
    partition_of,
    to_table,
)


@dataclass(slots=True)
class BatchResult:
    """What one batch of inputs produced: articles, rejects, and inputs skipped as unchanged."""

    articles: list[ArticleRows] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # The articles' rows as validated contract tables, once prepare_batch has run (in the
    # worker that processed the batch); each ArticleRows then keeps only summary rows.
    tables: dict[str, pa.Table] | None = None


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
    roots = analyzer.options.input_roots
    for path in paths:
        sha: str | None = None
        name = path
        try:
            # The name written to the tables; the file is read by its own path.
            name = source_name(path)
            if "://" in path or not os.path.isdir(path):  # a folder's own reason comes first
                format_of(name)
            data = read_bytes(path, max_bytes=analyzer.options.max_bytes, roots=roots)
            sha = hashlib.sha256(data).hexdigest()
            if not full_refresh and known.get(name) == (sha, PIPELINE_VERSION):
                out.unchanged.append(name)
                continue
            try:
                text, _ = decode(data)
            except InputError as exc:
                raise exc.with_path(name) from exc
            out.articles.append(analyzer.process_bytes(name, data, text=text))
        except Exception as exc:  # one bad input must never stop the run; it is recorded
            out.rejects.append(reject_of(name, exc, sha))
        finally:
            if on_done is not None:
                on_done(path)
    return out


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
    batches: int = 0
    stage_budget: int = DEFAULT_STAGE_BUDGET
    staging: Staging = field(init=False)  # the staged rows themselves

    def __post_init__(self) -> None:
        self.staging = Staging(self.run_id, self.stage_budget)

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


def prepare_batch(batch: BatchResult, run_id: str) -> BatchResult:
    """Build and validate a processed batch's contract tables, for ``run_id``.

    Runs where the batch was processed (a worker process, a Dask worker), so the process
    that writes only stages tables: per-article work scales with the workers. Articles
    failing validation become ``validation_error`` rejects. The articles keep only the rows
    the run summary needs (their ``articles`` row without the body, speakers, subjects).

    >>> prepare_batch(BatchResult(), "run").tables["segments"].num_rows
    0
    """
    # Two inputs of one article (copies, or the HTML and the API answer of a note) cannot
    # both pass the checks of a batch (their ids collide): only the batch's pick for each
    # article gets tables. The writer still decides among all of them and earlier runs.
    winners, duplicates = resolve_duplicates(batch.articles)
    _keyphrase_rows(winners)
    for r in winners:
        stamp(r.tables, run_id)
    try:
        valid, invalid, tables = validate_tables(winners)
    except Exception:
        # Rows no check expected (a string Arrow cannot encode, say) must cost their own
        # article, not the batch and the run: check the articles one by one.
        valid, invalid, tables = _validate_each(winners)
    # An article whose pick fails the checks is rejected; its other inputs are duplicates
    # of it, as when the writer had resolved them first.
    failed = {r.article_id for r in winners} - {r.article_id for r in valid}
    article_of = {r.source_path: r.article_id for r in batch.articles}
    lost = [rj for rj in duplicates if article_of[rj.source_path] in failed]
    articles = [r for r in batch.articles if r.article_id not in failed]
    for r in articles:
        r.tables = {
            "articles": [{k: v for k, v in r.tables["articles"][0].items() if k != "body"}],
            "speakers": r.tables["speakers"],
            "segment_topics": [row for row in r.tables["segment_topics"] if row["dimension"] == "subject"],
        }
        r.phrases = []
    return BatchResult(articles, [*batch.rejects, *invalid, *lost], batch.unchanged, tables)


def _validate_each(
    results: Sequence[ArticleRows],
) -> tuple[list[ArticleRows], list[Reject], dict[str, pa.Table]]:
    """:func:`validate_tables` article by article; an article that raises becomes a reject."""
    valid: list[ArticleRows] = []
    invalid: list[Reject] = []
    pieces: dict[str, list[pa.Table]] = defaultdict(list)
    for r in results:
        try:
            kept, rejects, tables = validate_tables([r])
        except Exception as exc:
            invalid.append(reject_of(r.source_path, exc, r.content_sha256))
            continue
        valid.extend(kept)
        invalid.extend(rejects)
        for name, table in tables.items():
            pieces[name].append(table)
    empty = validate_tables([])[2]
    tables = {name: pa.concat_tables([t, *pieces[name]]) for name, t in empty.items()}
    return valid, invalid, tables


def commit_batch(warehouse: Warehouse, batch: BatchResult, state: RunState) -> None:
    """Resolve duplicates against the run and the warehouse, and stage a batch's tables.

    A batch not yet prepared (processed in this process) is prepared here. The batch's
    rows are consumed: staged, then dropped from it. Nothing is visible to readers until
    :func:`finish_run` merges the staged rows.
    """
    original = batch
    if batch.tables is None:  # processed in this process: build and check its tables here
        batch = prepare_batch(batch, state.run_id)
    assert batch.tables is not None
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
    tables = batch.tables
    if len(kept) < len(results):  # duplicates dropped: their rows go too
        tables = {n: t.filter(pc.is_in(t["article_id"], value_set=kept_ids)) for n, t in tables.items()}

    # Stage the rows (hidden, per partition) instead of rewriting partitions per batch:
    # finish_run merges each touched partition once, so memory stays flat and the
    # warehouse's visible tables change only at the end of the run.
    seq = state.batches
    state.batches += 1
    article_parts = [partition_of(r.published_at) for r in kept]
    for r, part in zip(kept, article_parts, strict=True):
        state.drop[part].add(r.article_id)
        state.final_batch[r.article_id] = seq
    for old in replaced:
        if old in state.index:
            state.drop[state.index[old][2]].add(old)
    parts = sorted(set(article_parts))
    for part in parts:
        state.staged[part].append(seq)
    code = {part: k for k, part in enumerate(parts)}
    codes = np.array([code[part] for part in article_parts], dtype=np.int64)
    for name in ARTICLE_TABLES:
        table = tables[name]
        if len(parts) == 1:
            state.staging.put(warehouse, name, parts[0], seq, table)
            continue
        # Each row's partition is its article's; rows keep their batch order.
        row_codes = codes[pc.index_in(table["article_id"], value_set=kept_ids).to_numpy(zero_copy_only=False)]
        for k, part in enumerate(parts):
            state.staging.put(warehouse, name, part, seq, table.filter(pa.array(row_codes == k)))

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
    batch.tables = {}
    if batch is not original:
        original.tables = {}


def finish_run(warehouse: Warehouse, state: RunState, taxonomy: Taxonomy) -> RunSummary:
    """Write ``rejects``, ``topics`` and the ``runs`` row; return the run's summary."""
    # Tables in a fixed order, `articles` last: a run killed part-way leaves the inputs of
    # unfinished articles unknown, and the next run redoes them.
    changed = bool(state.staged or state.drop)
    for name in (*[t for t in ARTICLE_TABLES if t != "articles"], "articles"):
        if name == "keyphrases":
            if changed:
                _rescore_keyphrases(warehouse, state)
            continue
        for part in sorted(set(state.staged) | set(state.drop)):
            warehouse.merge_partition(
                name, part, _staged_sources(warehouse, state, name, part), state.drop.get(part, set())
            )

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
        or {
            "run_id": state.run_id,
            "source_path": rj.source_path,
            "content_sha256": rj.content_sha256,
            "error_type": rj.error_type,
            "error_message": rj.error_message,
            "rejected_at": now,
            "pipeline_version": PIPELINE_VERSION,
        }
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
    run_row = {
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
    # on (the flow draws its report next, with DuckDB and matplotlib, outside Arrow).
    pa.default_memory_pool().release_unused()
    return summary


def _input_exists(path: str) -> bool:
    """Whether an input path still names something (a dangling link counts: it is there)."""
    if "://" not in path:
        return os.path.lexists(path)
    try:
        fs, fs_path = fsspec.core.url_to_fs(path)
        return bool(fs.exists(fs_path))
    except Exception:  # an unreachable store: keep the reject rather than guess
        return True


def _rows_of_batch(table: pa.Table, seq: int, final_batch: Mapping[str, int]) -> pa.Table:
    """The staged rows of one batch whose article was not taken over by a later batch."""
    ids = pc.unique(table["article_id"]).to_pylist()
    gone = [aid for aid in ids if final_batch.get(aid) != seq]
    if not gone:
        return table
    return table.filter(pc.invert(pc.is_in(table["article_id"], value_set=pa.array(gone, pa.string()))))


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
    """Commit batches one after another, then finish the run (see :func:`commit_batch`)."""
    state = RunState.start(
        warehouse, run_id=run_id, flow_name=flow_name, started_at=started_at, inputs=inputs
    )
    for batch in batches:
        commit_batch(warehouse, batch, state)
    return finish_run(warehouse, state, taxonomy)


def _keyphrase_rows(kept: Sequence[ArticleRows]) -> None:
    """Keyphrase rows of each article; their scores are set when the run finishes."""
    for r in kept:
        r.tables["keyphrases"] = [
            {
                "article_id": r.article_id,
                "segment_id": segment_id,
                "phrase": p.phrase,
                "base_form": p.base_form,
                "count": p.count,
                "marked": p.marked,
                "score": 0.0,
            }
            for segment_id, p in r.phrases
        ]


def _staged_sources(warehouse: Warehouse, state: RunState, name: str, part: str) -> list[Source]:
    """The run's staged rows of one table partition, one loader per batch (loaded lazily:
    a big partition is merged range by range and reads them once per range)."""

    def source(seq: int) -> Source:
        return lambda: _rows_of_batch(state.staging.get(warehouse, name, part, seq), seq, state.final_batch)

    return [source(seq) for seq in state.staged.get(part, [])]


def _rescore_keyphrases(warehouse: Warehouse, state: RunState) -> None:
    """Merge the keyphrase partitions and score every row against the final corpus.

    TF-IDF depends on every article, so when a run changes the corpus all scores are
    computed again from the table itself: the result does not depend on which run or
    batch wrote an article (an incremental run equals a full refresh). Two passes over the
    partitions, neither holding more than one source or one range of articles at a time:
    the first counts document frequencies from two columns, the second merges and scores.
    """
    parts = sorted(set(warehouse.partitions("keyphrases")) | set(state.staged) | set(state.drop))
    # Document frequencies as Arrow tables: a corpus has millions of distinct phrases.
    # Every article's rows are in exactly one source (the old file, or the batch that
    # wrote it last), so the sources' counts add up; they are read one at a time.
    doc_freq = _Sums("base_form", "df")
    articles = 0
    for part in parts:
        for table in _keyphrase_pairs(warehouse, state, part):
            # Each (article, base form) pair once: a base form's document frequency.
            pairs = table.group_by(["article_id", "base_form"]).aggregate([])
            doc_freq.add(pairs.group_by("base_form").aggregate([("article_id", "count")]), "article_id_count")
            articles += len(pc.unique(table["article_id"]))
    df_table = doc_freq.total()
    written = pa.array(sorted(set(state.written.values())), pa.string())
    run_phrases = _Sums("base_form", "score", keep_first="phrase")

    def score(table: pa.Table) -> pa.Table:
        table = table.set_column(
            table.schema.get_field_index("score"), "score", score_table(table, df_table, articles)
        )
        mine = table.filter(pc.is_in(table["article_id"], value_set=written))
        if mine.num_rows:
            # One score per article and phrase (its rows in several segments share it).
            per_article = mine.group_by(["article_id", "base_form"]).aggregate(
                [("score", "max"), ("phrase", "min")]
            )
            run_phrases.add(
                per_article.group_by("base_form").aggregate([("score_max", "sum"), ("phrase_min", "min")]),
                "score_max_sum",
                "phrase_min_min",
            )
        return table

    for part in parts:
        warehouse.merge_partition(
            "keyphrases",
            part,
            _staged_sources(warehouse, state, "keyphrases", part),
            state.drop.get(part, set()),
            transform=score,
        )
    state.top_keyphrases = _top_phrases(run_phrases.total())


def _keyphrase_pairs(warehouse: Warehouse, state: RunState, part: str) -> Iterator[pa.Table]:
    """The ``article_id`` and ``base_form`` of a keyphrase partition's rows after this run,
    source by source: the old file without the replaced articles, then each staged batch."""
    drop = state.drop.get(part, set())
    old = warehouse.read_partition("keyphrases", part, ["article_id", "base_form"])
    if old is not None:
        if drop:
            old = old.filter(
                pc.invert(pc.is_in(old["article_id"], value_set=pa.array(sorted(drop), pa.string())))
            )
        yield old
    del old
    for load in _staged_sources(warehouse, state, "keyphrases", part):
        yield load().select(["article_id", "base_form"])


class _Sums:
    """Sums of a value per key over many small (key, value) tables, compacted as they come
    so that memory holds about one row per distinct key.

    >>> s = _Sums("k", "n")
    >>> s.add(pa.table({"k": ["a", "b"], "c": [1, 2]}), "c")
    >>> for _ in range(40):  # compacted on the way
    ...     s.add(pa.table({"k": ["a"], "c": [3]}).group_by("k").aggregate([("c", "sum")]), "c_sum")
    >>> s.total().sort_by("k").to_pydict()
    {'k': ['a', 'b'], 'n': [121, 2]}
    """

    def __init__(self, key: str, value: str, *, keep_first: str | None = None) -> None:
        self.key, self.value, self.keep_first = key, value, keep_first
        self._tables: list[pa.Table] = []

    def add(self, table: pa.Table, value: str, kept: str | None = None) -> None:
        """Add the key column and the ``value`` column (and the ``kept`` one) of ``table``."""
        table = table.select([self.key, value, *([kept] if kept else [])])
        table = table.rename_columns([self.key, self.value, *([self.keep_first] if self.keep_first else [])])
        # Nullable fields: a compacted total and fresh group-by results must concatenate.
        self._tables.append(table.cast(pa.schema([pa.field(f.name, f.type) for f in table.schema])))
        if len(self._tables) >= 32:
            self._tables = [self.total()]

    def total(self) -> pa.Table:
        """One row per key: the summed value (and the smallest kept value)."""
        names = [self.key, self.value] + ([self.keep_first] if self.keep_first else [])
        if not self._tables:
            return pa.table({n: pa.array([], pa.int64() if n == self.value else pa.string()) for n in names})
        aggs = [(self.value, "sum")] + ([(self.keep_first, "min")] if self.keep_first else [])
        out = pa.concat_tables(self._tables).group_by(self.key).aggregate(aggs)
        columns = {self.key: out[self.key], self.value: out[f"{self.value}_sum"]}
        if self.keep_first:
            columns[self.keep_first] = out[f"{self.keep_first}_min"]
        return pa.table(columns)


def _top_phrases(total: pa.Table, n: int = 20) -> list[tuple[str, float]]:
    """The run's top keyphrases: scores summed over its articles, so a phrase that ranks
    high in many articles comes first (each article's best phrase scores 1.0)."""
    top = total.sort_by([("score", "descending"), ("phrase", "ascending")]).slice(0, n)
    return [
        (phrase, round(score, 4))
        for phrase, score in zip(top["phrase"].to_pylist(), top["score"].to_pylist(), strict=True)
    ]


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


def _worker_init(options: EtlOptions) -> None:
    global _WORKER_ANALYZER
    _WORKER_ANALYZER = Analyzer(options)
    # A worker lives for one run: what it holds now (modules, the analyzer) stays.
    gc.freeze()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects alive now out of the garbage collector's full passes for a while.

    Processing allocates millions of short-lived objects, so full collections run often,
    and each walks every object of the process: Prefect's and the libraries' several
    hundred thousand too (a tenth of a flow run's time on 20 MB). Garbage is collected
    first, and the objects are handed back to the collector afterwards.

    >>> with frozen_heap():
    ...     gc.get_freeze_count() > 0
    True
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_WORKER_ANALYZER: Analyzer | None = None


def _worker_process(
    paths: list[str], known: dict[str, tuple[str, str]], full_refresh: bool, run_id: str | None
) -> BatchResult:
    assert _WORKER_ANALYZER is not None, "worker not initialised"
    batch = process_batch(_WORKER_ANALYZER, paths, known, full_refresh=full_refresh)
    return prepare_batch(batch, run_id) if run_id is not None else batch


def iter_batches(
    options: EtlOptions,
    batches: Sequence[list[str]],
    known: Mapping[str, tuple[str, str]],
    *,
    full_refresh: bool = False,
    workers: int = 1,
    analyzer: Analyzer | None = None,
    run_id: str | None = None,
    start_method: str | None = None,
) -> Iterator[BatchResult]:
    """Process batches in order, in this process or in a pool of ``workers`` processes.

    With ``run_id``, the pool's workers also build and validate the batches' tables
    (:func:`prepare_batch`), so the writing process only stages them. ``start_method``
    is the pool's multiprocessing start method (default: the platform's); a process with
    threads of its own, such as a Prefect flow's, should not fork.

    At most two batches per worker are in flight, so results never pile up in memory
    when writing is slower than processing.

    >>> list(iter_batches(EtlOptions(), [], {}))
    []
    """
    if workers <= 1 or len(batches) <= 1:
        analyzer = analyzer or Analyzer(options)
        for batch in batches:
            yield process_batch(analyzer, batch, known, full_refresh=full_refresh)
        return
    known = dict(known)
    context = multiprocessing.get_context(start_method)
    with ProcessPoolExecutor(workers, context, initializer=_worker_init, initargs=(options,)) as pool:
        pending: deque[Future[BatchResult]] = deque()
        todo = iter(batches)
        for batch in itertools.islice(todo, 2 * workers):
            pending.append(pool.submit(_worker_process, batch, _slice(known, batch), full_refresh, run_id))
        while pending:
            result = pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(_worker_process, nxt, _slice(known, nxt), full_refresh, run_id))
            yield result


def _slice(known: Mapping[str, tuple[str, str]], paths: Sequence[str]) -> dict[str, tuple[str, str]]:
    """The part of the warehouse's input index a batch needs (not the whole index, pickled
    again for every batch)."""
    return {p: known[p] for p in paths if p in known}


DEFAULT_BATCH_SIZE = 50


def run_local(
    paths: Sequence[str],
    warehouse_root: str,
    *,
    options: EtlOptions | None = None,
    full_refresh: bool = False,
    run_id: str | None = None,
    workers: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    stage_budget: int = DEFAULT_STAGE_BUDGET,
) -> RunSummary:
    """Run the whole pipeline without Prefect (``workers`` > 1: a process pool).

    ``stage_budget``: bytes of staged rows held in memory before batches are staged on disk.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.txt"), "w").write("題\\n本文です。")
    >>> run_local([d], os.path.join(d, "wh")).articles_written
    1
    """
    options = options or EtlOptions()
    if not options.input_roots:
        options = dataclasses.replace(options, input_roots=tuple(paths))
    started = datetime.now(UTC)
    analyzer = Analyzer(options)
    warehouse = Warehouse(warehouse_root)
    inputs = discover_inputs(paths)
    with frozen_heap(), warehouse.lock():
        state = RunState.start(
            warehouse,
            run_id=run_id or f"local-{uuid.uuid4()}",
            flow_name="note_etl",
            started_at=started,
            inputs=inputs,
            stage_budget=stage_budget,
        )
        for batch in iter_batches(
            options,
            batched(inputs, batch_size),
            state.known,
            full_refresh=full_refresh,
            workers=workers,
            analyzer=analyzer,
            run_id=state.run_id,
        ):
            commit_batch(warehouse, batch, state)
        return finish_run(warehouse, state, analyzer.taxonomy)
