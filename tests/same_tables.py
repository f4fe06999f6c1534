"""Digests of a warehouse's tables, article by article, to compare two versions of the run.

The digest of a table is one short hash per article over its rows (sorted, every column
but the ones that name the run: ``run_id``, ``processed_at``), so a change names the
articles and tables it touched. ``python tests/same_tables.py --write`` records the
digests of the current code in ``tests/golden/same_tables.json``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
GOLDEN = ROOT / "tests" / "golden" / "same_tables.json"
#: Columns that say which run wrote a row or when, not what it holds.
RUN_COLUMNS = frozenset({"run_id", "processed_at", "pipeline_version"})
TABLES = ("articles", "segments", "sentences", "speakers", "segment_topics", "keyphrases")
CORPUS_MB = 1.0
CORPUS_SEED = 5


def inputs(tmp: Path) -> list[str]:
    """The seed, every sample and cue article, and a generated benchmark corpus."""
    spec = importlib.util.spec_from_file_location("bench_make_corpus_same", ROOT / "bench" / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.make_corpus(str(tmp / "corpus"), CORPUS_MB, seed=CORPUS_SEED)
    return [
        str(SHARED / "seed" / "note_article.txt"),
        str(SHARED / "samples" / "text"),
        str(SHARED / "samples" / "html"),
        str(SHARED / "samples" / "json"),
        str(SHARED / "samples" / "cues" / "text"),
        str(tmp / "corpus"),
    ]


def _canon(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_canon(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _relative(path: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def digests(warehouse: str, prefixes: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``{table: {article_id: hash}}`` for the per-article tables of ``warehouse``; source
    paths are written without the first of ``prefixes`` they start with."""
    from etl.warehouse import Warehouse

    wh = Warehouse(warehouse)
    out: dict[str, dict[str, str]] = {}
    for name in TABLES:
        table = wh.read(name)
        assert table is not None, name
        rows_of: dict[str, list[str]] = defaultdict(list)
        cols = [c for c in table.column_names if c not in RUN_COLUMNS]
        for row in table.select(cols).to_pylist():
            if "source_path" in row:
                row["source_path"] = _relative(row["source_path"], prefixes)
            rows_of[row["article_id"]].append(
                json.dumps({k: _canon(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True)
            )
        out[name] = {
            aid: hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()[:16]
            for aid, rows in sorted(rows_of.items())
        }
    rejects = wh.read("rejects")
    assert rejects is not None
    out["rejects"] = {
        _relative(row["source_path"], prefixes): row["error_type"]
        for row in rejects.select(["source_path", "error_type"]).to_pylist()
    }
    return out


if __name__ == "__main__":
    import tempfile

    from etl.run import run_local

    with tempfile.TemporaryDirectory() as tmp:
        paths = inputs(Path(tmp))
        run_local(paths, str(Path(tmp) / "wh"))
        found = digests(str(Path(tmp) / "wh"), (tmp + "/", str(SHARED) + "/"))
        GOLDEN.write_text(json.dumps(found, indent=0, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {GOLDEN}")
