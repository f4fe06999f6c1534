"""Finding a run's inputs: files and folders (local or fsspec URIs) to the list of files.

>>> source_name("raw/記事.txt")
'raw/記事.txt'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import PurePosixPath


def discover_inputs(paths: Iterable[str]) -> list[str]:
    """Expand files and folders (recursively) to the sorted list of input files.

    Hidden files and metadata sidecars (``*.meta.json``) are skipped; files with unknown
    extensions are kept so they end up in ``rejects`` rather than vanish.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.txt"), "w").write("x")
    >>> [os.path.basename(p) for p in discover_inputs([d])]
    ['a.txt']
    """
    import fsspec

    found: list[str] = []
    for path in paths:
        fs, fs_path = fsspec.core.url_to_fs(path)
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        prefix = "" if protocol in ("file", "local") else f"{protocol}://"
        if not prefix and os.path.isdir(fs_path):
            found.extend(_local_files(fs_path))
        elif fs.isdir(fs_path):
            for file_path in fs.find(fs_path, withdirs=False):
                name = PurePosixPath(file_path).name
                if name.startswith(".") or name.endswith(".meta.json"):
                    continue
                found.append(prefix + file_path)
        else:
            # Kept even if missing: it then becomes an `unreadable` reject, not a silent gap.
            found.append(path)
    return sorted(dict.fromkeys(found))


def _local_files(root: str) -> list[str]:
    """The input files under a local folder, as :func:`discover_inputs` lists them.

    A sub-folder that cannot be listed (no permission) is listed itself, so that it becomes
    an ``unreadable`` reject instead of its files vanishing without a word; a symbolic link
    to a folder is listed, not followed (it becomes a reject too).
    """
    out: list[str] = []

    def unlisted(exc: OSError) -> None:
        if exc.filename is not None:
            out.append(os.fsdecode(exc.filename))

    for folder, dirs, files in os.walk(root, onerror=unlisted):
        out.extend(os.path.join(folder, d) for d in dirs if os.path.islink(os.path.join(folder, d)))
        for name in files:
            if not (name.startswith(".") or name.endswith(".meta.json")):
                out.append(os.path.join(folder, name))
    return out


def source_name(path: str) -> str:
    """The ``source_path`` written for an input: its path, with bytes that are not UTF-8
    (a file name in Latin-1, kept by Python as lone surrogates) written as ``\\xNN``.

    >>> print(source_name("raw/caf\\udce9.txt"), source_name("raw/記事.txt"))
    raw/caf\\xe9.txt raw/記事.txt
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate that no file name decoding makes
            return path.encode("utf-8", "backslashreplace").decode("utf-8")
    return path
