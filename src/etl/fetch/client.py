"""The polite HTTP client for note: delay, User-Agent, robots.txt, retries, deadline, cap.

Politeness and robustness live here: one request at a time with a minimum delay between
requests (longer if robots.txt asks for a Crawl-delay), a User-Agent naming the project,
nothing robots.txt disallows, retries with exponential backoff and jitter on timeouts /
429 (honouring Retry-After) / 5xx (the loop is tenacity's), no retry on 404 or on a host
that does not resolve, a total deadline per request and a per-run cap on requests. The
clock and the random source are injectable, so tests of backoff and Retry-After do not sleep.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity

from etl.fetch.clock import Clock, SystemClock
from etl.fetch.deadline import apply_deadline, deadline
from etl.fetch.errors import (
    ArticleGone,
    FetchError,
    InvalidResponse,
    RateLimited,
    RequestBudgetExhausted,
    RequestFailed,
    RetriesExhausted,
    RobotsDisallowed,
)
from etl.fetch.logs import LogLike
from etl.fetch.logs import log as _log
from etl.fetch.options import ROBOTS_AGENT, FetchOptions
from etl.fetch.retry import (
    GONE_STATUSES,
    HTTPX_ERRORS,
    RETRY_STATUSES,
    Transient,
    backoff_ceiling,
    classify_httpx_error,
    equal_jitter,
    parse_retry_after,
)
from etl.fetch.robots import MAX_ROBOTS_BYTES, RobotsRules, robots_url

#: Redirects followed per request; each hop is a request (counted, paced). note's API does
#: not redirect: a chain longer than this is a loop.
MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True)
class HttpResult:
    """One complete HTTP answer (the body was read in full)."""

    url: str
    status_code: int
    headers: Mapping[str, str]
    content: bytes
    attempts: int

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; :class:`InvalidResponse` if it is not one.

        >>> HttpResult("http://x", 200, {}, b'{"a": 1}', 1).json_object()
        {'a': 1}
        """
        try:
            payload = json.loads(self.content)
        except (ValueError, RecursionError) as exc:
            raise InvalidResponse(
                f"truncated or invalid JSON ({len(self.content)} bytes): {exc}",
                url=self.url,
                status=self.status_code,
            ) from exc
        if not isinstance(payload, dict):
            raise InvalidResponse("JSON answer is not an object", url=self.url, status=self.status_code)
        return payload


