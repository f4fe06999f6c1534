"""End to end through Prefect: the note_etl flow on a temporary raw/ and warehouse."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from prefect import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.testing.utilities import prefect_test_harness

from etl.cli import main as cli_main
from etl.flows.note_etl import note_etl
from etl.schemas import TABLES

from .conftest import SAMPLES, SEED


@pytest.fixture(scope="module", autouse=True)
def prefect_backend() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    shutil.copy(SAMPLES / "text" / "roundtable.txt", raw / "roundtable.txt")
    (raw / "broken.json").write_text("{not json", encoding="utf-8")
    (raw / "slides.pdf").write_bytes(b"%PDF-1.4 binary")
    return raw


def _read(wh: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(wh / table)


def test_flow_writes_every_table_and_rejects_bad_inputs(raw: Path, tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    result = note_etl(paths=[str(raw)], warehouse=str(wh), batch_size=2)
    assert result["inputs_seen"] == 4
    assert result["articles_written"] == 2
    assert result["inputs_rejected"] == 2
    for name, schema in TABLES.items():
        df = _read(wh, name)
        assert list(df.columns) == schema.names, name

    articles = _read(wh, "articles")
    seed = articles[articles.source_path.str.endswith("note_article.txt")].iloc[0]
    assert seed.title.startswith("データの利活用で")
    assert list(seed.speakers) == ["井下", "堀井"]
    assert seed.published_at is None or pd.isna(seed.published_at)

    rejects = _read(wh, "rejects").set_index("source_path")
    assert rejects.loc[str(raw / "broken.json"), "error_type"] == "parse_error"
    assert "JSON" in rejects.loc[str(raw / "broken.json"), "error_message"]
    assert rejects.loc[str(raw / "slides.pdf"), "error_type"] == "unsupported_format"

    runs = _read(wh, "runs")
    assert len(runs) == 1
    run = runs.iloc[0]
    assert run.inputs_seen == run.articles_written + run.articles_unchanged + run.inputs_rejected == 4
    assert (_read(wh, "segments").run_id == run.run_id).all()

    # Offsets slice the clean body; sentences nest in their segment.
    segments = _read(wh, "segments").merge(articles[["article_id", "body"]], on="article_id")
    for row in segments.itertuples():
        label = row.label if isinstance(row.label, str) else ""
        assert row.body[row.char_start : row.char_end] == label + row.text
    sentences = _read(wh, "sentences").merge(
        segments[["segment_id", "char_start", "char_end", "body"]], on="segment_id", suffixes=("", "_seg")
    )
    for row in sentences.itertuples():
        assert row.body[row.char_start : row.char_end] == row.text
        assert row.char_start_seg <= row.char_start < row.char_end <= row.char_end_seg

    # DuckDB reads the same dataset with a glob.
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM read_parquet('{wh}/segments/**/*.parquet')").fetchone()
    assert n is not None and n[0] == len(segments)
    top = con.execute(
        f"SELECT speaker_name, count(*) FROM read_parquet('{wh}/segments/**/*.parquet') "
        "WHERE speaker_role = 'interviewee' GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    assert top is not None and top[0] == "井下"


def test_rerun_is_unchanged_and_ids_are_deterministic(raw: Path, tmp_path: Path) -> None:
    wh1, wh2 = tmp_path / "wh1", tmp_path / "wh2"
    note_etl(paths=[str(raw)], warehouse=str(wh1))
    before = {
        t: _read(wh1, t)
        for t in ("articles", "segments", "sentences", "speakers", "segment_topics", "keyphrases", "rejects")
    }
    again = note_etl(paths=[str(raw)], warehouse=str(wh1))
    assert again["articles_unchanged"] == 2 and again["articles_written"] == 0
    for name, df in before.items():
        pd.testing.assert_frame_equal(_read(wh1, name), df, check_like=False, obj=name)
    assert len(_read(wh1, "runs")) == 2

    note_etl(paths=[str(raw)], warehouse=str(wh2))
    for table, key in (("segments", "segment_id"), ("sentences", "sentence_id"), ("speakers", "speaker_id")):
        assert _read(wh1, table)[key].tolist() == _read(wh2, table)[key].tolist()


def test_cli_runs_the_flow(raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wh = tmp_path / "wh"
    assert cli_main(["run", str(raw / SEED.name), "--warehouse", str(wh)]) == 0
    out = capsys.readouterr().out
    assert "1 inputs, 1 written" in out
    assert len(_read(wh, "segments")) == 61


def test_run_summary_artifacts(raw: Path, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    result = note_etl(paths=[str(raw)], warehouse=str(tmp_path / "wh"))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[result["run_id"]]))
        )
    by_key = {a.key: a for a in artifacts}
    summary = by_key["note-etl-run-summary"]
    assert summary.type == "markdown"
    assert "井下 (" in str(summary.data) and "broken.json" in str(summary.data)
    for key in ("note-etl-articles", "note-etl-speakers", "note-etl-topics", "note-etl-rejects"):
        assert by_key[key].type == "table", key


def test_internal_errors_are_loud_and_a_total_failure_fails_the_run(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from etl.analysis import Analyzer

    real = Analyzer.process_bytes

    def broken_for_the_seed(self: Analyzer, source_path: str, data: bytes, **kwargs: object) -> object:
        if source_path.endswith(SEED.name):
            raise KeyError("a bug")
        return real(self, source_path, data, **kwargs)  # type: ignore[arg-type]

    # Some inputs: the others are written, the exit code says that something needs a look.
    monkeypatch.setattr(Analyzer, "process_bytes", broken_for_the_seed)
    code = cli_main(["run", str(raw), "--warehouse", str(tmp_path / "wh"), "--batch-size", "2"])
    assert code == 3
    assert "1 input(s) hit an internal error" in capsys.readouterr().err
    rejects = _read(tmp_path / "wh", "rejects").set_index("source_path")
    assert rejects.loc[str(raw / SEED.name), "error_type"] == "internal_error:KeyError"
    assert len(_read(tmp_path / "wh", "articles")) == 1

    # Every input: the run fails (its rejects are still written).
    monkeypatch.setattr(Analyzer, "process_bytes", lambda *a, **k: (_ for _ in ()).throw(KeyError("a bug")))
    with pytest.raises(RuntimeError, match="every input failed"):
        note_etl(paths=[str(raw)], warehouse=str(tmp_path / "wh2"))
    assert set(_read(tmp_path / "wh2", "rejects")["error_type"]) >= {"internal_error:KeyError"}


def test_flow_materialises_each_table_as_an_asset(raw: Path, tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    result = note_etl(paths=[str(raw)], warehouse=str(wh), batch_size=2)
    keys = {f"file://{wh}/{name}" for name in TABLES}
    event_filter = EventFilter(
        event=EventNameFilter(name=["prefect.asset.materialization.succeeded"]),
        resource=EventResourceFilter(id=sorted(keys)),
    )
    events: list[Any] = []
    with get_client(sync_client=True) as client:
        for _ in range(100):  # the server stores events a moment after they are sent
            events = client.read_events(event_filter, limit=50).events
            if len(events) >= len(keys):
                break
            time.sleep(0.1)
    assert {e.resource.id for e in events} == keys
    for event in events:
        upstream = {r.id for r in event.related if r.role == "asset"}
        assert upstream == {f"file://{raw}"}, event.related
        assert event.payload["run_id"] == result["run_id"]
        assert event.payload["articles_written"] == 2
