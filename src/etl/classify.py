"""Decide every block's kind: title, heading, question, label, caption, chrome, ...

HTML gives structural hints (an ``<h2>`` is a heading); page text gives none, so the
rules here read the words, the length, the position and what follows. Labels and
question markers are split off the text here, so ``text`` never contains them.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from etl.cues import (
    _MARKER_OPENERS,
    ANSWER_RE,
    CREDIT_RE,
    GREETING,
    INTERVIEWER_WORDS,
    JOB_TITLE_RE,
    NOT_A_NAME,
    PROFILE_HEADER_RE,
    PROFILE_HEADER_SEARCH_RE,
    QUESTION_RE,
    Label,
    answer_marker,
    asks,
    cast_line,
    find_label,
    find_self_intro,
    label_shape,
    legend_key,
    marker_of,
    may_be_label,
    name_by_shape,
    question_marker,
    surnames_in,
)
from etl.model import Block, BlockKind, slot_setters
from etl.morph import Memo, tokenize
from etl.normalize import match_key

# note's own page chrome, compared as match keys. After the first of these, the rest of
# the page is chrome as well (note renders it below the article body).
CHROME_START: Final = frozenset(
    match_key(s)
    for s in (
        "この記事が参加している募集",
        "みんなにも読んでほしいですか?",
        "オススメした記事はフォロワーのタイムラインに表示されます!",
        "この記事が気に入ったらサポートをしてみませんか?",
        "この記事が気に入ったら、サポートをしてみませんか?",
        "いいなと思ったら応援しよう!",
        "チップで応援する",
        "記事をサポート",
    )
)
CHROME_LINE: Final = frozenset(
    match_key(s)
    for s in ("スキ", "フォロー", "サポート", "ログイン", "会員登録", "シェア", "コメント", "ダウンロード")
)
HEADER_IMAGE: Final = match_key("見出し画像")
_URL_RE: Final = re.compile(r"^(?:https?://|www\.)\S+$")
_LINK_MARK_RE: Final = re.compile(r"^[◆■▶▷►▼▽●→⇒☞]")
_LINK_WORDS_RE: Final = re.compile(
    r"(?:こちら|ご覧|詳しくは|詳細は|チェック|リンク|一覧|特設サイト|公式サイト|ページ)"
)
_LIST_RE: Final = re.compile(
    r"^(?:[・•●○◯▪︎▪]\s*|[-*+]\s+|\d{1,2}[.)．）]?\s+(?=\S)|[①-⑳❶-❿➀-➉]\s*(?=[^\sのはがをにでも]))"
)
# An image's alt text names a picture: it ends in a picture word, maybe numbered (「画像1」).
_IMAGE_ALT_RE: Final = re.compile(
    r"(?:写真|画像|イメージ|様子|の図|図解|スクリーンショット|キャプチャ|スライド|画面|ショット|イラスト|風景|光景)"
    r"\s*[(（]?\s*\d{0,3}\s*[)）]?$"
)
# 「店主のバストショット。工房の前で…」: a picture word closing the first clause.
_IMAGE_ALT_HEAD_RE: Final = re.compile(r"^[^。]{1,30}(?:写真|画像|ショット|イラスト|スライド)。[^。]*$")
# A page title as a link card shows it: 「サイト名｜ページ名」.
_CARD_RE: Final = re.compile(r"[｜|]|\s[-–—]\s")
# 「写真左から:…」「(左から)…」: a caption naming people in a photo.
_PHOTO_ORDER_RE: Final = re.compile(
    r"^[(（]?(?:写真)?(?:左|右|前列|後列)(?:から|より)|^写真[:：]|^[(（]?写真の?(?:左|右|中央|手前|奥)(?:側)?[、,:：]"
)
# A line-start mark that note writers put before questions as well as links and headings.
_MARK_QUESTION_RE: Final = re.compile(r"^[■□◆◇●○▼▽▶▷★☆]\s*")
_SENTENCE_END: Final = "。．.！!？?、，,…"
_PROFILE_HEADING_RE: Final = re.compile(
    r"(?:プロフィール|参加者|登壇者|出演者|ゲスト|話し手|profile|メンバー紹介)", re.I
)
_QUOTE_RE: Final = re.compile(r"^[>＞]\s*")
# A numbered section heading: 「第2部 …」「第3回」「Part 2」「2. …」「【1】」.
_SECTION_HEAD_RE: Final = re.compile(
    r"^(?:第[0-9０-９一二三四五六七八九十]+[部章回話幕]|(?:Part|PART|Session|SESSION)\s*[0-9０-９]+|"
    r"[0-9０-９]{1,2}[.．、)）]\s*\S|【[0-9０-９一二三四五六七八九十]+】)"
)
_ANY_SIZE: Final = sys.maxsize  # a memo of one article's texts needs no bound
HEADING_MAX: Final = 40  # note headings seen in practice are at most ~35 characters
PROFILE_LINE_MAX: Final = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    """A block with its final kind, its label split off, and its source hints.

    >>> Unit(kind="paragraph", text="はい。", label="佐藤：").label
    '佐藤：'
    """

    kind: BlockKind
    text: str
    label: str | None = None
    heading_level: int | None = None
    emphasis: bool = False


# Units are made slot by slot (see model.slot_setters): one per block of every article.
_new: Final = object.__new__
_UNIT_SETTERS: Final = slot_setters(Unit, "kind", "text", "label", "heading_level", "emphasis")


def _terminated(text: str) -> bool:
    """Ends like a sentence: 。！？、…, or a polite predicate before an emoji (「…ました🌿」)."""
    if not text:
        return False
    if text.rstrip("」』）)")[-1:] in _SENTENCE_END:
        return True
    if _TRAILING_SYMBOLS_RE.search(text, len(text) - 1) is None:
        return False  # no trailing symbol (the last character decides): nothing to strip
    bare = _TRAILING_SYMBOLS_RE.sub("", text)
    return bare != text and bool(_POLITE_END_RE.search(bare))


_POLITE_END_RE: Final = re.compile(r"(?:です|ます|ました|でした|ません|ください|だ|よ|ね)$")
# Emoji and symbols a personal blog closes a line with.
_TRAILING_SYMBOLS_RE: Final = re.compile(r"[\s\U0001F000-\U0001FFFF\u2600-\u27BF\uFE0F♪☆★！!]+$")
# A line that only separates: 「・・・」「* * *」「――――」.
_SEPARATOR_RE: Final = re.compile(r"^[\s・*＊■□◆◇●○―─—\-=＝~〜…◎☆★]{1,40}$")
_DATE_LINE_RE: Final = re.compile(
    r"^(?:\d{4}[/.\-年]\s*\d{1,2}[/.\-月]\s*\d{1,2}日?(?:\s*[(（][月火水木金土日][)）])?|\d{4}年\d{1,2}月)$"
)
# A note added after publication: 「※3月2日 …を追記しました」「(追記:…)」.
_UPDATE_NOTE_RE: Final = re.compile(
    r"^(?:(?:※|[(（]?追記|★追記).{0,60}(?:追記|更新|修正|訂正)"
    # 「※注:…」「★追記:…」「☆注記:…」: an editor's note with its own tag word and a colon.
    r"|[※★☆＊*]\s*(?:注|注記|追記)\s*[:：])"
)
# The three page-furniture lines in one pattern, matched once per line: a separator, a bare
# date (read as _DATE_LINE_RE reads the stripped line: a date starts with a digit and ends
# in no space, so the spaces around it are the stripped ones) or an update note.
_PAGE_FURNITURE_RE: Final = re.compile(
    f"(?:{_SEPARATOR_RE.pattern})|\\s*(?:{_DATE_LINE_RE.pattern.removeprefix('^').removesuffix('$')})\\s*\\Z"
    f"|(?:{_UPDATE_NOTE_RE.pattern})"
)
# A line that ends a clause mid-sentence (a hard-wrapped paragraph line).
_WRAPPED_RE: Final = re.compile(r"(?:[をが]|けど|けれど|ので|のに|ても)$")
# Section headings that end in a particle: 「はじめに」「おわりに」 are not wrapped lines.
_CLOSING_HEADING_RE: Final = re.compile(
    r"(?:第[0-9０-９一二三四五六七八九十]+[部章回]\s*|[0-9０-９]{1,2}[.．]\s*)?"
    r"[◆■●▼【\[]?\s*(?:はじめに|初めに|おわりに|終わりに|さいごに|最後に|まとめに)[】\]]?"
)
_PARTICLE_END_RE: Final = re.compile(r"(?:[をがにでとのも]|けど|けれど|ので|のに|ても|て|たら|ながら)$")
# _WRAPPED_RE and _PARTICLE_END_RE match at most three characters, before the end or a final
# newline: a line's last four characters decide them (a search of a long line tries them
# at every の and に).
_END_TAIL: Final = 4
_INTRO_PREDICATE_HINT_RE: Final = re.compile(r"(?:です|と申します|といいます|と言います)")
_GREETING_START_RE: Final = re.compile(GREETING)
_GREETING_LINE_RE: Final = re.compile(GREETING + r"[\s\U0001F000-\U0001FFFF\u2600-\u27BF\uFE0F!！。♪〜~]*$")


# The longest match key chrome detection and the header image ask about. NFKC makes at
# most one character of four (the longest canonical decomposition; tests check this for
# the running Unicode version) and keeps a character for every non-space one, lower()
# shortens nothing: a text with more than _KEYED_MAX * 4 non-space characters has a key
# longer than any of these.
_KEYED_MAX: Final = max(len(k) for k in (*CHROME_START, *CHROME_LINE, HEADER_IMAGE))
_NFD_MAX: Final = 4


def _page_keys(texts: list[str]) -> list[str | None]:
    """The match key of each text that can be page chrome or the header image, else None.

    The short texts are normalised in one call: NUL is a starter that composes with
    nothing, is no whitespace and has no case, so NFKC, the space removal and lower()
    treat the pieces between NULs as they treat each text alone.

    >>> _page_keys(["ＧＳＳ の 業務", "スキ", "", "本文。" * 200])
    ['gssの業務', 'スキ', '', None]
    """
    limit = _KEYED_MAX * _NFD_MAX
    if not texts:
        return []
    every = max(map(len, texts)) <= limit  # most articles: every text is short
    # A longer text counts only its non-space characters; one without any space (most
    # Japanese lines) is as long as it looks, and is not copied to find that out
    # (str.split gives back the text itself when it has no space to split at).
    short = (
        range(len(texts))
        if every
        else [i for i, t in enumerate(texts) if len(t) <= limit or len("".join(t.split())) <= limit]
    )
    picked = texts if every else [texts[i] for i in short]
    joined = "\0".join(picked)
    if joined.count("\0") != len(picked) - 1 and picked:
        found = [match_key(t) for t in picked]  # a text with a NUL of its own
    else:
        found = _joined_key(joined).split("\0") if picked else []
    if every:
        return list(found)
    keys: list[str | None] = [None] * len(texts)
    for i, key in zip(short, found, strict=True):
        keys[i] = key
    return keys


def _joined_key(text: str) -> str:
    """``match_key(text)``: NFKC only when the text is not in NFKC already (the check is
    far cheaper than the normalisation), spaces dropped by str.split (\\s is str.isspace).

    >>> _joined_key("ＧＳＳ の\u3000業務"), _joined_key("スキ\\0シェア")
    ('gssの業務', 'スキ\\x00シェア')
    """
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return "".join(text.split()).lower()


def _heading_like(text: str) -> bool:
    """Short and unterminated, or a short question or exclamation (「どうして陶芸を?」)."""
    if not (0 < len(text) <= HEADING_MAX) or _URL_RE.match(text):
        return False
    if not _terminated(text):
        return True
    body = text.rstrip("？?！!」』）) ")
    return (
        text.rstrip("」』）) ")[-1:] in "？?！!" and len(text) <= 30 and "。" not in body and "．" not in body
    )


# 「登壇中の東さん(古道具店 代表)」「講演する新田さん」: a photo of someone speaking.
_FLOOR_CAPTION_RE: Final = re.compile(
    r"^(?:登壇中の|登壇する|講演中の|講演する|発表中の|発表する|話をする|説明する|語る|質問に答える)"
    r"[^。！？!?]{0,20}?(?:さん|氏|先生)(?:[(（][^)）]{1,30}[)）])?$"
)


def _caption_like(text: str) -> bool:
    """A short line naming a person: 「講演する北浦教授」「日高 美帆さん(観光課)」."""
    if _PHOTO_ORDER_RE.match(text):
        return True
    if _terminated(text) or len(text) > 50 or _SHORT_LABEL_RE.match(text):
        return False
    return bool(name_by_shape(text) or surnames_in(text) or _HONORIFIC_END_RE.search(text))


_SHORT_LABEL_RE: Final = re.compile(r"^[^:：]{1,8}[:：]")
_HONORIFIC_END_RE: Final = re.compile(r"(?:さん|氏|教授|先生)(?:[(（].*[)）])?$")


def _is_link_text(text: str) -> bool:
    if _URL_RE.match(text):
        return True
    return bool(_LINK_MARK_RE.match(text) and _LINK_WORDS_RE.search(text))


def _greets_and_introduces(t: str) -> bool:
    """A short line that opens with a greeting and introduces its writer (text, not a heading).

    >>> _greets_and_introduces("こんにちは！営業部の山田です。"), _greets_and_introduces("はじめに")
    (True, False)
    """
    return (
        len(t) <= 80
        and _GREETING_START_RE.match(t) is not None
        and _INTRO_PREDICATE_HINT_RE.search(t) is not None
        and find_self_intro(t) is not None
    )


def classify(blocks: tuple[Block, ...] | list[Block]) -> list[Unit]:
    """Give each block its kind, splitting labels and question markers off the text.

    >>> [u.kind for u in classify([Block(text="見出し画像"), Block(text="題"), Block(text="本文です。")])]
    ['image_alt', 'title', 'paragraph']
    """
    n = len(blocks)
    # _heading_like is asked again and again of the same lines: once per text here.
    heading_like = Memo(_heading_like, _ANY_SIZE).__getitem__
    kinds: list[BlockKind | None] = [b.kind for b in blocks]
    texts = [b.text for b in blocks]
    labels: list[str | None] = [None] * n

    # Chrome: everything from the first chrome marker on.
    keys = _page_keys(texts)
    starts = CHROME_START.intersection(keys)
    chrome_from = min(map(keys.index, starts)) if starts else n
    kinds[chrome_from:] = ["boilerplate"] * (n - chrome_from)
    lines = not CHROME_LINE.isdisjoint(keys)  # most articles have no chrome line
    furniture = _PAGE_FURNITURE_RE.match
    for i in range(chrome_from):
        if kinds[i] is None and ((lines and keys[i] in CHROME_LINE) or furniture(texts[i])):
            kinds[i] = "boilerplate"  # a chrome line; separators, a bare date line, an update note

    # Header image alt and title, by position.
    first = 0
    if n and kinds[0] in (None, "image_alt") and keys[0] == HEADER_IMAGE:
        kinds[0] = "image_alt"
        first = 1
    if "title" not in kinds:
        for i in range(first, chrome_from):
            if kinds[i] is None:
                kinds[i] = "title"
                break

    # Label-shaped prefixes that recur are labels whatever their name looks like
    # (initials, nicknames, 「工房ミナト 城島:」): repetition is the signal.
    shape_count: dict[str, int] = {}
    marker_count: dict[str, int] = {}
    mention_count: dict[str, int] = {}  # markers inside lines (legends)
    alone = 0  # label-shaped lines with nothing after the colon: 「樋口：」
    # The texts of undecided blocks do not change before the main loop reads them, nor do
    # their shapes and markers: one look at each, kept by index.
    shapes: list[str | None] = [None] * n
    lone_shapes: list[bool] = [False] * n
    marks: list[str | None] = [None] * n
    # The lines where a label without a colon can be, for the label sets below: the
    # delimiter within the first 9 characters, where each pattern puts it after its name.
    spaced: list[int] = []
    slashed: list[int] = []
    quoted: list[int] = []
    prose = 0  # undecided lines of 8 characters or more (_quote_labels' share)
    for i in range(n):
        if kinds[i] is None:
            t = texts[i]
            # label_shape and marker_of, asked only of a line that passes their own gates.
            if t[:1] == "【" or ":" in t or "：" in t:
                shapes[i] = shape = label_shape(t)
                if shape is not None:
                    shape_count[shape] = shape_count.get(shape, 0) + 1
                    lone_shapes[i] = _LONE_LABEL_RE.fullmatch(t.strip()) is not None
                    alone += int(lone_shapes[i])
            if t[:1] in _MARKER_OPENERS:
                marks[i] = mark = marker_of(t)
                if mark is not None:
                    marker_count[mark] = marker_count.get(mark, 0) + 1
            head9 = t[1:9]
            if " " in head9 or "\u3000" in head9:
                spaced.append(i)
            if "/" in head9 or "／" in head9:
                slashed.append(i)
            if len(t) >= 8:
                prose += 1
                if "「" in head9:
                    quoted.append(i)
    if marker_count:
        # Mentions count only next to a marker some line starts with (the legend rules
        # below ask marker_count first): most articles have none, and skip the scan.
        for i in range(n):
            if kinds[i] is None:
                for inner in _INNER_MARK_RE.finditer(texts[i], 1):
                    # A legend line names the marker too: 「辞めたいわたし(◇)」.
                    if marker_of(inner.group(0)) is not None:
                        mention_count[inner.group(0)] = mention_count.get(inner.group(0), 0) + 1

    space_labels = _space_labels(kinds, texts, spaced) if spaced else set()
    slash_labels = _slash_labels(kinds, texts, slashed) if slashed else set()
    quote_labels = _quote_labels(kinds, texts, quoted, prose) if quoted else set()
    recurring = {k: c for k, c in shape_count.items() if _recurring_label(k, shape_count)}
    conversation = sum(recurring.values()) >= 2 and len(shape_count) >= 2 and sum(shape_count.values()) >= 3

    for i in range(n):
        if kinds[i] is not None:
            continue  # the markup (or chrome detection) already decided
        t = texts[i]
        if marks[i] is None and not blocks[i].emphasis and _only_intro_decides(t):
            # A long line of prose: of the rules below only the self-introduction can
            # decide it; every other one needs a mark, a label, a word at its start or a
            # shorter line (see _only_intro_decides).
            if len(t) <= 200 and find_self_intro(t) is not None:
                kinds[i] = "paragraph"
            continue
        # Every start-anchored pattern of the rules below is one _rule_head asks:
        # when it does not match, none of them can, and their rules are skipped.
        head = _rule_head(t)
        if not (
            head or marks[i] is not None or blocks[i].emphasis or may_be_label(t) or _LEGEND_MARK_RE.search(t)
        ):
            # A plain line: no start a rule's pattern matches, no colon or 【 (labels, label
            # shapes, cast lines), no legend arrow, no marker, no bold. Of the rules below
            # only these can decide it, in this order (the others are skipped).
            if (
                i
                and kinds[i - 1] == "link"
                and _URL_RE.match(texts[i - 1])
                and heading_like(t)
                and _CARD_RE.search(t)
            ):
                kinds[i] = "link"
            elif _profile_header_by_end(t):
                kinds[i] = "heading"
            elif CREDIT_RE.match(t) and len(t) <= 80 and not _terminated(t):
                kinds[i] = "profile"
            elif _greets_and_introduces(t):
                kinds[i] = "paragraph"
            elif marker_count and _legend_line(t, marker_count, mention_count):
                kinds[i] = "profile"
            elif len(t) <= 200 and find_self_intro(t) is not None:
                kinds[i] = "paragraph"
            elif len(t) <= 80 and _IMAGE_ALT_RE.search(t) and not _terminated(t):
                kinds[i] = "image_alt"
                _caption_under_image(kinds, texts, i + 1, heading_like)
            continue
        sm = _SPACE_LABEL_RE.match(t) if head and space_labels else None
        if sm is not None and sm.group("name") in space_labels and _space_turn(t, sm):
            kinds[i], labels[i], texts[i] = "paragraph", sm.group(0), t[sm.end() :]
            continue
        ql = _QUOTE_LABEL_RE.match(t) if head and quote_labels else None
        if ql is not None and ql.group("name") in quote_labels:
            kinds[i], labels[i], texts[i] = "paragraph", ql.group("name"), t[ql.end("name") :]
            continue
        sl = _SLASH_LABEL_RE.match(t) if head and slash_labels else None
        if sl is not None and sl.group("name") in slash_labels:
            kinds[i], labels[i], texts[i] = "paragraph", sl.group(0).rstrip(), t[sl.end() :]
            continue
        if (head and _is_link_text(t)) or (
            i
            and kinds[i - 1] == "link"
            and _URL_RE.match(texts[i - 1])
            and heading_like(t)
            and _CARD_RE.search(t)
        ):
            kinds[i] = "link"  # a link card: the URL, then the page title under it
            continue
        if (head and PROFILE_HEADER_RE.match(t)) or _profile_header_by_end(t):
            kinds[i] = "heading"
            continue
        entry = cast_line(t)
        if (
            entry is not None
            and t.startswith("担当")
            and any(len(x) >= 20 and _terminated(x) for x in texts[:i])
        ):
            entry = None  # 「担当:市民課 山田」 under a notice is its contact line, not a byline
        if entry is not None or (CREDIT_RE.match(t) and len(t) <= 80 and not _terminated(t)):
            kinds[i] = "profile"
            continue
        if legend_key(t) is not None:
            kinds[i] = "profile"
            continue
        if head and _GREETING_LINE_RE.match(t):
            kinds[i] = "paragraph"
            continue
        if _greets_and_introduces(t):
            # 「こんにちは!…チームの栗田です!」: short and exclaimed like a heading, but a writer
            # greeting and introducing themself is text.
            kinds[i] = "paragraph"
            continue
        if head and _ASIDE_RE.fullmatch(t):
            kinds[i] = "paragraph"  # 「(以上、当日のメモからまとめました)」: an aside in the writer's voice
            continue
        if head and _Q_ALONE_RE.match(t) and i + 1 < n and kinds[i + 1] is None and len(texts[i + 1]) <= 80:
            # 「Q.12」 alone on its line: the question is the next line.
            kinds[i], labels[i], texts[i], kinds[i + 1] = "question", t, "", "question"
            continue
        nxt_free = i + 1 < n and kinds[i + 1] is None and 0 < len(texts[i + 1]) <= 200
        if head and _Q_WORD_ALONE_RE.match(t) and nxt_free and asks(texts[i + 1]):
            kinds[i], labels[i], texts[i], kinds[i + 1] = "question", t, "", "question"
            continue
        if head and _A_WORD_ALONE_RE.match(t) and nxt_free and i and kinds[i - 1] == "question":
            kinds[i], labels[i], texts[i], kinds[i + 1] = "paragraph", t, "", "paragraph"
            continue
        q = question_marker(t) if head else None
        if q is not None:
            kinds[i], labels[i], texts[i] = "question", q.strip(), t[len(q) :]
            continue
        mq = _MARK_QUESTION_RE.match(t) if head else None
        if mq is not None and asks(t) and len(t) <= 120 and _ASKED_END_RE.search(t):
            kinds[i], labels[i], texts[i] = "question", mq.group(0).strip(), t[mq.end() :]
            continue
        arrow = _ARROW_ANSWER_RE.match(t) if head else None
        a = (answer_marker(t) or (arrow.group(0) if arrow else None)) if head else None
        if a is not None:
            kinds[i], labels[i], texts[i] = "paragraph", a.strip(), t[len(a) :]
            continue
        label: Label | _Shape | None = find_label(t)
        shape = shapes[i]
        lone = lone_shapes[i] and alone >= 2
        if (
            label is None
            and shape is not None
            and (
                _recurring_label(shape, shape_count)
                or (lone and _recurring_label(shape, {shape: 2}))
                # Turns in a labelled conversation: three or more label lines, two or more
                # names, so a name used once among them is a label as well.
                or (
                    conversation
                    and _terminated(t)
                    and _recurring_label(shape, {shape: 2})
                    and len(shape) <= 8
                )
            )
        ):
            m = _SHAPE_LABEL_RE.match(t)
            if m is not None:
                label = _Shape(m.group(0).rstrip(), t[m.end() :])
        if label is not None:
            if label.rest:
                kinds[i], labels[i], texts[i] = "paragraph", label.label, label.rest
            else:
                kinds[i], labels[i], texts[i] = "speaker_label", label.label, ""
            continue
        if marker_count and _legend_line(t, marker_count, mention_count):
            kinds[i] = "profile"  # a legend line: 「・みどりさん (緑) 会社員」 defines the marker
            continue
        if shape is not None and match_key(_PAREN_NOTE_RE.sub("", shape)) in NOT_A_NAME and len(t) <= 80:
            kinds[i] = "paragraph"  # a notice's field line 「定員:30名」, never a heading
            continue
        mark = marks[i]
        if mark is not None and marker_count.get(mark, 0) + mention_count.get(mark, 0) >= 2:
            kinds[i], labels[i], texts[i] = "paragraph", mark, t[len(mark) :].lstrip()
            continue
        if blocks[i].emphasis and _terminated(t) and t.endswith(("？", "?", "か。", "か")):
            # A bold question without a marker (note editors often bold the interviewer).
            kinds[i] = "question"
            continue
        if len(t) <= 200 and find_self_intro(t) is not None:
            kinds[i] = "paragraph"  # 「どうも!総務担当 滝口です✨」 is prose, not a heading
            continue
        if head and _LIST_RE.match(t) and not (_DIGIT_START_RE.match(t) and asks(t)):
            kinds[i] = "list_item"  # a numbered line that asks (「1. …ですか?」) may be a question
            continue
        if head and _QUOTE_RE.match(t):
            kinds[i] = "quote"
            continue
        if (len(t) <= 80 and _IMAGE_ALT_RE.search(t) and not _terminated(t)) or (
            head and _IMAGE_ALT_HEAD_RE.match(t)
        ):
            kinds[i] = "image_alt"
            _caption_under_image(kinds, texts, i + 1, heading_like)
            continue

    # 「写真左から」「写真右、…の沢井さん」 is a caption; the short line before it, its image.
    for i in range(n):
        if kinds[i] == "caption" or (
            kinds[i] is None and len(texts[i]) <= 80 and _PHOTO_ORDER_RE.match(texts[i])
        ):
            kinds[i] = "caption"
            if i and kinds[i - 1] is None and heading_like(texts[i - 1]) and not _terminated(texts[i - 1]):
                kinds[i - 1] = "image_alt"

    # An image without a picture word: an alt line and a caption naming a person, two
    # short lines in a row before the text they illustrate.
    def under_profile(i: int) -> bool:
        # Under a profile header (maybe after other short lines), short lines are entries.
        back = i - 1
        while back >= 0 and kinds[back] is None and heading_like(texts[back]):
            back -= 1
        return back >= 0 and kinds[back] == "heading" and _is_profile_header(texts[back])

    for i in range(n - 1):
        if (
            kinds[i] is None
            and kinds[i + 1] is None
            and not under_profile(i)
            and heading_like(texts[i])
            and not _terminated(texts[i])
        ):
            nxt_text = texts[i + 1]
            after = next((k for k in kinds[i + 2 :] if k != "boilerplate"), "paragraph")
            if (
                _caption_like(nxt_text)
                and _caption_like(texts[i])
                and after in (None, "paragraph", "question", "speaker_label")
                and (i + 2 >= n or kinds[i + 2] is not None or not heading_like(texts[i + 2]))
            ):
                kinds[i], kinds[i + 1] = "image_alt", "caption"

    # A photo of someone speaking is a caption even where the image has no alt line. After
    # the pairs above, so that an alt line before it is still read as the image.
    for i in range(n):
        if kinds[i] is None and _FLOOR_CAPTION_RE.match(texts[i]):
            kinds[i] = "caption"
            prev = texts[i - 1] if i else ""
            if (
                i
                and kinds[i - 1] is None
                and heading_like(prev)
                and not _terminated(prev)
                and not _SECTION_HEAD_RE.match(prev)
                and not PROFILE_HEADER_RE.match(prev)
            ):
                # The short line over it is the image's alt text (「スライドを指して話す登壇者」),
                # unless it is a numbered part or a profile header.
                kinds[i - 1] = "image_alt"

    # Headings and profile sections, which depend on what follows.
    for i in range(n):
        if kinds[i] is not None:
            continue
        t = texts[i]
        nxt_kind = kinds[i + 1] if i + 1 < n else "boilerplate"
        nxt_text = texts[i + 1] if i + 1 < n else ""
        if (
            nxt_kind in (None, "paragraph")
            and i + 1 < n
            and labels[i + 1] is None
            and not _CLOSING_HEADING_RE.fullmatch(t)
            and (
                (_WRAPPED_RE.search(t[-_END_TAIL:]) and not heading_like(nxt_text))
                or (
                    # 「朝いちばんの」「電車に乗るのを」「やめてみました」: one sentence, one line each.
                    _PARTICLE_END_RE.search(t[-_END_TAIL:])
                    and len(nxt_text) <= 40
                    and (_terminated(nxt_text) or _PARTICLE_END_RE.search(nxt_text) is not None)
                )
            )
        ):
            kinds[i] = "paragraph"  # a hard-wrapped line: the sentence goes on below
            continue
        if (_LINK_MARK_RE.match(t) and len(t) <= HEADING_MAX) or (
            heading_like(t) and _followed_by_content(kinds, texts, i, heading_like)
        ):
            kinds[i] = "heading"
        else:
            kinds[i] = "paragraph"
    _mark_bare_name_labels(kinds, texts, labels, blocks, heading_like)
    _mark_icon_labels(kinds, texts, labels)
    _mark_profiles(kinds, texts, labels, blocks)
    _mark_unmarked_questions(kinds, texts, labels, blocks, heading_like)

    out: list[Unit] = []
    new = _new
    u_kind, u_text, u_label, u_level, u_emphasis = _UNIT_SETTERS
    for b, decided, text, lab in zip(blocks, kinds, texts, labels, strict=True):
        kind = decided or "paragraph"
        level = None
        if kind == "heading":
            level = b.heading_level
            if level is None:
                level = 2
        unit = new(Unit)
        u_kind(unit, kind)
        u_text(unit, text)
        u_label(unit, lab)
        u_level(unit, level)
        u_emphasis(unit, b.emphasis)
        out.append(unit)
    return out


def _legend_line(text: str, marker_count: dict[str, int], mention_count: dict[str, int]) -> bool:
    """「・みどりさん (緑) 会社員」: a short line naming a marker some line starts with.

    >>> _legend_line("みどりさん (緑) 会社員", {"(緑)": 2}, {}), _legend_line("(緑)はい。", {"(緑)": 2}, {})
    (True, False)
    """
    inner_mark = _INNER_MARK_RE.search(text)
    if inner_mark is None:
        return False
    mark = inner_mark.group(0)
    return (
        marker_count.get(mark, 0) >= 1
        and marker_count.get(mark, 0) + mention_count.get(mark, 0) >= 2
        and not text.startswith(mark)
        and len(text) <= 60
    )


def _caption_under_image(
    kinds: list[BlockKind | None],
    texts: list[str],
    nxt: int,
    heading_like: Callable[[str], bool] = _heading_like,
) -> None:
    """The short line under an image's alt text that names a person is its caption."""
    if (
        nxt < len(kinds)
        and kinds[nxt] is None
        and (heading_like(texts[nxt]) or _PHOTO_ORDER_RE.match(texts[nxt]))
        and question_marker(texts[nxt]) is None
        and _caption_like(texts[nxt])
    ):
        kinds[nxt] = "caption"


