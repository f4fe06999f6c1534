"""Facets: which part of the story a segment belongs to (intro, career, motivation, ...).

The cues live in ``config/facets.yaml`` (:mod:`etl.facet_config`); this module decides
which evidence counts, strongest first:

1. a question decides its answers (``method`` ``question``);
2. a heading decides its section (``heading``); a heading naming several facets
   (「これまでの経歴、現在の業務について」) lets each paragraph's content choose among them;
3. before any heading and under a slogan heading that names no facet, a paragraph's own
   content cues decide (``content``), and a paragraph without cues keeps the facet of the
   paragraph before it in the section (``inherited``); the editorial text before the first
   heading is the intro (``position``).

Japanese is head-final: in 「入社したきっかけ」 the phrase is about the きっかけ, so in each part
of a heading or question (split at 、・/) the cue that ends last wins. An article that is not
a work or career story (a walk diary, a product dialogue) gets ``other`` for the facets
marked ``work_only``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from etl.cues import find_self_intro
from etl.facet_config import CueHit, FacetConfig, load_facet_config
from etl.morph import text_tokens
from etl.segment import Segment
from etl.speakers import Attribution

# Where a heading or question lists several topics: 「経歴、現在の業務」「魅力・やりがい」.
_QUOTED: Final = re.compile(r"「[^「」]*」|『[^『』]*』")
_PART_SPLIT: Final = re.compile(r"[、,・/／|｜]|\s+")
# A paragraph this short without a full stop that names a facet reads as a heading that the
# block classifier took for a paragraph (「なぜ農家に?」「入試課ってどんな部署?」).
_HEADING_LIKE_MAX: Final = 32
_CONTENT_KINDS: Final = frozenset({"paragraph", "list_item", "quote"})
# Where an article shows what it is about: its title, text and cast list (「会社員/活動歴6年」
# 「…を担当」 in a profile line says the people are introduced by their work).
_WORK_EVIDENCE_KINDS: Final = frozenset({*_CONTENT_KINDS, "heading", "question", "title", "profile"})
_LABEL_MAX: Final = 20
_PAGE_TITLE: Final = re.compile(r"\S\s*[｜|]\s*\S")
_IMAGE_LINE: Final = re.compile(r"(?:画像|写真|スライド|イラスト|画面|図)\s*(?:\(?\d+\)?)?$")
_NAME_LINE_MAX: Final = 30
#: Texts whose facets a lexicon remembers (then it starts afresh), so memory stays flat.
_MEMO_MAX: Final = 4096


@dataclass(frozen=True, slots=True)
class FacetTag:
    """A segment's facet with the method that decided it and the words that showed it.

    ``method``: heading | question | content | inherited | position | none.
    """

    facet: str | None
    method: str
    score: float
    evidence: tuple[str, ...]


def facet_matches(text: str, config: FacetConfig | None = None) -> list[tuple[int, str, str]]:
    """Every heading cue in ``text`` as ``(position, facet, matched words)``, by position.

    >>> facet_matches("これまでの経歴、現在の業務について")[:3]
    [(0, 'career', 'これまで'), (5, 'career', '経歴'), (8, 'current_work', '現在')]
    """
    cfg = config or load_facet_config()
    found = cfg.heading_cues.find_all(text)
    hits = [(h.start, f.id, h.words) for f, fh in zip(cfg.facets, found, strict=True) for h in fh]
    return sorted(hits)


def heading_facets(text: str, config: FacetConfig | None = None) -> list[tuple[str, str]]:
    """The facets a heading or question names, in order, each with the words that named it.

    In each part of the text the cue that ends last decides (ties: the facet listed first in
    the file wins, so 「これから…を目指す方へ」 is a message, not a career step).

    >>> heading_facets("入社したきっかけ")
    [('motivation', 'きっかけ')]
    >>> [f for f, _ in heading_facets("これまでの経歴、現在の業務について")]
    ['career', 'current_work']
    """
    cfg = config or load_facet_config()
    memo = cfg.heading_memo
    known = memo.get(text)
    if known is None:
        known = tuple(_heading_facets(text, cfg))
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[text] = known
    return list(known)


def _heading_facets(text: str, cfg: FacetConfig) -> list[tuple[str, str]]:
    norm = _unquoted(unicodedata.normalize("NFKC", text).strip())
    # Message cues outrank the rest on a tie: addressed to readers is what a heading is for.
    rank = cfg.heading_rank
    found = cfg.heading_cues.found(norm)
    hits: list[tuple[CueHit, str]] = [(h, f.id) for f, fh in zip(cfg.facets, found, strict=True) for h in fh]
    if not hits:
        return []
    if any(not h.weak for h, _ in hits):  # 「採用は、チーム全員の仕事」: チーム, not 仕事
        hits = [(h, fid) for h, fid in hits if not h.weak]
    bounds = [0, *(m.end() for m in _PART_SPLIT.finditer(norm)), len(norm) + 1]
    out: list[tuple[str, str]] = []
    for lo, hi in itertools.pairwise(bounds):
        inside = [(h, fid) for h, fid in hits if lo <= h.end - 1 < hi]
        if not inside:
            continue
        best = max(inside, key=lambda hf: (hf[0].end, -rank[hf[1]][0], -rank[hf[1]][1]))
        if best[1] not in [f for f, _ in out]:
            out.append((best[1], best[0].words))
    return out


def _unquoted(text: str) -> str:
    """A heading with its quotations blanked out (same length, so positions stay).

    「「まず面白がる」が合言葉」 is a slogan about a motto, not about what is 面白い; a heading
    that is one quotation as a whole is read inside its quotes.
    """
    if len(text) > 2 and text[0] in "「『" and text[-1] in "」』" and text.count(text[0]) == 1:
        return " " + text[1:-1] + " "
    return _QUOTED.sub(lambda m: " " * len(m.group(0)), text)


def content_facet(
    text: str, config: FacetConfig | None = None, allowed: Sequence[str] | None = None
) -> tuple[str, tuple[str, ...]] | None:
    """The facet a paragraph's own words point to, with those words (``None``: no cue).

    The facet with the most distinct cues wins; on a tie a message (advice to the reader),
    else the one whose cue comes last (「転職してからは、…。いまは…」 has moved on to the present).

    >>> content_facet("2015年に入社し、営業を経て、現在は人事を担当しています。")[0]
    'career'
    >>> content_facet("ぜひ一度、遊びに来てください。")
    ('message', ('ぜひ',))
    """
    cfg = config or load_facet_config()
    memo = cfg.content_memo
    key = (text, None if allowed is None else tuple(allowed))
    if key in memo:
        return memo[key]
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    found = memo[key] = _content_facet(text, cfg, allowed)
    return found


def _content_facet(
    text: str, cfg: FacetConfig, allowed: Sequence[str] | None
) -> tuple[str, tuple[str, ...]] | None:
    best: tuple[tuple[int, bool, int], str, tuple[str, ...]] | None = None
    for f, hits in zip(cfg.facets, cfg.content_cues.found(text), strict=True):
        if allowed is not None and f.id not in allowed:
            continue
        if not hits:
            continue
        words = tuple(dict.fromkeys(h.words for h in hits))
        # Words addressed to the reader win a tie: advice is a message wherever it stands.
        key = (len(words), f.id == "message", hits[-1].start)
        if best is None or key > best[0]:
            best = (key, f.id, words)
    return (best[1], best[2]) if best else None


def is_work_story(texts: Sequence[str], config: FacetConfig | None = None) -> bool:
    """Whether an article is about people's work or careers (its work vocabulary).

    >>> is_work_story(["2019年に入庁し、防災を担当しています。職場の雰囲気は…"])
    True
    >>> is_work_story(["朝の散歩を100日続けました。"])
    False
    """
    cfg = config or load_facet_config()
    if not cfg.work_story:
        return True
    seen: set[str] = set()
    for text in texts:
        # The one-set index finds what work_story.find does, with one automaton pass.
        seen.update(h.words for h in cfg.work_cues.found(text)[0])
        if len(seen) >= cfg.work_min_distinct:
            return True
    return len(seen) >= cfg.work_min_distinct


def _heading_like(seg: Segment, config: FacetConfig) -> list[tuple[str, str]]:
    text = seg.text.strip()
    if len(text) > _HEADING_LIKE_MAX or "。" in text or seg.label:
        return []
    if text.endswith(("、", ",")):
        return []
    named = heading_facets(text, config)
    # Only a specific cue makes a short line a heading: 「研究で身につけたことを、仕事に」 is not.
    return named if named and not _only_weak(text, config) else []


def _only_weak(text: str, config: FacetConfig) -> bool:
    return all(h.weak for hits in config.heading_cues.found(text) for h in hits)


def _not_a_section(seg: Segment) -> bool:
    """A heading line that names a person rather than a part of the story.

    A speaker's label set as a heading (「高瀬：」), or a caption or profile line
    (「浅野 陽介さん(株式会社グリーンフロー)」): the section and the question go on.
    """
    text = unicodedata.normalize("NFKC", seg.text).strip()
    if len(text) <= _LABEL_MAX and text.endswith(":"):
        return True
    if _IMAGE_LINE.search(text):  # an image's alt text: 「…の苗画像 (1)」「画像2」「…説明するスライド」
        return True
    if _PAGE_TITLE.search(text):  # a link card's page title: 「北浜町移住ポータル｜…」
        return True
    if len(text) > _NAME_LINE_MAX:
        return False
    # The pieces' morphemes: the ones every stage reads (the text is analysed once).
    return any(t.is_person_name for tokens in text_tokens(text).tokens for t in tokens)


def assign_facets(
    segments: Sequence[Segment], attributions: Sequence[Attribution], config: FacetConfig | None = None
) -> list[FacetTag]:
    """Facet of every segment (``None`` for kinds that carry none, such as links).

    >>> from etl.classify import classify
    >>> from etl.model import Block
    >>> from etl.segment import build_segments
    >>> from etl.speakers import attribute_speakers
    >>> _, segs, _ = build_segments(classify([Block(text="題"), Block(text="新しい社員を紹介します。"),
    ...     Block(text="入社のきっかけ"), Block(text="――なぜですか？"), Block(text="仕事が楽しいからです。")]))
    >>> [t.facet for t in assign_facets(segs, attribute_speakers(segs)[0])]
    [None, 'intro', 'motivation', 'motivation', 'motivation']
    """
    cfg = config or load_facet_config()
    work = is_work_story([s.text for s in segments if s.kind in _WORK_EVIDENCE_KINDS], cfg)
    work_only = {f.id for f in cfg.facets if f.work_only}

    # In an article where people speak, the editorial voice after the intro (a reporter's
    # bridge or closing lines) is an aside, not part of anyone's story.
    has_speakers = any(a.role == "interviewee" for a in attributions)

    def gate(tag: FacetTag) -> FacetTag:
        if not work and (tag.facet in work_only or (tag.facet == "message" and tag.method == "content")):
            # Outside work stories only a heading or a question addressed to readers is a message.
            return FacetTag("other", tag.method, min(tag.score, 0.5), (*tag.evidence, "not a work story"))
        return tag

    out: list[FacetTag] = []
    section: list[tuple[str, str]] = []  # facets the current heading names, with its words
    question: FacetTag | None = None
    previous: FacetTag | None = None  # last paragraph's tag in this section
    seen_heading = False
    for seg, att in zip(segments, attributions, strict=True):
        kind = seg.kind
        if kind == "heading" or (kind == "paragraph" and (named := _heading_like(seg, cfg))):
            named = heading_facets(seg.text, cfg) if kind == "heading" else named
            if kind == "heading" and not named and _not_a_section(seg):
                out.append(FacetTag("other", "heading", 0.3, ()))
                continue
            section, question, previous = named, None, None
            seen_heading = True
            if named:
                out.append(gate(FacetTag(named[0][0], "heading", 0.9, (named[0][1],))))
            else:
                out.append(FacetTag("other", "heading", 0.3, ()))
            continue
        if kind == "question":
            named = heading_facets(seg.text, cfg)
            if named:
                # 「自己紹介をお願いします」 is answered with where the person comes from.
                facet = "career" if named[-1][0] == "intro" else named[-1][0]
                question = FacetTag(facet, "question", 0.85, (named[-1][1],))
            elif section:
                question = FacetTag(section[0][0], "heading", 0.6, (section[0][1],))
            elif previous is not None and previous.facet not in (None, "intro"):
                question = FacetTag(previous.facet, "inherited", 0.5, previous.evidence)
            else:
                question = FacetTag("other", "question", 0.3, ())
            question = gate(question)
            out.append(question)
            continue
        if kind not in _CONTENT_KINDS:
            out.append(FacetTag(None, "none", 0.0, ()))
            continue
        in_message = bool(section) and section[0][0] == "message"
        aside = has_speakers and seen_heading and att.role == "narrator" and kind == "paragraph"
        if aside and not in_message and question is None:  # a question decides its answers
            tag = FacetTag("other", "position", 0.5, ("editorial aside",))
        else:
            tag = _paragraph_tag(seg, att, cfg, section, question, previous, seen_heading)
        tag = gate(tag)
        if kind == "paragraph":
            previous = tag
        out.append(tag)
    return out


def _paragraph_tag(
    seg: Segment,
    att: Attribution,
    cfg: FacetConfig,
    section: list[tuple[str, str]],
    question: FacetTag | None,
    previous: FacetTag | None,
    seen_heading: bool,
) -> FacetTag:
    if question is not None:
        return FacetTag(question.facet, "question", min(question.score, 0.8), question.evidence)
    if section and section[0][0] == "intro" and att.role != "narrator":
        section = []  # a speaker's own words after the cast list: placed by their content
    if len(section) == 1:
        return FacetTag(section[0][0], "heading", 0.85, (section[0][1],))
    if section:  # the heading names several facets: the paragraph's words choose
        allowed = [f for f, _ in section]
        content = content_facet(seg.text, cfg, allowed)
        if content is not None and (previous is None or content[0] != previous.facet):
            return FacetTag(content[0], "content", 0.75, content[1])
        if previous is not None and previous.facet in allowed:
            return FacetTag(previous.facet, "inherited", 0.7, previous.evidence)
        return FacetTag(section[0][0], "heading", 0.8, (section[0][1],))
    # No heading facet: before the first heading, or under a slogan.
    # The reader's attribution names who speaks: 「ナミノオトの早瀬です」 introduces 早瀬 even
    # where the dictionary does not know the name.
    known = frozenset({att.name}) if att.name else frozenset()
    intro = find_self_intro(seg.text, known) if seg.kind == "paragraph" else None
    content = content_facet(seg.text, cfg)
    reporter_background = intro is not None and content is not None and content[0] == "career"
    editorial = not seen_heading and att.role == "narrator" and not reporter_background
    if editorial and (previous is None or previous.facet == "intro"):
        return FacetTag("intro", "position", 0.8, ("editorial text before the first heading",))
    if intro is not None:
        # Someone introducing themselves: their background if they tell any, else what their
        # words are about, else their background when they write their own piece and their
        # present work when they speak at a talk or an interview (「…課の桑原です。今日は…」).
        background = content_facet(seg.text, cfg, ("career",))
        if background is not None:  # 「…の小林です。入社して4年、…を担当しています」
            return FacetTag("career", "content", 0.75, ("self-introduction", *background[1]))
        if content is not None and content[0] != "message":
            return FacetTag(content[0], "content", 0.7, ("self-introduction", *content[1]))
        if att.role == "interviewee":
            return FacetTag("current_work", "content", 0.6, ("self-introduction",))
        return FacetTag("career", "content", 0.7, ("self-introduction",))
    if previous is not None and previous.facet not in (None, "intro", "other"):
        if content is not None and content[0] != previous.facet and _strong(content):
            return FacetTag(content[0], "content", 0.6, content[1])
        return FacetTag(previous.facet, "inherited", 0.6, previous.evidence)
    if content is not None and (seen_heading is False or _strong(content)):
        return FacetTag(content[0], "content", 0.6, content[1])
    return FacetTag("other", "content", 0.3, ())


def _after_first_sentence(text: str) -> str:
    """``text`` without its first sentence (the self-introduction itself)."""
    cut = text.find("。")
    return text[cut + 1 :] if cut >= 0 else ""


def _strong(content: tuple[str, tuple[str, ...]]) -> bool:
    """Whether content cues are enough to decide on their own, or to leave an inherited facet.

    Two cues, an opening in the present (「現在は…」), or words addressed to the reader
    (「ぜひ」「教えてください」), which are a message wherever they stand.
    """
    if len(content[1]) >= 2 or content[0] == "message":
        return True
    return any(w.lstrip("。").startswith(("現在", "いま", "今")) for w in content[1])
