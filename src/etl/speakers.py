"""Who speaks each segment: name, role, the cue that decided it, and a confidence.

The article is read before its blocks, in three passes (the multi-pass sieve design of
rule-based coreference and quote attribution: each pass sees the decisions of the earlier
ones, the most precise cues first):

1. :func:`read_cast`: every person the article names, with where and how (profile or cast
   list, label, self-introduction, caption, heading, the intro's 「〜さんに話を聞きました」, the
   account name of a note page) and the role that placement implies;
2. :func:`decide_format`: what kind of article it is (seminar, qa_labeled, qa_unlabeled,
   dialogue, roundtable, essay, announcement, other), from the cue statistics, with a
   confidence;
3. the block sieves, in precision order: explicit label, question, self-introduction,
   caption, answer after a question, the floor (a speaker keeps it across headings and
   images until another cue hands it on), and last the format's default voice (an essay's
   paragraphs are its author's, an announcement's and a FAQ's the account's).

Methods and their confidences, calibrated by hand on the development samples: how often
each cue named the right person there, discounted for cues that rest on inference.

============== ===== ===========================================================
method         conf  cue
============== ===== ===========================================================
label          0.95  a label line 「佐藤：」, inline 「佐藤：はい」「【伊藤】」, a marker 「(◎)」
answer_marker  0.90  「A.」: the one interviewee, or the account in a FAQ
question       0.95  a question marker 「――」「Q.」「■…？」, or a host's prompt
self_intro     0.90  「…グループ総括担当の井下です。」
caption        0.85  a photo caption naming the person before their section
heading        0.80  a talk's heading naming its speaker 「開発部 小林 葵」 (seminars)
profile        0.85  a line of a 「◆プロフィール」/「◆参加者」 block or a cast list
qa_default     0.80  an unlabelled answer after a question: the article's interviewee
floor          0.75  no cue: the previous speaker keeps the floor
author         0.75  no cue, in an essay: the writer (named or not)
reporting      0.70  an event report's own voice between talks (「おふたりの話を聞いて…」)
editorial      0.70  text before any cue, announcements, FAQs: the narrator
structural     1.00  titles, headings, images, links, chrome: nobody speaks
============== ===== ===========================================================
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from etl.classify import ICON_ALT_RE
from etl.cues import (
    HOST_WORDS,
    INTERVIEWER_WORDS,
    WRITER_WORDS,
    SelfIntro,
    answer_marker,
    asks,
    caption_person,
    cast_line,
    core_name,
    find_label,
    find_self_intro,
    legend_key,
    marker_of,
    name_by_shape,
    org_intro,
    strip_quotes,
    surnames_in,
)
from etl.model import ArticleFormat, SpeakerRole
from etl.segment import Segment

CONFIDENCE: Final = {
    "label": 0.95,
    "answer_marker": 0.90,
    "question": 0.95,
    "self_intro": 0.90,
    "caption": 0.85,
    "heading": 0.80,
    "profile": 0.85,
    "qa_default": 0.80,
    "floor": 0.75,
    "author": 0.75,
    "reporting": 0.70,
    "editorial": 0.70,
    "structural": 1.0,
}
SPOKEN_KINDS: Final = frozenset({"paragraph", "list_item", "quote"})
NOBODY_KINDS: Final = frozenset({"title", "heading", "image_alt", "link", "boilerplate"})
_FIRST_PERSON_RE: Final = re.compile(r"(?:わたし|私|僕|ぼく|自分|あたし|わたくし)$")
# Words an event report uses for the people on stage, in its own voice.
_REPORTING_RE: Final = re.compile(
    r"(?:おふたり|お二人|お三方|登壇者|パネリスト|参加者|来場者|視聴者から|会場(?:から|の皆|との)|"
    r"[2-9２-９二三四五]人(?:が|の|に|とも)|[2-9２-９]名(?:が|の))"
)
# A paragraph opening with a transition between talks, in the report's own voice.
_BRIDGE_RE: Final = re.compile(
    r"^(?:続いて|つづいて|次に|最後に|休憩を挟んで|休憩のあと|その後|ここからは|後半は|前半は)[、,]?"
)
_THIRD_PERSON_RE: Final = re.compile(r"[一-龥々ぁ-んァ-ヶー]{1,8}(?:さん|氏|先生)(?:に|が|は|から|の|を)")
_REPORTER_WORDS_RE: Final = re.compile(r"取材(?:の帰り|を終え|のあと|の最後)|インタビューを終え")
_TALK_HEADING_NAME_RE: Final = re.compile(
    r"[(（](?P<name>[一-龥々ヶぁ-んァ-ヶー・A-Za-z]{2,16})(?:さん|氏|先生)[)）]$"
)
_ANSWER_WORD_RE: Final = re.compile(r"(?:[AＡ]\s*\d{0,3}|回答|答え|Answer|ANSWER)\s*[.．:：]?")
_OWN_VOICE_RE: Final = re.compile(r"私|わたし|僕|ぼく|うち|我々|われわれ|自分|弊社|当社")
_NOTICE_RE: Final = re.compile(
    r"(?:お知らせ|\d{1,2}月\d{1,2}日[(（][月火水木金土日]|から(?:開始|始ま|受付|スタート)|開始します|"
    r"始まります|受け付け|申し込み|申込|できるようになりました|できるようになります|ご利用|ご案内)"
)
# An account speaking to applicants or residents: honorifics and a corporate we.
_ACCOUNT_VOICE_RE: Final = re.compile(
    r"いただ|ご[一-龥]{2}|お問い合わせ|弊社|当社|私たち|わたしたち|当市|本市|当館|皆さま|皆様"
)
_ESSAY_RE: Final = re.compile(r"(?:私|わたし|僕|ぼく|自分)(?:は|が|の|も|に|を|、)")
_TITLE_FORMATS: Final = (
    (re.compile(r"座談会|ラウンドテーブル"), "roundtable"),
    (re.compile(r"対談|鼎談"), "dialogue"),
)
_INTERVIEW_WORDS_RE: Final = re.compile(r"インタビュー|取材|お話を(?:伺|聞)|話を聞|語って|登壇|講演")
# The intro names the interviewee: 「…の田中さんに話を聞きました」「…さんにお話を伺いました」.
_INTERVIEW_INTRO_RE: Final = re.compile(
    r"(?:さん|氏|様|先生)(?:に|へ)(?:お話|話|インタビュー|取材|聞|ご登場)|(?:ゲスト|主役|お相手)は.*(?:さん|氏)です|"
    r"(?:伺った|聞いた|登場する|登場いただく|ご紹介する)のは.*(?:さん|氏)(?:です|。|$)|"
    r"(?:さん|氏)(?:の|への)インタビュー|(?:さん|氏)(?:を訪ね|が語)"
)
_LABEL_NOISE_RE: Final = re.compile(r"[(（].*?[)）]|[:：/／【】]")
_PAREN_RE: Final = re.compile(r"[(（].*?[)）]")
_HONORIFIC_HEADING_RE: Final = re.compile(r"(?:さん|氏)(?:に聞く|が語る|インタビュー)?$")
_AFTER_ENDER_RE: Final = re.compile(r"(?<=[。！!？?])")
_FROM_HONORIFIC_RE: Final = re.compile(r"(?:さん|氏|様|先生).*$")
# An editorial intro before a writer's self-introduction (a series, a relay, an editor).
_EDITORIAL_RE: Final = re.compile(r"連載|リレー|シリーズ|企画|ご紹介|紹介します|お届け|バトン|編集部")


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who speaks one segment, by which cue, how surely."""

    name: str | None
    role: SpeakerRole
    method: str
    confidence: float


