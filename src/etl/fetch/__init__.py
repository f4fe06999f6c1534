"""Fetch a note account's articles into ``raw/``: list, download, verify, write atomically.

Layout of what lands in ``raw/`` (the main flow reads the ``.json`` files; it skips the
sidecars and hidden files)::

    raw/note/<urlname>/<key>.json          the v3 API answer, byte for byte
    raw/note/<urlname>/<key>.meta.json     sidecar: source URL, fetched_at, HTTP status,
                                           ETag / Last-Modified, sha256 of the .json
    raw/note/<urlname>/.fetch-state.json   articles gone (404), failing, or still to fetch

Politeness and robustness live in :class:`NoteClient`: one request at a time with a
minimum delay between requests, a User-Agent naming the project, conditional requests,
retries with exponential backoff and jitter on timeouts / 429 (honouring Retry-After) /
5xx, no retry on 404, and a per-run cap on requests. The clock and the random source are
injectable, so tests of backoff and Retry-After do not sleep.

This module is a plain library: the Prefect flow in ``flows/fetch_note.py`` wraps
:func:`list_articles` and :func:`fetch_article` in tasks and passes them to
:func:`fetch_account`.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Final, Literal, Protocol

import httpx

from etl import __version__
from etl.errors import NoteEtlError

__all__ = [
    "DEFAULT_USER_AGENT",
    "AccountReport",
    "ArticleGone",
    "ArticleRef",
    "Clock",
    "FetchError",
    "FetchOptions",
    "FetchOutcome",
    "FetchReport",
    "HttpResult",
    "InvalidResponse",
    "LogLike",
    "ManualClock",
    "NoteClient",
    "RateLimited",
    "RequestBudgetExhausted",
    "RetriesExhausted",
    "SystemClock",
    "account_dir",
    "article_path",
    "fetch_account",
    "fetch_article",
    "list_articles",
    "read_sidecar",
    "sidecar_fetched_at",
    "sidecar_path",
]

DEFAULT_BASE_URL: Final = "https://note.com"
DEFAULT_USER_AGENT: Final = f"note-etl/{__version__} (note article ETL; polite fetcher; python-httpx)"
STATE_FILE: Final = ".fetch-state.json"
SIDECAR_SUFFIX: Final = ".meta.json"
# note urlnames are short ASCII ids and article keys are "n" + hex; anything else is refused
# before it becomes part of a file path.
_URLNAME_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEY_RE: Final = re.compile(r"^n[0-9a-z]{4,40}$")
_KEY_IN_URL_RE: Final = re.compile(r"/n/(n[0-9a-z]{4,40})(?:[/?#]|$)")
_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
_GONE_STATUSES: Final = frozenset({404, 410})

Listing = Literal["auto", "api", "rss", "both"]
Status = Literal["new", "changed", "unchanged", "gone", "failed", "skipped"]
LogLike = logging.Logger | logging.LoggerAdapter[Any]

_log = logging.getLogger(__name__)


# --- errors -------------------------------------------------------------------------------


class FetchError(NoteEtlError):
    """A request to note that did not give a usable answer.

    ``error_type`` is the stable code shown in reports and the fetch state file.

    >>> str(FetchError("HTTP 403", url="https://note.com/api/v3/notes/n1", status=403))
    'HTTP 403 (https://note.com/api/v3/notes/n1)'
    """

    error_type = "fetch_error"

    def __init__(self, reason: str, *, url: str | None = None, status: int | None = None, attempts: int = 1):
        self.reason = reason
        self.url = url
        self.status = status
        self.attempts = attempts
        super().__init__(f"{reason} ({url})" if url else reason)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments: the default pickling would lose them (Prefect pickles
        # exceptions into task states).
        return (_rebuild_error, (type(self), self.reason, self.url, self.status, self.attempts))


def _rebuild_error(
    cls: type[FetchError], reason: str, url: str | None, status: int | None, attempts: int
) -> FetchError:
    return cls(reason, url=url, status=status, attempts=attempts)


class ArticleGone(FetchError):
    """404 / 410: the article does not exist (any more). Never retried."""

    error_type = "gone"


class InvalidResponse(FetchError):
    """A 200 whose body is not what was asked for: truncated or invalid JSON, wrong shape."""

    error_type = "invalid_response"


class RetriesExhausted(FetchError):
    """Timeouts, connection errors, 429 or 5xx on every attempt."""

    error_type = "retries_exhausted"


class RateLimited(FetchError):
    """429 with a Retry-After longer than the configured maximum wait."""

    error_type = "rate_limited"


class RequestBudgetExhausted(FetchError):
    """The per-run cap on requests is reached; the rest waits for the next run."""

    error_type = "request_cap"


# --- options and clock --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchOptions:
    """How to talk to note, validated when built.

    The defaults are deliberately slow: one request at a time, at least 1 s apart.

    >>> FetchOptions(base_url="http://127.0.0.1:8000", delay_seconds=0.01).delay_seconds
    0.01
    >>> FetchOptions(delay_seconds=0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: fetch.delay_seconds must be at least 1.0 against https://note.com (got 0.5); ...
    """

    base_url: str = DEFAULT_BASE_URL
    #: api: the listing API (all pages); rss: the feed (latest ~25); both: merged;
    #: auto: the API, falling back to the feed when the API listing fails.
    listing: Listing = "auto"
    delay_seconds: float = 1.0
    timeout_seconds: float = 20.0
    max_requests: int = 300
    max_retries: int = 4
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_retry_after_seconds: float = 300.0
    max_pages: int = 10
    #: Stop paging the listing at the first page whose articles are all known already.
    stop_at_known: bool = True
    #: Revalidate known articles with a conditional request (304 when unchanged).
    revalidate: bool = True
    max_bytes: int = 20 * 1024 * 1024
    user_agent: str = DEFAULT_USER_AGENT
    #: Prefect-level retries of one fetch-article task, after the client's own retries.
    task_retries: int = 1
    task_retry_delay_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"fetch.base_url must be an http(s) URL, got {self.base_url!r}")
        if self.listing not in ("auto", "api", "rss", "both"):
            raise ValueError(f"fetch.listing must be auto, api, rss or both, got {self.listing!r}")
        for name in ("delay_seconds", "backoff_seconds", "max_backoff_seconds", "max_retry_after_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"fetch.{name} must not be negative, got {getattr(self, name)}")
        if self.task_retry_delay_seconds < 0:
            raise ValueError("fetch.task_retry_delay_seconds must not be negative")
        for name in ("timeout_seconds", "max_requests", "max_pages", "max_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"fetch.{name} must be positive, got {getattr(self, name)}")
        if self.max_retries < 0 or self.task_retries < 0:
            raise ValueError("fetch.max_retries and fetch.task_retries must not be negative")
        if not self.user_agent.strip():
            raise ValueError("fetch.user_agent must name the project")
        # Politeness towards the real site is not optional; a fake server on loopback
        # (the tests) may go as fast as it likes.
        host = httpx.URL(self.base_url).host
        if host.endswith("note.com") and self.delay_seconds < 1.0:
            raise ValueError(
                f"fetch.delay_seconds must be at least 1.0 against {self.base_url} "
                f"(got {self.delay_seconds}); a lower delay is only for test servers"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FetchOptions:
        """Options from a plain mapping (a config section or flow parameter); unknown keys are errors.

        >>> FetchOptions.from_mapping({"max_pages": 2}).max_pages
        2
        >>> FetchOptions.from_mapping({"max_page": 2})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown fetch option 'max_page'; known options: backoff_seconds, ...
        """
        known = {f.name for f in fields(cls)}
        defaults = cls()
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown fetch option {key!r}; known options: {', '.join(sorted(known))}")
            # YAML and JSON give plain scalars: check them here, so a typo such as
            # `delay_seconds: 1,5` is named rather than failing later in a comparison.
            expected = type(getattr(defaults, key))
            ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
            if not ok or (isinstance(value, bool) and expected is not bool):
                raise ValueError(f"fetch.{key} must be a {expected.__name__}, got {value!r}")
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        """Plain values, e.g. for a Prefect flow parameter.

        >>> FetchOptions().to_dict()["listing"]
        'auto'
        """
        return asdict(self)


class Clock(Protocol):
    """Time as the client sees it: injectable so tests never really sleep."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock.

    >>> SystemClock().now().tzinfo is not None
    True
    """

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when slept; it records every sleep (for tests).

    >>> c = ManualClock(); c.sleep(2.5); c.monotonic(), c.sleeps
    (2.5, [2.5])
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime(2024, 1, 1, tzinfo=UTC)
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += max(seconds, 0.0)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)


# --- HTTP ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpResult:
    """One complete HTTP answer (the body was read in full)."""

    url: str
    status_code: int
    headers: Mapping[str, str]
    content: bytes
    attempts: int


class NoteClient:
    """A polite HTTP client for note: delay, User-Agent, retries with backoff, request cap.

    ``transport`` replaces the network (``httpx.MockTransport`` in examples and tests).

    >>> def answer(request: httpx.Request) -> httpx.Response:
    ...     return httpx.Response(200, json={"ok": True})
    >>> opts = FetchOptions(base_url="http://test", delay_seconds=0.0, max_requests=5)
    >>> with NoteClient(opts, clock=ManualClock(), transport=httpx.MockTransport(answer)) as c:
    ...     c.get("/api/ping").status_code, c.requests_made
    (200, 1)
    """

    def __init__(
        self,
        options: FetchOptions | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
        log: LogLike | None = None,
    ) -> None:
        self.options = options or FetchOptions()
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.log: LogLike = log or _log
        self.requests_made = 0
        self._last_request_end: float | None = None
        self._http = httpx.Client(
            base_url=self.options.base_url,
            headers={"User-Agent": self.options.user_agent, "Accept": "application/json, */*;q=0.5"},
            timeout=httpx.Timeout(self.options.timeout_seconds),
            follow_redirects=True,
            transport=transport,
        )

    def __enter__(self) -> NoteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    @property
    def requests_left(self) -> int:
        """How many requests the per-run cap still allows."""
        return max(self.options.max_requests - self.requests_made, 0)

    def url(self, path: str) -> str:
        """The absolute URL of a path on the configured base URL.

        >>> NoteClient(FetchOptions(base_url="http://127.0.0.1:8000", delay_seconds=0)).url("/a/rss")
        'http://127.0.0.1:8000/a/rss'
        """
        return str(self._http.build_request("GET", path).url)

    def get(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        log: LogLike | None = None,
    ) -> HttpResult:
        """GET with politeness and retries; returns 2xx and 304 answers.

        Raises :class:`ArticleGone` on 404/410 (no retry), :class:`RetriesExhausted` when
        every attempt timed out or got 429/5xx, :class:`RateLimited` when Retry-After asks
        for more than ``max_retry_after_seconds``, :class:`RequestBudgetExhausted` when the
        cap is reached, and :class:`FetchError` on any other status.
        """
        log = log or self.log
        opts = self.options
        url = self.url(path) if not params else str(self._http.build_request("GET", path, params=params).url)
        attempt = 0
        while True:
            if self.requests_left <= 0:
                raise RequestBudgetExhausted(
                    f"request cap of {opts.max_requests} reached", url=url, attempts=attempt
                )
            self._wait_politely()
            attempt += 1
            self.requests_made += 1
            retry_after: float | None = None
            status: int | None = None
            try:
                result = self._send(path, headers, params, attempt)
            except httpx.TimeoutException as exc:
                reason = f"timeout after {opts.timeout_seconds:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                # Includes a body cut short of its Content-Length (RemoteProtocolError).
                reason = f"{type(exc).__name__}: {exc}"
            else:
                status = result.status_code
                if status in _GONE_STATUSES:
                    raise ArticleGone(f"HTTP {status}", url=url, status=status, attempts=attempt)
                if status not in _RETRY_STATUSES:
                    if status == 304 or 200 <= status < 300:
                        return result
                    raise FetchError(f"HTTP {status}", url=url, status=status, attempts=attempt)
                reason = f"HTTP {status}"
                if status == 429:
                    retry_after = parse_retry_after(result.headers.get("retry-after"), self.clock.now())
            finally:
                self._last_request_end = self.clock.monotonic()

            if attempt > opts.max_retries:
                raise RetriesExhausted(
                    f"{reason} on all {attempt} attempts", url=url, status=status, attempts=attempt
                )
            if retry_after is not None and retry_after > opts.max_retry_after_seconds:
                raise RateLimited(
                    f"HTTP 429 with Retry-After {retry_after:g} s, more than the "
                    f"{opts.max_retry_after_seconds:g} s we wait",
                    url=url,
                    status=429,
                    attempts=attempt,
                )
            wait = retry_after if retry_after is not None else self.backoff(attempt)
            if self.requests_left <= 0:
                raise RequestBudgetExhausted(
                    f"request cap of {opts.max_requests} reached while retrying after {reason}",
                    url=url,
                    status=status,
                    attempts=attempt,
                )
            log.warning(
                "retry %d/%d of %s in %.2f s after %s%s",
                attempt,
                opts.max_retries,
                url,
                wait,
                reason,
                " (Retry-After)" if retry_after is not None else "",
            )
            self.clock.sleep(wait)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1-based): exponential, capped, jittered.

        "Equal jitter": half the exponential delay is fixed, half random, so clients that
        failed together do not retry together, yet never retry immediately.

        >>> c = NoteClient(FetchOptions(backoff_seconds=1, max_backoff_seconds=8), rng=random.Random(0))
        >>> [0.5 <= c.backoff(1) <= 1, 2 <= c.backoff(3) <= 4, 4 <= c.backoff(10) <= 8]
        [True, True, True]
        """
        opts = self.options
        ceiling = min(opts.max_backoff_seconds, opts.backoff_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def _wait_politely(self) -> None:
        if self._last_request_end is None:
            return
        wait = self.options.delay_seconds - (self.clock.monotonic() - self._last_request_end)
        if wait > 0:
            self.clock.sleep(wait)

    def _send(
        self,
        path: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str | int] | None,
        attempt: int,
    ) -> HttpResult:
        limit = self.options.max_bytes
        with self._http.stream("GET", path, headers=dict(headers or {}), params=params) as resp:
            chunks: list[bytes] = []
            size = 0
            # Read in full here, so a body cut short raises before anything is written.
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise InvalidResponse(
                        f"response larger than max_bytes={limit}", url=str(resp.url), status=resp.status_code
                    )
                chunks.append(chunk)
            return HttpResult(
                url=str(resp.url),
                status_code=resp.status_code,
                headers={k.lower(): v for k, v in resp.headers.items()},
                content=b"".join(chunks),
                attempts=attempt,
            )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or ``None``.

    >>> now = datetime(2024, 1, 1, tzinfo=UTC)
    >>> parse_retry_after("3", now), parse_retry_after("Mon, 01 Jan 2024 00:00:10 GMT", now)
    (3.0, 10.0)
    >>> parse_retry_after("soon", now) is None
    True
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


# --- listing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """An article named by an account's listing."""

    urlname: str
    key: str
    url: str | None = None
    title: str | None = None
    published_at: str | None = None


def list_articles(
    client: NoteClient,
    urlname: str,
    *,
    known: Iterable[str] = (),
    log: LogLike | None = None,
) -> list[ArticleRef]:
    """The articles of one account, newest first, from the listing API and/or the RSS feed.

    ``known`` keys let the API listing stop at the first page holding nothing new
    (``stop_at_known``): pages are newest first, so the rest is older and known.

    >>> def answer(request: httpx.Request) -> httpx.Response:
    ...     page = {"contents": [{"key": "n0123456789ab", "name": "題"}], "isLastPage": True}
    ...     return httpx.Response(200, json={"data": page})
    >>> opts = FetchOptions(base_url="http://test", delay_seconds=0, listing="api")
    >>> client = NoteClient(opts, clock=ManualClock(), transport=httpx.MockTransport(answer))
    >>> [r.key for r in list_articles(client, "digital_jp")]
    ['n0123456789ab']
    """
    check_urlname(urlname)
    log = log or client.log
    mode = client.options.listing
    refs: list[ArticleRef] = []
    if mode in ("api", "both", "auto"):
        try:
            refs.extend(_list_api(client, urlname, set(known), log))
        except RequestBudgetExhausted:
            raise
        except FetchError as exc:
            if mode != "auto":
                raise
            log.warning("listing API failed for %s (%s); falling back to the RSS feed", urlname, exc)
            mode = "rss"
    if mode in ("rss", "both"):
        refs.extend(_list_rss(client, urlname, log))
    unique: dict[str, ArticleRef] = {}
    for ref in refs:
        unique.setdefault(ref.key, ref)
    return list(unique.values())


def _list_api(client: NoteClient, urlname: str, known: set[str], log: LogLike) -> list[ArticleRef]:
    path = f"/api/v2/creators/{urlname}/contents"
    refs: list[ArticleRef] = []
    for page in range(1, client.options.max_pages + 1):
        res = client.get(path, params={"kind": "note", "page": page}, log=log)
        payload = _json_object(res)
        data = payload.get("data")
        contents = data.get("contents") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(contents, list):
            raise InvalidResponse("listing answer has no data.contents list", url=res.url, status=200)
        page_refs = []
        for item in contents:
            if not isinstance(item, dict):
                continue
            key = item.get("key")
            if not isinstance(key, str) or not _KEY_RE.match(key):
                log.warning("listing of %s names an invalid article key %r; skipped", urlname, key)
                continue
            page_refs.append(
                ArticleRef(
                    urlname=urlname,
                    key=key,
                    url=_opt_str(item.get("noteUrl")),
                    title=_opt_str(item.get("name")),
                    published_at=_opt_str(item.get("publishAt")),
                )
            )
        refs.extend(page_refs)
        if data.get("isLastPage", True) or not contents:
            break
        if client.options.stop_at_known and page_refs and all(r.key in known for r in page_refs):
            log.info("listing of %s: page %d holds only known articles; older pages not read", urlname, page)
            break
    return refs


def _list_rss(client: NoteClient, urlname: str, log: LogLike) -> list[ArticleRef]:
    from lxml import etree

    res = client.get(f"/{urlname}/rss", headers={"Accept": "application/rss+xml, application/xml"}, log=log)
    # No entities, no network: the feed is untrusted input.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(res.content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidResponse(
            f"RSS feed is not valid XML: {exc}", url=res.url, status=res.status_code
        ) from exc
    refs = []
    for item in root.iter("item"):
        link = (item.findtext("link") or "").strip()
        match = _KEY_IN_URL_RE.search(link)
        if not match:
            log.warning("RSS item of %s without a note article link (%r); skipped", urlname, link)
            continue
        refs.append(
            ArticleRef(
                urlname=urlname,
                key=match.group(1),
                url=link,
                title=_opt_str(item.findtext("title")),
                published_at=_rfc822_to_iso(item.findtext("pubDate")),
            )
        )
    return refs


