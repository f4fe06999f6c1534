"""The HTML report: content for the seed, self-contained, Japanese font, and a real browser."""

from __future__ import annotations

import base64
import contextlib
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import matplotlib.image
import pandas as pd
import pytest
from bs4 import BeautifulSoup, Tag
from matplotlib import font_manager

from etl import report_html
from etl.cli import main as cli_main
from etl.report_html import CJK_FONT_FAMILIES, REPORT_TITLE, ReportError, find_cjk_font, write_report

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


def _svgs(soup: BeautifulSoup) -> list[str]:
    out = []
    for img in soup.find_all("img"):
        src = str(img["src"])
        assert src.startswith("data:image/svg+xml;base64,"), src[:60]
        out.append(base64.b64decode(src.split(",", 1)[1]).decode("utf-8"))
    return out


def test_a_japanese_font_is_found() -> None:
    family = find_cjk_font()
    assert family in CJK_FONT_FAMILIES
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    charmap = font_manager.get_font(path).get_charmap()
    assert all(ord(ch) in charmap for ch in "井下堀井経歴志望動機ガバメントクラウド")


def test_the_packaged_font_comes_first() -> None:
    # IPAexGothic from matplotlib-fontja, a dependency: the same font on every machine.
    assert find_cjk_font() == "IPAexGothic"
    path = font_manager.findfont(font_manager.FontProperties(family="IPAexGothic"), fallback_to_default=False)
    assert Path(path).parent.parent.name == report_html.PACKAGED_FONT_MODULE


def test_a_font_installed_after_matplotlib_cached_its_list_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the packaged font, as on a machine where a system font package is installed
    # after matplotlib's first use: the packaged font file plays the system font.
    font_file = font_manager.findfont(
        font_manager.FontProperties(family=find_cjk_font()), fallback_to_default=False
    )
    monkeypatch.setattr(report_html, "PACKAGED_FONT_MODULE", "no_such_font_package")
    cjk_files = {f.fname for f in font_manager.fontManager.ttflist if f.name in CJK_FONT_FAMILIES}
    without = [f for f in font_manager.fontManager.ttflist if f.fname not in cjk_files]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", without)
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [font_file])
    find_cjk_font.cache_clear()
    try:
        assert find_cjk_font() in CJK_FONT_FAMILIES
    finally:
        find_cjk_font.cache_clear()


def test_no_japanese_font_is_an_error_not_tofu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_html, "PACKAGED_FONT_MODULE", "no_such_font_package")
    monkeypatch.setattr(report_html, "CJK_FONT_FAMILIES", ("No Such Font JP",))
    find_cjk_font.cache_clear()
    try:
        with pytest.raises(ReportError, match="pip install matplotlib-fontja"):
            find_cjk_font()
    finally:
        find_cjk_font.cache_clear()


def test_charts_draw_every_glyph(report: tuple[Path, list[str]]) -> None:
    # matplotlib warns "Glyph ... missing from font(s)" when it would draw tofu.
    assert not [w for w in report[1] if "missing from" in w]


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

    assert soup.select_one("#speakers img.chart") is not None  # heat map
    keyphrases = soup.select_one("#keyphrases img.chart")
    assert keyphrases is not None and "デジタル" in str(keyphrases["alt"])


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

    svgs = _svgs(soup)
    assert len(svgs) == 2  # the heat map and the keyphrases (strips are inline SVG)
    for svg in svgs:
        # Text is drawn as paths: the page needs no font, and has no <text> to fall back.
        assert "<text" not in svg
        assert "<script" not in svg and "@import" not in svg
        assert not re.search(r"url\((?!#)", svg)  # only url(#clip-path) references
        # References stay inside the SVG (glyphs, clip paths) or are data (the heat map's
        # pixels, which matplotlib embeds as a PNG).
        for ref in re.findall(r'(?:href|src)="([^"]*)"', svg):
            assert ref.startswith(("#", "data:image/png;base64,")), ref[:80]


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
    html = report_html._speakers_html(data, report_html.find_cjk_font())
    assert f"1 of {len(chars)} speakers" in html
