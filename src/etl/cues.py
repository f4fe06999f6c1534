"""Speaker cues found in Japanese note articles: labels, question markers, names.

Each function looks at one block's text and says what cue it carries, if any. They are
pure and small so each cue can be tested on its own; :mod:`etl.speakers` combines them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from etl.morph import tokenize
from etl.normalize import match_key

# A question marker at line start: dashes of every width (ー is a dash here: no Japanese
# word starts with the long-vowel mark), or Q / Q. / Q1 / Ｑ：.
QUESTION_RE: Final = re.compile(
    r"^(?:[―—─–]{1,3}|ー{1,3}(?=\S)|-{2,3}|[QＱ]\s*\d*\s*(?:[.．:：)）]|\s|(?=[\u3000-\u9fff])))\s*"
)
# An answer marker: A / A. / A1：, which hands the floor to the article's interviewee.
ANSWER_RE: Final = re.compile(r"^[AＡ]\s*\d*\s*[.．:：)）]\s*")
# 「佐藤：」「山崎さん(以下、敬称略):」「株式会社〇〇 田中:」. The name part may hold one
# parenthesis with anything but a colon inside; the whole label is short.
COLON_LABEL_RE: Final = re.compile(
    r"^(?P<name>[^\s:：「」『』。！？!?(（]{1,16}(?:\s[^\s:：「」。(（]{1,10})?(?:[(（][^)）:：]{0,20}[)）])?)\s*[:：]\s*"
)
BRACKET_LABEL_RE: Final = re.compile(r"^【(?P<name>[^】]{1,16})】\s*")
# Trailing honorifics and parenthetical notes are not part of a name.
_HONORIFIC_RE: Final = re.compile(r"(?:さん|氏|様|先生|くん|君|ちゃん)$")
_PAREN_RE: Final = re.compile(r"[(（][^)）]*[)）]")
_TIME_RE: Final = re.compile(r"^\d{1,2}$")
# Roles that speak in interviews without a name; they ask, so their role is interviewer.
INTERVIEWER_WORDS: Final = frozenset(
    {
        "司会",
        "聞き手",
        "インタビュアー",
        "モデレーター",
        "ファシリテーター",
        "進行",
        "編集部",
        "MC",
        "記者",
        "パーソナリティ",
    }
)
# Words that look like labels in notices and never name a person.
NOT_A_NAME: Final = frozenset(
    {
        "注",
        "url",
        "http",
        "https",
        "日時",
        "日程",
        "場所",
        "会場",
        "期間",
        "時間",
        "対象",
        "定員",
        "内容",
        "主催",
        "共催",
        "後援",
        "問い合わせ",
        "お問い合わせ",
        "備考",
        "例",
        "出典",
        "参考",
        "写真",
        "撮影",
        "取材",
        "文",
        "編集",
        "構成",
        "テーマ",
        "申込",
        "申し込み",
        "締切",
        "料金",
        "参加費",
        "詳細",
        "住所",
        "tel",
        "電話",
        "メール",
        "email",
        "e-mail",
        "fax",
        "ポイント",
        "結論",
        "まとめ",
        "目的",
        "背景",
        "課題",
        "特徴",
        "対象者",
        "方法",
        "期限",
        "費用",
        "形式",
        "所在地",
        "アクセス",
        "引用",
        "※",
    }
)


@dataclass(frozen=True, slots=True)
class Label:
    """A speaker label at the start of a block: the label as written and the name in it."""

    label: str  # as written, with its colon or brackets: 「佐藤：」, 「【伊藤】」
    name: str  # the person or role as written, without honorific: 佐藤, 司会
    rest: str  # the text after the label


def strip_quotes(text: str) -> str:
    """Remove quoted speech, so names and self-introductions inside 「」 count for nothing.

    >>> strip_quotes("彼は「佐藤です。」と言った。")
    '彼は「」と言った。'
    """
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch in "「『":
            depth += 1
            if depth == 1:
                out.append(ch)
        elif ch in "」』" and depth:
            depth -= 1
            if depth == 0:
                out.append(ch)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def question_marker(text: str) -> str | None:
    """The question marker a block starts with, if any.

    >>> question_marker("――まずは経歴を教えてください。")
    '――'
    >>> question_marker("Q1. 志望動機は？")
    'Q1. '
    >>> question_marker("QRコードを読み取る") is None
    True
    """
    m = QUESTION_RE.match(text)
    if not m or len(text) <= m.end():
        return None
    if text[0] in "QＱ" and text[1:2].isascii() and text[1:2].isalpha():
        return None
    return m.group(0)


def answer_marker(text: str) -> str | None:
    """The answer marker (A. / A：) a block starts with, if any.

    >>> answer_marker("A. はい、そうです。")
    'A. '
    """
    m = ANSWER_RE.match(text)
    return m.group(0) if m else None


def core_name(name: str) -> str:
    """A label's name without honorific, parenthetical note or affiliation before a space.

    >>> core_name("株式会社ソラノメ 田中")
    '田中'
    >>> core_name("山崎さん(以下、敬称略)")
    '山崎'
    """
    name = _PAREN_RE.sub("", name).strip()
    if " " in name or "\u3000" in name:
        parts = name.split()
        # 「山田 花子」 is a full name; 「株式会社〇〇 田中」 an affiliation and a name.
        name = parts[-1] if _looks_like_org(parts[0]) else parts[0]
    return _HONORIFIC_RE.sub("", name).strip()


def _looks_like_org(text: str) -> bool:
    return bool(
        re.search(
            r"(?:株式会社|有限会社|合同会社|大学|庁|省|市|区|町|村|県|部|課|室|班|センター|チーム|グループ)",
            text,
        )
    )


@lru_cache(maxsize=4096)
def is_person_name(name: str) -> bool:
    """True when the morphological analyser reads ``name`` as (part of) a person's name.

    >>> is_person_name("佐藤"), is_person_name("日時")
    (True, False)
    """
    if not name or match_key(name) in NOT_A_NAME:
        return False
    tokens = tokenize(name)
    return any(t.is_person_name for t in tokens)


def label_name_ok(name: str, known_names: frozenset[str] = frozenset()) -> bool:
    """Whether a label's name can be a speaker: a person, a known name, or an interviewer role.

    >>> label_name_ok("鈴木"), label_name_ok("注"), label_name_ok("10")
    (True, False, False)
    """
    core = core_name(name)
    if not core or _TIME_RE.match(core) or match_key(core) in NOT_A_NAME:
        return False
    if core in INTERVIEWER_WORDS or core in known_names:
        return True
    if is_person_name(core):
        return True
    # Katakana or Latin nicknames (「ケン：」「Mika:」) are names too when they are short.
    return bool(re.fullmatch(r"[\u30a0-\u30ffA-Za-z]{2,8}", core)) and match_key(core) not in NOT_A_NAME


def find_label(text: str, known_names: frozenset[str] = frozenset()) -> Label | None:
    """The speaker label a block starts with, if it names a possible speaker.

    >>> find_label("佐藤：はい、そうです。")
    Label(label='佐藤：', name='佐藤', rest='はい、そうです。')
    >>> find_label("【伊藤】データ班の伊藤です。").name
    '伊藤'
    >>> find_label("10:30 開始") is None, find_label("注: 要予約") is None
    (True, True)
    """
    for regex in (BRACKET_LABEL_RE, COLON_LABEL_RE):
        m = regex.match(text)
        if m and label_name_ok(m.group("name"), known_names):
            return Label(label=m.group(0).rstrip(), name=core_name(m.group("name")), rest=text[m.end() :])
    return None


def surnames_in(text: str) -> list[str]:
    """Person names in ``text`` (quoted speech ignored), in order, as family names.

    >>> surnames_in("市民課の田中さんに話を聞きました。")
    ['田中']
    """
    names: list[str] = []
    tokens = tokenize(strip_quotes(text))
    for i, tok in enumerate(tokens):
        if tok.is_surname or (
            tok.is_person_name and tok.pos4 != "名" and (i == 0 or not tokens[i - 1].is_surname)
        ):
            names.append(tok.surface)
    return names


_SELF_INTRO_RE: Final = re.compile(
    r"^(?:私は|わたしは|僕は|ぼくは)?(?P<pre>[^、。「」\s]{0,40}?)の?(?P<name>[^\s。、「」の]{1,8}?)"
    r"(?:と申します|といいます|です)[。！!]?$"
)
_GREETING_RE: Final = re.compile(
    r"^(?:皆(?:さん|様)、?)?(?:こんにちは|こんばんは|はじめまして|初めまして|おはようございます)"
)


@dataclass(frozen=True, slots=True)
class SelfIntro:
    """A self-introduction: 「省庁業務サービスグループ総括担当の井下です。」."""

    name: str  # family name as written
    full_name: str
    affiliation: str | None
    job_title: str | None
    sentence: str


_ORG_SUFFIX_RE: Final = re.compile(
    r"^(?P<org>.*(?:グループ|ユニット|チーム|班|課|部|室|局|庁|省|センター|本部|会社|社|大学|研究所|事務所|部門|機構|市|区|町|村|県|都|府))"
    r"(?P<rest>.*)$"
)


def split_affiliation(pre: str) -> tuple[str | None, str | None]:
    """Split 「省庁業務サービスグループ総括担当」 into affiliation and job title.

    >>> split_affiliation("省庁業務サービスグループ総括担当")
    ('省庁業務サービスグループ', '総括担当')
    >>> split_affiliation("ファクト&データユニット所属")
    ('ファクト&データユニット', None)
    >>> split_affiliation("人事担当")
    (None, '人事担当')
    """
    pre = pre.strip(" 、")
    if not pre:
        return None, None
    m = _ORG_SUFFIX_RE.match(pre)
    if not m:
        return None, pre
    rest = re.sub(r"^(?:の|で|に)?(?:所属|在籍)?(?:の)?", "", m.group("rest")).strip()
    return m.group("org"), (rest or None)


_ENDER: Final = re.compile(r"[。！!]")


def _first_sentences(text: str, n: int) -> list[str]:
    """The first ``n`` non-blank sentences, each with its ender (no need to split the rest)."""
    out: list[str] = []
    start = 0
    for m in _ENDER.finditer(text):
        sentence, start = text[start : m.end()], m.end()
        if sentence.strip():
            out.append(sentence)
            if len(out) == n:
                return out
    if text[start:].strip():
        out.append(text[start:])
    return out


@lru_cache(maxsize=1024)
def find_self_intro(text: str) -> SelfIntro | None:
    """The self-introduction in a block's first sentences, if any (quotes ignored).

    Memoised: the speaker and facet stages both ask about the same paragraphs.

    >>> si = find_self_intro("省庁業務サービスグループ総括担当の井下です。2012年に入庁しました。")
    >>> (si.name, si.affiliation, si.job_title)
    ('井下', '省庁業務サービスグループ', '総括担当')
    >>> find_self_intro("「佐藤です。」と彼は言った。") is None
    True
    """
    plain = strip_quotes(text) if "「" in text or "『" in text else text
    # Only a block's first sentence introduces its speaker, or the second after a greeting
    # (「こんにちは。人事担当の小林です。」); a name later on is someone being talked about.
    sentences = _first_sentences(plain, 2)
    head = sentences[:2] if sentences and _GREETING_RE.match(sentences[0]) else sentences[:1]
    for sentence in head:
        m = _SELF_INTRO_RE.match(sentence.strip())
        if m is None:
            continue
        candidate = m.group("name")
        tokens = tokenize(candidate)
        if not tokens or not any(t.is_person_name for t in tokens):
            continue
        # 「西野真菜」: family name is the first surname token, else the whole name.
        family = next((t.surface for t in tokens if t.is_surname), candidate)
        pre = m.group("pre")
        affiliation, job_title = split_affiliation(
            re.sub(r"^\d{4}年(?:度)?(?:入庁|入社|入省|入所)?", "", pre) if pre else ""
        )
        return SelfIntro(
            name=family,
            full_name=candidate,
            affiliation=affiliation,
            job_title=job_title,
            sentence=sentence.strip(),
        )
    return None


def caption_person(text: str) -> tuple[str, str | None] | None:
    """The person a photo caption names, with the affiliation before 「の」.

    >>> caption_person("省庁業務サービスグループの井下")
    ('井下', '省庁業務サービスグループ')
    >>> caption_person("市民課の田中さん")
    ('田中', '市民課')
    >>> caption_person("会場の様子") is None
    True
    """
    names = surnames_in(text)
    if not names:
        return None
    name = names[-1]
    before = strip_quotes(text).rsplit(name, 1)[0]
    affiliation = before[:-1] if before.endswith("の") else None
    return name, (affiliation or None)
