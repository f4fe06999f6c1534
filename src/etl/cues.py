"""Speaker cues found in Japanese note articles: labels, question markers, names.

Each function looks at one block's text and says what cue it carries, if any. They are
pure and small so each cue can be tested on its own; :mod:`etl.speakers` combines them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from etl.morph import Token, tokenize
from etl.normalize import match_key

# A question marker at line start: dashes of every width (ー is a dash here: no Japanese
# word starts with the long-vowel mark), or Q / Q. / Q1 / Ｑ：.
QUESTION_RE: Final = re.compile(
    r"^(?:[―—─–]{1,3}|ー{1,3}(?=\S)|ー{1,3}\s+(?=\S)|-{2,12}(?=[^\s-])|"
    r"[QＱ]\s*\d*\s*(?:[.．:：)）]|\s|(?=[\u3000-\u9fff]))|質問\s*[:：]|[【\[［(（]\s*[QＱ]\s*\d*\s*[】\]］)）])\s*"
)
# An answer marker: A / A. / A1：, which hands the floor to the article's interviewee.
ANSWER_RE: Final = re.compile(
    r"^(?:[AＡ]\s*\d*\s*[.．:：)）]|回答\s*[:：]|[【\[［(（]\s*[AＡ]\s*\d*\s*[】\]］)）])\s*"
)
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
        "ホームページ",
        "サイト",
        "ウェブサイト",
        "リンク",
        "連絡先",
        "電話番号",
        "受付",
        "持ち物",
        "服装",
        "集合",
        "条件",
        "資格",
        "給与",
        "勤務地",
        "勤務時間",
        "休日",
        "待遇",
        "応募方法",
        "雇用形態",
        "理由",
        "目標",
        "感想",
        "結果",
        "効果",
        "メリット",
        "デメリット",
        "注意",
        "注意点",
        "答え",
        "回答",
        "質問",
        "問題",
        "解決策",
        "対策",
        "原因",
        "きっかけ",
        "今後",
        "現在",
        "過去",
        "学び",
        "反省",
        "成果",
        "気づき",
        "補足",
        "追記",
        "余談",
        "要点",
        "前提",
        "手順",
        "準備",
        "材料",
        "作り方",
        "日付",
        "天気",
        "気温",
        "概要",
        "目次",
        "対象年齢",
        "価格",
        "値段",
        "送料",
        "営業時間",
        "定休日",
        "予算",
        "期間限定",
        "特典",
        "ルール",
        "コツ",
        "お題",
        "タイトル",
        "ジャンル",
        "カテゴリ",
        "使用機材",
        "機材",
        "本日",
        "今日",
        "昨日",
        "明日",
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
    if "「" not in text and "『" not in text:
        return text  # the common case, and the reader asks about every block
    # When every opening bracket starts a quote with no other opening bracket before its
    # close, the depth never passes 1 and the quotes are exactly the pattern's matches.
    pieces = _FLAT_QUOTE_SPLIT_RE.split(text)  # text, opener, text, opener, ...
    if len(pieces) // 2 == text.count("「") + text.count("『"):
        return "".join(pieces)
    # Only the brackets change the depth: copy the text between them in slices.
    out: list[str] = []
    depth = 0
    kept_from = 0  # where the text kept since the last bracket that mattered starts
    for m in _QUOTE_MARK_RE.finditer(text):
        at = m.start()
        if text[at] in "「『":
            if depth == 0:
                out.append(text[kept_from : at + 1])  # the opening bracket is kept
            depth += 1
        elif depth:  # a closing bracket with nothing open is plain text
            depth -= 1
            if depth == 0:
                out.append(text[at])
                kept_from = at + 1
    if depth == 0:
        out.append(text[kept_from:])
    return "".join(out)


_QUOTE_MARK_RE: Final = re.compile("[「『」』]")
# A quote's words between its brackets, no bracket among them (a plain "" replacement
# stays in C, where a template would call back into Python for every match).
_FLAT_QUOTE_RE: Final = re.compile("(?<=[「『])[^「『」』]*(?=[」』])")
# The same matches from their opening bracket, which the split keeps (a search for a
# literal bracket skips ahead in C; the lookbehind is tried at every character).
_FLAT_QUOTE_SPLIT_RE: Final = re.compile("([「『])[^「『」』]*(?=[」』])")


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
        # 「山田 花子」 is a full name; 「株式会社〇〇 田中」「工房ミナト 城島」 an affiliation
        # and a name: the name is the part UniDic reads as a person's, else the last one
        # after an organisation, else the first.
        first, last = _HONORIFIC_RE.sub("", parts[0]), _HONORIFIC_RE.sub("", parts[-1])
        if _looks_like_org(parts[0]) or (is_person_name(last) and not is_person_name(first)):
            name = parts[-1]
        else:
            name = parts[0]
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


_BULLETS: Final = "・•●○◯▪■□◆◇▶▷※*-"


def label_name_ok(name: str, known_names: frozenset[str] = frozenset()) -> bool:
    """Whether a label's name can be a speaker: a person, a known name, or an interviewer role.

    >>> label_name_ok("鈴木"), label_name_ok("注"), label_name_ok("10")
    (True, False, False)
    """
    core = core_name(name)
    if not core or _TIME_RE.match(core) or match_key(core) in NOT_A_NAME or core[0] in _BULLETS:
        return False
    if core in INTERVIEWER_WORDS or core in known_names:
        return True
    if is_person_name(core):
        return True
    # Katakana or Latin nicknames (「ケン：」「Mika:」) are names too when they are short.
    return (
        bool(re.fullmatch(r"[\u30a1-\u30faー\u30fcA-Za-z]{2,8}", core)) and match_key(core) not in NOT_A_NAME
    )


def may_be_label(text: str) -> bool:
    """Every label (and label shape) opens with 【 or has a colon: cheaper to ask first.

    >>> may_be_label("佐藤：はい。"), may_be_label("【伊藤】"), may_be_label("はい。")
    (True, True, False)
    """
    return text[:1] == "【" or ":" in text or "：" in text


def find_label(text: str, known_names: frozenset[str] = frozenset()) -> Label | None:
    """The speaker label a block starts with, if it names a possible speaker.

    >>> find_label("佐藤：はい、そうです。")
    Label(label='佐藤：', name='佐藤', rest='はい、そうです。')
    >>> find_label("【伊藤】データ班の伊藤です。").name
    '伊藤'
    >>> find_label("10:30 開始") is None, find_label("注: 要予約") is None
    (True, True)
    """
    if not may_be_label(text):
        return None
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


_ADDRESS: Final = r"^(?:(?:皆|みな)(?:さん|様|さま)、?)?"
_GREETING_WORDS: Final = "こんにちは|こんばんは|はじめまして|初めまして|おはようございます|お久しぶりです"
#: A greeting that opens a line: 「こんにちは」「皆さん、はじめまして」 (classify uses it too).
GREETING: Final = rf"{_ADDRESS}(?:{_GREETING_WORDS})"
# Before a self-introduction, also the openers of a late one: 「申し遅れました。…と申します。」
_GREETING_RE: Final = re.compile(
    rf"{_ADDRESS}(?:{_GREETING_WORDS}|どうも|あらためまして|改めまして|"
    r"申し遅れました|申し遅れましたが|自己紹介が遅れました|遅ればせながら)"
)
# The predicate of a self-introduction, with what may trail it: emoji, (笑), symbols.
_INTRO_PREDICATE_RE: Final = re.compile(
    r"(?P<pred>と申します|といいます|と言います|と申す者です|でございます|です)"
    r"(?:[。！!♪☆★…~〜ー\s]|[(（][^)）]{0,4}[)）]|[\U0001F000-\U0001FFFF\u2600-\u27BF\uFE0F])*$"
)
_FIRST_PERSON: Final = frozenset(
    {"私", "わたし", "僕", "ぼく", "俺", "おれ", "自分", "わたくし", "あたし", "うち"}
)
# A name part that is an organisation or a team introduces an account, not a person.
_ORG_NAME_RE: Final = re.compile(
    r"(?:チーム|部|課|室|局|係|班|編集部|事務局|事務所|会社|大学|協会|委員会|グループ|センター|公式|アカウント|運営)$"
)
_HANDLE_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{1,15}$|^[\u3041-\u309f\u30a0-\u30ff]{2,8}$")
# Words of a role or job just before the name: 「総務担当 滝口」「スタッフの戸田」.
_JOB_WORD_RE: Final = re.compile(
    r"(?:担当|係|広報|経理|人事|営業|採用|総務|企画|開発|編集|スタッフ|職員|社員|代表|店長|店主|主任|課長|部長|"
    r"中の人|編集長|ライター|エンジニア|デザイナー|マネージャー|ディレクター|会社員|公務員|学生|主婦|ママ|パパ|"
    r"所属|入庁|入社|卒|出身|している|しています|してます|しております|やっています|をやってる|務める|務めています|"
    r"ている|ています|ております)$"
)


_QUOTED_NAME_RE: Final = re.compile(
    r"[「『]([^「」『』]{1,12})[」』](?=と申します|といいます|と言います|です)"
)
_HANDLE_NOTE_RE: Final = re.compile(
    r"\s*[(（]\s*@?[A-Za-z0-9_.]{2,20}\s*[)）](?=と申します|といいます|と言います|です)"
)


@dataclass(frozen=True, slots=True)
class SelfIntro:
    """A self-introduction: 「省庁業務サービスグループ総括担当の井下です。」."""

    name: str  # family name (or handle) as written
    full_name: str
    affiliation: str | None
    job_title: str | None
    sentence: str
    # Resting on the frame alone (a kana word after 「…の」): trusted only in an article's
    # opening paragraphs or for a name the article gives elsewhere.
    weak: bool = False


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


_ENDER: Final = re.compile(r"[。！!？?]")


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


def _topic_before(tokens: tuple[Token, ...]) -> bool:
    """A は/が/も in the complement makes 「XはYです」 a statement, not an introduction.

    A topic inside a clause that describes the person is fine: one with its own predicate
    before a comma (「平日は窓口をしていて、…森です」), or a relative clause ending right on
    the name (「休日はパンを焼いている千早です」), unless nominalised (「登場するのは…山田です」).
    """
    j = len(tokens)
    while j > 0 and tokens[j - 1].pos1 in ("名詞", "接頭辞"):
        j -= 1
    modifies_name = j > 0 and tokens[j - 1].pos1 in ("動詞", "助動詞", "形容詞")
    for i, t in enumerate(tokens):
        if t.pos1 == "助詞" and t.surface in ("は", "が", "も", "って"):
            nominalised = i > 0 and tokens[i - 1].surface in ("の", "ん")
            nxt = next((k for k in range(i + 1, len(tokens)) if tokens[k].surface in ("、", ",", "，")), None)
            if nxt is not None and any(x.pos1 in ("動詞", "形容詞") for x in tokens[i + 1 : nxt]):
                continue
            if modifies_name and not nominalised and i < j - 1:
                continue
            before = "".join(x.surface for x in tokens[:i])
            if before not in _FIRST_PERSON and t.pos2 != "接続助詞":
                return True
    return False


def _name_part(complement: str) -> tuple[str, str]:
    """Split a complement into what precedes the name and the name: the trailing run of nouns.

    A space inside the run separates a job from a name (「総務担当 滝口」) unless the part
    before it is itself a short proper noun (「戸田 りん」, a full name).
    """
    tokens = tokenize(complement)
    j = len(tokens)
    while j > 0 and tokens[j - 1].pos1 in ("名詞", "接頭辞") and tokens[j - 1].pos2 != "数詞":
        j -= 1
    run = "".join(t.surface for t in tokens[j:])
    # MeCab drops spaces: find the run's start in the original text to keep them. The
    # longest tail with no more non-space characters than the run (\s is str.isspace),
    # counted as the tail grows rather than by stripping each tail again.
    start = len(complement)
    solid = 0  # non-space characters in complement[start:]
    while start > 0:
        grown = solid + (not complement[start - 1].isspace())
        if grown > len(run):
            break
        start, solid = start - 1, grown
    before, name = complement[:start], complement[start:].strip()
    if " " in name or "\u3000" in name:
        head, _, tail = name.replace("\u3000", " ").rpartition(" ")
        last = head.split(" ")[-1]
        # Tags in context (a name alone is often read as a common noun).
        ttoks = _tokens_of_tail(tokens[j:], len(tail))
        toks = _tokens_of_tail(tokens[j : len(tokens) - len(ttoks)], len(last))
        given = bool(ttoks) and ttoks[0].pos3 == "人名" and ttoks[0].pos4 == "名" and len(tail) <= 4
        if not (toks and len(toks) <= 2 and (toks[0].pos2 == "固有名詞" or given) and len(last) <= 5):
            before, name = before + head + " ", tail
        else:
            before, name = before + head[: len(head) - len(last)], f"{last} {tail}"
    return before, name


def _tokens_of_tail(tokens: tuple[Token, ...], chars: int) -> tuple[Token, ...]:
    """The last tokens whose surfaces add up to ``chars`` characters (or none)."""
    total, k = 0, len(tokens)
    while k > 0 and total < chars:
        k -= 1
        total += len(tokens[k].surface)
    return tokens[k:] if total == chars else ()


# Every self-introduction ends in one of these predicates (_INTRO_PREDICATE_RE), and
# neither the rewrites nor strip_quotes in _head_frames can make one the text lacks.
_PREDICATE_GATE_RE: Final = re.compile(r"です|と申します|といいます|と言います|でございます")


def find_self_intro(
    text: str, known: frozenset[str] = frozenset(), *, weak: bool = False
) -> SelfIntro | None:
    """The self-introduction in a block's first sentences, if any (quotes ignored).

    A clause whose predicate is です/と申します/といいます and whose complement ends in a
    name: a token UniDic tags as a person's or place name (most family names), a handle
    (Latin letters, or kana after a greeting), or any noun after a job phrase
    (「検査の仕事をしている杉浦といいます」). What depends on the text alone is memoised:
    the classifier, the speaker and the facet stages all ask, with different known names.
    ``weak=True`` also returns introductions resting on the frame alone (a kana word after
    「…の」), which only the article's opening can confirm.

    >>> si = find_self_intro("省庁業務サービスグループ総括担当の井下です。2012年に入庁しました。")
    >>> (si.name, si.affiliation, si.job_title)
    ('井下', '省庁業務サービスグループ', '総括担当')
    >>> find_self_intro("こんばんは、経理担当のhina_22です。").name
    'hina_22'
    >>> find_self_intro("「佐藤です。」と彼は言った。") is None
    True
    """
    # Most blocks have no such predicate at all: no need to hash them into the memo.
    if _PREDICATE_GATE_RE.search(text) is None:
        return None
    for frame in _head_frames(text):
        intro = frame.intro(known)
        if intro is not None and (weak or not intro.weak):
            return intro
    return None


@lru_cache(maxsize=4096)
def _head_frames(text: str) -> tuple[_IntroFrame, ...]:
    """The introduction frames of a block's head sentences, in order, known names aside."""
    # A name the writer quotes (「…の「こはぜ」です」) is still theirs; a handle in brackets
    # after it (「望月(@mochi_z)と申します」) is dropped. Other quotes introduce nobody.
    quoted = "「" in text or "『" in text
    if quoted:  # both patterns need a bracket of their own: the rewrites are cheap to skip
        text = _QUOTED_NAME_RE.sub(r"\1", text)
    if "(" in text or "（" in text:
        text = _HANDLE_NOTE_RE.sub("", text)
    plain = strip_quotes(text) if quoted else text
    # Only a block's first sentence introduces its speaker, or the next one after a
    # greeting (「こんにちは。人事担当の小林です。」); a name later on is someone talked about.
    sentences = _first_sentences(plain, 3)
    head: list[str] = []
    for sentence in sentences:
        head.append(sentence)
        if not _GREETING_RE.match(sentence.strip()) or len(sentence.strip()) > 16:
            break
    frames = (_intro_frame(sentence.strip(), after_greeting=k > 0) for k, sentence in enumerate(head))
    return tuple(frame for frame in frames if frame is not None)


