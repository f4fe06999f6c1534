"""Every code block of the README and of docs/ runs as it is written.

Blocks are fenced with a language: ``python`` blocks are executed and ``sql`` blocks run in
DuckDB (over the views file, or over the Parquet files when they name them), both from a
folder whose ``warehouse/`` holds the development article, as after ``make run`` and
``note-etl views``. ``sh`` blocks are checked as far as they can run here: shell syntax,
every ``note-etl`` command line parses with the command's own options, every ``make``
target exists. ``text`` blocks are output and file layouts, not code.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from etl.cli import _parser
from etl.views import DB_FILE, VIEWS, write_views_db

from .conftest import ROOT
from .test_views import build_seed_warehouse

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = {"python", "sql", "sh", "text"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)


def blocks(path: Path) -> list[tuple[str, str]]:
    return FENCE.findall(path.read_text(encoding="utf-8"))


ALL = [(path, lang, code) for path in DOCS for lang, code in blocks(path)]


def block_id(item: tuple[Path, str, str]) -> str:
    path, lang, code = item
    return f"{path.relative_to(ROOT)}:{lang}:{code.strip().splitlines()[0][:40]}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the development article's ``warehouse/`` and its views file."""
    folder = tmp_path_factory.mktemp("project")
    build_seed_warehouse(folder)
    write_views_db(str(folder / "warehouse"))
    return folder


@pytest.fixture
def in_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(project)
    yield project


def test_every_block_says_its_language() -> None:
    assert len(DOCS) >= 5, DOCS
    unknown = [block_id(b) for b in ALL if b[1] not in LANGUAGES]
    assert not unknown, f"fence each block with one of {sorted(LANGUAGES)}: {unknown}"


def test_each_view_has_a_pandas_a_duckdb_and_a_polars_query() -> None:
    views_doc = [(lang, code) for path, lang, code in ALL if path.name == "views.md"]
    for name in VIEWS:
        assert any(lang == "python" and f'"{name}"' in code for lang, code in views_doc), name
        assert any(lang == "sql" and f"FROM {name}" in code for lang, code in views_doc), name
        assert any(
            lang == "python" and "polars" in code and f"FROM {name}" in code for lang, code in views_doc
        ), name


@pytest.mark.parametrize("item", [b for b in ALL if b[1] == "python"], ids=block_id)
def test_python_blocks_run(item: tuple[Path, str, str], in_project: Path) -> None:
    path, _, code = item
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(path), "exec"), {"__name__": "__docs__"})
    if "print(" in code:
        assert out.getvalue().strip(), "the example prints nothing"


@pytest.mark.parametrize("item", [b for b in ALL if b[1] == "sql"], ids=block_id)
def test_sql_blocks_run(item: tuple[Path, str, str], in_project: Path) -> None:
    _, _, code = item
    # Queries of Parquet files run anywhere; the others over the views file.
    database = ":memory:" if "read_parquet(" in code else str(Path("warehouse") / DB_FILE)
    with duckdb.connect(database, read_only=database != ":memory:") as con:
        assert con.execute(code).fetchall(), "the example returns no rows on the development article"


@pytest.mark.parametrize("item", [b for b in ALL if b[1] == "sh"], ids=block_id)
def test_shell_blocks_are_real_commands(item: tuple[Path, str, str]) -> None:
    _, _, code = item
    bash = shutil.which("bash")
    assert bash is not None
    syntax = subprocess.run([bash, "-n"], input=code, capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    targets = set(
        re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), flags=re.MULTILINE)
    )
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "make":
            named = [w for w in words[1:] if "=" not in w]
            assert all(t in targets for t in named), line
        for i, word in enumerate(words):
            if word == "note-etl" or word.endswith("bin/note-etl"):
                args = words[i + 1 :]
                try:
                    _parser().parse_args(args)
                except SystemExit as exc:  # --help exits 0; a wrong option exits 2
                    assert exc.code == 0 and "--help" in args, line
