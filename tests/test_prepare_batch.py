"""Batches are prepared (tables built and checked) where they are processed."""

from __future__ import annotations

from pathlib import Path

from etl.analysis import Analyzer, EtlOptions
from etl.batches import prepare_batch, process_batch

from .conftest import SEED


def test_duplicates_in_a_batch_get_one_set_of_tables(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(SEED.read_bytes())
    b.write_bytes(SEED.read_bytes())
    batch = prepare_batch(process_batch(Analyzer(EtlOptions()), [str(a), str(b)]), "run-1")
    assert batch.tables is not None
    assert batch.tables["articles"].num_rows == 1
    assert set(batch.tables["segments"]["run_id"].to_pylist()) == {"run-1"}
    # Both inputs go on to the writer, which decides between them and earlier runs.
    assert [r.source_path for r in batch.articles] == [str(a), str(b)]
    assert all("body" not in r.tables["articles"][0] for r in batch.articles)


def test_when_the_pick_fails_its_checks_the_copies_are_its_duplicates(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(SEED.read_bytes())
    b.write_bytes(SEED.read_bytes())
    processed = process_batch(Analyzer(EtlOptions()), [str(a), str(b)])
    for r in processed.articles:
        r.tables["segments"][0]["speaker_confidence"] = 7.0  # outside 0..1
    batch = prepare_batch(processed, "run-1")
    assert batch.articles == [] and batch.tables is not None and batch.tables["articles"].num_rows == 0
    assert sorted((rj.source_path, rj.error_type) for rj in batch.rejects) == [
        (str(a), "validation_error"),
        (str(b), "duplicate"),
    ]
