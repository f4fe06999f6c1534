"""The warehouse: Parquet datasets under one root (a local folder or any fsspec URI).

Layout: ``<root>/<table>/<partition>/part-0.parquet``, one file per partition, where the
partition of an article's rows is its publication month (``2024-02``, or ``undated``).
Partition folders are not ``key=value`` folders on purpose: readers that apply hive
partitioning (pandas, pyarrow, DuckDB) would otherwise add a column to the contract.

A run's new rows are staged (:class:`Staging`) until the run ends: in memory up to a
budget, in hidden files under ``<root>/_staging/`` beyond it.

Commit protocol: a partition is replaced by writing its whole new content to a hidden
temporary file in the same folder and renaming it over ``part-0.parquet`` (``os.replace``
is atomic on POSIX; on object stores one PUT of the final key is atomic). Readers see the
old or the new partition, never a mix, and one file per partition means no compaction is
ever needed. Readers ignore files starting with ``.`` or ``_``.

What a reader may see: a partition is atomic, a run is not. A run merges its partitions
table by table, ``articles`` last (``rejects``, ``topics`` and ``runs`` after it), so
between two commits (or after a run killed half-way, until the next run) a reader of the
Parquet files may see, for the articles of that run, rows of the tables merged so far
beside the old ``articles`` row, or none: segments of an article that has no ``articles``
row yet, or new segments of an edited article beside its old title. The views
(``sql/views.sql``, :mod:`etl.views`) keep only rows of articles whose ``articles`` row is
written, so their readers never see the first kind. The next run repairs both: an article
whose ``articles`` row is missing or older (another content hash) is processed again and
its partitions rewritten; nothing is lost, and nothing needs cleaning by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from etl import PIPELINE_VERSION
from etl.errors import WarehouseError
from etl.schemas import ADDED_COLUMNS, ARTICLE_TABLES, SCHEMA_VERSION, TABLES

PART_FILE: Final = "part-0.parquet"
#: Staged bytes (compressed) a run keeps in memory before it parks further tables on disk
#: (read back once, at the end of the run, from the page cache). The benchmark corpus stages
#: about 1.1 MB per MB of input files, so runs of up to about 3.5 MB never write staging files.
#: Small, so that what a run holds does not grow with its size: on the 20 MB corpus (Arrow
#: on jemalloc, see etl.arrow_memory), peak RSS 334 MB against 304 MB on its first 20 %
#: (8 MiB: 339 against 305), at the same speed.
DEFAULT_STAGE_BUDGET: Final = 4 * 2**20
#: A partition bigger than this (Arrow bytes) is merged range by range of articles, so a
#: run's memory does not grow with the size of its largest partition (the `undated` one of
#: page-text inputs grows with the corpus). On the 20 MB corpus peak RSS was 497 MB with
#: 16 MiB ranges and 427 MB with these, at the same speed (2 MiB: 413 MB, 10 % slower).
MERGE_CHUNK_BYTES: Final = 4 * 2**20
#: Columns of long, nearly always distinct texts: written without a dictionary.
_PLAIN_COLUMNS: Final = frozenset({"text", "body"})
#: Rows per Parquet row group: a merge reading one range of articles skips the others.
ROW_GROUP_ROWS: Final = 32 * 1024
DEFAULT_LOCK_TIMEOUT: Final = 600.0  # a full backfill of a large account takes minutes
UNDATED: Final = "undated"
#: Publication months (partitions, views, report) are months in Japan time: note publishes
#: in JST.
JST: Final = ZoneInfo("Asia/Tokyo")

#: Rows to merge, loaded when needed (staged rows are read again for each range).
Source = Callable[[], pa.Table]
#: Staged rows: a zstd-compressed Arrow IPC stream, and its size before compression.
Packed = tuple[pa.Buffer, int]
#: A file of staged rows parked on disk: the size of the stream (8 bytes, little-endian), then
#: the compressed stream.
STAGED_SUFFIX: Final = ".staged"


def partition_of(published_at: datetime | None) -> str:
    """The partition folder of an article: its publication month in Japan time, or ``undated``.

    Japan time whatever the offset the source wrote, as the views and the report count
    months: an article of 2024-02-29 20:00 -05:00 (2024-03-01 10:00 in Tokyo) is March's.
    A naive time is UTC (what the tables hold).

    >>> from datetime import datetime, timezone
    >>> partition_of(datetime(2024, 2, 29, 15, tzinfo=timezone.utc)), partition_of(None)
    ('2024-03', 'undated')
    """
    if published_at is None:
        return UNDATED
    if published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=UTC)
    try:
        return published_at.astimezone(JST).strftime("%Y-%m")
    except (OverflowError, ValueError):  # past datetime's range in Tokyo: the year 10000
        return published_at.strftime("%Y-%m")


def _utc(values: list[Any]) -> list[Any]:
    """A timestamp column's values with every aware datetime converted to UTC.

    pyarrow drops a datetime's offset instead of converting it when the environment holds
    ``PYARROW_IGNORE_TIMEZONE``: 10:00+09:00 would be stored as 10:00 UTC. Handing it UTC
    values makes the stored instant right either way.
    """
    return [
        v.astimezone(UTC) if isinstance(v, datetime) and v.tzinfo is not None and v.utcoffset() else v
        for v in values
    ]


def to_table(name: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows (of the table's row type in :mod:`etl.schemas`) as an Arrow table of its schema,
    built column by column; a missing key is a null.

    Times are stored as the UTC instant they name, whatever their offset.

    >>> to_table("runs", []).num_rows
    0
    """
    schema = TABLES[name]
    try:
        columns = []
        for field in schema:
            key = field.name
            values = [row.get(key) for row in rows]
            if pa.types.is_timestamp(field.type):
                values = _utc(values)
            columns.append(pa.array(values, type=field.type))
        return pa.Table.from_arrays(columns, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as exc:
        raise WarehouseError(f"rows for table {name!r} do not fit its schema: {exc}") from exc


def columns_table(name: str, columns: Mapping[str, Sequence[Any] | pa.Array], num_rows: int) -> pa.Table:
    """:func:`to_table` of rows given as columns (a list, or an Arrow array, per column name):
    the same table, without a dict per row; a missing column is nulls.

    >>> columns_table("keyphrases", {"phrase": ["庁"], "count": [2]}, 1).column("count").to_pylist()
    [2]
    """
    schema = TABLES[name]
    try:
        arrays = []
        for field in schema:
            values = columns.get(field.name)
            if values is None:
                arrays.append(pa.nulls(num_rows, field.type))
            elif isinstance(values, pa.Array):
                arrays.append(values if values.type == field.type else values.cast(field.type))
            else:
                if pa.types.is_timestamp(field.type):
                    values = _utc(list(values))
                arrays.append(pa.array(values, type=field.type))
        return pa.Table.from_arrays(arrays, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as exc:
        raise WarehouseError(f"rows for table {name!r} do not fit its schema: {exc}") from exc


class Warehouse:
    """Read and commit the tables under one root.

    >>> import tempfile
    >>> Warehouse(tempfile.mkdtemp()).read("articles") is None
    True
    """

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.fs, self.fs_root = fsspec.core.url_to_fs(self.root)
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.is_local = protocol in ("file", "local")

    # -- reading ---------------------------------------------------------------------------

    def _table_dir(self, name: str) -> str:
        return f"{self.fs_root}/{name}"

    def partitions(self, name: str) -> list[str]:
        """The partition folders a table has now."""
        path = self._table_dir(name)
        if not self.fs.exists(path):
            return []
        out = []
        for entry in self.fs.ls(path, detail=True):
            base = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if entry["type"] == "directory" and not base.startswith((".", "_")):
                out.append(base)
        return sorted(out)

    def read_partition(
        self, name: str, partition: str, columns: Sequence[str] | None = None
    ) -> pa.Table | None:
        """One partition as the current schema (or its ``columns``), ``None`` if absent."""
        path = f"{self._table_dir(name)}/{partition}/{PART_FILE}"
        return self._read_file(path, name, columns)

    def _read_file(self, path: str, name: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        if self.is_local:
            # pyarrow's own file reader: no fsspec file object in between.
            return _read_parquet(path, name, path, columns) if os.path.exists(path) else None
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "rb") as fh:
            return _read_parquet(fh, name, path, columns)

    def read(self, name: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        """The whole table (or its ``columns``), or ``None`` when it has never been written."""
        parts = [t for p in self.partitions(name) if (t := self.read_partition(name, p, columns)) is not None]
        if not parts:
            return None
        return pa.concat_tables(parts)

    def _staging(self, run_id: str) -> str:
        return f"{self.fs_root}/_staging/{run_id}"

    def stage(self, run_id: str, name: str, partition: str, seq: int, table: pa.Table) -> None:
        """Park one batch's rows of a table partition on disk until the run finishes."""
        self._stage_packed(run_id, name, partition, seq, pack_table(table))

    def _stage_packed(self, run_id: str, name: str, partition: str, seq: int, packed: Packed) -> None:
        # The bytes Staging keeps in memory, behind their size before compression: no
        # Parquet file to encode and decode again per batch, table and partition.
        data, size = packed
        folder = f"{self._staging(run_id)}/{name}/{partition}"
        self.fs.makedirs(folder, exist_ok=True)
        with self.fs.open(f"{folder}/{seq:06d}{STAGED_SUFFIX}", "wb") as fh:
            fh.write(size.to_bytes(8, "little"))
            fh.write(data)

    def stage_file(self, run_id: str, number: int, blobs: Sequence[Packed]) -> list[tuple[int, int, int]]:
        """Park several packed tables in one hidden file; their (offset, length, size) in it.

        One file per batch rather than per table and partition: a run over many months
        would otherwise create (and remove) thousands of small files.
        """
        folder = self._staging(run_id)
        self.fs.makedirs(folder, exist_ok=True)
        where = []
        offset = 0
        with self.fs.open(f"{folder}/{number:06d}{STAGED_SUFFIX}", "wb") as fh:
            for data, size in blobs:
                fh.write(data)
                where.append((offset, data.size, size))
                offset += data.size
        return where

    def read_staged_at(self, run_id: str, number: int, offset: int, length: int, size: int) -> pa.Table:
        """One table parked by :meth:`stage_file`."""
        path = f"{self._staging(run_id)}/{number:06d}{STAGED_SUFFIX}"
        try:
            with self.fs.open(path, "rb") as fh:
                fh.seek(offset)
                blob = fh.read(length)
        except FileNotFoundError:
            raise WarehouseError(
                f"staged rows {path} are gone (was the run's staging area cleared?)"
            ) from None
        return unpack_table((pa.py_buffer(blob), size))

    def read_staged(self, run_id: str, name: str, partition: str, seq: int) -> pa.Table:
        """Rows parked by :meth:`stage`."""
        path = f"{self._staging(run_id)}/{name}/{partition}/{seq:06d}{STAGED_SUFFIX}"
        try:
            with self.fs.open(path, "rb") as fh:
                blob = fh.read()
        except FileNotFoundError:
            raise WarehouseError(
                f"staged rows {path} are gone (was the run's staging area cleared?)"
            ) from None
        return unpack_table((pa.py_buffer(blob)[8:], int.from_bytes(blob[:8], "little")))

    def clear_staging(self, run_id: str | None = None) -> None:
        """Remove a run's staging area (or every one: leftovers of killed runs)."""
        root = f"{self.fs_root}/_staging"
        path = self._staging(run_id) if run_id else root
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)
        if self.is_local and os.path.isdir(root) and not os.listdir(root):
            os.rmdir(root)  # object stores have no empty folders to leave behind

    def merge_partition(
        self,
        name: str,
        partition: str,
        new: Sequence[pa.Table | Source],
        drop: set[str],
        *,
        replace: bool = False,
        transform: Callable[[pa.Table], pa.Table] | None = None,
        chunk_bytes: int | None = None,
    ) -> None:
        """Rewrite one partition: old rows minus ``drop`` article ids, plus ``new`` rows.

        ``new`` holds tables, or functions returning one (staged rows, loaded when needed).
        With ``replace``, ``new`` is the partition's whole content and the old rows go.
        ``transform`` rewrites the rows before they are written; it sees whole articles.

        Memory stays bounded whatever the partition's size: a partition holding more than
        ``chunk_bytes`` (default :data:`MERGE_CHUNK_BYTES`) of Arrow data is merged range by range of article ids (sorted, so
        the ranges follow each other in the file's order), each range read from the old
        file's row groups and from the sources, then written as the next row groups of the
        new file. The file is still replaced in one step.
        """
        loaders = [_constant(t) if isinstance(t, pa.Table) else t for t in new]
        path = f"{self._table_dir(name)}/{partition}/{PART_FILE}"
        with contextlib.ExitStack() as stack:
            old = None if replace else self._open_parquet(path, stack)
            limit = MERGE_CHUNK_BYTES if chunk_bytes is None else chunk_bytes
            ranges, loaded = _article_ranges(old, loaders, drop, limit)
            split = _split_sources(loaders, ranges, min(SPLIT_BYTES, limit)) if loaded is None else []

            def rows(ids: pa.Array | None, k: int = 0) -> pa.Table:
                pieces: list[pa.Table] = []
                if old is not None:
                    pieces.append(_old_rows(old, name, path, ids, drop))
                for n, load in enumerate(loaders):
                    if n < len(split):  # this source's rows of the range, split off already
                        pieces.append(unpack_table(split[n][k]))
                        continue
                    table = loaded[n] if loaded is not None else load()
                    if ids is not None and table.num_rows:
                        table = table.filter(pc.is_in(table["article_id"], value_set=ids))
                    pieces.append(table)
                merged = pa.concat_tables([p for p in pieces if p.num_rows] or [TABLES[name].empty_table()])
                if transform is not None:
                    merged = transform(merged)
                return _sorted(name, merged)

            self._write_chunks(name, partition, (rows(ids, k) for k, ids in enumerate(ranges)))
            split.clear()
        # Arrow's allocator keeps the freed pages for the next partition's merge: pages
        # handed back to the system and touched again cost a page fault each (on the VMs
        # the benchmark runs on, a fresh megabyte costs as much as decompressing three).
        # The caller releases them once every partition is merged (see finish_run).

    def _open_parquet(self, path: str, stack: contextlib.ExitStack) -> pq.ParquetFile | None:
        if self.is_local:
            return stack.enter_context(pq.ParquetFile(path)) if os.path.exists(path) else None
        if not self.fs.exists(path):
            return None
        return stack.enter_context(pq.ParquetFile(stack.enter_context(self.fs.open(path, "rb"))))

    # -- locking ---------------------------------------------------------------------------

    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT) -> contextlib.AbstractContextManager[None]:
        """A lock that serialises runs on this warehouse; waits up to ``timeout`` seconds.

        Local roots lock ``<root>/.lock`` (an OS file lock: the kernel releases it when the
        holder dies, even by SIGKILL). Object stores have no locks, so a remote root is
        locked through a file in the temp folder of this machine: runs on one host are
        serialised; schedule one host per remote warehouse (see the README).
        """
        if self.is_local:
            os.makedirs(self.fs_root, exist_ok=True)
            path = os.path.join(self.fs_root, ".lock")
        else:
            digest = hashlib.sha256(self.root.encode()).hexdigest()[:16]
            path = os.path.join(tempfile.gettempdir(), f"note-etl-{digest}.lock")
        return _locked(path, timeout, self.root)

    # -- writing ---------------------------------------------------------------------------

    def _write(self, name: str, partition: str, table: pa.Table) -> None:
        self._write_chunks(name, partition, iter([table]))

    def _write_chunks(self, name: str, partition: str, chunks: Iterator[pa.Table]) -> None:
        """Replace a partition's file with ``chunks`` written one after the other."""
        folder = f"{self._table_dir(name)}/{partition}"
        final = f"{folder}/{PART_FILE}"
        metadata = {
            b"schema_version": SCHEMA_VERSION.encode(),
            b"pipeline_version": PIPELINE_VERSION.encode(),
        }
        schema = TABLES[name].with_metadata(metadata)
        # Texts are nearly all distinct: a dictionary for them is built and thrown away
        # (segments were written in half the time without; the files are no bigger).
        dictionary = [f.name for f in schema if f.name not in _PLAIN_COLUMNS]

        def write(sink: Any) -> None:
            with pq.ParquetWriter(sink, schema, compression="zstd", use_dictionary=dictionary) as writer:
                for chunk in chunks:
                    writer.write_table(chunk.cast(schema), row_group_size=ROW_GROUP_ROWS)

        if self.is_local:
            os.makedirs(folder, exist_ok=True)
            # Leftovers of a writer killed before its rename; we hold the lock, so no other
            # writer owns them. (A scandir, not fsspec's glob: this runs for every partition.)
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith(f".{PART_FILE}.") and entry.name.endswith(".tmp"):
                        os.unlink(entry.path)
            tmp = f"{folder}/.{PART_FILE}.{uuid.uuid4().hex}.tmp"
            try:
                write(tmp)
                os.replace(tmp, final)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            self.fs.makedirs(folder, exist_ok=True)
            # Object stores: a single PUT (or a multipart upload, completed at close) of the
            # final key is atomic for readers.
            with self.fs.open(final, "wb") as fh:
                write(fh)

    def replace_rows(
        self,
        name: str,
        new_rows: Mapping[str, pa.Table],
        drop_keys: Mapping[str, set[str]],
        key: str = "article_id",
    ) -> None:
        """Rewrite the given partitions: drop rows whose ``key`` is listed, add the new ones.

        ``new_rows`` maps partition -> rows to add there; ``drop_keys`` maps partition -> keys
        whose old rows must go (including rows of articles moving to another partition).
        """
        for partition in sorted(set(new_rows) | set(drop_keys)):
            old = self.read_partition(name, partition)
            pieces: list[pa.Table] = []
            drop = drop_keys.get(partition, set())
            if old is not None:
                if drop:
                    mask = pc.invert(pc.is_in(old[key], value_set=pa.array(sorted(drop), pa.string())))
                    old = old.filter(mask)
                pieces.append(old)
            if partition in new_rows:
                pieces.append(new_rows[partition])
            merged = pa.concat_tables(pieces) if pieces else TABLES[name].empty_table()
            self._write(name, partition, _sorted(name, merged))

    def ensure_tables(self) -> None:
        """Give every table a (possibly empty) file, so readers never meet a missing table."""
        for name, schema in TABLES.items():
            if not self.partitions(name):
                self._write(name, UNDATED if name in ARTICLE_TABLES else "all", schema.empty_table())

    def write_whole(self, name: str, table: pa.Table, partition: str = "all") -> None:
        """Replace a small table that is written whole (``topics``)."""
        self._write(name, partition, table)


class Staging:
    """A run's staged rows: in memory up to ``budget`` bytes, parked on disk beyond it.

    Rows wait here from the batch that produced them until the run merges each touched
    partition once. In memory they are kept as an Arrow IPC stream compressed whole with
    zstd (a fifth of their Arrow size, and quick to write and read back), which spares
    small and medium runs a Parquet file written and read per batch, table and partition.
    (Not IPC's own compression: it compresses each buffer of each column apart, and a
    run stages hundreds of tables of dozens of small buffers, each paying zstd's set-up:
    that made staging four to six times as slow.) Past the budget,
    further tables go to the warehouse's hidden ``_staging`` folder, one file per batch
    (:meth:`Staging.flush`), so memory stays bounded on huge runs. Either way nothing is
    visible to readers until the merge.

    >>> import tempfile
    >>> wh, staging = Warehouse(tempfile.mkdtemp()), Staging("run", budget=0)
    >>> staging.put(wh, "runs", "all", 0, to_table("runs", []))
    >>> staging.flush(wh)
    >>> staging.spilled, staging.get(wh, "runs", "all", 0).num_rows
    (1, 0)
    """

    __slots__ = ("_buffers", "_files", "_on_disk", "_pending", "budget", "held", "run_id", "spilled")

    def __init__(self, run_id: str, budget: int = DEFAULT_STAGE_BUDGET) -> None:
        self.run_id = run_id
        self.budget = budget
        self.held = 0  # compressed bytes in memory
        self.spilled = 0  # tables parked on disk
        # (compressed IPC stream, its size before compression) per (table, partition, batch)
        self._buffers: dict[tuple[str, str, int], Packed] = {}
        # Tables past the budget, until :meth:`flush` writes them to one file...
        self._pending: dict[tuple[str, str, int], Packed] = {}
        # ... and where they are then: (file number, offset, length, size before compression).
        self._on_disk: dict[tuple[str, str, int], tuple[int, int, int, int]] = {}
        self._files = 0

    def put(self, warehouse: Warehouse, name: str, partition: str, seq: int, table: pa.Table) -> None:
        """Stage one batch's rows of a table partition."""
        self.put_packed(warehouse, name, partition, seq, pack_table(table))

    def put_packed(self, warehouse: Warehouse, name: str, partition: str, seq: int, packed: Packed) -> None:
        """Stage rows already packed by :func:`pack_table` (where the batch was processed).

        Rows past the budget wait for :meth:`flush` (call it once a batch is staged).
        """
        if self.held + packed[0].size < self.budget:
            self._buffers[(name, partition, seq)] = packed
            self.held += packed[0].size
            return
        self._pending[(name, partition, seq)] = packed
        self.spilled += 1

    def flush(self, warehouse: Warehouse) -> None:
        """Write the tables staged past the budget since the last flush, in one file."""
        if not self._pending:
            return
        keys = list(self._pending)
        where = warehouse.stage_file(self.run_id, self._files, [self._pending[k] for k in keys])
        for key, (offset, length, size) in zip(keys, where, strict=True):
            self._on_disk[key] = (self._files, offset, length, size)
        self._files += 1
        self._pending.clear()

    def get(self, warehouse: Warehouse, name: str, partition: str, seq: int) -> pa.Table:
        """The rows staged by :meth:`put`; they stay staged until :meth:`clear`."""
        key = (name, partition, seq)
        staged = self._buffers.get(key) or self._pending.get(key)
        if staged is not None:
            return unpack_table(staged)
        if key in self._on_disk:
            return warehouse.read_staged_at(self.run_id, *self._on_disk[key])
        return warehouse.read_staged(self.run_id, name, partition, seq)

    def where(
        self, name: str, partition: str, seq: int
    ) -> tuple[Packed | None, tuple[int, int, int, int] | None]:
        """Where :meth:`get` finds the rows: packed in memory, or parked at (file, offset,
        length, size) on disk; neither for rows in :meth:`Warehouse.read_staged`'s layout.

        >>> staging = Staging("run")
        >>> staging.put(Warehouse("."), "runs", "all", 0, to_table("runs", []))
        >>> staging.where("runs", "all", 0)[0] is not None, staging.where("runs", "all", 1)
        (True, (None, None))
        """
        key = (name, partition, seq)
        packed = self._buffers.get(key) or self._pending.get(key)
        return packed, (None if packed is not None else self._on_disk.get(key))

    def clear(self, warehouse: Warehouse) -> None:
        """Forget every staged table, in memory and on disk."""
        self._buffers.clear()
        self._pending.clear()
        self.held = 0
        if self.spilled:
            warehouse.clear_staging(self.run_id)
            self._on_disk.clear()
            self.spilled = 0


# Staged streams are written plain and compressed in one piece. zstd at level 1: on the
# benchmark corpus staged tables take a fifth of their Arrow size (lz4: a third, for a
# little less time); level 1 compresses sentences 1.6 times as fast as the default level
# 3, for 7 % more bytes (staged rows live for one run). One thread: the pieces are small.
_CODEC: Final = pa.Codec("zstd", compression_level=1)
_IPC_OPTIONS: Final = pa.ipc.IpcWriteOptions(use_threads=False)
_IPC_READ: Final = pa.ipc.IpcReadOptions(use_threads=False)


def pack_table(table: pa.Table) -> Packed:
    """A table as one zstd-compressed Arrow IPC stream, and the stream's size.

    >>> unpack_table(pack_table(pa.table({"a": [1, 2]}))).to_pydict()
    {'a': [1, 2]}
    """
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC_OPTIONS) as writer:
        writer.write_table(table)
    stream = sink.getvalue()
    # As bytes of the compressed size: the codec's own buffer is allocated at the bound of
    # the input's size and keeps that allocation, so holding it would hold the table's
    # uncompressed size again (Arrow's pool grew by 150 MB on the 20 MB corpus).
    return pa.py_buffer(_CODEC.compress(stream, asbytes=True)), stream.size