def _has_corporate_name(text: str) -> bool:
    """``_CORPORATE_NAME_RE.search(text)``, asked only of a text with a legal form's word.

    Every legal form the pattern names holds 会社 or 法人; its second branch backtracks over
    every run of characters before them, so a text without either is not searched.

    >>> _has_corporate_name("株式会社みなもフーズの森"), _has_corporate_name("総務担当の森")
    (True, False)
    """
    return ("会社" in text or "法人" in text) and _CORPORATE_NAME_RE.search(text) is not None


# A company or association's name with its legal form, up to a space, の or 、.
_CORPORATE_NAME_RE: Final = re.compile(
    r"(?:株式会社|有限会社|合同会社|(?:一般|公益)?(?:社団|財団)法人|NPO法人|特定非営利活動法人)[^\s　の、,]*"
    r"|[^\s　の、,]+(?:株式会社|有限会社|合同会社)"
)
# What an organisation's name ends in: a unit (課, 室, 局), a body (市, 協会, 組合) or a
# place (図書館, 役場, 研究所).
_ORG_TAIL: Final = (
    r"(?:市|町|村|県|都|府|区|庁|室|課|局|社|会社|編集部|チーム|事務局|公式|協会|大学|センター|グループ"
    r"|館|役場|役所|組合|法人|研究所|事務所|委員会|実行委員会)"
)
_ORG_INTRO_RE: Final = re.compile(rf"(?:{_ORG_TAIL}|部)(?:です|と申します|でございます)[。！!]*$")
# The same, to veto a "name": without the place suffixes that family names end in too
# (野村, 大町), and a unit's one-character suffix only after two more (広報室, not 氷室).
_ORG_TAIL_RE: Final = re.compile(
    r"(?:.{2,}(?:課|室|局|庁|社|館)|会社|編集部|チーム|事務局|協会|大学|センター|グループ"
    r"|役場|役所|組合|法人|研究所|事務所|委員会)$"
)


