"""Inputs, paths, patterns and moments that used to take a run down or mislead a reader.

Each test drives the real run (``run_local``), in a child process where the old fault was
a crash or a hang, so a regression fails the test instead of stopping the suite.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from etl.analysis import Analyzer, EtlOptions
from etl.batches import process_batch
from etl.commit import RunSummary
from etl.errors import TaxonomyError
from etl.rejects import Reject
from etl.report import summary_markdown, summary_tables
from etl.report_html import _article_html, _load
from etl.run import run_local
from etl.taxonomy import GuardedPattern, load_taxonomy
from etl.views import read_view, write_views_db
from etl.warehouse import Warehouse

from .conftest import taxonomy_with_pattern

RUN = """
import json, sys
from etl.run import run_local
s = run_local([sys.argv[1]], sys.argv[2])
print(json.dumps({"written": s.articles_written, "seen": s.inputs_seen,
                  "rejects": [[r.source_path, r.error_type, r.error_message] for r in s.rejects]}))
"""


def article(title: str) -> str:
    return f"{title}\n\n広報部の高橋です。データの利活用について紹介します。\n"


def run_child(raw: Path, wh: Path, timeout: float = 240) -> dict[str, object]:
    """``run_local`` in a child process: a crash or a hang fails the test, not the suite."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(raw), str(wh)], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --- 2. inputs that took the whole run down -----------------------------------------------


