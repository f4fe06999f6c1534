"""Incremental processing: unchanged inputs are skipped, changed ones replace their rows.

The corpus is the development article and the sample texts, as page text and as note API
answers (the form the fetch flow saves). Runs go through :func:`etl.run.run_local`, which
is what the ``note_etl`` flow's tasks call.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from etl.fetch import sidecar_path
from etl.run import run_local
from etl.schemas import ARTICLE_TABLES, TABLES

from .conftest import SAMPLES, SEED

# Columns that say which run wrote a row, not what the row holds.
RUN_COLUMNS = ("run_id", "processed_at", "rejected_at")
TEXTS = sorted((SAMPLES / "text").glob("*.txt"))
# A paragraph that shares phrases with the other articles, so the edit changes the
# corpus statistics (keyphrase document frequencies) as well as the edited article.
EDIT = "データ利活用とガバメントクラウドの取り組みについて、国家公務員の採用担当が追記しました。"


def note_json(text_path: Path, key: str) -> str:
    """A sample text as a note v3 API answer (title line, then one <p> per block)."""
    lines = [line for line in text_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines[1:])
    data = {"key": key, "name": lines[0], "body": body, "user": {"urlname": "sample_account"}}
    return json.dumps({"data": data}, ensure_ascii=False)


@pytest.fixture
def text_raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    for p in TEXTS:
        shutil.copy(p, raw / p.name)
    return raw


@pytest.fixture
def json_raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw" / "note" / "sample_account"
    folder.mkdir(parents=True)
    shutil.copy(SAMPLES / "json" / "seed_note_api.json", folder / "nd9314f0e9d9f.json")
    for i, p in enumerate(TEXTS):
        key = f"n{i:012x}"
        (folder / f"{key}.json").write_text(note_json(p, key), encoding="utf-8")
        # A fetch sidecar, as the fetch flow writes it; it must never become an input.
        Path(sidecar_path(str(folder / f"{key}.json"))).write_text('{"fetched_at": null}', encoding="utf-8")
    return tmp_path / "raw"


def content(wh: Path, table: str) -> pd.DataFrame:
    """A table without run columns, rows in a canonical order."""
    df = pd.read_parquet(wh / table) if (wh / table).exists() else TABLES[table].empty_table().to_pandas()
    df = df.drop(columns=[c for c in RUN_COLUMNS if c in df.columns])
    scalar = [
        c
        for c in df.columns
        if not df[c].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any()
    ]
    return df.sort_values(scalar).reset_index(drop=True)


def assert_same_tables(a: Path, b: Path, tables: tuple[str, ...]) -> None:
    for table in tables:
        pd.testing.assert_frame_equal(content(a, table), content(b, table), obj=table)


def part_files(wh: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for t in ARTICLE_TABLES for p in (wh / t).rglob("*.parquet")}


def edit(path: Path) -> None:
    if path.suffix == ".json":
        payload = json.loads(path.read_text(encoding="utf-8"))
        payload["data"]["body"] += f"<p>{EDIT}</p>"
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(path.read_text(encoding="utf-8") + f"\n\n{EDIT}\n", encoding="utf-8")


CONTENT_TABLES = tuple(t for t in TABLES if t != "runs")
STABLE_TABLES = tuple(t for t in CONTENT_TABLES if t != "keyphrases")


@pytest.mark.parametrize("corpus", ["text_raw", "json_raw"])
def test_second_run_writes_nothing_and_reports_all_unchanged(
    corpus: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    raw: Path = request.getfixturevalue(corpus)
    wh = tmp_path / "wh"
    first = run_local([str(raw)], str(wh))
    assert (first.inputs_seen, first.articles_written, first.inputs_rejected) == (7, 7, 0)
    files = part_files(wh)
    before = {t: content(wh, t) for t in CONTENT_TABLES}

    second = run_local([str(raw)], str(wh))
    assert (second.inputs_seen, second.articles_written, second.articles_unchanged) == (7, 0, 7)
    assert part_files(wh) == files  # not one article table file rewritten
    for table, df in before.items():
        pd.testing.assert_frame_equal(content(wh, table), df, obj=table)
    runs = pd.read_parquet(wh / "runs").sort_values("started_at")
    assert runs[["articles_written", "articles_unchanged", "inputs_rejected"]].values.tolist() == [
        [7, 0, 0],
        [0, 7, 0],
    ]


def test_editing_one_note_article_reprocesses_exactly_that_one(json_raw: Path, tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    run_local([str(json_raw)], str(wh))
    before = pd.read_parquet(wh / "articles").set_index("source_path")
    target = json_raw / "note" / "sample_account" / "n000000000003.json"
    edit(target)

    summary = run_local([str(json_raw)], str(wh))
    assert (summary.articles_written, summary.articles_unchanged) == (1, 6)
    assert [a["source_path"] for a in summary.articles] == [str(target)]
    after = pd.read_parquet(wh / "articles").set_index("source_path")
    assert sorted(after.index) == sorted(before.index)  # replaced, not duplicated
    changed = [p for p in after.index if after.loc[p, "content_sha256"] != before.loc[p, "content_sha256"]]
    assert changed == [str(target)]
    rewritten = [p for p in after.index if after.loc[p, "processed_at"] != before.loc[p, "processed_at"]]
    assert rewritten == [str(target)]
    segments = pd.read_parquet(wh / "segments")
    assert segments.segment_id.is_unique
    assert EDIT in set(segments.text)


def test_incremental_tables_equal_a_full_refresh(json_raw: Path, tmp_path: Path) -> None:
    wh, fresh = tmp_path / "wh", tmp_path / "fresh"
    run_local([str(json_raw)], str(wh))
    edit(json_raw / "note" / "sample_account" / "n000000000003.json")
    run_local([str(json_raw)], str(wh))
    run_local([str(json_raw)], str(fresh), full_refresh=True)
    assert_same_tables(wh, fresh, STABLE_TABLES)
    # --full-refresh on the same warehouse rewrites every article without duplicating any.
    again = run_local([str(json_raw)], str(wh), full_refresh=True)
    assert again.articles_written == 7
    assert_same_tables(wh, fresh, CONTENT_TABLES)


def test_incremental_keyphrase_scores_equal_a_full_refresh(json_raw: Path, tmp_path: Path) -> None:
    wh, fresh = tmp_path / "wh", tmp_path / "fresh"
    run_local([str(json_raw)], str(wh))
    # Rewrite one article as a copy of another: the document frequency of every phrase of
    # that other article changes, and with it the TF-IDF of articles that were not edited.
    folder = json_raw / "note" / "sample_account"
    target = folder / "n000000000003.json"
    payload = json.loads(target.read_text(encoding="utf-8"))
    payload["data"]["body"] = json.loads((folder / "n000000000000.json").read_text(encoding="utf-8"))["data"][
        "body"
    ]
    target.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    run_local([str(json_raw)], str(wh))
    run_local([str(json_raw)], str(fresh))
    assert_same_tables(wh, fresh, ("keyphrases",))


def test_editing_one_text_article_replaces_its_rows(text_raw: Path, tmp_path: Path) -> None:
    # Page text has no note key: its article id is a hash of its content, so an edit gives
    # a new id, and the old rows must still go (they are found by source path).
    wh, fresh = tmp_path / "wh", tmp_path / "fresh"
    run_local([str(text_raw)], str(wh))
    edit(text_raw / "qa_labeled.txt")
    summary = run_local([str(text_raw)], str(wh))
    assert (summary.articles_written, summary.articles_unchanged) == (1, 6)
    articles = pd.read_parquet(wh / "articles")
    assert articles.source_path.is_unique
    run_local([str(text_raw)], str(fresh))
    assert_same_tables(wh, fresh, STABLE_TABLES)
