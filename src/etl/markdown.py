"""Markdown for the Prefect UI: input text made inert, and links only to http(s).

Titles, names, paths and reasons come from the inputs (or from servers, for a fetch), so
they are text, never markup: :func:`md_text` HTML-escapes them, backslash-escapes markdown
punctuation (``|`` included) and keeps them on one line; :func:`md_link` makes the only
links, to ``http(s)`` addresses.
"""

from __future__ import annotations

import html
import re
from typing import Final

# Characters that start markup in CommonMark/GFM inline text (code, emphasis, links,
# table cells, strikethrough, escapes); escaped, each means itself. `<`, `>` and `&` are
# HTML-escaped instead. (`_` inside words, `.` or `-` cannot start anything there.)
_MD_PUNCT: Final = re.compile(r"([\\`*\[\]|~!])")
_LINE_BREAK: Final = re.compile("[\r\n\u2028\u2029]+")
_URL_UNSAFE: Final = {"(": "%28", ")": "%29", " ": "%20", "<": "%3C", ">": "%3E", "\\": "%5C"}


def md_text(value: object) -> str:
    """A value as inert markdown text: no HTML, no link, no emphasis, one line.

    >>> print(md_text('<img src=x onerror=alert(1)> [x](javascript:alert(1)) a|b'))
    &lt;img src=x onerror=alert(1)&gt; \\[x\\](javascript:alert(1)) a\\|b
    """
    text = _LINE_BREAK.sub(" ", "" if value is None else str(value))
    # HTML first (its & < > become entities), then markdown punctuation: an entity's own
    # & and ; are not markdown punctuation, so nothing is escaped twice.
    return _MD_PUNCT.sub(r"\\\1", html.escape(text, quote=False))


def md_link(text: str, url: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """A markdown link when ``url``'s scheme is one of ``schemes`` (http(s)); otherwise the
    text alone, escaped, so that no ``javascript:`` or ``data:`` link reaches the UI.

    >>> md_link("report", "https://example.org/r.html"), md_link("x", "javascript:alert(1)")
    ('[report](https://example.org/r.html)', 'x')
    """
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in schemes or any(ord(ch) < 32 for ch in url):
        return md_text(text)
    safe = "".join(_URL_UNSAFE.get(ch, ch) for ch in url)
    return f"[{md_text(text)}]({safe})"


def cell(value: object) -> object:
    """A table artifact cell: numbers as they are, text as :func:`md_text`.

    >>> print(cell(3), cell("<b>|</b>"))
    3 &lt;b&gt;\\|&lt;/b&gt;
    """
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else md_text(value)