def unpack_table(packed: Packed) -> pa.Table:
    """The table :func:`pack_table` packed (its columns read from the stream without a copy)."""
    data, size = packed
    with pa.ipc.open_stream(_CODEC.decompress(data, size, asbytes=False), options=_IPC_READ) as reader:
        return reader.read_all()


@contextlib.contextmanager
def _locked(path: str, timeout: float, root: str) -> Iterator[None]:
    lock = FileLock(path)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise WarehouseError(
            f"warehouse {root} is locked by another run (waited {timeout:.0f} s for {path}); "
            "try again when that run has finished"
        ) from None
    try:
        yield
    finally:
        lock.release()


_SORT_KEYS: Final[dict[str, list[tuple[str, str]]]] = {
    "articles": [("article_id", "ascending")],
    "segments": [("article_id", "ascending"), ("ordinal", "ascending")],
    "sentences": [("article_id", "ascending"), ("ordinal", "ascending")],
    "speakers": [("article_id", "ascending"), ("first_ordinal", "ascending")],
    # Article first in every article table: partitions are merged in ranges of articles.
    "segment_topics": [
        ("article_id", "ascending"),
        ("segment_id", "ascending"),
        ("dimension", "ascending"),
        ("topic_id", "ascending"),
    ],
    "keyphrases": [("article_id", "ascending"), ("segment_id", "ascending"), ("phrase", "ascending")],
    "rejects": [("source_path", "ascending")],
    "runs": [("started_at", "ascending")],
    "topics": [("dimension", "ascending"), ("topic_id", "ascending")],
}


