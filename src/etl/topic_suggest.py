"""Taxonomy entries proposed for a corpus: ``note-etl topics suggest``.

A user starting on a new account has no taxonomy that fits it. This module reads the
warehouse's keyphrases, keeps each article's strongest ones, and groups the phrases that
occur in the same articles: each group becomes a proposed topic whose keywords are the
group's phrases, with the articles it would tag as examples. The result is YAML in the
format of ``config/topics.yaml``; nothing is applied: the user edits it and passes it with
``--taxonomy`` or copies entries into their taxonomy.

Phrases the current taxonomy already matches are left out, so a second suggestion after an
edit proposes only what is still uncovered.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from etl.errors import WarehouseError
from etl.keyphrases import counts_something
from etl.subjects import SubjectMatcher
from etl.taxonomy import Taxonomy
from etl.warehouse import Warehouse

#: Phrases per article that count as its strongest.
PER_ARTICLE: Final = 15
#: A phrase that joins a group shares at least this share of its articles with the group's head.
MIN_JACCARD: Final = 0.5
#: Keywords per proposed topic.
MAX_KEYWORDS: Final = 8
#: Example articles per proposed topic.
MAX_EXAMPLES: Final = 3
# A phrase in more than this share of the articles is the account's everyday vocabulary
# (its own name, 自治体 for a city), not a topic that sets some articles apart.
_MAX_SHARE: Final = 0.5
_ASCII_ID: Final = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One proposed topic: its keywords (strongest first) and the articles it would tag."""

    id: str
    label: str
    keywords: tuple[str, ...]
    articles: tuple[tuple[str, str], ...]  # (article_id, title), best first
    article_count: int


def suggest_topics(
    article_phrases: Mapping[str, Mapping[str, float]],
    spellings: Mapping[str, str],
    titles: Mapping[str, str],
    *,
    covered: frozenset[str] = frozenset(),
    min_articles: int = 2,
    max_topics: int = 15,
) -> list[Suggestion]:
    """Group the strongest keyphrases of a corpus by the articles they share.

    ``article_phrases`` maps an article id to ``{base_form: score}``; ``spellings`` gives a
    base form's spelling; ``covered`` lists base forms the taxonomy already matches. A phrase
    counts when it is among an article's :data:`PER_ARTICLE` best in ``min_articles`` or
    more articles, and in at most half of them. Groups are built greedily from the
    strongest phrase down: a phrase joins a group when it shares at least
    :data:`MIN_JACCARD` of its articles with the group's first phrase.

    >>> docs = {"a": {"冷凍スープ": 1.0, "規格外野菜": 0.8}, "b": {"冷凍スープ": 0.9, "規格外野菜": 0.7},
    ...         "c": {"朝市": 1.0}, "d": {"朝市": 0.9}, "e": {"漁港": 1.0}}
    >>> [(s.label, s.keywords) for s in suggest_topics(docs, {}, {})]
    [('冷凍スープ', ('冷凍スープ', '規格外野菜')), ('朝市', ('朝市',))]
    """
    docs: dict[str, set[str]] = defaultdict(set)
    strength: dict[str, float] = defaultdict(float)
    for article_id, scores in article_phrases.items():
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:PER_ARTICLE]
        for base, score in best:
            docs[base].add(article_id)
            strength[base] += score
    n_articles = max(1, len(article_phrases))
    candidates = [
        base
        for base in sorted(strength, key=lambda b: (-strength[b], b))
        if min_articles <= len(docs[base]) <= max(min_articles, _MAX_SHARE * n_articles)
        and base not in covered
        and not counts_something(spellings.get(base, base))  # 朝6時 is a time, not a topic
    ]
    assigned: set[str] = set()
    out: list[Suggestion] = []
    for head in candidates:
        if head in assigned:
            continue
        group = [head]
        assigned.add(head)
        for other in candidates:
            if other in assigned or len(group) >= MAX_KEYWORDS:
                continue
            shared = len(docs[head] & docs[other])
            if shared and shared / len(docs[head] | docs[other]) >= MIN_JACCARD:
                group.append(other)
                assigned.add(other)
        members = set(group)
        weight: dict[str, float] = defaultdict(float)
        for base in group:
            for article_id in docs[base]:
                weight[article_id] += article_phrases[article_id].get(base, 0.0)
        ranked = sorted(weight, key=lambda a: (-weight[a], a))
        label = spellings.get(head, head)
        out.append(
            Suggestion(
                id=_topic_id(label, len(out) + 1),
                label=label,
                keywords=tuple(spellings.get(b, b) for b in group),
                articles=tuple((a, titles.get(a) or a) for a in ranked[:MAX_EXAMPLES]),
                article_count=len({a for b in members for a in docs[b]}),
            )
        )
        if len(out) >= max_topics:
            break
    return out


