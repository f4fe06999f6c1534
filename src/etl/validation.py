"""Contract checks with pandera, run on every batch before anything is written.

Types are already enforced by the pyarrow schemas; these checks cover what types cannot:
allowed values, id formats, offsets inside the body, contiguous ordinals, score ranges.
A failing article is taken out of the batch and becomes a ``rejects`` row listing the
failed checks; the rest of the batch is written.

The checks run on the batch's Arrow tables (the ones that are then written), converted to
pandas once per table, and are vectorised: validation costs a few pandas operations per
check and batch, not Python per row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.errors import SchemaErrors

from etl.analysis import ArticleRows
from etl.errors import WarehouseError
from etl.model import ARTICLE_FORMATS, BLOCK_KINDS, FACETS, SPEAKER_ROLES
from etl.rejects import Reject
from etl.schemas import ARTICLE_TABLES
from etl.warehouse import to_table

_ROLES = sorted(SPEAKER_ROLES)
_UNIT = [pa.Check.ge(0.0), pa.Check.le(1.0)]


def _ordinal_contiguous(df: pd.DataFrame) -> pd.Series:
    """Each article's ordinals are exactly 0..n-1."""
    rank = df.groupby("article_id")["ordinal"].rank(method="first").astype("int64") - 1
    return (df["ordinal"] == rank) & ~df.duplicated(["article_id", "ordinal"], keep=False)


def _same_article(df: pd.DataFrame) -> pd.Series:
    """A child row's segment belongs to the row's own article: it starts with ``{article_id}:``."""
    prefix = df["article_id"] + ":"
    size = prefix.str.len()
    ok = pd.Series(False, index=df.index)
    # pandas slices every string at one length, so one slice per prefix length (article ids
    # of a batch come in a handful of lengths).
    for n in size.dropna().unique():  # a missing id fails
        rows = size == n
        ok[rows] = df.loc[rows, "segment_id"].str.slice(0, int(n)) == prefix[rows]
    return ok


def _id_is(prefix_col: str, suffix: Callable[[pd.DataFrame], pd.Series], id_col: str) -> Any:
    def check(df: pd.DataFrame) -> pd.Series:
        return df[id_col] == df[prefix_col] + ":" + suffix(df)

    return check


