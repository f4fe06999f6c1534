"""The command line as a new user meets it: mistakes in one line, a clean terminal, Ctrl-C.

Mistakes are checked before any Prefect server starts, so most of these run in-process and
fast; the end-to-end ones run ``note-etl`` as a subprocess, as a terminal would.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from tqdm import tqdm

from etl.cli import _logs_above_the_bar, main
from etl.local_server import LocalServer, ServerStartError, wait_started

from .conftest import ROOT, SEED

BIN = Path(sys.executable).parent


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# -- mistakes: one line naming the file and the problem, exit 2 ------------------------------


def test_a_path_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "raw" / "nope.txt"
    assert main(["run", str(missing), "--warehouse", str(tmp_path / "wh")]) == 2
    assert one_line_error(capsys) == f"note-etl: run: {missing}: no such file or folder"
    assert not (tmp_path / "wh").exists()


def test_no_raw_folder_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    assert "raw: no such file or folder (give the files or folders to process" in one_line_error(capsys)


def test_a_file_given_as_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "wh").write_text("not a folder", encoding="utf-8")
    assert main(["run", str(SEED), "--warehouse", str(tmp_path / "wh")]) == 2
    assert one_line_error(capsys) == (
        f"note-etl: run: {tmp_path / 'wh'}: is a file, not a warehouse folder (--warehouse takes a folder)"
    )


def test_a_folder_of_other_files_is_not_taken_as_warehouse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text("mine", encoding="utf-8")
    assert main(["run", str(SEED), "--warehouse", str(tmp_path / "docs")]) == 2
    assert "holds files but no note-etl tables" in one_line_error(capsys)


def test_a_broken_taxonomy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "topics.yaml"
    bad.write_text("taxonomy_version: '1'\ntopics:\n  - id: Bad-Id\n    label_ja: x\n", encoding="utf-8")
    assert main(["run", str(SEED), "--warehouse", str(tmp_path / "wh"), "--taxonomy", str(bad)]) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"note-etl: run: {bad}:3: ")


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope"), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("no such file or folder")


def test_a_broken_settings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "my.yaml"
    bad.write_text("acounts: [digital_jp]\n", encoding="utf-8")
    assert main(["serve", "--config", str(bad)]) == 2
    assert one_line_error(capsys).startswith(f"note-etl: serve: {bad}: acounts: unknown key")
    assert main(["fetch", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read the settings file" in one_line_error(capsys)


def test_an_account_that_is_not_a_note_urlname(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "p.yaml"
    cfg.write_text("accounts: []\n", encoding="utf-8")
    assert main(["fetch", "not an account!", "--config", str(cfg)]) == 2
    assert "not an account!" in one_line_error(capsys)
    assert main(["fetch", "--config", str(cfg)]) == 2
    assert one_line_error(capsys) == f"note-etl: fetch: no accounts given and none in {cfg}"


@pytest.mark.parametrize("command", ["views", "report"])
def test_views_and_report_refuse_what_is_not_a_warehouse(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--warehouse", str(tmp_path / "mistyped")]) == 2
    assert one_line_error(capsys).endswith(
        "mistyped: no such folder (no warehouse there yet: `note-etl run` writes one)"
    )
    (tmp_path / "other").mkdir()
    assert main([command, "--warehouse", str(tmp_path / "other")]) == 2
    assert one_line_error(capsys).endswith("other: not a note-etl warehouse (no tables in it)")
    assert not list((tmp_path / "other").iterdir())


# -- serve checks everything before it registers anything -------------------------------------


def project_with_copied_config(tmp_path: Path) -> Path:
    """The README's advice followed: config/pipeline.yaml copied into the project folder."""
    (tmp_path / "raw").mkdir()
    shutil.copy(SEED, tmp_path / "raw" / SEED.name)
    config = tmp_path / "my.yaml"
    shutil.copy(ROOT / "config" / "pipeline.yaml", config)
    return config


def test_serve_names_the_root_a_copied_config_points_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    config = project_with_copied_config(project)
    # No Prefect server is set up: the check must fail first, before serve reaches Prefect.
    assert main(["serve", "--config", str(config)]) == 2
    line = one_line_error(capsys)
    assert line == (
        f"note-etl: serve: {config}: raw: {tmp_path / 'raw'}: no such folder (relative paths start at "
        f"{tmp_path}: `root` is relative to the settings file's folder)"
    )
    config.write_text(config.read_text(encoding="utf-8").replace("root: ..", "root: ."), encoding="utf-8")
    from etl.cli import _settings, check_serve

    check_serve(_settings(str(config)))  # passes: raw/ found, warehouse creatable, taxonomy valid


