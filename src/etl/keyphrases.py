"""Keyphrases: compound nouns of a segment, scored by TF-IDF against the corpus.

They complement the taxonomy: a subject nobody put in ``config/topics.yaml`` still shows up
as a phrase (政策データダッシュボード, 省庁業務サービスグループ). Extraction works on the NFKC
text, so ＧＳＳ and GSS are one phrase across articles.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache, partial
from typing import Any, Final, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from etl.morph import Memo, TextTokens, Token, text_tokens, tokenize

_STOP_TEXT: Final = """
    こと もの ため よう ところ ほう とき わけ はず 方 中 上 下 前 後 的 等 際 時 点 所 事 物 人 者
    皆 皆さん 皆さま 皆様 方々 私 私たち 僕 我々 われわれ 自分 自分たち 自身 ご自身 本人
    今 今回 今後 現在 当時 最近 以前 以降 以上 以下 以外 場合 必要 一方 他 ほか その他 各種
    一つ ひとつ 一人 それぞれ 全て すべて 多く 一部 通り 程度 感じ 次 先 最初 最後 たくさん
    みなさん みなさま 皆さま みんな わたし わたしたち ぼく 弊社 当社 こちら 人たち 人々 方たち 年度中 担当者
    今日 本日 先日 前回 次回 今年 昨年 去年 来年 毎日 毎年 実際 本当 正直 個人的
    上記 本題 一緒 お疲れ様 お疲れさま お客様 お客さま お知らせ お話 話 質問 回答 記事
    投稿 画像 写真 リンク 追記 笑
    a an and by for in of on or the to with
