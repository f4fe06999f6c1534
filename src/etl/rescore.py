"""Keyphrase scores against the final corpus, computed again when a run changes it.

TF-IDF depends on every article, so the scores are computed from the table itself: the
result does not depend on which run or batch wrote an article (an incremental run equals
a full refresh).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from etl.merges import MergeJob, Scoring, Staged
from etl.threads import each
from etl.warehouse import Warehouse

if TYPE_CHECKING:
    from etl.commit import RunState


def merge_job(
    warehouse: Warehouse,
    state: RunState,
    name: str,
    part: str,
    gone: Mapping[int, frozenset[str]],
    scoring: Scoring | None = None,
) -> MergeJob:
    """The job that merges one table partition: the run's staged rows of it, one per batch
    (with ``gone``, the articles of each batch that a later batch took over), and the
    article ids to drop."""
    staged = []
    for seq in state.staged.get(part, []):
        packed, parked = state.staging.where(name, part, seq)
        staged.append(Staged(seq, packed, parked, gone.get(seq, frozenset())))
    drop = frozenset(state.drop.get(part, ()))
    return MergeJob(warehouse, state.run_id, name, part, tuple(staged), drop, scoring)


def doc_freq_of(table: pa.Table) -> tuple[pa.Table, int]:
    """The document frequency of each base form in keyphrase rows, and their articles.

    >>> df, n = doc_freq_of(pa.table({"article_id": ["a", "a", "b"], "base_form": ["x", "x", "x"]}))
    >>> df.to_pydict(), n
    ({'base_form': ['x'], 'df': [2]}, 2)
    """
    # Each (article, base form) pair once: a base form's document frequency.
    pairs = table.group_by(["article_id", "base_form"], use_threads=False).aggregate([])
    counts = pairs.group_by("base_form", use_threads=False).aggregate([("article_id", "count")])
    return counts.rename_columns(["base_form", "df"]), len(pc.unique(table["article_id"]))


class Rescore:
    """The keyphrase partitions to merge, each scored against the final corpus.

    TF-IDF depends on every article, so when a run changes the corpus all scores are
    computed again from the table itself: the result does not depend on which run or
    batch wrote an article (an incremental run equals a full refresh). The document
    frequencies of the run's staged rows were counted batch by batch as they were staged
    (:attr:`RunState.doc_freq`); those of the rows kept from the warehouse are counted
    here, one old file at a time. :meth:`jobs` are the partitions' merge jobs (each holds
    no more than one range of articles at a time, and may run in another process), and
    :meth:`add` takes back the run's phrase totals each found.
    """

    def __init__(self, warehouse: Warehouse, state: RunState) -> None:
        self.warehouse, self.state = warehouse, state
        old = warehouse.partitions("keyphrases")
        self.parts = sorted(set(old) | set(state.staged) | set(state.drop))
        doc_freq = Sums("base_form", "df")
        doc_freq.add(state.doc_freq.total(), "df")
        articles = state.doc_articles
        # Every article's rows are in exactly one source: the old file, or the batch that
        # wrote it last. A batch's rows were counted as it was staged, so the rows of its
        # articles that a later batch took over are counted again here, to be taken back.
        for (part, seq), ids in sorted(state.taken_over.items()):
            staged = state.staging.get(warehouse, "keyphrases", part, seq)
            counts, n = doc_freq_of(
                staged.filter(pc.is_in(staged["article_id"], value_set=pa.array(sorted(ids), pa.string())))
            )
            doc_freq.add(counts.set_column(1, "df", pc.negate(counts["df"])), "df")
            articles -= n
        for total, n in each(self._count_old, old):  # partitions on threads, added up in order
            doc_freq.add(total, "df")
            articles += n
        self.df_table = doc_freq.total()
        self.articles = articles
        self.written = pa.array(sorted(set(state.written.values())), pa.string())
        self.scoring = Scoring(self.df_table, articles, self.written)
        self.run_phrases = Sums("base_form", "score", keep_first="phrase")

    def _count_old(self, part: str) -> tuple[pa.Table, int]:
        """Document frequencies of the rows an old partition keeps (without dropped articles)."""
        drop = self.state.drop.get(part, set())
        old = self.warehouse.read_partition("keyphrases", part, ["article_id", "base_form"])
        if old is None:
            return Sums("base_form", "df").total(), 0
        if drop:
            old = old.filter(
                pc.invert(pc.is_in(old["article_id"], value_set=pa.array(sorted(drop), pa.string())))
            )
        return doc_freq_of(old)

    def jobs(self, gone: Mapping[int, frozenset[str]]) -> list[MergeJob]:
        """One merge job per keyphrase partition, every row scored against the final corpus."""
        return [
            merge_job(self.warehouse, self.state, "keyphrases", part, gone, self.scoring)
            for part in self.parts
        ]

    def add(self, totals: Sequence[pa.Table]) -> None:
        """Add the run's phrase totals that one partition's merge found (:func:`run_merge`)."""
        for table in totals:
            self.run_phrases.add(table, "score_max_sum", "phrase_min_min")

    def done(self) -> None:
        """Record the run's top keyphrases, once every partition is merged."""
        self.state.top_keyphrases = _top_phrases(self.run_phrases.total())


