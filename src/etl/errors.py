"""Typed exceptions. Every input that fails becomes a ``rejects`` row with its reason."""

from __future__ import annotations


class NoteEtlError(Exception):
    """Base class of every error note-etl raises on purpose."""


class InputError(NoteEtlError):
    """An input file that cannot become an article.

    ``error_type`` is the stable code written to ``rejects.error_type``.

    >>> str(InputError("empty input", source_path="raw/a.txt"))
    'raw/a.txt: empty input'
    """

    error_type = "input_error"

    def __init__(self, reason: str, *, source_path: str | None = None) -> None:
        self.reason = reason
        self.source_path = source_path
        super().__init__(f"{source_path}: {reason}" if source_path else reason)

    def with_path(self, source_path: str) -> InputError:
        """The same error, naming the file it came from."""
        return type(self)(self.reason, source_path=source_path)


class UnreadableInput(InputError):
    """The file could not be read (missing, permissions, a directory, a loop)."""

    error_type = "unreadable"


class InputTooLarge(InputError):
    """The file is over the configured size limit."""

    error_type = "too_large"


class DecodeError(InputError):
    """The bytes are not text in any encoding we accept (or are binary)."""

    error_type = "decode_error"


class TruncatedInput(DecodeError):
    """The text is valid up to its end, where the file stops in the middle of a character."""

    error_type = "truncated"


class UnsupportedFormat(InputError):
    """The file's extension names no format we parse."""

    error_type = "unsupported_format"


class ParseError(InputError):
    """The text is not a valid document of its format (bad JSON, wrong shape, ...)."""

    error_type = "parse_error"


class EmptyArticle(InputError):
    """The document parsed but has no article content."""

    error_type = "empty_article"


class ValidationFailed(InputError):
    """The article's rows break the table contract."""

    error_type = "validation_error"


class TaxonomyError(NoteEtlError):
    """The subject taxonomy file is invalid; the message names the file and the line."""

    error_type = "taxonomy_error"


class WarehouseError(NoteEtlError):
    """The warehouse cannot be read or written (lock timeout, bad URI, ...)."""
