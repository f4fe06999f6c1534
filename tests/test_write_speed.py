"""The fast write path writes what the plain one did.

Staged rows live in memory up to a budget and on disk past it: both must give the same
tables, and a retried ``finish_run`` must end like one run. The contract checks run on the
batch's Arrow tables and are vectorised: they must still reject exactly the articles a
row-by-row reading would, and list their failed checks.
"""

from __future__ import annotations

import html
import json
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl import PIPELINE_VERSION
from etl.analysis import Analyzer, ArticleRows, EtlOptions
from etl.batches import BatchResult, _keyphrase_rows, process_batch
from etl.commit import RunState, commit_batch, finish_run
from etl.discovery import discover_inputs
from etl.run import batched, run_local
from etl.validation import (
    _failures,
    _frames_of_rows,
    _frames_of_tables,
    _same_article,
    batch_tables,
    validate_tables,
)
from etl.warehouse import STAGED_SUFFIX, Warehouse

from .conftest import SAMPLES, SEED
from .warehouse_utils import CONTENT_TABLES, content, difference, same

TEXTS = sorted((SAMPLES / "text").glob("*.txt"))
EDIT = "データ利活用とガバメントクラウドの取り組みについて、採用担当が追記しました。"


def _note_json(text: str, key: str, month: int) -> str:
    """A sample text as a note API answer published in ``2024-<month>``."""
    lines = [line for line in text.splitlines() if line.strip()]
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines[1:])
    data = {
        "key": key,
        "name": lines[0],
        "body": body,
        "publish_at": f"2024-{month:02d}-15T09:00:00+09:00",
        "user": {"urlname": "sample_account"},
    }
    return json.dumps({"data": data}, ensure_ascii=False)


def _raw(tmp: Path) -> Path:
    """Undated page texts and dated API answers: several partitions per batch."""
    raw = tmp / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    for i, p in enumerate(TEXTS):
        shutil.copy(p, raw / p.name)
        text = p.read_text(encoding="utf-8")
        (raw / f"{p.stem}.json").write_text(_note_json(text, f"n{i:04d}key", 1 + i % 3), encoding="utf-8")
    return raw


def _edit(raw: Path) -> None:
    """A second run's work: an edited text, an edited API answer moved to another month."""
    seed = raw / SEED.name
    seed.write_text(seed.read_text(encoding="utf-8") + "\n" + EDIT + "\n", encoding="utf-8")
    first = raw / f"{TEXTS[0].stem}.json"
    text = TEXTS[0].read_text(encoding="utf-8") + "\n" + EDIT
    first.write_text(_note_json(text, "n0000key", 6), encoding="utf-8")


def _assert_same_tables(left: Path, right: Path) -> None:
    for table in CONTENT_TABLES:
        a, b = content(left, table), content(right, table)
        assert same(a, b), f"{table}: {difference(a, b)}"


def _states(raw: Path, wh: Warehouse, budget: int) -> RunState:
    """A run's state after committing every batch of two inputs (not yet finished)."""
    inputs = discover_inputs([str(raw)])
    state = RunState.start(
        wh, run_id="r1", flow_name="test", started_at=datetime.now(UTC), inputs=inputs, stage_budget=budget
    )
    analyzer = Analyzer(EtlOptions())
    for paths in batched(inputs, 2):
        commit_batch(wh, process_batch(analyzer, paths, state.known), state)
    return state


@pytest.mark.parametrize("budget", [0, 40_000])
def test_staging_on_disk_writes_the_tables_staging_in_memory_writes(tmp_path: Path, budget: int) -> None:
    raw = _raw(tmp_path)
    memory, disk = tmp_path / "memory", tmp_path / "disk"
    run_local([str(raw)], str(memory), batch_size=3)
    run_local([str(raw)], str(disk), batch_size=3, stage_budget=budget)
    _assert_same_tables(disk, memory)
    _edit(raw)
    run_local([str(raw)], str(memory), batch_size=3)
    run_local([str(raw)], str(disk), batch_size=3, stage_budget=budget)
    _assert_same_tables(disk, memory)
    assert not (disk / "_staging").exists()


def test_staged_rows_stay_in_memory_within_the_budget(tmp_path: Path) -> None:
    wh = Warehouse(str(tmp_path / "wh"))
    state = _states(_raw(tmp_path), wh, budget=2**30)
    assert state.staging.spilled == 0 and state.staging.held > 0
    assert not (tmp_path / "wh" / "_staging").exists()
    finish_run(wh, state, Analyzer(EtlOptions()).taxonomy)
    assert state.staging.held == 0


def test_staged_rows_past_the_budget_wait_on_disk_until_the_run_ends(tmp_path: Path) -> None:
    wh = Warehouse(str(tmp_path / "wh"))
    state = _states(_raw(tmp_path), wh, budget=40_000)
    assert state.staging.spilled > 0 and state.staging.held > 0  # some of each
    assert state.staging.held < 40_000
    assert (tmp_path / "wh" / "_staging" / "r1").is_dir()
    finish_run(wh, state, Analyzer(EtlOptions()).taxonomy)
    assert not (tmp_path / "wh" / "_staging").exists()


