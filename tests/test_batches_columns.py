"""Rows built as columns: the tables, rejects and summaries are those of the plain rows.

The analysis hands each article's rows over as columns; the plain definition is the row
dicts (:attr:`ArticleRows.tables`) and :func:`etl.warehouse.to_table` of them. Every test
here builds a batch both ways and holds the fast path to the plain one.
"""

from __future__ import annotations

import copy
import pickle
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from etl import PIPELINE_VERSION
from etl.analysis import Analyzer, ArticleRows, EtlOptions
from etl.batches import _keyphrase_rows, prepare_batch, process_batch
from etl.schemas import ARTICLE_TABLES, ROW_TYPES, TABLES
from etl.validation import batch_tables, row_owners, validate_tables
from etl.warehouse import columns_table, to_table

from .conftest import SAMPLES, SEED

INPUTS = [SEED, *sorted((SAMPLES / "text").glob("*.txt"))[:3], *sorted((SAMPLES / "html").glob("*.html"))[:2]]


@pytest.fixture(scope="module")
def analysed() -> list[ArticleRows]:
    analyzer = Analyzer(EtlOptions())
    return [analyzer.process_bytes(str(p), p.read_bytes()) for p in INPUTS]


def _as_rows(results: list[ArticleRows]) -> list[ArticleRows]:
    """A copy of the batch whose rows are plain dicts (the columns turned into rows)."""
    out = copy.deepcopy(results)
    for r in out:
        assert r.tables is not None
        assert r.columns is None
    return out


def _equal(a: dict[str, pa.Table], b: dict[str, pa.Table]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].schema == b[name].schema, name
        assert a[name].equals(b[name]), name


@pytest.mark.parametrize("stamped", [False, True])
@pytest.mark.parametrize("keyphrases", [False, True])
def test_tables_from_columns_are_the_tables_from_rows(
    analysed: list[ArticleRows], stamped: bool, keyphrases: bool
) -> None:
    fast = copy.deepcopy(analysed)
    if keyphrases:
        _keyphrase_rows(fast)
    if stamped:
        for r in fast:
            r.stamp("run-1", PIPELINE_VERSION)
    assert all(r.columns is not None for r in fast)
    plain = _as_rows(fast)
    tables = batch_tables(fast)
    _equal(tables, batch_tables(plain))
    for name in ARTICLE_TABLES:
        assert tables[name].num_rows == sum(len(r.tables.get(name, [])) for r in plain)
        assert row_owners(fast, name).tolist() == row_owners(plain, name).tolist()
    assert (tables["keyphrases"].num_rows > 0) == keyphrases
    runs = set(tables["segments"]["run_id"].to_pylist())
    versions = set(tables["segments"]["pipeline_version"].to_pylist())
    assert (runs, versions) == (({"run-1"}, {PIPELINE_VERSION}) if stamped else ({None}, {None}))


def test_a_batch_with_one_article_as_rows_is_built_from_rows(analysed: list[ArticleRows]) -> None:
    fast = copy.deepcopy(analysed)
    _keyphrase_rows(fast)
    for r in fast:
        r.stamp("run-1", PIPELINE_VERSION)
    expected = batch_tables(copy.deepcopy(fast))
    fast[2].tables["segments"][0]["text"] = "edited"  # the rows are now what counts
    mixed = batch_tables(fast)
    assert mixed["segments"]["text"].to_pylist().count("edited") == 1
    assert mixed["sentences"].equals(expected["sentences"])


def test_rows_have_the_row_types_keys_and_stamping_adds_the_run(analysed: list[ArticleRows]) -> None:
    for stamped in (False, True):
        fast = copy.deepcopy(analysed)
        _keyphrase_rows(fast)
        for r in fast:
            if stamped:
                r.stamp("run-1", PIPELINE_VERSION)
        for r in fast:
            for name, rows in r.tables.items():
                keys = list(typing.get_type_hints(ROW_TYPES[name]))
                if not stamped:
                    keys = keys[:-2]  # run_id, pipeline_version
                assert all(list(row) == keys for row in rows), name
    # Stamping rows, or the columns and then turning them into rows, gives the same rows.
    by_rows, by_columns = copy.deepcopy(analysed), copy.deepcopy(analysed)
    for a, b in zip(by_rows, by_columns, strict=True):
        a.tables  # noqa: B018  # rows first, then stamped
        a.stamp("run-1", PIPELINE_VERSION)
        b.stamp("run-1", PIPELINE_VERSION)
        assert a.tables == b.tables


