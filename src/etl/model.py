"""The block model every parser produces, and the records later stages add.

Parsers turn one input format into a :class:`ParsedDocument`: article metadata plus the
blocks of the page in reading order. Format knowledge stops there; every later stage
works on these plain, immutable records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal

BlockKind = Literal[
    "title",
    "heading",
    "paragraph",
    "question",
    "speaker_label",
    "caption",
    "image_alt",
    "profile",
    "link",
    "list_item",
    "quote",
    "boilerplate",
]
BLOCK_KINDS: Final[frozenset[str]] = frozenset(BlockKind.__args__)  # type: ignore[attr-defined]

SourceFormat = Literal["text", "html", "note_api"]
SpeakerRole = Literal["interviewee", "interviewer", "narrator", "author", "none"]
SPEAKER_ROLES: Final[frozenset[str]] = frozenset(SpeakerRole.__args__)  # type: ignore[attr-defined]
# What kind of article it is, as a whole: who speaks by default follows from it.
ArticleFormat = Literal[
    "seminar", "qa_labeled", "qa_unlabeled", "dialogue", "roundtable", "essay", "announcement", "other"
]
ARTICLE_FORMATS: Final[frozenset[str]] = frozenset(ArticleFormat.__args__)  # type: ignore[attr-defined]

FACETS: Final[tuple[str, ...]] = (
    "intro",
    "career",
    "current_work",
    "motivation",
    "appeal",
    "culture",
    "message",
    "other",
)

_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """One block of a page as the parser saw it.

    ``kind`` is the parser's structural hint (an ``<h2>`` is a heading, a ``<figcaption>``
    a caption); ``None`` means the markup says nothing and the classifier decides.
    ``emphasis`` is true when the whole block is bold (``<b>``/``<strong>``), which note
    editors use for questions and speaker labels.

    >>> Block(text="現在の業務について", kind="heading", heading_level=3).kind
    'heading'
    """

    text: str
    kind: BlockKind | None = None
    heading_level: int | None = None
    emphasis: bool = False
    attrs: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleMeta:
    """What the source says about the article besides its blocks.

    >>> ArticleMeta(title="タイトル").note_key is None
    True
    """

    title: str | None = None
    note_key: str | None = None
    url: str | None = None
    account: str | None = None
    author: str | None = None  # the display name the page shows for the writer or account
    published_at: datetime | None = None
    hashtags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedDocument:
    """A parser's output: format, metadata and blocks in reading order.

    >>> ParsedDocument(source_format="text", meta=ArticleMeta(), blocks=()).blocks
    ()
    """

    source_format: SourceFormat
    meta: ArticleMeta
    blocks: tuple[Block, ...]


def slot_setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of a slotted dataclass's fields ``names``, which must be all its fields.

    A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__``,
    looked up per field; a stage making thousands of records fills ``object.__new__(cls)``
    with these setters instead, for about half the cost, and the same record.

    >>> set_text, set_kind, set_level, set_emphasis, set_attrs = slot_setters(
    ...     Block, "text", "kind", "heading_level", "emphasis", "attrs")
    >>> b = object.__new__(Block)
    >>> for setter, value in zip((set_text, set_kind, set_level, set_emphasis, set_attrs),
    ...                          ("題", "title", None, False, _EMPTY)):
    ...     setter(b, value)
    >>> b == Block(text="題", kind="title")
    True
    """
    wanted = sorted(f.name for f in fields(cls))
    if sorted(names) != wanted:
        raise TypeError(f"{cls.__name__} has the fields {wanted}, not {sorted(names)}")
    return tuple(cls.__dict__[name].__set__ for name in names)
