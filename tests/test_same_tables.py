"""The same inputs give the same tables, row for row, across changes to how the run works.

``tests/golden/same_tables.json`` holds per-article digests of every table written by a run
over the seed, all samples and cue articles and a generated 1 MB benchmark corpus (see
``tests/same_tables.py``). A change that is meant to change the output records new digests
(``python tests/same_tables.py --write``) and says why in its commit; any other difference
names the tables and articles it touched.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.run import run_local
from tests.same_tables import GOLDEN, SHARED, digests, inputs


@pytest.mark.parametrize("workers", [1, 2])
def test_tables_match_the_recorded_digests(tmp_path: Path, workers: int) -> None:
    paths = inputs(tmp_path)
    run_local(paths, str(tmp_path / "wh"), workers=workers)
    found = digests(str(tmp_path / "wh"), (f"{tmp_path}/", f"{SHARED}/"))
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(found) == sorted(expected)
    for table in expected:
        changed = sorted(
            k
            for k in expected[table].keys() | found[table].keys()
            if expected[table].get(k) != found[table].get(k)
        )
        assert not changed, f"{table}: {len(changed)} article(s) differ, e.g. {changed[:5]}"
    assert sum(len(v) for v in expected.values()) > 300  # the corpus really was read
