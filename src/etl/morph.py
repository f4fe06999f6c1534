"""Morphological analysis with fugashi + unidic-lite (the dictionary ships in the wheel).

One tagger per thread, created on first use: building it loads the dictionary (~0.1 s),
which must not happen once per article, and a MeCab tagger must not be shared by threads.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import fugashi


class Token(NamedTuple):
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


_local = threading.local()


def _tagger() -> fugashi.Tagger:
    # One tagger per thread: a MeCab tagger is not thread-safe, and Prefect runs tasks in
    # threads; two batches sharing one tagger got each other's morphemes.
    tagger: fugashi.Tagger | None = getattr(_local, "tagger", None)
    if tagger is None:
        import fugashi

        tagger = _local.tagger = fugashi.Tagger()
    return tagger


def tokenize(text: str) -> list[Token]:
    """Split Japanese text into morphemes.

    >>> [t.surface for t in tokenize("データを活用")]
    ['データ', 'を', '活用']
    """
    return list(_tokenize(text))


@lru_cache(maxsize=4096)
def _tokenize(text: str) -> tuple[Token, ...]:
    # Cached: the subject matcher and the keyphrase extractor analyse the same pieces of
    # a segment one after the other.
    out: list[Token] = []
    for word in _tagger()(text):
        raw = word.feature_raw
        if '"' in raw:
            # A field holding a comma is quoted in the CSV; let fugashi parse those rare ones.
            f = word.feature
            base = getattr(f, "orthBase", None) or word.surface
            out.append(Token(word.surface, f.pos1 or "", f.pos2 or "", f.pos3 or "", f.pos4 or "", base))
            continue
        # Splitting the raw UniDic CSV is ~2x faster than building fugashi's named tuple.
        # Fields: pos1-4, cType, cForm, lForm, lemma, orth, pron, orthBase, ...; unknown
        # words have only the first six.
        p = raw.split(",")
        n = len(p)
        base = p[10] if n > 10 and p[10] not in ("*", "") else word.surface
        out.append(
            Token(
                word.surface,
                p[0],
                p[1] if n > 1 else "",
                p[2] if n > 2 else "",
                p[3] if n > 3 else "",
                base,
            )
        )
    return tuple(out)
