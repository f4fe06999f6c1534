"""A stage timer: seconds spent per named stage, for the benchmark to time the real run.

The run and the analyser take one and time their stages with it; the default does nothing,
so a run pays two attribute lookups per stage.

>>> watch = Stopwatch()
>>> with watch.stage("parse"):
...     pass
>>> sorted(watch.seconds)
['parse']
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Protocol


class StageTimer(Protocol):
    """Anything that can time a named stage."""

    def stage(self, name: str) -> AbstractContextManager[object]: ...


class NoTimer:
    """The timer of a run nobody times.

    >>> with NoTimer().stage("parse"):
    ...     pass
    """

    _NULL = nullcontext()

    def stage(self, name: str) -> AbstractContextManager[object]:
        """A context that does nothing."""
        return self._NULL


class Stopwatch:
    """Sums the wall seconds of each stage it times (stages may nest and repeat).

    >>> w = Stopwatch()
    >>> for _ in range(2):
    ...     with w.stage("a"):
    ...         pass
    >>> w.counts["a"]
    2
    """

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.counts: defaultdict[str, int] = defaultdict(int)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block under ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.counts[name] += 1


NO_TIMER = NoTimer()