# The two attributions that name nobody, one shared (frozen) record each: most blocks get one.
_STRUCTURAL: Final = Attribution(None, "none", "structural", CONFIDENCE["structural"])
_EDITORIAL: Final = Attribution(None, "narrator", "editorial", CONFIDENCE["editorial"])


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


@dataclass(slots=True)
class Cast:
    """Pass 1: every person the article names, where, and what that placement implies."""

    reg: _Registry = field(default_factory=_Registry)
    how: dict[str, set[str]] = field(default_factory=dict)  # family -> {"profile", "label", ...}
    profile_of: dict[int, str] = field(default_factory=dict)  # segment index -> family
    caption_of: dict[int, str | None] = field(default_factory=dict)
    label_of: dict[int, str] = field(default_factory=dict)
    intro_of: dict[int, SelfIntro] = field(default_factory=dict)
    heading_of: dict[int, str] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)  # 「(◎)」 -> family; "" = the writer
    hosts: set[str] = field(default_factory=set)
    intro_names: list[str] = field(default_factory=list)
    opening_intro: int | None = None  # index of a self-introduction among the first paragraphs
    answer_markers: int = 0
    q_style: set[str] = field(default_factory=set)
    account: str | None = None
    org_voice: bool = False  # an organisation introduced itself in the opening
    intro_full: dict[str, str] = field(default_factory=dict)  # intro name -> full name
    title_names: list[str] = field(default_factory=list)  # people the title names with さん/氏

    def note(self, family: str, how: str) -> None:
        self.how.setdefault(family, set()).add(how)


@dataclass(frozen=True, slots=True)
class ArticleReading:
    """What :func:`read_article` found: segments (a host's prompts re-kinded as questions),
    one attribution per segment, the speakers, and the article's format with a confidence."""

    segments: list[Segment]
    attributions: list[Attribution]
    speakers: list[Speaker]
    format: ArticleFormat
    format_confidence: float


def _legend_name(text: str, mark: str) -> str | None:
    """The name a legend line gives a marker: 「(◇)あおい…会社員」 or 「辞めたいわたし(□)」."""
    rest = text.replace(mark, "", 1).strip() if text.startswith(mark) else None
    if rest:
        m = re.match(r"^([^…:：・\s(（、。]{1,12})", rest)
        return m.group(1) if m else None
    before = text[: text.rfind(mark)].strip() if mark in text else ""
    before = re.sub(r"^[・•●○◯\-*]\s*", "", before)
    before = re.sub(r"(?:さん|くん|ちゃん|氏)$", "", before).strip()
    if before:
        if _FIRST_PERSON_RE.search(before):
            return ""
        names = surnames_in(before)
        return names[-1] if names else before.split("の")[-1][:12]
    return None


