"""The wheel, installed (not editable) into a fresh virtualenv, works from any folder.

The wheel is built from this checkout and installed without its dependencies; the
dependencies come from this test environment's site-packages, added to the new venv as a
path (a ``.pth`` line does not run the ``.pth`` files there, so this checkout's editable
install stays out of it). What is tested is the wheel's own content: the one top-level
package, the package data it reads, its console script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT, SEED


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # A copy of the sources, so the build leaves nothing (build/, egg-info) in the checkout.
    src = tmp_path_factory.mktemp("src") / "note-etl"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "warehouse", ".prefect", "*_cache", "__pycache__", "bench"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("note_etl-*.whl")
    return built


def test_the_wheel_holds_one_package_and_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"etl"}
    for data in (
        "etl/config/topics.yaml",
        "etl/config/pipeline.yaml",
        "etl/sql/views.sql",
        "etl/flows/note_etl.py",
        "etl/config/facets.yaml",
    ):
        assert data in names, data
    # Every module of the source tree is in the wheel (a subpackage left out of
    # pyproject's package list would install and then fail on import).
    src = Path(__file__).resolve().parents[1] / "src"
    for module in sorted(src.rglob("*.py")):
        assert module.relative_to(src).as_posix() in names, module


def test_installed_wheel_runs_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(SEED, work / "article.txt")
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PYTHONPATH")}
    env["PREFECT_HOME"] = str(tmp_path / ".prefect")
    note_etl = str(env_dir / "bin" / "note-etl")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [note_etl, *args], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    where = subprocess.run(
        [
            str(python),
            "-c",
            "import etl, etl.package_data as p; print(etl.__file__); print(p.data_file('views.sql'))",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(w.startswith(str(site)) for w in where), where  # the wheel's copy, not the checkout's

    ran = run("run", "article.txt", "--warehouse", "wh")
    assert ": 1 inputs, 1 written" in ran.stdout
    assert "views" in run("views", "--warehouse", "wh").stdout
    assert (work / "wh" / "note_etl.duckdb").exists()
    run("report", "--warehouse", "wh", "--out", "r.html")
    assert (work / "r.html").stat().st_size > 10_000
