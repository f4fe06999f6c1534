"""Morphological analysis with fugashi + unidic-lite (the dictionary ships in the wheel).

One tagger per process, created on first use: building it loads the dictionary (~0.1 s),
which must not happen once per article.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import fugashi


@dataclass(frozen=True, slots=True)
class Token:
    """One morpheme: surface form, part of speech (4 levels) and dictionary form.

    >>> Token("ガバメント", "名詞", "普通名詞", "一般", "*", "ガバメント").is_noun
    True
    """

    surface: str
    pos1: str
    pos2: str
    pos3: str
    pos4: str
    base: str

    @property
    def is_noun(self) -> bool:
        return self.pos1 == "名詞"

    @property
    def is_surname(self) -> bool:
        return self.pos1 == "名詞" and self.pos3 == "人名" and self.pos4 == "姓"

    @property
    def is_person_name(self) -> bool:
        return self.pos1 == "名詞" and self.pos3 == "人名"


@lru_cache(maxsize=1)
def _tagger() -> fugashi.Tagger:
    import fugashi

    return fugashi.Tagger()


def tokenize(text: str) -> list[Token]:
    """Split Japanese text into morphemes.

    >>> [t.surface for t in tokenize("データを活用")]
    ['データ', 'を', '活用']
    """
    out: list[Token] = []
    for word in _tagger()(text):
        f = word.feature
        # orthBase is the dictionary form as written (活かし -> 活かす); fall back to the
        # surface for unknown words, whose feature fields are empty.
        base = getattr(f, "orthBase", None) or word.surface
        out.append(Token(word.surface, f.pos1 or "", f.pos2 or "", f.pos3 or "", f.pos4 or "", base))
    return out
