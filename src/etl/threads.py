"""Work on many partitions at once, on threads: Parquet and Arrow release the GIL.

The re-scoring of keyphrases at the end of a run reads every old keyphrase partition;
that is mostly Parquet decoding and Arrow kernels, which run outside the GIL, so a few
threads keep the machine's cores busy where one would leave them idle. (The merges
themselves run in one thread: Arrow's allocator keeps a heap per thread, and merges on
threads raised a run's peak memory.)

>>> each(str.upper, ["2024-01", "undated"])
['2024-01', 'UNDATED']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Threads for partition work: the cores, at most four (more only adds memory).
THREADS: Final = max(1, min(4, os.cpu_count() or 1))


def each(fn: Callable[[T], R], items: Sequence[T], threads: int = THREADS) -> list[R]:
    """``fn`` of every item, ``threads`` at a time; results in item order.

    The first exception raised is raised here, after the items already running finish.

    >>> each(len, ["a", "bb"], threads=2)
    [1, 2]
    """
    if threads <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix="note-etl-part") as pool:
        futures = [pool.submit(fn, item) for item in items]
        return [f.result() for f in futures]
