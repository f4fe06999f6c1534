"""Executors: the process pool's workers, however they are started."""

from __future__ import annotations

import os
import sys

import pytest

from etl.analysis import EtlOptions
from etl.executors import ProcessPool


def _worker_facts() -> tuple[int, bool, bool]:
    """The worker's parent process, and whether it holds note-etl's analyser and Prefect."""
    return os.getppid(), "etl.analysis" in sys.modules, "prefect" in sys.modules


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_pool_workers_start_with_note_etl_and_without_prefect(method: str) -> None:
    # The flow's process has Prefect loaded and its threads running: its workers are not
    # forked from it, and need note-etl only.
    import prefect  # noqa: F401

    with ProcessPool(EtlOptions(), workers=2, start_method=method) as pool:
        assert pool._pool is not None
        seen = [pool._pool.submit(_worker_facts).result() for _ in range(6)]
    assert all(analysis and not has_prefect for _, analysis, has_prefect in seen), seen
    parents = {parent for parent, _, _ in seen}
    if method == "forkserver":
        # Forked by the fork server, which is this process's child.
        assert len(parents) == 1 and os.getpid() not in parents
    else:
        assert parents == {os.getpid()}