"""
#: Formal and abstract nouns that are never a subject on their own (only whole phrases are
#: dropped: こと alone goes, but 仕事 or 事業者 stay).
STOP_PHRASES: Final = frozenset(_STOP_TEXT.split())

# Inside e-Gov or Node.js the analyser cuts at the symbol; joined back between ASCII words.
_ASCII_JOINERS: Final = frozenset({"-", "."})
#: Compound length stops adding termhood here (see :func:`weight`).
MAX_PARTS: Final = 3
#: How much a phrase the writer set off as a term (quoted whole, or defined) weighs more.
MARKED_BOOST: Final = 2.0
_BOOST: Final = (1.0, MARKED_BOOST)  # by whether a phrase is marked
# A noun that on its own is adverbial (現在, 一方) or adjectival (必要, 安全) is not a topic.
_WEAK_SINGLE: Final = frozenset({"副詞可能", "形状詞可能"})
# Honorific prefixes before a verbal noun are politeness, not content: ご紹介 is 紹介. Before
# any other noun the prefix is part of the word (お疲れ様, お知らせ): dropping it would leave
# a stem that is no word at all (疲れ様), so the prefix stays and the stop list judges the word.
_HONORIFIC: Final = frozenset({"お", "ご", "御"})
# Formal nouns at the edge of a run are grammar, not part of a name: 「そのため応募」 is 応募.
_FORMAL_EDGE: Final = frozenset(
    {
        "こと",
        "もの",
        "ため",
        "よう",
        "ところ",
        "ほう",
        "とき",
        "わけ",
        "はず",
        "うち",
        "まま",
        "ほか",
        "たび",
        "ごと",
        "なか",
        "あと",
        "つもり",
        "せい",
        "おかげ",
        "くらい",
        "ぐらい",
        "ほど",
        "など",
    }
)
# Suffixes that address or name a person (みなさん, 担当者様): people, not topics.
_PERSON_SUFFIX: Final = frozenset({"さん", "様", "さま", "氏", "君", "くん", "ちゃん", "殿", "各位"})
# Suffixes that only place a thing (長野県内, 市内全域): the same subject as the bare phrase,
# so an article's 長野県内 is counted as 長野県 when both occur.
_PLACE_SUFFIX: Final = frozenset(
    {"内", "中", "全体", "全域", "全般", "周辺", "側", "向け", "以外", "外", "等"}
)
# "LANやPC等" lists examples; 等 closes the list and is not part of the last one.
_TRAILING_DROP: Final = frozenset({"等"})


class Phrase(NamedTuple):
    """A compound noun, its dictionary form and how often it occurs in the text.

    An immutable record, as a named tuple: an article makes some thousand of them, and a
    tuple is built several times faster than a frozen dataclass.

    >>> Phrase("ガバメントクラウド", "ガバメントクラウド", 2).count
    2
    """

    phrase: str
    base_form: str
    # The field hides tuple.count, which no caller wants of a phrase; the stored column is
    # called count.
    count: int  # type: ignore[assignment]
    parts: int = 1  # morphemes in the compound: ガバメント+クラウド is 2
    marked: int = 0  # occurrences marked as a term: 「ガバメントクラウド」, ガバメントクラウドとは


# A Phrase of its fields, in order: Phrase._make without the Python frame (it is
# tuple.__new__ all the same), for the hundred thousand phrases of a corpus.
_PHRASE: Final[Callable[[Iterable[Any]], Phrase]] = partial(tuple.__new__, Phrase)
# Fields read in C, for passes over all of an article's phrases.
_SPELLING: Final = operator.itemgetter(0)  # Phrase.phrase
_BASE_FORM: Final = operator.itemgetter(1)  # Phrase.base_form
_PHRASE_OF_ROW: Final = operator.itemgetter(1)  # the Phrase of a (segment_id, Phrase) row
_COUNT: Final = operator.itemgetter(2)  # Phrase.count
_PARTS: Final = operator.itemgetter(3)  # Phrase.parts
_MARKED: Final = operator.itemgetter(4)  # Phrase.marked


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZC"


def _is_ascii_word(s: str, *, at_end: bool) -> bool:
    ch = s[-1] if at_end else s[0]
    return ch.isascii() and ch.isalnum()


def _keep(tokens: Sequence[Token], phrase: str) -> bool:
    """Whether the run ``tokens`` (spelled ``phrase``) is a keyphrase (see extract_phrases)."""
    if len(phrase) < 2 or phrase in STOP_PHRASES:
        return False
    category = unicodedata.category
    head = category(phrase[0])
    if head[0] in "PSZC" or category(phrase[-1])[0] in "PSZC":
        return False
    if head == "Nd" and all(category(ch)[0] in "PSZC" or category(ch) == "Nd" for ch in phrase):
        return False  # 2023, 1.5, 10-20
    # Prefixes aside: 約300 and 約3割 are quantities like 300 and 3割.
    core = tokens
    if tokens[0].pos1 == "接頭辞":
        core = tokens[next((i for i, t in enumerate(tokens) if t.pos1 != "接頭辞"), 0) :]
    if all(t.pos2 == "数詞" for t in core):
        return False  # 数千万, 百
    if len(tokens) == 1 and tokens[0].pos3 in _WEAK_SINGLE:
        return False
    if tokens[-1].surface in _PERSON_SUFFIX and tokens[-1].pos1 == "接尾辞":
        return False
    # A date or quantity in front (2023年12月, 3人, 1年目) makes a phrase about when/how
    # many, not about what; 5G or 3D地図 (number + a plain noun) are kept.
    if core[0].pos2 != "数詞" or len(core) < 2:
        return True
    second = core[1]
    return not (second.pos3 == "助数詞可能" or second.pos1 == "接尾辞" or second.surface in {"年度", "年代"})


def _extends(tokens: Sequence[Token], i: int, last: Token) -> bool:
    """Whether tokens[i], not a noun, still belongs to the compound ending in ``last``."""
    tok = tokens[i]
    if tok.pos1 == "接尾辞" and tok.pos2 == "名詞的":  # デジタル+庁, 在籍+中
        return True
    return (
        tok.surface in _ASCII_JOINERS
        and i + 1 < len(tokens)
        and tokens[i + 1].is_noun
        and _is_ascii_word(last.surface, at_end=True)
        and _is_ascii_word(tokens[i + 1].surface, at_end=False)
    )


def _runs(
    tokens: Sequence[Token], lo: int = 0, hi: int | None = None
) -> Iterable[tuple[list[Token], int, int]]:
    """Maximal compound nouns: [接頭辞] 名詞 (名詞 | 接尾辞(名詞的) | [接頭辞] 名詞)*.

    Each run comes with the index of the token before it and of the token after it.
    ``lo``, ``hi``: only the tokens in ``tokens[lo:hi]`` (the ones around still decide
    whether a joiner joins and whether a run starts inside a word).
    """
    run: list[Token] = []
    start = 0
    prefixes: list[Token] = []  # held until we know a noun follows (各 + 府省庁)
    honorific: Token | None = None  # お/ご right before this token
    for i in range(lo, len(tokens) if hi is None else hi):
        tok = tokens[i]
        pos1 = tok.pos1  # fields, not the Token properties: this loop sees every morpheme
        if pos1 == "名詞" and tok.pos3 != "人名":
            if honorific is not None and tok.pos3 != "サ変可能":
                prefixes.insert(0, honorific)  # お知らせ, お疲れ様: the prefix is part of the word
            honorific = None
            if not run:
                start = i - len(prefixes)
            run.extend(prefixes)
            prefixes = []
            run.append(tok)
        elif pos1 == "接頭辞":
            if tok.surface not in _HONORIFIC:
                prefixes.append(tok)
                continue
            # 登壇者ご紹介: the honorific starts a new word, so the compound ends before it.
            if run:
                yield _trimmed(run, start, tokens[start - 1] if start > 0 else None)
            run, prefixes, honorific = [], [], tok
            continue
        elif run and not prefixes and _extends(tokens, i, run[-1]):
            run.append(tok)
        else:
            honorific = None
            # Person names break a run too: speakers have their own table, and
            # "オバマ大統領" is about the office, not a subject called オバマ.
            if run:
                yield _trimmed(run, start, tokens[start - 1] if start > 0 else None)
            run, prefixes = [], []
    if run:
        yield _trimmed(run, start, tokens[start - 1] if start > 0 else None)


# Parts of speech of a kana token that do not end a word where the next one starts.
_NOT_A_BOUNDARY: Final = frozenset({"感動詞", "副詞", "形状詞", "連体詞", "接頭辞"})


def _plain_noun(tok: Token) -> bool:
    """A noun spelled without Latin letters or digits, and not a counter (年, 人, 件)."""
    return (
        tok.pos1 in ("名詞", "接尾辞")
        and tok.pos2 != "数詞"
        and not tok.pos3.startswith("助数詞")
        and not any(ch.isascii() and ch.isalnum() for ch in tok.surface)
    )


_HIRAGANA_RE: Final = re.compile("[\u3041-\u309f]*")


def _hiragana(s: str) -> bool:
    return _HIRAGANA_RE.fullmatch(s) is not None


def _trimmed(run: list[Token], start: int, before: Token | None = None) -> tuple[list[Token], int, int]:
    # 「あおばやし」 read as あ + お + ばやし: a run that starts in kana right after a kana
    # word other than a particle begins inside a word the dictionary does not know.
    after_kana_word = before is not None and before.pos1 in _NOT_A_BOUNDARY and _hiragana(before.surface)
    if len(run) == 1:  # most runs: only the kana rule can apply
        if after_kana_word and _hiragana(run[0].surface):
            run = []
        return run, start - 1, start + len(run)
    if after_kana_word:
        while len(run) > 1 and (_hiragana(run[0].surface) or run[0].pos1 == "接頭辞"):
            run, start = run[1:], start + 1
        if len(run) == 1 and _hiragana(run[0].surface):
            run = []
    # A list number before a noun (①書類選考 is 1書類選考 in NFKC) or after it (出演者1:).
    if len(run) > 1 and run[0].pos2 == "数詞" and run[1].pos2 != "数詞" and _plain_noun(run[1]):
        run, start = run[1:], start + 1
    if len(run) > 1 and run[-1].pos2 == "数詞" and run[-2].pos2 != "数詞" and _plain_noun(run[-2]):
        run = run[:-1]
    while len(run) > 1 and run[-1].pos1 == "接尾辞" and run[-1].surface in _TRAILING_DROP:
        run = run[:-1]
    while len(run) > 1 and run[0].surface in _FORMAL_EDGE and run[0].pos1 == "名詞":
        run, start = run[1:], start + 1
    while len(run) > 1 and run[-1].surface in _FORMAL_EDGE and run[-1].pos1 == "名詞":
        run = run[:-1]
    return run, start - 1, start + len(run)


# A quotation that holds just the phrase names a thing: 「ガバメントクラウド」, 『GSS(…)』.
_OPEN_QUOTES: Final = frozenset('「『【“"')
_CLOSE_QUOTES: Final = frozenset('」』】”"')
_CLOSE_OR_PAREN: Final = _CLOSE_QUOTES | {"("}  # what may follow a quoted term


def _is_marked(tokens: Sequence[Token], before: int, after: int) -> bool:
    """Whether the phrase between ``before`` and ``after`` is set off as a term.

    Writers mark the terms an article is about: they quote them whole, often with the
    expansion of an abbreviation after them (「GSS(ガバメント…)」), or define them
    (ガバメントクラウドとは、…). Generic nouns are rarely written either way.
    """
    nxt = tokens[after].surface if after < len(tokens) else ""
    if before >= 0 and tokens[before].surface in _OPEN_QUOTES and (nxt in _CLOSE_QUOTES or nxt == "("):
        return True
    return (
        nxt == "と"
        and after + 1 < len(tokens)
        and tokens[after + 1].surface == "は"
        and tokens[after + 1].pos1 == "助詞"
    )


def extract_phrases(text: str, tokens: TextTokens | None = None) -> list[Phrase]:
    """Compound nouns of ``text`` with their counts, in order of first occurrence.

    Consecutive nouns are joined (with a prefix before and 名詞的 suffixes after them); numbers,
    one-character phrases, phrases starting or ending with a symbol and the formal nouns of
    :data:`STOP_PHRASES` are dropped. Whitespace always ends a phrase. A phrase is identified
    by its ``base_form`` (here and in the scoring functions); ``phrase`` is its first spelling.

    ``tokens``: the text's :func:`~etl.morph.text_tokens` if the caller has them already.

    >>> [(p.phrase, p.count) for p in extract_phrases("クラウドのこと。各府省庁のクラウド")]
    [('クラウド', 2), ('各府省庁', 1)]
    """
    known = _PHRASES.get(text)
    if known is None:
        known = _extract(tokens if tokens is not None else text_tokens(text))
        if len(_PHRASES) >= _PHRASES_MAX:
            _PHRASES.clear()
        _PHRASES[text] = known
    return list(known)


# The phrases of the texts met last (a recurring heading or line is not analysed again);
# bounded, then started afresh. Phrases are immutable.
_PHRASES: dict[str, tuple[Phrase, ...]] = {}
_PHRASES_MAX: Final = 4096


# Where _runs can find a compound: a stretch of morphemes the run loop does not break at
# (nouns, prefixes, 名詞的 suffixes, joiners; see morph.token_code) holding a noun. Any other
# morpheme resets the loop (it ends the run and drops held prefixes and honorifics), so the
# loop run on each stretch alone yields what it yields on the whole piece.
_STRETCH: Final = re.compile("[HPXJm]*[NS][NSHPXJm]*")


#: A single noun's phrase when kept on its own: spelling, base form, compound parts, and
#: whether it is spelled in hiragana (then the kana rule of _trimmed may drop it).
_Single = tuple[str, str, int, bool]


def _single_phrase(tok: Token) -> _Single | tuple[()]:
    """A morpheme's phrase if it is a keyphrase on its own (:func:`_keep` of a
    one-morpheme run), else ``()``; worked out once per distinct morpheme."""
    if not _keep((tok,), tok.surface):
        return ()
    return (tok.surface, tok.base, compound_parts(tok.surface), _hiragana(tok.surface))


_SINGLE_MAX: Final = 50_000
_SINGLE: Memo[Token, _Single | tuple[()]] = Memo(_single_phrase, _SINGLE_MAX)


def _extract(tt: TextTokens) -> tuple[Phrase, ...]:
    # base form -> [first spelling, base form, count, parts, marked] (a Phrase's fields),
    # in order of first occurrence; a later spelling counts its parts in. The counting and,
    # for single nouns, _is_marked are spelled out: the loop runs for every occurrence.
    acc: dict[str, list[Any]] = {}
    get = acc.get
    single, stretches = _SINGLE, _STRETCHES
    for tokens, codes in zip(tt.tokens, tt.codes, strict=True):
        n = len(tokens)
        for stretch in _STRETCH.finditer(codes):
            lo, hi = stretch.span()
            if hi - lo == 1:
                # One noun between morphemes that end compounds (most runs): _runs gives
                # it as it is, unless the kana rule of _trimmed drops it.
                known = single[tokens[lo]]
                if not known:
                    continue
                phrase, base, parts, kana = known
                if kana and lo > 0:
                    before = tokens[lo - 1]
                    if before.pos1 in _NOT_A_BOUNDARY and _hiragana(before.surface):
                        continue
                marked = 0  # _is_marked(tokens, lo - 1, hi)
                if hi < n:
                    nxt = tokens[hi].surface
                    if nxt == "と":
                        if hi + 1 < n and tokens[hi + 1].surface == "は" and tokens[hi + 1].pos1 == "助詞":
                            marked = 1
                    elif nxt in _CLOSE_OR_PAREN and lo > 0 and tokens[lo - 1].surface in _OPEN_QUOTES:
                        marked = 1
                entry = get(base)
                if entry is None:
                    acc[base] = [phrase, base, 1, parts, marked]
                else:
                    entry[2] += 1
                    if phrase != entry[0]:  # the first spelling's parts are counted in already
                        entry[3] = max(entry[3], parts)
                    entry[4] += marked
                continue
            # What the loop makes of a stretch depends on its morphemes, the one before
            # (the kana rule) and the one after (a joiner looks ahead), and on whether the
            # piece ends there; marking looks further and is decided per occurrence.
            key = (tokens[lo - 1] if lo else None, hi - lo, tokens[lo : hi + 1])
            found = stretches.get(key)
            if found is None:
                found = _stretch_phrases(tokens, lo, hi)
                if len(stretches) >= _STRETCHES_MAX:
                    stretches.clear()
                stretches[key] = found
            for phrase, base, parts, before_i, after_i in found:
                marked = 1 if _is_marked(tokens, lo + before_i, lo + after_i) else 0
                entry = get(base)
                if entry is None:
                    acc[base] = [phrase, base, 1, parts, marked]
                else:
                    entry[2] += 1
                    if phrase != entry[0]:
                        entry[3] = max(entry[3], parts)
                    entry[4] += marked
    return tuple(map(_PHRASE, acc.values()))


# Stretches of several morphemes met last -> their phrases (compounds recur: 業務環境,
# デジタル庁); bounded, then started afresh.
_Found = tuple[str, str, int, int, int]  # spelling, base form, parts, before, after
_STRETCHES: dict[tuple[Token | None, int, tuple[Token, ...]], tuple[_Found, ...]] = {}
_STRETCHES_MAX: Final = 4096


def _stretch_phrases(tokens: Sequence[Token], lo: int, hi: int) -> tuple[_Found, ...]:
    """The kept runs of ``tokens[lo:hi]``: spelling, base form, :func:`compound_parts`,
    and the indices of the morphemes before and after each, relative to ``lo``."""
    out: list[_Found] = []
    for run, before_i, after_i in _runs(tokens, lo, hi):
        phrase = "".join([t.surface for t in run])
        if _keep(run, phrase):
            base = "".join([t.base for t in run])
            out.append((phrase, base, compound_parts(phrase), before_i - lo, after_i - lo))
    return tuple(out)


def merge_phrases(groups: Iterable[Sequence[Phrase]]) -> list[Phrase]:
    """Add up the phrases of several segments (e.g. an article's) by base form, first seen first.

    >>> merge_phrases([[Phrase("データ流通", "データ流通", 1)], [Phrase("データ流通", "データ流通", 2)]])
    [Phrase(phrase='データ流通', base_form='データ流通', count=3, parts=1, marked=0)]
    """
    # base form -> [first spelling, base form, count, parts, marked], in order of first occurrence
    acc: dict[str, list[Any]] = {}
    get = acc.get
    for group in groups:
        # A Phrase unpacked at once (it is a tuple): cheaper than five attribute reads.
        for phrase, base, count, parts, marked in group:
            entry = get(base)
            if entry is None:
                acc[base] = [phrase, base, count, parts if parts > 1 else 1, marked]
            else:
                entry[2] += count
                if parts > entry[3]:
                    entry[3] = parts
                entry[4] += marked
    return list(map(_PHRASE, acc.values()))


#: Phrases in an article's ``keyphrases`` column.
ARTICLE_TOP: Final = 10
# Prefixes that only select among things (各府省庁, 全職員, 本研究科): the same subject.
_SELECT_PREFIX: Final = frozenset({"各", "全", "本", "同", "両", "当"})


def near_duplicates(phrases: Iterable[Phrase]) -> dict[str, str]:
    """Base forms to fold into a shorter phrase of the same text: ``{longer: shorter}``.

    A phrase that is another one plus a suffix that only places it (長野県内, 市内全域) or a
    prefix that only selects (各府省庁) names the same subject; folded only when the shorter
    phrase occurs too, so 県内 alone stays.

    >>> near_duplicates([Phrase("長野県内", "長野県内", 1), Phrase("長野県", "長野県", 2)])
    {'長野県内': '長野県'}
    """
    items = phrases if isinstance(phrases, list) else list(phrases)
    # Most phrases have no placing suffix nor selecting prefix: their core is None and
    # they fold into nothing. The cores are looked up in one pass in C.
    cores = list(map(_core, map(_SPELLING, items)))
    if cores.count(None) == len(cores):
        return {}
    bases = set(map(_BASE_FORM, items))
    out: dict[str, str] = {}
    for p, core in zip(items, cores, strict=True):
        if core is not None and core in bases and core != p.base_form:
            out[p.base_form] = core
    return out


@lru_cache(maxsize=4096)
def _core(phrase: str) -> str | None:
    """The base form of ``phrase`` without placing suffixes and selecting prefixes, or
    ``None`` when it has neither (memoised: an article asks about each phrase twice)."""
    tokens = [t for t in tokenize(phrase) if not t.pos1.startswith("補助記号")]
    lo, hi = 0, len(tokens)
    while hi - lo > 1 and tokens[hi - 1].pos1 == "接尾辞" and tokens[hi - 1].surface in _PLACE_SUFFIX:
        hi -= 1
    while hi - lo > 1 and tokens[lo].pos1 == "接頭辞" and tokens[lo].surface in _SELECT_PREFIX:
        lo += 1
    if (lo, hi) == (0, len(tokens)):
        return None
    return "".join(t.base for t in tokens[lo:hi])


def fold_near_duplicates(rows: Sequence[tuple[str, Phrase]]) -> list[tuple[str, Phrase]]:
    """An article's ``(segment_id, phrase)`` rows with near-duplicates folded (see above).

    Rows that become the same phrase in one segment are added up; every row is spelled as
    the last row of its base form is.

    >>> rows = [("s1", Phrase("長野県内", "長野県内", 1, 3)), ("s1", Phrase("長野県", "長野県", 1, 2))]
    >>> fold_near_duplicates(rows)
    [('s1', Phrase(phrase='長野県', base_form='長野県', count=2, parts=2, marked=0))]
    """
    folded = near_duplicates(list(map(_PHRASE_OF_ROW, rows)))
    if not folded:
        return list(rows)
    spelling = {p.base_form: p.phrase for _, p in rows}
    # (segment, base form) -> its row; a row neither folded nor re-spelled is kept as it
    # is, and a later row of the same key is added to it.
    acc: dict[tuple[str, str], Phrase] = {}
    for segment_id, p in rows:
        b = p.base_form
        base = folded.get(b, b)
        if base != b:
            q = Phrase(spelling[base], base, p.count, compound_parts(spelling[base]), p.marked)
        elif p.phrase != spelling[b]:
            q = Phrase(spelling[b], b, p.count, p.parts, p.marked)
        else:
            q = p
        key = (segment_id, base)
        prev = acc.get(key)
        if prev is None:
            acc[key] = q
        else:
            acc[key] = Phrase(
                prev.phrase, base, prev.count + q.count, max(prev.parts, q.parts), prev.marked + q.marked
            )
    return [(sid, p) for (sid, _), p in acc.items()]


def article_keyphrases(phrases: Iterable[Phrase], n: int = ARTICLE_TOP) -> list[str]:
    """The article's top ``n`` phrases, best first, each once (spellings as written).

    Ranked within the article alone, so the column does not change when other articles
    arrive: :func:`weight` with a constant IDF (repetition, compound length, marked terms).
    Near-duplicates are folded first; spellings equal after NFKC and case folding count once;
    a quantity inside a phrase (人口5万人, 週3日, 入社5年目) makes it a fact, not a subject,
    unless the writer set it off as a term (「人生100年時代」).

    >>> article_keyphrases([Phrase("データ", "データ", 3), Phrase("ガバメントクラウド", "ガバメントクラウド", 2, 2)])
    ['ガバメントクラウド', 'データ']
    """
    merged = merge_phrases([list(phrases)])
    # Folding rows of one segment gives what folding the phrases gives.
    if near_duplicates(merged):
        merged = list(map(_PHRASE_OF_ROW, fold_near_duplicates([("", p) for p in merged])))
    # weight(count, 1, 1, parts, marked), as (1 + ln count) * min(parts, 3) * boost: with one
    # document the IDF factor is exactly 1.0. Worked out in C, the same floating-point
    # operations in the same order; best first, ties in order (a stable sort, reversed).
    tf = map(operator.add, map(math.log, map(_COUNT, merged)), itertools.repeat(1.0))
    termhood = map(operator.mul, tf, map(min, map(_PARTS, merged), itertools.repeat(MAX_PARTS)))
    weights = list(map(operator.mul, termhood, map(_BOOST.__getitem__, map(bool, map(_MARKED, merged)))))
    ranked = map(merged.__getitem__, sorted(range(len(merged)), key=weights.__getitem__, reverse=True))
    out: list[str] = []
    seen: set[str] = set()
    for p in ranked:
        key = unicodedata.normalize("NFKC", p.phrase).casefold()
        if key in seen or (not p.marked and counts_something(p.phrase)):
            continue
        seen.add(key)
        out.append(p.phrase)
        if len(out) == n:
            break
    return out


def counts_something(phrase: str) -> bool:
    """Whether a phrase holds a number with its counter (週3日, 朝5時, 職員2人).

    >>> counts_something("朝5時"), counts_something("5G")
    (True, False)
    """
    return _counts_something(phrase)


@lru_cache(maxsize=4096)
def _counts_something(phrase: str) -> bool:
    tokens = tokenize(phrase)
    return any(
        a.pos2 == "数詞" and (b.pos3 == "助数詞可能" or b.pos1 == "接尾辞" or b.pos2 == "数詞")
        for a, b in itertools.pairwise(tokens)
    )


def document_frequencies(per_doc: Mapping[str, Sequence[Phrase]]) -> dict[str, int]:
    """In how many of these documents each base form occurs (add the warehouse's counts to it).

    >>> document_frequencies({"a": [Phrase("GSS", "GSS", 2)], "b": [Phrase("GSS", "GSS", 1)]})
    {'GSS': 2}
    """
    df: dict[str, int] = {}
    for phrases in per_doc.values():
        for base in dict.fromkeys(p.base_form for p in phrases):
            df[base] = df.get(base, 0) + 1
    return df


def score_phrases(
    per_doc: Mapping[str, Sequence[Phrase]], doc_freq: Mapping[str, int], n_docs: int
) -> dict[str, dict[str, float]]:
    """TF-IDF with termhood per document: ``{doc_id: {base_form: score}}``, best phrase 1.0.

    Each phrase gets :func:`weight`, divided by the document's maximum. A document's
    phrases may repeat (one entry per segment): counts are added up by base form.

    A pure function: the caller supplies ``doc_freq`` (by base form) and ``n_docs`` for the
    whole corpus, i.e. the current batch (:func:`document_frequencies`) plus what the
    warehouse already holds; both must include the documents in ``per_doc``. A phrase missing
    from ``doc_freq`` counts as occurring in one document. Best first; ties keep first
    occurrence order.

    >>> docs = {"a": [Phrase("GSS", "GSS", 1), Phrase("データ", "データ", 2)]}
    >>> score_phrases(docs, {"GSS": 1, "データ": 10}, n_docs=10)
    {'a': {'GSS': 1.0, 'データ': 0.626}}
    """
    if n_docs < max(1, len(per_doc)):
        raise ValueError(f"n_docs={n_docs} must count every scored document ({len(per_doc)})")
    out: dict[str, dict[str, float]] = {}
    for doc_id, phrases in per_doc.items():
        raw: dict[str, float] = {}
        for p in merge_phrases([phrases]):
            df = max(doc_freq.get(p.base_form, 0), 1)
            if df > n_docs:
                raise ValueError(f"document frequency {df} of {p.base_form!r} exceeds n_docs={n_docs}")
            raw[p.base_form] = weight(p.count, df, n_docs, p.parts, p.marked)
        top = max(raw.values(), default=0.0)
        ranked = sorted(raw.items(), key=lambda kv: -kv[1])  # stable: ties keep first occurrence
        out[doc_id] = {base: round(score / top, 4) for base, score in ranked} if top > 0 else {}
    return out


def weight(count: int, df: int, n_docs: int, parts: int, marked: int) -> float:
    """The unnormalised score of a phrase in one document.

    ``(1 + ln count) * (ln((1 + n_docs) / (1 + df)) + 1) * min(parts, 3) * (2 if marked else 1)``:

    - sublinear term frequency: a name repeated 26 times is not 26 times as telling;
    - smoothed IDF: a phrase in every document still counts;
    - termhood from the morphemes in the compound, since a longer compound noun names a
      more specific thing (政策データダッシュボード over データ; the length weighting of
      C-value-style term extraction), capped at three: past that the name is already
      specific, and official long names (官民データ活用推進基本法) would crowd out the rest;
    - termhood from the writer: a phrase quoted whole or defined with とは at least once is
      what the article is about, however often it recurs.

    The last two matter most where IDF cannot tell yet, in a corpus of one article.

    >>> weight(1, 1, 1, 1, 0), weight(1, 1, 1, 1, 1), weight(1, 1, 1, 6, 0)
    (1.0, 2.0, 3.0)
    """
    idf = math.log((1 + n_docs) / (1 + df)) + 1
    return (1 + math.log(count)) * idf * min(parts, MAX_PARTS) * (MARKED_BOOST if marked else 1.0)


@lru_cache(maxsize=4096)
def compound_parts(phrase: str) -> int:
    """Morphemes in a stored phrase, to weigh it again when the corpus changes.

    >>> compound_parts("ガバメントクラウド"), compound_parts("データ")
    (2, 1)
    """
    return max(1, sum(1 for t in tokenize(phrase) if not t.pos1.startswith("補助記号")))


def score_rows(
    article_ids: Sequence[str],
    base_forms: Sequence[str],
    phrases: Sequence[str],
    counts: Sequence[int],
    marked: Sequence[int],
    doc_freq: Mapping[str, int],
    n_docs: int,
) -> list[float]:
    """The score of each stored keyphrase row, as :func:`score_phrases` computes it.

    Rows are one phrase in one segment; counts are added up per article and base form,
    and each article's best phrase scores 1.0. A list front end of :func:`score_table`.

    >>> score_rows(["a", "a"], ["x", "y"], ["X", "Y"], [2, 1], [0, 0], {"x": 1, "y": 1}, 1)
    [1.0, 0.5906]
    """
    table = pa.table(
        {
            "article_id": pa.array(article_ids, pa.string()),
            "base_form": pa.array(base_forms, pa.string()),
            "phrase": pa.array(phrases, pa.string()),
            "count": pa.array(counts, pa.int64()),
            "marked": pa.array(marked, pa.int64()),
        }
    )
    df = pa.table(
        {
            "base_form": pa.array(list(doc_freq), pa.string()),
            "df": pa.array(list(doc_freq.values()), pa.int64()),
        }
    )
    return [round(x, 4) for x in score_table(table, df, n_docs).to_pylist()]


def score_table(table: pa.Table, doc_freq: pa.Table, n_docs: int) -> pa.Array:
    """Scores of stored keyphrase rows (float32, in row order), computed in Arrow.

    Used to re-score the whole table when the corpus changes, so scores never depend on
    the order articles were written in; columnar, so a partition of millions of rows costs
    no Python object per row. ``table`` has ``article_id``, ``base_form``, ``phrase``,
    ``count`` and ``marked``; ``doc_freq`` has ``base_form`` and ``df``, where a base form
    missing counts as occurring in one document. Counts and marks are added up per article
    and base form; a base form's compound length is the longest over its spellings (so the
    row order does not matter); the weight is :func:`weight`'s, divided by the article's
    best and rounded to 4 decimals.

    >>> t = pa.table({"article_id": ["a", "a"], "base_form": ["x", "y"], "phrase": ["X", "Y"],
    ...               "count": [2, 1], "marked": [0, 0]})
    >>> [round(x, 4) for x in score_table(t, pa.table({"base_form": ["x"], "df": [1]}), 1).to_pylist()]
    [1.0, 0.5906]
    """
    n = table.num_rows
    if n == 0:
        return pa.array([], pa.float32())
    spellings = pc.unique(table["phrase"])
    parts_of = pa.array([compound_parts(p) for p in spellings.to_pylist()], pa.int64())
    rows = pa.table(
        {
            "article_id": table["article_id"],
            "base_form": table["base_form"],
            "count": pc.cast(table["count"], pa.int64()),
            "marked": pc.cast(table["marked"], pa.int64()),
            "parts": pc.take(parts_of, pc.index_in(table["phrase"], value_set=spellings)),
            "row": pa.array(range(n), pa.int64()),
        }
    )
    keys = ["article_id", "base_form"]
    grouped = rows.group_by(keys, use_threads=False).aggregate(
        [("count", "sum"), ("marked", "sum"), ("parts", "max")]
    )
    grouped = grouped.join(
        doc_freq.select(["base_form", "df"]), "base_form", join_type="left outer", use_threads=False
    )
    df = pc.cast(
        pc.min_element_wise(pc.max_element_wise(pc.fill_null(grouped["df"], 1), 1), max(n_docs, 1)),
        pa.float64(),
    )
    # The terms of weight(), column by column.
    idf = pc.add(pc.ln(pc.divide(float(1 + n_docs), pc.add(df, 1.0))), 1.0)
    tf = pc.add(pc.ln(pc.cast(grouped["count_sum"], pa.float64())), 1.0)
    parts = pc.cast(pc.min_element_wise(grouped["parts_max"], MAX_PARTS), pa.float64())
    boost = pc.if_else(pc.greater(grouped["marked_sum"], 0), MARKED_BOOST, 1.0)
    raw = pc.multiply(pc.multiply(pc.multiply(tf, idf), parts), boost)
    grouped = pa.table({"article_id": grouped["article_id"], "base_form": grouped["base_form"], "raw": raw})
    best = grouped.group_by("article_id", use_threads=False).aggregate([("raw", "max")])
    grouped = grouped.join(best, "article_id", use_threads=False)
    score = pc.round(pc.divide(grouped["raw"], grouped["raw_max"]), 4)
    scored = pa.table(
        {"article_id": grouped["article_id"], "base_form": grouped["base_form"], "score": score}
    )
    back = rows.select([*keys, "row"]).join(scored, keys, use_threads=False).sort_by("row")
    return pc.cast(back["score"], pa.float32())