def read_cast(segments: Sequence[Segment], *, account: str | None = None) -> Cast:
    """Pass 1: the people an article names, before any block is attributed.

    >>> from etl.classify import classify
    >>> from etl.model import Block
    >>> from etl.segment import build_segments
    >>> _, segs, _ = build_segments(classify([Block(text="題"), Block(text="◆参加者"),
    ...     Block(text="司会:広報課 相沢 玲"), Block(text="相沢：では、始めます。")]))
    >>> cast = read_cast(segs)
    >>> sorted(cast.hosts), sorted(cast.how["相沢"])
    (['相沢'], ['label', 'profile'])
    """
    cast = Cast(account=account)
    reg = cast.reg
    _read_profiles(segments, cast)
    # A title naming one person with an honorific (「…に聞く 資産税課 村井さん」) names the
    # interviewee when nothing closer does.
    title = next((s.text for s in segments if s.kind == "title"), "")
    for m in re.finditer(r"([一-龥々ヶ]{1,4}(?:[\s\u3000][一-龥々ぁ-んァ-ヶ]{1,5})?)(?:さん|氏)", title):
        family = m.group(1).split()[0]
        if surnames_in(family) or " " in m.group(1) or "\u3000" in m.group(1):
            cast.title_names.append(family)
            if " " in m.group(1):
                cast.intro_full.setdefault(family, m.group(1))
    known = frozenset(reg.by_family)

    # Labels with full names that share a family name (a couple, siblings): each is
    # its own person, keyed by the full name.
    shared: dict[str, set[str]] = {}
    for seg in segments:
        if seg.label and seg.kind in ("speaker_label", "paragraph"):
            by_shape = name_by_shape(_LABEL_NOISE_RE.sub("", seg.label).strip())
            if by_shape is not None:
                shared.setdefault(by_shape.family, set()).add(by_shape.full)
    kin = {full for fulls in shared.values() if len(fulls) >= 2 for full in fulls}

    # Labels first: a label names a speaker even when nobody introduced them.
    for i, seg in enumerate(segments):
        if seg.kind == "question" and seg.label:
            cast.q_style.add("q" if "Q" in seg.label or "Ｑ" in seg.label else "mark")
        if seg.kind not in ("speaker_label", "paragraph", "question") or not seg.label:
            continue
        label = seg.label
        mark = marker_of(label)
        if mark is not None:
            family = cast.markers.get(mark)
            if family is None:
                family = cast.markers[mark] = mark  # a marker with no legend names itself
            cast.label_of[i] = family  # "" is the writer (a self-dialogue)
            continue
        if seg.kind == "question":
            continue
        if _is_answer_label(label):
            cast.answer_markers += 1
            continue
        icon = ICON_ALT_RE.match(label.strip())
        if icon is not None:
            label = icon.group("name")  # a chat bubble's icon names its speaker
        parsed = find_label(label + (seg.text or "x"), known)
        raw = parsed.name if parsed else core_name(label.strip("【】:：/／ "))
        if parsed is None and (" " in label.strip() or "\u3000" in label.strip()):
            # 「新人 早見」 alone before a turn: the job first, the family name last.
            by_shape = name_by_shape(label.strip("【】:：/／ "))
            raw = by_shape.family if by_shape else raw
        if cast.markers.get(raw):
            raw = cast.markers[raw]  # a legend key: 「み:」 is みどり
        own = name_by_shape(_LABEL_NOISE_RE.sub("", label).strip()) if kin else None
        if own is not None and own.full in kin:
            raw = family = own.full  # not resolved to the shared family name
        else:
            family = reg.family_of(raw)
        host = raw in INTERVIEWER_WORDS or family in cast.hosts
        full_raw = _PAREN_RE.sub("", label.strip("【】:：/／")).strip()
        shaped = name_by_shape(full_raw)
        reg.add(
            family,
            evidence=label,
            role="interviewer" if host else "interviewee",
            full=shaped.full if shaped and shaped.family == family else None,
        )
        if host:
            cast.hosts.add(family)
        cast.label_of[i] = family
        cast.note(family, "label")

    # Self-introductions, captions and headings naming someone. The account's display name
    # confirms a handle the dictionary does not know (「…の栗です。」 by the account 栗).
    known = frozenset(reg.by_family) | (
        {account.strip()} if account and _personal_account(account) else set()
    )
    paragraphs_seen = 0
    headings_seen = 0  # an opening self-introduction comes before the first section
    first_cue_seen = False
    for i, seg in enumerate(segments):
        kind = seg.kind
        if kind == "caption":
            multi = (
                re.search(r"左から|右から|[、,・と].+(?:さん|氏)", seg.text)
                and len(surnames_in(seg.text)) >= 2
            )
            person = None if multi else (name_by_shape(seg.text) or None)
            found = (person.family, None) if person else (None if multi else caption_person(seg.text))
            if found is None and not multi:
                # 「登壇中の東さん」: a name the dictionary misses, known from the cast list.
                hon = re.search(r"([一-龥々ヶ]{1,4}|[ァ-ヶー]{2,6})(?:さん|氏|先生)", seg.text)
                if hon is not None and hon.group(1) in reg.by_family:
                    found = (hon.group(1), None)
            if found is None:
                cast.caption_of[i] = None
                continue
            family = reg.family_of(found[0])
            cast.caption_of[i] = family
            cast.note(family, "caption")
            if family not in reg.by_family:
                reg.add(family, evidence=seg.text, affiliation=found[1], full=person.full if person else None)
            first_cue_seen = True
            continue
        if kind == "heading":
            # 「2人目:開発部 木戸 航さん」「…浜口さんに聞く」: the section's interviewee.
            person = name_by_shape(seg.text)
            if person is not None:
                cast.heading_of[i] = reg.family_of(person.family)
            elif _HONORIFIC_HEADING_RE.search(seg.text) and (names := surnames_in(seg.text)):
                cast.heading_of[i] = reg.family_of(names[-1])
            elif talk := _TALK_HEADING_NAME_RE.search(seg.text):
                # 「第3部 …(ホセ・ロドリゲスさん)」: the speaker in brackets, however spelled.
                cast.heading_of[i] = reg.family_of(talk.group("name"))
            headings_seen += 1
            continue
        if kind in ("question", "speaker_label", "profile") or (seg.label and kind == "paragraph"):
            # A writer's byline before the text (「本日の担当:…」) is no interview cue.
            entry = cast_line(seg.text) if kind == "profile" else None
            first_cue_seen = first_cue_seen or entry is None or entry[0] not in WRITER_WORDS
        if kind != "paragraph" or (seg.label and marker_of(seg.label) is None):
            continue
        paragraphs_seen += 1
        opening = not first_cue_seen and paragraphs_seen <= 3 and not headings_seen
        if not first_cue_seen:
            # The intro names the interviewee: 「…の浜口 遼さんにお話を伺いました」.
            # A sentence's match is one in the whole text too (a $ inside a sentence is at
            # its ender or at the text's end): most paragraphs need no split at all, and
            # most name nobody with an honorific, which every branch of the pattern needs.
            plain = strip_quotes(seg.text) if _may_intro_interview(seg.text) else ""
            sentences = _AFTER_ENDER_RE.split(plain) if _INTERVIEW_INTRO_RE.search(plain) else []
            for sentence in sentences:
                if not _INTERVIEW_INTRO_RE.search(sentence):
                    continue
                shaped = name_by_shape(_FROM_HONORIFIC_RE.sub("", sentence))
                for name in [shaped.family] if shaped else surnames_in(sentence):
                    if name not in cast.intro_names:
                        cast.intro_names.append(name)
                        if shaped:
                            cast.intro_full[name] = shaped.full
            if opening and org_intro(seg.text):
                cast.org_voice = True
        if i in cast.label_of:
            continue  # a marker line's self-introduction: the legend already names them
        intro = find_self_intro(seg.text, known, weak=True)
        if intro is None:
            continue
        if intro.weak and not opening and intro.name not in known:
            continue  # 「くるみのパンです。」 in an answer names bread, not a person
        family = reg.family_of(intro.name)
        reg.add(
            family,
            evidence=intro.sentence,
            full=intro.full_name if intro.full_name != intro.name else None,
            affiliation=intro.affiliation,
            job_title=intro.job_title,
        )
        cast.intro_of[i] = intro
        cast.note(family, "self_intro")
        if cast.opening_intro is None and opening:
            cast.opening_intro = i
    _host_by_asking(segments, cast)
    return cast


