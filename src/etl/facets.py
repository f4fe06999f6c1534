"""Facets: which part of the story a segment belongs to (intro, career, motivation, ...).

Evidence, strongest first: the question an answer replies to; a self-introduction
(background, so career); the section heading; the content of the paragraph; and last the
facet of the paragraph before it in the same section. Headings that are slogans match no
facet pattern and so give no evidence.

Japanese is head-final: in 「入社したきっかけ」 the question is about the きっかけ, so a
question takes the facet of its LAST match. A heading lists topics in order
(「これまでの経歴、現在の業務について」), so its paragraphs default to the FIRST match and
move to a later one only on a strong opening cue (「現在は…」).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from etl.cues import find_self_intro
from etl.segment import Segment
from etl.speakers import Attribution

# (facet, pattern) for headings and questions. Kept in one table so users can read it.
FACET_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (facet, re.compile(pattern))
    for facet, pattern in (
        ("intro", r"プロフィール|参加者|登壇者|出演者|ゲスト|はじめに|自己紹介|メンバー紹介"),
        (
            "career",
            r"経歴|これまで|入庁前|入社前|学生時代|前職|キャリア|生い立ち|出会い|歩み|から[、,].{1,12}へ$",
        ),
        (
            "current_work",
            r"現在|いま(?:の|は|取り組)|のいま$|今の|業務内容|担当業務|仕事内容|業務について|どんな仕事|どのような(?:業務|仕事)|運用|担当して",
        ),
        ("motivation", r"きっかけ|理由|なぜ|志望|目指し|志した|惹かれ|決め手|選んだ|転職した|入った訳"),
        ("appeal", r"魅力|やりがい|特色|面白さ|おもしろさ|醍醐味|楽しさ|強み"),
        ("culture", r"雰囲気|印象|チーム|職場|文化|社風|連携|働き方|一緒に働|人間関係|カルチャー"),
        (
            "message",
            r"最後に|さいごに|メッセージ|ひと言|一言|今後の|目標|これから|展望|将来|学生へ|皆さんへ|目指す方|考えている方|予定",
        ),
    )
)
# Opening cues strong enough to override the section's default facet.
STRONG_OPENING: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("current_work", re.compile(r"^(?:現在|いま|今)は")),
)
# Content cues, for paragraphs with neither a question nor a heading facet.
CONTENT_CUES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    (
        "career",
        re.compile(r"\d{4}年(?:に|から|度)|入庁し|入社し|入庁\d+年|新卒で|学生時代|卒業|修了|専攻|前職|経て"),
    ),
    (
        "current_work",
        re.compile(r"(?:^|。)(?:現在|いま|今)は|担当しています|携わっています|取り組んでいます"),
    ),
    ("motivation", re.compile(r"きっかけ|志望|理由は|目指した")),
    ("appeal", re.compile(r"魅力|やりがい")),
    ("message", re.compile(r"ぜひ|お待ちしています|一緒に働ける|皆さんも|してみてください")),
)


@dataclass(frozen=True, slots=True)
class FacetTag:
    """A segment's facet with the method that decided it and the words that showed it."""

    facet: str | None
    method: str  # heading | keyword | inherited
    score: float
    evidence: tuple[str, ...]


def facet_matches(text: str) -> list[tuple[int, str, str]]:
    """Every facet pattern hit in ``text`` as ``(position, facet, matched words)``.

    >>> [(p, f) for p, f, _ in facet_matches("これまでの経歴、現在の業務について")]
    [(0, 'career'), (5, 'career'), (8, 'current_work'), (11, 'current_work')]
    """
    hits = [(m.start(), facet, m.group(0)) for facet, rx in FACET_PATTERNS for m in rx.finditer(text)]
    return sorted(hits)


def _content_facet(text: str, allowed: Sequence[str] | None = None) -> tuple[str, str] | None:
    for facet, rx in CONTENT_CUES:
        if allowed is not None and facet not in allowed:
            continue
        m = rx.search(text)
        if m:
            return facet, m.group(0)
    return None


