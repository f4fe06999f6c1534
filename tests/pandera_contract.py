"""The table contract as pandera schemas: an independent oracle for :mod:`etl.validation`.

A port of the pandera implementation the Arrow checks replaced (``schemas``, the pandas
frames it read and the reasons it reported), kept in the tests so that every change to the
Arrow checks is held to the same declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.errors import SchemaErrors

from etl.analysis import ArticleRows
from etl.errors import WarehouseError
from etl.model import ARTICLE_FORMATS, BLOCK_KINDS, FACETS, SPEAKER_ROLES
from etl.validation import batch_tables

_ROLES = sorted(SPEAKER_ROLES)
_UNIT = [pa.Check.ge(0.0), pa.Check.le(1.0)]
_METHODS = ["heading", "question", "content", "inherited", "position", "keyword", "model"]


def _ordinal_contiguous(df: pd.DataFrame) -> pd.Series:
    """Each article's ordinals are exactly 0..n-1.

    The one change from ab6dc50: the rank stays a float. Cast to int64 it raised on a
    missing ordinal, which pandera reported as a failure of the whole table, so one null
    rejected every article of the batch; the Arrow checks reject only its own article.
    """
    rank = df.groupby("article_id")["ordinal"].rank(method="first") - 1
    return (df["ordinal"] == rank) & ~df.duplicated(["article_id", "ordinal"], keep=False)


def _same_article(df: pd.DataFrame) -> pd.Series:
    """A child row's segment belongs to the row's own article: it starts with ``{article_id}:``."""
    prefix = df["article_id"] + ":"
    size = prefix.str.len()
    ok = pd.Series(False, index=df.index)
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
    """The pandera schema of each per-article table (as the checks were declared at ab6dc50).

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
                "method": pa.Column(str, pa.Check.isin(_METHODS)),
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
            checks=[
                pa.Check(_same_article, error="segment of the same article"),
                pa.Check(lambda df: df["marked"] <= df["count"], error="marked <= count"),
            ],
        ),
    }


def _frames_of_tables(tables: Mapping[str, pyarrow.Table]) -> dict[str, pd.DataFrame]:
    """The batch's contract tables as pandas frames (numbers at 64 bits, list columns and
    the body left out), each row with its article's body length."""
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
            for _, case in err.failure_cases.iterrows():
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


def pandera_failures(results: Sequence[ArticleRows]) -> dict[str, list[str]]:
    """The failed checks of each article of a batch, as the pandera contract reports them.

    The frames are built from the batch's contract tables, or from its plain rows when a
    value does not fit its column type (as the pandera implementation did).

    >>> pandera_failures([])
    {}
    """
    if not results:
        return {}
    ids = [r.article_id for r in results]
    try:
        frames = _frames_of_tables(batch_tables(results))
    except WarehouseError:
        frames = _frames_of_rows(results)
    return _failures(frames, ids)


def pandera_messages(results: Sequence[ArticleRows]) -> dict[str, str]:
    """Each rejected article's ``error_message`` (source path -> text) under the pandera contract.

    >>> pandera_messages([])
    {}
    """
    failures = pandera_failures(results)
    return {
        r.source_path: "failed checks: " + "; ".join(failures[r.article_id])
        for r in results
        if r.article_id in failures
    }
