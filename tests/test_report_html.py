"""The HTML report: content for the seed, self-contained, Japanese text, and a real browser."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import matplotlib.image
import pandas as pd
import pytest
from bs4 import BeautifulSoup, Tag

from etl import report_html
from etl.cli import main as cli_main
from etl.report_html import REPORT_TITLE, ReportError, write_report
from etl.views import read_view

from .conftest import SEED
from .test_views import SEED_FACETS, SEED_SPEAKERS, build_seed_warehouse

CHROMIUM_INSTALL = (
    "headless Chromium is needed for the browser test: run the install step of .ci/run "
    "(apt-get install --no-install-recommends chromium)"
)


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_seed_warehouse(tmp_path_factory.mktemp("report"), with_reject=True)


@pytest.fixture(scope="module")
def report(wh: Path) -> tuple[Path, list[str]]:
    """The seed's report, and the warnings drawing it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = Path(write_report(str(wh)))
    return path, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def soup(report: tuple[Path, list[str]]) -> BeautifulSoup:
    return BeautifulSoup(report[0].read_text(encoding="utf-8"), "lxml")


def test_drawing_the_report_needs_no_font_and_no_plotting_library(report: tuple[Path, list[str]]) -> None:
    # Charts are HTML and SVG written directly: nothing warns (no missing glyphs), and
    # writing a report imports no plotting library (its import alone cost a run 0.4 s).
    assert report[1] == []
    code = (
        "import sys, tempfile; from etl.report_html import write_report; "
        "write_report(tempfile.mkdtemp()); print(any(m.startswith('matplotlib') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "False", out.stderr


def test_heat_colors_follow_the_scale() -> None:
    # The stops themselves, then points between them: each channel between its neighbours'.
    steps = len(report_html.HEAT_SCALE) - 1
    for i, stop in enumerate(report_html.HEAT_SCALE):
        assert report_html.heat_color(i / steps) == stop
    for share in (0.01, 0.3, 0.55, 0.99):
        pos = share * steps
        lo, hi = report_html.HEAT_SCALE[int(pos)], report_html.HEAT_SCALE[int(pos) + 1]
        color = report_html.heat_color(share)
        for k in (1, 3, 5):
            a, b, c = (int(x[k : k + 2], 16) for x in (lo, color, hi))
            assert min(a, c) <= b <= max(a, c), (share, lo, color, hi)
    assert report_html.heat_color(-1) == report_html.HEAT_SCALE[0]
    assert report_html.heat_color(2) == report_html.HEAT_SCALE[-1]


def test_report_for_the_seed(wh: Path, report: tuple[Path, list[str]], soup: BeautifulSoup) -> None:
    assert report[0] == wh / "report.html"
    assert soup.title is not None and soup.title.string == REPORT_TITLE
    articles = soup.select("article.article")
    assert len(articles) == 1
    article = articles[0]
    heading = article.find("h3")
    assert heading is not None and heading.get_text().startswith("データの利活用で")
    assert {li["data-speaker"] for li in article.select("li[data-speaker]")} == SEED_SPEAKERS
    assert {li["data-facet"] for li in article.select("li[data-facet]")} == SEED_FACETS
    for facet in SEED_FACETS:  # the facet legend names every facet too
        assert facet in soup.get_text()
    strip = article.select("svg.chart rect")  # the speaker/facet strip, two rows
    assert len(strip) == 2 * 49  # the content segments (chrome is left out)
    tips = {rect.title.get_text() for rect in strip}
    assert any(t.startswith("井下") for t in tips) and any(t.startswith("堀井") for t in tips)

    totals = {
        span.get_text(): b.get_text()
        for card in soup.select(".total")
        if isinstance(b := card.find("b"), Tag) and isinstance(span := card.find("span"), Tag)
    }
    assert totals["articles"] == "1"
    assert totals["content segments (of 61)"] == "49"
    assert totals["rejected inputs"] == "1"

    rejects = soup.select_one("#rejects table")
    assert rejects is not None
    assert "broken.json" in rejects.get_text() and "parse_error" in rejects.get_text()
    reason = pd.read_parquet(wh / "rejects").error_message.iloc[0]
    assert reason in rejects.get_text()

    # The heat map: a row per speaker, numbered with the segments they say about each
    # subject, as the speaker_topics view counts them; labels are Japanese text.
    st = read_view(str(wh), "speaker_topics")
    rows = soup.select("#speakers table.heat tbody tr")
    assert {row.th.get_text() for row in rows if row.th} == SEED_SPEAKERS
    subjects = [str(th["data-subject"]) for th in soup.select("#speakers table.heat thead th[data-subject]")]
    assert set(subjects) == set(st.subject)
    labels = [th.get_text() for th in soup.select("#speakers table.heat thead th[data-subject]")]
    assert all(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", label) for label in labels), labels
    for row in rows:
        assert row.th is not None
        name = row.th.get_text()
        cells = row.find_all("td")
        assert len(cells) == len(subjects)
        for subject, td in zip(subjects, cells, strict=True):
            want = st[(st.speaker_name == name) & (st.subject == subject)]
            if want.empty:
                assert td.get_text() == "" and not td.get("style")
            else:
                assert td.get_text() == str(want.segments.iloc[0])
                assert td["data-chars"] == str(want.chars.iloc[0])
                assert "background:#" in str(td["style"])
    # The darkest cell is the one with the most characters.
    darkest = max(soup.select("#speakers td[data-chars]"), key=lambda td: int(str(td["data-chars"])))
    assert report_html.HEAT_SCALE[-1] in str(darkest["style"])

    phrases = [str(tr["data-phrase"]) for tr in soup.select("#keyphrases table.bars tr")]
    assert 0 < len(phrases) <= report_html.TOP_KEYPHRASES
    assert any("デジタル" in p for p in phrases)
    widths = [float(str(s["style"]).split(":")[1].rstrip("%")) for s in soup.select("#keyphrases .bar")]
    assert widths == sorted(widths, reverse=True) and widths[0] == 70.0


def test_report_is_self_contained(soup: BeautifulSoup) -> None:
    assert not soup.find_all("script")
    assert not soup.find_all("link")
    for tag in soup.find_all(True):
        for attr in ("src", "href", "srcset", "data", "poster", "action"):
            value = tag.get(attr)
            if value is not None:
                assert str(value).startswith(("data:", "#")), f"<{tag.name} {attr}={value!r}>"
    for style in soup.find_all("style"):
        assert "url(" not in style.get_text() and "@import" not in style.get_text()
    for element in soup.find_all(style=True):
        assert "url(" not in str(element["style"])

    # Nothing to load: no images at all, the charts are inline SVG and HTML tables.
    assert not soup.find_all("img")
    for svg in soup.find_all("svg"):
        assert not svg.find_all(["script", "image", "use", "foreignobject"])


def test_cli_report(wh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "r.html"
    assert cli_main(["report", "--warehouse", str(wh), "--out", str(out), "--max-articles", "0"]) == 0
    assert str(out) in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert "1 articles; none drawn" in page


# -- the browser test ---------------------------------------------------------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    pytest.fail(CHROMIUM_INSTALL)


def _headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # As root Chromium needs --no-sandbox; the rest keeps it offline and quiet.
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("browser")


def test_browser_renders_the_report(
    report: tuple[Path, list[str]], screenshot_dir: Path, pytestconfig: pytest.Config
) -> None:
    chromium = _chromium()
    page = report[0].as_uri()
    png = screenshot_dir / "report.png"
    shot = _headless(
        chromium, screenshot_dir / "profile", f"--screenshot={png}", "--window-size=1280,2000", page
    )
    assert png.exists(), f"no screenshot: {shot.stderr[-2000:]}"
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\nreport screenshot: {png}\nreport: {report[0]}")

    pixels = matplotlib.image.imread(png)
    assert pixels.shape[:2] == (2000, 1280)
    rgb = pixels[..., :3]
    assert rgb.std() > 0.05, "the screenshot is blank"
    ink = (rgb.mean(axis=-1) < 0.9).mean()  # share of pixels that are not near-white
    assert ink > 0.03, f"only {ink:.1%} of the screenshot is drawn"

    # The DOM Chromium built from the file carries the expected title.
    dom = _headless(chromium, screenshot_dir / "profile", "--dump-dom", page)
    title = BeautifulSoup(dom.stdout, "lxml").title
    assert title is not None and title.string == REPORT_TITLE, dom.stderr[-2000:]


# -- the main flow writes the report and links it ----------------------------------------


@pytest.fixture(scope="module")
def prefect_backend() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


def _artifacts(run_id: str) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(run_id)]))
        )
    return {str(a.key): str(a.data) for a in found}