# --- one article --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What happened to one article in one run."""

    urlname: str
    key: str
    status: Status
    path: str | None = None
    http_status: int | None = None
    error_type: str | None = None
    reason: str | None = None
    attempts: int = 0
    bytes: int = 0


def check_urlname(urlname: str) -> str:
    """Refuse an account name that could not be a note urlname (it becomes a folder name).

    >>> check_urlname("digital_jp")
    'digital_jp'
    """
    if not _URLNAME_RE.match(urlname):
        raise ValueError(f"not a note account urlname: {urlname!r}")
    return urlname


def account_dir(raw_root: str, urlname: str) -> str:
    """The folder of one account's articles under ``raw_root``.

    >>> account_dir("raw", "digital_jp")
    'raw/note/digital_jp'
    """
    return f"{raw_root.rstrip('/')}/note/{check_urlname(urlname)}"


def article_path(raw_root: str, urlname: str, key: str) -> str:
    """Where an article's API answer lands.

    >>> article_path("raw", "digital_jp", "nd9314f0e9d9f")
    'raw/note/digital_jp/nd9314f0e9d9f.json'
    """
    if not _KEY_RE.match(key):
        raise ValueError(f"not a note article key: {key!r}")
    return f"{account_dir(raw_root, urlname)}/{key}.json"


