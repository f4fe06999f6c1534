"""Killed writers and concurrent runs never leave a table half-written or duplicated."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from etl.errors import WarehouseError
from etl.run import run_local
from etl.warehouse import Warehouse

from .conftest import SAMPLES, SEED
from .warehouse_utils import CONTENT_TABLES, content, difference, same

KILL_SCRIPT = """
import os, signal, sys
calls = 0
real_replace = os.replace

def replace(src, dst):
    # SIGKILL in place of the Nth rename: the temp file is written, the table is not.
    global calls
    calls += 1
    if calls == int(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)

os.replace = replace
from etl.run import run_local
run_local([sys.argv[1]], sys.argv[2])
"""


def _raw(tmp: Path) -> Path:
    raw = tmp / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    for name in ("qa_labeled.txt", "roundtable.txt"):
        shutil.copy(SAMPLES / "text" / name, raw / name)
    (raw / "bad.json").write_text("{", encoding="utf-8")
    return raw


def _change(raw: Path) -> None:
    """The second run's work: one edited article, one new, one removed reject cause."""
    seed = raw / SEED.name
    seed.write_text(
        seed.read_text(encoding="utf-8").replace("井下です。", "井下です。よろしくお願いします。"),
        encoding="utf-8",
    )
    shutil.copy(SAMPLES / "text" / "essay_author.txt", raw / "essay_author.txt")
    (raw / "bad.json").write_text("{}", encoding="utf-8")


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(raw after the change, warehouse before it, warehouse after a clean second run)."""
    tmp = tmp_path_factory.mktemp("recovery")
    raw = _raw(tmp)
    before = tmp / "before"
    run_local([str(raw)], str(before))
    _change(raw)
    after = tmp / "after"
    shutil.copytree(before, after)
    run_local([str(raw)], str(after))
    return raw, before, after


@pytest.mark.parametrize("kill_at", [1, 2, 4, 6, 8, 9])
def test_sigkill_leaves_old_or_new_tables_and_the_next_run_finishes(
    kill_at: int, states: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    raw, before, after = states
    wh = tmp_path / "wh"
    shutil.copytree(before, wh)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(raw), str(wh), str(kill_at)], capture_output=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    changed = 0
    for table in CONTENT_TABLES:
        now = content(wh, table)  # every table still reads
        old, new = content(before, table), content(after, table)
        assert same(now, old) or same(now, new), (
            f"{table} is neither the old nor the new content (kill at {kill_at})"
        )
        changed += not same(now, old)
    assert changed == min(kill_at - 1, changed)  # tables before the killed rename were replaced

    run_local([str(raw)], str(wh))
    for table in CONTENT_TABLES:
        assert same(content(wh, table), content(after, table)), f"{table} after recovery (kill at {kill_at})"
    assert not any(p.name.endswith(".tmp") for p in wh.rglob("*") if p.parent.name == "undated")


def test_two_concurrent_runs_end_like_one(tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    one = tmp_path / "one"
    run_local([str(raw)], str(one))
    both = tmp_path / "both"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from etl.run import run_local; print(run_local([sys.argv[1]], sys.argv[2]).line)",
                str(raw),
                str(both),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    # The lock serialised them: one wrote everything, the other found it unchanged.
    assert sorted(o.split(":")[1].split(",")[0].strip() for o in outs) == ["0 written", "3 written"]
    for table in CONTENT_TABLES:
        assert same(content(both, table), content(one, table)), (
            f"{table}: {difference(content(both, table), content(one, table))}"
        )
    assert len(pd.read_parquet(both / "runs")) == 2


def test_lock_timeout_says_what_is_wrong(tmp_path: Path) -> None:
    wh = Warehouse(str(tmp_path / "wh"))
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with wh.lock():
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    try:
        with pytest.raises(WarehouseError, match="locked by another run"), wh.lock(timeout=0.2):
            pass
    finally:
        release.set()
        t.join()
