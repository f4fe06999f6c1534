"""Dashboard views: DuckDB views over the warehouse's Parquet tables.

The SQL lives in ``sql/views.sql`` (package data, :mod:`etl.package_data`), where ``${WAREHOUSE}`` stands for the
warehouse root. It defines one view per contract table (``articles``, ``segments``, ...)
and four views shaped for dashboards:

- ``content_segments``: segments without site chrome, with speaker and facet labels;
- ``speaker_topics``: speaker x subject, with segments and characters;
- ``article_overview``: one row per article, with facet shares and top subjects;
- ``topic_trends``: subject x publication month.

:func:`write_views_db` writes them to ``<warehouse>/note_etl.duckdb`` with the root's
absolute path written into each view (a database file keeps no session variables);
:func:`connect` and :func:`read_view` give the same views in memory, for any fsspec
warehouse.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.errors import WarehouseError
from etl.package_data import data_file
from etl.schemas import TABLES
from etl.warehouse import ARTICLE_TABLES, PART_FILE, Warehouse

#: The SQL of the views, shipped with the package.
SQL_PATH: Final = data_file("views.sql")
#: What ``sql/views.sql`` writes for the warehouse root.
PLACEHOLDER: Final = "${WAREHOUSE}"
#: The dashboard views, in the order they are defined.
VIEWS: Final = ("content_segments", "speaker_topics", "article_overview", "topic_trends")
#: Segment kinds that are note's page furniture, not article content.
CHROME_KINDS: Final = frozenset({"boilerplate", "link", "image_alt"})
#: File name of the views database inside the warehouse root.
DB_FILE: Final = "note_etl.duckdb"

_VIEW_NAME = re.compile(r"CREATE\s+OR\s+REPLACE\s+VIEW\s+(\w+)", re.IGNORECASE)
_BASE_TABLE = re.compile(r"read_parquet\('\$\{WAREHOUSE\}/(\w+)/")


@dataclass(frozen=True, slots=True)
class ViewsDb:
    """A views database as written: where, and which tables had no rows to read yet."""

    path: str
    empty_tables: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Statement:
    view: str
    table: str | None  # the contract table a base view reads, None for a dashboard view
    sql: str  # still holding the placeholder


def _statements() -> list[_Statement]:
    out = []
    for stmt in duckdb.extract_statements(SQL_PATH.read_text(encoding="utf-8")):
        name = _VIEW_NAME.search(stmt.query)
        if name is None:
            raise WarehouseError(f"{SQL_PATH}: expected only CREATE OR REPLACE VIEW, got {stmt.query[:80]!r}")
        table = _BASE_TABLE.search(stmt.query)
        out.append(_Statement(name[1], table[1] if table else None, stmt.query))
    return out


def _root(warehouse: Warehouse) -> str:
    # Views outlive the process that wrote them, so a local root must not be relative to
    # the current directory; fsspec's local root is already absolute.
    return warehouse.fs_root if warehouse.is_local else warehouse.root


def glob_escape(path: str) -> str:
    """``path`` with DuckDB's glob characters made literal (each in a one-character class),
    so a warehouse in ``whg[1]`` reads its own files, not those of ``whg1``.

    >>> glob_escape("/data/whg[1]/a*?")
    '/data/whg[[]1[]]/a[*][?]'
    """
    return "".join(f"[{ch}]" if ch in "[]*?" else ch for ch in path)


def _substitute(sql: str, root: str) -> str:
    # The root lands inside a single-quoted SQL literal, and in a glob; comments keep the
    # placeholder, as they explain it.
    quoted = glob_escape(root).replace("'", "''")
    return "\n".join(
        line if line.lstrip().startswith("--") else line.replace(PLACEHOLDER, quoted)
        for line in sql.splitlines()
    )


def views_sql(warehouse: str) -> str:
    """The SQL of ``sql/views.sql`` for one warehouse: ``${WAREHOUSE}`` made absolute.

    >>> sql = views_sql("/data/wh")
    >>> "read_parquet('/data/wh/segments/**/*.parquet'" in sql, "('${WAREHOUSE}" in sql
    (True, False)
    """
    root = _root(Warehouse(warehouse))
    return ";\n\n".join(_substitute(s.sql.strip().rstrip(";"), root) for s in _statements()) + ";\n"


def _has_rows(warehouse: Warehouse, table: str) -> bool:
    return any(
        warehouse.fs.exists(f"{warehouse.fs_root}/{table}/{part}/{PART_FILE}")
        for part in warehouse.partitions(table)
    )


def _empty_view(con: duckdb.DuckDBPyConnection, view: str, table: str) -> str:
    # The column types come from the contract schema, translated by DuckDB itself.
    con.register("_note_etl_empty", TABLES[table].empty_table())
    try:
        columns = con.execute("DESCRIBE _note_etl_empty").fetchall()
    finally:
        con.unregister("_note_etl_empty")
    select = ", ".join(f'CAST(NULL AS {type_}) AS "{name}"' for name, type_, *_ in columns)
    return f"CREATE OR REPLACE VIEW {view} AS SELECT {select} WHERE false"


def _committed(warehouse: Warehouse, table: pa.Table) -> pa.Table:
    """Rows of articles whose ``articles`` row is written (as the SQL views filter them)."""
    articles = warehouse.read("articles", ["article_id"])
    ids = articles["article_id"] if articles is not None else pa.array([], pa.string())
    return table.filter(pc.is_in(table["article_id"], value_set=pa.array(ids.to_pylist(), pa.string())))


def _define(con: duckdb.DuckDBPyConnection, warehouse: Warehouse) -> list[str]:
    """Create every view on ``con``; returns the contract tables that had no rows."""
    empty = []
    root = _root(warehouse)
    for stmt in _statements():
        if stmt.table is None:
            con.execute(_substitute(stmt.sql, root))
        elif not warehouse.is_local:
            # DuckDB reaches object stores only through its httpfs extension (a download
            # and separate credentials); fsspec already has both, so read through Arrow.
            table = warehouse.read(stmt.table)
            if table is None:
                empty.append(stmt.table)
                table = TABLES[stmt.table].empty_table()
            elif stmt.table in ARTICLE_TABLES and stmt.table != "articles":
                table = _committed(warehouse, table)
            con.register(stmt.view, table)
        elif _has_rows(warehouse, stmt.table):
            con.execute(_substitute(stmt.sql, root))
        else:
            empty.append(stmt.table)
            con.execute(_empty_view(con, stmt.view, stmt.table))
    return empty


def connect(warehouse: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with every table and dashboard view defined.

    Local warehouses are read lazily from Parquet; other fsspec URIs are loaded into
    memory first. The caller closes the connection.

    >>> import tempfile
    >>> with connect(tempfile.mkdtemp()) as con:
    ...     con.execute("SELECT count(*) FROM content_segments").fetchone()
    (0,)
    """
    con = duckdb.connect()
    try:
        _define(con, Warehouse(warehouse))
    except BaseException:
        con.close()
        raise
    return con


