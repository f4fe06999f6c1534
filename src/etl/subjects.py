"""Subject tagging: which taxonomy topics a text is about, with a score and the evidence.

Keywords are found with one Aho-Corasick automaton over all topics (one pass per text, however
many keywords users add) in several *views* of the text, so that 表記ゆれ does not hide a match:

1. ``match_key(text)``: NFKC, lower case, no whitespace (ＧＳＳ -> gss, "クラウド 基盤" -> クラウド基盤);
2. the dictionary forms of its morphemes, concatenated (活かした -> 活かすた), plus any base
   forms the caller passes;
3. those dictionary forms with a の dropped between two nouns (データの利活用 -> データ利活用).

Keywords are reduced the same way (so データの利活用 and データ利活用 are one keyword). A keyword
that starts or ends with an ASCII letter/digit must sit on an ASCII word boundary there
("PC" is not found in "PCR" or "EPC"); whitespace removed by the key counts as a boundary.
Patterns are searched in the NFKC text; any negative pattern match drops the topic.
"""

from __future__ import annotations

import math
import operator
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import ahocorasick

from etl.morph import (
    GENITIVE_NO,
    NAME,
    NAME_JOINER,
    NOUN,
    NOUN_SUFFIX,
    VERBAL_NOUN,
    TextTokens,
    Token,
    text_tokens,
    tokenize,
)
from etl.normalize import match_key
from etl.taxonomy import GuardedPattern, PatternGate, Taxonomy

#: Texts whose hits a matcher remembers (then it starts afresh), so memory stays flat.
_MEMO_MAX: Final = 4096


@dataclass(frozen=True, slots=True)
class SubjectHit:
    """One topic found in a text.

    ``score`` is ``1 - exp(-n)`` for n distinct pieces of evidence (0.63, 0.86, 0.95, ...);
    ``evidence`` lists the keywords as written in the taxonomy, then the pattern matches.

    >>> SubjectHit("dx", 0.6321, ("デジタル化",)).topic_id
    'dx'
    """

    topic_id: str
    score: float
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Keyword:
    topic: int  # index into the taxonomy's topics
    rank: int  # position in that topic's keyword list: evidence is reported in this order
    text: str  # as written in the taxonomy
    length: int  # of the key, to find the start of a hit from its end
    ascii_head: bool
    ascii_tail: bool


class _View(NamedTuple):  # a tuple: built for every text, several times faster
    key: str
    gaps: frozenset[int]  # offsets in key where whitespace was removed: token boundaries


def _is_word_char(ch: str) -> bool:
    # The ASCII \w of re.ASCII, so keyword boundaries agree with the (?a)\b of patterns.
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _is_nounish(token: Token) -> bool:
    # 庁 in デジタル庁 is a 接尾辞 (名詞的): デジタル庁の新卒 still joins two nouns.
    return token.is_noun or (token.pos1 == "接尾辞" and token.pos2 == "名詞的")


def _drop_genitive_no(tokens: Sequence[Token]) -> list[Token]:
    """Tokens without the particle の where both neighbours are nouns (データの利活用 -> データ利活用)."""
    kept: list[Token] = []
    for i, tok in enumerate(tokens):
        if (
            tok.surface == "の"
            and tok.pos1 == "助詞"
            and 0 < i < len(tokens) - 1
            and _is_nounish(tokens[i - 1])
            and _is_nounish(tokens[i + 1])
        ):
            continue
        kept.append(tok)
    return kept


def _join(parts: Sequence[str]) -> _View:
    """Concatenate the keys of whitespace-separated pieces, remembering where they met."""
    key_parts: list[str] = []
    gaps: set[int] = set()
    offset = 0
    for part in parts:
        k = match_key(part)  # per part: NFKC of a whole can differ from its parts' at a seam
        if not k:
            continue
        if offset:
            gaps.add(offset)
        key_parts.append(k)
        offset += len(k)
    return _View("".join(key_parts), frozenset(gaps))


def _text_views(tt: TextTokens, base_forms: Sequence[str]) -> list[_View]:
    # Analysed piece by piece (TextTokens): MeCab drops whitespace, and a space is a token
    # boundary that the ASCII boundary check must still see.
    if len(tt.pieces) == 1 and not base_forms:
        return _piece_views(tt.pieces[0], tt.tokens[0], tt.codes[0])
    return _views_of_pieces(tt, base_forms)


