"""The table contract is frozen: a column change must come with a schema_version bump."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.errors import WarehouseError
from etl.schemas import SCHEMA_VERSION, TABLES
from etl.warehouse import Warehouse

# Fingerprint of every table's columns (name, type, nullability) at SCHEMA_VERSION. When a
# change is intended: bump SCHEMA_VERSION, note it in CHANGELOG.md, update both.
FROZEN = {"3": "b1707134207ee8cd"}


def fingerprint() -> str:
    text = "\n".join(f"{t}.{f.name}:{f.type}:{f.nullable}" for t, schema in TABLES.items() for f in schema)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_contract_is_frozen() -> None:
    assert {SCHEMA_VERSION: fingerprint()} == FROZEN


def test_contract_columns() -> None:
    assert TABLES["segments"].names[:3] == ["article_id", "segment_id", "ordinal"]
    assert str(TABLES["segments"].field("speaker_confidence").type) == "float"
    assert str(TABLES["segments"].field("heading_level").type) == "int8"
    assert str(TABLES["articles"].field("published_at").type) == "timestamp[us, tz=UTC]"
    for name, schema in TABLES.items():
        if name not in ("runs", "rejects"):
            assert "run_id" in schema.names and "pipeline_version" in schema.names, name


def _write_without(tmp_path: Path, table: str, column: str) -> Warehouse:
    schema = TABLES[table]
    old = pa.schema([f for f in schema if f.name != column])
    rows = {f.name: pa.array([_sample(f.type)] * 2, f.type) for f in old}
    folder = tmp_path / table / "undated"
    folder.mkdir(parents=True)
    pq.write_table(pa.table(rows, schema=old), folder / "part-0.parquet")
    return Warehouse(str(tmp_path))


def _sample(type_: pa.DataType) -> object:
    if pa.types.is_list(type_):
        return ["x"]
    if pa.types.is_integer(type_):
        return 1
    if pa.types.is_floating(type_):
        return 0.5
    if pa.types.is_timestamp(type_):
        return datetime(2024, 1, 1, tzinfo=UTC)
    return "x"


def test_files_of_an_older_schema_read_with_the_added_columns(tmp_path: Path) -> None:
    # A schema-1 keyphrases file, written before `marked` existed.
    warehouse = _write_without(tmp_path, "keyphrases", "marked")
    table = warehouse.read_partition("keyphrases", "undated")
    assert table is not None and table.schema == TABLES["keyphrases"]
    assert table["marked"].to_pylist() == [0, 0] and table["count"].to_pylist() == [1, 1]


def test_a_file_missing_a_column_without_default_names_it(tmp_path: Path) -> None:
    warehouse = _write_without(tmp_path, "segments", "label")
    with pytest.raises(WarehouseError, match=r"segments/undated/part-0.parquet lacks column\(s\) label"):
        warehouse.read_partition("segments", "undated")


def test_row_types_are_the_schemas() -> None:
    """Each table's row type names exactly its columns, in order, with matching types."""
    import typing

    import pyarrow as pa

    from etl.schemas import ROW_TYPES, TABLES

    def expected(t: pa.DataType) -> object:
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return str
        if pa.types.is_integer(t):
            return int
        if pa.types.is_floating(t):
            return float
        if pa.types.is_timestamp(t):
            from datetime import datetime

            return datetime
        assert pa.types.is_list(t)
        return list[str]

    assert set(ROW_TYPES) == set(TABLES)
    for name, row_type in ROW_TYPES.items():
        hints = typing.get_type_hints(row_type)
        assert list(hints) == TABLES[name].names, name
        for field in TABLES[name]:
            hint = hints[field.name]
            if typing.get_origin(hint) is typing.NotRequired:
                (hint,) = typing.get_args(hint)
            want = expected(field.type)
            assert hint == (want | None if field.nullable else want), (name, field.name, hint)


def test_column_types_are_the_row_types() -> None:
    """One article's columns: its row type's keys but the article and run ones, as lists."""
    import typing

    from etl.schemas import ARTICLE_TABLES, COLUMN_TYPES, ROW_TYPES

    assert set(COLUMN_TYPES) == set(ARTICLE_TABLES)
    for name, column_type in COLUMN_TYPES.items():
        rows = typing.get_type_hints(ROW_TYPES[name])
        want = {k: list[v] for k, v in rows.items() if k not in ("article_id", "run_id", "pipeline_version")}
        assert typing.get_type_hints(column_type) == want, name
