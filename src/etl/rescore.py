"""Keyphrase scores against the final corpus, computed again when a run changes it.

TF-IDF depends on every article, so the scores are computed from the table itself: the
result does not depend on which run or batch wrote an article (an incremental run equals
a full refresh).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from etl.keyphrases import score_table
from etl.threads import each
from etl.warehouse import Source, Warehouse

if TYPE_CHECKING:
    from etl.commit import RunState


def staged_sources(warehouse: Warehouse, state: RunState, name: str, part: str) -> list[Source]:
    """The run's staged rows of one table partition, one loader per batch (loaded lazily:
    a big partition is merged range by range and reads them once per range)."""

    def source(seq: int) -> Source:
        return lambda: _rows_of_batch(state.staging.get(warehouse, name, part, seq), seq, state.final_batch)

    return [source(seq) for seq in state.staged.get(part, [])]


def rescore_keyphrases(warehouse: Warehouse, state: RunState) -> None:
    """Merge the keyphrase partitions and score every row against the final corpus.

    TF-IDF depends on every article, so when a run changes the corpus all scores are
    computed again from the table itself: the result does not depend on which run or
    batch wrote an article (an incremental run equals a full refresh). Two passes over the
    partitions, neither holding more than one source or one range of articles at a time:
    the first counts document frequencies from two columns, the second merges and scores.
    """
    parts = sorted(set(warehouse.partitions("keyphrases")) | set(state.staged) | set(state.drop))

    # Document frequencies as Arrow tables: a corpus has millions of distinct phrases.
    # Every article's rows are in exactly one source (the old file, or the batch that
    # wrote it last), so the sources' counts add up; they are read one at a time.
    def count(part: str) -> tuple[pa.Table, int]:
        sums, n = _Sums("base_form", "df"), 0
        for table in _keyphrase_pairs(warehouse, state, part):
            # Each (article, base form) pair once: a base form's document frequency.
            pairs = table.group_by(["article_id", "base_form"], use_threads=False).aggregate([])
            sums.add(
                pairs.group_by("base_form", use_threads=False).aggregate([("article_id", "count")]),
                "article_id_count",
            )
            n += len(pc.unique(table["article_id"]))
        return sums.total(), n

    doc_freq = _Sums("base_form", "df")
    articles = 0
    for total, n in each(count, parts):  # partitions on threads, added up in order
        doc_freq.add(total, "df")
        articles += n
    df_table = doc_freq.total()
    written = pa.array(sorted(set(state.written.values())), pa.string())
    run_phrases = _Sums("base_form", "score", keep_first="phrase")

    def score(table: pa.Table) -> pa.Table:
        table = table.set_column(
            table.schema.get_field_index("score"), "score", score_table(table, df_table, articles)
        )
        mine = table.filter(pc.is_in(table["article_id"], value_set=written))
        if mine.num_rows:
            # One score per article and phrase (its rows in several segments share it).
            per_article = mine.group_by(["article_id", "base_form"], use_threads=False).aggregate(
                [("score", "max"), ("phrase", "min")]
            )
            totals = per_article.group_by("base_form", use_threads=False).aggregate(
                [("score_max", "sum"), ("phrase_min", "min")]
            )
            with adding:  # partitions are scored on threads
                run_phrases.add(totals, "score_max_sum", "phrase_min_min")
        return table

    def merge(part: str) -> None:
        warehouse.merge_partition(
            "keyphrases",
            part,
            staged_sources(warehouse, state, "keyphrases", part),
            state.drop.get(part, set()),
            transform=score,
        )

    adding = threading.Lock()
    each(merge, parts)
    state.top_keyphrases = _top_phrases(run_phrases.total())


def _keyphrase_pairs(warehouse: Warehouse, state: RunState, part: str) -> Iterator[pa.Table]:
    """The ``article_id`` and ``base_form`` of a keyphrase partition's rows after this run,
    source by source: the old file without the replaced articles, then each staged batch."""
    drop = state.drop.get(part, set())
    old = warehouse.read_partition("keyphrases", part, ["article_id", "base_form"])
    if old is not None:
        if drop:
            old = old.filter(
                pc.invert(pc.is_in(old["article_id"], value_set=pa.array(sorted(drop), pa.string())))
            )
        yield old
    del old
    for load in staged_sources(warehouse, state, "keyphrases", part):
        yield load().select(["article_id", "base_form"])


class _Sums:
    """Sums of a value per key over many small (key, value) tables, compacted as they come
    so that memory holds about one row per distinct key.

    >>> s = _Sums("k", "n")
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


def _rows_of_batch(table: pa.Table, seq: int, final_batch: Mapping[str, int]) -> pa.Table:
    """The staged rows of one batch whose article was not taken over by a later batch."""
    ids = pc.unique(table["article_id"]).to_pylist()
    gone = [aid for aid in ids if final_batch.get(aid) != seq]
    if not gone:
        return table
    return table.filter(pc.invert(pc.is_in(table["article_id"], value_set=pa.array(gone, pa.string()))))
