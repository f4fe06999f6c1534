"""The scheduled deployments, served by one process (``note-etl serve``).

- ``fetch_and_process/fetch-and-process``: fetch the configured note accounts into raw/,
  then process raw/ into the warehouse; on a cron schedule.
- ``note_etl/process-raw``: process raw/ (files added or edited by hand); on an interval.

Both take their parameters from ``config/pipeline.yaml`` (:mod:`etl.settings`); the UI shows
them on each deployment and lets a user change them for one run. Serving needs a Prefect
server (``make ui``): the ephemeral API keeps only part of the task-run records.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast
from zoneinfo import ZoneInfo

import httpx
from prefect import Flow, flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from etl.flows.fetch_note import fetch_note
from etl.flows.note_etl import DEFAULT_BATCH_SIZE, note_etl
from etl.settings import DEPLOYMENT_NAMES, PipelineSettings, ScheduleSettings

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Schedule

TAGS: Final = ["note-etl"]
# Interval schedules are anchored to a fixed past instant, so runs fall on round times
# (every hour on the hour, Tokyo time) rather than at whatever time `serve` started.
ANCHOR: Final = datetime(2024, 1, 1)


@flow(
    name="fetch_and_process",
    description="Fetch note accounts into raw/, then process raw/ into the warehouse.",
)
def fetch_and_process(
    accounts: list[str],
    raw: str = "raw",
    warehouse: str = "warehouse",
    taxonomy: str | None = None,
    fetch: dict[str, Any] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """Fetch, then process; a failed fetch still lets what is in raw/ be processed."""
    logger = get_run_logger()
    fetch_state = fetch_note(accounts=accounts, raw=raw, options=fetch, return_state=True)
    fetched: dict[str, Any] | None = None
    if fetch_state.is_completed():
        fetched = fetch_state.result()
    else:
        logger.error("fetch failed (%s); processing what raw/ holds already", fetch_state.message)
    processed = note_etl(
        paths=[raw], warehouse=warehouse, full_refresh=full_refresh, batch_size=batch_size, taxonomy=taxonomy
    )
    lines = ["# fetch and process", ""]
    if fetched is not None:
        lines.append(
            f"- fetch: {fetched['listed']} listed, {fetched['new']} new, {fetched['changed']} changed, "
            f"{fetched['unchanged']} unchanged, {fetched['gone']} gone, {fetched['failed']} failed, "
            f"{fetched['skipped']} skipped ({fetched['requests']} requests)"
        )
    else:
        lines.append(f"- fetch: **failed** ({fetch_state.message})")
    lines.append(
        f"- process: {processed['inputs_seen']} inputs, {processed['articles_written']} written, "
        f"{processed['articles_unchanged']} unchanged, {processed['inputs_rejected']} rejected "
        f"-> `{processed['warehouse']}`"
    )
    lines += ["", "Details: the artifacts of the `fetch_note` and `note_etl` subflow runs."]
    create_markdown_artifact("\n".join(lines), key="note-etl-fetch-and-process", description=lines[2])
    if fetched is None:
        # Processing went ahead, but the run must show that the fetch did not happen.
        raise RuntimeError(f"fetch failed: {fetch_state.message}")
    return {"fetch": fetched, "process": processed}


def schedule_of(spec: ScheduleSettings) -> Schedule:
    """The Prefect schedule of a deployment's settings.

    >>> schedule_of(ScheduleSettings(cron="15 7 * * *")).cron
    '15 7 * * *'
    >>> schedule_of(ScheduleSettings(interval_seconds=900)).interval
    datetime.timedelta(seconds=900)
    """
    from prefect.schedules import Cron, Interval

    if spec.cron is not None:
        return Cron(spec.cron, timezone=spec.timezone, active=spec.active)
    assert spec.interval_seconds is not None  # ScheduleSettings holds exactly one of the two
    return Interval(
        timedelta(seconds=spec.interval_seconds),
        anchor_date=ANCHOR.replace(tzinfo=ZoneInfo(spec.timezone)),
        timezone=spec.timezone,
        active=spec.active,
    )


def deployment_parameters(settings: PipelineSettings, name: str) -> dict[str, Any]:
    """The parameters a deployment passes to its flow, from the settings.

    >>> s = PipelineSettings(source="x", accounts=("digital_jp",), raw="/r", warehouse="/w")
    >>> deployment_parameters(s, "process-raw")["paths"]
    ['/r']
    """
    spec = settings.schedules[name]
    common = {
        "warehouse": settings.warehouse,
        "taxonomy": settings.taxonomy,
        "batch_size": settings.batch_size,
        "full_refresh": spec.full_refresh,
    }
    if name == "process-raw":
        return {"paths": [settings.raw], **common}
    if name == "fetch-and-process":
        return {
            "accounts": list(settings.accounts),
            "raw": settings.raw,
            "fetch": settings.fetch.to_dict(),
            **common,
        }
    raise ValueError(f"unknown deployment {name!r} (known: {', '.join(DEPLOYMENT_NAMES)})")


def build_deployments(
    settings: PipelineSettings, only: Sequence[str] | None = None
) -> list[RunnerDeployment]:
    """The runner deployments to serve (all, or the ``only`` names).

    >>> [d.name for d in build_deployments(PipelineSettings(source="x"))]
    ['fetch-and-process', 'process-raw']
    """
    from prefect.types.entrypoint import EntrypointType

    names = list(only or DEPLOYMENT_NAMES)
    flows: dict[str, Flow[..., Any]] = {"fetch-and-process": fetch_and_process, "process-raw": note_etl}
    out: list[RunnerDeployment] = []
    for name in names:
        if name not in flows:
            raise ValueError(f"unknown deployment {name!r} (known: {', '.join(DEPLOYMENT_NAMES)})")
        spec = settings.schedules[name]
        deployment = flows[name].to_deployment(
            name=name,
            schedule=schedule_of(spec),
            parameters=deployment_parameters(settings, name),
            description=f"{flows[name].description} Schedule: {spec.describe()}. Settings: {settings.source}.",
            tags=TAGS,
            # One run of a deployment at a time: a slow run is not overtaken by the next one.
            concurrency_limit=1,
            # Module paths: the runner's flow-run subprocess imports the installed
            # package, wherever `serve` was started from.
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        # Called from sync code, so this is the deployment itself, not a coroutine.
        out.append(cast("RunnerDeployment", deployment))
    return out


def api_url() -> str | None:
    """The Prefect API this process talks to (``PREFECT_API_URL``), if one is set.

    >>> api_url() is None or api_url().startswith("http")
    True
    """
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def wait_for_api(url: str, timeout: float = 60.0, interval: float = 0.5) -> float:
    """Poll ``<url>/health`` until it answers; returns the seconds waited.

    ``prefect server start --background`` returns before the server is ready (5-9 s here).

    >>> wait_for_api("http://127.0.0.1:9/api", timeout=0.2, interval=0.1)
    Traceback (most recent call last):
    ...
    TimeoutError: no Prefect API at http://127.0.0.1:9/api/health after 0.2 s
    """
    health = url.rstrip("/") + "/health"
    start = time.monotonic()
    while True:
        try:
            if httpx.get(health, timeout=min(interval * 4, 5.0)).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        if time.monotonic() - start >= timeout:
            raise TimeoutError(f"no Prefect API at {health} after {timeout:g} s")
        time.sleep(interval)


def serve_deployments(
    settings: PipelineSettings, only: Sequence[str] | None = None, limit: int | None = None
) -> None:
    """Register the deployments and run their scheduled flow runs until interrupted."""
    from prefect import serve

    url = api_url()
    if url is None:
        raise RuntimeError(
            "PREFECT_API_URL is not set: start the server with `make ui` and export the "
            "PREFECT_API_URL it prints (serving needs a server; the embedded mode has no scheduler)"
        )
    try:
        wait_for_api(url, timeout=10)
    except TimeoutError as exc:
        raise RuntimeError(f"{exc}: is the server running? (`make ui`)") from None
    serve(*build_deployments(settings, only), limit=limit)


if __name__ == "__main__":
    import sys

    # `python -m etl.flows.deployments wait URL [TIMEOUT]`: used by `make ui`.
    if len(sys.argv) >= 3 and sys.argv[1] == "wait":
        waited = wait_for_api(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 60.0)
        print(f"Prefect API ready at {sys.argv[2]} after {waited:.1f} s")
    else:
        print("usage: python -m etl.flows.deployments wait URL [TIMEOUT]", file=sys.stderr)
        sys.exit(2)