@dataclass(frozen=True, slots=True)
class _Shape:
    """A label found by recurrence rather than by its name."""

    label: str
    rest: str


def _recurring_label(shape: str, counts: dict[str, int]) -> bool:
    """A label-shaped prefix seen twice or more, short, with no digits, not a notice word."""
    if counts.get(shape, 0) < 2 or _DIGIT_RE.search(shape) or len(shape) > 16:
        return False
    core = _PAREN_NOTE_RE.sub("", shape).strip()
    return bool(core) and match_key(core) not in NOT_A_NAME and not PROFILE_HEADER_RE.match(core)


def _followed_by_heading_like(kinds: list[BlockKind | None], texts: list[str], i: int) -> bool:
    j = i + 1
    return j < len(kinds) and kinds[j] is None and _heading_like(texts[j])


_BARE_NAME_RE: Final = re.compile(
    r"^(?:(?P<job>[一-龥々ヶァ-ヶー]{1,8})[ \u3000])?"
    # A family name, then maybe a title written after it (「宮野工場長」「北浦先生」).
    r"(?:[一-龥々ヶ]{1,4}(?:[一-龥]{0,3}長|代表|先生|教授|監督|店主)?|[ぁ-んァ-ヶー]{2,6}|[A-Za-z]{1,10})(?:さん)?"
    r"(?:[(（](?P<note>[^()（）]{1,12})[)）])?$"
)