def _views_of_pieces(tt: TextTokens, base_forms: Sequence[str]) -> list[_View]:
    """:func:`_text_views` of any text: the views joined from its pieces' keys."""
    pieces = tt.pieces
    bases: list[str] = []
    without_no: list[str] = []
    for tokens, codes in zip(tt.tokens, tt.codes, strict=True):
        base, without = _base_views(tokens, codes)
        bases.append(base)
        without_no.append(without)
    # Most texts have no inflected word and no の between nouns: build and scan each
    # distinct view once. The pieces are NFKC without whitespace already: their key is
    # their lower case (match_key of each, without normalising again).
    views = [_plain_join(pieces)]
    if bases != list(pieces):
        views.append(_join(bases))
    if without_no != bases:
        views.append(_join(without_no))
    if base_forms:
        views.append(_join(["".join(base_forms)]))
    unique: list[_View] = []
    for view in views:
        if view.key and view not in unique:
            unique.append(view)
    return unique


def _base_views(tokens: Sequence[Token], codes: str) -> tuple[str, str]:
    """A piece's base forms joined, and the same without the の between nouns.

    Most pieces have no の between nouns: nothing to drop, the same view as the base
    forms. The morphemes' classes (morph.token_code) show where one is.
    """
    if GENITIVE_NO in codes:
        drop = [m.start() for m in _DROPPED_NO.finditer(codes)]
        if drop:
            # One pass over the morphemes for both: the runs between the dropped の, joined
            # with and without them.
            runs: list[str] = []
            prev = 0
            for i in drop:
                runs.append("".join(map(_BASE, tokens[prev:i])))
                prev = i + 1
            runs.append("".join(map(_BASE, tokens[prev:])))
            base = runs[0]
            for i, run in zip(drop, runs[1:], strict=True):
                base += tokens[i].base + run
            return base, "".join(runs)
    base = "".join(map(_BASE, tokens))
    return base, base


def _piece_views(piece: str, tokens: Sequence[Token], codes: str) -> list[_View]:
    """:func:`_text_views` of a text that is one piece (most are: no whitespace inside).

    One piece has no seams, so every view is one key without gaps.
    """
    plain = piece.lower()
    views = [_View(plain, _NO_GAPS)]
    base, without = _base_views(tokens, codes)
    keys = [plain]
    if base != piece and (key := match_key(base)) and key not in keys:
        keys.append(key)
        views.append(_View(key, _NO_GAPS))
    if without != base and (key := match_key(without)) and key not in keys:
        views.append(_View(key, _NO_GAPS))
    return views


_NO_GAPS: Final[frozenset[int]] = frozenset()
# Joins the views of a text into one key for one automaton pass: no keyword key holds
# whitespace (keys are match_key's) and it is no ASCII word character, so no hit spans two
# views and each view's edges stay word boundaries.
_VIEW_SEP: Final = "\n"


def _joined(views: Sequence[_View]) -> _View:
    """One view holding ``views`` side by side, each after a separator.

    A view's hits in the joined key are its own, shifted: :meth:`SubjectMatcher._scan` of
    the joined view keeps what the scans of each keep (a topic's leftmost-longest choice
    never reaches past a view's end, where no keyword can sit).
    """
    if len(views) == 1:
        return views[0]
    if not any(view.gaps for view in views):  # one-piece texts: no seams to carry over
        return _View(_VIEW_SEP.join([view.key for view in views]), _NO_GAPS)
    gaps: set[int] = set()
    offset = 0
    for view in views:
        gaps.update(offset + g for g in view.gaps)
        offset += len(view.key) + 1
    return _View(_VIEW_SEP.join(v.key for v in views), frozenset(gaps))


def _plain_join(pieces: Sequence[str]) -> _View:
    """:func:`_join` of non-empty pieces that are NFKC and hold no whitespace.

    Each piece is lower-cased on its own, as :func:`match_key` does (Σ lowers by context).
    """
    keys = [piece.lower() for piece in pieces]
    gaps: list[int] = []
    offset = 0
    for key in keys[:-1]:
        offset += len(key)
        gaps.append(offset)
    return _View("".join(keys), frozenset(gaps))


