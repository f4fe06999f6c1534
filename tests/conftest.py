"""Shared fixtures: where the samples are, and small helpers to run the stages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLES = SHARED / "samples"
SEED = SHARED / "seed" / "note_article.txt"


def taxonomy_with_pattern(tmp_path: Path, pattern: str) -> Path:
    """A taxonomy file whose second topic has the one regex ``pattern``."""
    path = tmp_path / "topics.yaml"
    path.write_text(
        'taxonomy_version: "1"\ntopics:\n  - id: data\n    label_ja: データ\n    keywords: [データ]\n'
        f"  - id: slow\n    label_ja: 遅い\n    patterns: ['{pattern}']\n",
        encoding="utf-8",
    )
    return path


def sample_lines() -> list[str]:
    """Every line of the page-text samples, in path order (texts for fast-path checks)."""
    return [
        line for p in sorted(SAMPLES.rglob("*.txt")) for line in p.read_text(encoding="utf-8").splitlines()
    ]


def gold_files() -> list[Path]:
    return sorted((SAMPLES / "gold").glob("*.json"))


def load_gold(path: Path) -> tuple[dict[str, Any], Path]:
    """A gold file and the raw file it labels."""
    gold = json.loads(path.read_text(encoding="utf-8"))
    return gold, (path.parent.parent / gold["file"]).resolve()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.exists():
        pytest.fail(f"shared samples not found at {SAMPLES}: the project expects ../shared beside it")
    return SAMPLES