# A chat bubble's speaker icon kept as its alt text: 「森田のアイコン」「ぽぷらアイコン」.
ICON_ALT_RE: Final = re.compile(
    r"^(?P<name>[^\s。、！？!?「」]{1,10}?)の?(?:アイコン|アバター|似顔絵|顔アイコン)(?:画像)?$"
)


def _mark_icon_labels(kinds: list[BlockKind | None], texts: list[str], labels: list[str | None]) -> None:
    """Chat bubbles: two or more icons, each before a turn, each at least twice, are labels."""
    hits: dict[str, list[int]] = {}
    for i in range(len(kinds) - 1):
        if (
            kinds[i] != "speaker_label"
            and kinds[i + 1] in ("paragraph", "heading", "question")
            and (m := ICON_ALT_RE.match(texts[i].strip()))
        ):
            hits.setdefault(m.group("name"), []).append(i)
    if len(hits) < 2 or any(len(v) < 2 for v in hits.values()):
        return
    for rows in hits.values():
        for i in rows:
            kinds[i], labels[i], texts[i] = "speaker_label", texts[i], ""
            if kinds[i + 1] == "heading":
                kinds[i + 1] = "paragraph"  # a short turn under its icon


def _mark_bare_name_labels(
    kinds: list[BlockKind | None],
    texts: list[str],
    labels: list[str | None],
    blocks: tuple[Block, ...] | list[Block],
    heading_like: Callable[[str], bool] = _heading_like,
) -> None:
    """A name alone on its line, again and again, each time before prose, is a label.

    「大谷」⏎「最初の年は…」: two or more such names (or one of them three times), at
    least one read by UniDic as a person's name; a heading in the markup stays a heading.
    """
    n = len(kinds)
    hits: dict[str, list[int]] = {}

    def under_profile_header(i: int) -> bool:
        # 「おふたりのプロフィール」⏎「名前(よみ)」⏎「経歴…」: names there are profile entries.
        back = i - 1
        while (
            back >= 0 and i - back <= 8 and kinds[back] != "heading" and len(texts[back]) <= PROFILE_LINE_MAX
        ):
            back -= 1
        return back >= 0 and kinds[back] == "heading" and _is_profile_header(texts[back])

    for i in range(n - 1):
        t = texts[i].strip()
        if (
            kinds[i] == "heading"
            and blocks[i].kind is None
            and _BARE_NAME_RE.match(t)
            and not under_profile_header(i)
            and kinds[i + 1] == "paragraph"
        ) or (
            # 「編集部」「聞き手」 alone over a question: the unnamed interviewer's label.
            t in INTERVIEWER_WORDS and kinds[i] in ("heading", "paragraph") and kinds[i + 1] == "paragraph"
        ):
            hits.setdefault(t, []).append(i)
    turns = sum(len(v) for v in hits.values())
    # A job before the name (「店長 木戸」) says a person as surely as the dictionary does.
    named = any(
        surnames_in(re.sub(r"(?:さん)?[(（].*$|さん$", "", t))
        or ((m := _BARE_NAME_RE.match(t)) and JOB_TITLE_RE.fullmatch(m["job"] or ""))
        for t in hits
    )
    # Nicknames the dictionary does not know (「まる」「こむぎ」): two or more names that
    # each recur, four turns or more; recurrence alone decides.
    recurring = len(hits) >= 2 and turns >= 4 and all(len(v) >= 2 for v in hits.values())
    recurring = recurring and not any(match_key(t) in NOT_A_NAME for t in hits)
    if not (named or recurring) or not ((len(hits) >= 2 and turns >= 3) or turns >= 4):
        return
    if any(" " in t or "\u3000" in t for t in hits) and max(len(v) for v in hits.values()) < 2:
        return  # 「開発部 小林」 once each: talk headings, not turns; a label recurs
    for t, rows in hits.items():
        for i in rows:
            kinds[i], labels[i], texts[i] = "speaker_label", t, ""
            if t in INTERVIEWER_WORDS and asks(texts[i + 1]):
                kinds[i + 1] = "question"  # the interviewer's prompt, nobody by name
    for i in range(n - 1):
        # The short line over a labelled turn is the section's heading after all.
        if (
            kinds[i] == "paragraph"
            and labels[i] is None
            and heading_like(texts[i])
            and kinds[i + 1] == "speaker_label"
        ):
            kinds[i] = "heading"