def test_serve_checks_the_taxonomy_and_the_deployment_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project_with_copied_config(tmp_path)
    (tmp_path / "topics.yaml").write_text("topics: {}\n", encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace("root: ..", "root: .")
    config.write_text(text + "taxonomy: topics.yaml\n", encoding="utf-8")
    assert main(["serve", "--config", str(config)]) == 2
    assert one_line_error(capsys).startswith(
        f"note-etl: serve: {config}: taxonomy: {tmp_path / 'topics.yaml'}:"
    )
    config.write_text(text, encoding="utf-8")
    assert main(["serve", "--config", str(config), "--only", "process-everything"]) == 2
    assert "--only process-everything: unknown deployment" in one_line_error(capsys)


def test_the_shipped_settings_start_at_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.cli import _settings

    monkeypatch.chdir(tmp_path)  # no config/pipeline.yaml here
    settings = _settings(None)
    assert settings.raw == str(tmp_path / "raw") and settings.warehouse == str(tmp_path / "warehouse")
    assert settings.taxonomy is None and settings.accounts


# -- the temporary Prefect server ---------------------------------------------------------------


def test_a_server_that_does_not_start_is_retried_once_then_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    launched: list[LocalServer] = []

    class NeverAnswers(LocalServer):
        def __init__(self, timeout: float = 0.5) -> None:
            launched.append(self)
            self.timeout, self.port, self.url = timeout, 0, "http://127.0.0.1:9/api"

        def wait(self) -> float:
            raise ServerStartError(f"no answer at {self.url} within {self.timeout:g} s")

    monkeypatch.setattr("etl.local_server.LocalServer", NeverAnswers)
    with pytest.raises(
        ServerStartError, match=r"did not start \(2 tries: no answer .*run again; or start a server"
    ):
        wait_started(NeverAnswers())
    assert len(launched) == 2


# -- terminal output ----------------------------------------------------------------------------


def test_log_lines_go_above_the_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    with _logs_above_the_bar(), tqdm(total=10, file=sys.stderr, desc="note-etl", mininterval=0) as bar:
        bar.update(3)
        logging.getLogger("note_etl_test").warning("rejected raw/x.txt: empty input")
        bar.update(3)
    out = err.getvalue()
    at = out.index("rejected raw/x.txt")
    # The line starts a line of its own (the bar was cleared first), and the bar comes back.
    assert out[at - 1] in "\r\n", repr(out[max(0, at - 40) : at + 40])
    assert "6/10" in out[at:]
    assert root.handlers == [handler]


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "note-etl"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PREFECT_HOME": str(cwd / ".prefect"), **(env or {})},
    )


HIDE_SYSTEM_FONTS = textwrap.dedent(
    """
    # A fresh machine: no system fonts at all (only matplotlib's own), none found by a rescan.
    import matplotlib.font_manager as fm
    fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist if "mpl-data" in f.fname]
    fm.findSystemFonts = lambda *a, **k: []
    """
)


def test_a_fresh_machine_run_is_clean(tmp_path: Path) -> None:
    """``make run`` where no font, no Chromium and no server is installed: no traceback,
    no Prefect INFO lines, one summary saying where everything is."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    (raw / "broken.json").write_text("{", encoding="utf-8")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE_SYSTEM_FONTS, encoding="utf-8")
    empty_fonts = tmp_path / "fonts.conf"
    empty_fonts.write_text("<?xml version='1.0'?><fontconfig></fontconfig>", encoding="utf-8")
    env = {
        "PYTHONPATH": str(site),
        "FONTCONFIG_FILE": str(empty_fonts),
        "MPLCONFIGDIR": str(tmp_path / "mpl"),  # no font cache from earlier runs
        "PATH": str(BIN) + os.pathsep + "/usr/bin:/bin",  # no chromium on it is fine either way
    }
    env_no_url = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = subprocess.run(
        [str(BIN / "note-etl"), "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**env_no_url, "PREFECT_HOME": str(tmp_path / ".prefect"), **env},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    assert " | INFO " not in proc.stderr, proc.stderr
    wh = tmp_path / "warehouse"
    assert proc.stdout.splitlines() == [
        proc.stdout.splitlines()[0],
        f"  rejected {raw / 'broken.json'}: parse_error: "
        + proc.stdout.split("parse_error: ")[1].splitlines()[0],
        f"  tables -> {wh} (query them: note-etl views --warehouse {wh})",
        f"  report -> {wh / 'report.html'}",
    ]
    assert proc.stdout.startswith("run ") and ": 2 inputs, 1 written, 0 unchanged, 1 rejected" in proc.stdout
    assert (wh / "report.html").stat().st_size > 10_000


def test_ctrl_c_stops_fast_and_leaves_the_warehouse_as_it_was(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    wh = tmp_path / "wh"
    first = run_cli(["run", str(raw), "--warehouse", str(wh)], tmp_path)
    assert first.returncode == 0, first.stderr
    before = {name: pd.read_parquet(wh / name) for name in ("articles", "segments", "runs")}
    seed = SEED.read_text(encoding="utf-8")
    for i in range(120):  # enough work to be interrupted in the middle of
        (raw / f"copy{i:03}.txt").write_text(f"{seed}\n追記 {i}。\n", encoding="utf-8")

    proc = subprocess.Popen(
        [str(BIN / "note-etl"), "run", str(raw), "--warehouse", str(wh), "-v", "--batch-size", "5"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PREFECT_HOME": str(tmp_path / ".prefect")},
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    lines: list[str] = []
    processing = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "stage-batch-2" in line:
                processing.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert processing.wait(240), "".join(lines)
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    proc.wait(timeout=60)
    stopped_after = time.monotonic() - sent
    reader.join(10)
    err = "".join(lines)
    assert proc.returncode == 130, err
    assert stopped_after < 5, f"{stopped_after:.1f} s\n{err}"
    assert "Event(" not in err and "Connection refused" not in err, err
    assert err.strip().splitlines()[-1].startswith("note-etl: interrupted")
    # -v shows Prefect's INFO lines, the per-article ones included.
    assert " | INFO " in err and "processed " in err
    for name, table in before.items():
        pd.testing.assert_frame_equal(pd.read_parquet(wh / name), table, obj=name)
    # The next run does the work, undisturbed by what the interrupted one left.
    again = run_cli(["run", str(raw), "--warehouse", str(wh)], tmp_path)
    assert again.returncode == 0, again.stderr
    assert ": 121 inputs, 120 written, 1 unchanged, 0 rejected" in again.stdout
