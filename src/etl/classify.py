"""Decide every block's kind: title, heading, question, label, caption, chrome, ...

HTML gives structural hints (an ``<h2>`` is a heading); page text gives none, so the
rules here read the words, the length, the position and what follows. Labels and
question markers are split off the text here, so ``text`` never contains them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from etl.cues import answer_marker, find_label, question_marker, surnames_in
from etl.model import Block, BlockKind
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
_LIST_RE: Final = re.compile(r"^(?:[・•●○◯▪︎▪]\s*|[-*+]\s+|(?:\d{1,2}|[①-⑳])[.)．）]?\s+(?=\S))")
_IMAGE_ALT_RE: Final = re.compile(r"(?:写真|画像|イメージ|様子|の図|スクリーンショット|キャプチャ)$")
_SENTENCE_END: Final = "。．.！!？?、，,…"
_PROFILE_HEADING_RE: Final = re.compile(
    r"(?:プロフィール|参加者|登壇者|出演者|ゲスト|話し手|profile|メンバー紹介)", re.I
)
_QUOTE_RE: Final = re.compile(r"^[>＞]\s*")
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


def _terminated(text: str) -> bool:
    return text.rstrip("」』）)")[-1:] in _SENTENCE_END if text else False


def _heading_like(text: str) -> bool:
    return 0 < len(text) <= HEADING_MAX and not _terminated(text) and not _URL_RE.match(text)


def _is_link_text(text: str) -> bool:
    if _URL_RE.match(text):
        return True
    return bool(_LINK_MARK_RE.match(text) and _LINK_WORDS_RE.search(text))


def classify(blocks: tuple[Block, ...] | list[Block]) -> list[Unit]:
    """Give each block its kind, splitting labels and question markers off the text.

    >>> [u.kind for u in classify([Block(text="見出し画像"), Block(text="題"), Block(text="本文です。")])]
    ['image_alt', 'title', 'paragraph']
    """
    n = len(blocks)
    kinds: list[BlockKind | None] = [b.kind for b in blocks]
    texts = [b.text for b in blocks]
    labels: list[str | None] = [None] * n

    # Chrome: everything from the first chrome marker on.
    chrome_from = n
    for i, t in enumerate(texts):
        if match_key(t) in CHROME_START:
            chrome_from = i
            break
    for i in range(n):
        if i >= chrome_from or (kinds[i] is None and match_key(texts[i]) in CHROME_LINE):
            kinds[i] = "boilerplate"

    # Header image alt and title, by position.
    first = 0
    if n and kinds[0] in (None, "image_alt") and match_key(texts[0]) == HEADER_IMAGE:
        kinds[0] = "image_alt"
        first = 1
    if "title" not in kinds:
        for i in range(first, chrome_from):
            if kinds[i] is None:
                kinds[i] = "title"
                break

    for i in range(n):
        if kinds[i] is not None:
            continue  # the markup (or chrome detection) already decided
        t = texts[i]
        if _is_link_text(t):
            kinds[i] = "link"
            continue
        q = question_marker(t)
        if q is not None:
            kinds[i], labels[i], texts[i] = "question", q.strip(), t[len(q) :]
            continue
        a = answer_marker(t)
        if a is not None:
            kinds[i], labels[i], texts[i] = "paragraph", a.strip(), t[len(a) :]
            continue
        label = find_label(t)
        if label is not None:
            if label.rest:
                kinds[i], labels[i], texts[i] = "paragraph", label.label, label.rest
            else:
                kinds[i], labels[i], texts[i] = "speaker_label", label.label, ""
            continue
        if blocks[i].emphasis and _terminated(t) and t.endswith(("？", "?", "か。", "か")):
            # A bold question without a marker (note editors often bold the interviewer).
            kinds[i] = "question"
            continue
        if _LIST_RE.match(t):
            kinds[i] = "list_item"
            continue
        if _QUOTE_RE.match(t):
            kinds[i] = "quote"
            continue
        if _IMAGE_ALT_RE.search(t) and len(t) <= 80 and not _terminated(t):
            kinds[i] = "image_alt"
            nxt = i + 1
            if (
                nxt < n
                and kinds[nxt] is None
                and _heading_like(texts[nxt])
                and question_marker(texts[nxt]) is None
            ):
                kinds[nxt] = "caption"
            continue

    # Headings and profile sections, which depend on what follows.
    for i in range(n):
        if kinds[i] is not None:
            continue
        t = texts[i]
        if (_LINK_MARK_RE.match(t) and len(t) <= HEADING_MAX) or (
            _heading_like(t) and _followed_by_content(kinds, texts, i)
        ):
            kinds[i] = "heading"
        else:
            kinds[i] = "paragraph"
    _mark_profiles(kinds, texts, labels, blocks)

    out: list[Unit] = []
    for i, b in enumerate(blocks):
        kind = kinds[i] or "paragraph"
        level = b.heading_level if kind == "heading" else None
        if kind == "heading" and level is None:
            level = 2
        out.append(Unit(kind=kind, text=texts[i], label=labels[i], heading_level=level, emphasis=b.emphasis))
    return out


def _followed_by_content(kinds: list[BlockKind | None], texts: list[str], i: int) -> bool:
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
            return not _heading_like(texts[j]) or _LINK_MARK_RE.match(texts[j]) is not None
        return True
    return False


def _profile_entry(text: str) -> bool:
    """A line that names a person or a year (「松本(開発部)」「2022年入庁」) belongs to a profile."""
    return bool(re.search(r"\d{4}年", text)) or bool(surnames_in(text))


def _mark_profiles(
    kinds: list[BlockKind | None],
    texts: list[str],
    labels: list[str | None],
    blocks: tuple[Block, ...] | list[Block],
) -> None:
    """Lines under a profile heading (「◆プロフィール」「◆参加者」) are profile lines.

    The run ends at a question, a label, a link, chrome or a marked-up heading; its last
    short line, when a question or paragraph follows, is the next section's heading.
    """
    n = len(kinds)
    i = 0
    while i < n:
        if kinds[i] == "heading" and _PROFILE_HEADING_RE.search(texts[i]) and len(texts[i]) <= 20:
            j = i + 1
            run: list[int] = []
            marked_end = False
            while (
                j < n
                and kinds[j] in ("heading", "paragraph")
                and labels[j] is None
                and len(texts[j]) <= PROFILE_LINE_MAX
            ):
                if kinds[j] == "heading" and blocks[j].kind == "heading":
                    marked_end = True  # a heading the markup declared ends the profile
                    break
                run.append(j)
                j += 1
            if (
                not marked_end
                and len(run) >= 2
                and kinds[run[-1]] == "heading"
                and _heading_like(texts[run[-1]])
                and not _profile_entry(texts[run[-1]])
            ):
                run = run[:-1]
            for k in run:
                kinds[k] = "profile"
            i = j
        else:
            i += 1
