"""Parse a note article page (HTML) into the block model.

note pages put the article body in ``div.note-common-styles__textnote-body``; the
eyecatch, the title and some chrome (contest banner, recommend box) sit around it. The
page-text format (one line per block) is what a reader copies from the rendered page, so
the blocks here follow the same reading order and split ``<br>`` lines the same way.

Trees are walked with an explicit stack, never by Python recursion, so a hostile or
broken page with thousands of nested elements cannot raise ``RecursionError``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from bs4.element import PreformattedString

from etl.errors import ParseError
from etl.model import ArticleMeta, Block, BlockKind, ParsedDocument
from etl.normalize import clean_text

__all__ = ["body_blocks", "parse_html", "parse_timestamp"]

log = logging.getLogger(__name__)

# note's publishing times are Japanese local time; a timestamp without an offset means JST.
_DEFAULT_TZ: Final = ZoneInfo("Asia/Tokyo")
_EMPTY_ATTRS: Final[Mapping[str, str]] = MappingProxyType({})

_NOTE_BODY: Final = "div.note-common-styles__textnote-body"
_NOTE_TITLE: Final = "h1.o-noteContentHeader__title"
_NOTE_CHROME_BLOCKS: Final = ".o-noteContestBanner, .o-noteRecommend"
# note's class names follow atomic design (a-/m-/o- prefixes). Only the organisms that are
# page chrome are listed: ``o-noteContent`` itself wraps the whole article.
_NOTE_CHROME_CLASS: Final = re.compile(
    r"^(?:o-note(?:Eyecatch|ContentHeader|ContentFooter|Contest|Like|Recommend)|o-creator|o-global"
    r"|o-follow|m-tagList|a-button)"
)
_FALLBACK_ROOTS: Final = ("article", "main", "body")
_FALLBACK_DROP: Final = ("nav", "header", "footer", "aside", "script", "style", "noscript", "form", "button")

# Elements whose text is never article text (scripts, styles, ruby readings, widgets).
_DROP: Final[frozenset[str]] = frozenset(
    {"script", "style", "noscript", "template", "rt", "rp", "svg", "math", "iframe", "object", "embed"}
    | {"canvas", "head", "title", "button", "select", "textarea"}
)
# Everything not listed here is inline (as in a browser), so unknown custom elements join
# the text around them instead of splitting it.
_BLOCK: Final[frozenset[str]] = frozenset(
    {"address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog"}
    | {"dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup"}
    | {"hr", "html", "legend", "li", "main", "menu", "nav", "ol", "p", "pre", "section", "summary"}
    | {"table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
    | {"h1", "h2", "h3", "h4", "h5", "h6"}
)
# Text blocks: an <img> inside one is inline decoration (an icon), not a picture of its own.
_TEXT_BLOCK: Final[frozenset[str]] = frozenset(
    {"p", "li", "figcaption", "pre", "dt", "dd", "td", "th", "caption", "summary", "legend"}
    | {"h1", "h2", "h3", "h4", "h5", "h6"}
)
# Blocks whose id/name their unlabelled children inherit (a <figure>'s id is the only
# provenance its <img> and <figcaption> have); plain containers pass nothing down, or every
# block of a fallback page would carry the id of some layout <div>.
_GROUPING: Final[frozenset[str]] = _TEXT_BLOCK | {"blockquote", "figure"}
_KIND_OF: Final[Mapping[str, BlockKind]] = {"li": "list_item", "blockquote": "quote", "figcaption": "caption"}
_HEADING: Final = re.compile(r"^h([1-6])$")
# HTML's collapsible whitespace only: U+00A0 and U+3000 are content and go to clean_text.
_HTML_SPACE: Final = re.compile(r"[ \t\n\r\f]+")
_URLNAME: Final = re.compile(r"^https?://[^/]+/([A-Za-z0-9_-]+)/n/")
_NOTE_KEY: Final = re.compile(r"/n/([0-9A-Za-z]+)(?:[/?#]|$)")
_TAG_LIKE: Final = re.compile(r"<[A-Za-z!?/]")
_TITLE_SEP: Final = "｜"
_ARTICLE_TYPES: Final = frozenset({"Article", "NewsArticle", "BlogPosting"})


def parse_html(text: str) -> ParsedDocument:
    """Parse one note article page into metadata and blocks in reading order.

    Raises :class:`~etl.errors.ParseError` for an empty or tag-less document and for a page
    with no content blocks.

    >>> doc = parse_html('<h1 class="o-noteContentHeader__title">題</h1>'
    ...                  '<div class="note-common-styles__textnote-body"><p>本文です。</p></div>')
    >>> [(b.kind, b.text) for b in doc.blocks]
    [('title', '題'), (None, '本文です。')]
    """
    if not text.strip():
        raise ParseError("empty document")
    if _TAG_LIKE.search(text) is None:
        raise ParseError("not HTML: the document has no tags")
    soup = _soup(text)

    title = _title_block(soup.select_one(_NOTE_TITLE))
    # Metadata and chrome are read first: the fallback below deletes header and chrome.
    meta = _meta(soup, title.text if title else "")
    eyecatch = [
        Block(text=alt, kind="image_alt", attrs=_source_attrs(img))
        for img in soup.select(".o-noteEyecatch img[alt]")
        if (alt := clean_text(_attr(img, "alt") or ""))
    ]
    chrome = [
        replace(block, kind="boilerplate", heading_level=None, emphasis=False)
        for el in soup.select(_NOTE_CHROME_BLOCKS)
        for block in body_blocks(el)
    ]

    body = soup.select_one(_NOTE_BODY)
    where = _NOTE_BODY
    if body is None:
        body, generic_title, where = _fallback_body(soup, want_title=title is None)
        if generic_title is not None:
            title = _title_block(generic_title)
            if title is not None and meta.title is None:
                meta = replace(meta, title=title.text)
    leading = [*eyecatch, title] if title is not None else eyecatch

    blocks = body_blocks(body) if body is not None else []
    if not blocks:
        raise ParseError(f"no content blocks found (looked in {where})")
    return ParsedDocument(source_format="html", meta=meta, blocks=(*leading, *blocks, *chrome))


def body_blocks(body: str | Tag) -> list[Block]:
    """The blocks of an article body, given as HTML text or an already parsed element.

    ``<p>`` gives ``kind=None`` (one block per ``<br>`` line), a paragraph that is one link
    gives ``"link"``, ``<hN>`` a heading, ``<figure>`` an image alt and a caption, ``<li>``
    list items and ``<blockquote>`` quotes. Scripts, styles and ruby readings are dropped.
    The element passed in is not modified.

    >>> [(b.kind, b.text, b.emphasis) for b in body_blocks("<h2>経歴</h2><p><b>――Q</b><br>答え</p>")]
    [('heading', '経歴', False), (None, '――Q', True), (None, '答え', False)]
    """
    if isinstance(body, str):
        soup = _soup(body)
        body = soup.body or soup
    return _walk(body)


def parse_timestamp(value: object) -> datetime | None:
    """An aware datetime from an ISO 8601 string; naive times are Asia/Tokyo, junk is None.

    >>> parse_timestamp("2024-02-01T10:00:00").isoformat()
    '2024-02-01T10:00:00+09:00'
    >>> parse_timestamp("昨日") is None
    True
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_DEFAULT_TZ)


