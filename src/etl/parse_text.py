"""Parser for note page text (``.txt``): one block per non-empty line.

The page-text form carries no markup, so every block leaves here with ``kind=None`` and
the classifier decides from the words, the position and what follows.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from etl.errors import EmptyArticle
from etl.model import ArticleMeta, Block, ParsedDocument
from etl.normalize import clean_text

# What makes clean_text do more than strip: zero-width marks, controls, CR, a space other
# than U+0020 that it collapses, two spaces in a row. (A newline is asked about apart.)
_UNCLEAN_RE: Final = re.compile(
    "[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\r\t\u00a0\u2000-\u200a\u202f\u205f]|  "
)


def _clean_already(text: str) -> bool:
    """Whether clean_text would only strip each line of ``text`` (the common case)."""
    return _UNCLEAN_RE.search(text) is None and unicodedata.is_normalized("NFC", text)


def clean_line(text: str) -> str:
    """:func:`etl.normalize.clean_text`, skipping its passes when nothing needs them.

    >>> clean_line(" 山田 花子 "), clean_line("山田\\u200b  花子")
    ('山田 花子', '山田 花子')
    """
    if "\n" not in text and _clean_already(text):
        return text.strip()
    return clean_text(text)


def parse_text(text: str) -> ParsedDocument:
    """Split page text into line blocks.

    >>> [b.text for b in parse_text("見出し画像\\n\\nタイトル\\n本文です。").blocks]
    ['見出し画像', 'タイトル', '本文です。']
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # NFC never composes across a newline, so a text that is clean as a whole is clean
    # line by line, and each line's clean_text is its strip().
    clean = str.strip if _clean_already(text) else clean_text
    lines = [clean(line) for line in text.split("\n")]
    blocks = tuple(Block(text=line) for line in lines if line)
    if not blocks:
        raise EmptyArticle("no text: the file is empty or only whitespace")
    return ParsedDocument(source_format="text", meta=ArticleMeta(), blocks=blocks)
