"""Parallel runs give the same tables as one process: a process pool and a Dask cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from distributed import LocalCluster
from prefect.testing.utilities import prefect_test_harness

from etl.flows.note_etl import note_etl
from etl.run import run_local

from .conftest import SAMPLES, SEED
from .warehouse_utils import CONTENT_TABLES, content, difference, same


@pytest.fixture(scope="module", autouse=True)
def prefect_backend() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SEED, raw / SEED.name)
    for path in sorted((SAMPLES / "text").glob("*.txt")):
        shutil.copy(path, raw / path.name)
    shutil.copy(SAMPLES / "json" / "seed_note_api.json", raw / "seed_note_api.json")
    (raw / "broken.json").write_text("{", encoding="utf-8")
    return raw


@pytest.fixture(scope="module")
def reference(raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("one")
    run_local([str(raw)], str(wh), batch_size=3)
    return wh


def assert_same(wh: Path, reference: Path) -> None:
    for table in CONTENT_TABLES:
        assert same(content(wh, table), content(reference, table)), (
            f"{table}: {difference(content(wh, table), content(reference, table))}"
        )


def test_library_process_pool(raw: Path, reference: Path, tmp_path: Path) -> None:
    summary = run_local([str(raw)], str(tmp_path / "wh"), workers=2, batch_size=2)
    assert (summary.articles_written, summary.inputs_rejected) == (8, 1)
    assert_same(tmp_path / "wh", reference)


def test_flow_process_pool(raw: Path, reference: Path, tmp_path: Path) -> None:
    result = note_etl(paths=[str(raw)], warehouse=str(tmp_path / "wh"), workers=2, batch_size=2)
    assert (result["articles_written"], result["inputs_rejected"]) == (8, 1)
    assert_same(tmp_path / "wh", reference)


def test_flow_on_a_dask_cluster(raw: Path, reference: Path, tmp_path: Path) -> None:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = note_etl(
            paths=[str(raw)],
            warehouse=str(tmp_path / "wh"),
            dask_address=cluster.scheduler_address,
            batch_size=2,
        )
    assert (result["articles_written"], result["inputs_rejected"]) == (8, 1)
    assert_same(tmp_path / "wh", reference)


@pytest.mark.parametrize("engine", ["pool", "dask"])
def test_workers_use_the_flows_temporary_server(
    engine: str, raw: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # As a new user runs it: no PREFECT_API_URL, so the flow starts a temporary server.
    # Processes working for the flow must report to it, not start servers of their own
    # (each was a whole Prefect server on the same database).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    # -v: Prefect's INFO lines, "Starting temporary server" among them, reach the terminal.
    cli = [
        sys.executable,
        "-m",
        "etl.cli",
        "run",
        "-v",
        "--batch-size",
        "2",
        "--warehouse",
        str(tmp_path / "wh"),
    ]
    with contextlib.ExitStack() as stack:
        if engine == "dask":
            cluster = stack.enter_context(
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            )
            cli += ["--dask-address", cluster.scheduler_address]
        else:
            cli += ["--workers", "2"]
        proc = subprocess.run([*cli, str(raw)], env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    # The command's own temporary server, and no Prefect ephemeral server anywhere else.
    assert log.count("temporary Prefect API server ready") == 1, log[-3000:]
    assert "Starting temporary server" not in log, log[-3000:]
    assert "Starting temporary server" not in capfd.readouterr().err  # the Dask workers' output
    assert len(pd.read_parquet(tmp_path / "wh" / "articles")) == 8