def _may_intro_interview(text: str) -> bool:
    """Whether ``strip_quotes(text)`` can hold a match of _INTERVIEW_INTRO_RE: each of its
    branches needs one of these words, and strip_quotes keeps a bracket wherever it cuts,
    so it joins no two characters into one.

    >>> _may_intro_interview("浜口さんにお話を伺いました。"), _may_intro_interview("今日は晴れ。")
    (True, False)
    """
    return "さん" in text or "氏" in text or "様" in text or "先生" in text


def _host_by_asking(segments: Sequence[Segment], cast: Cast) -> None:
    """A labelled person whose turns nearly all ask, facing one who answers, is the host.

    Not in a 対談 or 座談会 by its title, where peers ask each other too.
    """
    title = next((s.text for s in segments if s.kind == "title"), "")
    if cast.hosts or any(p.search(title) for p, _ in _TITLE_FORMATS):
        return
    turns: dict[str, list[bool]] = {}
    for i, family in cast.label_of.items():
        if family and segments[i].kind == "paragraph":
            turns.setdefault(family, []).append(asks(segments[i].text))
    if len(turns) != 2:
        return
    ratio = {f: sum(a) / len(a) for f, a in turns.items()}
    asker = max(ratio, key=lambda f: ratio[f])
    other = next(f for f in ratio if f != asker)
    if (
        len(turns[asker]) >= 2
        and ratio[asker] >= 0.5
        and ratio[other] <= 0.35
        and ratio[asker] - ratio[other] >= 0.4
    ):
        cast.hosts.add(asker)
        sp = cast.reg.by_family.get(asker)
        if sp is not None:
            sp.role = "interviewer"