def _soup(text: str) -> BeautifulSoup:
    # huge_tree lifts libxml2's depth and size limits, which would otherwise silently cut
    # a deeply nested page short.
    return BeautifulSoup(text, "lxml", huge_tree=True)


# --- the body walk ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What the walk knows at one point of the tree (block-level hints and inline state)."""

    kind: BlockKind | None = None
    level: int | None = None
    # Provenance of the text directly in this block, and the provenance its children inherit.
    attrs: Mapping[str, str] = field(default_factory=lambda: _EMPTY_ATTRS)
    group: Mapping[str, str] = field(default_factory=lambda: _EMPTY_ATTRS)
    in_text: bool = False
    pre: bool = False
    bold: bool = False
    anchor: Tag | None = None


@dataclass(slots=True)
class _Segment:
    text: str
    bold: bool
    anchor: Tag | None


@dataclass(slots=True)
class _Run:
    """The inline text of one block, as lines of segments, until a block boundary ends it."""

    ctx: _Ctx
    lines: list[list[_Segment]] = field(default_factory=lambda: [[]])

    def add(self, text: str, ctx: _Ctx) -> None:
        if not ctx.pre:
            self.lines[-1].append(_Segment(_HTML_SPACE.sub(" ", text), ctx.bold, ctx.anchor))
            return
        # Inside <pre> a newline is a line break, as <br> is elsewhere.
        first, *rest = text.split("\n")
        self.lines[-1].append(_Segment(first, ctx.bold, ctx.anchor))
        for part in rest:
            self.lines.append([_Segment(part, ctx.bold, ctx.anchor)])

    def blocks(self) -> Iterator[Block]:
        for line in self.lines:
            text = clean_text("".join(seg.text for seg in line))
            if not text:
                continue
            solid = [seg for seg in line if clean_text(seg.text)]
            kind = self.ctx.kind
            attrs = self.ctx.attrs
            anchor = solid[0].anchor
            if anchor is not None and all(seg.anchor is anchor for seg in solid):
                # A line that is one link is a link; in a list or a quote it keeps that kind.
                kind = kind or "link"
                attrs = MappingProxyType({**attrs, "href": _attr(anchor, "href") or ""})
            yield Block(
                text=text,
                kind=kind,
                heading_level=self.ctx.level if kind == "heading" else None,
                emphasis=all(seg.bold for seg in solid),
                attrs=attrs,
            )


