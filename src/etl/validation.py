"""Contract checks with pandera, run on every batch before anything is written.

Types are already enforced by the pyarrow schemas; these checks cover what types cannot:
allowed values, id formats, offsets inside the body, contiguous ordinals, score ranges.
A failing article is taken out of the batch and becomes a ``rejects`` row listing the
failed checks; the rest of the batch is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from etl.model import BLOCK_KINDS, FACETS, SPEAKER_ROLES
from etl.pipeline import ArticleRows, Reject

_ROLES = sorted(SPEAKER_ROLES)
_UNIT = [pa.Check.ge(0.0), pa.Check.le(1.0)]


def _ordinal_contiguous(df: pd.DataFrame) -> pd.Series:
    """Each article's ordinals are exactly 0..n-1."""
    rank = df.groupby("article_id")["ordinal"].rank(method="first").astype("int64") - 1
    return (df["ordinal"] == rank) & ~df.duplicated(["article_id", "ordinal"], keep=False)


def _same_article(df: pd.DataFrame) -> pd.Series:
    """A child row's segment belongs to the row's own article."""
    ok = [seg.startswith(f"{art}:") for seg, art in zip(df["segment_id"], df["article_id"], strict=True)]
    return pd.Series(ok, index=df.index)


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
            },
            checks=[
                pa.Check(lambda df: df["body"].str.len() == df["body_chars"], error="body_chars == len(body)")
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
                "method": pa.Column(str, pa.Check.isin(["heading", "keyword", "inherited", "model"])),
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
    if not results:
        return [], []
    body_chars = {r.article_id: len(r.tables["articles"][0]["body"]) for r in results}
    failures: dict[str, list[str]] = {}
    for name, schema in schemas().items():
        rows = [row for r in results for row in r.tables.get(name, [])]
        if not rows:
            continue
        df = pd.DataFrame(rows)
        if "char_end" in df.columns:
            df["_body_chars"] = df["article_id"].map(body_chars)
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
                    targets = list(body_chars)
                else:
                    targets = [str(df.loc[int(index), "article_id"])]
                for article_id in targets:
                    checks = failures.setdefault(article_id, [])
                    if check not in checks:
                        checks.append(check)
    kept = [r for r in results if r.article_id not in failures]
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
    return kept, rejects