def _read_profiles(segments: Sequence[Segment], cast: Cast) -> None:
    """Assign each profile line the person it describes; register those people."""
    reg = cast.reg
    used_marks = {seg.label for seg in segments if seg.label and marker_of(seg.label)}
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
            key = legend_key(text)
            if key is not None:
                name, short = key
                cast.markers[short] = name
                reg.add(name, evidence=text)
                cast.note(name, "profile")
                found[i] = name
                continue
            inner = next(
                (
                    m.group(0)
                    for m in re.finditer(r"[(（][^()（）\s]{1,2}[)）]", text)
                    if m.group(0) in used_marks
                ),
                None,
            )
            mark = (
                marker_of(text)
                or inner
                or next((m.group(0) for m in [re.search(r"[(（][^\w\s]{1,2}[)）]$", text)] if m), None)
            )
            if mark is not None:
                legend = _legend_name(text, mark)
                if legend is None:
                    continue
                cast.markers[mark] = legend
                if legend:
                    reg.add(legend, evidence=text)
                    cast.note(legend, "profile")
                found[i] = legend
                continue
            cast_entry = cast_line(text)
            person = (
                cast_entry[1] if cast_entry else name_by_shape(re.sub(r"[(（].*?[)）]", "", text).strip())
            )
            if person is None:
                if len(text) > 40:
                    continue
                names = surnames_in(text)
                if not names:
                    continue
                family, full = names[0], None
            else:
                family, full = person.family, person.full
            # 「話し手:…/聞き手:編集部」: only the credit that names this person says its role.
            own = next((part for part in re.split(r"[/／|｜]", text) if family in part), text)
            host = bool(cast_entry and cast_entry[0] in HOST_WORDS) or any(w in own for w in HOST_WORDS)
            paren = re.search(r"[(（](?P<aff>[^)）]+)[)）]", text)
            reg.add(
                family,
                evidence=text,
                role="interviewer" if host else "interviewee",
                full=full,
                affiliation=paren.group("aff") if paren else None,
            )
            if host:
                cast.hosts.add(family)
            cast.note(family, "profile")
            found[i] = family
        if not found:
            continue
        ordered = sorted(found)
        for i in run:
            if i in found:
                cast.profile_of[i] = found[i]
                continue
            before = [j for j in ordered if j < i]
            family = found[before[-1]] if before else found[ordered[0]]
            cast.profile_of[i] = family
            sp = reg.by_family.get(family)
            text = segments[i].text
            if sp is not None and not sp.affiliation and not re.search(r"\d{4}年", text) and len(text) <= 40:
                sp.affiliation = text


def _interviewees(cast: Cast) -> list[str]:
    """People who can answer: named anywhere but as host, writer of the opening, or marker."""
    opening = cast.intro_of[cast.opening_intro].name if cast.opening_intro is not None else None
    out = [
        f
        for f, sp in cast.reg.by_family.items()
        if sp.role == "interviewee" and f not in cast.hosts and f != opening and f in cast.how
    ]
    return out


