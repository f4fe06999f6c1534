"""The temporary Prefect API server of one ``note-etl run`` (or ``fetch``) on this machine.

Without ``PREFECT_API_URL`` a Prefect flow starts a server of its own (Prefect's "ephemeral"
mode), with a 20 s start-up timeout counted in sleeps only: on a loaded machine the first
run failed with ``Timed out while attempting to connect to ephemeral Prefect API server``.
The command line starts that same server itself instead, so that

- the start-up has a real deadline (:data:`STARTUP_TIMEOUT`), one retry on a fresh port, and
  a message saying what to do when both fail (:class:`ServerStartError`);
- it starts while the flow's modules are still being imported (both take seconds);
- it is not sent the terminal's Ctrl-C: it runs in a session of its own, so an interrupted
  run can still record its end and stop at once, instead of retrying a dead server for a
  minute; the command stops it when the run ends;
- it skips registering Prefect's block types on start (about 1 s; runs use no blocks).

The server is Prefect's own app (``prefect.server.api.server:create_app``) under uvicorn,
as Prefect starts it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Final

from etl.errors import NoteEtlError

#: Seconds one start may take before it is retried. A start takes 4-5 s on an idle 2-core
#: machine and was seen over 20 s with the machine loaded by other work.
STARTUP_TIMEOUT: Final = 60.0
#: Starts tried before giving up (the second on a fresh port).
ATTEMPTS: Final = 2
_POLL: Final = 0.1


class ServerStartError(NoteEtlError):
    """The temporary Prefect API server did not start; the message says what to try."""


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalServer:
    """A Prefect API server process on a free local port; :meth:`stop` ends it.

    >>> LocalServer.__name__
    'LocalServer'
    """

    def __init__(self, timeout: float = STARTUP_TIMEOUT) -> None:
        self.timeout = timeout
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        # Closed by stop(): it outlives this method, as the process writing to it does.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        spec = importlib.util.find_spec("prefect")  # found, not imported: the import takes seconds
        if spec is None or not spec.submodule_search_locations:
            raise ServerStartError("Prefect is not installed (pip install note-etl)")
        app_dir = str(Path(next(iter(spec.submodule_search_locations))).parent)
        env = {
            **os.environ,
            # What Prefect sets for its ephemeral server: no UI, the server's final settings.
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            "PREFECT_API_BLOCKS_REGISTER_ON_START": os.environ.get(
                "PREFECT_API_BLOCKS_REGISTER_ON_START", "false"
            ),
            "PREFECT_SERVER_ANALYTICS_ENABLED": os.environ.get("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        }
        env.pop("PREFECT_API_URL", None)
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                app_dir,
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the terminal's Ctrl-C goes to the run, not to its server
        )

    def wait(self) -> float:
        """Block until the server answers; returns the seconds since it was launched.

        Raises :class:`ServerStartError` when it exits or the deadline passes (it is stopped).
        """
        deadline = self.started_at + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise ServerStartError(f"exited with code {self.process.returncode}: {self.output()}")
            if _healthy(self.url):
                return time.monotonic() - self.started_at
            time.sleep(_POLL)
        self.stop()
        raise ServerStartError(f"no answer at {self.url} within {self.timeout:g} s")

    def output(self, limit: int = 600) -> str:
        """The end of what the server printed (for error messages)."""
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").strip()
        return ("..." + text[-limit:]) if len(text) > limit else (text or "(nothing printed)")

    def stop(self) -> None:
        """End the server (SIGTERM, then SIGKILL after 5 s); safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def launch(timeout: float = STARTUP_TIMEOUT) -> LocalServer:
    """Launch a server without waiting for it (see :func:`wait_started`)."""
    return LocalServer(timeout)


def wait_started(server: LocalServer, attempts: int = ATTEMPTS) -> tuple[LocalServer, float]:
    """Wait for ``server``, relaunching it on a fresh port up to ``attempts`` times in all.

    Returns the server that answered and the seconds its start took.
    """
    failures = []
    for attempt in range(attempts):
        if attempt:
            server = LocalServer(server.timeout)
        try:
            return server, server.wait()
        except ServerStartError as exc:
            failures.append(str(exc))
    raise ServerStartError(
        f"the temporary Prefect API server did not start ({attempts} tries: {'; '.join(failures)}). "
        "If the machine is busy, run again; or start a server with `make ui` and "
        "`export PREFECT_API_URL=http://127.0.0.1:4200/api` so runs use it"
    )


__all__ = ["ATTEMPTS", "STARTUP_TIMEOUT", "LocalServer", "ServerStartError", "launch", "wait_started"]