_GUEST_INTRO_RE: Final = re.compile(r"お話を(?:聞|伺|うかが)|インタビューしました|話を聞きました|ゲストは")


def _mark_unmarked_questions(
    kinds: list[BlockKind | None],
    texts: list[str],
    labels: list[str | None],
    blocks: tuple[Block, ...] | list[Block],
    heading_like: Callable[[str], bool] = _heading_like,
) -> None:
    """一問一答 without markers: short lines, most ending in ？, each answered by one paragraph.

    Only when the article has no marked question; a question-shaped heading over a longer
    section (「なぜ引っ越したの？」) stays a heading. A short line over such a run is a heading.
    """
    if "question" in kinds:
        return
    n = len(kinds)
    # A short unlabelled line, for each block: nothing below changes kinds, labels or texts
    # before the lists of candidates are made, which is all that asks.
    short = [
        label is None and (kind == "heading" or (kind == "paragraph" and heading_like(text)))
        for kind, text, label in zip(kinds, texts, labels, strict=True)
    ].__getitem__

    one_answer: list[int] = []
    for i in range(n - 1):
        if not short(i) or blocks[i].kind == "heading":
            continue
        j = i + 1
        if (
            kinds[j] == "paragraph"
            and not short(j)
            and (j + 1 >= n or short(j + 1) or kinds[j + 1] in ("boilerplate", "link"))
        ) or (
            # The last question: its answer, then the writer's closing remark before the chrome.
            kinds[j] == "paragraph"
            and j + 1 < n
            and kinds[j + 1] == "paragraph"
            and not short(j)
            and not short(j + 1)
            and (j + 2 >= n or kinds[j + 2] in ("boilerplate", "link"))
        ):
            one_answer.append(i)
    asking = [i for i in one_answer if texts[i].rstrip()[-1:] in "？?"]
    # Questions put politely to someone (「…されたんですか?」「…をお願いします。」), each
    # followed by an answer of one or more paragraphs.
    polite = [
        i
        for i in range(n - 1)
        if kinds[i] in ("heading", "paragraph")
        and blocks[i].kind != "heading"
        and labels[i] is None
        and len(texts[i]) <= 60
        and _POLITE_ASK_RE.search(texts[i])
        and asks(texts[i])
        and kinds[i + 1] == "paragraph"
        and not short(i + 1)
    ]
    if len(polite) >= 3:
        for i in polite:
            kinds[i] = "question"
        for i in range(n - 1):
            if kinds[i] == "paragraph" and heading_like(texts[i]) and kinds[i + 1] == "question":
                kinds[i] = "heading"
        return
    # An article that names its guest (「ゲスト:…」「話し手:…」, 「…にお話を伺いました」): short
    # ？ lines each followed by an answer of any length are its questions.
    guest = any(
        (entry := cast_line(t)) is not None and entry[0] in ("ゲスト", "話し手") for t in texts[:8]
    ) or any(_GUEST_INTRO_RE.search(t) for t in texts[:5])
    asked = [
        i
        for i in range(n - 1)
        if short(i)
        and blocks[i].kind != "heading"
        and texts[i].rstrip()[-1:] in "？?"
        and kinds[i + 1] == "paragraph"
        and not short(i + 1)
    ]
    if guest and len(asked) >= 3:
        for i in asked:
            kinds[i] = "question"
        return
    if len(asking) >= 3 and len(asking) * 2 >= len(one_answer):
        for i in one_answer:
            kinds[i] = "question"
        for i in range(n - 1):
            if kinds[i] == "paragraph" and heading_like(texts[i]) and kinds[i + 1] == "question":
                kinds[i] = "heading"


