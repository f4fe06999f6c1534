"""Inputs that could not become an article, and the reason written for each.

>>> reject_of("raw/x.pdf", ValueError("boom")).error_type
'internal_error:ValueError'
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.discovery import source_name
from etl.errors import InputError, TaxonomyError


@dataclass(frozen=True, slots=True)
class Reject:
    """An input that could not become an article, with its reason."""

    source_path: str
    content_sha256: str | None
    error_type: str
    error_message: str


def reject_of(source_path: str, exc: Exception, content_sha256: str | None = None) -> Reject:
    """The ``rejects`` record of an exception raised for one input.

    >>> from etl.errors import UnsupportedFormat
    >>> reject_of("raw/x.pdf", UnsupportedFormat("unknown extension '.pdf'")).error_type
    'unsupported_format'
    """
    source_path = source_name(source_path)
    if isinstance(exc, InputError):
        return Reject(source_path, content_sha256, exc.error_type, _printable(exc.reason))
    if isinstance(exc, TaxonomyError):
        # A configuration fault met while processing one input (a taxonomy regex too slow
        # for this text): typed, and not a defect of the input.
        return Reject(source_path, content_sha256, exc.error_type, _printable(str(exc)))
    # An unexpected exception is a bug, but one article must not stop the run: record it
    # with its type so the bug is visible in `rejects` and the logs.
    message = _printable(str(exc) or repr(exc))
    return Reject(source_path, content_sha256, f"internal_error:{type(exc).__name__}", message)


def _printable(message: str, limit: int = 2000) -> str:
    # A reason is written to a UTF-8 column: lone surrogates (from a file name, say) must
    # not make the rejects table itself unwritable. Long reasons are cut.
    text = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"
