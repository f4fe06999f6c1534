"""Morphological analysis with fugashi + unidic-lite (the dictionary ships in the wheel).

One tagger per thread, created on first use: building it loads the dictionary (~0.1 s),
which must not happen once per article, and a MeCab tagger must not be shared by threads.
"""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Final, NamedTuple, TypeVar

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


# MeCab writes each morpheme as one tab-separated line itself: surface, left context id
# and orthBase (UniDic's field 10) for a dictionary word; surface and pos1-4 for an unknown
# word (no base form: the surface stands in). Reading that string is ~2x faster than
# building fugashi's node objects one by one. A dictionary word's parts of speech come from
# its context id: the dictionary's left-id.def names each id by the rewritten features of
# its words, and every left rewrite rule (rewrite.def) keeps pos1-4 as they are, so the
# id's first four fields are the word's pos1-4. (Not so for unknown words: unk.def sets
# their ids by hand, "-" as 記号 has the id of a サ変 noun.) Printing an id instead of four
# fields halves the bytes MeCab writes and Python splits and hashes. The
# dictionary's own output type (dicrc: output-format-type = unidic) must be switched off,
# or MeCab ignores these formats. Fields are tab-separated: a base form may hold a comma.
_FORMAT_ARGS: Final = (
    "--output-format-type=",
    r"--node-format=%m\t%phl\t%f[10]\n",
    r"--unk-format=%m\t%f[0]\t%f[1]\t%f[2]\t%f[3]\n",
    "--bos-format=",
    # fugashi strips the output, which would cut the empty fields of the last morpheme.
    r"--eos-format=EOS\n",
)


def _parts_of_speech(left_ids: str) -> tuple[tuple[str, str, str, str], ...]:
    """pos1-4 of each left context id, from the text of a dictionary's left-id.def.

    >>> _parts_of_speech("0 BOS/EOS,*,*,*,*,*,BOS/EOS\\n1 名詞,普通名詞,一般,*,*,*,*,*,和\\n")[1]
    ('名詞', '普通名詞', '一般', '*')
    """
    table: dict[int, tuple[str, str, str, str]] = {}
    for line in left_ids.splitlines():
        if line.strip():
            number, features = line.split(" ", 1)
            p1, p2, p3, p4 = features.split(",")[:4]
            # Parts of speech are a few hundred strings: share one copy of each.
            table[int(number)] = (sys.intern(p1), sys.intern(p2), sys.intern(p3), sys.intern(p4))
    return tuple(table.get(i, ("*", "*", "*", "*")) for i in range(max(table, default=-1) + 1))


_TAGGER_LOCK = threading.Lock()
_TAGGER: list[fugashi.GenericTagger] = []  # the process's one tagger, made on first use
_POS: list[tuple[tuple[str, str, str, str], ...]] = []  # its left context id -> pos1-4


def _parse(text: str) -> str:
    """MeCab's output for ``text`` from the process's one tagger.

    One tagger per process, used under a lock: a MeCab tagger is not thread-safe (Prefect
    runs tasks in threads; two batches sharing one unguarded tagger got each other's
    morphemes), and a tagger per thread maps the dictionary again for each thread (the
    end of a run scores keyphrases on four threads: 170 MB more). fugashi's parse holds
    the GIL, so the lock costs no parallelism.
    """
    with _TAGGER_LOCK:
        if not _TAGGER:
            import fugashi
            import unidic_lite

            dicdir = unidic_lite.DICDIR
            with open(f"{dicdir}/left-id.def", encoding="utf-8") as fh:
                _POS.append(_parts_of_speech(fh.read()))
            args = [f"--dicdir={dicdir}", f"--rcfile={dicdir}/dicrc", *_FORMAT_ARGS]
            # fugashi splits the argument string like a shell: quote each one.
            _TAGGER.append(fugashi.GenericTagger(" ".join(f'"{a}"' for a in args)))
        return str(_TAGGER[0].parse(text))


#: The most characters handed to MeCab in one call. MeCab's lattice grows with its input and
#: its cost with the length of runs of unknown characters: measured with unidic-lite, a run
#: of 32,768 katakana takes 1.5 s and 4,096 takes 0.03 s, and one call on about 1 M
#: characters of a repeated character segfaults the process (exit 139). Real paragraphs are
#: far shorter, so only giant texts are cut, at a sentence end or a space where there is one.
MAX_PARSE_CHARS: Final = 4096
_BREAKS: Final = "。．！？!?\n 　、，,"


