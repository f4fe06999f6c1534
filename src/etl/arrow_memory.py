"""The Arrow memory pool note-etl's processes allocate from.

pyarrow's default pool on Linux is mimalloc, which keeps the pages an allocation freed for
the process to reuse. A run's Arrow work comes in bursts of different shapes (each batch's
tables, then the merge of every partition, range by range), and mimalloc's retained pages
add up: on the benchmark's 20 MB corpus a one-process run peaked at 407-420 MB with it and
at 341 MB with jemalloc, in the same time (305 MB on the corpus's first 20 %: 338 MB with
mimalloc), so peak memory no longer grows with the corpus. jemalloc hands unused pages back
after a short delay.

Arrow reads its choice (``ARROW_DEFAULT_MEMORY_POOL``) once, when pyarrow is imported, and
its C++ code (Parquet, IPC, compute) allocates from that pool whatever Python's
``pyarrow.set_memory_pool`` says later. So the choice is made by importing ``etl``, before
any module of note-etl imports pyarrow; this module imports nothing else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Container, MutableMapping

#: pyarrow's own setting; a user's choice is kept.
POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"
#: The pool chosen where the user chose none: pyarrow's Linux wheels have jemalloc (the
#: others' backends are left as pyarrow picks them).
RUN_POOL = "jemalloc"


def choose_pool(
    environ: MutableMapping[str, str] = os.environ,
    platform: str = sys.platform,
    modules: Container[str] = sys.modules,
) -> bool:
    """Ask for :data:`RUN_POOL` on Linux unless a pool is chosen already; True if asked.

    Too late once pyarrow is imported (its pool is fixed then): nothing changes.

    >>> env = {}
    >>> choose_pool(env, "linux", modules=()), env
    (True, {'ARROW_DEFAULT_MEMORY_POOL': 'jemalloc'})
    >>> choose_pool({POOL_ENV: "system"}, "linux", ()), choose_pool({}, "darwin", ())
    (False, False)
    >>> choose_pool({}, "linux", modules={"pyarrow"})
    False
    """
    if platform != "linux" or environ.get(POOL_ENV) or "pyarrow" in modules:
        return False
    environ[POOL_ENV] = RUN_POOL
    return True