def test_checks_reject_the_same_articles_from_columns(analysed: list[ArticleRows]) -> None:
    """The same faults, made in the columns and in the rows: same rejects, same tables."""
    fast = copy.deepcopy(analysed)
    _keyphrase_rows(fast)
    for r in fast:
        r.stamp("run-1", PIPELINE_VERSION)
    cols = [r.columns for r in fast]
    assert all(c is not None for c in cols)
    faults: list[tuple[int, str, str, int, Any]] = [
        (1, "segments", "ordinal", -1, 10_000),
        (2, "keyphrases", "marked", 0, 99),
        (4, "segment_topics", "score", 0, 1.5),
    ]
    plain = _as_rows(fast)
    for k, table, column, row, value in faults:
        c = cols[k]
        assert c is not None
        c[table][column][row] = value
        plain[k].tables[table][row][column] = value
    kept, rejects, tables = validate_tables(fast)
    kept_rows, rejects_rows, tables_rows = validate_tables(plain)
    assert [r.article_id for r in kept] == [r.article_id for r in kept_rows]
    assert rejects == rejects_rows and len(rejects) == 3
    _equal(tables, tables_rows)


def test_a_value_too_wide_for_its_type_in_the_columns_is_its_checks_reject(
    analysed: list[ArticleRows],
) -> None:
    fast = copy.deepcopy(analysed)
    c = fast[3].columns
    assert c is not None
    heading = c["segments"]["heading_level"].index(next(h for h in c["segments"]["heading_level"] if h))
    c["segments"]["heading_level"][heading] = 300  # does not fit int8
    kept, rejects, tables = validate_tables(fast)
    assert [r.article_id for r in kept] == [r.article_id for i, r in enumerate(fast) if i != 3]
    assert "segments.heading_level: in_range(1, 6)" in rejects[0].error_message
    _equal(tables, batch_tables(kept))


def test_prepared_batch_keeps_the_summary_rows_of_the_plain_rows(tmp_path: Any) -> None:
    analyzer = Analyzer(EtlOptions())
    paths = [str(p) for p in INPUTS]
    dup = tmp_path / "copy.txt"
    dup.write_bytes(SEED.read_bytes())  # a duplicate in the batch keeps its summary too
    paths.append(str(dup))
    fast = process_batch(analyzer, paths)
    plain = copy.deepcopy(fast)
    for r in plain.articles:
        assert r.tables is not None
    a, b = prepare_batch(fast, "run-1"), prepare_batch(plain, "run-1")
    assert a.tables is not None and b.tables is not None
    _equal(a.tables, b.tables)
    assert len(a.articles) == len(b.articles) == len(INPUTS) + 1
    for x, y in zip(a.articles, b.articles, strict=True):
        assert x.tables == y.tables
        assert "body" not in x.tables["articles"][0] and x.phrases == []
        assert all(row["dimension"] == "subject" for row in x.tables["segment_topics"])
    assert pickle.loads(pickle.dumps(a.articles[0])).tables == a.articles[0].tables


def test_columns_table_is_to_table_of_the_rows() -> None:
    tokyo = timezone(timedelta(hours=9))
    rows: list[dict[str, Any]] = [
        {
            "article_id": "a",
            "title": "題",
            "published_at": datetime(2024, 1, 1, 9, tzinfo=tokyo),
            "speakers": ["x"],
        },
        {
            "article_id": "b",
            "body_chars": 3,
            "processed_at": datetime(2024, 1, 2, tzinfo=UTC),
            "speakers": [],
        },
    ]
    names = TABLES["articles"].names
    columns = {name: [row.get(name) for row in rows] for name in names if any(name in row for row in rows)}
    columns["article_id"] = pa.array(["a", "b"])
    assert columns_table("articles", columns, 2).equals(to_table("articles", rows))
    assert columns_table("articles", {}, 0).equals(to_table("articles", []))


def test_pack_parts_holds_each_partitions_rows_in_batch_order(analysed: list[ArticleRows]) -> None:
    from etl.batches import pack_parts
    from etl.warehouse import partition_of, unpack_table

    fast = copy.deepcopy(analysed)
    _keyphrase_rows(fast)
    months = [datetime(2024, m, 10, tzinfo=UTC) for m in (3, 1, 3, 2, 1, 3)]
    for r, month in zip(fast, months, strict=True):
        r.published_at = month
    tables = batch_tables(fast)
    packed = pack_parts(tables, fast)
    part_of = {r.article_id: partition_of(r.published_at) for r in fast}
    parts = sorted(set(part_of.values()))
    assert sorted(packed) == sorted((name, part) for name in tables for part in parts)
    for (name, part), piece in packed.items():
        mask = pa.array([part_of[a] == part for a in tables[name]["article_id"].to_pylist()], pa.bool_())
        assert unpack_table(piece).equals(tables[name].filter(mask)), (name, part)
