"""The main flow sends no heartbeats on a temporary server, and Prefect's with a real one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json
    from prefect import flow
    from prefect.settings import get_current_settings
    from etl.flows.note_etl import local_flow

    def frequency() -> object:
        return get_current_settings().flows.heartbeat_frequency

    local = local_flow(name="local", description="d")(frequency)
    plain = flow(name="plain")(frequency)
    plain()  # starts the temporary server
    seen = {"local": local()}
    seen["plain"] = plain()
    print(json.dumps(seen))
    """
)


def test_no_heartbeats_on_a_temporary_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {"PREFECT_HOME": str(tmp_path / "home"), "PREFECT_LOGGING_LEVEL": "WARNING"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1] / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["local"] is None
    assert isinstance(seen["plain"], int) and seen["plain"] >= 30


def test_heartbeats_as_configured_with_a_real_server() -> None:
    from prefect.settings import get_current_settings
    from prefect.testing.utilities import prefect_test_harness

    from etl.flows.note_etl import local_flow

    @local_flow(name="with-server", description="d")
    def frequency() -> object:
        return get_current_settings().flows.heartbeat_frequency

    with prefect_test_harness(server_startup_timeout=60):
        configured = get_current_settings().flows.heartbeat_frequency
        assert configured is not None and frequency() == configured