class Sums:
    """Sums of a value per key over many small (key, value) tables, compacted as they come
    so that memory holds about one row per distinct key.

    >>> s = Sums("k", "n")
    >>> s.add(pa.table({"k": ["a", "b"], "c": [1, 2]}), "c")
    >>> for _ in range(40):  # compacted on the way
    ...     s.add(pa.table({"k": ["a"], "c": [3]}).group_by("k").aggregate([("c", "sum")]), "c_sum")
    >>> s.total().sort_by("k").to_pydict()
    {'k': ['a', 'b'], 'n': [121, 2]}
    """

    def __init__(self, key: str, value: str, *, keep_first: str | None = None) -> None:
        self.key, self.value, self.keep_first = key, value, keep_first
        self._tables: list[pa.Table] = []

    def add(self, table: pa.Table, value: str, kept: str | None = None) -> None:
        """Add the key column and the ``value`` column (and the ``kept`` one) of ``table``."""
        table = table.select([self.key, value, *([kept] if kept else [])])
        table = table.rename_columns([self.key, self.value, *([self.keep_first] if self.keep_first else [])])
        # Nullable fields: a compacted total and fresh group-by results must concatenate.
        self._tables.append(table.cast(pa.schema([pa.field(f.name, f.type) for f in table.schema])))
        if len(self._tables) >= 32:
            self._tables = [self.total()]

    def total(self) -> pa.Table:
        """One row per key: the summed value (and the smallest kept value)."""
        names = [self.key, self.value] + ([self.keep_first] if self.keep_first else [])
        if not self._tables:
            return pa.table({n: pa.array([], pa.int64() if n == self.value else pa.string()) for n in names})
        aggs = [(self.value, "sum")] + ([(self.keep_first, "min")] if self.keep_first else [])
        out = pa.concat_tables(self._tables).group_by(self.key, use_threads=False).aggregate(aggs)
        columns = {self.key: out[self.key], self.value: out[f"{self.value}_sum"]}
        if self.keep_first:
            columns[self.keep_first] = out[f"{self.keep_first}_min"]
        return pa.table(columns)


def _top_phrases(total: pa.Table, n: int = 20) -> list[tuple[str, float]]:
    """The run's top keyphrases: scores summed over its articles, so a phrase that ranks
    high in many articles comes first (each article's best phrase scores 1.0)."""
    top = total.sort_by([("score", "descending"), ("phrase", "ascending")]).slice(0, n)
    return [
        (phrase, round(score, 4))
        for phrase, score in zip(top["phrase"].to_pylist(), top["score"].to_pylist(), strict=True)
    ]
