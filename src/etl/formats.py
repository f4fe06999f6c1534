"""The input formats: which extension is which format, and the parser of each.

>>> format_of("raw/a.html"), FORMAT_PRIORITY["note_api"] > FORMAT_PRIORITY["text"]
('html', True)
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Final

from etl.errors import UnsupportedFormat
from etl.model import ParsedDocument, SourceFormat

FORMATS: Final[dict[str, SourceFormat]] = {
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".html": "html",
    ".htm": "html",
    ".json": "note_api",
}
# When two inputs are the same article (same note key), the richer source wins: the API
# answer has exact metadata, a saved page has the chrome, page text has neither.
FORMAT_PRIORITY: Final[dict[str, int]] = {"note_api": 3, "html": 2, "text": 1}


def format_of(source_path: str) -> SourceFormat:
    """The input format a file's extension names.

    >>> format_of("raw/note/digital_jp/nd9314f0e9d9f.json")
    'note_api'
    """
    suffix = PurePosixPath(source_path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        raise UnsupportedFormat(
            f"unknown extension {suffix or '(none)'!r}: expected one of {', '.join(sorted(FORMATS))}",
            source_path=source_path,
        ) from None


def parse(fmt: SourceFormat, text: str) -> ParsedDocument:
    """Run the parser of one format.

    >>> parse("text", "タイトル\\n本文。").blocks[1].text
    '本文。'
    """
    if fmt == "html":
        from etl.parse_html import parse_html

        return parse_html(text)
    if fmt == "note_api":
        from etl.parse_note_api import parse_note_api

        return parse_note_api(text)
    from etl.parse_text import parse_text

    return parse_text(text)
