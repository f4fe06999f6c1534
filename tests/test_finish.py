"""The end of a run: keyphrase document frequencies counted batch by batch as batches are
staged, and ranged merges that cut each staged source into its ranges once, write what the
plain definitions write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import etl.warehouse as warehouse_module
from etl.run import run_local
from etl.schemas import ARTICLE_TABLES

from .conftest import SAMPLES, SEED
from .warehouse_utils import content, difference, partition_files, same


def _raw(tmp_path: Path) -> Path:
    """The seed as a note page (first in path order) and as the richer note API JSON
    (later), so a later batch takes the article over; and the text samples beside them."""
    raw = tmp_path / "raw"
    (raw / "a").mkdir(parents=True)
    (raw / "b").mkdir()
    shutil.copy(SAMPLES / "html" / "seed_note.html", raw / "a" / "seed_note.html")
    shutil.copy(SAMPLES / "json" / "seed_note_api.json", raw / "b" / "seed_note_api.json")
    shutil.copy(SEED, raw / "b" / SEED.name)
    for path in sorted((SAMPLES / "text").glob("*")):
        if path.is_file():
            shutil.copy(path, raw / "b" / f"text-{path.name}")
    return raw


def test_an_article_taken_over_by_a_later_batch_is_scored_as_in_one_batch(tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    one, many = tmp_path / "one", tmp_path / "many"
    together = run_local([str(raw)], str(one), batch_size=100)
    apart = run_local([str(raw)], str(many), batch_size=1)
    assert [r.error_type for r in apart.rejects] == [r.error_type for r in together.rejects] == ["duplicate"]
    for table in ARTICLE_TABLES:  # (the duplicate's reject differs: it is found later)
        a, b = content(one, table), content(many, table)
        assert same(a, b), f"{table}: {difference(a, b)}"
    assert apart.top_keyphrases == together.top_keyphrases


@pytest.mark.parametrize("stage_budget", [0, 2**30])
def test_partitions_merged_in_worker_processes_are_those_merged_here(
    tmp_path: Path, stage_budget: int
) -> None:
    # The merge jobs travel to the pool's processes with their staged rows in memory, or
    # (budget 0) with where they were parked on disk; a later batch takes an article over.
    raw = _raw(tmp_path)
    here, pooled = tmp_path / "here", tmp_path / "pooled"
    alone = run_local([str(raw)], str(here), batch_size=100)
    side_by_side = run_local([str(raw)], str(pooled), batch_size=1, workers=2, stage_budget=stage_budget)
    for table in ARTICLE_TABLES:
        a, b = content(here, table), content(pooled, table)
        assert same(a, b), f"{table}: {difference(a, b)}"
    assert side_by_side.top_keyphrases == alone.top_keyphrases
    assert not (pooled / "_staging").exists()


@pytest.mark.parametrize("split_bytes", [0, 2**30])
def test_sources_cut_into_ranges_write_what_loading_them_per_range_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split_bytes: int
) -> None:
    raw = _raw(tmp_path)
    monkeypatch.setattr(warehouse_module, "MERGE_CHUNK_BYTES", 20_000)
    monkeypatch.setattr(warehouse_module, "ROW_GROUP_ROWS", 40)
    plain, cut = tmp_path / "plain", tmp_path / "cut"
    with monkeypatch.context() as m:
        m.setattr(warehouse_module, "_split_sources", lambda *args: [])
        run_local([str(raw)], str(plain), batch_size=2)
    # 0: only the first source is cut, the others are loaded per range.
    monkeypatch.setattr(warehouse_module, "SPLIT_BYTES", split_bytes)
    run_local([str(raw)], str(cut), batch_size=2)
    a, b = partition_files(plain), partition_files(cut)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name  # type: ignore[attr-defined]
