"""Who speaks each segment: name, role, the cue that decided it, and a confidence.

The cues (see :mod:`etl.cues`) are read in one pass over the segments in reading order,
keeping "the floor": a speaker keeps it across sub-headings and images until another cue
hands it on. Text before any cue is the publishing account's editorial voice (narrator).

Methods and their confidences, calibrated by hand on the development samples: how often
each cue named the right person there, discounted for cues that rest on inference.

============== ===== ===========================================================
method         conf  cue
============== ===== ===========================================================
label          0.95  a label line 「佐藤：」 or inline 「佐藤：はい」「【伊藤】」
answer_marker  0.90  「A.」 with one known interviewee
question       0.95  a question marker 「――」「Q.」 (role interviewer)
self_intro     0.90  「…グループ総括担当の井下です。」
caption        0.85  a photo caption naming the person before their section
profile        0.85  a line of a 「◆プロフィール」/「◆参加者」 block
qa_default     0.80  an unlabelled answer after a question, when the intro names one person
floor          0.75  no cue: the previous speaker keeps the floor
editorial      0.70  text before any cue: the narrator
structural     1.00  titles, headings, images, links, chrome: nobody speaks
============== ===== ===========================================================
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from etl.cues import (
    INTERVIEWER_WORDS,
    caption_person,
    core_name,
    find_label,
    find_self_intro,
    strip_quotes,
    surnames_in,
)
from etl.model import SpeakerRole
from etl.segment import Segment

CONFIDENCE: Final = {
    "label": 0.95,
    "answer_marker": 0.90,
    "question": 0.95,
    "self_intro": 0.90,
    "caption": 0.85,
    "profile": 0.85,
    "qa_default": 0.80,
    "floor": 0.75,
    "editorial": 0.70,
    "structural": 1.0,
}
SPOKEN_KINDS: Final = frozenset({"paragraph", "list_item", "quote"})
NOBODY_KINDS: Final = frozenset({"title", "heading", "image_alt", "link", "boilerplate"})
_FULL_NAME_RE: Final = re.compile(r"^(?P<family>[^\s]{1,6})[\s\u3000](?P<given>[^\s]{1,6})$")


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who speaks one segment, by which cue, how surely."""

    name: str | None
    role: SpeakerRole
    method: str
    confidence: float


@dataclass(slots=True)
class Speaker:
    """A person speaking in one article (one row of the ``speakers`` table)."""

    family: str
    name: str
    role: SpeakerRole
    evidence: str
    affiliation: str | None = None
    job_title: str | None = None
    first_ordinal: int | None = None
    segment_count: int = 0
    char_count: int = 0
    aliases: set[str] = field(default_factory=set)


def speaker_key(name: str) -> str:
    """Normalised name for joins across articles: NFKC, no spaces or honorifics.

    >>> speaker_key("古賀　葵さん")
    '古賀葵'
    """
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))
    return re.sub(r"(?:さん|氏|様)$", "", key)


class _Registry:
    """Speakers of one article keyed by family name, keeping the fullest name seen."""

    def __init__(self) -> None:
        self.by_family: dict[str, Speaker] = {}

    def add(
        self,
        family: str,
        *,
        evidence: str,
        role: SpeakerRole = "interviewee",
        full: str | None = None,
        affiliation: str | None = None,
        job_title: str | None = None,
    ) -> Speaker:
        sp = self.by_family.get(family)
        if sp is None:
            sp = Speaker(family=family, name=full or family, role=role, evidence=evidence)
            self.by_family[family] = sp
        elif full and len(full) > len(sp.name) and full.startswith(family):
            sp.name = full
        if role == "interviewer":
            sp.role = role
        sp.affiliation = sp.affiliation or affiliation
        sp.job_title = sp.job_title or job_title
        return sp

    def family_of(self, name: str) -> str:
        """The registered family name a label or mention refers to."""
        core = core_name(name)
        if core in self.by_family:
            return core
        for family in self.by_family:
            if core.startswith(family) or family.startswith(core):
                return family
        return core