class NoteClient:
    """A polite HTTP client for note: delay, User-Agent, robots.txt, retries with backoff, request cap.

    ``transport`` replaces the network (``httpx.MockTransport`` in examples and tests).

    >>> from etl.fetch import ManualClock
    >>> def answer(request: httpx.Request) -> httpx.Response:
    ...     return httpx.Response(200, json={"ok": True})
    >>> opts = FetchOptions(base_url="http://test", delay_seconds=0.0, max_requests=5)
    >>> with NoteClient(opts, clock=ManualClock(), transport=httpx.MockTransport(answer)) as c:
    ...     c.get("/api/ping").status_code, c.requests_made  # robots.txt, then the ping
    (200, 2)
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
        #: robots.txt of each origin (scheme://host:port), read once per client (per run).
        self.robots: dict[str, RobotsRules] = {}
        self._last_request_end: float | None = None
        self._delay = self.options.delay_seconds
        self._hops = 0
        self._http = httpx.Client(
            base_url=self.options.base_url,
            headers={"User-Agent": self.options.user_agent, "Accept": "application/json, */*;q=0.5"},
            timeout=httpx.Timeout(self.options.timeout_seconds),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            transport=transport,
            event_hooks={"request": [self._on_request]},
        )
        if transport is None:
            # httpx's own transports, so that it keeps its defaults (proxies named in the
            # environment get transports of their own, mounted per URL pattern).
            mounts: dict[Any, httpx.BaseTransport | None] = getattr(self._http, "_mounts", {})
            for own in (getattr(self._http, "_transport", None), *mounts.values()):
                apply_deadline(own)

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
        cap is reached, :class:`RobotsDisallowed` when robots.txt forbids the URL,
        :class:`NameResolutionFailed` when the host does not resolve (no retry),
        :class:`RequestFailed` on any other request error (a redirect loop: no retry) and
        :class:`FetchError` on any other status.
        """
        log = log or self.log
        try:
            request = self._http.build_request("GET", path, params=params)
        except HTTPX_ERRORS as exc:
            raise RequestFailed(f"{type(exc).__name__}: {exc}", url=str(path), attempts=0) from exc
        url = str(request.url)
        if self.options.respect_robots_txt:
            rules = self._robots_for(url, log)
            if not rules.allows(url, ROBOTS_AGENT):
                raise RobotsDisallowed(f"{rules.why_blocked()} ({rules.url})", url=url, attempts=0)
        return self._get(path, url, headers, params, log)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1-based): exponential, capped, jittered.

        "Equal jitter": half the exponential delay is fixed, half random, so clients that
        failed together do not retry together, yet never retry immediately.

        >>> c = NoteClient(FetchOptions(backoff_seconds=1, max_backoff_seconds=8), rng=random.Random(0))
        >>> [0.5 <= c.backoff(1) <= 1, 2 <= c.backoff(3) <= 4, 4 <= c.backoff(10) <= 8]
        [True, True, True]
        """
        opts = self.options
        return equal_jitter(
            backoff_ceiling(attempt, opts.backoff_seconds, opts.max_backoff_seconds), self.rng
        )

    # -- robots.txt --------------------------------------------------------------------

    def _robots_for(self, url: str, log: LogLike) -> RobotsRules:
        where = robots_url(url)
        origin = where[: -len("/robots.txt")]
        rules = self.robots.get(origin)
        if rules is not None:
            return rules
        try:
            res = self._get(where, where, {"Accept": "text/plain, */*;q=0.5"}, None, log)
        except ArticleGone as exc:
            rules = RobotsRules.allow_all(where, f"HTTP {exc.status}")
        except (RetriesExhausted, RateLimited) as exc:
            if exc.status is None:
                # No answer at all (timeouts, refused): the host is down, which the request
                # that wanted robots.txt reports better than "disallowed". Not cached.
                raise
            rules = RobotsRules.disallow_all(where, f"HTTP {exc.status}")
        except RequestFailed as exc:
            rules = RobotsRules.allow_all(where, exc.reason)  # e.g. a redirect loop: "unavailable"
        except InvalidResponse as exc:
            rules = RobotsRules.allow_all(where, exc.reason)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                rules = RobotsRules.allow_all(where, f"HTTP {exc.status}")
            else:
                raise  # the cap, a host that does not resolve: the caller's error
        else:
            if res.status_code == 304 or not res.content:
                rules = RobotsRules.allow_all(where, f"HTTP {res.status_code}, empty")
            else:
                text = res.content[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
                rules = RobotsRules.parse(where, text)
        delay = rules.crawl_delay(ROBOTS_AGENT)
        if delay is not None and delay > self._delay:
            log.info("robots.txt of %s asks for %g s between requests", origin, delay)
            self._delay = delay
        if rules.unreachable:
            log.warning("%s: %s", where, rules.why_blocked())
        self.robots[origin] = rules
        return rules

    # -- one request, retried ----------------------------------------------------------

    def _get(
        self,
        path: str,
        url: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str | int] | None,
        log: LogLike,
    ) -> HttpResult:
        opts = self.options
        attempts = 0

        def attempt() -> HttpResult:
            nonlocal attempts
            if self.requests_left <= 0:
                raise RequestBudgetExhausted(
                    f"request cap of {opts.max_requests} reached", url=url, attempts=attempts
                )
            self._wait_politely()
            attempts += 1
            self.requests_made += 1
            try:
                return self._attempt(path, url, headers, params, attempts)
            finally:
                self._last_request_end = self.clock.monotonic()

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Transient),
            stop=self._stop,
            wait=self._wait,
            sleep=self.clock.sleep,
            before_sleep=lambda state: self._log_retry(state, url, log),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Transient as exc:
            raise self._give_up(exc, url, attempts) from exc.__cause__

    def _attempt(
        self,
        path: str,
        url: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str | int] | None,
        attempt: int,
    ) -> HttpResult:
        try:
            result = self._send(path, headers, params, attempt)
        except HTTPX_ERRORS as exc:
            raise classify_httpx_error(
                exc, url=url, attempt=attempt, timeout=self.options.timeout_seconds
            ) from exc
        status = result.status_code
        if status in GONE_STATUSES:
            raise ArticleGone(f"HTTP {status}", url=url, status=status, attempts=attempt)
        if status in RETRY_STATUSES:
            retry_after = None
            if status == 429:
                retry_after = parse_retry_after(result.headers.get("retry-after"), self.clock.now())
            raise Transient(f"HTTP {status}", status=status, retry_after=retry_after)
        if status == 304 or 200 <= status < 300:
            return result
        raise FetchError(f"HTTP {status}", url=url, status=status, attempts=attempt)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        opts = self.options
        exc = _transient_of(state)
        too_long = (
            exc is not None and exc.retry_after is not None and exc.retry_after > opts.max_retry_after_seconds
        )
        return state.attempt_number > opts.max_retries or too_long or self.requests_left <= 0

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = _transient_of(state)
        if exc is not None and exc.retry_after is not None:
            return exc.retry_after  # the server's wait, not our backoff
        return self.backoff(state.attempt_number)

    def _give_up(self, exc: Transient, url: str, attempts: int) -> FetchError:
        opts = self.options
        if attempts > opts.max_retries:
            return RetriesExhausted(
                f"{exc.reason} on all {attempts} attempts", url=url, status=exc.status, attempts=attempts
            )
        if exc.retry_after is not None and exc.retry_after > opts.max_retry_after_seconds:
            return RateLimited(
                f"HTTP 429 with Retry-After {exc.retry_after:g} s, more than the "
                f"{opts.max_retry_after_seconds:g} s we wait",
                url=url,
                status=429,
                attempts=attempts,
            )
        return RequestBudgetExhausted(
            f"request cap of {opts.max_requests} reached while retrying after {exc.reason}",
            url=url,
            status=exc.status,
            attempts=attempts,
        )

    def _log_retry(self, state: tenacity.RetryCallState, url: str, log: LogLike) -> None:
        exc = _transient_of(state)
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "retry %d/%d of %s in %.2f s after %s%s",
            state.attempt_number,
            self.options.max_retries,
            url,
            wait,
            exc.reason if exc is not None else "?",
            " (Retry-After)" if exc is not None and exc.retry_after is not None else "",
        )

    # -- the wire ----------------------------------------------------------------------

    def _wait_politely(self) -> None:
        if self._last_request_end is None:
            return
        wait = self._delay - (self.clock.monotonic() - self._last_request_end)
        if wait > 0:
            self.clock.sleep(wait)

    def _on_request(self, request: httpx.Request) -> None:
        # httpx calls this for the first request and for every redirect hop: a hop is one
        # more request to the server, so it is counted, capped and paced like the others.
        self._hops += 1
        if self._hops == 1:
            return
        if self.requests_left <= 0:
            raise RequestBudgetExhausted(
                f"request cap of {self.options.max_requests} reached while following redirects",
                url=str(request.url),
            )
        self.requests_made += 1
        if self._delay > 0:
            self.clock.sleep(self._delay)

    def _send(
        self,
        path: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str | int] | None,
        attempt: int,
    ) -> HttpResult:
        limit = self.options.max_bytes
        timeout = self.options.timeout_seconds
        self._hops = 0
        # Real time, whatever the injected clock: the deadline bounds real network waits.
        with (
            deadline(timeout) as at,
            self._http.stream("GET", path, headers=dict(headers or {}), params=params) as resp,
        ):
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
                if time.monotonic() > at:  # a transport without the deadline (a mock, a proxy)
                    raise httpx.ReadTimeout("the request's total deadline (timeout_seconds) passed")
            return HttpResult(
                url=str(resp.url),
                status_code=resp.status_code,
                headers={k.lower(): v for k, v in resp.headers.items()},
                content=b"".join(chunks),
                attempts=attempt,
            )


def _transient_of(state: tenacity.RetryCallState) -> Transient | None:
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None and outcome.failed else None
    return exc if isinstance(exc, Transient) else None
