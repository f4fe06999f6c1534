"""The main flow: raw note articles in, the warehouse tables out.

Tasks are thin wrappers around :mod:`etl.run`; they work on batches of articles so the
per-task orchestration cost stays small against the work.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from tqdm import tqdm

from etl.pipeline import Analyzer, EtlOptions, discover_inputs
from etl.reading import DEFAULT_MAX_BYTES
from etl.report import summary_markdown, summary_tables
from etl.run import BatchResult, RunSummary, batched, commit, process_batch
from etl.warehouse import Warehouse

DEFAULT_BATCH_SIZE = 50


@lru_cache(maxsize=4)
def _analyzer(options: EtlOptions) -> Analyzer:
    # Building the taxonomy matcher once per process, not once per batch.
    return Analyzer(options)


@task(name="discover-inputs", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE)
def discover_task(paths: Sequence[str]) -> list[str]:
    """List the input files under the given paths."""
    return discover_inputs(paths)


@task(name="read-warehouse-state", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE)
def known_inputs_task(warehouse: str) -> dict[str, tuple[str, str]]:
    """What the warehouse already holds, to skip unchanged inputs."""
    return Warehouse(warehouse).known_inputs()


@task(name="process-articles", task_run_name="process-articles-{batch_no}", cache_policy=NO_CACHE)
def process_task(
    paths: Sequence[str],
    known: dict[str, tuple[str, str]],
    options: EtlOptions,
    full_refresh: bool,
    batch_no: int,
) -> BatchResult:
    """Parse, segment and tag one batch of articles."""
    logger = get_run_logger()
    result = process_batch(_analyzer(options), paths, known, full_refresh=full_refresh)
    for r in result.articles:
        row = r.tables["articles"][0]
        logger.info(
            "processed %s: %d segments, speakers %s",
            r.source_path,
            row["segment_count"],
            ", ".join(row["speakers"]) or "-",
        )
    for rj in result.rejects:
        logger.warning("rejected %s: %s (%s)", rj.source_path, rj.error_message, rj.error_type)
    return result


@task(name="write-warehouse", retries=2, retry_delay_seconds=[2, 5], cache_policy=NO_CACHE)
def write_task(
    warehouse: str,
    batches: list[BatchResult],
    run_id: str,
    started_at: datetime,
    inputs: list[str],
    options: EtlOptions,
) -> RunSummary:
    """Commit every table atomically, partition by partition."""
    return commit(
        Warehouse(warehouse),
        batches,
        run_id=run_id,
        flow_name="note_etl",
        started_at=started_at,
        inputs=inputs,
        taxonomy=_analyzer(options).taxonomy,
    )


@task(name="publish-run-summary", cache_policy=NO_CACHE)
def publish_task(summary: RunSummary) -> None:
    """Markdown and table artifacts of the run, shown in the Prefect UI."""
    create_markdown_artifact(summary_markdown(summary), key="note-etl-run-summary", description=summary.line)
    for key, rows in summary_tables(summary).items():
        if rows:
            create_table_artifact(rows, key=f"note-etl-{key}", description=f"{key} of run {summary.run_id}")


@flow(name="note_etl", description="Raw note articles to speaker- and topic-tagged Parquet tables.")
def note_etl(
    paths: list[str] | None = None,
    warehouse: str = "warehouse",
    full_refresh: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    taxonomy: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: bool = False,
) -> dict[str, Any]:
    """Process every input under ``paths`` (default ``raw``) into ``warehouse``."""
    options = EtlOptions(max_bytes=max_bytes, taxonomy_path=taxonomy)
    started = datetime.now(UTC)
    run_id = str(flow_run.get_id() or f"local-{started:%Y%m%dT%H%M%S}")
    inputs = discover_task(paths or ["raw"])
    # One run at a time per warehouse: a second run waits here, then finds the work done.
    with Warehouse(warehouse).lock():
        return _process_and_commit(
            inputs, warehouse, options, full_refresh, batch_size, run_id, started, progress
        )


def _process_and_commit(
    inputs: list[str],
    warehouse: str,
    options: EtlOptions,
    full_refresh: bool,
    batch_size: int,
    run_id: str,
    started: datetime,
    progress: bool,
) -> dict[str, Any]:
    known = known_inputs_task(warehouse)
    futures = [
        process_task.submit(batch, known, options, full_refresh, batch_no)
        for batch_no, batch in enumerate(batched(inputs, batch_size) if inputs else [])
    ]
    batches: list[BatchResult] = []
    with tqdm(total=len(inputs), unit="article", disable=not progress, desc="note-etl") as bar:
        for future in futures:
            batch = future.result()
            bar.update(len(batch.articles) + len(batch.rejects) + len(batch.unchanged))
            batches.append(batch)
    summary = write_task(warehouse, batches, run_id, started, inputs, options)
    publish_task(summary)
    get_run_logger().info("run %s: %s", run_id, summary.line)
    return {
        "run_id": summary.run_id,
        "inputs_seen": summary.inputs_seen,
        "articles_written": summary.articles_written,
        "articles_unchanged": summary.articles_unchanged,
        "inputs_rejected": summary.inputs_rejected,
        "warehouse": summary.warehouse,
    }


if __name__ == "__main__":
    note_etl()
