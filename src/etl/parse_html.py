"""Parse a note article page (HTML) into the block model.

note pages put the article body in ``div.note-common-styles__textnote-body``; the
eyecatch, the title and some chrome (contest banner, recommend box) sit around it. The
page-text format (one line per block) is what a reader copies from the rendered page, so
the blocks here follow the same reading order and split ``<br>`` lines the same way.

Pages are parsed by lxml (libxml2) and its tree is walked directly: one pass finds the
page landmarks, one walk per region makes the blocks. This module used BeautifulSoup
over the same libxml2 parser before and gives exactly its output; the few places where a
bs4 convention had to be kept on purpose say so. Trees are walked with an explicit
stack, never by Python recursion, so a hostile or broken page with thousands of nested
elements cannot raise ``RecursionError``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, NamedTuple, TypeAlias
from zoneinfo import ZoneInfo

from lxml import etree

from etl.errors import ParseError
from etl.json_text import loads
from etl.model import ArticleMeta, Block, BlockKind, ParsedDocument, slot_setters
from etl.normalize import clean_text
from etl.parse_text import clean_line

__all__ = ["body_blocks", "parse_html", "parse_timestamp"]

log = logging.getLogger(__name__)

# lxml ships no type information here, so this is ``Any`` to mypy; the alias names intent.
Element: TypeAlias = etree._Element

# note's publishing times are Japanese local time; a timestamp without an offset means JST.
_DEFAULT_TZ: Final = ZoneInfo("Asia/Tokyo")
_EMPTY_ATTRS: Final[Mapping[str, str]] = MappingProxyType({})

# Page landmarks: (tag, class) or a class. Matched on whole class tokens, as CSS does.
_NOTE_BODY: Final = ("div", "note-common-styles__textnote-body")
_NOTE_TITLE: Final = ("h1", "o-noteContentHeader__title")
_NOTE_NAME: Final = "o-noteContentHeader__name"
_NOTE_EYECATCH: Final = "o-noteEyecatch"
_NOTE_TAG_LIST: Final = ("ul", "m-tagList")
_NOTE_CHROME_BLOCKS: Final = frozenset({"o-noteContestBanner", "o-noteRecommend"})
_LANDMARK_CLASSES: Final = frozenset(
    {_NOTE_BODY[1], _NOTE_TITLE[1], _NOTE_NAME, _NOTE_EYECATCH, _NOTE_TAG_LIST[1], *_NOTE_CHROME_BLOCKS}
)
# note's class names follow atomic design (a-/m-/o- prefixes). Only the organisms that are
# page chrome are listed: ``o-noteContent`` itself wraps the whole article.
_NOTE_CHROME_CLASS: Final = re.compile(
    r"^(?:o-note(?:Eyecatch|ContentHeader|ContentFooter|Contest|Like|Recommend)|o-creator|o-global"
    r"|o-follow|m-tagList|a-button)"
)
_FALLBACK_ROOTS: Final = ("article", "main", "body")
_FALLBACK_DROP: Final = frozenset(
    {"nav", "header", "footer", "aside", "script", "style", "noscript", "form", "button"}
)
_LD_JSON: Final = "application/ld+json"
_LANDMARK_TAGS: Final = frozenset({"meta", "script", "link", "time", "title", *_FALLBACK_ROOTS})

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
_HEADING_LEVEL: Final[Mapping[str, int]] = {f"h{n}": n for n in range(1, 7)}
# Text under these is not a page's plain text (bs4's get_text, which the title rule was
# written against, skips it the same way).
_NOT_TEXT: Final[frozenset[str]] = frozenset({"script", "style", "template", "rt", "rp"})
# HTML's collapsible whitespace only: U+00A0 and U+3000 are content and go to clean_text.
_HTML_SPACE: Final = re.compile(r"[ \t\n\r\f]+")
_ASCII_SPACES: Final = " \t\n\r\f"
_URLNAME: Final = re.compile(r"^https?://[^/]+/([A-Za-z0-9_-]+)/n/")
_NOTE_KEY: Final = re.compile(r"/n/([0-9A-Za-z]+)(?:[/?#]|$)")
_TAG_LIKE: Final = re.compile(r"<[A-Za-z!?/]")
_TITLE_SEP: Final = "｜"
_ARTICLE_TYPES: Final = frozenset({"Article", "NewsArticle", "BlogPosting"})

# The attributes this module reads, and a cheap test for markup that might spell one of them
# with a "{namespace}" prefix (see _unbrace_attributes). It may match more than that, never
# less: such a name ends in "}" and the attribute's name, then anything but a name character.
_READ_ATTRS: Final = ("id", "name", "alt", "href", "class", "rel", "property", "content", "datetime", "type")
_BRACED_ATTR: Final = re.compile(r"\}(?:" + "|".join(_READ_ATTRS) + r")(?![a-z0-9])", re.IGNORECASE)


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
    page = _Landmarks.of(_parse(text))

    title = _title_block(page.title_h1)
    meta = _meta(page, title.text if title else "")
    eyecatch = [
        Block(text=alt, kind="image_alt", attrs=_source_attrs(img))
        for img in page.eyecatch_images()
        if (alt := clean_text(img.get("alt") or ""))
    ]
    chrome = [
        replace(block, kind="boilerplate", heading_level=None, emphasis=False)
        for el in page.chrome
        for block in _walk([el])
    ]

    body = page.body
    where = f"{_NOTE_BODY[0]}.{_NOTE_BODY[1]}"
    skip: frozenset[Element] = frozenset()
    if body is None:
        body, generic_title, skip, where = _fallback_body(page, want_title=title is None)
        if generic_title is not None:
            title = _title_block(generic_title)
            if title is not None and meta.title is None:
                meta = replace(meta, title=title.text)
    leading = [*eyecatch, title] if title is not None else eyecatch

    blocks = _walk([body], skip) if body is not None else []
    if not blocks:
        raise ParseError(f"no content blocks found (looked in {where})")
    return ParsedDocument(source_format="html", meta=meta, blocks=(*leading, *blocks, *chrome))


def body_blocks(body: str | Element) -> list[Block]:
    """The blocks of an article body, given as HTML text or an already parsed lxml element.

    ``<p>`` gives ``kind=None`` (one block per ``<br>`` line), a paragraph that is one link
    gives ``"link"``, ``<hN>`` a heading, ``<figure>`` an image alt and a caption, ``<li>``
    list items and ``<blockquote>`` quotes. Scripts, styles and ruby readings are dropped.
    The element passed in is not modified.

    >>> [(b.kind, b.text, b.emphasis) for b in body_blocks("<h2>経歴</h2><p><b>――Q</b><br>答え</p>")]
    [('heading', '経歴', False), (None, '――Q', True), (None, '答え', False)]
    """
    if not isinstance(body, str):
        return _walk([body])
    tops = _parse(body)
    first_body = next((el for top in tops for el in top.iter("body")), None)
    return _walk([first_body] if first_body is not None else tops)


#: Publication dates outside [EARLIEST_DATE, now + LATEST_AHEAD] are junk (a template's
#: 0001-01-01, a far-future 9999-12-31): note started in 2014, and a date a year ahead is
#: no real publication. They are read as no date (the article is kept, undated).
EARLIEST_DATE: Final = datetime(1990, 1, 1, tzinfo=_DEFAULT_TZ)
LATEST_AHEAD: Final = timedelta(days=366)


def parse_timestamp(value: object, *, now: datetime | None = None) -> datetime | None:
    """An aware datetime from an ISO 8601 string; naive times are Asia/Tokyo, junk is None.

    Dates before 1990 or more than a year after ``now`` (default: the clock) are junk too,
    logged with the reason.

    >>> parse_timestamp("2024-02-01T10:00:00").isoformat()
    '2024-02-01T10:00:00+09:00'
    >>> parse_timestamp("昨日") is None, parse_timestamp("9999-12-31T23:59:59-12:00") is None
    (True, True)
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_DEFAULT_TZ)
    latest = (now or datetime.now(UTC)) + LATEST_AHEAD
    try:
        # As UTC: 9999-12-31T23:59-12:00 is past datetime's last day there (OverflowError).
        instant = parsed.astimezone(UTC)
        in_range = EARLIEST_DATE <= instant <= latest
    except (OverflowError, ValueError):
        in_range = False
    if not in_range:
        log.warning(
            "ignoring date %r: outside %s .. %s (no real publication date)",
            value[:64],
            EARLIEST_DATE.date(),
            latest.date(),
        )
        return None
    return parsed


