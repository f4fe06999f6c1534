"""Local or fsspec file I/O for the fetch: atomic writes (temp file, fsync, rename), sha256."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any


def fs_of(path: str) -> tuple[Any, str]:
    """The fsspec filesystem of a path or URI, and the path inside it.

    >>> fs_of("raw/note")[1].endswith("raw/note")
    True
    """
    import fsspec

    fs, fs_path = fsspec.core.url_to_fs(path)
    return fs, fs_path


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def sha_of(fs: Any, fs_path: str) -> str | None:
    """The sha256 of a file's bytes, or ``None`` when there is no such file."""
    try:
        with fs.open(fs_path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except (FileNotFoundError, IsADirectoryError):
        return None


def atomic_write(fs: Any, fs_path: str, data: bytes) -> None:
    """Replace a file so that readers see the old bytes or the new ones, never a part."""
    parent = fs_path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    if not _is_local(fs):
        # Object stores: one PUT of the final key is atomic for readers.
        fs.pipe_file(fs_path, data)
        return
    # A hidden temporary name: input discovery skips it if a crash leaves it behind.
    tmp = f"{parent}/.{PurePosixPath(fs_path).name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, fs_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str, value: Mapping[str, Any]) -> None:
    """Write a JSON object atomically (UTF-8, indented, one trailing newline)."""
    fs, fs_path = fs_of(path)
    atomic_write(fs, fs_path, (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode())