def _followed_by_content(
    kinds: list[BlockKind | None],
    texts: list[str],
    i: int,
    heading_like: Callable[[str], bool] = _heading_like,
) -> bool:
    """A heading introduces something: a paragraph, a question, a label or an image."""
    for j in range(i + 1, len(kinds)):
        k = kinds[j]
        if k in ("boilerplate", "link"):
            return False
        if k in ("question", "speaker_label", "image_alt", "caption", "list_item", "quote"):
            return True
        if k == "paragraph":
            return True
        if k is None:
            # Another short unterminated line: this one is a heading only if that one is a
            # longer text; a run of short lines is a profile or a list, decided later.
            return not heading_like(texts[j]) or _LINK_MARK_RE.match(texts[j]) is not None
        return True
    return False


def _is_profile_header(text: str) -> bool:
    return PROFILE_HEADER_RE.match(text) is not None or _profile_header_by_end(text)


def _profile_header_by_end(text: str) -> bool:
    """A short line ending in a header word: 「対談参加者」「この記事に登場する人」."""
    short = len(text) <= 20 and not _terminated(text) and not _COLON_OR_QUOTE_RE.search(text)
    m = _PROFILE_HEADER_END_RE.search(text) if short else None
    if m is None:
        return False
    # 「スライドを指して話す登壇者」: a verb right before the header word describes someone
    # (a photo's alt text); a header names the section (「対談参加者」「この記事に登場する人」).
    head = tokenize(text[: m.start()]) if m.start() else []
    return not (head and head[-1].pos1 in ("動詞", "形容詞"))