def sidecar_path(path: str) -> str:
    """The metadata sidecar next to a fetched article file.

    >>> sidecar_path("raw/note/digital_jp/nd9314f0e9d9f.json")
    'raw/note/digital_jp/nd9314f0e9d9f.meta.json'
    """
    stem = path[: -len(".json")] if path.endswith(".json") else path
    return stem + SIDECAR_SUFFIX


def read_sidecar(path: str) -> dict[str, Any] | None:
    """The sidecar of a fetched file (``<key>.meta.json`` next to ``<key>.json``), or ``None``.

    A missing or unreadable sidecar is ``None``: it is metadata about the input, and its
    absence must never reject the input itself.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "n0123456789ab.json")
    >>> read_sidecar(p) is None
    True
    >>> _ = open(sidecar_path(p), "w").write('{"fetched_at": "2024-02-01T00:00:00+00:00"}')
    >>> read_sidecar(p)["fetched_at"]
    '2024-02-01T00:00:00+00:00'
    """
    meta = sidecar_path(path)
    try:
        if "://" in meta:
            import fsspec

            with fsspec.open(meta, "rb") as fh:
                data = fh.read()
        else:
            with open(meta, "rb") as fh:
                data = fh.read()
        value = json.loads(data)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def sidecar_fetched_at(path: str) -> datetime | None:
    """``fetched_at`` of a fetched file, from its sidecar, as an aware datetime (else ``None``).

    >>> sidecar_fetched_at("raw/no/such/file.json") is None
    True
    """
    meta = read_sidecar(path)
    value = meta.get("fetched_at") if meta else None
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def fetch_article(
    client: NoteClient,
    urlname: str,
    key: str,
    raw_root: str,
    *,
    log: LogLike | None = None,
) -> FetchOutcome:
    """Download one article into ``raw_root`` if it is new or changed; write its sidecar.

    Returns a ``new`` / ``changed`` / ``unchanged`` / ``gone`` outcome and raises
    :class:`FetchError` subclasses for failures (so a Prefect task around it fails and
    retries visibly). The article file is replaced atomically and only after its body
    parsed as a note API answer, so a truncated download never reaches ``raw/``.

    >>> import tempfile
    >>> def answer(request: httpx.Request) -> httpx.Response:
    ...     return httpx.Response(200, json={"data": {"key": "n0123456789ab", "name": "題", "body": "<p>x</p>"}})
    >>> client = NoteClient(FetchOptions(base_url="http://test", delay_seconds=0),
    ...                     clock=ManualClock(), transport=httpx.MockTransport(answer))
    >>> raw = tempfile.mkdtemp()
    >>> fetch_article(client, "digital_jp", "n0123456789ab", raw).status
    'new'
    >>> fetch_article(client, "digital_jp", "n0123456789ab", raw).status
    'unchanged'
    """
    log = log or client.log
    path = article_path(raw_root, urlname, key)
    fs, fs_path = _fs(path)
    previous = read_sidecar(path)
    current_sha = _sha_of(fs, fs_path)
    headers: dict[str, str] = {}
    # Validators only count if they describe the bytes on disk: after a crash between the
    # article and its sidecar they may not, and a 304 would then keep stale content.
    if previous and current_sha and previous.get("sha256") == current_sha:
        if isinstance(etag := previous.get("etag"), str):
            headers["If-None-Match"] = etag
        if isinstance(modified := previous.get("last_modified"), str):
            headers["If-Modified-Since"] = modified
    api_path = f"/api/v3/notes/{key}"
    try:
        res = client.get(api_path, headers=headers, log=log)
    except ArticleGone as exc:
        log.warning("%s/%s is gone (HTTP %s); recorded, not retried", urlname, key, exc.status)
        return FetchOutcome(urlname, key, "gone", None, exc.status, exc.error_type, exc.reason, exc.attempts)
    now = client.clock.now().isoformat()
    if res.status_code == 304:
        if previous is not None:
            _write_json(sidecar_path(path), {**previous, "validated_at": now})
        log.info("%s/%s unchanged (HTTP 304)", urlname, key)
        return FetchOutcome(urlname, key, "unchanged", path, 304, attempts=res.attempts)

    _check_article(res, key)
    sha = hashlib.sha256(res.content).hexdigest()
    sidecar = {
        "source_url": res.url,
        "note_url": _note_url(res.content),
        "urlname": urlname,
        "key": key,
        "fetched_at": now,
        "validated_at": now,
        "http_status": res.status_code,
        "etag": res.headers.get("etag"),
        "last_modified": res.headers.get("last-modified"),
        "sha256": sha,
        "bytes": len(res.content),
        "user_agent": client.options.user_agent,
    }
    if current_sha == sha:
        # Same bytes (the server ignored our validators): keep the file and the original
        # fetched_at, so the article's rows stay as they are.
        if previous is not None and previous.get("fetched_at"):
            sidecar["fetched_at"] = previous["fetched_at"]
        _write_json(sidecar_path(path), sidecar)
        log.info("%s/%s unchanged (same sha256)", urlname, key)
        return FetchOutcome(urlname, key, "unchanged", path, res.status_code, attempts=res.attempts)
    # The article first, then its sidecar: a crash in between leaves a sidecar whose sha256
    # does not match, which the next run notices (see the validators above).
    _atomic_write(fs, fs_path, res.content)
    _write_json(sidecar_path(path), sidecar)
    status: Status = "changed" if current_sha else "new"
    log.info("fetched %s/%s: %s, %d bytes -> %s", urlname, key, status, len(res.content), path)
    return FetchOutcome(
        urlname, key, status, path, res.status_code, attempts=res.attempts, bytes=len(res.content)
    )


