"""The per-account state file ``.fetch-state.json``: articles gone, failing, or still to fetch.

Shape (every key optional)::

    {"pending": ["n…", …],                        listed, not fetched yet
     "failed": {"n…": {"at", "error_type", "reason", "http_status", "failures"}},
     "gone": {"n…": {"at", "http_status"}},
     "given_up": {"n…": {…as failed}}}            failed the same permanent way too often
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from etl.fetch.files import fs_of, write_json
from etl.fetch.logs import log

STATE_FILE: Final = ".fetch-state.json"


def read_state(folder: str) -> dict[str, Any]:
    """An account folder's fetch state; a missing or unreadable file is an empty state.

    >>> import tempfile
    >>> read_state(tempfile.mkdtemp())
    {}
    """
    fs, fs_folder = fs_of(folder)
    try:
        with fs.open(f"{fs_folder}/{STATE_FILE}", "rb") as fh:
            value = json.loads(fh.read())
    except FileNotFoundError:
        return {}
    except (ValueError, RecursionError):
        log.warning("ignoring unreadable %s/%s", folder, STATE_FILE)
        return {}
    return value if isinstance(value, dict) else {}


def write_state(folder: str, state: Mapping[str, Any]) -> None:
    """Write an account folder's fetch state atomically."""
    write_json(f"{folder}/{STATE_FILE}", state)