def _constant(table: pa.Table) -> Source:
    return lambda: table


def _article_ranges(
    old: pq.ParquetFile | None, loaders: Sequence[Source], drop: set[str], chunk_bytes: int
) -> tuple[list[pa.Array | None], list[pa.Table] | None]:
    """Article ids to merge together, in order, and the loaded sources if they were kept.

    When all the rows fit in ``chunk_bytes``: one range of everything (``[None]``) and the
    sources as loaded here, so they are not loaded twice. Otherwise sorted ranges of about
    ``chunk_bytes`` each (an article never splits), and ``None``.
    """
    sizes: list[pa.Table] = []
    loaded: list[pa.Table] | None = []
    total = 0.0
    # Rows per article are counted only once the rows are too many for one range: most
    # partitions fit, and need no counts. Until then the ids wait here; they are columns
    # of tables held anyway (``loaded``), so they cost no memory of their own.
    pending: list[tuple[pa.ChunkedArray | pa.Array, float]] = []

    def add(ids: pa.ChunkedArray | pa.Array, per_row: float) -> None:
        pending.append((ids, per_row))
        if total > chunk_bytes:
            for column, bytes_per_row in pending:
                counts = pc.value_counts(column)
                sizes.append(
                    pa.table(
                        {
                            "article_id": counts.field("values"),
                            "bytes": pc.multiply(
                                pc.cast(counts.field("counts"), pa.float64()), bytes_per_row
                            ),
                        }
                    )
                )
            pending.clear()

    if old is not None and old.metadata.num_rows:
        meta = old.metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        ids = old.read(columns=["article_id"])["article_id"]
        if drop:  # rows of dropped articles are not merged (their new rows come from a source)
            ids = ids.filter(pc.invert(pc.is_in(ids, value_set=pa.array(sorted(drop), pa.string()))))
        total += size * len(ids) / meta.num_rows
        add(ids, size / meta.num_rows)
    for load in loaders:
        table = load()
        if table.num_rows:
            nbytes = table.nbytes
            total += nbytes
            add(table["article_id"], nbytes / table.num_rows)
        if loaded is not None:
            loaded.append(table)
            if total > chunk_bytes:
                loaded = None  # too big to hold: sources are loaded again, range by range
    if total <= chunk_bytes:
        return [None], loaded
    per_article = (
        pa.concat_tables(sizes).group_by("article_id").aggregate([("bytes", "sum")]).sort_by("article_id")
    )
    ranges: list[pa.Array | None] = []
    ids_list = per_article["article_id"].to_pylist()
    start, held = 0, 0.0
    for i, size in enumerate(per_article["bytes_sum"].to_pylist()):
        if held and held + size > chunk_bytes:
            ranges.append(pa.array(ids_list[start:i], pa.string()))
            start, held = i, 0.0
        held += size
    ranges.append(pa.array(ids_list[start:], pa.string()))
    return ranges, None


