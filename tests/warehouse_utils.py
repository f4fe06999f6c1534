"""Helpers for comparing warehouse contents across runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from etl.schemas import TABLES

# Columns that name the run that wrote a row, not its content.
RUN_COLUMNS = ("run_id", "pipeline_version", "processed_at", "rejected_at", "started_at", "finished_at")
CONTENT_TABLES = tuple(t for t in TABLES if t != "runs")


def content(wh: Path, table: str) -> pd.DataFrame:
    """A table's rows without run columns, in a canonical order (empty frame if absent)."""
    path = wh / table
    if not path.exists():
        return pd.DataFrame(columns=[c for c in TABLES[table].names if c not in RUN_COLUMNS])
    df = pd.read_parquet(path)
    df = df.drop(columns=[c for c in RUN_COLUMNS if c in df.columns])
    schema = TABLES[table]
    keys = [c for c in df.columns if not pa.types.is_list(schema.field(c).type)]
    return df.sort_values(keys).reset_index(drop=True) if len(df) else df.reset_index(drop=True)


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    return bool(a.astype(str).equals(b.astype(str)))


def difference(a: pd.DataFrame, b: pd.DataFrame) -> str:
    """A short description of how two contents differ, for assertion messages."""
    if list(a.columns) != list(b.columns):
        return f"columns {list(a.columns)} != {list(b.columns)}"
    if len(a) != len(b):
        ra = {tuple(r) for r in a.astype(str).itertuples(index=False)}
        rb = {tuple(r) for r in b.astype(str).itertuples(index=False)}
        return f"{len(a)} rows != {len(b)} rows; only left {sorted(ra - rb)[:4]}; only right {sorted(rb - ra)[:4]}"
    sa, sb = a.astype(str), b.astype(str)
    for i in range(len(sa)):
        if not sa.iloc[i].equals(sb.iloc[i]):
            cols = [c for c in sa.columns if sa.iloc[i][c] != sb.iloc[i][c]]
            return f"row {i}: " + "; ".join(f"{c}: {sa.iloc[i][c]!r} != {sb.iloc[i][c]!r}" for c in cols)
    return "equal"


def partition_files(wh: Path) -> dict[str, pa.Table]:
    """Every partition file's rows in file order, without the run columns."""
    out = {}
    for path in sorted(wh.glob("*/*/part-0.parquet")):
        table = pq.read_table(path)
        out[str(path.relative_to(wh))] = table.drop_columns(
            [c for c in RUN_COLUMNS if c in table.column_names]
        )
    return out