_BASE: Final = operator.itemgetter(5)  # Token.base, read in C
# The の _drop_genitive_no drops: a particle の between two nounish morphemes (名詞 of any
# kind, or a 名詞的 suffix), in the classes of morph.token_code.
_NOUNISH_CODES: Final = NOUN + VERBAL_NOUN + NAME + NAME_JOINER + NOUN_SUFFIX
# The literal first (searched fast), then its neighbours: twice as fast as a lookbehind first.
_DROPPED_NO: Final = re.compile(f"{GENITIVE_NO}(?<=[{_NOUNISH_CODES}]{GENITIVE_NO})(?=[{_NOUNISH_CODES}])")


def _without(tokens: Sequence[Token], drop: Sequence[int]) -> str:
    """The base forms of ``tokens`` joined, without the tokens at ``drop``."""
    # A piece is a whole sentence or paragraph and drops a few: join the slices between
    # them, read in C.
    parts: list[str] = []
    prev = 0
    for i in sorted(set(drop)):
        parts.extend(map(_BASE, tokens[prev:i]))
        prev = i + 1
    parts.extend(map(_BASE, tokens[prev:]))
    return "".join(parts)


def _keyword_keys(keyword: str) -> tuple[str, ...]:
    """The keys a keyword is searched under: as written, and with the の rule applied.

    The first key decides which keywords are the same ("データの利活用" and "データ利活用" are
    one keyword, so one mention is not counted twice); the written form stays searchable in
    case the analyser splits the keyword differently in context.
    """
    written = match_key(keyword)
    tokens = tokenize(unicodedata.normalize("NFKC", keyword))
    reduced = match_key("".join(t.surface for t in _drop_genitive_no(tokens))) or written
    return (reduced,) if reduced == written else (reduced, written)


