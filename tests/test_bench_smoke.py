"""The benchmark keeps working: its corpus generator, and the whole table on a tiny corpus.

No timing is asserted (these machines are noisy); only that every row and column is there
and that every generated article goes through the pipeline.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from etl.analysis import Analyzer, EtlOptions

from .conftest import ROOT

BENCH = ROOT / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus_mod() -> ModuleType:
    return _load("make_corpus")


@pytest.fixture(scope="module")
def run_mod() -> ModuleType:
    return _load("run")


def _manifest(folder: Path) -> dict[str, object]:
    return json.loads((folder / ".manifest.json").read_text(encoding="utf-8"))


def test_corpus_is_deterministic_varied_and_a_prefix_of_a_larger_one(
    corpus_mod: ModuleType, tmp_path: Path
) -> None:
    a = corpus_mod.make_corpus(tmp_path / "a", 1.0, seed=7)
    b = corpus_mod.make_corpus(tmp_path / "b", 1.0, seed=7)
    small = corpus_mod.make_corpus(tmp_path / "small", 0.3, seed=7)
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    assert [p.read_bytes() for p in small] == [p.read_bytes() for p in a[: len(small)]]

    entries = _manifest(tmp_path / "a")["files"]
    assert isinstance(entries, list)
    assert {e["format"] for e in entries} == set(corpus_mod.INPUT_FORMATS)
    assert set(Counter(e["article_format"] for e in entries)) == set(corpus_mod.ARTICLE_FORMATS)
    sizes = [p.stat().st_size for p in a]
    assert 1.0e6 <= sum(sizes) < 1.0e6 + max(sizes)
    assert min(sizes) < 4_000 and max(sizes) > 30_000  # lengths vary from ~2 KB up
    assert len({p.stem for p in a}) == len(a)  # unique note keys / names
    texts = [p.read_text(encoding="utf-8") for p in a if p.suffix == ".txt"]
    assert len(set(texts)) == len(texts)


def test_corpus_refuses_a_folder_it_did_not_write(corpus_mod: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError):
        corpus_mod.make_corpus(tmp_path, 0.05)
    assert (tmp_path / "mine.txt").read_text(encoding="utf-8") == "keep me"


def test_every_generated_article_is_processed(corpus_mod: ModuleType, tmp_path: Path) -> None:
    analyzer = Analyzer(EtlOptions())
    for path in corpus_mod.make_corpus(tmp_path, 0.3, seed=11):
        rows = analyzer.process_bytes(str(path), path.read_bytes())
        assert rows.tables["segments"], path
        if path.suffix != ".txt":
            assert rows.tables["articles"][0]["note_key"] == path.stem
            assert rows.tables["articles"][0]["published_at"] is not None


def test_benchmark_table_on_a_tiny_corpus(run_mod: ModuleType, tmp_path: Path) -> None:
    report = run_mod.run_benchmark(0.2, out=tmp_path, workers=2, stage_mb=0.2)
    keys = [r.key for r in report.rows]
    expected = {
        "lib_all_1",
        "lib_all_w",
        "flow_all_1",
        "prefect_overhead_1",
        "prefect_own_1",
        "flow_all_w",
        "flow_rerun",
        "lib_rerun",
        "lib_incremental",
        "trafilatura",
        "lib_html_1",
        "lib_html_w",
        "tokenizer",
        "lib_text_1",
        "lib_text_w",
        "lib_prefix_1",
        "rss_ratio",
        *(f"stage_{s}" for s in ("parse", "segment", "speakers", "topics", "keyphrases", "rows")),
        "stage_validation",
        "stage_write",
        "stage_total",
        "ginza",
    }
    assert expected <= set(keys) and len(keys) == len(set(keys))
    if report.row("flow_all_w").seconds is not None:
        assert "prefect_overhead_w" in keys

    n = report.corpus["articles"]
    for key in ("lib_all_1", "lib_all_w", "flow_all_1"):
        row = report.row(key)
        assert row.articles == n, key  # every generated input written, none rejected
        assert row.seconds and row.seconds > 0 and row.mb_per_s and row.articles_per_s
    for key in (
        "lib_all_1",
        "lib_html_1",
        "lib_text_1",
        "lib_prefix_1",
        "trafilatura",
        "tokenizer",
        "flow_all_1",
    ):
        assert report.row(key).rss_mb and report.row(key).rss_mb > 0, key
    for key in ("prefect_overhead_1", "lib_rerun", "flow_rerun", "lib_html_1", "lib_html_w", "rss_ratio"):
        assert report.row(key).ratio and report.row(key).ratio > 0, key
    assert report.row("lib_rerun").articles == n  # the rerun found every input unchanged
    assert report.row("lib_incremental").articles == 1  # ... and this one the new article
    assert report.row("stage_total").ratio == 1.0
    own = report.row("prefect_own_1")  # the note-etl work was timed inside the flow's tasks
    assert own.seconds and own.seconds > 0 and own.ratio and own.ratio > 1

    table = report.markdown()
    lines = table.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| measurement"))
    assert lines[header] == "| " + " | ".join(run_mod.COLUMNS) + " |"
    body = lines[header + 2 : header + 2 + len(report.rows)]
    assert len(body) == len(report.rows)
    assert all(line.count("|") == len(run_mod.COLUMNS) + 1 for line in body)
    assert json.loads(json.dumps(report.to_json()))["rows"][0]["key"] == "lib_all_1"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_a_child_s_peak_rss_is_its_own_not_its_parent_s(run_mod: ModuleType, tmp_path: Path) -> None:
    # Linux carries ru_maxrss over an exec: a child of a parent that once held 300 MB
    # reported 300 MB itself (the whole-corpus runs, spawned after the corpus was
    # generated in the parent, looked 180 MB bigger than they were).
    held = bytearray(300 * 2**20)
    held[::4096] = b"\x01" * len(held[::4096])  # touch every page
    del held
    result = run_mod.run_child("tokenizer", [{"paths": []}], tmp_path)
    assert 0 < result["runs"][0]["rss_mb"] < 200
