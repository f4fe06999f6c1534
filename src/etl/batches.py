"""A batch of inputs: read at the edge, analysed, and turned into validated contract tables.

This is the unit of work an executor runs (in this process, a worker process or a Dask
worker): :func:`run_job` reads each input and the metadata next to it, analyses it, and
builds and checks the batch's tables there, so the process that commits only stages them.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl import PIPELINE_VERSION
from etl.analysis import Analyzer, ArticleRows, Columns
from etl.discovery import source_name
from etl.duplicates import resolve_duplicates
from etl.errors import InputError
from etl.formats import format_of
from etl.reading import InputRoots, decode, read_bytes
from etl.rejects import Reject, reject_of
from etl.schemas import keyphrase_rows
from etl.sidecars import sidecar_fetched_at, sidecar_path
from etl.timing import NO_TIMER, StageTimer
from etl.validation import validate_tables
from etl.warehouse import Packed, pack_table, partition_of


@dataclass(frozen=True, slots=True)
class BatchJob:
    """One batch of a run's inputs, with what the warehouse already knows of them.

    ``known`` maps each input the warehouse has written to its (content hash, pipeline
    version): an unchanged input is skipped unless ``full_refresh``.

    >>> BatchJob(0, ("raw/a.txt",), {}, False, "run-1").paths
    ('raw/a.txt',)
    """

    number: int
    paths: tuple[str, ...]
    known: Mapping[str, tuple[str, str]]
    full_refresh: bool
    run_id: str


@dataclass(slots=True)
class BatchResult:
    """What one batch of inputs produced: articles, rejects, and inputs skipped as unchanged."""

    articles: list[ArticleRows] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # The articles' rows as validated contract tables, once prepare_batch has run (in the
    # worker that processed the batch); each ArticleRows then keeps only summary rows.
    tables: dict[str, pa.Table] | None = None
    number: int = 0
    #: The tables split by partition and packed for staging (:func:`pack_parts`), done
    #: where the batch was processed; ``tables`` is then dropped, so the process that
    #: commits receives compressed bytes and only stores them.
    packed: dict[tuple[str, str], Packed] | None = None


def run_job(analyzer: Analyzer, job: BatchJob, timer: StageTimer = NO_TIMER) -> BatchResult:
    """Process a batch and build its validated tables: what every executor runs.

    >>> import tempfile, os
    >>> from etl.analysis import EtlOptions
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "a.txt"); _ = open(p, "w").write("題\\n本文です。")
    >>> done = run_job(Analyzer(EtlOptions()), BatchJob(0, (p,), {}, False, "r"))
    >>> sorted(done.packed or {})[:2], done.tables is None
    ([('articles', 'undated'), ('keyphrases', 'undated')], True)
    """
    batch = process_batch(analyzer, job.paths, job.known, full_refresh=job.full_refresh)
    with timer.stage("tables"):
        result = prepare_batch(batch, job.run_id, timer)
        assert result.tables is not None
        result.packed = pack_parts(result.tables, result.articles)
        result.tables = None
    result.number = job.number
    return result


def pack_parts(
    tables: Mapping[str, pa.Table], articles: Sequence[ArticleRows]
) -> dict[tuple[str, str], Packed]:
    """A batch's tables split by partition (each row goes where its article goes) and packed.

    Rows keep their batch order. ``articles`` name every article of the tables (others,
    duplicates not in the tables, are ignored).

    >>> pack_parts(prepare_batch(BatchResult(), "run").tables or {}, [])
    {}
    """
    part_of = {r.article_id: partition_of(r.published_at) for r in articles}
    if "articles" not in tables or not tables["articles"].num_rows:
        return {}
    # Every table gets a piece in each of the batch's partitions, empty or not: the merge
    # reads each table's pieces of every partition the batch staged.
    parts = sorted({part_of[aid] for aid in tables["articles"]["article_id"].to_pylist()})
    code = {part: k for k, part in enumerate(parts)}
    out: dict[tuple[str, str], Packed] = {}
    for name, table in tables.items():
        if len(parts) == 1:
            out[(name, parts[0])] = pack_table(table)
            continue
        ids = pc.unique(table["article_id"])
        id_codes = np.array([code[part_of[aid]] for aid in ids.to_pylist()], dtype=np.int64)
        row_codes = id_codes[pc.index_in(table["article_id"], value_set=ids).to_numpy(zero_copy_only=False)]
        # The rows grouped by partition at once (a stable sort keeps their batch order),
        # then each partition a slice: one copy of the table, not a filter per partition.
        order = np.argsort(row_codes, kind="stable")
        bounds = np.searchsorted(row_codes[order], np.arange(len(parts) + 1))
        grouped = table.take(pa.array(order))
        for k, part in enumerate(parts):
            out[(name, part)] = pack_table(grouped.slice(bounds[k], bounds[k + 1] - bounds[k]))
    return out


def process_batch(
    analyzer: Analyzer,
    paths: Sequence[str],
    known: Mapping[str, tuple[str, str]] | None = None,
    *,
    full_refresh: bool = False,
    on_done: Callable[[str], None] | None = None,
) -> BatchResult:
    """Read and analyse inputs; never raises for a bad input (it becomes a reject).

    ``known`` maps source paths to the (content hash, pipeline version) already written;
    an input whose hash and version are unchanged is skipped unless ``full_refresh``.

    >>> import tempfile, os
    >>> from etl.analysis import EtlOptions
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "a.txt"); _ = open(p, "w").write("")
    >>> process_batch(Analyzer(EtlOptions()), [p]).rejects[0].error_type
    'empty_article'
    """
    known = known or {}
    out = BatchResult()
    roots = InputRoots.of(analyzer.options.input_roots)  # resolved once for the batch
    timer = analyzer.timer
    for path in paths:
        sha: str | None = None
        name = path
        try:
            # The name written to the tables; the file is read by its own path.
            name = source_name(path)
            # A folder's own reason (unreadable) comes before its name's.
            fmt = format_of(name) if "://" in path or not os.path.isdir(path) else None
            with timer.stage("read"):
                data = read_bytes(path, max_bytes=analyzer.options.max_bytes, roots=roots)
                sha = hashlib.sha256(data).hexdigest()
            if not full_refresh and known.get(name) == (sha, PIPELINE_VERSION):
                out.unchanged.append(name)
                continue
            with timer.stage("read"):
                # Fetched API answers have a <key>.meta.json sidecar: read here, at the edge.
                fetched_at = read_fetched_at(path) if fmt == "note_api" else None
            with timer.stage("parse"):
                try:
                    text, _ = decode(data)
                except InputError as exc:
                    raise exc.with_path(name) from exc
            out.articles.append(analyzer.process_bytes(name, data, text=text, fetched_at=fetched_at))
        except Exception as exc:  # one bad input must never stop the run; it is recorded
            out.rejects.append(reject_of(name, exc, sha))
        finally:
            if on_done is not None:
                on_done(path)
    return out


def read_fetched_at(path: str) -> datetime | None:
    """``fetched_at`` from a fetched answer's sidecar; a sidecar that cannot be read is none.

    The sidecar is metadata about the input, so nothing in it may cost the article: a local
    sidecar that is not a regular file (a FIFO would block the read) is not opened, and a
    broken one (100,000 nested ``[``, say) counts as absent.

    >>> read_fetched_at("raw/no/such/n0123456789ab.json") is None
    True
    """
    meta = sidecar_path(path)
    if "://" not in meta:
        try:
            if not stat.S_ISREG(os.stat(meta).st_mode):
                return None
        except (OSError, ValueError):
            return None
    try:
        return sidecar_fetched_at(path)
    except (RecursionError, ValueError, OverflowError, OSError, UnicodeError):
        return None


def prepare_batch(batch: BatchResult, run_id: str, timer: StageTimer = NO_TIMER) -> BatchResult:
    """Build and validate a processed batch's contract tables, for ``run_id``.

    Runs where the batch was processed (a worker process, a Dask worker), so the process
    that writes only stages tables: per-article work scales with the workers. Articles
    failing validation become ``validation_error`` rejects. The articles keep only the rows
    the run summary needs (their ``articles`` row without the body, speakers, subjects).

    >>> prepare_batch(BatchResult(), "run").tables["segments"].num_rows
    0
    """
    # Two inputs of one article (copies, or the HTML and the API answer of a note) cannot
    # both pass the checks of a batch (their ids collide): only the batch's pick for each
    # article gets tables. The writer still decides among all of them and earlier runs.
    winners, duplicates = resolve_duplicates(batch.articles)
    _keyphrase_rows(winners)
    for r in winners:
        r.stamp(run_id, PIPELINE_VERSION)
    try:
        with timer.stage("validation"):
            valid, invalid, tables = validate_tables(winners)
    except Exception:
        # Rows no check expected (a string Arrow cannot encode, say) must cost their own
        # article, not the batch and the run: check the articles one by one.
        valid, invalid, tables = _validate_each(winners)
    # An article whose pick fails the checks is rejected; its other inputs are duplicates
    # of it, as when the writer had resolved them first.
    failed = {r.article_id for r in winners} - {r.article_id for r in valid}
    article_of = {r.source_path: r.article_id for r in batch.articles}
    lost = [rj for rj in duplicates if article_of[rj.source_path] in failed]
    articles = [r for r in batch.articles if r.article_id not in failed]
    for r in articles:
        _keep_summary(r)
        r.phrases = []
    return BatchResult(articles, [*batch.rejects, *invalid, *lost], batch.unchanged, tables, batch.number)


def _validate_each(
    results: Sequence[ArticleRows],
) -> tuple[list[ArticleRows], list[Reject], dict[str, pa.Table]]:
    """:func:`validate_tables` article by article; an article that raises becomes a reject."""
    valid: list[ArticleRows] = []
    invalid: list[Reject] = []
    pieces: dict[str, list[pa.Table]] = defaultdict(list)
    for r in results:
        try:
            kept, rejects, tables = validate_tables([r])
        except Exception as exc:
            invalid.append(reject_of(r.source_path, exc, r.content_sha256))
            continue
        valid.extend(kept)
        invalid.extend(rejects)
        for name, table in tables.items():
            pieces[name].append(table)
    empty = validate_tables([])[2]
    tables = {name: pa.concat_tables([t, *pieces[name]]) for name, t in empty.items()}
    return valid, invalid, tables


def _keyphrase_rows(kept: Sequence[ArticleRows]) -> None:
    """Keyphrase rows of each article (see :func:`etl.schemas.keyphrase_rows`), as columns
    while the article's rows are columns."""
    for r in kept:
        if r.columns is not None:
            r.columns["keyphrases"] = cast(Columns, r.keyphrase_columns())
        else:
            r.tables["keyphrases"] = keyphrase_rows(r.article_id, r.phrases)


def _keep_summary(r: ArticleRows) -> None:
    """Keep only the rows the run summary needs: the ``articles`` row without the body, the
    speakers and the subjects of ``segment_topics``."""
    cols = r.columns
    if cols is None:
        r.tables = {
            "articles": [{k: v for k, v in r.tables["articles"][0].items() if k != "body"}],
            "speakers": r.tables["speakers"],
            "segment_topics": [row for row in r.tables["segment_topics"] if row["dimension"] == "subject"],
        }
        return
    topics = cols["segment_topics"]
    subject = [k for k, dimension in enumerate(topics["dimension"]) if dimension == "subject"]
    summary = {
        "articles": {k: v for k, v in cols["articles"].items() if k != "body"},
        "speakers": cols["speakers"],
        "segment_topics": {k: [values[i] for i in subject] for k, values in topics.items()},
    }
    cols.clear()
    cols.update(summary)
    r.tables  # noqa: B018  # rows now, where the batch was processed, not where it is committed