class SubjectMatcher:
    """Matches texts against one taxonomy; build it once and reuse it for every block.

    >>> from etl.taxonomy import load_taxonomy
    >>> m = SubjectMatcher.from_taxonomy(load_taxonomy())
    >>> [(h.topic_id, h.evidence) for h in m.match("ＧＳＳの業務環境")]
    [('gss_workplace', ('業務環境', 'GSS'))]
    """

    def __init__(self, taxonomy: Taxonomy, automaton: ahocorasick.Automaton | None) -> None:
        self.taxonomy = taxonomy
        self._automaton = automaton
        # Topics with regular expressions are checked on every text; the others only when
        # the automaton found one of their keywords (most texts name few topics).
        self._regex_topics = frozenset(
            i for i, t in enumerate(taxonomy.topics) if t.patterns or t.negative_patterns
        )
        self._gate = PatternGate(p for t in taxonomy.topics for p in (*t.patterns, *t.negative_patterns))
        # Which regex topics each set of live patterns leaves (a few distinct sets in all).
        self._live_topics: dict[frozenset[GuardedPattern], frozenset[int]] = {}
        self._memo: dict[str, tuple[SubjectHit, ...]] = {}

    @classmethod
    def from_taxonomy(cls, taxonomy: Taxonomy) -> SubjectMatcher:
        """Build the keyword automaton for a taxonomy.

        >>> from etl.taxonomy import load_taxonomy
        >>> SubjectMatcher.from_taxonomy(load_taxonomy()).taxonomy.version
        '1'
        """
        by_key: dict[str, list[_Keyword]] = {}
        for ti, topic in enumerate(taxonomy.topics):
            seen: set[str] = set()
            for rank, keyword in enumerate(topic.keywords):
                keys = _keyword_keys(keyword)
                if keys[0] in seen:  # the same keyword up to width/case/whitespace/の: keep the first
                    continue
                seen.add(keys[0])
                for key in keys:
                    by_key.setdefault(key, []).append(
                        _Keyword(ti, rank, keyword, len(key), _is_word_char(key[0]), _is_word_char(key[-1]))
                    )
        automaton: ahocorasick.Automaton | None = None
        if by_key:  # pyahocorasick cannot search an automaton without words
            automaton = ahocorasick.Automaton()
            for key, entries in by_key.items():
                automaton.add_word(key, tuple(entries))
            automaton.make_automaton()
        return cls(taxonomy, automaton)

    def match(
        self, text: str, base_forms: Sequence[str] = (), tokens: TextTokens | None = None
    ) -> list[SubjectHit]:
        """Topics of ``text`` in taxonomy order.

        ``base_forms``: dictionary forms of the text's morphemes if the caller has its own
        analysis; they are searched as one more view (the matcher always analyses ``text``
        itself as well, because the の rule needs parts of speech). ``tokens``: the text's
        :func:`~etl.morph.text_tokens` if the caller has them already (else made here).

        >>> from etl.taxonomy import load_taxonomy
        >>> m = SubjectMatcher.from_taxonomy(load_taxonomy())
        >>> [h.topic_id for h in m.match("データの利活用とPCR検査")]
        ['data_utilization']
        """
        if not text.strip() and not base_forms:
            return []
        if not base_forms:
            # The hits are a function of the text alone: a text met again (a recurring
            # heading, a boilerplate line) is not matched again.
            known = self._memo.get(text)
            if known is not None:
                return list(known)
        hits = self._match(text, base_forms, tokens if tokens is not None else text_tokens(text))
        if not base_forms:
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[text] = tuple(hits)
        return hits

    def _match(self, text: str, base_forms: Sequence[str], tt: TextTokens) -> list[SubjectHit]:
        found: dict[int, dict[int, str]] = {}  # topic -> keyword rank -> keyword
        if self._automaton is not None:
            views = _text_views(tt, base_forms)
            if views:  # one automaton pass over all the views
                for kw in self._scan(_joined(views)):
                    found.setdefault(kw.topic, {})[kw.rank] = kw.text
        nfkc = tt.nfkc
        # Regex topics none of whose patterns can match this text find nothing by pattern.
        live = self._gate.live(nfkc)
        hits: list[SubjectHit] = []
        topics = self.taxonomy.topics
        for ti in sorted(found.keys() | self._topics_of(live)):
            topic = topics[ti]
            if any(p.search(nfkc) for p in topic.negative_patterns if p in live):
                continue
            keywords = found.get(ti, {})
            evidence = [keywords[rank] for rank in sorted(keywords)]
            for pattern in topic.patterns:
                if pattern not in live:
                    continue
                for m in pattern.finditer(nfkc):
                    if m.group(0) and m.group(0) not in evidence:
                        evidence.append(m.group(0))
            if evidence:
                # Distinct evidence, not occurrences: a block repeating one word is no more
                # about the topic than one naming it once; each further keyword adds weight.
                score = round(1.0 - math.exp(-len(evidence)), 4)
                hits.append(SubjectHit(topic.id, score, tuple(evidence)))
        return hits

    def _topics_of(self, live: frozenset[GuardedPattern]) -> frozenset[int]:
        """The regex topics with a positive pattern in ``live``."""
        out = self._live_topics.get(live)
        if out is None:
            topics = self.taxonomy.topics
            out = frozenset(ti for ti in self._regex_topics if any(p in live for p in topics[ti].patterns))
            self._live_topics[live] = out
        return out

    def _scan(self, view: _View) -> list[_Keyword]:
        """Keyword hits in one view: on word boundaries, leftmost-longest per topic.

        Overlapping keywords of one topic (情報セキュリティ / セキュリティ) are one mention.
        """
        assert self._automaton is not None
        key, gaps = view.key, view.gaps
        n = len(key)
        # (topic, start, -length, rank, found, keyword): sorted as tuples, by topic, start,
        # longest first, then rank; `found` (the order of finding) keeps ties as found.
        spans: list[tuple[int, int, int, int, int, _Keyword]] = []
        for end, entries in self._automaton.iter(key):
            stop = end + 1
            for kw in entries:
                start = stop - kw.length
                if kw.ascii_head and start > 0 and start not in gaps and _is_word_char(key[start - 1]):
                    continue
                if kw.ascii_tail and stop < n and stop not in gaps and _is_word_char(key[stop]):
                    continue
                spans.append((kw.topic, start, -kw.length, kw.rank, len(spans), kw))
        if len(spans) < 2:
            return [s[5] for s in spans]
        spans.sort()
        kept: list[_Keyword] = []
        last_topic, covered_to = -1, -1
        for topic, start, neg_length, _, _, kw in spans:
            if topic != last_topic:
                last_topic, covered_to = topic, -1
            if start >= covered_to:
                kept.append(kw)
                covered_to = start - neg_length
        return kept
