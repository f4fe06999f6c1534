"""The main flow: raw note articles in, the warehouse tables out.

Tasks are thin wrappers around :mod:`etl.run`; they work on batches of articles so the
per-task orchestration cost stays small against the work.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.assets import add_asset_metadata
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import ServerType
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.tasks import MaterializingTask
from prefect.utilities.annotations import quote
from tqdm import tqdm

from etl.flows.assets import input_assets, table_assets
from etl.pipeline import Analyzer, EtlOptions, discover_inputs
from etl.reading import DEFAULT_MAX_BYTES
from etl.report import report_link, summary_markdown, summary_tables
from etl.report_html import default_report_path, write_report
from etl.run import (
    BatchResult,
    RunState,
    RunSummary,
    batched,
    commit_batch,
    finish_run,
    frozen_heap,
    iter_batches,
    prepare_batch,
    process_batch,
)
from etl.warehouse import Warehouse

DEFAULT_BATCH_SIZE = 50
T = TypeVar("T")


@lru_cache(maxsize=4)
def _analyzer(options: EtlOptions) -> Analyzer:
    # Building the taxonomy matcher once per process, not once per batch.
    return Analyzer(options)


@task(name="discover-inputs", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE)
def discover_task(paths: Sequence[str]) -> list[str]:
    """List the input files under the given paths."""
    return discover_inputs(paths)


@task(name="read-warehouse-state", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE)
def start_task(warehouse: str, run_id: str, started_at: datetime, inputs: list[str]) -> RunState:
    """What the warehouse already holds: to skip unchanged inputs and replace changed ones."""
    return RunState.start(
        Warehouse(warehouse), run_id=run_id, flow_name="note_etl", started_at=started_at, inputs=inputs
    )


@task(name="process-articles", task_run_name="process-articles-{batch_no}", cache_policy=NO_CACHE)
def process_task(
    paths: Sequence[str],
    known: dict[str, tuple[str, str]],
    options: EtlOptions,
    full_refresh: bool,
    batch_no: int,
    run_id: str,
) -> BatchResult:
    """Parse, segment and tag one batch of articles, and build its validated tables."""
    # Tables are built here, where the batch was processed (a Dask worker), so the flow's
    # process only stages them.
    return prepare_batch(process_batch(_analyzer(options), paths, known, full_refresh=full_refresh), run_id)


def _log_batch(batch: BatchResult, batch_no: int) -> None:
    logger = get_run_logger()
    # A line per batch and one per article at INFO, so the UI's logs say what became of each
    # input (the terminal shows only warnings unless -v; PREFECT_LOGGING_LEVEL=WARNING drops
    # the per-article lines on a big backfill, where they cost time).
    logger.info(
        "batch %d: %d processed, %d unchanged, %d rejected",
        batch_no,
        len(batch.articles),
        len(batch.unchanged),
        len(batch.rejects),
    )
    for r in batch.articles:
        row = r.tables["articles"][0]
        logger.info(
            "processed %s: %d segments, speakers %s",
            r.source_path,
            row["segment_count"],
            ", ".join(row["speakers"]) or "-",
        )
    for rj in batch.rejects:
        logger.warning("rejected %s: %s (%s)", rj.source_path, rj.error_message, rj.error_type)


@task(
    name="stage-batch",
    task_run_name="stage-batch-{batch_no}",
    retries=2,
    retry_delay_seconds=[2, 5],
    cache_policy=NO_CACHE,
)
def stage_task(warehouse: str, batch: BatchResult, state: RunState, batch_no: int) -> None:
    """Log one batch's outcome; resolve duplicates and stage its rows (not yet visible to readers)."""
    _log_batch(batch, batch_no)
    commit_batch(Warehouse(warehouse), batch, state)


def _write_warehouse(warehouse: str, state: RunState, options: EtlOptions) -> RunSummary:
    """Merge the staged rows into every table, partition by partition, atomically."""
    summary = finish_run(Warehouse(warehouse), state, _analyzer(options).taxonomy)
    counts = {
        "run_id": summary.run_id,
        "articles_written": summary.articles_written,
        "articles_unchanged": summary.articles_unchanged,
        "inputs_rejected": summary.inputs_rejected,
    }
    for asset in table_assets(warehouse):
        add_asset_metadata(asset, counts)
    return summary