def _seed_raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    return raw


@pytest.mark.usefixtures("prefect_backend")
def test_flow_writes_the_report_and_links_it(tmp_path: Path) -> None:
    from etl.flows.note_etl import note_etl

    wh = tmp_path / "wh"
    result = note_etl(paths=[str(_seed_raw(tmp_path))], warehouse=str(wh))
    assert set(result) == {
        "run_id",
        "inputs_seen",
        "articles_written",
        "articles_unchanged",
        "inputs_rejected",
        "internal_errors",
        "warehouse",
    }
    report = wh / "report.html"
    assert "井下" in report.read_text(encoding="utf-8")
    artifacts = _artifacts(result["run_id"])
    assert f"Report: [{report}]({report.as_uri()})" in artifacts["note-etl-run-summary"]
    assert report.as_uri() in artifacts["note-etl-report"]


@pytest.mark.usefixtures("prefect_backend")
def test_flow_completes_when_the_report_cannot_be_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import etl.flows.note_etl as flow_module

    def no_font(warehouse: str) -> str:
        raise ReportError("no Japanese font found for the report's charts")

    monkeypatch.setattr(flow_module, "write_report", no_font)
    wh = tmp_path / "wh"
    result = flow_module.note_etl(paths=[str(_seed_raw(tmp_path))], warehouse=str(wh))
    assert result["articles_written"] == 1
    assert not (wh / "report.html").exists()
    artifacts = _artifacts(result["run_id"])
    assert "Report:" not in artifacts["note-etl-run-summary"]
    assert "note-etl-report" not in artifacts


