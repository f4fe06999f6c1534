"""Text normalisation: clean text for storage, NFKC keys for matching.

The stored text keeps the author's characters (full-width digits stay full-width);
NFKC is used only to build match keys, so 表記ゆれ of width does not hide a match.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Zero-width and BOM characters that note's editor leaves behind; invisible, never content.
_INVISIBLE: Final = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# C0/C1 controls except tab/newline, which text cannot meaningfully contain.
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_HSPACE: Final = re.compile("[ \t\u00a0\u2000-\u200a\u202f\u205f]+")
_WS: Final = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Clean one block's text: NFC, no controls or zero-width marks, spaces tidied.

    Runs of ASCII-like spaces become one space; the ideographic space (U+3000) is kept,
    because Japanese authors use it deliberately. Idempotent.

    >>> clean_text("  山田\u200b 花子\t ")
    '山田 花子'
    """
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HSPACE.sub(" ", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def match_key(text: str) -> str:
    """NFKC, lower-cased, without whitespace: the form used for every match.

    >>> match_key("ＧＳＳ の  業務環境")
    'gssの業務環境'
    """
    return _WS.sub("", unicodedata.normalize("NFKC", text)).lower()
