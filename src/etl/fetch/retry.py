"""What the client retries, and how long it waits: Retry-After, backoff, error classes.

The retry loop itself is tenacity's (:class:`~etl.fetch.client.NoteClient` builds one
``tenacity.Retrying`` per request); this module holds the decisions it asks for:

- :func:`classify_httpx_error`: a timeout, a refused or reset connection, a body cut short
  are worth another try (:class:`Transient`); a name that does not resolve, a redirect loop,
  an invalid URL or a bad encoding are not (another try gives the same answer).
- :func:`parse_retry_after`: the seconds a 429's Retry-After asks for, refusing nonsense.
- :func:`equal_jitter`: the backoff delay.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import socket
from datetime import UTC, datetime
from typing import Final

import httpx

from etl.fetch.errors import FetchError, NameResolutionFailed, RequestFailed

RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
GONE_STATUSES: Final = frozenset({404, 410})
#: Longest wait a Retry-After is read as (about 31 years): a bigger number means "not now"
#: just the same, and every wait stays a finite float.
MAX_RETRY_AFTER: Final = 1e9
# delta-seconds is digits only (RFC 9110 §10.2.3); a decimal fraction is tolerated.
_DELTA_SECONDS_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Messages of getaddrinfo failures, for a resolver error that reaches us without its gaierror.
_RESOLVE_MESSAGES: Final = (
    "name or service not known",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "nodename nor servname",
    "getaddrinfo failed",
)


class Transient(Exception):
    """One attempt failed in a way another attempt may not (timeout, 429, 5xx, reset).

    Internal to the client: after the last attempt it becomes a :class:`RetriesExhausted`,
    :class:`RateLimited` or :class:`RequestBudgetExhausted`.
    """

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        super().__init__(reason)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or ``None``.

    ``None`` means "no usable value" (the caller backs off as for a 503): a missing or empty
    header, and nonsense such as ``nan``, ``inf``, ``-5`` or ``1e3``. A date in the past is
    ``0.0``; a huge number is capped at :data:`MAX_RETRY_AFTER`.

    >>> now = datetime(2024, 1, 1, tzinfo=UTC)
    >>> parse_retry_after("3", now), parse_retry_after("Mon, 01 Jan 2024 00:00:10 GMT", now)
    (3.0, 10.0)
    >>> [parse_retry_after(v, now) for v in ("soon", "nan", "-5", "inf", "")]
    [None, None, None, None, None]
    >>> parse_retry_after("9" * 5000, now), parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now)
    (1000000000.0, 0.0)
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if _DELTA_SECONDS_RE.fullmatch(value):
        seconds = float(value)  # a 5,000-digit number is inf here, not an error
        return min(seconds, MAX_RETRY_AFTER) if math.isfinite(seconds) else MAX_RETRY_AFTER
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; a date without a zone is read as such
        when = when.replace(tzinfo=UTC)
    try:
        seconds = (when - now).total_seconds()
    except OverflowError:
        return MAX_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def equal_jitter(ceiling: float, rng: random.Random) -> float:
    """A delay between half the ceiling and the ceiling ("equal jitter").

    Half fixed, half random: clients that failed together do not retry together, yet none
    retries at once. (tenacity's own jittered waits draw from the global ``random`` and may
    wait almost nothing, so the client keeps this one, with its injectable ``rng``.)

    >>> 2.0 <= equal_jitter(4.0, random.Random(0)) <= 4.0
    True
    """
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def backoff_ceiling(attempt: int, base: float, maximum: float) -> float:
    """The exponential ceiling before retry ``attempt`` (1-based): ``base * 2**(attempt-1)``, capped.

    >>> [backoff_ceiling(n, 1.0, 8.0) for n in (1, 2, 3, 4, 5, 1000)]
    [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    """
    if attempt - 1 >= 64:  # 2**64 s is past any cap; no float overflow
        return maximum
    return min(maximum, base * 2 ** (attempt - 1))


def is_name_resolution_error(exc: BaseException) -> bool:
    """Whether an httpx connect error comes from a host name that does not resolve.

    >>> is_name_resolution_error(httpx.ConnectError("[Errno -2] Name or service not known"))
    True
    >>> is_name_resolution_error(httpx.ConnectError("[Errno 111] Connection refused"))
    False
    """
    seen: BaseException | None = exc
    for _ in range(10):  # httpx -> httpcore -> socket: a short chain
        if seen is None:
            break
        if isinstance(seen, socket.gaierror) or any(isinstance(a, socket.gaierror) for a in seen.args):
            return True
        if any(m in str(seen).lower() for m in _RESOLVE_MESSAGES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def classify_httpx_error(exc: Exception, *, url: str, attempt: int, timeout: float) -> Exception:
    """The exception one attempt's httpx failure becomes: :class:`Transient` or a final :class:`FetchError`.

    >>> classify_httpx_error(httpx.TooManyRedirects("Exceeded maximum allowed redirects."),
    ...                      url="http://x/a", attempt=1, timeout=2.0)
    RequestFailed('TooManyRedirects: Exceeded maximum allowed redirects. (http://x/a)')
    >>> classify_httpx_error(httpx.ReadTimeout("timed out"), url="http://x/a", attempt=1, timeout=2.0)
    Transient('timeout after 2 s (ReadTimeout)')
    """
    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.TimeoutException):
        return Transient(f"timeout after {timeout:g} s ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError) and is_name_resolution_error(exc):
        host = httpx.URL(url).host
        return NameResolutionFailed(f"cannot resolve host {host!r}: {exc}", url=url, attempts=attempt)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return RequestFailed(what, url=url, attempts=attempt)
    if isinstance(exc, httpx.TransportError):
        # Refused, reset, a body cut short of its Content-Length (RemoteProtocolError).
        return Transient(what)
    if isinstance(exc, FetchError):
        return exc
    # TooManyRedirects (a redirect loop), DecodingError, InvalidURL, StreamError, ...
    return RequestFailed(what, url=url, attempts=attempt)


#: Every exception httpx raises on its own (RequestError covers TooManyRedirects and the
#: transport errors; the others are not HTTPError subclasses).
HTTPX_ERRORS: Final = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict)