def test_giant_paragraph_does_not_crash_mecab(tmp_path: Path) -> None:
    """A 4 MB page-text file holding one paragraph of 1.4 M characters (under the 20 MB
    limit) segfaulted MeCab (exit 139, nothing written); now it is an article."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "giant.txt").write_text("巨大な段落の記事\n\n" + "あ" * 1_400_000 + "\n", encoding="utf-8")
    (raw / "ok.txt").write_text(article("普通の記事"), encoding="utf-8")
    out = run_child(raw, tmp_path / "wh")
    assert out["written"] == 2, out
    titles = set(pd.read_parquet(tmp_path / "wh" / "articles").title)
    assert titles == {"巨大な段落の記事", "普通の記事"}


def test_fifo_socket_links_and_undecodable_names_in_one_run(tmp_path: Path) -> None:
    """A FIFO blocked the read forever; a name that is not UTF-8 failed the flow outside the
    per-input guard; a link to /etc/passwd was stored as an article. One run, each its
    row, the others written."""
    import socket

    raw = tmp_path / "raw"
    raw.mkdir()
    os.mkfifo(raw / "y.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(raw / "s.txt"))
    sock.close()
    os.symlink("/etc/passwd", raw / "passwd.txt")
    with open(os.fsencode(raw) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(article("名前がUTF-8でない記事").encode())
    (raw / "ok.txt").write_text(article("普通の記事"), encoding="utf-8")
    out = run_child(raw, tmp_path / "wh", timeout=120)
    rejects = {Path(p).name: (t, m) for p, t, m in out["rejects"]}  # type: ignore[union-attr]
    assert rejects["y.txt"][0] == "unreadable" and "FIFO" in rejects["y.txt"][1]
    assert rejects["s.txt"][0] == "unreadable" and "socket" in rejects["s.txt"][1]
    assert (
        rejects["passwd.txt"][0] == "unreadable" and "outside the input folders" in rejects["passwd.txt"][1]
    )
    assert out["written"] == 2 and out["seen"] == 5, out
    articles = pd.read_parquet(tmp_path / "wh" / "articles")
    assert sorted(Path(p).name for p in articles.source_path) == ["caf\\xe9.txt", "ok.txt"]
    assert not articles.body.str.contains("root:").any()


def test_rerun_of_undecodable_name_is_unchanged(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    with open(os.fsencode(raw) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(article("名前がUTF-8でない記事").encode())
    first = run_local([str(raw)], str(tmp_path / "wh"))
    second = run_local([str(raw)], str(tmp_path / "wh"))
    assert (first.articles_written, second.articles_written, second.articles_unchanged) == (1, 0, 1)


# --- 3. internal_error rejects -------------------------------------------------------------


def _api(key: str, title: str, body: str = "<p>本文です。データを活用します。</p>", extra: str = "") -> str:
    # Built as text, not json.dumps: the title may hold a JSON escape (\\ud800) as it is.
    return f'{{"data": {{"key": "{key}", "name": "{title}", "body": {json.dumps(body, ensure_ascii=False)}{extra}}}}}'


def test_lone_surrogates_huge_integers_and_sidecar_bombs_are_handled(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "n000000000001.json").write_text(_api("n000000000001", "孤立\\ud800した題"), encoding="utf-8")
    (raw / "n000000000002.json").write_text(
        _api("n000000000002", "本文に孤立", body="<p>本文\\udfffです。</p>").replace("\\\\udfff", "\\udfff"),
        encoding="utf-8",
    )
    (raw / "n000000000003.json").write_text(
        _api("n000000000003", "巨大な整数", extra=', "like_count": ' + "7" * 5000), encoding="utf-8"
    )
    (raw / "n000000000004.json").write_text(_api("n000000000004", "壊れたサイドカー"), encoding="utf-8")
    (raw / "n000000000004.meta.json").write_text("[" * 100_000, encoding="utf-8")
    summary = run_local([str(raw)], str(tmp_path / "wh"))
    assert summary.rejects == [] and summary.articles_written == 4
    articles = pd.read_parquet(tmp_path / "wh" / "articles").set_index("note_key")
    assert articles.loc["n000000000001"].title == "孤立\ufffdした題"
    assert "本文\ufffdです。" in articles.loc["n000000000002"].body
    assert articles.loc["n000000000004"].fetched_at is None or pd.isna(
        articles.loc["n000000000004"].fetched_at
    )


def test_rows_arrow_cannot_hold_cost_only_their_article(tmp_path: Path) -> None:
    """The last guard: rows no check expected (here a surrogate in a speaker's name) make
    their article a reject, and the batch's other articles are still written."""
    analyzer = Analyzer(EtlOptions())
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(article("一つ目の記事"), encoding="utf-8")
    (raw / "b.txt").write_text(article("二つ目の記事"), encoding="utf-8")
    batch = process_batch(analyzer, [str(raw / "a.txt"), str(raw / "b.txt")])
    batch.articles[0].tables["articles"][0]["title"] = "壊れた\ud800題"
    from etl.batches import prepare_batch

    prepared = prepare_batch(batch, "run")
    assert [r.source_path for r in prepared.rejects] == [str(raw / "a.txt")]
    assert prepared.rejects[0].error_type == "internal_error:UnicodeEncodeError"
    assert prepared.tables is not None and prepared.tables["articles"].num_rows == 1


# --- 4. far-future and ancient dates ------------------------------------------------------


def test_junk_dates_are_nulled_and_never_break_views_report_or_runs(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "n000000000011.json").write_text(
        _api("n000000000011", "遠い未来", extra=', "publish_at": "9999-12-31T23:59:59-12:00"'),
        encoding="utf-8",
    )
    (raw / "n000000000012.json").write_text(
        _api(
            "n000000000012",
            "大昔",
            body="<p>大昔の本文です。</p>",
            extra=', "publish_at": "1899-01-01T00:00:00Z"',
        ),
        encoding="utf-8",
    )
    wh = tmp_path / "wh"
    summary = run_local([str(raw)], str(wh))
    assert summary.articles_written == 2
    articles = pd.read_parquet(wh / "articles")
    assert articles.published_at.isna().all()
    assert sorted(p.name for p in (wh / "articles").iterdir()) == ["undated"]

    # A warehouse written before dates were checked holds the year-10000 time itself.
    part = wh / "articles" / "undated" / "part-0.parquet"
    table = pq.read_table(part)
    far = pa.array([253402300799000000 + 12 * 3600 * 10**6] * table.num_rows, pa.timestamp("us", tz="UTC"))
    pq.write_table(table.set_column(table.schema.get_field_index("published_at"), "published_at", far), part)
    trends = read_view(str(wh), "topic_trends")
    assert set(trends.month) == {"10000-01"} and trends.month_start.isna().all()
    data = _load(str(wh), 10)
    html = "".join(_article_html(a, data, "") for a in data.articles)
    assert "10000-01-01" in html
    again = run_local([str(raw)], str(wh), full_refresh=True)
    assert again.articles_written == 2
    assert pd.read_parquet(wh / "articles").published_at.isna().all()


# --- 6. artifacts ----------------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3)) a|b `c`"


def _hostile_summary() -> RunSummary:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    s = RunSummary("r|1", "note_etl", now, now, "completed", 2, 1, 0, 1, "wh")
    s.articles = [
        {
            "article_id": "c1",
            "title": HOSTILE,
            "source_path": "raw/<b>.txt",
            "segment_count": 1,
            "sentence_count": 1,
            "speakers": ["<i>x</i>"],
            "facets": ["intro"],
            "subjects": ["dx"],
        }
    ]
    s.speakers = [
        {"article_id": "c1", "name": "<i>x</i>", "role": "author", "affiliation": "|", "segment_count": 1}
    ]
    s.rejects = [Reject("raw/|<svg onload=alert(4)>.json", None, "parse_error", HOSTILE + "\nsecond line")]
    s.subjects = {"<u>dx</u>": 1}
    s.top_keyphrases = [("[k](javascript:x)", 1.0)]
    return s


def _unsafe(text: str) -> list[str]:
    import re

    tags = [bad for bad in ("<script", "<img", "<svg", "<i>", "<b>", "<u>") if bad in text]
    # A link is `[text](url)` with the brackets unescaped.
    return tags + re.findall(r"(?<!\\)\]\((?:javascript|data):", text)


def test_markdown_summary_is_escaped() -> None:
    md = summary_markdown(_hostile_summary(), report_path="/wh/report.html")
    assert _unsafe(md) == []
    for line in md.splitlines():
        if line.startswith("| ") and "parse_error" in line:
            # Three cells: the `|` in the reason and the path are escaped.
            assert line.replace("\\|", "").count("|") == 4, line
    assert "[/wh/report.html](file:///wh/report.html)" in md  # the run's own report
    assert "javascript:" not in md.replace("\\](javascript:", "")
    assert _unsafe(summary_markdown(_hostile_summary(), report_path="javascript:alert(1)")) == []


def test_table_artifact_cells_are_escaped() -> None:
    tables = summary_tables(_hostile_summary())
    cells = [str(v) for rows in tables.values() for row in rows for v in row.values()]
    assert _unsafe(" ".join(cells)) == []
    assert all("|" not in c.replace("\\|", "") for c in cells)
    assert tables["articles"][0]["segments"] == 1  # numbers stay numbers


# --- 7. glob characters in the warehouse path ---------------------------------------------


def test_warehouse_path_with_glob_characters_reads_its_own_folder(tmp_path: Path) -> None:
    for name, titles in (("whg1", ["一つ目", "二つ目", "三つ目"]), ("whg[1]", ["括弧の倉庫"])):
        raw = tmp_path / f"raw-{len(titles)}"
        raw.mkdir()
        for i, t in enumerate(titles):
            (raw / f"{i}.txt").write_text(article(t), encoding="utf-8")
        run_local([str(raw)], str(tmp_path / name))
    wh = str(tmp_path / "whg[1]")
    assert list(read_view(wh, "articles").title) == ["括弧の倉庫"]
    assert list(read_view(wh, "article_overview").title) == ["括弧の倉庫"]
    db = write_views_db(wh)
    with duckdb.connect(db.path, read_only=True) as con:
        assert con.execute("SELECT title FROM articles").fetchall() == [("括弧の倉庫",)]
        assert con.execute("SELECT count(DISTINCT article_id) FROM content_segments").fetchone() == (1,)
    assert Warehouse(wh).read("articles").num_rows == 1  # type: ignore[union-attr]


# --- 8. taxonomy patterns that backtrack ---------------------------------------------------


@pytest.mark.parametrize("pattern", ["(a|aa)+$", "(x+x+)+y", "(\\d+)*[a-z]$", "^(\\w+\\s?)+$"])
def test_backtracking_pattern_is_refused_naming_file_and_entry(tmp_path: Path, pattern: str) -> None:
    path = taxonomy_with_pattern(tmp_path, pattern)
    with pytest.raises(
        TaxonomyError, match=r"topics\.yaml:8: topic 'slow': regex .* backtracks catastrophically"
    ):
        load_taxonomy(path)


def test_the_reported_pattern_does_not_hang_a_run(tmp_path: Path) -> None:
    """``(.+)+\\u0000`` hung a run on a 5 KB article with ``re``; the regex engine settles it
    at once (it needs a NUL, and the text has none)."""
    path = taxonomy_with_pattern(tmp_path, "(.+)+\\x00")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("題\n\n" + "データの本文です。" * 600 + "\n", encoding="utf-8")
    code = (
        "import sys; from etl.analysis import EtlOptions; from etl.run import run_local; "
        "s = run_local([sys.argv[1]], sys.argv[2], options=EtlOptions(taxonomy_path=sys.argv[3])); "
        "print(s.articles_written)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(raw), str(tmp_path / "wh"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout.strip() == "1", out.stderr[-2000:]


def test_pattern_too_slow_on_one_article_rejects_that_article(tmp_path: Path) -> None:
    """A pattern slow only on some text (probes cannot foresee every article) fails that
    article with a typed reject naming the file and the entry; the others are written."""
    tax = load_taxonomy(taxonomy_with_pattern(tmp_path, "データ"))
    slow = GuardedPattern("(x+x+)+y", f"{tax.source}:8: topic 'slow'", timeout=0.2)
    topics = tuple(dataclasses.replace(t, patterns=(slow,)) if t.id == "slow" else t for t in tax.topics)
    analyzer = Analyzer(EtlOptions(), taxonomy=dataclasses.replace(tax, topics=topics))
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "slow.txt").write_text("題\n\n" + "x" * 3000 + "\n", encoding="utf-8")
    (raw / "ok.txt").write_text(article("普通の記事"), encoding="utf-8")
    batch = process_batch(analyzer, [str(raw / "ok.txt"), str(raw / "slow.txt")])
    assert [Path(r.source_path).name for r in batch.articles] == ["ok.txt"]
    (reject,) = batch.rejects
    assert reject.error_type == "taxonomy_error"
    assert "topics.yaml:8: topic 'slow'" in reject.error_message and "(x+x+)+y" in reject.error_message


# --- 9. smaller ----------------------------------------------------------------------------


def test_reject_of_a_deleted_file_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import etl.run

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "bad.json").write_text("{", encoding="utf-8")
    (raw / "ok.txt").write_text(article("普通の記事"), encoding="utf-8")
    wh = tmp_path / "wh"
    real = etl.discovery.discover_inputs
    # Listed, then deleted before it is read: the run records it as unreadable.
    monkeypatch.setattr(etl.run, "discover_inputs", lambda paths: [*real(paths), str(raw / "gone.txt")])
    first = run_local([str(raw)], str(wh))
    monkeypatch.undo()
    assert {Path(r.source_path).name for r in first.rejects} == {"bad.json", "gone.txt"}
    (raw / "bad.json").unlink()
    second = run_local([str(raw)], str(wh))
    assert second.rejects == [] and second.changed
    assert pd.read_parquet(wh / "rejects").empty


