"""What a fetch run did: per account and in all, as a line, table rows and markdown.

Every failure counts: an account whose listing failed (offline, a bad answer) is one
``failed`` as surely as an article that failed; what robots.txt blocked is named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from etl.fetch.article import STATUSES, FetchOutcome, Status
from etl.fetch.errors import RobotsDisallowed
from etl.markdown import md_text

_ROBOTS = RobotsDisallowed.error_type


@dataclass(slots=True)
class AccountReport:
    """What one account's fetch did."""

    urlname: str
    listed: int = 0
    outcomes: list[FetchOutcome] = field(default_factory=list)
    listing_error: str | None = None
    #: The listing error's ``error_type`` (``name_resolution``, ``robots_disallowed``, ...).
    listing_error_type: str | None = None
    #: The robots.txt that blocked the listing or an article, if one did.
    robots_url: str | None = None

    def count(self, status: Status) -> int:
        """How many articles ended with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def robots_blocked(self) -> int:
        """Articles and listings robots.txt did not allow."""
        return sum(1 for o in self.outcomes if o.error_type == _ROBOTS) + (
            1 if self.listing_error_type == _ROBOTS else 0
        )


@dataclass(slots=True)
class FetchReport:
    """What a fetch run did, for logs, the CLI and the Prefect artifacts.

    >>> r = FetchReport([AccountReport("a", 1, [FetchOutcome("a", "n0123456789ab", "new")])], 2)
    >>> r.line
    '1 listed: 1 new, 0 changed, 0 unchanged, 0 gone, 0 failed, 0 skipped; 2 requests'
    >>> FetchReport([AccountReport("b", listing_error="name_resolution: cannot resolve")], 1).line
    '0 listed: 0 new, 0 changed, 0 unchanged, 0 gone, 1 failed (1 listing), 0 skipped; 1 requests'
    """

    accounts: list[AccountReport] = field(default_factory=list)
    requests: int = 0

    def count(self, status: Status) -> int:
        """How many articles of every account ended with ``status``."""
        return sum(a.count(status) for a in self.accounts)

    @property
    def listing_failures(self) -> int:
        """Accounts whose listing failed (robots.txt blocks are counted apart)."""
        return sum(1 for a in self.accounts if a.listing_error and a.listing_error_type != _ROBOTS)

    @property
    def failures(self) -> int:
        """Every failure of the run: failed articles and failed listings."""
        return self.count("failed") + self.listing_failures

    @property
    def robots_blocked(self) -> int:
        """Articles and listings robots.txt did not allow."""
        return sum(a.robots_blocked for a in self.accounts)

    @property
    def robots_urls(self) -> list[str]:
        """The robots.txt files that blocked something, each once."""
        return sorted({a.robots_url for a in self.accounts if a.robots_url})

    @property
    def line(self) -> str:
        """A one-line summary."""
        listed = sum(a.listed for a in self.accounts)
        parts = []
        for s in STATUSES:
            if s == "failed":
                extra = f" ({self.listing_failures} listing)" if self.listing_failures else ""
                parts.append(f"{self.failures} failed{extra}")
            else:
                parts.append(f"{self.count(s)} {s}")
        line = f"{listed} listed: {', '.join(parts)}; {self.requests} requests"
        if self.robots_blocked:
            line += f"; {self.robots_blocked} blocked by {', '.join(self.robots_urls) or 'robots.txt'}"
        return line

    def counts(self) -> dict[str, int]:
        """The numbers of :attr:`line` as a mapping (the flow's result).

        >>> FetchReport([AccountReport("b", listing_error="x")]).counts()["failed"]
        1
        """
        return {
            "listed": sum(a.listed for a in self.accounts),
            **{s: self.count(s) for s in STATUSES},
            "failed": self.failures,
            "failed_articles": self.count("failed"),
            "failed_listings": self.listing_failures,
            "robots_blocked": self.robots_blocked,
            "requests": self.requests,
        }

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
            failed = a.count("failed") + (1 if a.listing_error and a.listing_error_type != _ROBOTS else 0)
            counts = " | ".join(str(failed if s == "failed" else a.count(s)) for s in STATUSES)
            lines.append(f"| {md_text(a.urlname)} | {a.listed} | {counts} |")
        lines += ["", f"{self.requests} HTTP requests.", ""]
        errors = [a for a in self.accounts if a.listing_error]
        if errors:
            lines += ["## Listing errors", ""]
            lines += [f"- {md_text(a.urlname)}: {md_text(a.listing_error)}" for a in errors]
            lines.append("")
        if self.robots_blocked:
            lines += ["## Blocked by robots.txt", ""]
            lines += [
                f"- {md_text(a.urlname)}: {a.robots_blocked} blocked by {md_text(a.robots_url or 'robots.txt')}"
                for a in self.accounts
                if a.robots_blocked
            ]
            lines.append("")
        problems = [o for a in self.accounts for o in a.outcomes if o.status in ("failed", "gone", "skipped")]
        if problems:
            lines += ["## Not fetched", "", "| article | status | reason | attempts |", "|---|---|---|---:|"]
            lines += [
                f"| {md_text(f'{o.urlname}/{o.key}')} | {o.status} | {md_text(o.reason)} | {o.attempts} |"
                for o in problems
            ]
            lines.append("")
        written = [o for a in self.accounts for o in a.outcomes if o.status in ("new", "changed")]
        if written:
            lines += ["## Written to raw/", ""]
            lines += [f"- {md_text(o.path)} ({o.status}, {o.bytes} bytes)" for o in written]
            lines.append("")
        return "\n".join(lines)