@pytest.mark.parametrize("budget", [0, 2**30])
def test_a_retried_finish_ends_like_one_run(
    tmp_path: Path, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _raw(tmp_path)
    clean = tmp_path / "clean"
    run_local([str(raw)], str(clean), batch_size=2)
    wh = Warehouse(str(tmp_path / "wh"))
    state = _states(raw, wh, budget)
    taxonomy = Analyzer(EtlOptions()).taxonomy
    real = Warehouse.write_whole

    def fail_once(self: Warehouse, name: str, table: object, partition: str = "all") -> None:
        monkeypatch.setattr(Warehouse, "write_whole", real)
        raise OSError("connection reset")

    monkeypatch.setattr(Warehouse, "write_whole", fail_once)
    with pytest.raises(OSError, match="connection reset"):
        finish_run(wh, state, taxonomy)  # the article tables are merged, `topics` is not
    finish_run(wh, state, taxonomy)  # as Prefect retries write-warehouse
    _assert_same_tables(tmp_path / "wh", clean)


KILL_SCRIPT = """
import os, signal, sys
real_replace = os.replace
calls = 0

def replace(src, dst):
    global calls
    calls += 1
    if calls == 3:  # SIGKILL in place of the third rename, staged rows still on disk
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)

os.replace = replace
from etl.run import run_local
run_local([sys.argv[1]], sys.argv[2], batch_size=2, stage_budget=0)
"""


def test_a_run_killed_with_rows_staged_on_disk_is_redone_by_the_next(tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    clean, wh = tmp_path / "clean", tmp_path / "wh"
    run_local([str(raw)], str(clean), batch_size=2)
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(raw), str(wh)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert any((wh / "_staging").rglob(f"*{STAGED_SUFFIX}"))
    run_local([str(raw)], str(wh), batch_size=2)
    _assert_same_tables(wh, clean)
    assert not (wh / "_staging").exists()


# -- validation -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(EtlOptions())


def _batch(analyzer: Analyzer) -> list[ArticleRows]:
    """Three articles as commit_batch validates them (keyphrase rows, stamped)."""
    results = [analyzer.process_bytes(str(p), p.read_bytes()) for p in (SEED, *TEXTS[:2])]
    _keyphrase_rows(results)
    for r in results:
        r.tables  # noqa: B018  # as rows, the form an edited article takes
        r.stamp("run", PIPELINE_VERSION)
    return results


def test_an_article_failing_checks_is_rejected_with_every_failed_check(analyzer: Analyzer) -> None:
    results = _batch(analyzer)
    bad = results[1]
    bad.tables["sentences"][0]["segment_id"] = results[0].tables["segments"][0]["segment_id"]
    bad.tables["segments"][-1]["ordinal"] += 5
    bad.tables["keyphrases"][0]["marked"] = 99
    kept, rejects, tables = validate_tables(results)
    assert [r.article_id for r in kept] == [results[0].article_id, results[2].article_id]
    assert len(rejects) == 1 and rejects[0].error_type == "validation_error"
    assert rejects[0].source_path == bad.source_path
    for check in (
        "sentences: segment of the same article",
        "segments: ordinals contiguous from 0",
        "keyphrases: marked <= count",
    ):
        assert check in rejects[0].error_message
    # The tables hold exactly the kept articles' rows, as building them from those would.
    expected = batch_tables(kept)
    assert all(tables[name].equals(expected[name]) for name in expected)


def test_a_value_too_wide_for_its_column_is_rejected_by_its_check(analyzer: Analyzer) -> None:
    results = _batch(analyzer)
    heading = next(row for row in results[2].tables["segments"] if row["heading_level"] is not None)
    heading["heading_level"] = 300  # does not fit int8: the Arrow tables cannot be built
    kept, rejects, tables = validate_tables(results)
    assert [r.article_id for r in kept] == [r.article_id for r in results[:2]]
    assert "segments.heading_level: in_range(1, 6)" in rejects[0].error_message
    expected = batch_tables(kept)
    assert all(tables[name].equals(expected[name]) for name in expected)


def test_checks_on_arrow_tables_fail_the_rows_that_plain_rows_fail(analyzer: Analyzer) -> None:
    results = _batch(analyzer)
    results[0].tables["articles"][0]["body_chars"] += 1
    results[0].tables["sentences"][2]["char_end"] = 10**6
    results[1].tables["segment_topics"][0]["score"] = 1.5
    results[2].tables["speakers"][0]["speaker_id"] = "someone else"
    ids = [r.article_id for r in results]
    from_rows = _failures(*_frames_of_rows(results))
    from_tables = _failures(_frames_of_tables(batch_tables(results)))
    assert from_tables == from_rows and sorted(from_rows) == sorted(ids)


@given(
    st.lists(
        st.tuples(st.text("ab:", min_size=0, max_size=6), st.text("ab:0", min_size=0, max_size=9)),
        min_size=1,
        max_size=30,
    )
)
def test_same_article_is_a_prefix_test(pairs: list[tuple[str, str]]) -> None:
    ids, segments = pa.array([a for a, _ in pairs]), pa.array([s for _, s in pairs])
    assert _same_article(ids, segments).to_pylist() == [s.startswith(f"{a}:") for a, s in pairs]


def test_an_empty_batch_stages_nothing(tmp_path: Path) -> None:
    wh = Warehouse(str(tmp_path / "wh"))
    state = RunState.start(wh, run_id="r", flow_name="test", started_at=datetime.now(UTC), inputs=[])
    commit_batch(wh, BatchResult(), state)
    assert not state.staged and state.staging.held == 0