@lru_cache(maxsize=1024)
def org_intro(text: str) -> bool:
    """Whether a block's first sentences introduce an organisation rather than a person.

    >>> org_intro("はじめまして。港川市広報戦略室です。"), org_intro("人事担当の小林です。")
    (True, False)
    """
    sentences = _first_sentences(strip_quotes(text), 3)
    for sentence in sentences[:3]:
        body = _GREETING_RE.sub("", sentence.strip()).lstrip("、,!！。 　")
        if body and _ORG_INTRO_RE.search(body) and find_self_intro(sentence) is None:
            return True
    return False


_FIRST_PERSON_TOPIC_RE: Final = re.compile(r"^(?:私は|わたしは|僕は|ぼくは|わたくし|私、)")
_LATIN_HANDLE_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{1,15}")
_JOINED_YEAR_RE: Final = re.compile(r"^\d{4}年(?:度)?(?:入庁|入社|入省|入所)?の?")
_CLAUSE_RE: Final = re.compile(r"[でをにがて、]")


@dataclass(frozen=True, slots=True)
class _IntroFrame:
    """A sentence shaped as a self-introduction, before the known names are consulted.

    All that :func:`find_self_intro` decides from the sentence alone; :meth:`intro` adds
    the one cue that depends on the article (a name it knows).
    """

    sentence: str
    family: str
    core: str
    full_name: str
    affiliation: str | None
    job_title: str | None
    cued: bool  # the name is a person's without the known names (proper, strong, handle, job)
    bare_ok: bool  # not a bare 「Xです。」 of a word UniDic does not read as a person's name
    sure: bool  # strong without a known name (proper, strong, Latin handle, greeted)

    def intro(self, known: frozenset[str]) -> SelfIntro | None:
        """The introduction this frame makes, given the names the article knows."""
        core = self.core
        is_known = core in known or any(k.startswith(core) for k in known if len(core) >= 2)
        if not (self.cued or is_known) or not self.bare_ok:
            return None
        return SelfIntro(
            name=self.family,
            full_name=self.full_name,
            affiliation=self.affiliation,
            job_title=self.job_title,
            sentence=self.sentence,
            weak=not (self.sure or is_known),
        )