def split_for_parse(text: str, limit: int = MAX_PARSE_CHARS) -> list[str]:
    """Pieces of ``text`` of at most ``limit`` characters, cut after a sentence end or a
    space in the last quarter of each piece when there is one, else at the limit.

    >>> split_for_parse("あいう。えお", 5)
    ['あいう。', 'えお']
    >>> [len(p) for p in split_for_parse("ア" * 10, 4)]
    [4, 4, 2]
    """
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        end = start + limit
        window = text[start + limit * 3 // 4 : end]
        cut = max(window.rfind(ch) for ch in _BREAKS)
        if cut >= 0:
            end = start + limit * 3 // 4 + cut + 1
        # Never cut a base character from its combining mark (a dakuten, say).
        while end - start > 1 and unicodedata.combining(text[end]):
            end -= 1
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    return pieces


def tokenize(text: str) -> tuple[Token, ...]:
    """Split Japanese text into morphemes (one shared, immutable tuple per text).

    A text longer than :data:`MAX_PARSE_CHARS` is analysed piece by piece
    (:func:`split_for_parse`), so no input can crash or stall MeCab.

    >>> [t.surface for t in tokenize("データを活用")]
    ['データ', 'を', '活用']
    """
    if len(text) <= MAX_PARSE_CHARS:
        return _tokenize(text)
    return tuple(tok for piece in split_for_parse(text) for tok in _tokenize(piece))


K = TypeVar("K")
V = TypeVar("V")

# MeCab's line for a morpheme -> its Token. Words repeat (の, を, デジタル, 、): looking a
# line up is ~3x cheaper than splitting it and building the tuple again. Bounded (about
# 25 MB when full, then cleared), so memory stays flat on any corpus.
_LINES_MAX: Final = 50_000


def _token_of(line: str) -> Token:
    fields = line.split("\t")
    if len(fields) == 3:  # a dictionary word: surface, left context id, base form
        surface, left_id, base = fields
        if not _POS:
            _parse("")  # the table is read with the tagger
        return Token(surface, *_POS[0][int(left_id)], base or surface)
    # An unknown word: surface and pos1-4. MeCab prints UniDic's "*" (no value) as an
    # empty field; keep UniDic's spelling, and share one copy of each part of speech.
    surface, pos1, pos2, pos3, pos4 = fields
    return Token(
        surface,
        sys.intern(pos1),
        sys.intern(pos2 or "*"),
        sys.intern(pos3 or "*"),
        sys.intern(pos4 or "*"),
        surface,
    )


class Memo(dict[K, V]):
    """A bounded memo of ``fn``: a miss computes and keeps ``fn(key)``; full, it starts over.

    A dict, so a lookup of a hit (``memo[key]``, or ``map(memo.__getitem__, keys)``) runs
    in C; memory stays bounded on any corpus.

    >>> m = Memo(len, 2); m["ab"], m["abc"], m["x"], len(m)
    (2, 3, 1, 1)
    """

    def __init__(self, fn: Callable[[K], V], limit: int) -> None:
        super().__init__()
        self.fn, self.limit = fn, limit

    def __missing__(self, key: K) -> V:
        value = self.fn(key)
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


_LINES: Memo[str, Token] = Memo(_token_of, _LINES_MAX)


def _tokenize(text: str) -> tuple[Token, ...]:
    return _analyse(text)[0]


@lru_cache(maxsize=4096)
def _analyse(text: str) -> tuple[tuple[Token, ...], str]:
    """The morphemes of ``text`` (at most :data:`MAX_PARSE_CHARS` long) and their
    :func:`token_codes`, both read from MeCab's lines.

    Cached: the facet cues, the subject matcher and the keyphrase extractor read the same
    pieces of a segment one after the other.
    """
    lines = _parse(text).split("\n")
    # MeCab's output is one line per morpheme, then EOS (fugashi strips the final newline);
    # a morpheme's line has tab-separated fields, so it is never empty nor a bare "EOS".
    # That line dropped, the rest is looked up in one pass in C (checked, not assumed).
    if lines[-1] == "EOS":
        del lines[-1]
    if "" in lines or "EOS" in lines:
        lines = [line for line in lines if line and line != "EOS"]
    # The lines are looked up twice: their hashes are computed once (a str keeps its hash).
    return tuple(map(_LINES.__getitem__, lines)), "".join(map(_LINE_CODES.__getitem__, lines))


# C0/C1 controls: MeCab reads a C string, so a NUL would silently end the analysed text.
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


#: One character per morpheme, for the stages that scan a text's words (see :func:`token_code`).
NOUN: Final = "N"  # 名詞, neither a person's name nor a verbal noun
VERBAL_NOUN: Final = "S"  # 名詞 サ変可能 (紹介, 活用)
NAME: Final = "M"  # 名詞 人名
NAME_JOINER: Final = "m"  # 名詞 人名 spelled "-" or "." (none in UniDic; kept apart to be exact)
HONORIFIC: Final = "H"  # 接頭辞 お, ご, 御
PREFIX: Final = "P"  # any other 接頭辞
NOUN_SUFFIX: Final = "X"  # 接尾辞 名詞的 (庁 in デジタル庁)
JOINER: Final = "J"  # "-" or "." (joins ASCII words: e-Gov, Node.js)
GENITIVE_NO: Final = "n"  # the particle の
OTHER: Final = "o"
_HONORIFICS: Final = frozenset({"お", "ご", "御"})
_JOINERS: Final = frozenset({"-", "."})


def token_code(tok: Token) -> str:
    """The one-character class of a morpheme: the first of the classes above that fits.

    >>> token_code(Token("デジタル", "名詞", "普通名詞", "一般", "*", "デジタル"))
    'N'
    >>> token_code(Token("の", "助詞", "格助詞", "*", "*", "の"))
    'n'
    """
    pos1 = tok.pos1
    if pos1 == "名詞":
        if tok.pos3 == "人名":
            return NAME_JOINER if tok.surface in _JOINERS else NAME
        return VERBAL_NOUN if tok.pos3 == "サ変可能" else NOUN
    if pos1 == "接頭辞":
        return HONORIFIC if tok.surface in _HONORIFICS else PREFIX
    if pos1 == "接尾辞" and tok.pos2 == "名詞的":
        return NOUN_SUFFIX
    if tok.surface in _JOINERS:
        return JOINER
    if tok.surface == "の" and pos1 == "助詞":
        return GENITIVE_NO
    return OTHER


#: Token -> :func:`token_code`, worked out once per distinct morpheme (bounded).
_CODES: Memo[Token, str] = Memo(token_code, _LINES_MAX)
#: MeCab's line for a morpheme -> the :func:`token_code` of its Token (bounded).
_LINE_CODES: Memo[str, str] = Memo(lambda line: token_code(_LINES[line]), _LINES_MAX)


def token_codes(tokens: Sequence[Token]) -> str:
    """:func:`token_code` of each morpheme, as one string (one character per morpheme).

    >>> token_codes(tokenize("データの活用"))
    'NnS'
    """
    return "".join(map(_CODES.__getitem__, tokens))


class TextTokens(NamedTuple):
    """One text analysed once, for every stage that reads its words.

    ``nfkc`` is the text in NFKC; ``pieces`` are its whitespace-separated parts (controls
    count as spaces), each NFKC already and without whitespace; ``tokens`` holds each
    piece's morphemes and ``codes`` their :func:`token_codes`. The subject matcher and the
    keyphrase extractor both read these pieces: MeCab drops whitespace, and a space is a
    word boundary they must still see.

    >>> tt = text_tokens("ＧＳＳ の 業務")
    >>> tt.pieces, [t.surface for t in tt.tokens[2]], tt.codes
    (('GSS', 'の', '業務'), ['業務'], ('N', 'n', 'N'))
    """

    text: str
    nfkc: str
    pieces: tuple[str, ...]
    tokens: tuple[tuple[Token, ...], ...]
    codes: tuple[str, ...]


def analyse_text(text: str) -> TextTokens:
    """Analyse ``text`` piece by piece (see :class:`TextTokens`), not memoised: for a
    caller with a memo of its own, so the texts do not crowd :func:`text_tokens`' memo
    (each piece's morphemes are still :func:`tokenize`'s, memoised).

    >>> analyse_text("").pieces
    ()
    """
    nfkc = unicodedata.normalize("NFKC", text)
    cleaned = _CONTROL.sub(" ", nfkc) if _CONTROL.search(nfkc) else nfkc
    # str.split() cuts at the whitespace re's \s matches (every code point is checked in
    # tests/test_morph.py), with no empty ends to filter out.
    pieces = tuple(cleaned.split())
    if max(map(len, pieces), default=0) <= MAX_PARSE_CHARS:
        # Each piece's morphemes and codes from one memo entry (what tokenize and
        # token_codes give).
        analysed = tuple(map(_analyse, pieces))
        tokens = tuple(a[0] for a in analysed)
        return TextTokens(text, nfkc, pieces, tokens, tuple(a[1] for a in analysed))
    tokens = tuple(tokenize(p) for p in pieces)
    return TextTokens(text, nfkc, pieces, tokens, tuple(map(token_codes, tokens)))


@lru_cache(maxsize=4096)
def text_tokens(text: str) -> TextTokens:
    """:func:`analyse_text`, memoised (the result is immutable).

    >>> text_tokens("データ の").codes
    ('N', 'n')
    """
    return analyse_text(text)