def test_heat_map_rows_are_the_top_speakers(wh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.views import read_view

    all_rows = read_view(str(wh), "speaker_topics")
    chars = all_rows.groupby("speaker_id")["chars"].sum().sort_values(ascending=False)
    assert len(chars) >= 2 and chars.iloc[0] > chars.iloc[1]
    monkeypatch.setattr(report_html, "MAX_HEATMAP_SPEAKERS", 1)
    data = report_html._load(str(wh), 10)
    assert {r["speaker_id"] for r in data.speaker_topics} == {chars.index[0]}
    expected = all_rows[all_rows.speaker_id == chars.index[0]]
    assert sorted(r["subject"] for r in data.speaker_topics) == sorted(expected.subject)
    assert data.n_topic_speakers == len(chars)
    html = report_html._speakers_html(data)
    assert f"1 of {len(chars)} speakers" in html
    assert html.count('<tr data-speaker-id="') == 1


# -- the report's data is the views' data ---------------------------------------------------

# The keyphrase ranking as first written: one aggregate over every row, the phrase included.
_PLAIN_KEYPHRASES_SQL = """
WITH per_article AS (
    SELECT article_id, base_form, arg_max(phrase, count) AS phrase, max(score) AS score,
        sum(count) AS mentions
    FROM keyphrases
    WHERE segment_id IN (SELECT segment_id FROM content_segments)
    GROUP BY article_id, base_form
)
SELECT base_form, arg_max(phrase, mentions) AS phrase, sum(score) AS score,
    count(*) AS articles, sum(mentions)::BIGINT AS mentions
FROM per_article
GROUP BY base_form
ORDER BY score DESC, mentions DESC, base_form
LIMIT ?
"""


@pytest.fixture(scope="module")
def samples_wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from etl.run import run_local

    from .conftest import SAMPLES

    wh = tmp_path_factory.mktemp("samples") / "wh"
    run_local([str(SAMPLES / kind) for kind in ("text", "html", "json")], str(wh), run_id="samples")
    return wh


def _plain(con: object, sql: str, params: list[object]) -> list[dict[str, object]]:
    return report_html._rows(con, sql, params)  # type: ignore[arg-type]


@pytest.mark.parametrize("max_articles", [3, 50])
def test_loaded_data_is_what_the_plain_views_say(samples_wh: Path, max_articles: int) -> None:
    """The report computes content_segments once and ranks keyphrases in two steps; what it
    loads is what the views, each computing everything itself, give."""
    from etl.views import connect

    data = report_html._load(str(samples_wh), max_articles)
    with connect(str(samples_wh)) as con:
        totals = _plain(con, report_html._TOTALS_SQL, [])[0]
        articles = _plain(
            con,
            "SELECT * FROM article_overview ORDER BY published_at DESC NULLS LAST, title, article_id LIMIT ?",
            [max_articles],
        )
        ids = [a["article_id"] for a in articles]
        segments = _plain(
            con,
            "SELECT article_id, ordinal, kind, chars, speaker_id, speaker_name, speaker_role, facet "
            "FROM content_segments WHERE list_contains(?, article_id) ORDER BY article_id, ordinal",
            [ids],
        )
        speaker_topics = _plain(con, report_html._SPEAKER_TOPICS_SQL, [report_html.MAX_HEATMAP_SPEAKERS])
        keyphrases = _plain(con, _PLAIN_KEYPHRASES_SQL, [report_html.TOP_KEYPHRASES])
    assert len(ids) > 1 and totals["articles"] > 3 and len(keyphrases) == report_html.TOP_KEYPHRASES
    assert data.totals == totals
    assert data.articles == articles
    assert [s for a in sorted(map(str, ids)) for s in data.segments.get(a, [])] == segments
    assert data.speaker_topics == speaker_topics
    assert [(k["base_form"], k["phrase"], k["articles"], k["mentions"]) for k in data.keyphrases] == [
        (k["base_form"], k["phrase"], k["articles"], k["mentions"]) for k in keyphrases
    ]
    assert [k["score"] for k in data.keyphrases] == pytest.approx([k["score"] for k in keyphrases])
