"""How to talk to note: :class:`FetchOptions`, frozen and validated when built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Final, Literal

import httpx

from etl import __version__

DEFAULT_BASE_URL: Final = "https://note.com"
DEFAULT_USER_AGENT: Final = f"note-etl/{__version__} (note article ETL; polite fetcher; python-httpx)"
#: The product token robots.txt groups are matched against (``User-agent: note-etl``).
ROBOTS_AGENT: Final = "note-etl"

Listing = Literal["auto", "api", "rss", "both"]


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
    #: The whole of one request (connect, headers, body), not each read: a server that
    #: sends one byte at a time cannot hold a request longer than this.
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
    #: Runs in a row an article may fail the same permanent way (a redirect loop, an answer
    #: that is not a note article) before it is given up (``given_up`` in the state file).
    max_failed_runs: int = 5
    #: Read the site's robots.txt (once per host and run) and fetch nothing it disallows.
    respect_robots_txt: bool = True
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
        for name in ("timeout_seconds", "max_requests", "max_pages", "max_bytes", "max_failed_runs"):
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
        if host.endswith("note.com") and not self.respect_robots_txt:
            raise ValueError(f"fetch.respect_robots_txt cannot be turned off against {self.base_url}")

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
