"""robots.txt: read once per host and run, then asked before every request to that host.

What a robots.txt answer means follows RFC 9309 §2.3.1: a 2xx body is the rules; a 4xx
(no file) allows everything; a 5xx or 429 (unreachable) disallows everything for this run.
Rules are matched with protego (wildcards ``*`` and ``$``, longest match wins, as Google
and the RFC do), for the product token ``note-etl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import httpx
from protego import Protego

#: RFC 9309 §2.5: a crawler must read at least 500 KiB of a robots.txt; nobody needs more.
MAX_ROBOTS_BYTES: Final = 512 * 1024
#: A Crawl-delay above this is read as this: enough to be polite, not enough to stall a run.
MAX_CRAWL_DELAY: Final = 60.0


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """One host's robots.txt, as fetched in this run.

    >>> rules = RobotsRules.parse("http://h/robots.txt", "User-agent: *\\nDisallow: /private/\\n")
    >>> rules.allows("http://h/private/x", "note-etl"), rules.allows("http://h/api/v3/notes/n1", "note-etl")
    (False, True)
    >>> RobotsRules.allow_all("http://h/robots.txt", "HTTP 404").allows("http://h/private/x", "note-etl")
    True
    """

    url: str
    #: None: no rules apply (allow all, or disallow all when ``unreachable``).
    parser: Protego | None = None
    unreachable: bool = False
    #: Why the rules are what they are ("HTTP 404", "HTTP 503", ...), for logs and reports.
    note: str = ""

    @classmethod
    def parse(cls, url: str, text: str) -> RobotsRules:
        """Rules from a robots.txt body."""
        return cls(url, Protego.parse(text), note="rules")

    @classmethod
    def allow_all(cls, url: str, note: str) -> RobotsRules:
        """No robots.txt (a 4xx): everything is allowed."""
        return cls(url, None, note=note)

    @classmethod
    def disallow_all(cls, url: str, note: str) -> RobotsRules:
        """robots.txt unreachable (a 5xx): nothing is fetched from the host this run."""
        return cls(url, None, unreachable=True, note=note)

    def allows(self, url: str, agent: str) -> bool:
        """Whether ``agent`` may fetch ``url``."""
        if self.url == url:
            return True
        if self.parser is None:
            return not self.unreachable
        return bool(self.parser.can_fetch(url, agent))

    def crawl_delay(self, agent: str) -> float | None:
        """The Crawl-delay for ``agent`` in seconds (capped at :data:`MAX_CRAWL_DELAY`), if any.

        >>> RobotsRules.parse("http://h/robots.txt", "User-agent: *\\nCrawl-delay: 5\\n").crawl_delay("note-etl")
        5.0
        """
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return None if delay is None else min(float(delay), MAX_CRAWL_DELAY)

    def why_blocked(self) -> str:
        """The reason recorded for a URL these rules block."""
        if self.unreachable:
            return f"robots.txt unreachable ({self.note}): nothing is fetched from this host this run"
        return "disallowed by robots.txt"


def robots_url(url: str) -> str:
    """The robots.txt of the host serving ``url``.

    >>> robots_url("https://note.com/api/v3/notes/n1?x=1")
    'https://note.com/robots.txt'
    """
    parsed = httpx.URL(url)
    return str(parsed.copy_with(path="/robots.txt", query=None, fragment=None))