#: Compressed bytes of sources split by range that one merge holds (see _split_sources).
SPLIT_BYTES: Final = 2 * MERGE_CHUNK_BYTES


def _split_sources(
    loaders: Sequence[Source], ranges: Sequence[pa.Array | None], held_bytes: int
) -> list[list[Packed]]:
    """The first sources' rows cut into the ranges (one packed piece per range), each read once.

    A ranged merge would otherwise load every source again for each range: a partition of
    seven ranges decompressed its staged rows eight times. Cut up and packed, each source
    is decompressed twice, whatever the number of ranges. The pieces are held compressed,
    up to ``held_bytes`` (the merge passes its range budget: on the page-text corpus that
    holds every source, and the run's peak memory is below what it was without cutting;
    twice that raised it by 20 MB), so memory stays flat; the sources past it are loaded
    range by range as before. Rows keep their order.
    """
    if len(ranges) < 3:  # two loads per range at most: cutting would not pay
        return []
    ids = pa.chunked_array([r for r in ranges if r is not None], pa.string()).combine_chunks()
    starts = np.cumsum([0, *[len(r) for r in ranges if r is not None][:-1]])
    out: list[list[Packed]] = []
    held = 0
    for load in loaders:
        if held > held_bytes:
            break
        table = load()
        found = pc.index_in(table["article_id"], value_set=ids)
        if found.null_count:  # the ranges were made from every source's ids
            raise WarehouseError("a staged source changed between two reads")
        where = found.to_numpy(zero_copy_only=False)
        which = np.searchsorted(starts, where, side="right") - 1
        order = np.argsort(which, kind="stable")
        ordered = table.take(pa.array(order))
        bounds = np.searchsorted(which[order], np.arange(len(ranges) + 1))
        pieces = [pack_table(ordered.slice(lo, hi - lo)) for lo, hi in itertools.pairwise(bounds)]
        held += sum(p[0].size for p in pieces)
        out.append(pieces)
        del table, ordered
    return out