def _intro_frame(sentence: str, *, after_greeting: bool = False) -> _IntroFrame | None:
    m = _INTRO_PREDICATE_RE.search(sentence)
    if m is None:
        return None
    complement = sentence[: m.start()].strip()
    greeted = after_greeting or bool(_GREETING_RE.match(complement))
    complement = _GREETING_RE.sub("", complement).lstrip("、,!！。 　")
    complement = _FIRST_PERSON_TOPIC_RE.sub("", complement)
    if not complement or len(complement) > 60:
        return None
    tokens = tokenize(complement)
    # A company's name is one word, whatever the dictionary makes of it (「株式会社みなも
    # フーズ」 reads a topic particle も): left out of the topic check.
    if _topic_before(
        tokenize(_CORPORATE_NAME_RE.sub("会社", complement)) if _has_corporate_name(complement) else tokens
    ):
        return None
    before, name = _name_part(complement)
    fallback = False
    shaped = _SHAPE_END_RE.search(complement)
    if not name and shaped is not None and not _ORG_TAIL_RE.search(complement):
        # A given name the dictionary reads as something else (「宮坂 颯」); never a unit
        # of an organisation (「港川町 企画課」), whose shape is the same.
        before, name = (
            complement[: shaped.start("family")],
            f"{shaped.group('family')} {shaped.group('given')}",
        )
    if not name:
        # The dictionary split the name into non-nouns (「くろまめ」): take what follows the
        # last の、 or space when the predicate names (といいます) or a greeting precedes.
        cut = max(complement.rfind(c) for c in ("の", "、", ",", " ", "\u3000"))
        tail = complement[cut + 1 :]
        if _HANDLE_RE.match(tail) and (greeted or m.group("pred") != "です"):
            before, name, fallback = complement[: cut + 1], tail, True
    core = name.split()[0] if " " in name else name
    if not core or len(name) > 14 or match_key(core) in NOT_A_NAME:
        return None
    if _ORG_TAIL_RE.search(name.split()[-1]):
        return None  # 「港川町 地域振興課です」: an organisation's unit, not a person (org_intro)
    ntoks = tokenize(core)
    if _ORG_NAME_RE.search(core) and ntoks and ntoks[-1].pos3 != "人名":
        return None
    if not ntoks or (
        not fallback and any(t.pos1 not in ("名詞", "接頭辞", "補助記号", "記号") for t in ntoks)
    ):
        return None
    proper = any(t.pos2 == "固有名詞" and t.pos3 in ("人名", "地名", "一般") for t in ntoks)
    strong = m.group("pred") in ("と申します", "といいます", "と言います", "と申す者です")
    # A kana handle is one word the dictionary does not split (「ぽんず」「ハルタ」), or comes
    # right after a greeting; a Latin one is a handle anywhere.
    latin = bool(_LATIN_HANDLE_RE.fullmatch(core))
    handle = (
        bool(_HANDLE_RE.match(core))
        and (latin or greeted or len(ntoks) == 1)
        and (greeted or strong or latin or before.rstrip().endswith(("の", "、", ",")))
    )
    after_job = bool(_JOB_WORD_RE.search(before.rstrip("の、 　"))) and len(core) <= 4
    family = core
    if " " not in name:
        surname = next((t.surface for t in ntoks if t.is_surname), None)
        if surname and surname != core and core.startswith(surname):
            family = surname
    pre = _JOINED_YEAR_RE.sub("", before).strip(" 、の")
    # A long clause (「…で検査の仕事をしている」) is a description, not an affiliation.
    affiliation, job_title = split_affiliation(pre) if pre and not _CLAUSE_RE.search(pre) else (None, None)
    return _IntroFrame(
        sentence=sentence,
        family=family,
        core=core,
        full_name=name.replace("\u3000", " "),
        affiliation=affiliation,
        job_title=job_title,
        cued=proper or strong or handle or after_job,
        # A bare 「Xです。」: only a person's name (UniDic 人名) introduces someone.
        bare_ok=bool(before) or greeted or strong or any(t.pos3 == "人名" for t in ntoks),
        sure=proper or strong or latin or greeted,
    )


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


