"""Executors: where a run's batch jobs are processed. Small and swappable.

An executor takes the run's :class:`~etl.batches.BatchJob` list and yields their results
in job order, with a bounded number in flight so that processed batches never pile up
in memory while the run commits earlier ones. The run, the flow and the benchmark share
these; the flow adds one that sends jobs to Dask as Prefect task runs.

>>> list(InProcess(EtlOptions()).map([]))
[]
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Final, Protocol, Self, TypeVar

from etl.analysis import Analyzer, EtlOptions
from etl.batches import BatchJob, BatchResult, run_job
from etl.timing import NO_TIMER, StageTimer

#: What a fork server imports before it forks workers. Spawned workers each imported
#: note-etl themselves, half a second of CPU apiece on the machine the run needs; the
#: server's modules are shared by the workers it forks. Not ``__main__`` (multiprocessing's
#: default): workers need nothing of the script that started the run.
FORKSERVER_PRELOAD: Final = ("etl.executors",)

F = TypeVar("F")
F_co = TypeVar("F_co", covariant=True)
T = TypeVar("T")
R = TypeVar("R")


class Pending(Protocol[F_co]):
    """A submitted job: a :class:`concurrent.futures.Future`, or a Prefect future."""

    def result(self) -> F_co: ...


class Executor(Protocol):
    """Runs batch jobs and yields their results in job order; entered for a whole run
    (an executor with workers starts them on entering). :meth:`each` runs the end of the
    run's merge jobs (:mod:`etl.merges`) the same way."""

    #: How many processes work side by side (the run evens its batches out over them).
    workers: int

    def __enter__(self) -> Executor: ...
    def __exit__(self, *exc: object) -> None: ...
    def map(self, jobs: Sequence[BatchJob]) -> Iterator[BatchResult]: ...
    def each(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]: ...


class NoWorkers:
    """What an executor without workers does on entering and leaving a run (nothing), and
    with other jobs than batches: each here, one after the other.

    >>> list(NoWorkers().each(abs, [-1, 2]))
    [1, 2]
    """

    workers = 1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def each(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """``fn`` (a module-level function) of each item, in order, as they are asked for."""
        for item in items:
            yield fn(item)


class InProcess(NoWorkers):
    """Every job in this process, one after the other, on one analyser.

    >>> InProcess(EtlOptions()).analyzer.options.max_bytes > 0
    True
    """

    def __init__(
        self, options: EtlOptions, *, analyzer: Analyzer | None = None, timer: StageTimer = NO_TIMER
    ) -> None:
        self.analyzer = analyzer or Analyzer(options, timer=timer)
        self.timer = timer

    def map(self, jobs: Sequence[BatchJob]) -> Iterator[BatchResult]:
        """The results of ``jobs``, computed as they are asked for."""
        for job in jobs:
            yield run_job(self.analyzer, job, self.timer)


class ProcessPool:
    """Jobs in a pool of ``workers`` processes, at most two per worker in flight.

    ``start_method`` is the pool's multiprocessing start method (default: the platform's);
    a process with threads of its own, such as a Prefect flow's, should not fork, and
    ``"forkserver"`` is its cheap safe choice: a fresh single-threaded server process
    imports note-etl once and forks the workers from itself (:data:`FORKSERVER_PRELOAD`).
    Used as a
    context manager, the workers start (import note-etl, build their analyser) when it is
    entered, while the run lists its inputs and reads the warehouse; otherwise :meth:`map`
    starts them.

    >>> ProcessPool(EtlOptions(), workers=2).workers
    2
    """

    def __init__(self, options: EtlOptions, *, workers: int, start_method: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.options = options
        self.workers = workers
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessPool:
        self._pool = self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            # Only before the process's fork server starts; a running one is reused as it is.
            context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
        pool = ProcessPoolExecutor(self.workers, context, initializer=_worker_init, initargs=(self.options,))
        for _ in range(self.workers):  # one call each makes the pool start every worker now
            pool.submit(_worker_ready)
        return pool

    def map(self, jobs: Sequence[BatchJob]) -> Iterator[BatchResult]:
        """The results of ``jobs``, in order, from the pool's processes."""
        if not jobs:
            return
        pool = self._pool
        if pool is None:
            with self:
                yield from self.map(jobs)
            return

        def submit(job: BatchJob) -> Pending[BatchResult]:
            assert pool is not None
            return pool.submit(_worker_run, job)

        yield from in_order(submit, jobs, 2 * self.workers)

    def each(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """``fn`` (a module-level function) of each item in the pool's processes, side by
        side, the results in order; at most two items per worker in flight (each one's
        data is sent to a worker only when one is about to be free). Here when the pool
        is not running."""
        pool = self._pool
        if pool is None:
            yield from NoWorkers().each(fn, items)
            return
        yield from in_order(lambda item: pool.submit(fn, item), items, 2 * self.workers)


def in_order(submit: Callable[[T], Pending[F]], jobs: Sequence[T], window: int) -> Iterator[F]:
    """Results of submitted jobs in submission order, with at most ``window`` in flight.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     list(in_order(lambda j: pool.submit(lambda: j.number), [BatchJob(n, (), {}, False, "r") for n in range(3)], 2))
    [0, 1, 2]
    """
    pending: deque[Pending[F]] = deque()
    todo = iter(jobs)
    for job in itertools.islice(todo, window):
        pending.append(submit(job))
    while pending:
        result = pending.popleft().result()
        nxt = next(todo, None)
        if nxt is not None:
            pending.append(submit(nxt))
        yield result


def start_fork_server() -> None:
    """Start this process's fork server now, in the background (once: then it is reused).

    The server imports note-etl (:data:`FORKSERVER_PRELOAD`) before it forks a worker: half
    a second a run waits for once a pool starts. Started before the run's first steps (the
    Prefect flow run's creation, a temporary API server's start), that import happens
    meanwhile; a pool made later finds the server running and forks its workers at once.

    >>> start_fork_server(); start_fork_server()
    """
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(list(FORKSERVER_PRELOAD))
    forkserver.ensure_running()  # spawns the server, which imports while this process goes on


#: The garbage collector's thresholds while a run processes articles (Python's are
#: (700, 10, 10)). Analysing allocates millions of short-lived objects, so at 700 the
#: collector ran 2,900 young and 24 full collections on the 20 MB corpus, 2.4 s of CPU
#: in 20; at 20,000 it runs 250 and 2 (the run's own), 0.6 s, for the same peak memory.
RUN_GC_THRESHOLDS: Final = (20_000, 10, 10)


_WORKER_ANALYZER: Analyzer | None = None


def _worker_init(options: EtlOptions) -> None:
    global _WORKER_ANALYZER
    _WORKER_ANALYZER = Analyzer(options)
    # A worker lives for one run: what it holds now (modules, the analyzer) stays.
    gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLDS)


def _worker_ready() -> bool:
    return _WORKER_ANALYZER is not None


def _worker_run(job: BatchJob) -> BatchResult:
    assert _WORKER_ANALYZER is not None, "worker not initialised"
    return run_job(_WORKER_ANALYZER, job)
