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
from typing import Protocol, TypeVar

from etl.analysis import Analyzer, EtlOptions
from etl.batches import BatchJob, BatchResult, run_job
from etl.timing import NO_TIMER, StageTimer

F = TypeVar("F")
F_co = TypeVar("F_co", covariant=True)


class Pending(Protocol[F_co]):
    """A submitted job: a :class:`concurrent.futures.Future`, or a Prefect future."""

    def result(self) -> F_co: ...


class Executor(Protocol):
    """Runs batch jobs and yields their results in job order."""

    def map(self, jobs: Sequence[BatchJob]) -> Iterator[BatchResult]: ...


class InProcess:
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
    a process with threads of its own, such as a Prefect flow's, should not fork.

    >>> ProcessPool(EtlOptions(), workers=2).workers
    2
    """

    def __init__(self, options: EtlOptions, *, workers: int, start_method: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.options = options
        self.workers = workers
        self.start_method = start_method

    def map(self, jobs: Sequence[BatchJob]) -> Iterator[BatchResult]:
        """The results of ``jobs``, in order, from the pool's processes."""
        if not jobs:
            return
        context = multiprocessing.get_context(self.start_method)
        with ProcessPoolExecutor(
            self.workers, context, initializer=_worker_init, initargs=(self.options,)
        ) as pool:
            yield from in_order(lambda job: pool.submit(_worker_run, job), jobs, 2 * self.workers)


def in_order(submit: Callable[[BatchJob], Pending[F]], jobs: Sequence[BatchJob], window: int) -> Iterator[F]:
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


_WORKER_ANALYZER: Analyzer | None = None


def _worker_init(options: EtlOptions) -> None:
    global _WORKER_ANALYZER
    _WORKER_ANALYZER = Analyzer(options)
    # A worker lives for one run: what it holds now (modules, the analyzer) stays.
    gc.freeze()


def _worker_run(job: BatchJob) -> BatchResult:
    assert _WORKER_ANALYZER is not None, "worker not initialised"
    return run_job(_WORKER_ANALYZER, job)
