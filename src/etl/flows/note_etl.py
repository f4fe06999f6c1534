"""The main flow: raw note articles in, the warehouse tables out.

Tasks are thin wrappers around :mod:`etl.run`; they work on batches of articles so the
per-task orchestration cost stays small against the work.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any, ParamSpec, TypeVar, cast

from prefect import Flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.assets import add_asset_metadata
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import ServerType
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.tasks import MaterializingTask
from prefect.utilities.annotations import quote
from tqdm import tqdm

from etl.analysis import Analyzer, EtlOptions
from etl.batches import BatchJob, BatchResult, run_job
from etl.commit import RunState, RunSummary
from etl.executors import Executor, NoWorkers, ProcessPool, in_order, start_fork_server
from etl.flows.assets import input_assets, table_assets
from etl.reading import DEFAULT_MAX_BYTES
from etl.report import report_link, summary_markdown, summary_tables
from etl.report_html import default_report_path, write_report
from etl.run import DEFAULT_BATCH_SIZE, Run, new_run_id
from etl.warehouse import Warehouse

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


@lru_cache(maxsize=4)
def _analyzer(options: EtlOptions) -> Analyzer:
    # Building the taxonomy matcher once per process, not once per batch.
    return Analyzer(options)


@task(name="discover-inputs", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE)
def discover_task(run: Run, paths: Sequence[str]) -> list[str]:
    """List the input files under the given paths."""
    return run.discover(paths)


@task(name="read-warehouse-state", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE)
def start_task(run: Run, inputs: list[str]) -> RunState:
    """What the warehouse already holds: to skip unchanged inputs and replace changed ones."""
    return run.start(inputs)


@task(name="process-articles", task_run_name="process-articles-{job.number}", cache_policy=NO_CACHE)
def process_task(job: BatchJob, options: EtlOptions) -> BatchResult:
    """Parse, segment and tag one batch of articles, and build its validated tables."""
    # Tables are built here, where the batch was processed (a Dask worker), so the flow's
    # process only stages them.
    return run_job(_analyzer(options), job)


def _log_batch(batch: BatchResult) -> None:
    logger = get_run_logger()
    # A line per batch and one per article at INFO, so the UI's logs say what became of each
    # input (the terminal shows only warnings unless -v; PREFECT_LOGGING_LEVEL=WARNING drops
    # the per-article lines on a big backfill, where they cost time).
    logger.info(
        "batch %d: %d processed, %d unchanged, %d rejected",
        batch.number,
        len(batch.articles),
        len(batch.unchanged),
        len(batch.rejects),
    )
    if logger.isEnabledFor(logging.INFO):
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
    task_run_name="stage-batch-{batch.number}",
    retries=2,
    retry_delay_seconds=[2, 5],
    cache_policy=NO_CACHE,
)
def stage_task(run: Run, batch: BatchResult, state: RunState) -> None:
    """Log one batch's outcome; resolve duplicates and stage its rows (not yet visible to readers)."""
    _log_batch(batch)
    run.commit(state, batch)


def _write_warehouse(run: Run, state: RunState, executor: Executor | None = None) -> RunSummary:
    """Merge the staged rows into every table, partition by partition, atomically (on the
    ``executor``'s workers, side by side, when it has some)."""
    summary = run.finish(state, _analyzer(run.options).taxonomy, executor)
    counts = {
        "run_id": summary.run_id,
        "articles_written": summary.articles_written,
        "articles_unchanged": summary.articles_unchanged,
        "inputs_rejected": summary.inputs_rejected,
    }
    for asset in table_assets(run.warehouse.root):
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


@task(name="publish-run-tables", cache_policy=NO_CACHE)
def publish_tables_task(summary: RunSummary) -> None:
    """Table artifacts of the run (articles, speakers, topics, rejects), shown in the Prefect UI."""
    for key, rows in summary_tables(summary).items():
        if rows:
            create_table_artifact(rows, key=f"note-etl-{key}", description=f"{key} of run {summary.run_id}")


@task(name="publish-run-summary", cache_policy=NO_CACHE)
def publish_task(summary: RunSummary, report_path: str | None = None) -> None:
    """The run's markdown summary and the link to its report, shown in the Prefect UI."""
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


def _drawn(report: PrefectFuture[str]) -> str | None:
    """Where the report was written, or None (and a warning why) when it could not be."""
    report.wait()
    if report.state.is_completed():
        return report.result()
    get_run_logger().warning("report not written: %s", report.state.message)
    return None


class TaskRuns(NoWorkers):
    """The flow's executor for one worker: each batch a ``process-articles`` task run, in
    this thread, one after the other (as the library's in-process executor runs them)."""

    def __init__(self, options: EtlOptions) -> None:
        self.options = options

    def map(self, jobs: Sequence[BatchJob]) -> Iterator[BatchResult]:
        """The results of ``jobs``, each from a task run of its own."""
        # Processing in a task thread while this thread stages gains nothing under the GIL,
        # and the two threads handing it back and forth cost a fifth of the run.
        for job in jobs:
            yield process_task(_quoted(job), self.options)