def _old_rows(old: pq.ParquetFile, name: str, path: str, ids: pa.Array | None, drop: set[str]) -> pa.Table:
    """The old file's rows of the articles ``ids`` (all when ``None``), without ``drop``.

    Files are sorted by article, so row groups whose article id range misses ``ids`` are
    skipped unread.
    """
    meta = old.metadata
    groups = list(range(meta.num_row_groups))
    if ids is not None and len(ids):
        lo, hi = ids[0].as_py(), ids[-1].as_py()
        column = old.schema_arrow.get_field_index("article_id")
        kept = []
        for g in groups:
            stats = meta.row_group(g).column(column).statistics
            if stats is None or not stats.has_min_max or not (stats.max < lo or stats.min > hi):
                kept.append(g)
        groups = kept
    table = _cast_to_schema(
        old.read_row_groups(groups) if groups else old.schema_arrow.empty_table(), name, path
    )
    mask = None
    if ids is not None:
        mask = pc.is_in(table["article_id"], value_set=ids)
    if drop:
        keep = pc.invert(pc.is_in(table["article_id"], value_set=pa.array(sorted(drop), pa.string())))
        mask = keep if mask is None else pc.and_(mask, keep)
    return table if mask is None else table.filter(mask)


def _read_parquet(source: Any, name: str, path: str, columns: Sequence[str] | None = None) -> pa.Table:
    """A table file (a path or an open file) as the current schema, or its ``columns``."""
    schema = TABLES[name]
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    # One file through ParquetFile: ``pq.read_table(schema=...)`` goes through the dataset
    # layer, which costs several times the read itself on files this small.
    with pq.ParquetFile(source) as pf:
        have = set(pf.schema_arrow.names)
        table = pf.read(columns=[c for c in schema.names if c in have])
    return _cast_to_schema(table, name, path, schema)