# --- parsing ---------------------------------------------------------------------------


def _parse(text: str) -> list[Element]:
    """The document's top-level elements (none when the text makes no element).

    libxml2 starts a second ``<html>`` for content after ``</html>``: a sibling of the root,
    and part of the page like everything else.
    """
    # Kept from the bs4 days, so the tree (and every output) stays the same: bs4 dropped one
    # leading BOM before handing the text to lxml, and fed it in one piece to a feed parser.
    if text.startswith("\ufeff"):
        text = text[1:]
    # huge_tree lifts libxml2's size limits and most of its depth limit (see _parse_deep).
    # No ID table: nothing here looks elements up by id.
    parser = etree.HTMLParser(huge_tree=True, collect_ids=False)
    parser.feed(text)
    try:
        root = parser.close()
    except etree.XMLSyntaxError:  # "Document is empty": only comments, or nothing at all
        return []
    if root is None:  # nothing fed at all
        return []
    # Only a page with that many tags can be that deep; counting is far cheaper than asking.
    if text.count("<") >= _LIBXML2_MAX_DEPTH // 2 and _AT_MAX_DEPTH(root):
        return _parse_deep(text)
    tops = [root, *(el for el in root.itersiblings() if isinstance(el.tag, str))]
    if _BRACED_ATTR.search(text) is not None:
        _unbrace_attributes(tops)
    return tops


