"""One input per article: when several inputs are the same article, which one is kept.

>>> resolve_duplicates([])
([], [])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from etl.formats import FORMAT_PRIORITY
from etl.rejects import Reject


class Article(Protocol):
    """What duplicate resolution needs to know of a processed input."""

    @property
    def article_id(self) -> str: ...
    @property
    def source_path(self) -> str: ...
    @property
    def source_format(self) -> str: ...
    @property
    def content_sha256(self) -> str: ...


A = TypeVar("A", bound=Article)


def _rank(source_format: str, source_path: str) -> tuple[int, str]:
    return (-FORMAT_PRIORITY[source_format], source_path)


def resolve_duplicates(
    results: Sequence[A], existing: Mapping[str, tuple[str, str]] | None = None
) -> tuple[list[A], list[Reject]]:
    """Keep one input per article id: the richer format, then the first path.

    ``existing`` maps article ids already in the warehouse to the ``(source_path,
    source_format)`` that wrote them, for inputs still present and not reprocessed now; an
    existing winner keeps its article and the newcomer becomes the duplicate.

    >>> from types import SimpleNamespace as A
    >>> a = A(article_id="n1", source_path="raw/n1.txt", source_format="text", content_sha256="0")
    >>> b = A(article_id="n1", source_path="raw/n1.json", source_format="note_api", content_sha256="1")
    >>> kept, rejects = resolve_duplicates([a, b])
    >>> [k.source_path for k in kept], rejects[0].error_type
    (['raw/n1.json'], 'duplicate')
    """
    existing = existing or {}
    best: dict[str, tuple[tuple[int, str], str]] = {}  # article id -> (rank, winning path)
    for aid, (path, fmt) in existing.items():
        best[aid] = (_rank(fmt, path), path)
    for r in results:
        rank = _rank(r.source_format, r.source_path)
        if r.article_id not in best or rank < best[r.article_id][0]:
            best[r.article_id] = (rank, r.source_path)
    kept = [r for r in results if best[r.article_id][1] == r.source_path]
    rejects = [
        Reject(
            r.source_path,
            r.content_sha256,
            "duplicate",
            f"same article {r.article_id} as {best[r.article_id][1]}, which is kept",
        )
        for r in results
        if best[r.article_id][1] != r.source_path
    ]
    return kept, rejects