@lru_cache(maxsize=1)
def schemas() -> dict[str, pa.DataFrameSchema]:
    """The pandera schema of each per-article table.

    >>> sorted(schemas())
    ['articles', 'keyphrases', 'segment_topics', 'segments', 'sentences', 'speakers']
    """
    offsets = [
        pa.Check(lambda df: df["char_start"] <= df["char_end"], error="char_start <= char_end"),
        pa.Check(lambda df: df["char_end"] <= df["_body_chars"], error="offsets inside the article body"),
    ]
    return {
        "articles": pa.DataFrameSchema(
            {
                "article_id": pa.Column(str, pa.Check.str_matches(r"^[0-9A-Za-z_-]+$"), unique=True),
                "source_path": pa.Column(str),
                "source_format": pa.Column(str, pa.Check.isin(["text", "html", "note_api"])),
                "content_sha256": pa.Column(str, pa.Check.str_matches(r"^[0-9a-f]{64}$")),
                "body_chars": pa.Column(int, pa.Check.ge(0)),
                "segment_count": pa.Column(int, pa.Check.ge(1)),
                "format": pa.Column(str, pa.Check.isin(sorted(ARTICLE_FORMATS))),
                "format_confidence": pa.Column(float, _UNIT),
            },
            checks=[
                pa.Check(lambda df: df["_body_chars"] == df["body_chars"], error="body_chars == len(body)")
            ],
        ),
        "segments": pa.DataFrameSchema(
            {
                "segment_id": pa.Column(str, unique=True),
                "ordinal": pa.Column(int, pa.Check.ge(0)),
                "kind": pa.Column(str, pa.Check.isin(sorted(BLOCK_KINDS))),
                "heading_level": pa.Column(float, pa.Check.in_range(1, 6), nullable=True, coerce=True),
                "char_start": pa.Column(int, pa.Check.ge(0)),
                "sentence_count": pa.Column(int, pa.Check.ge(0)),
                "speaker_role": pa.Column(str, pa.Check.isin(_ROLES)),
                "speaker_confidence": pa.Column(float, _UNIT),
                "facet": pa.Column(str, pa.Check.isin(list(FACETS)), nullable=True),
            },
            checks=[
                *offsets,
                pa.Check(
                    _id_is("article_id", lambda df: df["ordinal"].astype(str).str.zfill(4), "segment_id"),
                    error="segment_id == {article_id}:{ordinal:04d}",
                ),
                pa.Check(_ordinal_contiguous, error="ordinals contiguous from 0"),
                pa.Check(
                    lambda df: df["speaker_name"].isna() == df["speaker_id"].isna(),
                    error="speaker_id set exactly when speaker_name is",
                ),
            ],
        ),
        "sentences": pa.DataFrameSchema(
            {
                "sentence_id": pa.Column(str, unique=True),
                "ordinal": pa.Column(int, pa.Check.ge(0)),
                "text": pa.Column(str, pa.Check.str_length(min_value=1)),
                "speaker_role": pa.Column(str, pa.Check.isin(_ROLES)),
            },
            checks=[
                *offsets,
                pa.Check(
                    lambda df: df["char_end"] - df["char_start"] == df["text"].str.len(),
                    error="span length == len(text)",
                ),
                pa.Check(_ordinal_contiguous, error="ordinals contiguous from 0"),
                pa.Check(_same_article, error="segment of the same article"),
            ],
        ),
        "speakers": pa.DataFrameSchema(
            {
                "speaker_id": pa.Column(str, unique=True),
                "name": pa.Column(str, pa.Check.str_length(min_value=1)),
                "role": pa.Column(str, pa.Check.isin(_ROLES)),
                "segment_count": pa.Column(int, pa.Check.ge(0)),
                "char_count": pa.Column(int, pa.Check.ge(0)),
            },
            checks=[
                pa.Check(
                    lambda df: df["speaker_id"] == df["article_id"] + ":" + df["name"],
                    error="speaker_id == {article_id}:{name}",
                )
            ],
        ),
        "segment_topics": pa.DataFrameSchema(
            {
                "dimension": pa.Column(str, pa.Check.isin(["facet", "subject"])),
                "topic_id": pa.Column(str, pa.Check.str_length(min_value=1)),
                "score": pa.Column(float, _UNIT),
                "method": pa.Column(
                    str,
                    pa.Check.isin(
                        ["heading", "question", "content", "inherited", "position", "keyword", "model"]
                    ),
                ),
            },
            checks=[pa.Check(_same_article, error="segment of the same article")],
        ),
        "keyphrases": pa.DataFrameSchema(
            {
                "phrase": pa.Column(str, pa.Check.str_length(min_value=1)),
                "count": pa.Column(int, pa.Check.ge(1)),
                "marked": pa.Column(int, pa.Check.ge(0)),
                "score": pa.Column(float, _UNIT),
            },
            # A phrase cannot be marked as a term more often than it occurs.
            checks=[
                pa.Check(_same_article, error="segment of the same article"),
                pa.Check(lambda df: df["marked"] <= df["count"], error="marked <= count"),
            ],
        ),
    }


def validate_batch(results: Sequence[ArticleRows]) -> tuple[list[ArticleRows], list[Reject]]:
    """Check every table of a batch; return the valid articles and a reject per invalid one.

    >>> validate_batch([])
    ([], [])
    """
    kept, rejects, _ = validate_tables(results)
    return kept, rejects


def validate_tables(
    results: Sequence[ArticleRows],
) -> tuple[list[ArticleRows], list[Reject], dict[str, pyarrow.Table]]:
    """Like :func:`validate_batch`, and also return the valid articles' rows as Arrow tables.

    The tables (one per per-article table, rows in batch order) are built once and checked
    as they are, so the caller writes exactly what was validated.

    >>> kept, rejects, tables = validate_tables([])
    >>> tables["articles"].num_rows
    0
    """
    try:
        tables = batch_tables(results)
    except WarehouseError:
        # A value that does not fit its column type (an overflowing count, say): check the
        # plain rows, so that an article a check catches becomes a reject as before; the
        # tables of the others are built again, and raise if still at fault.
        failures = _failures(_frames_of_rows(results), [r.article_id for r in results])
        kept = [r for r in results if r.article_id not in failures]
        tables = batch_tables(kept)
    else:
        failures = _failures(_frames_of_tables(tables), [r.article_id for r in results])
        kept = [r for r in results if r.article_id not in failures]
        if failures:
            # The rows of the kept articles, by position (as building from ``kept`` would).
            keep = np.array([r.article_id not in failures for r in results], dtype=bool)
            tables = {
                name: t.filter(pyarrow.array(keep[row_owners(results, name)])) for name, t in tables.items()
            }
    rejects = [
        Reject(
            r.source_path,
            r.content_sha256,
            "validation_error",
            "failed checks: " + "; ".join(failures[r.article_id]),
        )
        for r in results
        if r.article_id in failures
    ]
    return kept, rejects, tables