def test_readers_between_a_kill_and_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run dies after merging segments, before writing `articles` (the commit marker).
    Views never show the segments of the uncommitted article; the Parquet files may (as
    warehouse.py documents); the next run completes the commit without duplicates."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(article("先に書かれた記事"), encoding="utf-8")
    wh = tmp_path / "wh"
    run_local([str(raw)], str(wh))
    (raw / "b.txt").write_text(article("途中で止まった記事"), encoding="utf-8")

    real_merge = Warehouse.merge_partition

    def merge(self: Warehouse, name: str, *args: object, **kwargs: object) -> None:
        if name == "articles":
            raise KeyboardInterrupt("killed")  # as a kill: nothing after this point runs
        real_merge(self, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Warehouse, "merge_partition", merge)
    with pytest.raises(KeyboardInterrupt):
        run_local([str(raw)], str(wh))
    monkeypatch.undo()

    files = pq.read_table(wh / "segments", columns=["article_id"])
    committed = set(pd.read_parquet(wh / "articles").article_id)
    orphans = set(pc.unique(files["article_id"]).to_pylist()) - committed
    assert len(orphans) == 1  # what a reader of the raw files may see between commits
    for view in ("segments", "sentences", "speakers", "segment_topics", "keyphrases", "content_segments"):
        assert set(read_view(str(wh), view).article_id) <= committed, view

    summary = run_local([str(raw)], str(wh))
    assert summary.articles_written == 1 and summary.articles_unchanged == 1
    segments = pd.read_parquet(wh / "segments")
    assert not segments.segment_id.duplicated().any()
    assert set(segments.article_id) == set(pd.read_parquet(wh / "articles").article_id)
    assert set(read_view(str(wh), "segments").article_id) == set(segments.article_id)


def test_folder_that_cannot_be_listed_is_a_reject(tmp_path: Path) -> None:
    """A sub-folder the process may not list was skipped without a word (its articles
    silently missing); it is a reject naming the reason, and the run goes on. As root, the
    run drops the capabilities that let it read anything (util-linux ``setpriv``)."""
    import shutil

    raw = tmp_path / "raw"
    (raw / "locked").mkdir(parents=True)
    (raw / "locked" / "hidden.txt").write_text(article("見えない記事"), encoding="utf-8")
    (raw / "locked").chmod(0o000)
    (raw / "ok.txt").write_text(article("読める記事"), encoding="utf-8")
    cmd = [sys.executable, "-c", RUN, str(raw), str(tmp_path / "wh")]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "util-linux setpriv is needed to drop root's file-read override"
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    finally:
        (raw / "locked").chmod(0o755)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["written"] == 1 and out["seen"] == 2, out
    ((path, error_type, message),) = out["rejects"]
    assert (Path(path).name, error_type) == ("locked", "unreadable")
    assert "cannot be listed" in message and "Permission denied" in message
