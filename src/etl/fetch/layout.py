"""Where fetched files land in ``raw/``, and the sidecars that describe them.

::

    raw/note/<urlname>/<key>.json          the v3 API answer, byte for byte
    raw/note/<urlname>/<key>.meta.json     sidecar: source URL, fetched_at, HTTP status,
                                           ETag / Last-Modified, sha256 of the .json
    raw/note/<urlname>/.fetch-state.json   articles gone (404), failing, or still to fetch

Account names and article keys become path parts, so both are checked whole
(``fullmatch``: a trailing newline is not a key).
"""

from __future__ import annotations

import re
from typing import Final

# Sidecars are read by the run too: they live in a module of their own, light to import.
from etl.sidecars import SIDECAR_SUFFIX as SIDECAR_SUFFIX
from etl.sidecars import read_sidecar as read_sidecar
from etl.sidecars import sidecar_fetched_at as sidecar_fetched_at
from etl.sidecars import sidecar_path as sidecar_path

# note urlnames are short ASCII ids and article keys are "n" + hex; anything else is refused
# before it becomes part of a file path.
_URLNAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEY_RE: Final = re.compile(r"n[0-9a-z]{4,40}")


def is_article_key(value: object) -> bool:
    """Whether ``value`` is a note article key, the whole string.

    >>> is_article_key("nd9314f0e9d9f"), is_article_key("nd9314f0e9d9f\\n"), is_article_key(None)
    (True, False, False)
    """
    return isinstance(value, str) and _KEY_RE.fullmatch(value) is not None


def check_urlname(urlname: str) -> str:
    """Refuse an account name that could not be a note urlname (it becomes a folder name).

    >>> check_urlname("digital_jp")
    'digital_jp'
    >>> check_urlname("digital_jp\\n")
    Traceback (most recent call last):
    ...
    ValueError: not a note account urlname: 'digital_jp\\n'
    """
    if not isinstance(urlname, str) or _URLNAME_RE.fullmatch(urlname) is None:
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
    if not is_article_key(key):
        raise ValueError(f"not a note article key: {key!r}")
    return f"{account_dir(raw_root, urlname)}/{key}.json"