# Words that open a cast or profile section (「◆登壇者プロフィール」「参加者紹介」「話している人」).
PROFILE_HEADER_RE: Final = re.compile(
    r"^[◆■●□◇▼▶【\[]?\s*(?:本日の|今回の)?(?:登壇者|参加者|出演者|ゲスト|登場人物|話している人|話し手|"
    r"書いている人|書いた人|書き手|この記事を書いた人|筆者|執筆者|座談会メンバー|対談者|メンバー|プロフィール|PROFILE|Profile|パネリスト|キャスト|スピーカー|講師|"
    r"インタビュイー)(?:の)?(?:ご?紹介|プロフィール|一覧|PROFILE)?\s*[】\]]?\s*[:：]?$"
)
# A short line naming who is in the article without a header word from the list above:
# 「今回答えてくれた3人」「この記事に登場する人」「対談参加者」.
PROFILE_HEADER_SEARCH_RE: Final = re.compile(
    r"(?:参加者|登壇者|出演者|プロフィール|PROFILE|登場人物|話している人|書いている人|書いた人|筆者紹介|メンバー紹介|キャスト|"
    r"(?:座談会|対談|鼎談|参加|出演|登壇)メンバー|"
    r"(?:話した|登場する|参加した|書く|答えてくれた)(?:ふたり|二人|2人|3人|三人|人たち|人|メンバー))"
)
# Credits: 「取材・文:日高 美帆 写真:沢井 健」「聞き手:もりもと」.
CREDIT_RE: Final = re.compile(
    r"^[(（]?(?P<role>取材|文|写真|撮影|構成|編集|執筆|イラスト|聞き手|話し手|インタビュアー|インタビュイー|まとめ)"
    r"(?:[・/／](?:取材|文|写真|撮影|構成|編集|執筆|イラスト))*\s*[:：/／]\s*\S"
)
# A legend key: 「みどりさん→み(会社員)」「あおいさん=あ」.
LEGEND_KEY_RE: Final = re.compile(
    r"^(?P<name>[^\s→⇒=＝:：(（]{1,12}?)(?:さん|くん|ちゃん|氏)?\s*[→⇒＝=]\s*(?P<key>[^\s(（)）]{1,3})(?:\s*[(（].*)?$"
)


