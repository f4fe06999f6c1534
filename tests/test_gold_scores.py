"""Gold-label floors: run the pipeline on every sample and the seed, score with score.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl.run import run_local

from .conftest import SAMPLES, SEED, SHARED

SCORE = SHARED / "tools" / "score.py"


def _score(gold: Path, warehouse: Path) -> dict[str, float | None]:
    out = subprocess.run(
        [sys.executable, str(SCORE), "--gold", str(gold), "--warehouse", str(warehouse)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("SUMMARY "))
    return {k: (None if v == "n/a" else float(v)) for k, v in re.findall(r"(\w+)=([\d.]+|n/a)", line)}


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SEED, raw / SEED.name)
    for path in (*(SAMPLES / "text").glob("*.txt"), *(SAMPLES / "cues" / "text").glob("*.txt")):
        shutil.copy(path, raw / path.name)
    wh = tmp_path_factory.mktemp("wh")
    summary = run_local([str(raw)], str(wh))
    assert summary.inputs_rejected == 0, summary.rejects
    return wh


def test_seed_floors(sample_warehouse: Path) -> None:
    s = _score(SAMPLES / "gold" / "seed.json", sample_warehouse)
    assert s["content_recall"] == 1.0
    assert s["speaker_acc"] == 1.0
    assert s["role_acc"] == 1.0
    assert s["boilerplate_leak"] == 0.0
    assert s["kind_acc"] is not None and s["kind_acc"] >= 0.95
    assert s["facet_acc"] is not None and s["facet_acc"] >= 0.90
    assert s["sentence_f1"] is not None and s["sentence_f1"] >= 0.98


def test_all_samples_floors(sample_warehouse: Path) -> None:
    s = _score(SAMPLES / "gold", sample_warehouse)
    assert s["speaker_acc"] == 1.0
    assert s["role_acc"] is not None and s["role_acc"] >= 0.98
    assert s["question_acc"] == 1.0
    assert s["content_recall"] == 1.0
    assert s["boilerplate_leak"] == 0.0
    assert s["kind_acc"] is not None and s["kind_acc"] >= 0.95
    assert s["facet_acc"] is not None and s["facet_acc"] >= 0.95


def test_samples_and_cues_together_floors(sample_warehouse: Path, tmp_path: Path) -> None:
    # The seed, the six samples and the 24 cue fixtures scored as one corpus, formats included.
    gold = tmp_path / "gold"
    gold.mkdir()
    for path in (*(SAMPLES / "gold").glob("*.json"), *(SAMPLES / "cues" / "gold").glob("*.json")):
        shutil.copy(path, gold / path.name)
    s = _score(gold, sample_warehouse)
    assert s["content_recall"] == 1.0
    assert s["speaker_acc"] is not None and s["speaker_acc"] >= 0.97
    assert s["role_acc"] is not None and s["role_acc"] >= 0.95
    assert s["question_acc"] is not None and s["question_acc"] >= 0.95
    assert s["kind_acc"] is not None and s["kind_acc"] >= 0.93
    assert s["format_acc"] is not None and s["format_acc"] >= 0.95
    assert s["boilerplate_leak"] is not None and s["boilerplate_leak"] <= 0.02


def test_seed_top_keyphrases_in_the_warehouse(sample_warehouse: Path) -> None:
    # The topics issue's bullet, on the stored table scored against this corpus.
    import pandas as pd

    articles = pd.read_parquet(sample_warehouse / "articles", columns=["article_id", "source_path"])
    seed_id = articles.loc[articles["source_path"].str.endswith(SEED.name), "article_id"].item()
    kp = pd.read_parquet(sample_warehouse / "keyphrases")
    seed = kp[kp["article_id"] == seed_id].groupby("base_form")["score"].max()
    top = list(seed.sort_values(ascending=False, kind="stable").index[:15])
    assert {"デジタル庁", "ガバメントクラウド", "政策データダッシュボード"} <= set(top), top
    assert not {"こと", "もの", "ため", "私"} & set(seed.index)


@pytest.fixture(scope="module")
def samples_and_cues(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The seed, the samples and the cue fixtures in one warehouse, and all their gold files."""
    raw = tmp_path_factory.mktemp("raw_all")
    shutil.copy(SEED, raw / SEED.name)
    for path in [*(SAMPLES / "text").glob("*.txt"), *(SAMPLES / "cues" / "text").glob("*.txt")]:
        shutil.copy(path, raw / path.name)
    gold = tmp_path_factory.mktemp("gold_all")
    for path in [*(SAMPLES / "gold").glob("*.json"), *(SAMPLES / "cues" / "gold").glob("*.json")]:
        shutil.copy(path, gold / path.name)
    wh = tmp_path_factory.mktemp("wh_all")
    run_local([str(raw)], str(wh))
    return gold, wh


def test_facet_floors(sample_warehouse: Path, samples_and_cues: tuple[Path, Path]) -> None:
    assert _score(SAMPLES / "gold", sample_warehouse)["facet_acc"] == 1.0
    gold, wh = samples_and_cues
    s = _score(gold, wh)
    assert s["facet_acc"] is not None and s["facet_acc"] >= 0.90