class OnDask(NoWorkers):
    """The flow's executor on a Dask cluster: each batch a task run there, ``window`` in flight."""

    def __init__(self, address: str, options: EtlOptions, window: int) -> None:
        self.address, self.options, self.window = address, options, window

    def map(self, jobs: Sequence[BatchJob]) -> Iterator[BatchResult]:
        """The results of ``jobs``, in order, from the cluster's workers."""
        from prefect_dask import DaskTaskRunner

        runner = DaskTaskRunner(address=self.address)
        with _workers_share_api(), runner:
            # Unquoted: a Dask worker does not unwrap Prefect's quote.
            submit = lambda job: runner.submit(  # noqa: E731
                process_task, {"job": job, "options": self.options}
            )
            yield from in_order(submit, jobs, self.window)


def pick_executor(options: EtlOptions, workers: int, dask_address: str | None) -> Executor:
    """The flow's executor: Dask when given an address, a process pool for ``workers`` > 1,
    else task runs in this process.

    >>> type(pick_executor(EtlOptions(), 2, None)).__name__
    'ProcessPool'
    """
    if dask_address:
        return OnDask(dask_address, options, window=2 * max(workers, 2))
    if workers > 1:
        # note-etl's own process pool rather than Prefect's process-pool task runner:
        # that runner serialises all of Prefect's settings for every task it submits
        # (about 0.13 s of this process's time each) and rebuilds them in the worker
        # (on 20 MB with 2 workers: 33 s with that runner, 22 s with this pool).
        # Each batch is still a task run of its own: stage-batch-N logs its outcome.
        # Not forked: this process has Prefect's threads. A fork server (started fresh,
        # single-threaded) forks them instead; spawned, each worker imported note-etl itself.
        return ProcessPool(options, workers=workers, start_method="forkserver")
    return TaskRuns(options)


class LocalFlow(Flow[P, R]):
    """A flow that sends no heartbeats while it runs on a temporary API server.

    A heartbeat lets a server's automation mark a run whose process died as crashed; a
    temporary server (no ``PREFECT_API_URL``) ends with the process that runs the flow, so
    nothing can act on them there. They cost that process the wait for Prefect's heartbeat
    thread at the end of every run, which sleeps in whole seconds: half a second a run on
    average, a twentieth of a 20 MB run on two workers. With a configured server, and in
    deployed runs (a runner does not call the flow object), heartbeats are as Prefect sends
    them.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the flow (see :meth:`prefect.Flow.__call__`)."""
        if (kwargs.get("workers") or 1) > 1 and not kwargs.get("dask_address"):
            start_fork_server()  # its imports go on while Prefect creates the flow run
        if PREFECT_API_URL.value():
            return super().__call__(*args, **kwargs)
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            return super().__call__(*args, **kwargs)


def local_flow(*, name: str, description: str) -> Callable[[Callable[P, R]], LocalFlow[P, R]]:
    """``@flow(name=..., description=...)``, making a :class:`LocalFlow`.

    >>> @local_flow(name="demo", description="A demo.")
    ... def demo() -> int:
    ...     return 1
    >>> type(demo).__name__, demo.name
    ('LocalFlow', 'demo')
    """

    def make(fn: Callable[P, R]) -> LocalFlow[P, R]:
        return LocalFlow(fn, name=name, description=description)

    return make


@local_flow(name="note_etl", description="Raw note articles to speaker- and topic-tagged Parquet tables.")
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
    run = Run(
        warehouse=Warehouse(warehouse),
        options=options,
        run_id=new_run_id(flow_run.get_id()),
        full_refresh=full_refresh,
        batch_size=batch_size,
    )
    run_id = run.run_id
    # The run object goes to tasks quoted (as do other large values): Prefect would
    # otherwise walk every element of them looking for futures, which costs more than the
    # work on big runs.
    # A pool's workers start now, while the inputs are listed and the warehouse is read.
    with pick_executor(options, workers, dask_address) as executor:
        inputs = discover_task(_quoted(run), roots)
        # The run's lock collects garbage and freezes the heap; what this process holds now
        # (Prefect, its server client, the libraries: twice a library run's objects) lives
        # through the run, so it is frozen first and that collection walks only the rest.
        # The lock unfreezes everything when the run is written.
        gc.freeze()
        # One run at a time per warehouse: a second run waits here, then finds the work done.
        with run.lock():
            state = start_task(_quoted(run), _quoted(inputs))
            with tqdm(total=len(inputs), unit="article", disable=not progress, desc="note-etl") as bar:
                for batch in executor.map(run.jobs(state, executor.workers)):
                    stage_task(_quoted(run), _quoted(batch), _quoted(state))
                    bar.update(len(batch.articles) + len(batch.rejects) + len(batch.unchanged))
            # The pool's workers, idle now, merge the staged partitions side by side.
            summary = write_task(warehouse, roots)(_quoted(run), _quoted(state), _quoted(executor))
        executor.__exit__(None, None, None)  # before the report: it gets the machine to itself
    # The report is drawn from the committed tables; an unchanged rerun keeps the last one.
    # When it cannot be written (its folder is read-only, say), its failed task and a
    # warning say so; the run, whose data is already written, does not fail for it.
    # It is drawn in a thread of the flow's task runner while the table artifacts are sent:
    # the report is DuckDB's work, sending them mostly waits on the API.
    report = (
        report_task.submit(warehouse)
        if summary.changed or not os.path.exists(default_report_path(warehouse))
        else None
    )
    # Quoted: Prefect would otherwise walk every row of the summary looking for futures
    # (seconds on a backfill of thousands of articles).
    publish_tables_task(_quoted(summary))
    report_path = _drawn(report) if report is not None else default_report_path(warehouse)
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


if __name__ == "__main__":
    note_etl()
