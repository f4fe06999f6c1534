"""The fetch library and the fetch_note flow against a fake note server on loopback.

Library tests use a :class:`~etl.fetch.ManualClock`: politeness delays, backoff and
Retry-After waits are recorded, not slept. The flow tests use the real clock with tiny
delays.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from etl.discovery import discover_inputs
from etl.fetch import (
    ArticleGone,
    FetchOptions,
    ManualClock,
    NoteClient,
    RetriesExhausted,
    fetch_account,
    fetch_article,
    list_articles,
    read_sidecar,
    sidecar_fetched_at,
)
from etl.parse_note_api import parse_note_api
from etl.settings import SettingsError, load_settings

from .fake_note_server import FakeNote, Fault, articles_in, make_invalid_names_unresolvable

ACCOUNT = "digital_jp"
KEYS = ["n000000000a01", "n000000000a02", "n000000000a03"]


def body(n: int, extra: str = "") -> str:
    return f"<p>記事{n}の本文です。ガバメントクラウドについて話しました。{extra}</p>"


@pytest.fixture
def note() -> Iterator[FakeNote]:
    with FakeNote(page_size=2) as server:
        for i, key in enumerate(KEYS, 1):
            server.add_article(ACCOUNT, key, f"記事{i}", body(i))
        yield server


def options(note: FakeNote, **overrides: object) -> FetchOptions:
    values: dict[str, object] = {
        "base_url": note.base_url,
        "delay_seconds": 0.01,
        "timeout_seconds": 5.0,
        "backoff_seconds": 0.5,
        "max_retries": 2,
        "listing": "api",
    }
    values.update(overrides)
    return FetchOptions.from_mapping(values)


def client(note: FakeNote, clock: ManualClock | None = None, **overrides: object) -> NoteClient:
    return NoteClient(options(note, **overrides), clock=clock or ManualClock(), rng=random.Random(1))


def account_folder(raw: Path) -> Path:
    return raw / "note" / ACCOUNT


def api(key: str) -> str:
    return f"/api/v3/notes/{key}"


# --- listing ------------------------------------------------------------------------------


def test_listing_api_pages_rss_and_fallback(note: FakeNote) -> None:
    with client(note) as c:
        assert [r.key for r in list_articles(c, ACCOUNT)] == KEYS[::-1]  # newest first, two pages
    assert note.hits(f"/api/v2/creators/{ACCOUNT}/contents") == 2
    with client(note, listing="rss") as c:
        refs = list_articles(c, ACCOUNT)
    assert [r.key for r in refs] == KEYS[::-1]
    assert refs[0].published_at is not None and refs[0].url is not None
    # auto: the listing API fails for good, the RSS feed answers.
    note.fail(f"/api/v2/creators/{ACCOUNT}/contents", Fault.status_code(500), always=True)
    with client(note, listing="auto", max_retries=1) as c:
        assert [r.key for r in list_articles(c, ACCOUNT)] == KEYS[::-1]


def test_listing_stops_at_a_page_of_known_articles(note: FakeNote) -> None:
    for i in range(4, 8):
        note.add_article(ACCOUNT, f"n000000000a0{i}", f"記事{i}", body(i))
    with client(note) as c:
        refs = list_articles(c, ACCOUNT, known={"n000000000a07", "n000000000a06"})
    # Page 1 (a07, a06) is all known: page 2 and later are not read.
    assert [r.key for r in refs] == ["n000000000a07", "n000000000a06"]
    assert note.hits(f"/api/v2/creators/{ACCOUNT}/contents") == 1


# --- new, unchanged, changed --------------------------------------------------------------


def test_new_articles_land_with_sidecars(note: FakeNote, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    clock = ManualClock()
    with client(note, clock) as c:
        report = fetch_account(c, ACCOUNT, str(raw))
    assert [o.status for o in report.outcomes] == ["new"] * 3
    folder = account_folder(raw)
    assert list(articles_in(folder)) == [f"{k}.json" for k in KEYS]
    for key in KEYS:
        data = (folder / f"{key}.json").read_bytes()
        meta = read_sidecar(str(folder / f"{key}.json"))
        assert meta is not None
        assert meta["sha256"] == hashlib.sha256(data).hexdigest()
        assert meta["http_status"] == 200 and meta["etag"] and meta["last_modified"]
        assert meta["source_url"] == f"{note.base_url}/api/v3/notes/{key}"
        fetched_at = sidecar_fetched_at(str(folder / f"{key}.json"))
        assert fetched_at is not None and clock.start < fetched_at <= clock.now()
        doc = parse_note_api(data.decode())  # what the main pipeline reads
        assert doc.meta.note_key == key and doc.meta.account == ACCOUNT
    # The main flow sees the articles only: not the sidecars, not the fetch state file.
    assert [Path(p).name for p in discover_inputs([str(raw)])] == [f"{k}.json" for k in KEYS]
    # Polite: the project's User-Agent, one request at a time, `delay_seconds` apart.
    assert all(h.headers["user-agent"].startswith("note-etl/") for h in note.log)
    assert clock.sleeps == [pytest.approx(0.01)] * (note.requests() - 1)


def test_unchanged_articles_are_not_downloaded_again(note: FakeNote, tmp_path: Path) -> None:
    raw = str(tmp_path / "raw")
    with client(note) as c:
        fetch_account(c, ACCOUNT, raw)
    folder = account_folder(tmp_path / "raw")
    files = {folder / n: (folder / n).stat().st_mtime_ns for n in articles_in(folder)}
    with client(note, stop_at_known=False) as c:
        report = fetch_account(c, ACCOUNT, raw)
    assert [o.status for o in report.outcomes] == ["unchanged"] * 3
    for key in KEYS:
        assert note.hits(api(key), 200) == 1  # the body was sent once
        assert note.hits(api(key), 304) == 1  # then only revalidated
    assert all(
        h.headers.get("if-none-match") for h in note.log if h.path.startswith("/api/v3") and h.status == 304
    )
    assert {p: p.stat().st_mtime_ns for p in files} == files
    # Without revalidation, known articles cost no request at all.
    before = note.requests()
    with client(note, revalidate=False) as c:
        report = fetch_account(c, ACCOUNT, raw)
    assert [o.status for o in report.outcomes] == ["unchanged"] * 2
    # robots.txt (read once per run) and the first listing page: all known, so the last.
    assert note.requests() - before == 2


def test_changed_article_is_downloaded_and_replaced(note: FakeNote, tmp_path: Path) -> None:
    raw = str(tmp_path / "raw")
    with client(note) as c:
        fetch_account(c, ACCOUNT, raw)
    path = account_folder(tmp_path / "raw") / f"{KEYS[1]}.json"
    old_meta = read_sidecar(str(path))
    note.change(KEYS[1], body(2, "追記しました。"))
    clock = ManualClock()
    clock.elapsed = 3600.0
    with client(note, clock, stop_at_known=False) as c:
        report = fetch_account(c, ACCOUNT, raw)
    assert {o.key: o.status for o in report.outcomes} == {
        KEYS[0]: "unchanged",
        KEYS[1]: "changed",
        KEYS[2]: "unchanged",
    }
    assert "追記しました" in path.read_text(encoding="utf-8")
    meta = read_sidecar(str(path))
    assert meta is not None and old_meta is not None
    assert meta["sha256"] != old_meta["sha256"] and meta["fetched_at"] != old_meta["fetched_at"]


# --- faults -------------------------------------------------------------------------------


def test_429_retry_after_is_honoured(note: FakeNote, tmp_path: Path) -> None:
    note.fail(api(KEYS[0]), Fault.status_code(429, retry_after=7))
    clock = ManualClock()
    with client(note, clock) as c:
        outcome = fetch_article(c, ACCOUNT, KEYS[0], str(tmp_path))
    assert outcome.status == "new" and outcome.attempts == 2
    assert 7.0 in clock.sleeps  # the server's wait, not our backoff
    assert note.hits(api(KEYS[0]), 429) == 1 and note.hits(api(KEYS[0]), 200) == 1
    # A Retry-After beyond what we are willing to wait fails the article for this run.
    note.fail(api(KEYS[1]), Fault.status_code(429, retry_after=3600))
    with client(note) as c:
        report = fetch_account(c, ACCOUNT, str(tmp_path / "other"))
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert [(o.key, o.error_type) for o in failed] == [(KEYS[1], "rate_limited")]


def test_500s_are_retried_with_backoff_then_recorded(note: FakeNote, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    note.fail(api(KEYS[1]), Fault.status_code(500), always=True)
    clock = ManualClock()
    with client(note, clock, max_retries=3, backoff_seconds=1.0) as c:
        report = fetch_account(c, ACCOUNT, str(raw))
    outcome = {o.key: o for o in report.outcomes}[KEYS[1]]
    assert (outcome.status, outcome.error_type, outcome.attempts) == ("failed", "retries_exhausted", 4)
    assert note.hits(api(KEYS[1]), 500) == 4
    backoffs = [s for s in clock.sleeps if s > 0.01]
    assert len(backoffs) == 3
    for n, wait in enumerate(backoffs, 1):  # 1, 2, 4 s ceilings, equal jitter
        assert 2 ** (n - 1) / 2 <= wait <= 2 ** (n - 1)
    # The others landed; the failure is recorded for the next run, and no file was written.
    assert sorted(articles_in(account_folder(raw))) == [f"{KEYS[0]}.json", f"{KEYS[2]}.json"]
    state = json.loads((account_folder(raw) / ".fetch-state.json").read_text())
    assert state["failed"][KEYS[1]]["error_type"] == "retries_exhausted"
    assert state["failed"][KEYS[1]]["http_status"] == 500
    # Next run, the server has recovered: the article lands and the failure is cleared.
    note.always.clear()
    with client(note) as c:
        report = fetch_account(c, ACCOUNT, str(raw))
    assert {o.key: o.status for o in report.outcomes}[KEYS[1]] == "new"
    state = json.loads((account_folder(raw) / ".fetch-state.json").read_text())
    assert state["failed"] == {}


def test_timeouts_are_retried(note: FakeNote, tmp_path: Path) -> None:
    note.fail(api(KEYS[0]), Fault.slow(1.0))
    with client(note, timeout_seconds=0.2) as c:
        outcome = fetch_article(c, ACCOUNT, KEYS[0], str(tmp_path))
    assert outcome.status == "new" and outcome.attempts == 2


@pytest.mark.parametrize(
    "fault", [Fault.truncate(), Fault.bad_json()], ids=["cut-connection", "invalid-json"]
)
def test_truncated_body_leaves_no_file(note: FakeNote, tmp_path: Path, fault: Fault) -> None:
    raw = tmp_path / "raw"
    note.fail(api(KEYS[0]), fault, always=True)
    with client(note, max_retries=1) as c:
        report = fetch_account(c, ACCOUNT, str(raw))
    outcome = {o.key: o for o in report.outcomes}[KEYS[0]]
    assert outcome.status == "failed"
    assert outcome.error_type == ("retries_exhausted" if fault.kind == "truncate" else "invalid_response")
    folder = account_folder(raw)
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.startswith(KEYS[0])]  # no article, no sidecar
    assert not [n for n in names if n.endswith(".tmp")]  # no temporary file left behind
    # A changed article whose new body arrives truncated keeps its previous version.
    note.always.clear()
    with client(note) as c:
        fetch_account(c, ACCOUNT, str(raw))
    good = (folder / f"{KEYS[0]}.json").read_bytes()
    note.change(KEYS[0], body(1, "変更"))
    note.fail(api(KEYS[0]), fault, always=True)
    with client(note, max_retries=0) as c:
        fetch_account(c, ACCOUNT, str(raw))
    assert (folder / f"{KEYS[0]}.json").read_bytes() == good


def test_404_is_gone_not_retried_and_not_asked_again(note: FakeNote, tmp_path: Path) -> None:
    raw = str(tmp_path / "raw")
    note.fail(api(KEYS[2]), Fault.status_code(404), always=True)
    with client(note) as c:
        report = fetch_account(c, ACCOUNT, raw)
    assert {o.key: o.status for o in report.outcomes}[KEYS[2]] == "gone"
    assert note.hits(api(KEYS[2])) == 1
    with client(note) as c:
        report = fetch_account(c, ACCOUNT, raw)
    assert {o.key: o.status for o in report.outcomes}[KEYS[2]] == "gone"
    assert note.hits(api(KEYS[2])) == 1
    with client(note) as c, pytest.raises(ArticleGone):
        c.get(api(KEYS[2]))


def test_request_cap_holds(note: FakeNote, tmp_path: Path) -> None:
    raw = str(tmp_path / "raw")
    for i in range(4, 9):
        note.add_article(ACCOUNT, f"n000000000a0{i}", f"記事{i}", body(i))
    note.page_size = 10
    note.fail(api("n000000000a08"), Fault.status_code(503), Fault.status_code(503))
    with client(note, max_requests=5) as c:
        report = fetch_account(c, ACCOUNT, raw)
        assert c.requests_made == 5
    assert note.requests() == 5  # robots.txt + 1 listing page + 3 attempts, whatever failed
    assert note.hits("/robots.txt") == 1
    statuses = [o.status for o in report.outcomes]
    assert statuses.count("skipped") == 7 and statuses.count("new") == 1
    # The next run picks up where this one stopped.
    with client(note, max_requests=100) as c:
        report = fetch_account(c, ACCOUNT, raw)
    assert sorted(o.status for o in report.outcomes) == ["new"] * 7 + ["unchanged"]


def test_retries_exhausted_carries_context(note: FakeNote) -> None:
    note.fail("/x", Fault.status_code(502), always=True)
    with client(note, max_retries=1) as c, pytest.raises(RetriesExhausted) as info:
        c.get("/x")
    assert info.value.status == 502 and info.value.attempts == 2
    assert info.value.url == f"{note.base_url}/x" and "HTTP 502" in str(info.value)


def test_options_refuse_impolite_settings_against_note() -> None:
    with pytest.raises(ValueError, match=r"at least 1\.0"):
        FetchOptions(delay_seconds=0.1)
    with pytest.raises(ValueError, match="must be a float"):
        FetchOptions.from_mapping({"delay_seconds": "fast"})
    assert FetchOptions().user_agent.startswith("note-etl/")


# --- settings -----------------------------------------------------------------------------


def test_settings_file_of_the_project_loads() -> None:
    settings = load_settings(Path(__file__).resolve().parents[1] / "config" / "pipeline.yaml")
    assert settings.accounts and settings.fetch.delay_seconds >= 1
    # No taxonomy key: the shipped taxonomy (config/topics.yaml).
    assert settings.warehouse.endswith("/warehouse") and settings.taxonomy is None
    assert set(settings.schedules) == {"fetch-and-process", "process-raw"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accounts: digital_jp\n", "accounts: must be a list"),
        ("accounts: ['../etc']\n", "not a note account urlname"),
        ("fetch: {delay_seconds: 0.2}\n", "fetch: fetch.delay_seconds must be at least 1.0"),
        ("deployments: {process-raw: {cron: '0 7 * *'}}\n", "deployments.process-raw: not a cron expression"),
        ("deployments: {process-raw: {interval_seconds: 60, cron: '0 7 * * *'}}\n", "exactly one of"),
        ("deployments: {nightly: {cron: '0 7 * * *'}}\n", "deployments.nightly: unknown deployment"),
        ("deployments: {process-raw: {interval_seconds: 60, timezone: Mars/Base}}\n", "unknown time zone"),
        ("accounts: [a\n", "invalid YAML at line"),
    ],
)
def test_settings_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


# --- the Prefect flow ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefect_backend() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


def test_fetch_flow_records_retries_and_publishes_a_summary(
    prefect_backend: None, note: FakeNote, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from etl.flows.fetch_note import fetch_note

    raw = tmp_path / "raw"
    note.fail(api(KEYS[1]), Fault.status_code(500), always=True)
    note.fail(api(KEYS[2]), Fault.status_code(429, retry_after=0))
    opts = options(note, backoff_seconds=0.01, max_retries=1, task_retries=1, task_retry_delay_seconds=0)
    state = fetch_note(accounts=[ACCOUNT], raw=str(raw), options=opts.to_dict(), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert (result["new"], result["failed"], result["listed"]) == (2, 1, 3)
    # The client tried twice (one retry), then Prefect retried the task once: 4 requests.
    assert note.hits(api(KEYS[1]), 500) == 4
    assert sorted(articles_in(account_folder(raw))) == [f"{KEYS[0]}.json", f"{KEYS[2]}.json"]

    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as prefect:
        task_runs = prefect.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
        artifacts = prefect.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    names = {t.name: t for t in task_runs}
    assert {f"list-articles-{ACCOUNT}", f"fetch-article-{ACCOUNT}-{KEYS[0]}"} <= set(names)
    failing = names[f"fetch-article-{ACCOUNT}-{KEYS[1]}"]
    assert failing.run_count == 2 and failing.state is not None and failing.state.is_failed()
    by_key = {a.key: a for a in artifacts}
    summary = str(by_key["note-fetch-summary"].data)
    assert f"{ACCOUNT}/{KEYS[1]} | failed | HTTP 500 on all 2 attempts" in summary
    assert by_key["note-fetch-articles"].type == "table"


def test_fetch_flow_completes_when_an_article_redirects_for_ever(
    prefect_backend: None, note: FakeNote, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from etl.flows.fetch_note import fetch_note

    raw = tmp_path / "raw"
    note.fail(api(KEYS[1]), Fault.redirect_loop(), always=True)
    opts = options(note, task_retry_delay_seconds=0)
    state = fetch_note(accounts=[ACCOUNT], raw=str(raw), options=opts.to_dict(), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert (result["new"], result["failed"], result["listed"]) == (2, 1, 3)
    # Neither the client nor Prefect retries a redirect loop: one chain of hops.
    assert note.hits(api(KEYS[1])) == 6
    saved = json.loads((account_folder(raw) / ".fetch-state.json").read_text())
    assert saved["failed"][KEYS[1]]["error_type"] == "request_error"
    assert KEYS[1] not in saved["pending"]
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as prefect:
        artifacts = prefect.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    summary = str({a.key: a for a in artifacts}["note-fetch-summary"].data)
    assert f"{ACCOUNT}/{KEYS[1]} | failed | TooManyRedirects" in summary


def test_offline_fetch_flow_fails_fast_and_says_so(
    prefect_backend: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.flows.fetch_note import fetch_note

    make_invalid_names_unresolvable(monkeypatch)
    opts = {"base_url": "http://nonexistent.invalid", "delay_seconds": 0.01, "task_retry_delay_seconds": 0}
    result = fetch_note(accounts=[ACCOUNT, "other_account"], raw=str(tmp_path / "raw"), options=opts)
    # One request per account (its robots.txt is not cached when the host does not resolve),
    # no retries by the client or by Prefect, no fallback to the feed on the same host.
    assert result["requests"] == 2
    assert (result["failed"], result["failed_listings"], result["failed_articles"]) == (2, 2, 0)
    assert set(result["listing_errors"]) == {ACCOUNT, "other_account"}
    assert all("name_resolution" in e for e in result["listing_errors"].values())


def test_fetch_and_process_lands_articles_in_the_warehouse(
    prefect_backend: None, note: FakeNote, tmp_path: Path
) -> None:
    import pandas as pd

    from etl.flows.deployments import fetch_and_process

    raw, wh = tmp_path / "raw", tmp_path / "wh"
    opts = options(note).to_dict()
    first = fetch_and_process(accounts=[ACCOUNT], raw=str(raw), warehouse=str(wh), fetch=opts)
    assert first["fetch"]["new"] == 3 and first["process"]["articles_written"] == 3
    articles = pd.read_parquet(wh / "articles").set_index("note_key")
    assert sorted(articles.index) == KEYS
    assert (articles.source_format == "note_api").all() and (articles.account == ACCOUNT).all()
    # Nothing new on note: nothing downloaded, nothing reprocessed.
    again = fetch_and_process(accounts=[ACCOUNT], raw=str(raw), warehouse=str(wh), fetch=opts)
    assert (again["fetch"]["new"], again["fetch"]["changed"], again["fetch"]["failed"]) == (0, 0, 0)
    assert sum(note.hits(api(k), 200) for k in KEYS) == 3
    assert again["process"]["articles_unchanged"] == 3
    assert again["process"]["articles_written"] == 0
