"""Property: for any mix of good and bad inputs, every input is accounted for exactly once."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.run import run_local

from .conftest import SAMPLES
from .warehouse_utils import CONTENT_TABLES, content, same

GOOD = {p.name: p.read_bytes() for p in sorted((SAMPLES / "text").glob("*.txt"))}
BAD = {
    "empty.txt": b"",
    "binary.txt": b"%PDF-1.4 \x00\x01\x02",
    "broken.json": b"{",
    "shape.json": b"[]",
    "unknown.xyz": "記事".encode(),
    "chrome.txt": "みんなにも読んでほしいですか?".encode(),
}
inputs = st.lists(
    st.tuples(st.sampled_from(sorted(GOOD) + sorted(BAD)), st.integers(0, 3)),
    min_size=1,
    max_size=8,
    unique_by=lambda t: t,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_every_input_counted_once_and_reruns_change_nothing(picks: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw, wh = Path(tmp) / "raw", Path(tmp) / "wh"
        raw.mkdir()
        for name, copy in picks:
            stem, _, ext = name.rpartition(".")
            (raw / f"{stem}_{copy}.{ext}").write_bytes(GOOD.get(name, BAD.get(name, b"")))
        summary = run_local([str(raw)], str(wh))
        n = len(picks)
        assert summary.inputs_seen == n
        assert summary.articles_written + summary.articles_unchanged + summary.inputs_rejected == n

        articles = pd.read_parquet(wh / "articles")
        rejects = pd.read_parquet(wh / "rejects")
        seen = sorted([*articles.source_path, *rejects.source_path])
        assert seen == sorted(str(p) for p in raw.iterdir())
        segments = pd.read_parquet(wh / "segments")
        assert not segments.segment_id.duplicated().any()
        ids = set(segments.segment_id)
        for child in ("sentences", "segment_topics", "keyphrases"):
            assert set(pd.read_parquet(wh / child).segment_id) <= ids, child

        before = {t: content(wh, t) for t in CONTENT_TABLES}
        again = run_local([str(raw)], str(wh))
        assert again.articles_written == 0
        assert again.articles_unchanged + again.inputs_rejected == n
        for table in CONTENT_TABLES:
            assert same(content(wh, table), before[table]), table
