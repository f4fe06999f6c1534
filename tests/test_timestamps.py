"""Publication times: the true instant stored in UTC, months in Japan time everywhere.

pandera's import sets ``PYARROW_IGNORE_TIMEZONE=1``, under which pyarrow drops a time's
offset instead of converting it; the times here sit near midnight and month ends, in
+09:00 and other offsets, so a shift of hours moves them across a day or a month. They go
through the real write path (a run), and are read back from the Parquet files, the
partition folders, the views and the report.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import etl
from etl import PIPELINE_VERSION
from etl.report_html import _article_html, _load
from etl.run import run_local
from etl.views import read_view

# (publish_at as the source writes it, the instant in UTC, the publication month in Tokyo)
TIMES = [
    ("2024-02-01T10:00:00+09:00", datetime(2024, 2, 1, 1, 0, tzinfo=UTC), "2024-02"),  # the API sample
    ("2024-02-29T20:00:00+09:00", datetime(2024, 2, 29, 11, 0, tzinfo=UTC), "2024-02"),
    ("2024-02-29T23:59:59+09:00", datetime(2024, 2, 29, 14, 59, 59, tzinfo=UTC), "2024-02"),
    ("2024-03-01T00:00:00+09:00", datetime(2024, 2, 29, 15, 0, tzinfo=UTC), "2024-03"),
    ("2024-03-01T08:59:59+09:00", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC), "2024-03"),
    ("2024-01-31T15:00:00Z", datetime(2024, 1, 31, 15, 0, tzinfo=UTC), "2024-02"),
    ("2024-01-31T14:59:59+00:00", datetime(2024, 1, 31, 14, 59, 59, tzinfo=UTC), "2024-01"),
    ("2024-02-29T20:00:00-05:00", datetime(2024, 3, 1, 1, 0, tzinfo=UTC), "2024-03"),
    ("2023-12-31T23:30:00-12:00", datetime(2024, 1, 1, 11, 30, tzinfo=UTC), "2024-01"),
    ("2024-12-31T23:59:00", datetime(2024, 12, 31, 14, 59, tzinfo=UTC), "2024-12"),  # naive: JST
    ("2025-01-01T08:59:59+09:00", datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), "2025-01"),
    ("2024-06-30T23:00:00+05:30", datetime(2024, 6, 30, 17, 30, tzinfo=UTC), "2024-07"),
]


def _key(i: int) -> str:
    return f"n{i:012d}"


def _write_inputs(raw: Path) -> None:
    raw.mkdir()
    for i, (when, _, _) in enumerate(TIMES):
        payload = {
            "data": {
                "key": _key(i),
                "name": f"時刻の記事{i}",
                "body": f"<p>{i}番目の記事の本文です。データの利活用について話しました。</p>",
                "publish_at": when,
            }
        }
        (raw / f"{_key(i)}.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")


def _stored(wh: Path) -> dict[str, tuple[datetime, str]]:
    """article id -> (published_at as stored, the partition folder holding its row)."""
    out: dict[str, tuple[datetime, str]] = {}
    for part in sorted((wh / "articles").iterdir()):
        table = pq.read_table(part / "part-0.parquet", columns=["article_id", "published_at"])
        for row in table.to_pylist():
            assert row["article_id"] not in out, f"{row['article_id']} is in two partitions"
            out[row["article_id"]] = (row["published_at"], part.name)
    return out


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("times")
    _write_inputs(root / "raw")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYARROW_IGNORE_TIMEZONE", "1")  # what pandera's import does
        summary = run_local([str(root / "raw")], str(root / "wh"))
    assert summary.articles_written == len(TIMES), summary.rejects
    return root / "wh"


@pytest.mark.parametrize(("i", "when"), [(i, t[0]) for i, t in enumerate(TIMES)])
def test_stored_instant_and_partition(warehouse: Path, i: int, when: str) -> None:
    _, utc, month = TIMES[i]
    stored, partition = _stored(warehouse)[_key(i)]
    assert stored == utc, f"{when} stored as {stored}"
    assert partition == month, f"{when} is in partition {partition}"


def test_views_months_are_the_partitions(warehouse: Path) -> None:
    overview = read_view(str(warehouse), "article_overview")
    segments = read_view(str(warehouse), "content_segments")
    stored = _stored(warehouse)
    for i, (when, utc, month) in enumerate(TIMES):
        row = overview[overview.article_id == _key(i)].iloc[0]
        assert row.month == month == stored[_key(i)][1], when
        assert row.published_at.to_pydatetime() == utc, when
        assert set(segments[segments.article_id == _key(i)].month) == {month}, when
    trends = read_view(str(warehouse), "topic_trends")
    assert set(trends.month) <= {m for _, _, m in TIMES}
    assert all(str(d)[:7] == m for d, m in zip(trends.month_start, trends.month, strict=True))


def test_report_dates_are_japan_days(warehouse: Path) -> None:
    data = _load(str(warehouse), 100)
    days = {
        _key(i): (utc.astimezone(etl.warehouse.JST).strftime("%Y-%m-%d"))
        for i, (_, utc, _) in enumerate(TIMES)
    }
    assert {a["article_id"] for a in data.articles} == set(days)
    for article in data.articles:
        html = _article_html(article, data, "")
        assert f"{days[article['article_id']]} · note_api" in html, article["published_at"]


def test_warehouse_written_with_the_shift_is_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse written by the old code (offset dropped, months in the source's offset,
    the old pipeline version) is corrected by the next run: every input is processed again,
    each article ends in one partition, the right one, with the true instant."""
    import etl.batches
    import etl.commit
    import etl.warehouse

    _write_inputs(tmp_path / "raw")
    old_version = f"note-etl/{etl.__version__}"  # the pipeline version before the correction
    assert old_version != PIPELINE_VERSION
    with monkeypatch.context() as mp:
        mp.setenv("PYARROW_IGNORE_TIMEZONE", "1")
        mp.setattr(etl.warehouse, "_utc", lambda values: values)  # offsets dropped
        old_months = lambda t: t.strftime("%Y-%m") if t else "undated"  # noqa: E731
        mp.setattr(etl.commit, "partition_of", old_months)
        mp.setattr(etl.batches, "partition_of", old_months)
        for module in ("etl.batches", "etl.commit", "etl.warehouse"):
            mp.setattr(f"{module}.PIPELINE_VERSION", old_version)
        run_local([str(tmp_path / "raw")], str(tmp_path / "wh"))
    shifted = _stored(tmp_path / "wh")
    assert shifted[_key(0)][0] == datetime(2024, 2, 1, 10, 0, tzinfo=UTC)  # the old fault, reproduced

    summary = run_local([str(tmp_path / "raw")], str(tmp_path / "wh"))
    assert summary.articles_written == len(TIMES) and summary.articles_unchanged == 0
    stored = _stored(tmp_path / "wh")
    for i, (when, utc, month) in enumerate(TIMES):
        assert stored[_key(i)] == (utc, month), when
    for table, key in (("segments", "segment_id"), ("sentences", "sentence_id")):
        ids = pq.read_table(tmp_path / "wh" / table, columns=[key])[key].to_pylist()
        assert len(ids) == len(set(ids)) > 0, f"{table}: rows of the old partitions left behind"
    versions = set(
        pq.read_table(tmp_path / "wh" / "articles", columns=["pipeline_version"])[
            "pipeline_version"
        ].to_pylist()
    )
    assert versions == {PIPELINE_VERSION}