def _walk(root: Tag) -> list[Block]:
    out: list[Block] = []
    run = _Run(_Ctx())
    # A None node marks the end of a block element: flush its text, resume the parent's.
    stack: list[tuple[PageElement | None, _Ctx]] = [(root, run.ctx)]
    while stack:
        node, ctx = stack.pop()
        if node is None:
            out.extend(run.blocks())
            run = _Run(ctx)
        elif isinstance(node, NavigableString):
            # Comments, CDATA, doctypes: markup, not text.
            if not isinstance(node, PreformattedString):
                run.add(str(node), ctx)
        elif isinstance(node, Tag):
            name = (node.name or "").lower()
            if name in _DROP:
                continue
            if name == "br":
                run.lines.append([])
            elif name == "img":
                alt = clean_text(_attr(node, "alt") or "")
                if alt and not ctx.in_text:
                    out.extend(run.blocks())
                    out.append(Block(text=alt, kind="image_alt", attrs=_source_attrs(node) or ctx.group))
                    run = _Run(run.ctx)
            elif name in _BLOCK:
                out.extend(run.blocks())
                inner = _enter_block(node, name, ctx)
                run = _Run(inner)
                stack.append((None, ctx))
                stack.extend((child, inner) for child in reversed(node.contents))
            else:
                inner = ctx
                if name in ("b", "strong"):
                    inner = replace(inner, bold=True)
                elif name == "a" and ctx.anchor is None and _attr(node, "href") is not None:
                    inner = replace(inner, anchor=node)
                stack.extend((child, inner) for child in reversed(node.contents))
    out.extend(run.blocks())
    return out


def _enter_block(tag: Tag, name: str, parent: _Ctx) -> _Ctx:
    attrs = _source_attrs(tag) or parent.group
    kind = _KIND_OF.get(name, parent.kind)
    level = parent.level
    if heading := _HEADING.match(name):
        kind, level = "heading", int(heading.group(1))
    return replace(
        parent,
        kind=kind,
        level=level,
        attrs=attrs,
        group=attrs if name in _GROUPING else parent.group,
        # A <figure> is a picture even inside a list item or a table cell.
        in_text=(parent.in_text or name in _TEXT_BLOCK) and name != "figure",
        pre=parent.pre or name == "pre",
    )


# --- page structure --------------------------------------------------------------------


def _fallback_body(soup: BeautifulSoup, *, want_title: bool) -> tuple[Tag | None, Tag | None, str]:
    """A page without note's body div: the best body element with its chrome removed.

    Returns the root, the page's own ``<h1>`` taken out of it as the title (when asked),
    and where the body was looked for.
    """
    root = next((el for name in _FALLBACK_ROOTS if isinstance(el := soup.find(name), Tag)), None)
    if root is None:
        return None, None, "article, main or body"
    title = _generic_title(root) if want_title else None
    if title is not None:
        # Taken out before the chrome goes: an article's <h1> often sits in its <header>.
        title.extract()
    junk = [*root.find_all(_FALLBACK_DROP), *root.find_all(class_=_NOTE_CHROME_CLASS)]
    for el in junk:
        if not el.decomposed:  # already gone with a decomposed ancestor
            el.decompose()
    return root, title, f"<{root.name}>"


def _generic_title(root: Tag) -> Tag | None:
    """The first ``<h1>`` that is not site chrome (in an <article>, its <header> is its own)."""
    chrome = ["nav", "footer", "aside"] if root.name == "article" else ["nav", "footer", "aside", "header"]
    for h1 in root.find_all("h1"):
        if h1.find_parent(chrome) is None:
            return h1
    return None


def _title_block(h1: Tag | None) -> Block | None:
    text = _joined_text(h1) if h1 is not None else ""
    return Block(text=text, kind="title", attrs=_source_attrs(h1)) if h1 is not None and text else None


def _joined_text(tag: Tag) -> str:
    return " ".join(block.text for block in _walk(tag))