def _cast_to_schema(table: pa.Table, name: str, path: str, schema: pa.Schema | None = None) -> pa.Table:
    """Rows read from ``path`` as ``schema`` (default: the table's contract schema).

    Columns added since the file was written are filled with their ``ADDED_COLUMNS`` value.
    """
    schema = schema or TABLES[name]
    have = set(table.schema.names)
    missing = [f for f in schema if f.name not in have]
    if not missing:
        # The cast also drops the file's metadata, as reading with the schema did.
        return table.select(schema.names).cast(schema)
    defaults = ADDED_COLUMNS.get(name, {})
    unknown = [f.name for f in missing if f.name not in defaults]
    if unknown:
        raise WarehouseError(
            f"{path} lacks column(s) {', '.join(unknown)} of schema {SCHEMA_VERSION}; "
            "rebuild the warehouse with --full-refresh"
        )
    for f in missing:
        table = table.append_column(f, pa.array([defaults[f.name]] * table.num_rows, f.type))
    return table.select(schema.names).cast(schema)


def _sorted(name: str, table: pa.Table) -> pa.Table:
    # A fixed row order makes reruns byte-for-byte comparable and reads predictable.
    return table.sort_by(_SORT_KEYS[name]) if table.num_rows else table


__all__ = [
    "ARTICLE_TABLES",
    "DEFAULT_STAGE_BUDGET",
    "PART_FILE",
    "Packed",
    "Staging",
    "Warehouse",
    "pack_table",
    "partition_of",
    "to_table",
    "unpack_table",
]
