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

import json
import os
import re
import stat
from datetime import UTC, datetime
from typing import Any, Final

SIDECAR_SUFFIX: Final = ".meta.json"
# note urlnames are short ASCII ids and article keys are "n" + hex; anything else is refused
# before it becomes part of a file path.
_URLNAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEY_RE: Final = re.compile(r"n[0-9a-z]{4,40}")
# A sidecar is a few hundred bytes of metadata; anything far larger is not one of ours.
_SIDECAR_MAX_BYTES: Final = 1 << 20


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
            # Only a regular file: opening a FIFO named like a sidecar would block the run.
            if not stat.S_ISREG(os.stat(meta).st_mode):
                return None
            with open(meta, "rb") as fh:
                data = fh.read(_SIDECAR_MAX_BYTES + 1)
            if len(data) > _SIDECAR_MAX_BYTES:
                return None
        value = json.loads(data)
    except (OSError, ValueError, RecursionError):
        # RecursionError: a sidecar of thousands of nested brackets is broken, not fatal.
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