def assign_facets(segments: Sequence[Segment], attributions: Sequence[Attribution]) -> list[FacetTag]:
    """Facet of every segment (``None`` for kinds that carry none, such as links).

    >>> from etl.classify import classify
    >>> from etl.model import Block
    >>> from etl.segment import build_segments
    >>> from etl.speakers import attribute_speakers
    >>> _, segs, _ = build_segments(classify([Block(text="題"), Block(text="紹介します。"),
    ...     Block(text="入社のきっかけ"), Block(text="――なぜですか？"), Block(text="楽しいからです。")]))
    >>> [t.facet for t in assign_facets(segs, attribute_speakers(segs)[0])]
    [None, 'intro', 'motivation', 'motivation', 'motivation']
    """
    out: list[FacetTag] = []
    heading_candidates: list[tuple[str, str]] = []  # (facet, words) of the current section
    question: FacetTag | None = None
    previous: FacetTag | None = None  # last paragraph's tag in this section
    seen_content = False
    for seg, att in zip(segments, attributions, strict=True):
        kind = seg.kind
        if kind == "heading":
            hits = facet_matches(seg.text)
            seen_facets: list[tuple[str, str]] = []
            for _, facet, words in hits:
                if facet not in [f for f, _ in seen_facets]:
                    seen_facets.append((facet, words))
            heading_candidates = seen_facets
            question, previous = None, None
            seen_content = True
            if seen_facets:
                out.append(FacetTag(seen_facets[0][0], "heading", 0.9, (seen_facets[0][1],)))
            else:
                out.append(FacetTag("other", "heading", 0.3, ()))
            continue
        if kind == "question":
            hits = facet_matches(seg.text)
            if hits:
                _, facet, words = hits[-1]
                question = FacetTag(facet, "keyword", 0.85, (words,))
            elif heading_candidates:
                question = FacetTag(heading_candidates[0][0], "inherited", 0.6, ())
            else:
                question = FacetTag("other", "inherited", 0.3, ())
            out.append(question)
            seen_content = True
            continue
        if kind not in ("paragraph", "list_item", "quote"):
            out.append(FacetTag(None, "none", 0.0, ()))
            continue
        tag: FacetTag
        if att.role == "narrator" and not seen_content and kind == "paragraph":
            tag = FacetTag("intro", "keyword", 0.8, ())
        elif question is not None:
            tag = FacetTag(question.facet, "inherited", min(question.score, 0.8), question.evidence)
        elif find_self_intro(seg.text) is not None:
            tag = FacetTag("career", "keyword", 0.7, ("self-introduction",))
            seen_content = True
        elif heading_candidates:
            allowed = [f for f, _ in heading_candidates]
            strong = next(
                ((f, m.group(0)) for f, rx in STRONG_OPENING if f in allowed and (m := rx.search(seg.text))),
                None,
            )
            if strong:
                tag = FacetTag(strong[0], "keyword", 0.8, (strong[1],))
            else:
                tag = FacetTag(heading_candidates[0][0], "heading", 0.85, (heading_candidates[0][1],))
        else:
            content = _content_facet(seg.text)
            if (
                previous is not None
                and previous.facet not in (None, "intro")
                and not (
                    content
                    and any(
                        content[0] == f and content[1].lstrip("。").startswith(("現在", "いま", "今"))
                        for f, _ in STRONG_OPENING
                    )
                )
            ):
                tag = FacetTag(previous.facet, "inherited", 0.6, ())
            elif content:
                tag = FacetTag(content[0], "keyword", 0.6, (content[1],))
            else:
                tag = FacetTag("other", "keyword", 0.3, ())
        if kind == "paragraph":
            seen_content = seen_content or att.role != "narrator"
            previous = tag
        out.append(tag)
    return out
