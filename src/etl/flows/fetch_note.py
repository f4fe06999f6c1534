"""The fetch flow: note accounts in, new and changed articles in ``raw/`` out.

A thin wrapper around :mod:`etl.fetch`: the tasks ``list-articles`` and ``fetch-article``
call the library, which does the politeness (robots.txt included), the HTTP retries (logged
as warnings on the task run) and the atomic writes. When the client's own retries give up, the task fails and
Prefect retries it (``task_retries``), which the UI shows as a retry of the task run; an
article that still fails is recorded, and the run goes on with the next one.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from etl.fetch import (
    ArticleRef,
    FetchOptions,
    FetchOutcome,
    FetchReport,
    InvalidResponse,
    LogLike,
    NoteClient,
    RetriesExhausted,
    fetch_account,
    fetch_article,
    list_articles,
)
from etl.markdown import cell


def _transient(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Retry a task only for failures that another try may fix (not 404, not the request cap)."""
    exc = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    return isinstance(exc, RetriesExhausted | InvalidResponse)


@task(
    name="list-articles",
    task_run_name="list-articles-{urlname}",
    retries=1,
    retry_delay_seconds=30,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,
)
def list_articles_task(client: NoteClient, urlname: str, known: set[str]) -> list[ArticleRef]:
    """List one account's articles (listing API and/or RSS feed), newest first."""
    refs = list_articles(client, urlname, known=known, log=get_run_logger())
    get_run_logger().info("%s: %d articles listed", urlname, len(refs))
    return refs


@task(
    name="fetch-article",
    task_run_name="fetch-article-{urlname}-{key}",
    retries=1,
    retry_delay_seconds=30,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,
)
def fetch_article_task(client: NoteClient, urlname: str, key: str, raw: str) -> FetchOutcome:
    """Download one article into raw/ if it is new or changed (conditional request)."""
    return fetch_article(client, urlname, key, raw, log=get_run_logger())


@task(name="publish-fetch-summary", cache_policy=NO_CACHE)
def publish_fetch_task(report: FetchReport) -> None:
    """Markdown and table artifacts of the fetch, shown in the Prefect UI."""
    create_markdown_artifact(report.markdown(), key="note-fetch-summary", description=report.line)
    # The UI renders cells as markdown: server-given reasons and keys stay text.
    rows = [{k: cell(v) for k, v in row.items()} for row in report.rows()]
    if rows:
        create_table_artifact(rows, key="note-fetch-articles", description="articles fetched or not fetched")


@flow(name="fetch_note", description="Fetch new and changed articles of note accounts into raw/.")
def fetch_note(
    accounts: list[str],
    raw: str = "raw",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fetch every account in ``accounts`` into ``raw/note/<urlname>/``.

    ``options`` are :class:`etl.fetch.FetchOptions` fields (``config/pipeline.yaml``'s
    ``fetch`` section).
    """
    opts = FetchOptions.from_mapping(options or {})
    logger = get_run_logger()
    # Task-level retry delays come from the options, so tests and operators can set them.
    lister_task = list_articles_task.with_options(
        retries=opts.task_retries, retry_delay_seconds=opts.task_retry_delay_seconds
    )
    fetcher_task = fetch_article_task.with_options(
        retries=opts.task_retries, retry_delay_seconds=opts.task_retry_delay_seconds
    )

    def lister(
        client: NoteClient, urlname: str, *, known: set[str], log: LogLike | None = None
    ) -> list[ArticleRef]:
        return lister_task(client, urlname, known)

    def fetcher(
        client: NoteClient, urlname: str, key: str, raw_root: str, *, log: LogLike | None = None
    ) -> FetchOutcome:
        return fetcher_task(client, urlname, key, raw_root)

    report = FetchReport()
    with NoteClient(opts, log=logger) as client:
        for urlname in accounts:
            report.accounts.append(
                fetch_account(client, urlname, raw, lister=lister, fetcher=fetcher, log=logger)
            )
        report.requests = client.requests_made
    publish_fetch_task(report)
    logger.info("fetch: %s", report.line)
    return {
        "accounts": list(accounts),
        # "failed" counts every failure: articles and listings (offline, robots.txt aside).
        **report.counts(),
        "listing_errors": {a.urlname: a.listing_error for a in report.accounts if a.listing_error},
        "robots_txt": report.robots_urls,
    }


if __name__ == "__main__":
    from etl.settings import load_settings

    _settings = load_settings()
    fetch_note(list(_settings.accounts), _settings.raw, _settings.fetch.to_dict())