def _meta(soup: BeautifulSoup, h1_title: str) -> ArticleMeta:
    jsonld = _jsonld_objects(soup)
    display_name = _author_name(jsonld) or _text_of(soup.select_one(".o-noteContentHeader__name"))
    url = _meta_content(soup, "og:url") or _canonical(soup)
    # `account` is the stable note urlname (as the API's user.urlname), not the display name,
    # so one article read from HTML and from the API lands under the same account.
    urlname = next((m.group(1) for s in (url, _canonical(soup)) if s and (m := _URLNAME.search(s))), None)
    account = urlname or display_name
    key_sources = [url, _canonical(soup), _jsonld_page(jsonld)]
    note_key = next((m.group(1) for s in key_sources if s and (m := _NOTE_KEY.search(s))), None)
    title = (
        h1_title
        or _strip_account(_meta_content(soup, "og:title"), display_name)
        or clean_text(str(_jsonld_field(jsonld, "headline") or ""))
        or _strip_account(
            title_tag.get_text() if isinstance(title_tag := soup.find("title"), Tag) else "", display_name
        )
        or None
    )
    time_el = soup.find("time", attrs={"datetime": True})
    published_at = parse_timestamp(_jsonld_field(jsonld, "datePublished")) or (
        parse_timestamp(_attr(time_el, "datetime")) if isinstance(time_el, Tag) else None
    )
    hashtags = dict.fromkeys(t for a in soup.select("ul.m-tagList a") if (t := _text_of(a)))
    return ArticleMeta(
        title=title,
        note_key=note_key,
        url=url,
        account=account,
        published_at=published_at,
        hashtags=tuple(hashtags),
    )


def _strip_account(title: str | None, account: str | None) -> str:
    """``TITLE｜ACCOUNT`` (note's <title> and og:title) without the account part."""
    title = clean_text(title or "")
    if account and title.endswith(_TITLE_SEP + account):
        return title[: -len(_TITLE_SEP + account)].strip()
    return title.rpartition(_TITLE_SEP)[0].strip() or title


def _jsonld_objects(soup: BeautifulSoup) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, ``@graph`` members included; broken scripts skipped."""
    found: list[dict[str, Any]] = []
    for script in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            data = json.loads(script.get_text())
        except (ValueError, RecursionError) as exc:
            # Metadata is a bonus: a broken script must not cost the article.
            log.debug("ignoring unreadable JSON-LD: %s", exc)
            continue
        pending = data if isinstance(data, list) else [data]
        while pending:
            item = pending.pop(0)
            if isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    pending.extend(graph)
    # Article objects first, so a site-wide WebSite object never shadows the article.
    return sorted(found, key=lambda obj: not any(t in _ARTICLE_TYPES for t in _types(obj)))


def _types(obj: dict[str, Any]) -> list[str]:
    return [t for t in _as_list(obj.get("@type")) if isinstance(t, str)]


def _jsonld_field(objects: list[dict[str, Any]], key: str) -> object:
    return next((obj[key] for obj in objects if obj.get(key)), None)


def _author_name(objects: list[dict[str, Any]]) -> str | None:
    for author in _as_list(_jsonld_field(objects, "author")):
        name = author.get("name") if isinstance(author, dict) else author
        if isinstance(name, str) and (name := clean_text(name)):
            return name
    return None


def _jsonld_page(objects: list[dict[str, Any]]) -> str | None:
    page = _jsonld_field(objects, "mainEntityOfPage")
    if isinstance(page, dict):
        page = page.get("@id") or page.get("url")
    return page if isinstance(page, str) else None


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _meta_content(soup: BeautifulSoup, prop: str) -> str | None:
    # Open Graph tags use property=, but name= is common enough in the wild to accept.
    el = soup.find("meta", attrs={"property": prop}) or soup.find("meta", attrs={"name": prop})
    content = _attr(el, "content") if isinstance(el, Tag) else None
    return (content or "").strip() or None


def _canonical(soup: BeautifulSoup) -> str | None:
    link = soup.find("link", rel="canonical")
    href = _attr(link, "href") if isinstance(link, Tag) else None
    return (href or "").strip() or None


def _text_of(el: PageElement | None) -> str:
    return _joined_text(el) if isinstance(el, Tag) else ""


def _attr(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    return value if isinstance(value, str) else None


def _source_attrs(tag: Tag) -> Mapping[str, str]:
    """The element's ``id`` and ``name``: where in the page a block came from."""
    attrs = {key: value for key in ("id", "name") if (value := _attr(tag, key))}
    return MappingProxyType(attrs) if attrs else _EMPTY_ATTRS
