"""Dashboard views: each returns the expected rows for the development article (the seed).

Expected rows are rebuilt here with pandas from the contract tables, plus a few pinned
numbers of the seed, so a view that joins or filters wrongly fails either way.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import fsspec
import pandas as pd
import pytest

from etl.cli import main as cli_main
from etl.model import FACETS
from etl.run import run_local
from etl.schemas import TABLES
from etl.views import CHROME_KINDS, DB_FILE, SQL_PATH, VIEWS, connect, read_view, views_sql, write_views_db

from .conftest import SAMPLES, SEED

SEED_FACETS = {"intro", "career", "current_work", "motivation", "appeal", "other"}
SEED_SPEAKERS = {"井下", "堀井"}


def build_seed_warehouse(base: Path, *, with_reject: bool = False) -> Path:
    """``base/raw`` holding the seed (and a broken input) processed into ``base/warehouse``."""
    raw = base / "raw"
    raw.mkdir(parents=True)
    shutil.copy(SEED, raw / SEED.name)
    if with_reject:
        (raw / "broken.json").write_text("{not json", encoding="utf-8")
    wh = base / "warehouse"
    run_local([str(raw)], str(wh), run_id="local-test")
    return wh


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_seed_warehouse(tmp_path_factory.mktemp("views"))


@pytest.fixture(scope="module")
def segments(wh: Path) -> pd.DataFrame:
    return pd.read_parquet(wh / "segments")


@pytest.fixture(scope="module")
def spoken(segments: pd.DataFrame) -> pd.DataFrame:
    """What people say, built independently of the views' SQL."""
    content = segments[~segments.kind.isin(CHROME_KINDS)]
    return content[content.speaker_id.notna() & (content.speaker_role != "none")].assign(
        chars=lambda d: d.text.str.len()
    )


def test_sql_file_defines_every_table_and_the_four_views() -> None:
    sql = SQL_PATH.read_text(encoding="utf-8")
    names = re.findall(r"CREATE OR REPLACE VIEW (\w+)", sql)
    assert names == [*TABLES, *VIEWS]
    for table in TABLES:
        assert f"read_parquet('${{WAREHOUSE}}/{table}/**/*.parquet', hive_partitioning = false)" in sql
    # Wide facet columns must follow the fixed facet ids.
    for facet in FACETS:
        assert f"AS facet_share_{facet}" in sql


def test_views_sql_writes_an_absolute_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sql = views_sql("warehouse")
    assert f"read_parquet('{tmp_path}/warehouse/articles/**/*.parquet'" in sql
    assert "read_parquet('${WAREHOUSE}" not in sql
    assert "read_parquet('/it''s/articles/" in views_sql("/it's")


def test_content_segments(wh: Path, segments: pd.DataFrame) -> None:
    view = read_view(str(wh), "content_segments")
    expected = segments[~segments.kind.isin(CHROME_KINDS)]
    assert len(view) == len(expected) == 49
    assert view.segment_id.tolist() == expected.segment_id.tolist()  # reading order
    assert not set(view.kind) & CHROME_KINDS
    assert set(view.speaker_name.dropna()) == SEED_SPEAKERS
    assert set(view.facet.dropna()) == SEED_FACETS
    assert (view.chars == view.text.str.len()).all()
    assert view.article_title.str.startswith("データの利活用で").all()
    assert set(view.month) == {"undated"}
    inoshita = view[view.speaker_name == "井下"].iloc[0]
    assert inoshita.speaker_key == "井下"
    assert inoshita.speaker_affiliation == "省庁業務サービスグループ"
    assert inoshita.speaker_job_title == "総括担当"
    labels = view.dropna(subset=["facet"]).groupby("facet").facet_label_ja.first()
    assert labels["career"] == "経歴" and labels["motivation"] == "志望動機・きっかけ"


def test_speaker_topics(wh: Path, spoken: pd.DataFrame) -> None:
    view = read_view(str(wh), "speaker_topics")
    tagged = spoken.explode("subjects").dropna(subset=["subjects"])
    expected = (
        tagged.groupby(["speaker_name", "subjects"])
        .agg(segments=("segment_id", "size"), chars=("chars", "sum"))
        .sort_index()
    )
    got = view.set_index(["speaker_name", "subject"])[["segments", "chars"]].sort_index()
    got.index.names = expected.index.names
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)

    assert set(view.speaker_name) == SEED_SPEAKERS
    cloud = view.set_index(["speaker_name", "subject"]).loc[("井下", "government_cloud")]
    assert (cloud.segments, cloud.subject_label_ja) == (2, "ガバメントクラウド")
    # The share's denominator is everything the speaker says: the speakers table's count.
    speakers = pd.read_parquet(wh / "speakers").set_index("name")
    assert speakers.loc["井下", "char_count"] == 2498 and speakers.loc["堀井", "char_count"] == 1670
    for row in view.itertuples():
        assert row.share_of_speaker_chars == pytest.approx(
            row.chars / speakers.loc[row.speaker_name, "char_count"]
        )


