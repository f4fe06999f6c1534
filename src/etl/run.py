"""The run: discover inputs, process them in batches on an executor, commit, finish.

:class:`Run` owns a run's steps; :func:`run_local` runs them in order, the Prefect flow
(:mod:`etl.flows.note_etl`) wraps the same steps as tasks, and the benchmark calls
``run_local`` with a stage timer. One run path, one run-id scheme.
"""

from __future__ import annotations

import dataclasses
import gc
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from etl.analysis import EtlOptions
from etl.batches import BatchJob, BatchResult
from etl.commit import RunState, RunSummary, commit_batch, finish_run
from etl.discovery import discover_inputs, source_name
from etl.executors import RUN_GC_THRESHOLDS, Executor, InProcess, ProcessPool
from etl.taxonomy import Taxonomy, load_taxonomy
from etl.timing import NO_TIMER, StageTimer
from etl.warehouse import DEFAULT_STAGE_BUDGET, Warehouse

DEFAULT_BATCH_SIZE = 50


def new_run_id(flow_run_id: str | None = None) -> str:
    """The id of a new run: the Prefect flow run's id when there is one, else ``local-<uuid4>``.

    >>> new_run_id("0b6c1b1e-3f5e-4f4e-9a53-8d3c1a2b4c5d")
    '0b6c1b1e-3f5e-4f4e-9a53-8d3c1a2b4c5d'
    >>> new_run_id().startswith("local-")
    True
    """
    return str(flow_run_id) if flow_run_id else f"local-{uuid.uuid4()}"


