"""The fetch's typed errors: each carries the URL, the HTTP status and the attempts made.

``error_type`` is the stable code shown in reports and the fetch state file.
"""

from __future__ import annotations

from typing import Any

from etl.errors import NoteEtlError


class FetchError(NoteEtlError):
    """A request to note that did not give a usable answer.

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


class NameResolutionFailed(FetchError):
    """The host name does not resolve (offline, a typo in ``base_url``). Never retried."""

    error_type = "name_resolution"


class RequestFailed(FetchError):
    """A request that another try would not fix: a redirect loop, an invalid URL, a bad encoding."""

    error_type = "request_error"


class RobotsDisallowed(FetchError):
    """The site's robots.txt does not allow this URL to the project's user agent."""

    error_type = "robots_disallowed"
