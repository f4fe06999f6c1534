"""Parser for note page text (``.txt``): one block per non-empty line.

The page-text form carries no markup, so every block leaves here with ``kind=None`` and
the classifier decides from the words, the position and what follows.
"""

from __future__ import annotations

from etl.errors import EmptyArticle
from etl.model import ArticleMeta, Block, ParsedDocument
from etl.normalize import clean_text


def parse_text(text: str) -> ParsedDocument:
    """Split page text into line blocks.

    >>> [b.text for b in parse_text("見出し画像\\n\\nタイトル\\n本文です。").blocks]
    ['見出し画像', 'タイトル', '本文です。']
    """
    lines = [clean_text(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    blocks = tuple(Block(text=line) for line in lines if line)
    if not blocks:
        raise EmptyArticle("no text: the file is empty or only whitespace")
    return ParsedDocument(source_format="text", meta=ArticleMeta(), blocks=blocks)
