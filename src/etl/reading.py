"""Reading raw inputs: size limit, encoding detection, decoding. The only file I/O of parsing.

Encodings people really use for Japanese text are tried in a fixed order: a BOM decides
first (UTF-8, UTF-16 LE/BE); then strict UTF-8; then the legacy Japanese encodings
(CP932, a superset of Shift_JIS with ①② and NEC/IBM extensions, and EUC-JP), choosing the
one whose decoding looks most like Japanese text. A general detector (charset-normalizer)
was measured on short Japanese articles and confused CP932 with other code pages, so the
candidate set is kept small and explicit here.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import fsspec

from etl.errors import DecodeError, InputError, InputTooLarge, TruncatedInput, UnreadableInput

DEFAULT_MAX_BYTES: Final = 20 * 1024 * 1024

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_JAPANESE: Final = re.compile("[\u3040-\u30ff\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e]")
_CONTROL: Final = re.compile("[\x00-\x08\x0e-\x1f]")
_BINARY_MAGIC: Final = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b")


@dataclass(frozen=True, slots=True)
class RawInput:
    """Bytes of one input file with the encoding they were decoded from."""

    text: str
    encoding: str
    data: bytes


def read_bytes(
    path: str, *, max_bytes: int = DEFAULT_MAX_BYTES, roots: Sequence[str] | InputRoots = ()
) -> bytes:
    """Read a local path or fsspec URI, refusing files over ``max_bytes`` before reading them.

    Only regular files are read: a FIFO, a device or a socket is refused from its ``stat``
    without being opened (opening a FIFO blocks until a writer comes). With ``roots``, a
    local input whose real path (symlinks resolved) is outside every root is refused, so a
    link in ``raw/`` cannot make the run store ``/etc/passwd``. A caller reading many inputs
    passes the roots resolved once, as :class:`InputRoots`.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt"); _ = open(p, "wb").write(b"abc")
    >>> read_bytes(p)
    b'abc'
    """
    fs, fs_path = fsspec.core.url_to_fs(path)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    try:
        if protocol in ("file", "local"):
            data = _read_local(fs_path, max_bytes, roots)
        else:
            data = _read_remote(fs, fs_path, max_bytes)
    except InputError as exc:
        raise exc.with_path(path) from exc
    except OSError as exc:
        raise UnreadableInput(f"cannot read: {exc.strerror or exc}", source_path=path) from exc
    if len(data) > max_bytes:
        raise InputTooLarge(f"over the limit of {max_bytes} bytes", source_path=path)
    return data


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words (``None`` for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


@dataclass(frozen=True, slots=True)
class InputRoots:
    """The real paths (symlinks resolved) of a run's local input roots, resolved once.

    A run may name thousands of files as its roots (``note-etl run raw/*.txt``): resolving
    every root again for every input would cost the square of their number.

    >>> InputRoots.of(["/tmp", "s3://bucket/raw"]).real == frozenset({os.path.realpath("/tmp")})
    True
    """

    real: frozenset[str]

    @classmethod
    def of(cls, roots: Sequence[str]) -> InputRoots:
        """Resolve the local ones of ``roots`` (plain paths and ``file://`` URIs)."""
        local = [r.removeprefix("file://") for r in roots if "://" not in r or r.startswith("file://")]
        return cls(frozenset(os.path.realpath(r) for r in local))

    def __bool__(self) -> bool:
        return bool(self.real)

    def contain(self, path: str) -> bool:
        """Whether the real path of ``path`` is one of the roots or lies inside one."""
        current = os.path.realpath(path)
        while True:
            if current in self.real:
                return True
            parent = os.path.dirname(current)
            if parent == current:
                return False
            current = parent


def is_within(path: str, roots: Sequence[str]) -> bool:
    """Whether the real path of ``path`` (symlinks resolved) lies inside one of ``roots``.

    >>> is_within("/etc/passwd", ["/tmp"]), is_within("/tmp", ["/tmp"])
    (False, True)
    """
    return InputRoots.of(roots).contain(path)


def _read_local(path: str, max_bytes: int, roots: Sequence[str] | InputRoots) -> bytes:
    st = os.stat(path)  # follows symlinks: a loop or a dangling link is an OSError here
    kind = _kind(st.st_mode)
    if kind == "a directory":
        try:
            os.scandir(path).close()
        except OSError as exc:
            raise UnreadableInput(
                f"a folder that cannot be listed: {exc.strerror or exc}; its files were not read"
            ) from exc
        raise UnreadableInput("is a directory, not a file")
    if kind is not None:
        raise UnreadableInput(f"is {kind}, not a regular file: not read")
    if not isinstance(roots, InputRoots):
        roots = InputRoots.of(roots)
    if roots and not roots.contain(path):
        raise UnreadableInput(
            f"is a symbolic link to {os.path.realpath(path)}, outside the input folders: not read"
        )
    if st.st_size > max_bytes:
        raise InputTooLarge(f"{st.st_size} bytes is over the limit of {max_bytes} bytes")
    # O_NONBLOCK: should the file be swapped for a FIFO after the stat, open() must not hang.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        if _kind(os.fstat(fd).st_mode) is not None:
            raise UnreadableInput("is not a regular file: not read")
        # Read one byte past the limit so a file that grew after stat() is still caught.
        return fh.read(max_bytes + 1)


def _read_remote(fs: fsspec.AbstractFileSystem, path: str, max_bytes: int) -> bytes:
    info = fs.info(path)
    if info.get("type") == "directory":
        raise UnreadableInput("is a directory, not a file")
    size = info.get("size")
    if size is not None and size > max_bytes:
        raise InputTooLarge(f"{size} bytes is over the limit of {max_bytes} bytes")
    with fs.open(path, "rb") as fh:
        data: bytes = fh.read(max_bytes + 1)
    return data


def _japanese_score(text: str) -> float:
    if not text:
        return 0.0
    return len(_JAPANESE.findall(text)) / len(text)


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes to text, returning ``(text, encoding)``; raise DecodeError for binary data.

    >>> decode("データ".encode("cp932"))
    ('データ', 'cp932')
    >>> decode(codecs.BOM_UTF8 + "見出し".encode())
    ('見出し', 'utf-8-sig')
    """
    for magic in _BINARY_MAGIC:
        if data.startswith(magic):
            raise DecodeError(f"binary file (starts with {magic!r}), not text")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _check_text(data.decode(encoding), encoding), encoding
            except UnicodeDecodeError as exc:
                # utf-8-sig counts positions after its BOM; utf-16 counts from the BOM.
                _raise_if_truncated(exc, len(data) - (len(bom) if encoding == "utf-8-sig" else 0), encoding)
                raise DecodeError(f"has a {encoding} byte order mark but invalid {encoding}: {exc}") from exc
    nuls = data.count(b"\x00")
    if nuls:
        # A stray NUL or two (a bad copy-paste) is dropped; many mean binary data or UTF-16
        # without a byte order mark, which cannot be told apart reliably.
        if nuls > max(2, len(data) // 1000):
            raise DecodeError(f"contains {nuls} NUL bytes: binary data or UTF-16 without a byte order mark")
        data = data.replace(b"\x00", b"")
    try:
        return _check_text(data.decode("utf-8"), "utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        _raise_if_truncated(exc, len(data), "utf-8")
    candidates: list[tuple[float, str, str]] = []
    for encoding in ("cp932", "euc_jp"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        candidates.append((_japanese_score(text), encoding, text))
    if not candidates:
        raise DecodeError("not valid UTF-8, UTF-16 (with BOM), Shift_JIS/CP932 or EUC-JP text")
    score, encoding, text = max(candidates)
    if score < 0.05:
        raise DecodeError(f"decodes as {encoding} but does not look like text (binary data?)")
    return _check_text(text, encoding), encoding


def _raise_if_truncated(exc: UnicodeDecodeError, size: int, encoding: str) -> None:
    """Raise :class:`TruncatedInput` when the only fault is a character cut at the end.

    Valid text up to its last few bytes, which start a character the file does not finish:
    a copy or a download that stopped short, not a file in another encoding.
    """
    if (
        exc.end == size
        and exc.start >= size - 3
        and exc.reason in ("unexpected end of data", "truncated data")
    ):
        raise TruncatedInput(
            f"truncated: valid {encoding} up to byte {exc.start}, then the file ends in the middle "
            f"of a character ({size - exc.start} of its bytes present)"
        ) from exc


def _check_text(text: str, encoding: str) -> str:
    controls = len(_CONTROL.findall(text))
    if controls and controls > max(3, len(text) // 100):
        raise DecodeError(f"decodes as {encoding} but has {controls} control characters: binary data?")
    return text


def read_input(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES, roots: Sequence[str] = ()) -> RawInput:
    """Read and decode one input, naming the file in any error.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt"); _ = open(p, "wb").write("見出し".encode("euc_jp"))
    >>> read_input(p).encoding
    'euc_jp'
    """
    data = read_bytes(path, max_bytes=max_bytes, roots=roots)
    try:
        text, encoding = decode(data)
    except DecodeError as exc:
        raise exc.with_path(path) from exc
    return RawInput(text=text, encoding=encoding, data=data)