def legend_key(text: str) -> tuple[str, str] | None:
    """A legend line's (name, key): 「みどりさん→み(会社員)」 gives ('みどり', 'み').

    >>> legend_key("みどりさん→み(地方の会社員)"), legend_key("A→B評価")
    (('みどり', 'み'), None)
    """
    if "→" not in text and "⇒" not in text and "=" not in text and "＝" not in text:
        return None  # LEGEND_KEY_RE needs its arrow or equals sign
    m = LEGEND_KEY_RE.match(text.strip())
    if (
        m is None
        or len(m.group("key")) >= len(m.group("name"))
        or not m.group("name").startswith(m.group("key")[0])
    ):
        return None
    return m.group("name"), m.group("key")


# A cast line's role word: 「司会:…」「出演者1:…」「パネリスト:…」.
CAST_WORDS_RE: Final = re.compile(
    r"^(?:(?:本日|今日|今回|今週|今月)の)?"
    r"(?P<role>司会|司会進行|進行|聞き手|インタビュアー|モデレーター|ファシリテーター|MC|ゲスト|出演者|出演|"
    r"登壇者|パネリスト|スピーカー|講師|話し手|参加者|担当|担当者|書き手|文責|筆者)\s*\d*\s*[:：]\s*(?P<rest>.+)$"
)
# Role words of a writer's byline (「本日の担当:総務部 白井」): the person writes the article.
WRITER_WORDS: Final = frozenset({"担当", "担当者", "書き手", "文責", "筆者"})
HOST_WORDS: Final = frozenset(
    {"司会", "司会進行", "進行", "聞き手", "インタビュアー", "モデレーター", "ファシリテーター", "MC"}
)
# A full name written with a space, optionally after a job and before an honorific or a note:
# 「代表取締役 樋口 朔」「相沢 玲氏」「日高 美帆さん(観光課)」.
_SHAPE_RE: Final = re.compile(
    r"(?<![一-龥々ヶ])(?P<family>[一-龥々ヶ]{1,4})[\s\u3000](?P<given>[一-龥々ぁ-んァ-ヶー]{1,5}?)"
    r"(?:さん|氏|様|先生|教授|准教授)?(?=$|[\s(（、,・/／)）])"
)

