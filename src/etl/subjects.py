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
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import ahocorasick

from etl.morph import Token, tokenize
from etl.normalize import match_key
from etl.taxonomy import Taxonomy

_WS: Final = re.compile(r"\s+")
# C0/C1 controls: MeCab reads a C string, so a NUL would silently end the analysed text.
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


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


@dataclass(frozen=True, slots=True)
class _View:
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
        k = match_key(part)
        if not k:
            continue
        if offset:
            gaps.add(offset)
        key_parts.append(k)
        offset += len(k)
    return _View("".join(key_parts), frozenset(gaps))


def _text_views(text: str, base_forms: Sequence[str]) -> list[_View]:
    # Analyse piece by piece: MeCab drops whitespace, and a space is a token boundary that
    # the ASCII boundary check must still see.
    pieces = [p for p in _WS.split(_CONTROL.sub(" ", unicodedata.normalize("NFKC", text)).strip()) if p]
    bases: list[str] = []
    without_no: list[str] = []
    for piece in pieces:
        tokens = tokenize(piece)
        base = "".join([t.base for t in tokens])
        bases.append(base)
        # Most pieces have no の at all: nothing to drop, the same view as the base forms.
        without_no.append("".join([t.base for t in _drop_genitive_no(tokens)]) if "の" in piece else base)
    # Most texts have no inflected word and no の between nouns: build and scan each
    # distinct view once.
    views = [_join(pieces)]
    if bases != pieces:
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

    def match(self, text: str, base_forms: Sequence[str] = ()) -> list[SubjectHit]:
        """Topics of ``text`` in taxonomy order.

        ``base_forms``: dictionary forms of the text's morphemes if the caller has its own
        analysis; they are searched as one more view (the matcher always analyses ``text``
        itself as well, because the の rule needs parts of speech).

        >>> from etl.taxonomy import load_taxonomy
        >>> m = SubjectMatcher.from_taxonomy(load_taxonomy())
        >>> [h.topic_id for h in m.match("データの利活用とPCR検査")]
        ['data_utilization']
        """
        if not text.strip() and not base_forms:
            return []
        found: dict[int, dict[int, str]] = {}  # topic -> keyword rank -> keyword
        if self._automaton is not None:
            for view in _text_views(text, base_forms):
                for kw in self._scan(view):
                    found.setdefault(kw.topic, {})[kw.rank] = kw.text
        nfkc = unicodedata.normalize("NFKC", text)
        hits: list[SubjectHit] = []
        topics = self.taxonomy.topics
        for ti in sorted(found.keys() | self._regex_topics):
            topic = topics[ti]
            if any(p.search(nfkc) for p in topic.negative_patterns):
                continue
            keywords = found.get(ti, {})
            evidence = [keywords[rank] for rank in sorted(keywords)]
            for pattern in topic.patterns:
                for m in pattern.finditer(nfkc):
                    if m.group(0) and m.group(0) not in evidence:
                        evidence.append(m.group(0))
            if evidence:
                # Distinct evidence, not occurrences: a block repeating one word is no more
                # about the topic than one naming it once; each further keyword adds weight.
                score = round(1.0 - math.exp(-len(evidence)), 4)
                hits.append(SubjectHit(topic.id, score, tuple(evidence)))
        return hits

    def _scan(self, view: _View) -> list[_Keyword]:
        """Keyword hits in one view: on word boundaries, leftmost-longest per topic.

        Overlapping keywords of one topic (情報セキュリティ / セキュリティ) are one mention.
        """
        assert self._automaton is not None
        key, gaps = view.key, view.gaps
        spans: list[tuple[int, int, _Keyword]] = []
        for end, entries in self._automaton.iter(key):
            stop = end + 1
            for kw in entries:
                start = stop - kw.length
                if kw.ascii_head and start > 0 and start not in gaps and _is_word_char(key[start - 1]):
                    continue
                if kw.ascii_tail and stop < len(key) and stop not in gaps and _is_word_char(key[stop]):
                    continue
                spans.append((start, stop, kw))
        spans.sort(key=lambda s: (s[2].topic, s[0], -(s[1] - s[0]), s[2].rank))
        kept: list[_Keyword] = []
        last_topic, covered_to = -1, -1
        for start, stop, kw in spans:
            if kw.topic != last_topic:
                last_topic, covered_to = kw.topic, -1
            if start >= covered_to:
                kept.append(kw)
                covered_to = stop
        return kept
