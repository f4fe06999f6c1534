"""The end of a run's merge as jobs: one per table partition, run wherever the executor runs.

:func:`finish_run <etl.commit.finish_run>` describes each partition to merge as a
:class:`MergeJob`, plain picklable data: where the warehouse is, the staged rows of each
batch (packed in memory, or where they were parked on disk), the article ids to drop, and
for ``keyphrases`` the corpus statistics to score against. :func:`run_merge` does one job
and returns what the run must add up (the scores of the run's own keyphrases). An executor
with worker processes merges partitions side by side (:meth:`etl.executors.Executor.each`);
one without merges them here, one after the other. Either way each partition is written by
exactly one job.

>>> import tempfile
>>> from etl.warehouse import Warehouse, pack_table, to_table
>>> wh = Warehouse(tempfile.mkdtemp())
>>> job = MergeJob(wh, "r", "runs", "all", (Staged(0, pack_table(to_table("runs", []))),))
>>> run_merge(job), wh.read("runs").num_rows
([], 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from etl.keyphrases import score_table
from etl.warehouse import Packed, Source, Warehouse, unpack_table

#: Where one batch's rows of a partition were parked on disk: (file, offset, length, size).
Parked = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Staged:
    """One batch's staged rows of a partition, and its articles a later batch took over.

    ``packed`` holds the rows when they are in memory; ``parked`` says where they are on
    disk otherwise; with neither, they are in the per-table layout of
    :meth:`Warehouse.read_staged`.
    """

    seq: int
    packed: Packed | None = None
    parked: Parked | None = None
    gone: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        """Bytes of the rows before compression, when known (to merge big partitions first)."""
        if self.packed is not None:
            return self.packed[1]
        return self.parked[3] if self.parked is not None else 0

    def load(self, warehouse: Warehouse, run_id: str, name: str, part: str) -> pa.Table:
        """The rows, without those of articles taken over by a later batch."""
        if self.packed is not None:
            table = unpack_table(self.packed)
        elif self.parked is not None:
            table = warehouse.read_staged_at(run_id, *self.parked)
        else:
            table = warehouse.read_staged(run_id, name, part, self.seq)
        if not self.gone or not table.num_rows:
            return table
        gone = pa.array(sorted(self.gone), pa.string())
        return table.filter(pc.invert(pc.is_in(table["article_id"], value_set=gone)))


@dataclass(frozen=True, slots=True)
class Scoring:
    """What scoring keyphrase rows against the final corpus needs: each base form's
    document frequency, the number of articles, and the articles this run wrote (whose
    scores make the run's top keyphrases)."""

    doc_freq: pa.Table
    articles: int
    written: pa.Array

    def score(self, table: pa.Table) -> tuple[pa.Table, pa.Table | None]:
        """``table`` with every row's score computed again, and the run's articles' phrase
        totals in it (one score per article and phrase, summed per base form), if any.

        >>> s = Scoring(pa.table({"base_form": ["x"], "df": [1]}), 1, pa.array(["a"]))
        >>> t = pa.table({"article_id": ["a"], "base_form": ["x"], "phrase": ["X"], "count": [1],
        ...               "marked": [0], "score": pa.array([0.0], pa.float32())})
        >>> scored, totals = s.score(t)
        >>> scored["score"].to_pylist(), totals.column_names
        ([1.0], ['base_form', 'score_max_sum', 'phrase_min_min'])
        """
        table = table.set_column(
            table.schema.get_field_index("score"), "score", score_table(table, self.doc_freq, self.articles)
        )
        mine = table.filter(pc.is_in(table["article_id"], value_set=self.written))
        if not mine.num_rows:
            return table, None
        # One score per article and phrase (its rows in several segments share it).
        per_article = mine.group_by(["article_id", "base_form"], use_threads=False).aggregate(
            [("score", "max"), ("phrase", "min")]
        )
        totals = per_article.group_by("base_form", use_threads=False).aggregate(
            [("score_max", "sum"), ("phrase_min", "min")]
        )
        return table, totals


@dataclass(frozen=True, slots=True)
class MergeJob:
    """Merge one table partition: its old rows minus ``drop``, plus the ``staged`` rows."""

    warehouse: Warehouse
    run_id: str
    name: str
    part: str
    staged: Sequence[Staged]
    drop: frozenset[str] = frozenset()
    scoring: Scoring | None = None

    @property
    def size(self) -> int:
        """Bytes of staged rows, before compression, that the job merges."""
        return sum(s.size for s in self.staged)


def run_merge(job: MergeJob) -> list[pa.Table]:
    """Do one merge job; for ``keyphrases``, return the run's phrase totals it scored
    (one table per range of articles merged, in order).

    Module-level and over plain data, so a process pool can run it.
    """
    wh = job.warehouse

    def source(staged: Staged) -> Source:
        return lambda: staged.load(wh, job.run_id, job.name, job.part)

    totals: list[pa.Table] = []
    transform = None
    if job.scoring is not None:
        scoring = job.scoring

        def transform(table: pa.Table) -> pa.Table:
            scored, found = scoring.score(table)
            if found is not None:
                totals.append(found)
            return scored

    wh.merge_partition(
        job.name, job.part, [source(s) for s in job.staged], set(job.drop), transform=transform
    )
    return totals