_SHAPE_END_RE: Final = re.compile(
    r"(?<![一-龥々ヶ])(?P<family>[一-龥々ヶ]{1,4})[\s\u3000](?P<given>[一-龥々ぁ-んァ-ヶー]{1,5}?)"
    r"(?:さん|氏|様|先生|教授|准教授)?$"
)


_SPACE_RE: Final = re.compile(r"\s")
_TRAILING_NOTE_RE: Final = re.compile(r"\s*[(（][^)）]*[)）]\s*$")
_NOTE_RE: Final = re.compile(r"[(（](?P<note>[^)）]+)[)）]")


@dataclass(frozen=True, slots=True)
class NamedPerson:
    """A person a short line names: family name, the name as written, the note beside it."""

    family: str
    full: str
    note: str | None


def name_by_shape(text: str) -> NamedPerson | None:
    """The person a short line names by the shape of a full name (family, space, given).

    >>> name_by_shape("相沢 玲氏")
    NamedPerson(family='相沢', full='相沢 玲', note=None)
    >>> name_by_shape("代表取締役 樋口 朔").family
    '樋口'
    >>> name_by_shape("会場の様子") is None
    True
    """
    if _SPACE_RE.search(text) is None:
        return None  # both shapes need the space between family and given name
    plain = text.replace("\u3000", " ")
    # The full name that ends the line (jobs and affiliations come first), else the first.
    bare = _TRAILING_NOTE_RE.sub("", plain).strip()
    m = _SHAPE_END_RE.search(bare) or _SHAPE_RE.search(plain)
    if m is None:
        return None
    paren = _NOTE_RE.search(plain)
    note = paren.group("note") if paren else None
    if _job_word(m.group("given")):
        return None  # 「古道具店 代表」: a shop and a job, nobody's name
    if _org_unit(m.group("family")) or _job_word(m.group("family")):
        # 「総務部 白井」: an organisation's unit, then the person's family name alone.
        given = m.group("given")
        return NamedPerson(given, given, note) if re.fullmatch(r"[一-龥々ヶ]{1,4}", given) else None
    return NamedPerson(m.group("family"), f"{m.group('family')} {m.group('given')}", note)


# A job before a family name (「店長 久我」「新人 早見」「編集長 森」): not the family name.
JOB_TITLE_RE: Final = re.compile(
    r"店長|店主|新人|先輩|後輩|部長|課長|係長|社長|会長|室長|所長|局長|主任|代表|編集長|副編集長|"
    r"担当|司会|記者|編集|ライター|スタッフ|職員|社員|院長|園長|校長|館長|師匠|弟子|監督|コーチ"
)
_ORG_UNITS: Final = frozenset({"部", "課", "室", "局", "係", "班", "科", "所", "店", "社"})


def _job_word(word: str) -> bool:
    """A job title, or a word made with a job suffix the dictionary does not read as a name.

    >>> _job_word("店長"), _job_word("林業家"), _job_word("防災士"), _job_word("相沢")
    (True, True, True, False)
    """
    if JOB_TITLE_RE.fullmatch(word):
        return True
    return bool(re.fullmatch(r"[一-龥々]{1,5}(?:家|師|士|者|員|職人|手)", word)) and not surnames_in(word)


def _org_unit(word: str) -> bool:
    """A word that ends in a unit of an organisation read as its own token (総務|部, 広報|課).

    >>> _org_unit("総務部"), _org_unit("岡部"), _org_unit("服部")
    (True, False, False)
    """
    if len(word) < 2 or word[-1] not in _ORG_UNITS:
        return False
    toks = tokenize(word)
    return len(toks) >= 2 and toks[-1].surface in _ORG_UNITS and not any(t.pos3 == "人名" for t in toks)


_ENDS_SENTENCE_RE: Final = re.compile(r"[。！!？?]\s*$")
_SECOND_CREDIT_RE: Final = re.compile(r"\s*[/／|｜]\s*(?=[^\s:：/／]{1,8}[:：])")