_PROFILE_HEADER_END_RE: Final = re.compile(
    "(?:"
    + _PROFILE_HEADING_RE.pattern
    + "|"
    + PROFILE_HEADER_SEARCH_RE.pattern
    + r")(?:の?ご?紹介|一覧)?\s*$",
    re.I,
)
_LONE_LABEL_RE: Final = re.compile(r"[^:：]{1,16}[:：]")
_ASKED_END_RE: Final = re.compile(r"[？?。]\s*$")
_SHAPE_LABEL_RE: Final = re.compile(r"^(?:【[^】]*】|[^:：]*[:：])\s*")
_PAREN_NOTE_RE: Final = re.compile(r"[(（].*?[)）]")
_DIGIT_START_RE: Final = re.compile(r"^\d")
_DIGIT_RE: Final = re.compile(r"\d")
_COLON_OR_QUOTE_RE: Final = re.compile(r"[:：「」]")
_ASIDE_RE: Final = re.compile(r"[(（][^()（）]{2,80}(?:です|ます|ました|でした)[。]?[)）]")
_POLITE_ASK_RE: Final = re.compile(
    r"(?:ですか|ますか|でしょうか|ましたか|んですか|ませんか|ください|お願いします|お願いできますか)[。？?！!]?$"
)
_INNER_MARK_RE: Final = re.compile(r"[(（][^()（）\s]{1,2}[)）]")
_Q_ALONE_RE: Final = re.compile(r"^[QＱ]\s*[.．:：]?\s*\d{1,3}\s*[.．:：)）]?$")
# A question or answer word alone on its line, the text on the next: 「Q」「質問」「A」「回答」.
_Q_WORD_ALONE_RE: Final = re.compile(r"^(?:[QＱ]|質問|Question|QUESTION)\s*[.．:：]?$")
_A_WORD_ALONE_RE: Final = re.compile(r"^(?:[AＡ]\s*\d{0,3}|回答|答え|Answer|ANSWER)\s*[.．:：]?$")
# 「→夏です。」: an answer after a templated question.
_ARROW_ANSWER_RE: Final = re.compile(r"^[→⇒]\s*")
# 「波多野 朝は3時に…」: a family name and a space opening a turn (decided by recurrence).
_SPACE_LABEL_RE: Final = re.compile(
    r"^(?P<name>[一-龥々ヶ]{1,4}(?:さん)?|[ァ-ヶー]{2,6}(?:さん)?|[ぁ-ん]{2,5}(?:さん)?)[ \u3000]+(?=\S)"
)