def decide_format(segments: Sequence[Segment], cast: Cast) -> tuple[ArticleFormat, float]:
    """Pass 2: the article's format from its cue statistics, with a confidence.

    >>> from etl.classify import classify
    >>> from etl.model import Block
    >>> from etl.segment import build_segments
    >>> _, segs, _ = build_segments(classify([Block(text="題"),
    ...     Block(text="――仕事を教えてください。"), Block(text="佐藤：窓口です。"),
    ...     Block(text="――やりがいは？"), Block(text="佐藤：感謝されることです。")]))
    >>> decide_format(segs, read_cast(segs))
    ('qa_labeled', 0.85)
    """
    title = next((s.text for s in segments if s.kind == "title"), "")
    questions = sum(1 for s in segments if s.kind == "question")
    label_people = {
        f for f in cast.label_of.values() if f and f not in cast.hosts and f not in INTERVIEWER_WORDS
    }
    marker_people = {
        f
        for m, f in cast.markers.items()
        if cast.label_of and m in {segments[i].label for i in cast.label_of}
    }
    prose = " ".join(strip_quotes(s.text) for s in segments if s.kind in SPOKEN_KINDS)
    first_person = len(_ESSAY_RE.findall(prose))
    notice = len(_NOTICE_RE.findall(" ".join([title, prose[:600]])))

    if marker_people:
        if "" in marker_people:
            return "essay", 0.8
        return ("roundtable" if len(marker_people) >= 3 else "dialogue"), 0.8
    for pattern, fmt in _TITLE_FORMATS:
        if pattern.search(title) and (label_people or questions):
            return fmt, 0.9  # type: ignore[return-value]
    if cast.answer_markers >= 2 and not label_people:
        # A FAQ in the account's voice, or a writer answering a list of questions.
        business = len(_ACCOUNT_VOICE_RE.findall(prose))
        if cast.org_voice:
            return "other", 0.7
        if notice >= 2:
            return "announcement", 0.7
        if business > first_person or _interviewees(cast):
            return "other", 0.6
        return "essay", 0.6
    if len(label_people) >= 3:
        return "roundtable", 0.85
    # Speakers who take the floor by a self-introduction or caption outside labelled turns.
    talkers = {
        intro.name for i, intro in cast.intro_of.items() if i != cast.opening_intro and i not in cast.label_of
    } | {
        f
        for i, f in cast.caption_of.items()
        # A caption of someone who introduces themself, or of someone the cast list names
        # right before a paragraph: a speaker taking the floor.
        if f
        and f in cast.how
        and (
            "self_intro" in cast.how[f]
            or (
                "profile" in cast.how[f]
                and i + 1 < len(segments)
                and segments[i + 1].kind == "paragraph"
                and not segments[i + 1].label
            )
        )
    }
    if len(label_people) == 2:
        first_label = min(i for i, f in cast.label_of.items() if f in label_people)
        early_talks = [i for i in cast.intro_of if i != cast.opening_intro and i < first_label]
        if len(early_talks) >= 2:
            return "seminar", 0.75
        if "q" in cast.q_style:
            return "qa_labeled", 0.75
        return "dialogue", 0.8
    if len(label_people) == 1:
        return "qa_labeled", 0.85
    if questions >= 1:
        if _interviewees(cast) or cast.intro_names or cast.heading_of or len(cast.title_names) == 1:
            return "qa_unlabeled", 0.8
        # Nobody to answer: the writer answers their own questions (a self-Q&A), or the
        # account answers a FAQ.
        if cast.org_voice:
            return "other", 0.6
        if first_person or cast.opening_intro is not None or not cast.q_style:
            return "essay", 0.65
        return "qa_unlabeled", 0.5  # marked questions to someone the article never names
    speaking_heads = set(cast.heading_of.values()) - set(talkers)
    if not questions and not label_people and len(speaking_heads | set(talkers)) >= 2 and speaking_heads:
        return "seminar", 0.65  # talks in turn under headings naming their speakers
    if len(talkers) >= 2 or (len(talkers) == 1 and cast.opening_intro is not None):
        return "seminar", 0.75
    if len(talkers) == 1 and not first_person:
        return "seminar", 0.6
    if cast.org_voice and cast.opening_intro is None:
        return ("announcement", 0.7) if notice >= 2 else ("other", 0.6)
    if cast.opening_intro is not None:
        # An intro that announces an interview or a talk makes the self-introduced person
        # an interviewee speaking at length, not the writer of an essay.
        before = " ".join(s.text for s in segments[: cast.opening_intro] if s.kind in ("title", "paragraph"))
        if _INTERVIEW_WORDS_RE.search(before):
            return "other", 0.5
        return "essay", 0.85
    if notice >= 2 and first_person == 0:
        return "announcement", 0.75
    if first_person >= 1:
        return "essay", 0.7
    # Nobody named and no notice: personal writing, which rarely says 私 at all.
    return ("announcement", 0.5) if notice else ("essay", 0.5)


