"""Segments with sections and offsets, and quote-aware Japanese sentences.

The article's clean body is its blocks (label + text) joined by blank lines; every
segment and sentence records ``char_start``/``char_end`` into that body, so a slice of
the body gives back exactly the segment's label + text or the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from etl.classify import Unit
from etl.model import BlockKind, slot_setters

BLOCK_SEPARATOR: Final = "\n\n"
SENTENCE_END: Final = frozenset("。！？!?")
OPENERS: Final = {"「": "」", "『": "』", "（": "）", "(": ")", "【": "】", "“": "”"}
CLOSERS: Final = frozenset(OPENERS.values())
# Kinds whose text is prose and is split into sentences.
SENTENCE_KINDS: Final[frozenset[BlockKind]] = frozenset({"paragraph", "question", "list_item", "quote"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """A classified block placed in the article: ordinal, section and body offsets."""

    ordinal: int
    kind: BlockKind
    text: str
    label: str | None
    heading_level: int | None
    section: str | None
    section_path: tuple[str, ...]
    char_start: int
    char_end: int
    emphasis: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Sentence:
    """One sentence of a segment, with offsets into the article body."""

    segment_ordinal: int
    ordinal: int  # position in the article
    text: str
    char_start: int
    char_end: int


# Segments and sentences are made slot by slot (see model.slot_setters): a long article has
# thousands of each.
_new: Final = object.__new__
_SEGMENT_SETTERS: Final = slot_setters(
    Segment,
    "ordinal",
    "kind",
    "text",
    "label",
    "heading_level",
    "section",
    "section_path",
    "char_start",
    "char_end",
    "emphasis",
)
_SENTENCE_SETTERS: Final = slot_setters(
    Sentence, "segment_ordinal", "ordinal", "text", "char_start", "char_end"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``: ends at 。！？!? outside brackets; closers stay with it.

    >>> t = "「はい。そうです。」と彼は言った。本当に！？ええ"
    >>> [t[a:b] for a, b in split_sentences(t)]
    ['「はい。そうです。」と彼は言った。', '本当に！？', 'ええ']
    """
    # Without an opening bracket the depth stays 0: the plain split is the same split.
    spans = _bracket_split(text) if _OPENER_RE.search(text) else _plain_split(text)
    # An unbalanced bracket would swallow the rest of the block into one sentence; when a
    # span is implausibly long and has enders inside, fall back to ignoring brackets.
    if len(text) > 400 and any(b - a > 400 for a, b in spans):
        spans = _plain_split(text)
    return spans


# The characters the splitter acts on; everything between them is skipped in C.
_SPECIAL: Final = re.compile("[" + re.escape("".join(sorted(SENTENCE_END | set(OPENERS) | CLOSERS))) + "]")
_E: Final = re.escape("".join(sorted(SENTENCE_END)))
_O: Final = re.escape("".join(sorted(OPENERS)))
_C: Final = re.escape("".join(sorted(CLOSERS)))
_OPENER_RE: Final = re.compile(f"[{_O}]")
# One sentence of _split from a point at depth 0, its leading spaces outside the group:
# text up to an ender, then every ender or closer right after it (「…！？」」). The bracket
# form also steps over quotes with no bracket inside (depth 1 at most); possessive, so a
# failed match costs one pass and never backtracks.
_PLAIN_SENTENCE_RE: Final = re.compile(rf"\s*+([^{_E}]*+[{_E}][{_E}{_C}]*+)")
_BRACKET_SENTENCE_RE: Final = re.compile(
    rf"\s*+((?:[^{_O}{_E}]++|[{_O}][^{_O}{_C}]*+[{_C}])*+[{_E}][{_E}{_C}]*+)"
)


def _regex_split(text: str, sentence: re.Pattern[str]) -> tuple[list[tuple[int, int]], int]:
    """Sentences matched one after another from the start; returns them and where they stop."""
    spans: list[tuple[int, int]] = []
    pos = 0
    match = sentence.match
    while (m := match(text, pos)) is not None:
        spans.append((m.start(1), m.end()))
        pos = m.end()
    return spans, pos