def _unbrace_attributes(tops: list[Element]) -> None:
    """Give ``{ns}name`` attributes (lxml's spelling of a namespaced name) their plain name.

    An HTML attribute literally named ``{x}id`` reaches lxml under that name; bs4 read it as
    ``id`` (the last such spelling winning), and this module keeps that reading.
    """
    for top in tops:
        for el in top.iter(etree.Element):
            if not any(key[:1] == "{" and "}" in key for key in el.attrib):
                continue
            plain = _plain_attrs(el.items())
            for key in _READ_ATTRS:
                if key in plain and plain[key] != el.get(key):
                    el.set(key, plain[key])


def _plain_attrs(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    # bs4's reading: "{ns}name" is "name" ("None" when empty), and a later spelling wins.
    plain: dict[str, str] = {}
    for key, value in items:
        if key[:1] == "{" and "}" in key:
            key = key.partition("}")[2] or "None"
        plain[key] = value
    return plain


# --- pages nested deeper than libxml2 builds --------------------------------------------

# libxml2 (2.12 and later) stops building a tree at this depth even with huge_tree, and
# silently drops the rest of the page. Its parse events have no such limit (bs4 built its
# own tree from them), so a page that reaches the limit is parsed again into _Node trees.
_LIBXML2_MAX_DEPTH: Final = 2048
_AT_MAX_DEPTH: Final = etree.XPath("boolean(" + "/*" * _LIBXML2_MAX_DEPTH + ")")


class _Node:
    """An element of a page nested deeper than libxml2 builds trees.

    It has the part of lxml's element API this module uses, so one walk reads both kinds
    of tree. Every method iterates; none recurses.
    """

    __slots__ = ("attrib", "children", "parent", "tag", "tail", "text")

    def __init__(self, tag: str, attrib: dict[str, str], parent: _Node | None) -> None:
        self.tag = tag
        self.attrib = attrib
        self.parent = parent
        self.children: list[_Node] = []
        self.text: str | None = None
        self.tail: str | None = None

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.attrib.get(key, default)

    def __len__(self) -> int:
        return len(self.children)

    def __iter__(self) -> Iterator[_Node]:
        return iter(self.children)

    def __reversed__(self) -> Iterator[_Node]:
        return reversed(self.children)

    def iter(self, *tags: object) -> Iterator[_Node]:
        """This node and its descendants in document order; ``etree.Element`` means any tag."""
        every = not tags or etree.Element in tags
        stack = [self]
        while stack:
            node = stack.pop()
            if every or node.tag in tags:
                yield node
            stack.extend(reversed(node.children))

    def iterdescendants(self, *tags: object) -> Iterator[_Node]:
        return (node for node in self.iter(*tags) if node is not self)

    def iterancestors(self) -> Iterator[_Node]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _DeepTreeTarget:
    """An lxml parser target building :class:`_Node` trees from the parse events, as bs4 did."""

    def __init__(self) -> None:
        self.tops: list[_Node] = []
        self._open: list[_Node] = []
        self._text: list[str] = []

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        self._flush_text()
        parent = self._open[-1] if self._open else None
        node = _Node(tag, _plain_attrs(attrib.items()), parent)
        (parent.children if parent is not None else self.tops).append(node)
        self._open.append(node)

    def end(self, tag: str) -> None:
        self._flush_text()
        # As bs4: close up to the innermost open element of that name, if there is one.
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def data(self, data: str) -> None:
        self._text.append(data)

    def close(self) -> list[_Node]:
        self._flush_text()
        return self.tops

    def _flush_text(self) -> None:
        # Text outside every element is only layout whitespace; it is no block's text.
        if not self._text or not self._open:
            self._text.clear()
            return
        text, parent = "".join(self._text), self._open[-1]
        self._text.clear()
        if parent.children:
            last = parent.children[-1]
            last.tail = (last.tail or "") + text
        else:
            parent.text = (parent.text or "") + text


def _parse_deep(text: str) -> list[Element]:
    parser = etree.HTMLParser(target=_DeepTreeTarget(), huge_tree=True)
    parser.feed(text)
    tops: list[Element] = parser.close()
    return tops


def _classes(el: Element) -> list[str]:
    # Split on any Unicode whitespace (str.split), as bs4 and CSS selectors did.
    return (el.get("class") or "").split()


# --- page landmarks --------------------------------------------------------------------


@dataclass(slots=True)
class _Landmarks:
    """What the page structure says, found in one pass in document order."""

    tops: list[Element]
    title_h1: Element | None = None
    body: Element | None = None
    name: Element | None = None
    eyecatch_boxes: list[Element] = field(default_factory=list)
    chrome: list[Element] = field(default_factory=list)
    tag_lists: list[Element] = field(default_factory=list)
    title_tag: Element | None = None
    time: Element | None = None
    canonical: Element | None = None
    metas: list[Element] = field(default_factory=list)
    ld_scripts: list[Element] = field(default_factory=list)
    # The first <article>, <main> and <body>: where a page without note's body div is read.
    fallback_roots: dict[str, Element] = field(default_factory=dict)

    @classmethod
    def of(cls, tops: list[Element]) -> _Landmarks:
        page = cls(tops)
        for top in page.tops:
            for el in top.iter(etree.Element):
                tag = el.tag
                classes = (el.get("class") or "").split()  # inlined _classes: this loop is hot
                if classes and not _LANDMARK_CLASSES.isdisjoint(classes):
                    page._note_class(el, tag, classes)
                if tag in _LANDMARK_TAGS:
                    page._note_tag(el, tag)
        return page

    def _note_tag(self, el: Element, tag: str) -> None:
        if tag == "meta":
            self.metas.append(el)
        elif tag == "script":
            if el.get("type") == _LD_JSON:
                self.ld_scripts.append(el)
        elif tag == "link":
            if self.canonical is None and "canonical" in (el.get("rel") or "").split():
                self.canonical = el
        elif tag == "time":
            if self.time is None and el.get("datetime") is not None:
                self.time = el
        elif tag == "title":
            if self.title_tag is None:
                self.title_tag = el
        else:
            self.fallback_roots.setdefault(tag, el)

    def _note_class(self, el: Element, tag: str, classes: list[str]) -> None:
        if self.title_h1 is None and tag == _NOTE_TITLE[0] and _NOTE_TITLE[1] in classes:
            self.title_h1 = el
        if self.body is None and tag == _NOTE_BODY[0] and _NOTE_BODY[1] in classes:
            self.body = el
        if self.name is None and _NOTE_NAME in classes:
            self.name = el
        if _NOTE_EYECATCH in classes:
            self.eyecatch_boxes.append(el)
        if tag == _NOTE_TAG_LIST[0] and _NOTE_TAG_LIST[1] in classes:
            self.tag_lists.append(el)
        if not _NOTE_CHROME_BLOCKS.isdisjoint(classes):
            self.chrome.append(el)

    def eyecatch_images(self) -> list[Element]:
        """``.o-noteEyecatch img[alt]``: each image once, in document order."""
        return _descendants_once(self.eyecatch_boxes, "img", lambda img: img.get("alt") is not None)

    def hashtag_links(self) -> list[Element]:
        """``ul.m-tagList a``: each link once, in document order."""
        return _descendants_once(self.tag_lists, "a", lambda _: True)


def _descendants_once(boxes: list[Element], tag: str, keep: Callable[[Element], bool]) -> list[Element]:
    # The boxes are in document order, so a box is either inside an earlier one (its
    # elements were seen already) or after it: concatenating keeps document order.
    seen: set[Element] = set()
    found: list[Element] = []
    for box in boxes:
        for el in box.iterdescendants(tag):
            if el not in seen and keep(el):
                seen.add(el)
                found.append(el)
    return found


# --- the body walk ---------------------------------------------------------------------


class _Ctx(NamedTuple):
    """What the walk knows at one point of the tree (block-level hints and inline state)."""

    kind: BlockKind | None = None
    level: int | None = None
    # Provenance of the text directly in this block, and the provenance its children inherit.
    attrs: Mapping[str, str] = _EMPTY_ATTRS
    group: Mapping[str, str] = _EMPTY_ATTRS
    in_text: bool = False
    pre: bool = False
    bold: bool = False
    anchor: Element | None = None

    # Positional construction: NamedTuple._replace is several times slower, and these run
    # for every <b> and <a>.
    def bolded(self) -> _Ctx:
        return _Ctx(self.kind, self.level, self.attrs, self.group, self.in_text, self.pre, True, self.anchor)

    def linked(self, anchor: Element) -> _Ctx:
        return _Ctx(self.kind, self.level, self.attrs, self.group, self.in_text, self.pre, self.bold, anchor)


_ROOT_CTX: Final = _Ctx()


class _Segment(NamedTuple):
    text: str
    bold: bool
    anchor: Element | None


# A _Segment made as its NamedTuple __new__ makes it, without that Python-level call: one
# per text node of every page.
_new_segment: Final = tuple.__new__


def _inline_segment(text: str, ctx: _Ctx) -> _Segment:
    """A text node outside <pre>, its runs of HTML whitespace collapsed to one space."""
    # The regex is slow on Japanese text, and most text has nothing to collapse.
    if "\n" in text or "  " in text or "\t" in text or "\r" in text or "\f" in text:
        text = _HTML_SPACE.sub(" ", text)
    return _new_segment(_Segment, (text, ctx.bold, ctx.anchor))


# A line's block made slot by slot (see model.slot_setters): one per line of every page.
_new_block: Final = object.__new__
_b_text, _b_kind, _b_level, _b_emphasis, _b_attrs = slot_setters(
    Block, "text", "kind", "heading_level", "emphasis", "attrs"
)


class _Run:
    """The inline text of one block, as lines of segments, until a block boundary ends it."""

    __slots__ = ("ctx", "lines")

    def __init__(self, ctx: _Ctx) -> None:
        self.ctx = ctx
        self.lines: list[list[_Segment]] = [[]]

    def add(self, text: str, ctx: _Ctx) -> None:
        if not ctx.pre:
            self.lines[-1].append(_inline_segment(text, ctx))
            return
        # Inside <pre> a newline is a line break, as <br> is elsewhere.
        first, *rest = text.split("\n")
        self.lines[-1].append(_Segment(first, ctx.bold, ctx.anchor))
        for part in rest:
            self.lines.append([_Segment(part, ctx.bold, ctx.anchor)])

    def flush(self, out: list[Block]) -> None:
        """Append the run's blocks (one per line with text) to ``out``."""
        if len(self.lines) == 1 and not self.lines[0]:
            return  # the common case at a block boundary: nothing since the last one
        for line in self.lines:
            raw = line[0].text if len(line) == 1 else "".join([seg.text for seg in line])
            # Most runs between block elements are layout whitespace: no need to clean those.
            if not raw.strip(_ASCII_SPACES) or not (text := clean_line(raw)):
                continue
            first = line[0]
            if len(line) == 1 or all(seg.bold == first.bold and seg.anchor is first.anchor for seg in line):
                # Every segment agrees, so which of them carry text (the costly question
                # below) cannot change the answer.
                bold, link = first.bold, first.anchor
            else:
                # Only segments with text count: a space outside the link or the bold does not
                # make a linked or bold line less so.
                solid = [seg for seg in line if clean_line(seg.text)]
                link = solid[0].anchor
                if not all(seg.anchor is link for seg in solid):
                    link = None
                bold = all(seg.bold for seg in solid)
            kind = self.ctx.kind
            attrs = self.ctx.attrs
            if link is not None:
                # A line that is one link is a link; in a list or a quote it keeps that kind.
                kind = kind or "link"
                attrs = MappingProxyType({**attrs, "href": link.get("href") or ""})
            block = _new_block(Block)
            _b_text(block, text)
            _b_kind(block, kind)
            _b_level(block, self.ctx.level if kind == "heading" else None)
            _b_emphasis(block, bold)
            _b_attrs(block, attrs)
            out.append(block)


_Stack: TypeAlias = list[tuple[Element | str | None, _Ctx]]


def _walk(roots: Sequence[Element], skip: frozenset[Element] = frozenset()) -> list[Block]:
    """The blocks of ``roots`` (read as siblings), leaving out the elements in ``skip``."""
    out: list[Block] = []
    run = _Run(_ROOT_CTX)
    # Items are elements, text, or None: the end of a block element (flush its text and
    # resume the parent's). lxml keeps the text after an element as that element's tail,
    # so tails are pushed as items of their own, in the parent's context.
    stack: _Stack = [(root, run.ctx) for root in reversed(roots)]
    pop = stack.pop
    while stack:
        node, ctx = pop()
        if node is None:
            if len(run.lines) == 1 and not run.lines[0]:
                run.ctx = ctx  # nothing to flush (most block ends): the empty run goes on
            else:
                run.flush(out)
                run = _Run(ctx)
        elif isinstance(node, str):
            if ctx.pre:
                run.add(node, ctx)
            else:
                run.lines[-1].append(_inline_segment(node, ctx))
        else:
            name = node.tag.lower()
            if name in _DROP or node in skip:
                continue
            if name == "br":
                run.lines.append([])
            elif name == "img":
                alt = clean_line(node.get("alt") or "")
                if alt and not ctx.in_text:
                    run.flush(out)
                    out.append(Block(text=alt, kind="image_alt", attrs=_source_attrs(node) or ctx.group))
                    run = _Run(run.ctx)
            elif name in _BLOCK:
                run.flush(out)
                inner = _enter_block(node, name, ctx)
                run = _Run(inner)
                stack.append((None, ctx))
                _push_contents(stack, node, inner)
            else:
                inner = ctx
                if name in ("b", "strong"):
                    inner = inner.bolded()
                elif name == "a" and ctx.anchor is None and node.get("href") is not None:
                    inner = inner.linked(node)
                _push_contents(stack, node, inner)
    run.flush(out)
    return out


def _push_contents(stack: _Stack, node: Element, ctx: _Ctx) -> None:
    """Push the node's text and children (each followed by its tail), last one first."""
    for child in reversed(node):
        if child.tail:
            stack.append((child.tail, ctx))
        # Comments and processing instructions are markup, not text; their tails are text.
        if isinstance(child.tag, str):
            stack.append((child, ctx))
    if node.text:
        stack.append((node.text, ctx))


def _enter_block(tag: Element, name: str, parent: _Ctx) -> _Ctx:
    attrs = _source_attrs(tag) or parent.group
    kind = _KIND_OF.get(name, parent.kind)
    level = parent.level
    if (heading := _HEADING_LEVEL.get(name)) is not None:
        kind, level = "heading", heading
    # Positional, as in _Ctx.bolded: kind, level, attrs, group, in_text, pre, bold, anchor.
    return _Ctx(
        kind,
        level,
        attrs,
        attrs if name in _GROUPING else parent.group,
        # A <figure> is a picture even inside a list item or a table cell.
        (parent.in_text or name in _TEXT_BLOCK) and name != "figure",
        parent.pre or name == "pre",
        parent.bold,
        parent.anchor,
    )


# --- page structure --------------------------------------------------------------------


def _fallback_body(
    page: _Landmarks, *, want_title: bool
) -> tuple[Element | None, Element | None, frozenset[Element], str]:
    """A page without note's body div: the best body element, and what to leave out of it.

    Returns the root, the page's own ``<h1>`` taken out of it as the title (when asked),
    the elements to skip (chrome, and that title), and where the body was looked for.
    """
    root = next((el for name in _FALLBACK_ROOTS if (el := page.fallback_roots.get(name)) is not None), None)
    if root is None:
        return None, None, frozenset(), "article, main or body"
    title = _generic_title(root) if want_title else None
    # Skipped rather than removed, so the tree is never modified. Chrome inside the title
    # stays part of the title, as it is searched for in the body only.
    inside_title = frozenset(title.iter()) if title is not None else frozenset()
    junk = {
        el
        for el in root.iterdescendants(etree.Element)
        if (el.tag in _FALLBACK_DROP or any(_NOTE_CHROME_CLASS.search(c) for c in _classes(el)))
        and el not in inside_title
    }
    if title is not None:
        # Taken out before the chrome goes: an article's <h1> often sits in its <header>.
        junk.add(title)
    return root, title, frozenset(junk), f"<{root.tag}>"


def _generic_title(root: Element) -> Element | None:
    """The first ``<h1>`` that is not site chrome (in an <article>, its <header> is its own)."""
    chrome = {"nav", "footer", "aside"} if root.tag == "article" else {"nav", "footer", "aside", "header"}
    for h1 in root.iterdescendants("h1"):
        if not any(parent.tag in chrome for parent in h1.iterancestors()):
            return h1
    return None


def _title_block(h1: Element | None) -> Block | None:
    text = _joined_text(h1) if h1 is not None else ""
    return Block(text=text, kind="title", attrs=_source_attrs(h1)) if h1 is not None and text else None


def _joined_text(el: Element) -> str:
    return " ".join(block.text for block in _walk([el]))


def _meta(page: _Landmarks, h1_title: str) -> ArticleMeta:
    jsonld = _jsonld_objects(page.ld_scripts)
    display_name = _author_name(jsonld) or _text_of(page.name)
    canonical = _canonical(page)
    url = _meta_content(page, "og:url") or canonical
    # `account` is the stable note urlname (as the API's user.urlname), not the display name,
    # so one article read from HTML and from the API lands under the same account.
    urlname = next((m.group(1) for s in (url, canonical) if s and (m := _URLNAME.search(s))), None)
    account = urlname or display_name
    key_sources = [url, canonical, _jsonld_page(jsonld)]
    note_key = next((m.group(1) for s in key_sources if s and (m := _NOTE_KEY.search(s))), None)
    title = (
        h1_title
        or _strip_account(_meta_content(page, "og:title"), display_name)
        or clean_text(str(_jsonld_field(jsonld, "headline") or ""))
        or _strip_account(_plain_text(page.title_tag) if page.title_tag is not None else "", display_name)
        or None
    )
    published_at = parse_timestamp(_jsonld_field(jsonld, "datePublished")) or (
        parse_timestamp(page.time.get("datetime")) if page.time is not None else None
    )
    hashtags = dict.fromkeys(t for a in page.hashtag_links() if (t := _text_of(a)))
    return ArticleMeta(
        title=title,
        note_key=note_key,
        url=url,
        account=account,
        author=display_name,
        published_at=published_at,
        hashtags=tuple(hashtags),
    )


def _strip_account(title: str | None, account: str | None) -> str:
    """``TITLE｜ACCOUNT`` (note's <title> and og:title) without the account part."""
    title = clean_text(title or "")
    if account and title.endswith(_TITLE_SEP + account):
        return title[: -len(_TITLE_SEP + account)].strip()
    return title.rpartition(_TITLE_SEP)[0].strip() or title


def _plain_text(el: Element) -> str:
    """The text under ``el``, leaving out scripts, styles, templates and ruby readings."""
    if any(parent.tag in _NOT_TEXT for parent in el.iterancestors()):
        return ""
    parts: list[str] = []
    # Tails are pushed as strings of their own: they are the parent's text, not the child's.
    stack: list[Element | str] = [el]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
            continue
        if node is not el and node.tag in _NOT_TEXT:
            continue
        if node.text and isinstance(node.tag, str):
            parts.append(node.text)
        for child in reversed(node):
            if child.tail:
                stack.append(child.tail)
            if isinstance(child.tag, str):
                stack.append(child)
    return "".join(parts)


def _jsonld_objects(scripts: list[Element]) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, ``@graph`` members included; broken scripts skipped."""
    found: list[dict[str, Any]] = []
    for script in scripts:
        try:
            # A script is raw text to libxml2: no child elements, all text in .text.
            data = loads(script.text or "")
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


def _meta_content(page: _Landmarks, prop: str) -> str | None:
    # Open Graph tags use property=, but name= is common enough in the wild to accept.
    el = next((m for m in page.metas if m.get("property") == prop), None)
    if el is None:
        el = next((m for m in page.metas if m.get("name") == prop), None)
    content = el.get("content") if el is not None else None
    return (content or "").strip() or None


def _canonical(page: _Landmarks) -> str | None:
    href = page.canonical.get("href") if page.canonical is not None else None
    return (href or "").strip() or None


def _text_of(el: Element | None) -> str:
    return _joined_text(el) if el is not None else ""


def _source_attrs(el: Element) -> Mapping[str, str]:
    """The element's ``id`` and ``name``: where in the page a block came from."""
    id_, name = el.get("id"), el.get("name")
    if id_ and name:  # note gives every body block both, set to the same uuid
        return MappingProxyType({"id": id_, "name": name})
    if id_ or name:
        return MappingProxyType({"id": id_} if id_ else {"name": name})
    return _EMPTY_ATTRS