def read_article(segments: Sequence[Segment], *, account: str | None = None) -> ArticleReading:
    """All three passes: cast, format, then every block's speaker.

    ``account`` is the author or account name a note page or API answer carries; in an
    essay whose writer never introduces themself it names the writer when it reads as a
    person's name.

    >>> from etl.classify import classify
    >>> from etl.model import Block
    >>> from etl.segment import build_segments
    >>> _, segs, _ = build_segments(classify([Block(text="題"),
    ...     Block(text="散歩を始めて1年が経ちました。"), Block(text="毎朝、川沿いを歩いています。")]))
    >>> r = read_article(segs)
    >>> r.format, [(a.name, a.role) for a in r.attributions]
    ('essay', [(None, 'none'), (None, 'author'), (None, 'author')])
    """
    cast = read_cast(segments, account=account)
    fmt, fmt_conf = decide_format(segments, cast)
    reg = cast.reg
    segs = list(segments)

    opening = cast.intro_of.get(cast.opening_intro) if cast.opening_intro is not None else None
    writer: str | None = None
    reporter: str | None = None
    if fmt == "essay":
        writer = opening.name if opening else None
        if writer is None:
            named = [f for f, sp in reg.by_family.items() if "self_intro" in cast.how.get(f, set())]
            writer = named[0] if len(named) == 1 else None
        if writer is None and account and _personal_account(account):
            # A personal account's display name names the writer of its essays.
            account_names = surnames_in(account)
            writer = reg.family_of(account_names[0]) if account_names else account.strip()
            reg.add(writer, evidence=account, full=account.strip())
        if writer is not None and writer in reg.by_family:
            reg.by_family[writer].role = "author"
    elif (
        opening is not None
        and fmt in ("seminar", "roundtable", "dialogue", "qa_labeled", "qa_unlabeled")
        and opening.name not in set(cast.label_of.values())
    ):
        # Who greets readers before the people of an event report is its reporter.
        reporter = opening.name
        if reporter in reg.by_family:
            reg.by_family[reporter].role = "narrator"

    interviewees = [f for f in _interviewees(cast) if f != reporter]
    profile_people = [f for f in interviewees if "profile" in cast.how.get(f, set())]

    def sole_interviewee() -> str | None:
        for group in (
            profile_people,
            cast.intro_names,
            cast.title_names,
            interviewees,
        ):
            uniq = list(dict.fromkeys(reg.family_of(g) for g in group))
            if len(uniq) == 1:
                if uniq[0] not in reg.by_family or uniq[0] in cast.intro_full:
                    reg.add(uniq[0], evidence="intro", full=cast.intro_full.get(uniq[0]))
                return uniq[0]
        return None

    default_voice: SpeakerRole = "author" if fmt == "essay" else "narrator"
    atts: list[Attribution] = []
    current: str | None = None
    current_role: SpeakerRole = default_voice
    current_method = "author" if fmt == "essay" else "editorial"
    section_person: str | None = None
    seen_writer_intro = False

    for i, seg in enumerate(segs):
        kind = seg.kind
        if kind in NOBODY_KINDS:
            if kind == "heading":
                section_person = cast.heading_of.get(i, section_person if fmt == "qa_unlabeled" else None)
                if fmt == "seminar" and i in cast.heading_of and cast.heading_of[i] != reporter:
                    # A talk's heading names its speaker: 「開発部 小林 葵」 over their paragraphs.
                    current, current_role, current_method = cast.heading_of[i], "interviewee", "heading"
                    if current not in reg.by_family:
                        reg.add(current, evidence=seg.text, full=_full_of(seg.text, current))
            atts.append(_STRUCTURAL)
            continue
        if kind == "profile":
            fam = cast.profile_of.get(i)
            atts.append(Attribution(fam or None, "none", "profile", CONFIDENCE["profile"]))
            continue
        if kind == "caption":
            fam = cast.caption_of.get(i)
            atts.append(
                Attribution(
                    fam,
                    "none",
                    "caption" if fam else "structural",
                    CONFIDENCE["caption" if fam else "structural"],
                )
            )
            # A caption hands the floor on only to someone who speaks in this article.
            if (
                fam
                and fam != reporter
                and (fmt == "seminar" or fam in interviewees)
                and fam not in cast.hosts
                and (fmt != "qa_unlabeled" or fam in profile_people or not profile_people)
            ):
                current, current_role, current_method = fam, "interviewee", "caption"
            continue
        if kind == "question":
            host = cast.label_of.get(i)
            atts.append(
                Attribution(
                    host if host and host in cast.hosts else None,
                    "interviewer",
                    "question",
                    CONFIDENCE["question"],
                )
            )
            if fmt == "essay":
                current, current_role, current_method = writer, "author", "author"
                seen_writer_intro = True
            elif fmt == "qa_unlabeled" or (fmt == "qa_labeled" and not cast.label_of):
                who = section_person or sole_interviewee()
                if who is not None:
                    current, current_role, current_method = who, "interviewee", "qa_default"
            continue
        if i in cast.label_of:
            fam = cast.label_of[i]
            if fam == "" or (fam and fam == writer):
                current, current_role, method = writer, "author", "label"
                seen_writer_intro = True
            elif fam in cast.hosts or fam in INTERVIEWER_WORDS:
                current, current_role, method = fam, "interviewer", "label"
                if kind == "paragraph" and asks(seg.text):
                    segs[i] = dataclasses.replace(seg, kind="question")
                    atts.append(Attribution(fam, "interviewer", "question", CONFIDENCE["question"]))
                    continue
            else:
                current, current_role, method = fam, "interviewee", "label"
            current_method = method
            atts.append(Attribution(current, current_role, method, CONFIDENCE[method]))
            continue
        if seg.label and _is_answer_label(seg.label) and kind == "paragraph":
            who = sole_interviewee() if fmt not in ("other", "announcement", "essay") else None
            if fmt == "essay":
                current, current_role, current_method = writer, "author", "author"
                atts.append(Attribution(writer, "author", "answer_marker", CONFIDENCE["answer_marker"]))
            elif who is not None:
                current, current_role, current_method = who, "interviewee", "answer_marker"
                atts.append(Attribution(who, "interviewee", "answer_marker", CONFIDENCE["answer_marker"]))
            else:
                atts.append(Attribution(None, "narrator", "answer_marker", CONFIDENCE["answer_marker"]))
            continue
        intro = cast.intro_of.get(i)
        if intro is not None:
            fam = reg.family_of(intro.name)
            if fam == reporter:
                current, current_role, current_method = fam, "narrator", "self_intro"
            elif fmt == "essay" and (fam == writer or writer is None):
                current, current_role, current_method = fam, "author", "self_intro"
                seen_writer_intro = True
            elif fam in cast.hosts:
                current, current_role, current_method = fam, "interviewer", "self_intro"
            else:
                current, current_role, current_method = fam, "interviewee", "self_intro"
            atts.append(Attribution(fam, current_role, "self_intro", CONFIDENCE["self_intro"]))
            continue
        # No cue of its own: an event report's own voice, the floor, or the format default.
        if (
            fmt in ("seminar", "roundtable")
            and current is not None
            and current_role in ("interviewee", "interviewer")
            and kind == "paragraph"
            and _reporting(seg.text, cast)
        ) or (
            # Nobody calls themself 〜さん: the floor holder named so is being talked about.
            fmt != "essay"
            and current is not None
            and current_role == "interviewee"
            and kind == "paragraph"
            and _talked_about(current, strip_quotes(seg.text))
        ):
            current, current_role, current_method = reporter, "narrator", "reporting"
            atts.append(Attribution(reporter, "narrator", "reporting", CONFIDENCE["reporting"]))
            continue
        if fmt == "essay" and opening is not None and not seen_writer_intro and i < (cast.opening_intro or 0):
            # Before the writer names themself: a greeting or a hook is already theirs; an
            # editor's word on the series is the account's.
            editorial = bool(_EDITORIAL_RE.search(seg.text))
            atts.append(
                Attribution(
                    None if editorial else writer,
                    "narrator" if editorial else "author",
                    "editorial" if editorial else "author",
                    CONFIDENCE["editorial" if editorial else "author"],
                )
            )
            continue
        if current_role == "author" or (current is None and fmt == "essay"):
            atts.append(Attribution(writer, "author", "author", CONFIDENCE["author"]))
            continue
        if current is None:
            atts.append(_EDITORIAL)
            continue
        method = (
            current_method
            if current_method in ("qa_default", "answer_marker", "reporting", "heading")
            else "floor"
        )
        atts.append(Attribution(current, current_role, method, CONFIDENCE[method]))

    _count(segs, atts, reg)
    speakers = sorted(
        (sp for sp in reg.by_family.values() if sp.first_ordinal is not None),
        key=lambda sp: sp.first_ordinal or 0,
    )
    return ArticleReading(segs, atts, speakers, fmt, fmt_conf)