def _plain_split(text: str) -> list[tuple[int, int]]:
    """``_split(text, respect_brackets=False)``: the sentence ends found in C.

    >>> _plain_split(" 「はい。」 そう！？ ええ ")
    [(1, 6), (7, 11), (12, 14)]
    """
    spans, pos = _regex_split(text, _PLAIN_SENTENCE_RE)
    # No ender after pos: the rest is the last sentence, if it has more than spaces.
    _add_span(text, pos, len(text), spans)
    return spans


def _bracket_split(text: str) -> list[tuple[int, int]]:
    """``_split(text, respect_brackets=True)``, in C while no quote nests or stays open.

    >>> t = "「はい。そうです。」と彼は言った。本当に！？ええ"
    >>> [t[a:b] for a, b in _bracket_split(t)]
    ['「はい。そうです。」と彼は言った。', '本当に！？', 'ええ']
    """
    spans, pos = _regex_split(text, _BRACKET_SENTENCE_RE)
    if _OPENER_RE.search(text, pos) is not None:
        # A nested or unclosed bracket stopped the pattern: count the depth instead.
        return _split(text, respect_brackets=True)
    # Depth 0 from pos to the end and no match: no ender there either.
    _add_span(text, pos, len(text), spans)
    return spans


def _split(text: str, *, respect_brackets: bool) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    depth = 0
    search = _SPECIAL.search
    m = search(text)
    while m is not None:
        i = m.start()
        ch = text[i]
        if respect_brackets and ch in OPENERS:
            depth += 1
        elif respect_brackets and ch in CLOSERS and depth:
            depth -= 1
        elif ch in SENTENCE_END and depth == 0:
            j = i + 1
            while j < n and (text[j] in SENTENCE_END or text[j] in CLOSERS):
                j += 1
            _add_span(text, start, j, spans)
            start = j
            m = search(text, j)
            continue
        m = search(text, i + 1)
    _add_span(text, start, n, spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def build_segments(units: Sequence[Unit]) -> tuple[str, list[Segment], list[Sentence]]:
    """Place units in the body: returns ``(body, segments, sentences)``.

    >>> from etl.classify import Unit
    >>> body, segs, sents = build_segments([Unit(kind="heading", text="見出し", heading_level=2),
    ...                                     Unit(kind="paragraph", text="はい。いいえ。", label="佐藤：")])
    >>> body[segs[1].char_start:segs[1].char_end], [s.text for s in sents], segs[1].section
    ('佐藤：はい。いいえ。', ['はい。', 'いいえ。'], '見出し')
    """
    parts: list[str] = []
    segments: list[Segment] = []
    sentences: list[Sentence] = []
    stack: list[tuple[int, str]] = []  # (heading level, heading text)
    # The section path changes only at a heading: one tuple per section, not per segment.
    path: tuple[str, ...] = ()
    section: str | None = None
    sep = len(BLOCK_SEPARATOR)
    pos = -sep
    new = _new
    s_ordinal, s_kind, s_text, s_label, s_level, s_section, s_path, s_start, s_end, s_emphasis = (
        _SEGMENT_SETTERS
    )
    t_segment, t_ordinal, t_text, t_start, t_end = _SENTENCE_SETTERS
    for ordinal, unit in enumerate(units):
        kind, text, label = unit.kind, unit.text, unit.label
        start = pos + sep
        full = label + text if label else text
        end = pos = start + len(full)
        parts.append(full)
        if kind == "heading":
            level = unit.heading_level or 2
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
            path = tuple(t for _, t in stack)
            section = path[-1]
        seg = new(Segment)
        s_ordinal(seg, ordinal)
        s_kind(seg, kind)
        s_text(seg, text)
        s_label(seg, label)
        s_level(seg, unit.heading_level if kind == "heading" else None)
        s_section(seg, section)
        s_path(seg, path)
        s_start(seg, start)
        s_end(seg, end)
        s_emphasis(seg, unit.emphasis)
        segments.append(seg)
        if kind in SENTENCE_KINDS:
            text_start = end - len(text)
            for a, b in split_sentences(text):
                sent = new(Sentence)
                t_segment(sent, ordinal)
                t_ordinal(sent, len(sentences))
                t_text(sent, text[a:b])
                t_start(sent, text_start + a)
                t_end(sent, text_start + b)
                sentences.append(sent)
    return BLOCK_SEPARATOR.join(parts), segments, sentences