def _profile_names(segments: Sequence[Segment], reg: _Registry) -> dict[int, str]:
    """Assign each profile line the person it describes; register those people."""
    out: dict[int, str] = {}
    runs: list[list[int]] = []
    for i, seg in enumerate(segments):
        if seg.kind == "profile":
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
    for run in runs:
        found: dict[int, str] = {}
        for i in run:
            text = segments[i].text
            names = surnames_in(text)
            if not names:
                continue
            family = names[0]
            m = _FULL_NAME_RE.match(re.sub(r"[(（].*?[)）]", "", text).strip())
            full = text.replace("\u3000", " ").strip() if m and m.group("family") == family else None
            paren = re.search(r"[(（](?P<aff>[^)）]+)[)）]", text)
            role: SpeakerRole = "interviewer" if any(w in text for w in INTERVIEWER_WORDS) else "interviewee"
            reg.add(
                family,
                evidence=text,
                role=role,
                full=full.split("(")[0].split("（")[0].strip() if full else None,
                affiliation=paren.group("aff") if paren else None,
            )
            found[i] = family
        if not found:
            continue
        ordered = sorted(found)
        for i in run:
            if i in found:
                out[i] = found[i]
                continue
            before = [j for j in ordered if j < i]
            family = found[before[-1]] if before else found[ordered[0]]
            out[i] = family
            sp = reg.by_family[family]
            text = segments[i].text
            if any(w in text for w in INTERVIEWER_WORDS):
                sp.role = "interviewer"
            elif not sp.affiliation and not re.search(r"\d{4}年", text) and len(text) <= 60:
                sp.affiliation = text
    return out