def _talked_about(name: str, plain: str) -> bool:
    """The floor holder named with an honorific, or the reporter looking back on the talk.

    >>> _talked_about("森", "森さんは笑った。"), _talked_about("森", "取材の帰り道、海を見た。")
    (True, True)
    """
    # re.escape(name) + "(?:さん|氏|先生|教授)" searched: a literal, so a substring test.
    return (
        name + "さん" in plain or name + "氏" in plain or name + "先生" in plain or name + "教授" in plain
    ) or (
        # 「取材の帰り道、…」: the reporter looking back on the interview.
        _REPORTER_WORDS_RE.search(plain) is not None
    )


def _full_of(text: str, family: str) -> str | None:
    person = name_by_shape(text)
    return person.full if person and person.family == family else None


def _personal_account(name: str) -> bool:
    """A display name that reads as a person or a handle, not an organisation.

    >>> _personal_account("くろまめ"), _personal_account("北辰市広報課"), _personal_account("株式会社カゼミチ")
    (True, False, False)
    """
    name = name.strip()
    if not name or len(name) > 16 or re.search(r"株式会社|有限会社|公式|official|編集部|note", name, re.I):
        return False
    return not re.search(
        r"(?:市|町|村|県|都|府|区|庁|省|室|課|部|局|社|会社|大学|学校|協会|委員会|センター|チーム|グループ|財団|法人)$",
        name,
    )


def _is_answer_label(label: str) -> bool:
    """「A.」「A:」「→」: an answer marker, not a person's label."""
    if label.startswith(("→", "⇒")) or _ANSWER_WORD_RE.fullmatch(label.strip()):
        return True  # 「A」「回答」 alone on its line over the answer
    return answer_marker(label + "x") is not None and find_label(label + "x") is None


def _reporting(text: str, cast: Cast) -> bool:
    """An event report speaking of its speakers in the third person, in its own voice."""
    # Speakers call each other 〜さん too; only the report's words for the group tell.
    plain = strip_quotes(text)
    if _REPORTING_RE.search(plain):
        return True
    # 「続いて、…さんに…を伺いました。」: a bridge handing the floor to the next speaker.
    # 「最後に、審査員から講評がありました。」: a bridge reporting in the past, nobody's own words.
    return bool(
        _BRIDGE_RE.match(plain)
        and (
            _THIRD_PERSON_RE.search(plain)
            or (re.search(r"ました[。！!]?$", plain) and not _OWN_VOICE_RE.search(plain))
        )
    )


def attribute_speakers(segments: Sequence[Segment]) -> tuple[list[Attribution], list[Speaker]]:
    """Decide the speaker of every segment and collect the article's speakers.

    >>> from etl.classify import classify
    >>> from etl.model import Block
    >>> from etl.segment import build_segments
    >>> _, segs, _ = build_segments(classify([Block(text="題"),
    ...     Block(text="人事担当の小林です。よろしくお願いします。"), Block(text="二段落目です。")]))
    >>> [(a.name, a.role, a.method) for a in attribute_speakers(segs)[0]]
    [(None, 'none', 'structural'), ('小林', 'author', 'self_intro'), ('小林', 'author', 'author')]
    """
    reading = read_article(segments)
    return reading.attributions, reading.speakers


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


__all__ = [
    "ArticleReading",
    "Attribution",
    "Cast",
    "Speaker",
    "attribute_speakers",
    "decide_format",
    "display_name",
    "read_article",
    "read_cast",
    "speaker_key",
    "strip_quotes",
]