def _name_space_near(text: str) -> bool:
    """A space where _SPACE_LABEL_RE's could be: right after its name, 1 to 8 characters.

    >>> _name_space_near("波多野 朝は3時に"), _name_space_near("朝は3時に起きる。 それから")
    (True, False)
    """
    head = text[1:9]
    return " " in head or "\u3000" in head


def _space_turn(text: str, m: re.Match[str]) -> bool:
    return len(text) - m.end() >= 15 and _terminated(text)


def _space_labels(
    kinds: list[BlockKind | None], texts: list[str], candidates: Sequence[int] | None = None
) -> set[str]:
    """Names that open several prose lines followed by a space: labels without a colon.

    Two or more distinct names, three or more turns in all, each name a person's name
    (UniDic) or named elsewhere in the article by a full name. ``candidates``: the
    undecided lines with a space right after a possible name (:func:`_name_space_near`),
    when the caller knows them.
    """
    counts: dict[str, int] = {}
    if candidates is None:
        candidates = [i for i, t in enumerate(texts) if kinds[i] is None and _name_space_near(t)]
    for i in candidates:
        t = texts[i]
        if (m := _SPACE_LABEL_RE.match(t)) and _space_turn(t, m):
            counts[m.group("name")] = counts.get(m.group("name"), 0) + 1
    if not counts:
        return set()  # no opener at all (most articles): no name to confirm
    full_names = {p.family for t in texts if len(t) <= 60 and (p := name_by_shape(t))}
    # A name is a person's when UniDic says so, a full name elsewhere gives it, or the
    # article mentions it with an honorific beyond its own turns (「はるさんに聞きました」).
    everything = "".join(texts)
    names = set()
    for n in counts:
        bare = n.removesuffix("さん")
        own = counts[n] if n.endswith("さん") else 0
        if bare in full_names or surnames_in(bare) == [bare] or everything.count(bare + "さん") > own:
            names.add(n)
    if names and sum(counts[n] for n in names) >= 2:
        # Once one opener is a person with turns, the other openers are turns too.
        names |= set(counts)
    if len(names) >= 2 and sum(counts[n] for n in names) >= 3:
        return names
    return set()


# 「あき/そうなんですよ。」: a short name and a slash opening a turn (decided by recurrence).
_SLASH_LABEL_RE: Final = re.compile(r"^(?P<name>[^\s\d/／:：「」『』。、！？!?(（)）・]{1,8})[/／]\s*(?=\S)")


def _slash_labels(
    kinds: list[BlockKind | None], texts: list[str], candidates: Sequence[int] | None = None
) -> set[str]:
    """Names that open several sentences followed by a slash: labels written 「名前/…」.

    Two or more distinct names, three or more turns, one name at least twice; the rest of
    each line is a sentence (a 「名前/肩書」 profile line is not a turn). ``candidates``:
    the undecided lines with a slash in their first 9 characters, when the caller knows.

    >>> sorted(_slash_labels([None] * 3, ["あき/そうなんですよ。", "ゆう/へえ、知らなかった。", "あき/でしょう。"]))
    ['あき', 'ゆう']
    """
    counts: dict[str, int] = {}
    if candidates is None:  # the slash after a name of 1 to 8 characters
        candidates = [
            i for i, t in enumerate(texts) if kinds[i] is None and ("/" in t[1:9] or "／" in t[1:9])
        ]
    for i in candidates:
        t = texts[i]
        if (m := _SLASH_LABEL_RE.match(t)) and _terminated(t) and len(t) - m.end() >= 4:
            name = m.group("name")
            if match_key(name) not in NOT_A_NAME:
                counts[name] = counts.get(name, 0) + 1
    if len(counts) >= 2 and sum(counts.values()) >= 3 and max(counts.values()) >= 2:
        return set(counts)
    return set()


# 「桃子「朝いちばんに…」」: a name, then the turn in brackets, the whole line.
_QUOTE_LABEL_RE: Final = re.compile(
    r"^(?P<name>[^\s\d「」『』。、！？!?(（)）:：/／・]{1,8})「[^「」]*(?:「[^「」]*」[^「」]*)*」$"
)


def _quote_labels(
    kinds: list[BlockKind | None],
    texts: list[str],
    candidates: Sequence[int] | None = None,
    prose: int = 0,
) -> set[str]:
    """Names before whole bracketed lines, 名前「…」, when such lines carry the article.

    Two or more names, three or more lines, one name twice, and at least half of the
    article's prose lines: an essay quoting a remark now and then keeps its voice.
    ``candidates`` and ``prose``, when the caller knows them: the undecided lines of 8
    characters or more with 「 in their first 9, and how many such lines there are at all.

    >>> sorted(_quote_labels([None] * 3, ["桃子「もうすぐ焼けるよ。」", "杏「今日は早いね。」", "桃子「豆も挽いたよ。」"]))
    ['杏', '桃子']
    """
    counts: dict[str, int] = {}
    if candidates is None:
        prose = sum(1 for i, t in enumerate(texts) if kinds[i] is None and len(t) >= 8)
        # The opening bracket after a name of 1 to 8 characters.
        candidates = [i for i, t in enumerate(texts) if kinds[i] is None and len(t) >= 8 and "「" in t[1:9]]
    for i in candidates:
        m = _QUOTE_LABEL_RE.match(texts[i])
        if m and match_key(m.group("name")) not in NOT_A_NAME:
            counts[m.group("name")] = counts.get(m.group("name"), 0) + 1
    total = sum(counts.values())
    if len(counts) >= 2 and total >= 3 and max(counts.values()) >= 2 and total * 2 >= prose:
        return set(counts)
    return set()


