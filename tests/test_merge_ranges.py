"""Partitions bigger than the merge budget are merged range by range of articles.

The ranged merge must write exactly what the one-piece merge writes (content and row
order), keep incremental runs equal to a full refresh, and read only the old row groups
a range needs. The budget is shrunk here so that the samples span many ranges.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import etl.warehouse as warehouse_module
from etl.run import run_local
from etl.schemas import ARTICLE_TABLES
from etl.warehouse import Warehouse, _old_rows

from .conftest import SAMPLES, SEED
from .warehouse_utils import CONTENT_TABLES, content, difference, partition_files, same


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    for sub in ("text", "html", "json"):
        for path in sorted((SAMPLES / sub).glob("*")):
            if path.is_file():
                shutil.copy(path, folder / f"{sub}-{path.name}")
    return folder


def _shrink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warehouse_module, "MERGE_CHUNK_BYTES", 20_000)
    monkeypatch.setattr(warehouse_module, "ROW_GROUP_ROWS", 40)


def test_ranged_merge_writes_what_the_one_piece_merge_writes(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = tmp_path / "one"
    run_local([str(raw)], str(one))
    _shrink(monkeypatch)
    ranged = tmp_path / "ranged"
    run_local([str(raw)], str(ranged), batch_size=3)
    a, b = partition_files(one), partition_files(ranged)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name
    # The budget really split the partitions: small row groups, several per file.
    segments = ranged / "segments" / "undated" / "part-0.parquet"
    assert pq.ParquetFile(segments).metadata.num_row_groups > 1


def test_ranged_incremental_runs_equal_a_full_refresh(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shrink(monkeypatch)
    wh = tmp_path / "wh"
    run_local([str(raw)], str(wh), batch_size=2)
    # An edit and a new article.
    seed = raw / SEED.name
    seed.write_text(seed.read_text(encoding="utf-8").replace("デジタル庁", "デジタル省", 3), encoding="utf-8")
    extra = raw / "extra.txt"
    extra.write_text("新しい記事\n\n本文です。ガバメントクラウドについて話しました。\n", encoding="utf-8")
    run_local([str(raw)], str(wh), batch_size=2)
    fresh = tmp_path / "fresh"
    run_local([str(raw)], str(fresh), batch_size=5, full_refresh=True)
    for table in CONTENT_TABLES:
        a, b = content(wh, table), content(fresh, table)
        assert same(a, b), f"{table}: {difference(a, b)}"
    # And in file order too, partition by partition.
    x, y = partition_files(wh), partition_files(fresh)
    for name in (n for n in x if n.split("/")[0] in ARTICLE_TABLES):
        assert x[name].equals(y[name]), name


def test_a_range_reads_only_the_row_groups_it_needs(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shrink(monkeypatch)
    wh = tmp_path / "wh"
    run_local([str(raw)], str(wh))
    path = max(wh.glob("sentences/*/part-0.parquet"), key=lambda p: pq.ParquetFile(p).metadata.num_rows)
    groups_read: list[list[int]] = []
    with pq.ParquetFile(path) as pf:
        real = pf.read_row_groups

        def spy(groups: list[int], *args: object, **kwargs: object) -> pa.Table:
            groups_read.append(list(groups))
            return real(groups, *args, **kwargs)

        monkeypatch.setattr(pf, "read_row_groups", spy)
        ids = pf.read(columns=["article_id"])["article_id"].unique().sort()
        first = pa.array([ids[0].as_py()], pa.string())
        rows = _old_rows(pf, "sentences", str(path), first, set())
        assert set(rows["article_id"].to_pylist()) == {ids[0].as_py()}
        assert 0 < len(groups_read[0]) < pf.metadata.num_row_groups
        # Dropped articles are left out even when their row groups are read.
        assert _old_rows(pf, "sentences", str(path), first, {ids[0].as_py()}).num_rows == 0
    assert Warehouse(str(wh)).read_partition("sentences", path.parent.name) is not None
