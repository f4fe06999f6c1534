"""Fetch faults that used to take a run down or waste it, against the fake note server.

Redirect loops and every other httpx error, keys that are not whole keys, servers that
drip bytes, nonsense Retry-After values, hosts that do not resolve, and robots.txt.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from etl.fetch import (
    FetchOptions,
    FetchOutcome,
    FetchReport,
    ManualClock,
    NoteClient,
    RetriesExhausted,
    article_path,
    check_urlname,
    fetch_account,
    fetch_article,
    is_article_key,
    list_articles,
    parse_retry_after,
)
from etl.fetch.client import MAX_REDIRECTS
from etl.fetch.retry import MAX_RETRY_AFTER

from .fake_note_server import FakeNote, Fault, articles_in, make_invalid_names_unresolvable

ACCOUNT = "digital_jp"
KEYS = ["n000000000a01", "n000000000a02", "n000000000a03"]


def body(n: int) -> str:
    return f"<p>記事{n}の本文です。ガバメントクラウドについて話しました。</p>"


@pytest.fixture
def note() -> Iterator[FakeNote]:
    with FakeNote(page_size=2) as server:
        for i, key in enumerate(KEYS, 1):
            server.add_article(ACCOUNT, key, f"記事{i}", body(i))
        yield server


def client(note: FakeNote, clock: ManualClock | None = None, **overrides: Any) -> NoteClient:
    values: dict[str, Any] = {
        "base_url": note.base_url,
        "delay_seconds": 0.01,
        "timeout_seconds": 5.0,
        "backoff_seconds": 0.5,
        "max_retries": 2,
        "listing": "api",
        **overrides,
    }
    return NoteClient(FetchOptions.from_mapping(values), clock=clock or ManualClock(), rng=random.Random(1))


def api(key: str) -> str:
    return f"/api/v3/notes/{key}"


def state_of(raw: Path) -> dict[str, Any]:
    return json.loads((raw / "note" / ACCOUNT / ".fetch-state.json").read_text(encoding="utf-8"))


# --- redirect loops and every other httpx error -------------------------------------------


def test_redirect_loop_is_one_articles_failure_with_a_reason(note: FakeNote, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    note.fail(api(KEYS[1]), Fault.redirect_loop(), always=True)
    with client(note) as c:
        report = fetch_account(c, ACCOUNT, str(raw))
        made = c.requests_made
    outcomes = {o.key: o for o in report.outcomes}
    loop = outcomes[KEYS[1]]
    assert (loop.status, loop.error_type, loop.attempts) == ("failed", "request_error", 1)
    assert loop.reason is not None and "TooManyRedirects" in loop.reason
    assert outcomes[KEYS[0]].status == outcomes[KEYS[2]].status == "new"
    # Not retried (the loop would loop again); every hop is a request, counted and capped.
    assert note.hits(api(KEYS[1])) == MAX_REDIRECTS + 1
    assert made == note.requests()
    # Recorded with its reason; no longer a bare to-do; the next run completes the same way.
    state = state_of(raw)
    assert state["failed"][KEYS[1]]["error_type"] == "request_error"
    assert KEYS[1] not in state["pending"]
    with client(note, max_failed_runs=2) as c:
        again = fetch_account(c, ACCOUNT, str(raw))
    assert {o.key: o.status for o in again.outcomes}[KEYS[1]] == "failed"
    assert "1 failed" in FetchReport([again]).line
    # The same permanent failure twice in a row (max_failed_runs): given up, not asked again.
    state = state_of(raw)
    assert KEYS[1] not in state["failed"] and state["given_up"][KEYS[1]]["failures"] == 2
    hits = note.hits(api(KEYS[1]))
    with client(note, max_failed_runs=2) as c:
        third = fetch_account(c, ACCOUNT, str(raw))
    skipped = {o.key: o for o in third.outcomes}[KEYS[1]]
    assert (skipped.status, skipped.error_type) == ("skipped", "given_up")
    assert "remove it from given_up" in (skipped.reason or "")
    assert note.hits(api(KEYS[1])) == hits


@pytest.mark.parametrize(
    "error",
    [
        httpx.TooManyRedirects("Exceeded maximum allowed redirects."),
        httpx.DecodingError("Error -3 while decompressing data"),
        httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."),
        httpx.LocalProtocolError("Illegal header value"),
        httpx.InvalidURL("Invalid non-printable ASCII character in URL"),
        httpx.StreamConsumed(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_httpx_error_is_an_article_failure(tmp_path: Path, error: Exception) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/v2/"):
            return httpx.Response(200, json={"data": {"contents": [{"key": KEYS[0]}], "isLastPage": True}})
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        raise error

    opts = FetchOptions(base_url="http://note.test", delay_seconds=0, listing="api")
    with NoteClient(opts, clock=ManualClock(), transport=httpx.MockTransport(answer)) as c:
        report = fetch_account(c, ACCOUNT, str(tmp_path))
    [outcome] = report.outcomes
    assert (outcome.status, outcome.error_type, outcome.attempts) == ("failed", "request_error", 1)
    assert outcome.reason is not None and outcome.reason.startswith(type(error).__name__)


def test_transient_failures_are_never_given_up(note: FakeNote, tmp_path: Path) -> None:
    note.fail(api(KEYS[0]), Fault.status_code(503), always=True)
    for _ in range(3):
        with client(note, max_failed_runs=1, max_retries=0) as c:
            report = fetch_account(c, ACCOUNT, str(tmp_path))
        assert {o.key: o.status for o in report.outcomes}[KEYS[0]] == "failed"
    assert state_of(tmp_path)["failed"][KEYS[0]]["failures"] == 3
    assert state_of(tmp_path)["given_up"] == {}


def test_an_unforeseen_exception_fails_the_article_not_the_run(note: FakeNote, tmp_path: Path) -> None:
    def fetcher(c: NoteClient, urlname: str, key: str, raw_root: str, **kw: Any) -> FetchOutcome:
        if key == KEYS[0]:
            raise RuntimeError("disk on fire")
        return fetch_article(c, urlname, key, raw_root, **kw)

    with client(note) as c:
        report = fetch_account(c, ACCOUNT, str(tmp_path), fetcher=fetcher)
    outcomes = {o.key: o for o in report.outcomes}
    assert outcomes[KEYS[0]].error_type == "internal_error"
    assert outcomes[KEYS[0]].reason == "RuntimeError: disk on fire"
    assert outcomes[KEYS[1]].status == outcomes[KEYS[2]].status == "new"


# --- keys and names are checked whole -----------------------------------------------------


def test_a_listed_key_with_a_trailing_newline_is_skipped(note: FakeNote, tmp_path: Path) -> None:
    note.add_article(ACCOUNT, "n000000000a09\n", "改行つき", body(9))
    with client(note) as c:
        refs = list_articles(c, ACCOUNT)
        report = fetch_account(c, ACCOUNT, str(tmp_path))
    assert [r.key for r in refs] == KEYS[::-1]
    assert sorted(o.status for o in report.outcomes) == ["new"] * 3
    assert list(articles_in(tmp_path / "note" / ACCOUNT)) == [f"{k}.json" for k in KEYS]
    assert not is_article_key("n000000000a09\n") and is_article_key("n000000000a09")
    with pytest.raises(ValueError, match="not a note article key"):
        article_path(str(tmp_path), ACCOUNT, "n000000000a09\n")
    with pytest.raises(ValueError, match="not a note account urlname"):
        check_urlname(ACCOUNT + "\n")


def test_a_state_file_key_with_a_newline_is_not_carried(note: FakeNote, tmp_path: Path) -> None:
    folder = tmp_path / "note" / ACCOUNT
    folder.mkdir(parents=True)
    state = {"pending": ["n000000000a09\n"], "failed": {"n000000000a08\n": {"failures": 1}}}
    (folder / ".fetch-state.json").write_text(json.dumps(state), encoding="utf-8")
    with client(note) as c:
        report = fetch_account(c, ACCOUNT, str(tmp_path))
    assert sorted(o.key for o in report.outcomes) == KEYS


# --- a total deadline per request ---------------------------------------------------------


@pytest.mark.parametrize("fault", [Fault.drip_body(0.3), Fault.drip_headers(0.3)], ids=["body", "headers"])
def test_a_dripping_server_cannot_outlast_the_timeout(note: FakeNote, tmp_path: Path, fault: Fault) -> None:
    # Every byte comes well within a 1 s read timeout; the article (~400 bytes) would take
    # two minutes. The whole request is what timeout_seconds bounds.
    note.fail(api(KEYS[0]), fault, always=True)
    started = time.monotonic()
    with client(note, timeout_seconds=1.0, max_retries=0) as c, pytest.raises(RetriesExhausted) as info:
        fetch_article(c, ACCOUNT, KEYS[0], str(tmp_path))
    elapsed = time.monotonic() - started
    assert "timeout after 1 s" in str(info.value)
    assert elapsed < 5.0, f"one request took {elapsed:.1f} s against timeout_seconds=1"
    assert not list((tmp_path / "note" / ACCOUNT).glob("*.json"))


def test_the_deadline_is_per_attempt_and_a_quick_answer_passes(note: FakeNote, tmp_path: Path) -> None:
    note.fail(api(KEYS[0]), Fault.drip_body(0.3))  # the first attempt only
    with client(note, timeout_seconds=1.0, max_retries=1) as c:
        outcome = fetch_article(c, ACCOUNT, KEYS[0], str(tmp_path))
    assert (outcome.status, outcome.attempts) == ("new", 2)


# --- Retry-After --------------------------------------------------------------------------

NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 7 ", 7.0),
        ("2.5", 2.5),
        ("0", 0.0),
        ("nan", None),
        ("NaN", None),
        ("inf", None),
        ("-5", None),
        ("1e3", None),
        ("", None),
        (None, None),
        ("soon", None),
        ("9" * 5000, MAX_RETRY_AFTER),
        ("Mon, 01 Jan 2024 00:01:00 GMT", 60.0),
        ("Sun, 31 Dec 2023 23:00:00 GMT", 0.0),  # in the past: now
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),
        ("Mon, 99 Foo 2024 00:00:00 GMT", None),
        ("Mon, 01 Jan 2024 00:00:30", 30.0),  # no zone: GMT
    ],
)
def test_retry_after_parser(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize("value", ["nan", "-5", "inf"])
def test_a_nonsense_retry_after_backs_off(note: FakeNote, tmp_path: Path, value: str) -> None:
    note.fail(api(KEYS[0]), Fault.status_code(429, retry_after=value))
    clock = ManualClock()
    with client(note, clock, backoff_seconds=0.5) as c:
        outcome = fetch_article(c, ACCOUNT, KEYS[0], str(tmp_path))
    assert (outcome.status, outcome.attempts) == ("new", 2)
    waits = [s for s in clock.sleeps if s != pytest.approx(0.01)]
    assert len(waits) == 1 and 0.25 <= waits[0] <= 0.5  # the backoff, not "at once"


def test_a_huge_retry_after_is_rate_limited_not_waited(note: FakeNote, tmp_path: Path) -> None:
    note.fail(api(KEYS[0]), Fault.status_code(429, retry_after="9" * 5000), always=True)
    clock = ManualClock()
    with client(note, clock) as c:
        report = fetch_account(c, ACCOUNT, str(tmp_path))
    failed = {o.key: o for o in report.outcomes}[KEYS[0]]
    assert failed.error_type == "rate_limited" and "1e+09 s" in (failed.reason or "")
    assert max(clock.sleeps) < 1.0


# --- a host that does not resolve ---------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    make_invalid_names_unresolvable(monkeypatch)


@pytest.mark.parametrize("listing", ["auto", "api", "rss", "both"])
def test_an_unresolvable_host_fails_fast_and_counts(offline: None, tmp_path: Path, listing: str) -> None:
    opts = FetchOptions(base_url="http://nonexistent.invalid", delay_seconds=0, listing=listing)  # type: ignore[arg-type]
    clock = ManualClock()
    with NoteClient(opts, clock=clock) as c:
        report = FetchReport([fetch_account(c, ACCOUNT, str(tmp_path))], c.requests_made)
    [account] = report.accounts
    assert account.listing_error_type == "name_resolution"
    assert "nonexistent.invalid" in (account.listing_error or "")
    # One attempt (robots.txt), no retry, no RSS fallback on the same host, no backoff.
    assert report.requests == 1 and clock.sleeps == []
    assert report.failures == 1 and "1 failed (1 listing)" in report.line
    assert "## Listing errors" in report.markdown()


# --- robots.txt ---------------------------------------------------------------------------


def test_robots_txt_is_read_once_and_blocks_what_it_disallows(note: FakeNote, tmp_path: Path) -> None:
    note.robots = f"User-agent: *\nDisallow: /api/v3/notes/{KEYS[1]}\n"
    with client(note) as c:
        report = FetchReport([fetch_account(c, ACCOUNT, str(tmp_path))], c.requests_made)
    outcomes = {o.key: o for o in report.accounts[0].outcomes}
    blocked = outcomes[KEYS[1]]
    assert (blocked.status, blocked.error_type) == ("skipped", "robots_disallowed")
    assert f"{note.base_url}/robots.txt" in (blocked.reason or "")
    assert note.hits(api(KEYS[1])) == 0
    assert outcomes[KEYS[0]].status == outcomes[KEYS[2]].status == "new"
    assert note.hits("/robots.txt") == 1  # once for the run, whatever the number of requests
    assert note.log[0].path == "/robots.txt"
    assert f"1 blocked by {note.base_url}/robots.txt" in report.line
    assert "## Blocked by robots.txt" in report.markdown()
    # Still to do: robots.txt may allow it in a later run.
    assert KEYS[1] in state_of(tmp_path)["pending"]
    note.robots = "User-agent: *\nAllow: /\n"
    with client(note) as c:
        again = fetch_account(c, ACCOUNT, str(tmp_path))
    assert {o.key: o.status for o in again.outcomes}[KEYS[1]] == "new"


def test_robots_txt_groups_for_note_etl_and_wildcards(note: FakeNote, tmp_path: Path) -> None:
    note.robots = "User-agent: *\nAllow: /\n\nUser-agent: note-etl\nDisallow: /api/v3/notes/*a03$\n"
    with client(note) as c:
        report = fetch_account(c, ACCOUNT, str(tmp_path))
    statuses = {o.key: (o.status, o.error_type) for o in report.outcomes}
    assert statuses[KEYS[2]] == ("skipped", "robots_disallowed")
    assert statuses[KEYS[0]] == statuses[KEYS[1]] == ("new", None)


def test_robots_txt_disallowing_everything_blocks_the_listing(note: FakeNote, tmp_path: Path) -> None:
    note.robots = "User-agent: *\nDisallow: /\n"
    with client(note, listing="auto") as c:
        report = FetchReport([fetch_account(c, ACCOUNT, str(tmp_path))], c.requests_made)
    [account] = report.accounts
    assert account.listing_error_type == "robots_disallowed"
    assert note.requests() == 1 and note.hits("/robots.txt") == 1  # neither the API nor the feed
    assert report.failures == 0 and report.robots_blocked == 1
    assert f"1 blocked by {note.base_url}/robots.txt" in report.line


def test_robots_txt_unreachable_means_nothing_this_run(note: FakeNote, tmp_path: Path) -> None:
    note.fail("/robots.txt", Fault.status_code(503), always=True)
    with client(note, max_retries=1) as c:
        report = fetch_account(c, ACCOUNT, str(tmp_path))
    assert report.listing_error_type == "robots_disallowed"
    assert "unreachable (HTTP 503)" in (report.listing_error or "")
    assert note.hits("/robots.txt") == 2 and note.requests() == 2  # retried once, then nothing


def test_robots_txt_crawl_delay_slows_the_run(note: FakeNote, tmp_path: Path) -> None:
    note.robots = "User-agent: *\nCrawl-delay: 3\n"
    clock = ManualClock()
    with client(note, clock) as c:
        fetch_account(c, ACCOUNT, str(tmp_path))
    assert clock.sleeps and all(s == pytest.approx(3.0) for s in clock.sleeps)


def test_the_deadline_covers_httpx_own_transports_and_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.fetch.deadline import is_bounded

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with NoteClient(FetchOptions(base_url="https://example.invalid", delay_seconds=0)) as c:
        http: Any = c._http
        assert is_bounded(http._transport)
        proxied = {str(p.pattern): t for p, t in http._mounts.items() if t is not None}
        assert "https://" in proxied and is_bounded(proxied["https://"])  # the proxy is kept


def test_fetch_summary_markdown_and_rows_are_inert(tmp_path: Path) -> None:
    """Reasons and keys come from servers: the fetch artifacts show them as text."""
    from etl.fetch import AccountReport, FetchOutcome, FetchReport
    from etl.markdown import cell

    account = AccountReport("acct")
    account.outcomes.append(
        FetchOutcome("acct", "n0123456789ab", "failed", reason="<script>x</script> | [a](javascript:1)")
    )
    text = FetchReport([account]).markdown()
    assert "<script>" not in text and "[a](javascript:" not in text
    assert "\\|" in text
    rows = [{k: cell(v) for k, v in row.items()} for row in FetchReport([account]).rows()]
    assert all("<script>" not in str(v) for row in rows for v in row.values())


def test_broken_sidecars_count_as_absent(tmp_path: Path) -> None:
    """Nested brackets, a FIFO or a huge file named like a sidecar never fail or block."""
    from etl.fetch import read_sidecar, sidecar_path

    deep = tmp_path / "n0000000000aa.json"
    Path(sidecar_path(str(deep))).write_text("[" * 100_000, encoding="utf-8")
    assert read_sidecar(str(deep)) is None
    fifo = tmp_path / "n0000000000bb.json"
    os.mkfifo(sidecar_path(str(fifo)))
    assert read_sidecar(str(fifo)) is None
    big = tmp_path / "n0000000000cc.json"
    Path(sidecar_path(str(big))).write_text('{"a": "' + "x" * (2 << 20) + '"}', encoding="utf-8")
    assert read_sidecar(str(big)) is None
