"""The operations path end to end: a real Prefect server, `note-etl serve`, a scheduled run.

Starts ``prefect server start`` on a free loopback port with a temporary PREFECT_HOME,
serves the deployments of a temporary ``pipeline.yaml`` (process-raw every few seconds),
waits for a scheduled run to complete and reads its artifacts back through the Prefect
client. Nothing here is skipped: if the server cannot start, the test fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from .conftest import SAMPLES, SEED

BIN = Path(sys.executable).parent
SERVER_TIMEOUT = 60.0
RUN_TIMEOUT = 120.0
INTERVAL_SECONDS = 5


@dataclass
class Server:
    url: str  # the API URL, ending in /api
    env: dict[str, str]
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, grace: float = 20.0) -> None:
    """Ask a process to stop, then make sure it does."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def tail(path: Path, n: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else "(no log)"


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_LEVEL="INFO",
        # A deployment created after start is scheduled at the scheduler's next loop (60 s by
        # default); and the runner polls for due runs every 10 s. Both made short for the test.
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="1",
        PREFECT_RUNNER_POLL_FREQUENCY="1",
    )
    log = home / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(BIN / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--analytics-off",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited with {proc.returncode}:\n{tail(log)}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server not healthy after {SERVER_TIMEOUT:g} s:\n{tail(log)}")
            time.sleep(0.5)
        yield Server(url, env, log)
    finally:
        stop(proc, signal.SIGTERM)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: raw/ with two articles and config/pipeline.yaml with short schedules."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    shutil.copy(SAMPLES / "text" / "roundtable.txt", raw / "roundtable.txt")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "pipeline.yaml").write_text(
        f"""
root: ..
accounts: [digital_jp]
raw: raw
warehouse: warehouse
fetch:
  base_url: http://127.0.0.1:9   # never contacted: fetch-and-process stays paused here
  delay_seconds: 0.01
deployments:
  fetch-and-process:
    cron: "15 7 * * *"
    active: false
  process-raw:
    interval_seconds: {INTERVAL_SECONDS}
""",
        encoding="utf-8",
    )
    return tmp_path


def test_served_deployment_runs_on_schedule_and_publishes_artifacts(
    prefect_server: Server, project: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterId,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.settings import PREFECT_API_URL, temporary_settings

    log = project / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [str(BIN / "note-etl"), "serve", "--config", str(project / "config" / "pipeline.yaml")],
            cwd=project,
            env=prefect_server.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with (
            temporary_settings({PREFECT_API_URL: prefect_server.url}),
            get_client(sync_client=True) as client,
        ):
            started = time.monotonic()
            deployment = None
            completed: Any = None
            while completed is None:
                if serve.poll() is not None:
                    pytest.fail(f"note-etl serve exited with {serve.returncode}:\n{tail(log)}")
                if time.monotonic() - started > RUN_TIMEOUT:
                    pytest.fail(f"no completed scheduled run after {RUN_TIMEOUT:g} s:\n{tail(log)}")
                time.sleep(1)
                if deployment is None:
                    try:
                        deployment = client.read_deployment_by_name("note_etl/process-raw")
                    except Exception:  # not registered yet: `serve` is still starting
                        continue
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
                )
                for run in runs:
                    if run.state is not None and run.state.type in (StateType.FAILED, StateType.CRASHED):
                        pytest.fail(
                            f"scheduled run {run.name} ended {run.state.type}: {run.state.message}\n{tail(log)}"
                        )
                done = [r for r in runs if r.state is not None and r.state.type == StateType.COMPLETED]
                completed = done[0] if done else None
            waited = time.monotonic() - started

            # It was a scheduled run, with the parameters of the settings file.
            assert completed.auto_scheduled, "the run came from the schedule, not a manual trigger"
            assert completed.parameters["paths"] == [str(project / "raw")]
            assert completed.parameters["warehouse"] == str(project / "warehouse")
            other = client.read_deployment_by_name("fetch_and_process/fetch-and-process")
            assert other.parameters["accounts"] == ["digital_jp"]
            assert other.parameters["fetch"]["base_url"] == "http://127.0.0.1:9"
            assert [s.active for s in other.schedules] == [False]

            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[completed.id]))
            )
            task_runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[completed.id]))
            )
    finally:
        stop(serve, signal.SIGINT)

    by_key = {a.key: a for a in artifacts}
    summary = str(by_key["note-etl-run-summary"].data)
    assert "| 2 | 2 | 0 | 0 |" in summary or "| 2 | 0 | 2 | 0 |" in summary, summary
    assert "井下" in summary
    for key in ("note-etl-articles", "note-etl-speakers", "note-etl-topics"):
        assert by_key[key].type == "table", key
    # The server keeps every task run (the ephemeral API keeps only some): the UI shows them.
    names = sorted(t.name for t in task_runs)
    for task_name in ("discover-inputs", "read-warehouse-state", "process-articles", "write-warehouse"):
        assert any(n.startswith(task_name) for n in names), (task_name, names)
    assert pd.read_parquet(project / "warehouse" / "articles").shape[0] == 2
    print(f"first scheduled run completed {waited:.1f} s after `note-etl serve` started")
