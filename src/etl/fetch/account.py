"""One account: list, then fetch what is new (first) and what may have changed.

The loop never lets one article take the run down: every exception of a fetch becomes that
article's ``failed`` outcome with a reason, and every failure of the listing becomes the
account's listing error; the state file is written either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any, Final

from etl.fetch.article import FetchOutcome, fetch_article
from etl.fetch.client import NoteClient
from etl.fetch.errors import FetchError, RequestBudgetExhausted, RobotsDisallowed
from etl.fetch.files import fs_of
from etl.fetch.layout import SIDECAR_SUFFIX, account_dir, article_path, is_article_key
from etl.fetch.listing import ArticleRef, list_articles
from etl.fetch.logs import LogLike
from etl.fetch.robots import robots_url
from etl.fetch.state import STATE_FILE, read_state, write_state
from etl.fetch.summary import AccountReport

#: Failures another run will not fix: the same redirect loop, the same answer that is not a
#: note article, the same defect. After ``max_failed_runs`` of them in a row the key is
#: given up (asked no more) instead of costing requests on every run for ever.
PERMANENT_ERRORS: Final = frozenset({"request_error", "invalid_response", "internal_error"})

Lister = Callable[..., Sequence[ArticleRef]]
Fetcher = Callable[..., FetchOutcome]


def fetch_account(
    client: NoteClient,
    urlname: str,
    raw_root: str,
    *,
    lister: Lister = list_articles,
    fetcher: Fetcher = fetch_article,
    log: LogLike | None = None,
) -> AccountReport:
    """List one account and fetch what is new (first) and what may have changed.

    Articles recorded as gone are not requested again; failures are recorded in the
    account's ``.fetch-state.json`` and retried on the next run, except one that failed
    the same permanent way (:data:`PERMANENT_ERRORS`) ``max_failed_runs`` runs in a row:
    it is recorded under ``given_up`` and skipped until that entry is removed. ``lister`` and ``fetcher``
    are :func:`list_articles` and :func:`fetch_article` or wrappers of them (Prefect tasks)
    with the same arguments.

    >>> import httpx, tempfile
    >>> from etl.fetch import FetchOptions, ManualClock
    >>> def answer(request: httpx.Request) -> httpx.Response:
    ...     if "contents" in request.url.path:
    ...         return httpx.Response(200, json={"data": {"contents": [{"key": "n0123456789ab"}]}})
    ...     return httpx.Response(200, json={"data": {"key": "n0123456789ab", "name": "題", "body": "<p>x</p>"}})
    >>> client = NoteClient(FetchOptions(base_url="http://test", delay_seconds=0),
    ...                     clock=ManualClock(), transport=httpx.MockTransport(answer))
    >>> fetch_account(client, "digital_jp", tempfile.mkdtemp()).count("new")
    1
    """
    log = log or client.log
    report = AccountReport(urlname)
    folder = account_dir(raw_root, urlname)
    state = read_state(folder)
    fs, fs_folder = fs_of(folder)
    known = {
        PurePosixPath(p).name[: -len(".json")]
        for p in (fs.glob(f"{fs_folder}/n*.json") if fs.exists(fs_folder) else [])
        if not p.endswith(SIDECAR_SUFFIX)
    }
    try:
        refs = list(lister(client, urlname, known=known, log=log))
    except FetchError as exc:
        report.listing_error = f"{exc.error_type}: {exc}"
        report.listing_error_type = exc.error_type
        if isinstance(exc, RobotsDisallowed) and exc.url:
            report.robots_url = robots_url(exc.url)
        log.error("could not list %s: %s", urlname, exc)
        return report
    except Exception as exc:  # a defect or an unforeseen answer: this account fails, the run goes on
        report.listing_error = f"internal_error: {type(exc).__name__}: {exc}"
        report.listing_error_type = "internal_error"
        log.exception("could not list %s", urlname)
        return report
    report.listed = len(refs)
    gone: dict[str, Any] = state.setdefault("gone", {})
    failed: dict[str, Any] = state.setdefault("failed", {})
    given_up: dict[str, Any] = state.setdefault("given_up", {})
    done = gone.keys() | given_up.keys()
    listed = {r.key for r in refs}
    # Articles a past run listed but did not get (failed, capped, interrupted) are fetched by
    # key: a listing that stops at a page of known articles would never show them again.
    carried = [
        ArticleRef(urlname, key)
        for key in sorted(set(state.get("pending", [])) | set(failed))
        if key not in listed and key not in known and key not in done and is_article_key(key)
    ]
    new = [r for r in refs if r.key not in known and r.key not in done] + carried
    revisit = [r for r in refs if r.key in known and r.key not in done] if client.options.revalidate else []
    for r in refs:
        if r.key in gone:
            report.outcomes.append(
                FetchOutcome(
                    urlname, r.key, "gone", None, gone[r.key].get("http_status"), "gone", "gone earlier"
                )
            )
        elif r.key in given_up:
            why = given_up[r.key]
            reason = (
                f"given up after {why.get('failures')} failed runs ({why.get('error_type')}: "
                f"{why.get('reason')}); remove it from given_up in {STATE_FILE} to try again"
            )
            report.outcomes.append(FetchOutcome(urlname, r.key, "skipped", None, None, "given_up", reason))
        elif r.key in known and not client.options.revalidate:
            report.outcomes.append(
                FetchOutcome(urlname, r.key, "unchanged", article_path(raw_root, urlname, r.key))
            )
    log.info(
        "%s: %d listed, %d new (%d from earlier runs), %d to revalidate",
        urlname,
        len(refs),
        len(new),
        len(carried),
        len(revisit),
    )
    # A checkpoint before the downloads, so an interrupted run leaves its to-do list behind.
    pending = {r.key for r in new}
    state["pending"] = sorted(pending)
    write_state(folder, state)
    # New articles first: under the request cap they matter more than revalidating old ones.
    queue = new + revisit
    for i, ref in enumerate(queue):
        if client.requests_left <= 0:
            reason = f"request cap of {client.options.max_requests} reached"
            log.warning("%s: %s; %d articles left for the next run", urlname, reason, len(queue) - i)
            report.outcomes.extend(
                FetchOutcome(urlname, r.key, "skipped", error_type="request_cap", reason=reason)
                for r in queue[i:]
            )
            break
        outcome = _fetch_one(fetcher, client, urlname, ref.key, raw_root, log)
        if outcome.error_type == RobotsDisallowed.error_type and report.robots_url is None:
            report.robots_url = robots_url(client.url(f"/api/v3/notes/{ref.key}"))
        report.outcomes.append(outcome)
        stamp = client.clock.now().isoformat()
        if outcome.status == "gone":
            gone[ref.key] = {"at": stamp, "http_status": outcome.http_status}
        elif outcome.status == "failed":
            prev = failed.get(ref.key, {})
            failed[ref.key] = {
                "at": stamp,
                "error_type": outcome.error_type,
                "reason": outcome.reason,
                "http_status": outcome.http_status,
                "failures": int(prev.get("failures", 0)) + 1,
            }
            # Recorded with its reason under "failed" (retried from there next run), so no
            # longer a bare to-do of an interrupted run.
            pending.discard(ref.key)
            runs = failed[ref.key]["failures"]
            if outcome.error_type in PERMANENT_ERRORS and runs >= client.options.max_failed_runs:
                given_up[ref.key] = failed.pop(ref.key)
                log.warning(
                    "%s/%s failed %d runs in a row (%s); given up, not asked again",
                    urlname,
                    ref.key,
                    runs,
                    outcome.error_type,
                )
            continue
        elif outcome.status == "skipped":
            continue
        failed.pop(ref.key, None)
        pending.discard(ref.key)
    state["pending"] = sorted(pending)
    write_state(folder, state)
    return report


def _fetch_one(
    fetcher: Fetcher, client: NoteClient, urlname: str, key: str, raw_root: str, log: LogLike
) -> FetchOutcome:
    try:
        return fetcher(client, urlname, key, raw_root, log=log)
    except (RequestBudgetExhausted, RobotsDisallowed) as exc:
        # Not this article's fault: it waits for the next run (or for robots.txt to change).
        log.warning("%s/%s not fetched: %s", urlname, key, exc)
        return FetchOutcome(
            urlname, key, "skipped", None, exc.status, exc.error_type, exc.reason, exc.attempts
        )
    except FetchError as exc:
        log.error("could not fetch %s/%s: %s (%s)", urlname, key, exc, exc.error_type)
        return FetchOutcome(
            urlname, key, "failed", None, exc.status, exc.error_type, exc.reason, exc.attempts
        )
    except Exception as exc:  # a defect or an unforeseen answer: this article fails, the run goes on
        log.exception("could not fetch %s/%s", urlname, key)
        reason = f"{type(exc).__name__}: {exc}"
        return FetchOutcome(urlname, key, "failed", None, None, "internal_error", reason, 0)