def write_task(warehouse: str, paths: Sequence[str]) -> MaterializingTask[Any, RunSummary]:
    """The task that writes a run into ``warehouse``: it materialises every table's asset,
    made from the input ``paths`` (lineage in the Prefect UI)."""
    return MaterializingTask(
        _write_warehouse,
        assets=table_assets(warehouse),
        asset_deps=list(input_assets(paths)),
        name="write-warehouse",
        retries=2,
        retry_delay_seconds=[2, 5],
        cache_policy=NO_CACHE,
    )


def _quoted(value: T) -> T:
    """``value`` wrapped so Prefect passes it to a task without walking its contents.

    Prefect unwraps ``quote`` before the task runs; its type hints do not know that.
    """
    return cast(T, quote(value))


@task(name="write-report", retries=1, retry_delay_seconds=[2], cache_policy=NO_CACHE)
def report_task(warehouse: str) -> str:
    """Write the warehouse's HTML report (``<warehouse>/report.html``); returns its path."""
    return write_report(warehouse)


@task(name="publish-run-summary", cache_policy=NO_CACHE)
def publish_task(summary: RunSummary, report_path: str | None = None) -> None:
    """Markdown and table artifacts of the run, shown in the Prefect UI."""
    create_markdown_artifact(
        summary_markdown(summary, report_path=report_path),
        key="note-etl-run-summary",
        description=summary.line,
    )
    if report_path:
        create_link_artifact(
            report_link(report_path),
            link_text=report_path,
            key="note-etl-report",
            description=f"HTML report after run {summary.run_id}",
        )
    for key, rows in summary_tables(summary).items():
        if rows:
            create_table_artifact(rows, key=f"note-etl-{key}", description=f"{key} of run {summary.run_id}")