def _topic_id(label: str, n: int) -> str:
    """A lower_snake_case id: the label if it is ASCII (GSS -> gss), else ``suggested_NN``."""
    slug = _ASCII_ID.sub("_", label.lower()).strip("_")
    if label.isascii() and slug and slug[0].isalpha():
        return slug
    return f"suggested_{n:02d}"


def suggestions_yaml(suggestions: Sequence[Suggestion], *, source: str) -> str:
    """The proposals as a taxonomy file (the format of ``config/topics.yaml``), with comments.

    >>> print(suggestions_yaml([Suggestion("gss", "GSS", ("GSS",), (("a1", "題"),), 2)], source="wh"))
    ... # doctest: +ELLIPSIS
    # Topics proposed for the articles in wh ...
    taxonomy_version: "suggested"
    topics:
      # 2 articles, e.g. 「題」 (a1)
      - id: gss
        label_ja: "GSS"
        keywords: ["GSS"]
    <BLANKLINE>
    """
    lines = [
        f"# Topics proposed for the articles in {source} by `note-etl topics suggest`.",
        "# Nothing is applied: keep the entries you want, rename ids and labels, merge or split",
        "# keywords, then run with `--taxonomy THIS_FILE` or copy the entries into config/topics.yaml.",
        "# Each entry groups keyphrases that occur in the same articles; the comment above it",
        "# names the articles it would tag.",
        'taxonomy_version: "suggested"',
        "topics:",
    ]
    if not suggestions:
        lines[-1] = "topics: []  # no phrase is shared by enough articles yet"
    for s in suggestions:
        examples = ", ".join(f"「{_one_line(title)}」 ({aid})" for aid, title in s.articles)
        lines += [
            f"  # {s.article_count} article{'s' if s.article_count != 1 else ''}, e.g. {examples}",
            f"  - id: {s.id}",
            f"    label_ja: {_quoted(s.label)}",
            f"    keywords: [{', '.join(_quoted(k) for k in s.keywords)}]",
            "",
        ]
    return "\n".join(lines) + ("\n" if not suggestions else "")


def _quoted(text: str) -> str:
    # A JSON string is a YAML double-quoted scalar: safe for any phrase (: # [ ] and quotes).
    return json.dumps(text, ensure_ascii=False)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:60]


def suggest_from_warehouse(
    warehouse: str, taxonomy: Taxonomy | None = None, *, min_articles: int = 2, max_topics: int = 15
) -> list[Suggestion]:
    """Read the warehouse's keyphrases and articles and propose topics (see :func:`suggest_topics`).

    Raises :class:`~etl.errors.WarehouseError` when the warehouse holds no keyphrases.
    """
    wh = Warehouse(warehouse)
    phrases = wh.read("keyphrases", ["article_id", "base_form", "phrase", "score"])
    if phrases is None or phrases.num_rows == 0:
        raise WarehouseError(f"{warehouse}: no keyphrases yet; run `note-etl run` into it first")
    articles = wh.read("articles", ["article_id", "title"])
    titles = {
        r["article_id"]: r["title"] or "" for r in (articles.to_pylist() if articles is not None else [])
    }
    per_article: dict[str, dict[str, float]] = defaultdict(dict)
    spelling_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in phrases.to_pylist():
        scores = per_article[row["article_id"]]
        base = row["base_form"]
        scores[base] = max(scores.get(base, 0.0), float(row["score"]))
        spelling_counts[base][row["phrase"]] += 1
    spellings = {b: max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] for b, c in spelling_counts.items()}
    covered: frozenset[str] = frozenset()
    if taxonomy is not None:
        matcher = SubjectMatcher.from_taxonomy(taxonomy)
        covered = frozenset(b for b, p in spellings.items() if matcher.match(p))
    return suggest_topics(
        per_article, spellings, titles, covered=covered, min_articles=min_articles, max_topics=max_topics
    )
