"""note-etl's processes allocate Arrow memory from jemalloc on Linux (see etl.arrow_memory),
whatever module of the package they import first, and a user's choice wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from etl.arrow_memory import POOL_ENV

_BACKEND = "import {module}, pyarrow; print(pyarrow.default_memory_pool().backend_name)"


def _backend(module: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != POOL_ENV} | env
    out = subprocess.run(
        [sys.executable, "-c", _BACKEND.format(module=module)],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.skipif(sys.platform != "linux", reason="the pool is chosen on Linux only")
@pytest.mark.parametrize("module", ["etl.run", "etl.warehouse", "etl.flows.note_etl", "etl.cli"])
def test_importing_note_etl_first_puts_arrow_on_jemalloc(module: str) -> None:
    assert _backend(module) == "jemalloc"


def test_a_pool_the_user_chose_is_kept() -> None:
    assert _backend("etl.run", **{POOL_ENV: "system"}) == "system"


def test_pyarrow_imported_before_note_etl_keeps_its_own_pool() -> None:
    assert _backend("pyarrow, etl.run") == _backend("pyarrow")