def batched(items: Sequence[str], size: int, workers: int = 1) -> list[list[str]]:
    """Split a list into batches of at most ``size`` items, as even as they can be, and as
    many as a multiple of ``workers`` (so that workers side by side finish together).

    >>> batched(["a", "b", "c"], 2)
    [['a', 'b'], ['c']]
    >>> [len(b) for b in batched(list("abcdefghij"), 4)], [len(b) for b in batched(list("abcdefghij"), 4, 2)]
    ([4, 3, 3], [3, 3, 2, 2])
    """
    if size <= 0 or workers <= 0:
        raise ValueError("batch size and workers must be positive")
    if not items:
        return []
    count = -(-len(items) // size)
    count = min(len(items), -(-count // workers) * workers)
    base, extra = divmod(len(items), count)
    out, start = [], 0
    for k in range(count):
        end = start + base + (k < extra)
        out.append(list(items[start:end]))
        start = end
    return out


@dataclass(slots=True, kw_only=True)
class Run:
    """One run of the pipeline into a warehouse, step by step.

    The steps, in order: :meth:`discover`, then under the warehouse lock :meth:`start`,
    :meth:`jobs` handed to an executor, :meth:`commit` for each result, :meth:`finish`.
    :meth:`execute` does exactly that; the flow calls the steps itself, as tasks.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.txt"), "w").write("題\\n本文です。")
    >>> run = Run(warehouse=Warehouse(os.path.join(d, "wh")), options=EtlOptions(input_roots=(d,)))
    >>> run.execute([d], InProcess(run.options)).articles_written
    1
    """

    warehouse: Warehouse
    options: EtlOptions
    run_id: str = field(default_factory=new_run_id)
    flow_name: str = "note_etl"
    full_refresh: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    stage_budget: int = DEFAULT_STAGE_BUDGET
    timer: StageTimer = NO_TIMER
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")

    def discover(self, paths: Iterable[str]) -> list[str]:
        """The input files under ``paths``, sorted."""
        with self.timer.stage("discover"):
            return discover_inputs(paths)

    def start(self, inputs: Sequence[str]) -> RunState:
        """Read what the warehouse holds (its article index), once; call under :meth:`lock`."""
        with self.timer.stage("start"):
            return RunState.start(
                self.warehouse,
                run_id=self.run_id,
                flow_name=self.flow_name,
                started_at=self.started_at,
                inputs=inputs,
                stage_budget=self.stage_budget,
            )

    def jobs(self, state: RunState, workers: int = 1) -> list[BatchJob]:
        """The run's batch jobs, each with its inputs' part of the warehouse's index: at most
        :attr:`batch_size` inputs each, evened out over ``workers`` processes."""
        known = state.known  # by the names written to the tables (see source_name)
        jobs = []
        for n, paths in enumerate(batched(state.paths, self.batch_size, workers)):
            names = (source_name(p) for p in paths)
            part = {name: known[name] for name in names if name in known}
            jobs.append(BatchJob(n, tuple(paths), part, self.full_refresh, self.run_id))
        return jobs

    def commit(self, state: RunState, batch: BatchResult) -> None:
        """Stage one processed batch (nothing is visible to readers before :meth:`finish`)."""
        with self.timer.stage("stage"):
            commit_batch(self.warehouse, batch, state)

    def finish(
        self, state: RunState, taxonomy: Taxonomy | None = None, executor: Executor | None = None
    ) -> RunSummary:
        """Merge every staged partition (on ``executor``'s workers, when it has some), re-score
        keyphrases, write rejects, topics and the runs row."""
        with self.timer.stage("finish"):
            return finish_run(
                self.warehouse, state, taxonomy or load_taxonomy(self.options.taxonomy_path), executor
            )

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The warehouse lock, with the heap frozen: one run at a time per warehouse."""
        with frozen_heap(), self.warehouse.lock():
            yield

    def execute(self, paths: Iterable[str], executor: Executor) -> RunSummary:
        """Every step, in order, with ``executor`` processing the batches (its workers
        start while the inputs are listed and the warehouse is read)."""
        executor.__enter__()
        try:
            inputs = self.discover(paths)
            with self.lock():
                state = self.start(inputs)
                taxonomy = _taxonomy_of(executor, self.options)
                for batch in executor.map(self.jobs(state, executor.workers)):
                    self.commit(state, batch)
                    if taxonomy is None:  # read while the workers process the next batches
                        taxonomy = load_taxonomy(self.options.taxonomy_path)
                # The workers, idle now, merge the staged partitions side by side.
                return self.finish(state, taxonomy, executor)
        finally:
            executor.__exit__(None, None, None)


def _taxonomy_of(executor: Executor, options: EtlOptions) -> Taxonomy | None:
    """The taxonomy the executor's analyser read already, if it runs in this process."""
    analyzer = executor.analyzer if isinstance(executor, InProcess) else None
    if analyzer is not None and analyzer.options.taxonomy_path == options.taxonomy_path:
        return analyzer.taxonomy
    return None


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects alive now out of the garbage collector's passes for a while, and
    collect less often meanwhile (:data:`~etl.executors.RUN_GC_THRESHOLDS`).

    Processing allocates millions of short-lived objects, so collections run often, and
    each full one walks every object of the process: Prefect's and the libraries' several
    hundred thousand too (a tenth of a flow run's time on 20 MB). Garbage is collected
    first, and the objects and thresholds are handed back afterwards.

    >>> with frozen_heap():
    ...     gc.get_freeze_count() > 0, gc.get_threshold() == RUN_GC_THRESHOLDS
    (True, True)
    """
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def executor_for(options: EtlOptions, workers: int, *, timer: StageTimer = NO_TIMER) -> Executor:
    """This process for one worker, a process pool for more.

    >>> type(executor_for(EtlOptions(), 2)).__name__
    'ProcessPool'
    """
    if workers <= 1:
        return InProcess(options, timer=timer)
    return ProcessPool(options, workers=workers)


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
    timer: StageTimer = NO_TIMER,
) -> RunSummary:
    """Run the whole pipeline without Prefect (``workers`` > 1: a process pool).

    ``stage_budget``: bytes of staged rows held in memory before batches are staged on disk;
    ``timer``: a :class:`~etl.timing.Stopwatch` to time the stages (with one worker, all of
    them; with more, those of this process).

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.txt"), "w").write("題\\n本文です。")
    >>> run_local([d], os.path.join(d, "wh")).articles_written
    1
    """
    options = options or EtlOptions()
    if not options.input_roots:
        options = dataclasses.replace(options, input_roots=tuple(paths))
    run = Run(
        warehouse=Warehouse(warehouse_root),
        options=options,
        run_id=new_run_id(run_id),
        full_refresh=full_refresh,
        batch_size=batch_size,
        stage_budget=stage_budget,
        timer=timer,
    )
    return run.execute(paths, executor_for(options, workers, timer=timer))