def attribute_speakers(segments: Sequence[Segment]) -> tuple[list[Attribution], list[Speaker]]:
    """Decide the speaker of every segment and collect the article's speakers.

    >>> from etl.classify import classify
    >>> from etl.model import Block
    >>> from etl.segment import build_segments
    >>> _, segs, _ = build_segments(classify([Block(text="題"),
    ...     Block(text="人事担当の小林です。よろしくお願いします。"), Block(text="二段落目です。")]))
    >>> [(a.name, a.role, a.method) for a in attribute_speakers(segs)[0]]
    [(None, 'none', 'structural'), ('小林', 'author', 'self_intro'), ('小林', 'author', 'floor')]
    """
    reg = _Registry()
    profile_of = _profile_names(segments, reg)

    # Labels and captions name people up front, so a label for someone the intro has not
    # introduced still makes a speaker, and the intro's names can be matched to them.
    has_questions = any(s.kind == "question" for s in segments)
    has_labels = any(s.kind == "speaker_label" or (s.label and s.kind == "paragraph") for s in segments)
    intro_names: list[str] = []
    for seg in segments:
        if seg.kind in ("question", "speaker_label", "caption", "profile") or (
            seg.label and seg.kind == "paragraph"
        ):
            break
        if seg.kind == "paragraph":
            if find_self_intro(seg.text):
                break
            intro_names.extend(n for n in surnames_in(seg.text) if n not in intro_names)

    attributions: list[Attribution] = []
    current: str | None = None  # family name holding the floor
    current_method = "editorial"
    seen_narrator_paragraph = False
    first_person_cue: str | None = None
    default_family: str | None = None

    def default_interviewee() -> str | None:
        people = [f for f, sp in reg.by_family.items() if sp.role == "interviewee"]
        if len(people) == 1:
            return people[0]
        if not people and len(intro_names) == 1:
            return intro_names[0]
        return None

    for seg in segments:
        kind = seg.kind
        if kind in NOBODY_KINDS:
            attributions.append(Attribution(None, "none", "structural", CONFIDENCE["structural"]))
            continue
        if kind == "profile":
            family = profile_of.get(seg.ordinal - segments[0].ordinal) if segments else None
            attributions.append(Attribution(family, "none", "profile", CONFIDENCE["profile"]))
            continue
        if kind == "caption":
            person = caption_person(seg.text)
            if person is None:
                attributions.append(Attribution(None, "none", "structural", CONFIDENCE["structural"]))
                continue
            family = reg.family_of(person[0])
            reg.add(family, evidence=seg.text, affiliation=person[1])
            current, current_method = family, "caption"
            first_person_cue = first_person_cue or "caption"
            attributions.append(Attribution(family, "none", "caption", CONFIDENCE["caption"]))
            continue
        if kind == "question":
            attributions.append(Attribution(None, "interviewer", "question", CONFIDENCE["question"]))
            default_family = default_interviewee()
            if default_family is not None:
                current, current_method = default_family, "qa_default"
            elif current is not None:
                current_method = "floor"
            continue
        if kind == "speaker_label" or (seg.label and kind == "paragraph"):
            label = seg.label or ""
            if re.match(r"^[AＡ]", label) and find_label(label + "x") is None:
                family = default_interviewee() or current
                method = "answer_marker"
            else:
                parsed = find_label(label + (seg.text or "x"), frozenset(reg.by_family))
                raw = parsed.name if parsed else core_name(label.strip("【】:： "))
                family = reg.family_of(raw)
                role: SpeakerRole = "interviewer" if raw in INTERVIEWER_WORDS else "interviewee"
                full_raw = re.sub(r"[(（].*?[)）]", "", label.strip("【】:：")).strip()
                full = full_raw if _FULL_NAME_RE.match(full_raw) else None
                reg.add(family, evidence=label, role=role, full=full)
                method = "label"
            first_person_cue = first_person_cue or "label"
            current, current_method = family, method
            sp_role: SpeakerRole = reg.by_family[family].role if family in reg.by_family else "interviewee"
            attributions.append(Attribution(family, sp_role, method, CONFIDENCE[method]))
            continue
        # Prose: a self-introduction takes the floor; otherwise the floor holder speaks.
        intro = find_self_intro(seg.text) if kind == "paragraph" else None
        if intro is not None:
            family = reg.family_of(intro.name)
            reg.add(
                family,
                evidence=intro.sentence,
                full=intro.full_name if intro.full_name != intro.name else None,
                affiliation=intro.affiliation,
                job_title=intro.job_title,
            )
            if first_person_cue is None:
                first_person_cue = "self_intro_first" if not seen_narrator_paragraph else "self_intro"
            current, current_method = family, "self_intro"
            attributions.append(Attribution(family, "interviewee", "self_intro", CONFIDENCE["self_intro"]))
            continue
        if current is None:
            if kind == "paragraph":
                seen_narrator_paragraph = True
            attributions.append(Attribution(None, "narrator", "editorial", CONFIDENCE["editorial"]))
            continue
        method = current_method if current_method in ("qa_default", "answer_marker") else "floor"
        sp_role = reg.by_family[current].role if current in reg.by_family else "interviewee"
        attributions.append(Attribution(current, sp_role, method, CONFIDENCE[method]))

    # A first-person essay: one person, who introduces themself in the first paragraph,
    # with no questions or labels. Their role is author, not interviewee.
    people = [sp for sp in reg.by_family.values() if sp.role == "interviewee"]
    if first_person_cue == "self_intro_first" and not has_questions and not has_labels and len(people) == 1:
        author = people[0].family
        people[0].role = "author"
        attributions = [
            Attribution(a.name, "author", a.method, a.confidence)
            if a.name == author and a.role == "interviewee"
            else a
            for a in attributions
        ]

    _count(segments, attributions, reg)
    speakers = sorted(
        (sp for sp in reg.by_family.values() if sp.first_ordinal is not None),
        key=lambda sp: sp.first_ordinal or 0,
    )
    return attributions, speakers


def _count(segments: Sequence[Segment], attributions: Sequence[Attribution], reg: _Registry) -> None:
    for seg, att in zip(segments, attributions, strict=True):
        if att.name is None:
            continue
        sp = reg.by_family.get(att.name)
        if sp is None:
            continue
        if sp.first_ordinal is None:
            sp.first_ordinal = seg.ordinal
        if att.role != "none":
            sp.segment_count += 1
            sp.char_count += len(seg.text)


def display_name(speakers: Sequence[Speaker], family: str | None) -> str | None:
    """The name as written for a family name (``None`` stays ``None``).

    >>> display_name([Speaker(family="山田", name="山田 花子", role="interviewee", evidence="")], "山田")
    '山田 花子'
    """
    if family is None:
        return None
    for sp in speakers:
        if sp.family == family:
            return sp.name
    return family


__all__ = ["Attribution", "Speaker", "attribute_speakers", "display_name", "speaker_key", "strip_quotes"]
