"""Sidecars: the ``<key>.meta.json`` next to a fetched article file, and what the run reads of them.

The run reads them at the edge (:mod:`etl.batches`), so this module is light: it imports
nothing of the fetcher's HTTP side.

>>> sidecar_path("raw/note/x/n0123456789ab.json")
'raw/note/x/n0123456789ab.meta.json'
"""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from typing import Any, Final

SIDECAR_SUFFIX: Final = ".meta.json"
# A sidecar is a few hundred bytes of metadata; anything far larger is not one of ours.
_SIDECAR_MAX_BYTES: Final = 1 << 20


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