def test_article_overview(wh: Path, segments: pd.DataFrame) -> None:
    view = read_view(str(wh), "article_overview")
    assert len(view) == 1
    row = view.iloc[0]
    assert row.title.startswith("データの利活用で")
    assert list(row.speakers) == ["井下", "堀井"]
    assert (row.content_segments, row.month) == (49, "undated")

    content = segments[~segments.kind.isin(CHROME_KINDS)].assign(chars=lambda d: d.text.str.len())
    assert row.content_chars == content.chars.sum()
    by_facet = content.dropna(subset=["facet"]).groupby("facet").chars.sum()
    for facet in FACETS:
        assert row[f"facet_share_{facet}"] == pytest.approx(by_facet.get(facet, 0) / by_facet.sum())
    assert sum(row[f"facet_share_{f}"] for f in FACETS) == pytest.approx(1.0)

    tagged = content.explode("subjects").dropna(subset=["subjects"])
    counts = tagged.groupby("subjects").agg(n=("segment_id", "size"), c=("chars", "sum")).reset_index()
    top = counts.sort_values(["n", "c", "subjects"], ascending=[False, False, True]).subjects.tolist()[:3]
    assert list(row.top_subjects) == top
    assert top[0] == "career_recruitment"
    assert row.top_subject_labels_ja[0] == "キャリア・採用"


def test_topic_trends(wh: Path, segments: pd.DataFrame) -> None:
    view = read_view(str(wh), "topic_trends")
    content = segments[~segments.kind.isin(CHROME_KINDS)].assign(chars=lambda d: d.text.str.len())
    tagged = content.explode("subjects").dropna(subset=["subjects"])
    expected = tagged.groupby("subjects").agg(segments=("segment_id", "size"), chars=("chars", "sum"))
    assert set(view.month) == {"undated"} and view.month_start.isna().all()
    got = view.set_index("subject")[["segments", "chars"]].sort_index()
    got.index.name = "subjects"
    pd.testing.assert_frame_equal(got, expected.sort_index(), check_dtype=False)
    assert (view.articles == 1).all()


def test_month_is_the_publication_month_in_japan_time(tmp_path: Path) -> None:
    # Half past midnight on 1 March in Tokyo is still February in UTC.
    data = json.loads((SAMPLES / "json" / "seed_note_api.json").read_text(encoding="utf-8"))
    data["data"]["publish_at"] = "2024-03-01T00:30:00+09:00"
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "seed.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    wh = tmp_path / "wh"
    run_local([str(raw)], str(wh))
    assert (wh / "articles" / "2024-03").is_dir()  # the partition agrees
    trends = read_view(str(wh), "topic_trends")
    assert set(trends.month) == {"2024-03"}
    assert set(trends.month_start) == {pd.Timestamp("2024-03-01")}
    assert read_view(str(wh), "article_overview").month.tolist() == ["2024-03"]


def test_views_db_file(wh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = write_views_db(str(wh))
    assert db.path == str(wh / DB_FILE)
    assert db.empty_tables == ()
    assert not list(wh.glob("*.tmp")) and not list(wh.glob("*.wal"))  # nothing left behind
    monkeypatch.chdir(tmp_path)  # absolute paths: the file works from anywhere
    with duckdb.connect(db.path, read_only=True) as con, connect(str(wh)) as mem:
        for name in (*VIEWS, *TABLES):
            (n,) = con.execute(f"SELECT count(*) FROM {name}").fetchone() or (None,)
            (m,) = mem.execute(f"SELECT count(*) FROM {name}").fetchone() or (None,)
            assert n == m, name
            columns = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
            if name in TABLES:
                assert columns == TABLES[name].names, name
        (sql,) = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'segments'").fetchone() or (
            "",
        )
        assert str(wh) in sql


def test_a_table_without_files_is_an_empty_view(wh: Path, tmp_path: Path) -> None:
    copy = tmp_path / "wh"
    shutil.copytree(wh, copy, ignore=shutil.ignore_patterns(DB_FILE))
    shutil.rmtree(copy / "rejects")
    db = write_views_db(str(copy))
    assert db.empty_tables == ("rejects",)
    with duckdb.connect(db.path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rejects").fetchone() == (0,)
        columns = [(r[0], r[1]) for r in con.execute("DESCRIBE rejects").fetchall()]
    assert [c for c, _ in columns] == TABLES["rejects"].names
    assert dict(columns)["rejected_at"] == "TIMESTAMP WITH TIME ZONE"


def test_a_warehouse_without_articles_gives_empty_views(tmp_path: Path) -> None:
    # As the README says: a warehouse whose only input was rejected still has its views.
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    run_local([str(tmp_path / "broken.json")], str(tmp_path / "wh"))
    db = write_views_db(str(tmp_path / "wh"))
    with duckdb.connect(db.path, read_only=True) as con:
        for name in (*VIEWS, "articles"):
            assert con.execute(f"SELECT count(*) FROM {name}").fetchone() == (0,), name
        assert con.execute("SELECT count(*) FROM rejects").fetchone() == (1,)


def test_remote_warehouse_gives_the_same_views(wh: Path) -> None:
    # Any fsspec URI: the tables are read through Arrow instead of DuckDB's globs.
    fs = fsspec.filesystem("memory")
    for path in wh.rglob("*.parquet"):
        fs.pipe(f"/views-test/{path.relative_to(wh)}", path.read_bytes())
    try:
        for name in VIEWS:
            local, remote = read_view(str(wh), name), read_view("memory://views-test", name)
            pd.testing.assert_frame_equal(remote, local, obj=name)
    finally:
        fs.rm("/views-test", recursive=True)


def test_cli_views(wh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dash" / "views.duckdb"
    assert cli_main(["views", "--warehouse", str(wh), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert out.exists()
    assert cli_main(["views", "--warehouse", str(tmp_path / "mistyped")]) == 2
    assert capsys.readouterr().err.strip() == f"note-etl: views: {tmp_path / 'mistyped'}: no such folder " + (
        "(no warehouse there yet: `note-etl run` writes one)"
    )