def read_view(warehouse: str, name: str) -> pd.DataFrame:
    """One view (or contract table) of a warehouse as a pandas DataFrame.

    >>> import tempfile
    >>> list(read_view(tempfile.mkdtemp(), "topic_trends").columns)[:3]
    ['month', 'month_start', 'subject']
    """
    if name not in VIEWS and name not in TABLES:
        raise ValueError(f"unknown view {name!r}: expected one of {', '.join((*VIEWS, *TABLES))}")
    with connect(warehouse) as con:
        return con.table(name).df()


def write_views_db(warehouse: str, out: str | None = None) -> ViewsDb:
    """Write the views into a DuckDB file (default ``<warehouse>/note_etl.duckdb``).

    The file holds views, not data: the warehouse's absolute path is written into them, so
    it must be rewritten after the warehouse moves. A table with no Parquet file yet becomes
    an empty view of its columns (DuckDB cannot glob nothing) until the file is rewritten.
    The file is replaced atomically.

    >>> import os, tempfile
    >>> from etl.run import run_local
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.txt"), "w").write("題\\n本文です。")
    >>> _ = run_local([d], os.path.join(d, "wh"))
    >>> db = write_views_db(os.path.join(d, "wh"))
    >>> os.path.basename(db.path), db.empty_tables
    ('note_etl.duckdb', ())
    """
    wh = Warehouse(warehouse)
    if not wh.is_local:
        raise WarehouseError(
            f"{warehouse}: the views file needs a local warehouse (DuckDB reads object stores "
            "only with its httpfs extension); use etl.views.connect() for remote warehouses"
        )
    target = Path(out) if out else Path(wh.fs_root) / DB_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename: a dashboard holding the old file open keeps
    # working, and nobody opens a half-written one.
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        con = duckdb.connect(str(tmp))
        try:
            empty = _define(con, wh)
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return ViewsDb(str(target), tuple(empty))


__all__ = [
    "CHROME_KINDS",
    "DB_FILE",
    "SQL_PATH",
    "VIEWS",
    "ViewsDb",
    "connect",
    "glob_escape",
    "read_view",
    "views_sql",
    "write_views_db",
]