def _profile_entry(text: str) -> bool:
    """A line that names a person, a year or a legend marker belongs to a profile.

    >>> _profile_entry("松本(開発部)"), _profile_entry("2022年入庁"), _profile_entry("それぞれの持ち場")
    (True, True, False)
    """
    if re.search(r"\d{4}年", text) or marker_of(text) or re.search(r"[(（][^\w\s]{1,2}[)）]$", text):
        return True
    return len(text) <= 60 and bool(name_by_shape(text) or surnames_in(text))


def _mark_profiles(
    kinds: list[BlockKind | None],
    texts: list[str],
    labels: list[str | None],
    blocks: tuple[Block, ...] | list[Block],
) -> None:
    """Lines under a profile heading (「◆プロフィール」「参加者紹介」「話している人」) are profile lines.

    The run ends at a question, a label, a link, an image, chrome or a marked-up heading,
    and at a short line naming nobody once a person has been named (the next heading).
    Legend lines (「(◇)あおい…」) lose their marker label: they define it.
    """
    n = len(kinds)
    i = 0
    while i < n:
        if kinds[i] != "heading":
            # Straight to the next heading: nothing changes kinds on the way there.
            try:
                i = kinds.index("heading", i)
            except ValueError:
                break
        if not _is_profile_header(texts[i]):
            i += 1
            continue
        j = i + 1
        seen_entry = False
        run_marks: set[str] = set()
        while j < n:
            if (
                kinds[j] == "speaker_label"
                and labels[j]
                and re.search(r"[(（][^()（）]{1,20}[)）]$", labels[j] or "")
            ):
                # 「宮越 誠(みやこし・まこと)」 taken for a turn's label because the name speaks
                # later: under a profile header, a name with its reading is an entry.
                kinds[j], texts[j], labels[j] = "profile", labels[j] or "", None
            if kinds[j] not in ("heading", "paragraph", "caption", "profile", "image_alt") or (
                len(texts[j]) > PROFILE_LINE_MAX
            ):
                break
            t = texts[j]
            if kinds[j] in ("image_alt", "caption"):
                if seen_entry:
                    break
                j += 1  # a group photo between the header and the people: keep it
                continue
            label = labels[j]
            legend = label is not None and marker_of(label) is not None
            if legend and label in run_marks:
                break  # the marker's second line: the legend is over, the turns begin
            run_marks.update(m.group(0) for m in _INNER_MARK_RE.finditer(t))
            if label is not None:
                run_marks.add(label)
            if labels[j] is not None and not legend:
                break
            if kinds[j] == "heading" and blocks[j].kind == "heading":
                break  # a heading the markup declared ends the profile
            if (
                seen_entry
                and _SECTION_HEAD_RE.match(t)
                and (re.match(r"第|Part|PART|Session|SESSION", t) or not _profile_entry(t))
            ):
                break  # 「第1部 …(…さん)」「2. …」: the talks begin, even when the heading names someone
            entry = legend or kinds[j] == "profile" or _profile_entry(t)
            if (
                seen_entry
                and not entry
                and _heading_like(t)
                and not re.fullmatch(r"[「『][^「」『』]+[」』]", t)
            ):
                break  # a quoted line (「…」) under a name is that person's words, still profile
            if legend:
                texts[j], labels[j] = (labels[j] or "") + t, None
            kinds[j] = "profile"
            seen_entry = seen_entry or entry
            j += 1
        i = j


# The start-anchored patterns a rule of classify's main loop needs to match before it can
# decide a line (rules that need no such match need a short line, a colon, a legend's
# arrow, a marker or bold instead), but for the five _rule_head asks behind a gate of
# their own. Named groups become plain ones: several share a name.
_RULE_HEADS_RE: Final = re.compile(
    "|".join(
        "(?:" + re.sub(r"\(\?P<\w+>", "(?:", rx.pattern) + ")"
        for rx in (
            _URL_RE,
            _LINK_MARK_RE,
            PROFILE_HEADER_RE,
            _ASIDE_RE,
            _Q_ALONE_RE,
            _Q_WORD_ALONE_RE,
            _A_WORD_ALONE_RE,
            QUESTION_RE,
            _MARK_QUESTION_RE,
            _ARROW_ANSWER_RE,
            ANSWER_RE,
            _LIST_RE,
            _QUOTE_RE,
        )
    )
)
_LEGEND_MARK_RE: Final = re.compile("[→⇒=＝]")
# What a greeting starts with (GREETING: 皆さん/みなさん, then こんにちは, はじめまして, ...).
_GREETING_FIRST: Final = frozenset("皆みこは初お")


def _rule_head(text: str) -> bool:
    """Whether one of the start-anchored patterns of the main loop's rules matches ``text``.

    The five that try many lengths at the start (a name before its delimiter, a greeting,
    an image's picture word before 。) are each asked only when the character they need is
    where they need it: a space, 「 or slash right after a name of 1 to 8 characters, a
    greeting's first character, the first 。 3 to 34 characters in.

    >>> _rule_head("Q1. 志望動機は？"), _rule_head("店主の写真。工房の前で"), _rule_head("今日は晴れ。")
    (True, True, False)
    """
    if _RULE_HEADS_RE.match(text) is not None:
        return True
    head9 = text[1:9]
    return bool(
        ((" " in head9 or "\u3000" in head9) and _SPACE_LABEL_RE.match(text))
        or ("「" in head9 and _QUOTE_LABEL_RE.match(text))
        or (("/" in head9 or "／" in head9) and _SLASH_LABEL_RE.match(text))
        or (text[:1] in _GREETING_FIRST and _GREETING_LINE_RE.match(text))
        or ("。" in text[3:35] and _IMAGE_ALT_HEAD_RE.match(text))
    )


def _only_intro_decides(text: str) -> bool:
    """True when, of the main loop's rules, only the self-introduction can decide ``text``.

    The others need one of: a line of at most 80 characters (credits, greetings, legends
    lines, image alts, link cards, profile headers), a start that one of their patterns
    matches (_rule_head), a colon or 【 (labels, label shapes, cast lines), a legend's
    arrow or equals sign, a marker or bold (asked by the caller).

    >>> _only_intro_decides("朝いちばんに窯の火を見に行くのが日課で、" * 5)
    True
    >>> _only_intro_decides("――" + "朝いちばんに窯の火を見に行くのが日課で、" * 5)
    False
    """
    return (
        len(text) > 80
        and not may_be_label(text)
        and _LEGEND_MARK_RE.search(text) is None
        and not _rule_head(text)
    )