def _check_article(res: HttpResult, key: str) -> None:
    payload = _json_object(res)
    data = payload.get("data")
    if not isinstance(data, dict) or "body" not in data:
        raise InvalidResponse("not a note article answer: no data.body", url=res.url, status=res.status_code)
    got = data.get("key")
    if got is not None and got != key:
        raise InvalidResponse(
            f"answer is for article {got!r}, not {key!r}", url=res.url, status=res.status_code
        )


def _json_object(res: HttpResult) -> dict[str, Any]:
    try:
        payload = json.loads(res.content)
    except (ValueError, RecursionError) as exc:
        raise InvalidResponse(
            f"truncated or invalid JSON ({len(res.content)} bytes): {exc}",
            url=res.url,
            status=res.status_code,
        ) from exc
    if not isinstance(payload, dict):
        raise InvalidResponse("JSON answer is not an object", url=res.url, status=res.status_code)
    return payload


# --- one account --------------------------------------------------------------------------


@dataclass(slots=True)
class AccountReport:
    """What one account's fetch did."""

    urlname: str
    listed: int = 0
    outcomes: list[FetchOutcome] = field(default_factory=list)
    listing_error: str | None = None

    def count(self, status: Status) -> int:
        """How many articles ended with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(slots=True)
class FetchReport:
    """What a fetch run did, for logs, the CLI and the Prefect artifacts.

    >>> r = FetchReport([AccountReport("a", 1, [FetchOutcome("a", "n0123456789ab", "new")])], 2)
    >>> r.line
    '1 listed: 1 new, 0 changed, 0 unchanged, 0 gone, 0 failed, 0 skipped; 2 requests'
    """

    accounts: list[AccountReport] = field(default_factory=list)
    requests: int = 0

    def count(self, status: Status) -> int:
        """How many articles of every account ended with ``status``."""
        return sum(a.count(status) for a in self.accounts)

    @property
    def line(self) -> str:
        """A one-line summary."""
        listed = sum(a.listed for a in self.accounts)
        counts = ", ".join(
            f"{self.count(s)} {s}" for s in ("new", "changed", "unchanged", "gone", "failed", "skipped")
        )
        return f"{listed} listed: {counts}; {self.requests} requests"

    def rows(self) -> list[dict[str, Any]]:
        """One row per article that was not simply unchanged (a table artifact)."""
        return [
            {
                "account": o.urlname,
                "key": o.key,
                "status": o.status,
                "http_status": o.http_status if o.http_status is not None else "",
                "attempts": o.attempts,
                "reason": o.reason or "",
                "path": o.path or "",
            }
            for a in self.accounts
            for o in a.outcomes
            if o.status != "unchanged"
        ]

    def markdown(self) -> str:
        """The run's markdown summary.

        >>> FetchReport([AccountReport("a")]).markdown().splitlines()[0]
        '# note fetch'
        """
        lines = [
            "# note fetch",
            "",
            "| account | listed | new | changed | unchanged | gone | failed | skipped |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for a in self.accounts:
            counts = " | ".join(
                str(a.count(s)) for s in ("new", "changed", "unchanged", "gone", "failed", "skipped")
            )
            lines.append(f"| {a.urlname} | {a.listed} | {counts} |")
        lines += ["", f"{self.requests} HTTP requests.", ""]
        errors = [a for a in self.accounts if a.listing_error]
        if errors:
            lines += ["## Listing errors", ""]
            lines += [f"- {a.urlname}: {a.listing_error}" for a in errors]
            lines.append("")
        problems = [o for a in self.accounts for o in a.outcomes if o.status in ("failed", "gone", "skipped")]
        if problems:
            lines += ["## Not fetched", "", "| article | status | reason | attempts |", "|---|---|---|---:|"]
            lines += [
                f"| {o.urlname}/{o.key} | {o.status} | {o.reason or ''} | {o.attempts} |" for o in problems
            ]
            lines.append("")
        written = [o for a in self.accounts for o in a.outcomes if o.status in ("new", "changed")]
        if written:
            lines += ["## Written to raw/", ""]
            lines += [f"- `{o.path}` ({o.status}, {o.bytes} bytes)" for o in written]
            lines.append("")
        return "\n".join(lines)


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
    account's ``.fetch-state.json`` and retried on the next run. ``lister`` and ``fetcher``
    are :func:`list_articles` and :func:`fetch_article` or wrappers of them (Prefect tasks)
    with the same arguments.

    >>> import tempfile
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
    state = _read_state(folder)
    fs, fs_folder = _fs(folder)
    known = {
        PurePosixPath(p).name[: -len(".json")]
        for p in (fs.glob(f"{fs_folder}/n*.json") if fs.exists(fs_folder) else [])
        if not p.endswith(SIDECAR_SUFFIX)
    }
    try:
        refs = list(lister(client, urlname, known=known, log=log))
    except FetchError as exc:
        report.listing_error = f"{exc.error_type}: {exc}"
        log.error("could not list %s: %s", urlname, exc)
        return report
    report.listed = len(refs)
    gone: dict[str, Any] = state.setdefault("gone", {})
    failed: dict[str, Any] = state.setdefault("failed", {})
    listed = {r.key for r in refs}
    # Articles a past run listed but did not get (failed, capped, interrupted) are fetched by
    # key: a listing that stops at a page of known articles would never show them again.
    carried = [
        ArticleRef(urlname, key)
        for key in sorted(set(state.get("pending", [])) | set(failed))
        if key not in listed and key not in known and key not in gone and _KEY_RE.match(key)
    ]
    new = [r for r in refs if r.key not in known and r.key not in gone] + carried
    revisit = [r for r in refs if r.key in known and r.key not in gone] if client.options.revalidate else []
    for r in refs:
        if r.key in gone:
            report.outcomes.append(
                FetchOutcome(
                    urlname, r.key, "gone", None, gone[r.key].get("http_status"), "gone", "gone earlier"
                )
            )
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
    _write_state(folder, state)
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
        try:
            outcome = fetcher(client, urlname, ref.key, raw_root, log=log)
        except RequestBudgetExhausted as exc:
            outcome = FetchOutcome(
                urlname, ref.key, "skipped", None, exc.status, exc.error_type, exc.reason, exc.attempts
            )
        except FetchError as exc:
            log.error("could not fetch %s/%s: %s (%s)", urlname, ref.key, exc, exc.error_type)
            outcome = FetchOutcome(
                urlname, ref.key, "failed", None, exc.status, exc.error_type, exc.reason, exc.attempts
            )
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
            continue
        elif outcome.status == "skipped":
            continue
        failed.pop(ref.key, None)
        pending.discard(ref.key)
    state["pending"] = sorted(pending)
    _write_state(folder, state)
    return report


# --- files --------------------------------------------------------------------------------


def _fs(path: str) -> tuple[Any, str]:
    import fsspec

    fs, fs_path = fsspec.core.url_to_fs(path)
    return fs, fs_path


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def _sha_of(fs: Any, fs_path: str) -> str | None:
    try:
        with fs.open(fs_path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except (FileNotFoundError, IsADirectoryError):
        return None


def _atomic_write(fs: Any, fs_path: str, data: bytes) -> None:
    parent = fs_path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    if not _is_local(fs):
        # Object stores: one PUT of the final key is atomic for readers.
        fs.pipe_file(fs_path, data)
        return
    # A hidden temporary name: input discovery skips it if a crash leaves it behind.
    tmp = f"{parent}/.{PurePosixPath(fs_path).name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, fs_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_json(path: str, value: Mapping[str, Any]) -> None:
    fs, fs_path = _fs(path)
    _atomic_write(fs, fs_path, (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode())


def _read_state(folder: str) -> dict[str, Any]:
    fs, fs_folder = _fs(folder)
    try:
        with fs.open(f"{fs_folder}/{STATE_FILE}", "rb") as fh:
            value = json.loads(fh.read())
    except FileNotFoundError:
        return {}
    except ValueError:
        _log.warning("ignoring unreadable %s/%s", folder, STATE_FILE)
        return {}
    return value if isinstance(value, dict) else {}


def _write_state(folder: str, state: Mapping[str, Any]) -> None:
    _write_json(f"{folder}/{STATE_FILE}", state)


def _note_url(content: bytes) -> str | None:
    try:
        data = json.loads(content).get("data", {})
    except (ValueError, AttributeError):
        return None
    return _opt_str(data.get("note_url")) if isinstance(data, dict) else None


def _opt_str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _rfc822_to_iso(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value.strip()).isoformat()
    except (TypeError, ValueError):
        return None