def cast_line(text: str) -> tuple[str, NamedPerson] | None:
    """A cast-list line 「司会:企画課 課長 相沢 玲」: its role word and the person it names.

    A line whose rest is a sentence is a turn, not a cast line.

    >>> role, person = cast_line("モデレーター:相沢 玲(NPO法人 代表理事)")
    >>> role, person.family
    ('モデレーター', '相沢')
    >>> cast_line("司会:それでは始めます。") is None
    True
    """
    if ":" not in text and "：" not in text:
        return None  # CAST_WORDS_RE needs the colon after the role word
    m = CAST_WORDS_RE.match(text.strip())
    if m is None:
        return None
    # 「話し手:…さん/聞き手:編集部」: one line, two credits; the first is this role's.
    rest = _SECOND_CREDIT_RE.split(m.group("rest"))[0]
    if _ENDS_SENTENCE_RE.search(rest) or len(rest) > 80:
        return None
    person = name_by_shape(rest)
    if person is None:
        names = surnames_in(rest)
        bare = re.sub(r"\s*[(（].*$", "", rest).strip().removesuffix("さん")
        if names:
            person = NamedPerson(names[-1], names[-1], None)
        elif re.fullmatch(r"[A-Za-z][A-Za-z0-9_.]{1,15}|[ぁ-んァ-ヶー]{2,8}", bare):
            person = NamedPerson(bare, bare, None)  # a handle: 「聞き手:もりもと」
        elif tail := re.fullmatch(r"\S{2,20}[\s\u3000]+(?P<name>[一-龥々ヶ]{1,4})", bare):
            # 「担当:総務部 白井」: after an affiliation and a space, the short word is the
            # name even when the dictionary reads it as a common noun.
            person = NamedPerson(tail.group("name"), tail.group("name"), None)
        else:
            return None
    return m.group("role"), person


# A character marker at line start, defined in a legend: 「(◎)」「(★)」「[A]」.
MARKER_RE: Final = re.compile(
    r"^[(（\[［](?P<mark>[^\w\s(（)）\[\]［］]{1,2}|[A-ZＡ-Ｚ]|(?![笑注汗泣涙爆])[一-龥ぁ-んァ-ヶ]{1,2})[)）\]］]\s*"
)


_MARKER_OPENERS: Final = "(（[［"


def marker_of(text: str) -> str | None:
    """The character marker a line starts with, if any.

    >>> marker_of("(◎)こんばんは。"), marker_of("(笑)")
    ('(◎)', None)
    """
    if text[:1] not in _MARKER_OPENERS:
        return None
    m = MARKER_RE.match(text)
    return m.group(0).strip() if m else None


# The shape of a label, before any check of the name: a short prefix and a delimiter.
LABEL_SHAPE_RE: Final = re.compile(
    r"^(?:【(?P<b>[^】]{1,16})】|(?P<c>[^\s:：「」『』。、！？!?(（]{1,12}(?:\s[^\s:：「」。、(（]{1,8})?"
    r"(?:[(（][^)）:：]{0,20}[)）])?)\s*[:：])\s*"
)


def label_shape(text: str) -> str | None:
    """The name part of a label-shaped prefix, whether or not it names a person.

    >>> label_shape("ケン：そうだね。"), label_shape("【テーマ1】"), label_shape("今日は晴れ")
    ('ケン', 'テーマ1', None)
    """
    if not may_be_label(text):
        return None
    m = LABEL_SHAPE_RE.match(text)
    if m is None or text[:1] in _BULLETS:
        return None
    return (m.group("b") or m.group("c") or "").strip() or None


_ASKING_RE: Final = re.compile(
    r"(?:[？?]|か[。．]?|かね[。]?|ください[。！!]?|下さい[。]?|お願いします[。！!]?|お願いいたします[。]?|"
    r"でしょう[。]?|ますか[。]?|ませんか[。]?|教えて[。]?|どうぞ[。]?|いかがですか[。]?)\s*[」)）]*$"
)


_RHETORICAL_RE: Final = re.compile(
    r"(?:ではない|のではない|じゃない)(?:でしょう|だろう)か[。]?$|のではないか[。]?$"
)


def asks(text: str) -> bool:
    """Whether a line asks or prompts (ends in ？, か, ください, お願いします …).

    A rhetorical 「…のではないでしょうか。」 remarks rather than asks.

    >>> asks("まずは経歴を教えてください。"), asks("なるほど。ありがとうございます。")
    (True, False)
    >>> asks("見え方が変わったのではないでしょうか。")
    False
    """
    t = text.strip()
    return bool(_ASKING_RE.search(t)) and not _RHETORICAL_RE.search(t)