@flow(name="note_etl", description="Raw note articles to speaker- and topic-tagged Parquet tables.")
def note_etl(
    paths: list[str] | None = None,
    warehouse: str = "warehouse",
    full_refresh: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    taxonomy: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: bool = False,
    workers: int = 1,
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Process every input under ``paths`` (default ``raw``) into ``warehouse``.

    ``workers`` > 1 processes the batches in a pool of that many processes;
    ``dask_address`` sends them as task runs to an existing Dask cluster
    (``tcp://host:8786``) instead.
    """
    if workers < 1 or batch_size < 1:
        raise ValueError(f"workers and batch_size must be at least 1 (got {workers}, {batch_size})")
    roots = paths or ["raw"]
    # input_roots: a symbolic link in raw/ that leads out of the roots is not read.
    options = EtlOptions(max_bytes=max_bytes, taxonomy_path=taxonomy, input_roots=tuple(roots))
    started = datetime.now(UTC)
    run_id = str(flow_run.get_id() or f"local-{started:%Y%m%dT%H%M%S}")
    inputs = discover_task(roots)
    # One run at a time per warehouse: a second run waits here, then finds the work done.
    with frozen_heap(), Warehouse(warehouse).lock():
        state = start_task(warehouse, run_id, started, inputs)
        # Large values go to tasks quoted: Prefect would otherwise walk every element of
        # them looking for futures, which cost more than the work on big runs.
        known = _quoted(state.known)
        batches = batched(inputs, batch_size) if inputs else []
        with tqdm(total=len(inputs), unit="article", disable=not progress, desc="note-etl") as bar:
            if dask_address:
                _stage_all(
                    _on_dask(
                        dask_address,
                        batches,
                        state,
                        options,
                        full_refresh,
                        run_id,
                        window=2 * max(workers, 2),
                    ),
                    warehouse,
                    state,
                    bar,
                )
            elif workers > 1:
                # note-etl's own process pool rather than Prefect's process-pool task runner:
                # that runner serialises all of Prefect's settings for every task it submits
                # (about 0.13 s of this process's time each) and rebuilds them in the worker
                # (on 20 MB with 2 workers: 33 s with that runner, 22 s with this pool).
                # Each batch is still a task run of its own: stage-batch-N logs its outcome.
                results = iter_batches(
                    options,
                    batches,
                    state.known,
                    full_refresh=full_refresh,
                    workers=workers,
                    run_id=run_id,
                    start_method="spawn",  # this process has Prefect's threads: do not fork it
                )
                _stage_all(results, warehouse, state, bar)
            else:
                # One process: batches one after the other, as the library does. Processing
                # in a task thread while this thread stages gains nothing under the GIL,
                # and the two threads handing it back and forth cost a fifth of the run.
                results = (
                    process_task(b, known, options, full_refresh, n, run_id) for n, b in enumerate(batches)
                )
                _stage_all(results, warehouse, state, bar)
        summary = write_task(warehouse, roots)(warehouse, _quoted(state), options)
    # The report is drawn from the committed tables; an unchanged rerun keeps the last one.
    # When it cannot be drawn (no Japanese font on this worker, say), its failed task and a
    # warning say so; the run, whose data is already written, does not fail for it.
    report_path: str | None = None
    if summary.changed or not os.path.exists(default_report_path(warehouse)):
        report = report_task(warehouse, return_state=True)
        report_path = report.result() if report.is_completed() else None
        if report_path is None:
            get_run_logger().warning("report not written: %s", report.message)
    else:
        report_path = default_report_path(warehouse)
    # Quoted: Prefect would otherwise walk every row of the summary looking for futures
    # (seconds on a backfill of thousands of articles).
    publish_task(_quoted(summary), report_path)
    logger = get_run_logger()
    logger.info("run %s: %s", run_id, summary.line)
    # An internal error is a defect of note-etl, not of the input: say so loudly, and fail
    # the run when no input got through at all (a systematic failure must not look green).
    internal = [rj for rj in summary.rejects if rj.error_type.startswith("internal_error")]
    if internal:
        logger.error(
            "%d input(s) hit an internal error (a bug in note-etl; see the rejects table), e.g. %s: %s",
            len(internal),
            internal[0].source_path,
            internal[0].error_message,
        )
        if summary.articles_written == 0 and summary.articles_unchanged == 0:
            raise RuntimeError(
                f"every input failed; {len(internal)} with an internal error, e.g. "
                f"{internal[0].source_path}: {internal[0].error_message}"
            )
    return {
        "run_id": summary.run_id,
        "inputs_seen": summary.inputs_seen,
        "articles_written": summary.articles_written,
        "articles_unchanged": summary.articles_unchanged,
        "inputs_rejected": summary.inputs_rejected,
        "internal_errors": len(internal),
        "warehouse": summary.warehouse,
    }


def _on_dask(
    address: str,
    batches: list[list[str]],
    state: RunState,
    options: EtlOptions,
    full_refresh: bool,
    run_id: str,
    window: int,
) -> Iterator[BatchResult]:
    """The batches processed as task runs on the Dask cluster at ``address``, in order
    (``window`` of them in flight)."""
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(address=address)
    with _workers_share_api(), runner:
        submit = lambda b, n: runner.submit(  # noqa: E731
            process_task,
            {
                "paths": b,
                # Only the batch's part of the index, unquoted: a Dask worker does not
                # unwrap Prefect's quote.
                "known": {p: state.known[p] for p in b if p in state.known},
                "options": options,
                "full_refresh": full_refresh,
                "batch_no": n,
                "run_id": run_id,
            },
        )
        yield from _in_order(submit, batches, window)


def _workers_share_api() -> contextlib.AbstractContextManager[Any]:
    """Point task runs in other processes at this flow's temporary API server.

    Without a configured ``PREFECT_API_URL`` the flow runs on a temporary local server,
    whose address is not in the settings a task runner hands its workers, so each worker
    started a server of its own on the same database: more CPU for the run, and task
    runs recorded through servers that contend for SQLite locks. (Workers on other
    machines need a real server: ``PREFECT_API_URL``.)
    """
    ctx = FlowRunContext.get()
    client = ctx.client if ctx else None
    if client is None or client.server_type != ServerType.EPHEMERAL:
        return contextlib.nullcontext()
    return temporary_settings(updates={PREFECT_API_URL: str(client.api_url)})


def _in_order(
    submit: Callable[[list[str], int], PrefectFuture[BatchResult]], batches: list[list[str]], window: int
) -> Iterator[BatchResult]:
    """Results of the batch tasks in submission order, with at most ``window`` in flight.

    A bounded window keeps memory flat: processed batches never pile up waiting for the
    (single-threaded) staging of earlier ones.
    """
    pending: deque[PrefectFuture[BatchResult]] = deque()
    todo = iter(enumerate(batches))
    for n, batch in itertools.islice(todo, window):
        pending.append(submit(batch, n))
    while pending:
        result = pending.popleft().result()
        nxt = next(todo, None)
        if nxt is not None:
            pending.append(submit(nxt[1], nxt[0]))
        yield result


def _stage_all(results: Iterator[BatchResult], warehouse: str, state: RunState, bar: tqdm[Any]) -> None:
    for n, batch in enumerate(results):
        stage_task(warehouse, _quoted(batch), _quoted(state), n)
        bar.update(len(batch.articles) + len(batch.rejects) + len(batch.unchanged))


if __name__ == "__main__":
    note_etl()