def batch_tables(results: Sequence[ArticleRows]) -> dict[str, pyarrow.Table]:
    """The rows of every per-article table of a batch as contract tables, in batch order.

    >>> sorted(batch_tables([])) == sorted(ARTICLE_TABLES)
    True
    """
    return {
        name: to_table(name, [row for r in results for row in r.tables.get(name, [])])
        for name in ARTICLE_TABLES
    }


def row_owners(results: Sequence[ArticleRows], name: str) -> np.ndarray:
    """For each row of a batch table, the position of the article it came from.

    >>> row_owners([], "articles").tolist()
    []
    """
    counts = [len(r.tables.get(name, [])) for r in results]
    return np.repeat(np.arange(len(results)), counts)


def _frames_of_tables(tables: Mapping[str, pyarrow.Table]) -> dict[str, pd.DataFrame]:
    """The columns the checks read, as pandas frames, with each row's body length."""
    articles = tables["articles"]
    ids = articles["article_id"]
    lengths = pc.utf8_length(articles["body"]).cast(pyarrow.int64())
    frames: dict[str, pd.DataFrame] = {}
    for name in schemas():
        table = tables.get(name)
        if table is None or not table.num_rows:
            continue
        cols: dict[str, pyarrow.ChunkedArray] = {}
        for f in table.schema:
            # List columns are not checked, and the body only by its length.
            if pyarrow.types.is_list(f.type) or f.name == "body":
                continue
            col = table[f.name]
            # pandera's int and float are 64 bits; the contract's narrower types would fail.
            if pyarrow.types.is_integer(f.type):
                col = col.cast(pyarrow.int64())
            elif pyarrow.types.is_floating(f.type):
                col = col.cast(pyarrow.float64())
            cols[f.name] = col
        if name == "articles":
            cols["_body_chars"] = lengths
        elif "char_end" in cols:
            cols["_body_chars"] = pc.take(lengths, pc.index_in(table["article_id"], value_set=ids))
        frames[name] = pyarrow.table(cols).to_pandas()
    return frames


def _frames_of_rows(results: Sequence[ArticleRows]) -> dict[str, pd.DataFrame]:
    """The same frames from plain rows, for a batch whose values do not fit the schema."""
    body_chars = {r.article_id: len(r.tables["articles"][0]["body"]) for r in results}
    frames: dict[str, pd.DataFrame] = {}
    for name in schemas():
        rows = [row for r in results for row in r.tables.get(name, [])]
        if not rows:
            continue
        df = pd.DataFrame(rows)
        if name == "articles":
            df["_body_chars"] = df["body"].str.len()
        elif "char_end" in df.columns:
            df["_body_chars"] = df["article_id"].map(body_chars)
        frames[name] = df
    return frames


def _failures(frames: Mapping[str, pd.DataFrame], article_ids: Sequence[str]) -> dict[str, list[str]]:
    """The failed checks of each invalid article (article id -> checks, first seen first)."""
    failures: dict[str, list[str]] = {}
    for name, schema in schemas().items():
        df = frames.get(name)
        if df is None:
            continue
        try:
            schema.validate(df, lazy=True)
        except SchemaErrors as err:
            cases = err.failure_cases
            for _, case in cases.iterrows():
                index = case.get("index")
                if case.get("schema_context") == "Column":
                    check = f"{name}.{case.get('column')}: {case.get('check')}"
                else:
                    check = f"{name}: {case.get('check')}"
                if index is None or pd.isna(index):
                    # A table-level failure (a missing column): every article of the batch.
                    targets = list(article_ids)
                else:
                    targets = [str(df.loc[int(index), "article_id"])]
                for article_id in targets:
                    checks = failures.setdefault(article_id, [])
                    if check not in checks:
                        checks.append(check)
    return failures
