"""The HTML report: a warehouse at a glance, for people who would rather look than read.

One self-contained page: corpus totals; per article, its segments as strips coloured by
speaker and by facet; a speaker x subject heat map; the top keyphrases; rejected inputs
with their reasons. CSS is inline, the strips are inline SVG rectangles, and the heat map
and the keyphrase bars are HTML tables coloured by inline styles, so the file opens
offline and runs no JavaScript. Their labels are text, like the rest of the page: the
reader's browser draws the Japanese with its own fonts (the CSS names the usual Japanese
families first), and nothing has to be drawn, or a font found, when the report is written.
"""

from __future__ import annotations

import html
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import duckdb
import fsspec

from etl import PIPELINE_VERSION
from etl.errors import NoteEtlError
from etl.model import FACETS
from etl.schemas import SCHEMA_VERSION
from etl.views import connect

REPORT_TITLE: Final = "note-etl report"
REPORT_FILE: Final = "report.html"
#: Articles drawn as strips; beyond this the page would grow with the corpus.
DEFAULT_MAX_ARTICLES: Final = 50
#: Rows of the heat map: the speakers with the most characters.
MAX_HEATMAP_SPEAKERS: Final = 30
TOP_KEYPHRASES: Final = 20

# One colour per facet, the same in every article (Tableau 10).
FACET_COLORS: Final[Mapping[str, str]] = {
    "intro": "#4e79a7",
    "career": "#f28e2b",
    "current_work": "#59a14f",
    "motivation": "#e15759",
    "appeal": "#b07aa1",
    "culture": "#76b7b2",
    "message": "#edc948",
    "other": "#9c755f",
}
_SPEAKER_PALETTE: Final = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
_NARRATOR_COLOR: Final = "#7f7f7f"
_INTERVIEWER_COLOR: Final = "#bdbdbd"
_NONE_COLOR: Final = "#ececec"
#: The heat map's colour scale, light to dark: ColorBrewer's 9-class YlGnBu (as
#: matplotlib's ``YlGnBu``), interpolated linearly between these stops.
HEAT_SCALE: Final = (
    "#ffffd9",
    "#edf8b1",
    "#c7e9b4",
    "#7fcdbb",
    "#41b6c4",
    "#1d91c0",
    "#225ea8",
    "#253494",
    "#081d58",
)
_JST: Final = ZoneInfo("Asia/Tokyo")


class ReportError(NoteEtlError):
    """The report cannot be written (an unwritable target, say)."""


# -- data --------------------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    columns = [d[0] for d in cur.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


@dataclass(slots=True)
class _Data:
    warehouse: str
    totals: dict[str, int]
    latest_run: dict[str, Any] | None
    n_articles: int
    articles: list[dict[str, Any]]
    segments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    speakers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    speaker_topics: list[dict[str, Any]] = field(default_factory=list)  # the heat map's speakers
    n_topic_speakers: int = 0  # speakers with any subject, shown or not
    keyphrases: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


_TOTALS_SQL: Final = """
SELECT
    (SELECT count(*) FROM articles) AS articles,
    (SELECT count(*) FROM segments) AS segments,
    (SELECT count(*) FROM content_segments) AS content_segments,
    (SELECT coalesce(sum(chars), 0) FROM content_segments)::BIGINT AS content_chars,
    (SELECT count(*) FROM sentences) AS sentences,
    (SELECT count(*) FROM speakers) AS speakers,
    (SELECT count(DISTINCT speaker_key) FROM speakers) AS people,
    (SELECT count(DISTINCT s) FROM (SELECT unnest(subjects) AS s FROM content_segments)) AS subjects,
    (SELECT count(DISTINCT base_form) FROM keyphrases) AS keyphrases,
    (SELECT count(*) FROM rejects) AS rejects,
    (SELECT count(*) FROM runs) AS runs
"""

# The columns of ``content_segments`` the report's queries read (its own and those of the
# dashboard views it uses): a copy of them is made once, in this connection only.
_CONTENT_COLUMNS: Final = (
    "article_id",
    "article_title",
    "segment_id",
    "ordinal",
    "kind",
    "chars",
    "speaker_id",
    "speaker_name",
    "speaker_key",
    "speaker_role",
    "facet",
    "subjects",
)

# A phrase's corpus score adds its TF-IDF score in each article (one score per article and
# base form), so a phrase that matters in several articles outranks a one-article word.
# Only phrases of content segments count: note's chrome repeats in every article.
# The base forms are ranked on numbers alone; the phrase shown for each (the surface form
# mentioned most) is looked up for the few that made the list, as string aggregates over
# every row of the table are what made this query slow.
_KEYPHRASES_SQL: Final = """
WITH kp AS MATERIALIZED (
    SELECT article_id, base_form, phrase, count, score FROM keyphrases
    WHERE segment_id IN (SELECT segment_id FROM content_segments)
),
per_article AS (
    SELECT base_form, max(score) AS score, sum(count) AS mentions
    FROM kp
    GROUP BY article_id, base_form
),
top AS (
    SELECT base_form, sum(score) AS score, count(*) AS articles, sum(mentions)::BIGINT AS mentions
    FROM per_article
    GROUP BY base_form
    ORDER BY score DESC, mentions DESC, base_form
    LIMIT ?
),
phrases AS (
    SELECT base_form, arg_max(phrase, count) AS phrase, sum(count) AS mentions
    FROM kp
    WHERE base_form IN (SELECT base_form FROM top)
    GROUP BY article_id, base_form
)
SELECT top.base_form, arg_max(phrases.phrase, phrases.mentions) AS phrase, top.score, top.articles,
    top.mentions
FROM top JOIN phrases USING (base_form)
GROUP BY top.base_form, top.score, top.articles, top.mentions
ORDER BY top.score DESC, top.mentions DESC, top.base_form
"""


# The heat map's rows: the speakers who say most about tagged subjects, chosen here rather
# than in Python (every speaker x subject of a large warehouse is tens of thousands of rows).
_SPEAKER_TOPICS_SQL: Final = """
WITH st AS MATERIALIZED (SELECT * FROM speaker_topics),
totals AS (SELECT speaker_id, sum(chars) AS chars FROM st GROUP BY speaker_id),
top AS (SELECT speaker_id FROM totals ORDER BY chars DESC, speaker_id LIMIT ?)
SELECT st.*, (SELECT count(*) FROM totals) AS n_speakers
FROM st JOIN top USING (speaker_id)
ORDER BY st.speaker_id, st.subject
"""


def _materialise_content_segments(con: duckdb.DuckDBPyConnection) -> None:
    """Compute ``content_segments`` once for every query of the report.

    The view joins four tables and measures every segment's text; the totals, the article
    overview, the heat map and the keyphrases each read it, and computed it again each
    time. A temporary table of the same name shadows the view (DuckDB looks names up in
    the temporary schema first), so the dashboard views read the copy too.
    """
    columns = ", ".join(_CONTENT_COLUMNS)
    con.execute(f"CREATE TEMP TABLE content_segments AS SELECT {columns} FROM main.content_segments")


def _load(warehouse: str, max_articles: int) -> _Data:
    with connect(warehouse) as con:
        _materialise_content_segments(con)
        totals = _rows(con, _TOTALS_SQL)[0]
        runs = _rows(con, "SELECT * FROM runs ORDER BY started_at DESC LIMIT 1")
        articles = _rows(
            con,
            "SELECT * FROM article_overview ORDER BY published_at DESC NULLS LAST, title, article_id LIMIT ?",
            [max_articles],
        )
        ids = [a["article_id"] for a in articles]
        data = _Data(
            warehouse=warehouse,
            totals={k: int(v) for k, v in totals.items()},
            latest_run=runs[0] if runs else None,
            n_articles=int(totals["articles"]),
            articles=articles,
        )
        for seg in _rows(
            con,
            "SELECT article_id, ordinal, kind, chars, speaker_id, speaker_name, speaker_role, facet "
            "FROM content_segments WHERE list_contains(?, article_id) ORDER BY article_id, ordinal",
            [ids],
        ):
            data.segments.setdefault(seg["article_id"], []).append(seg)
        for sp in _rows(
            con,
            "SELECT article_id, speaker_id, name, affiliation, job_title, role, segment_count, char_count "
            "FROM speakers WHERE list_contains(?, article_id) ORDER BY article_id, first_ordinal",
            [ids],
        ):
            data.speakers.setdefault(sp["article_id"], []).append(sp)
        data.speaker_topics = _rows(con, _SPEAKER_TOPICS_SQL, [MAX_HEATMAP_SPEAKERS])
        data.n_topic_speakers = int(data.speaker_topics[0]["n_speakers"]) if data.speaker_topics else 0
        data.keyphrases = _rows(con, _KEYPHRASES_SQL, [TOP_KEYPHRASES])
        data.rejects = _rows(
            con,
            "SELECT source_path, error_type, error_message, rejected_at, run_id FROM rejects "
            "ORDER BY source_path",
        )
        data.labels = {
            r["topic_id"]: r["label_ja"] for r in _rows(con, "SELECT topic_id, label_ja FROM topics")
        }
    return data


# -- charts ------------------------------------------------------------------------------


def _speaker_key(seg: Mapping[str, Any]) -> str:
    """Who a strip cell is for: a named speaker, or the voice of an unnamed role."""
    role = seg["speaker_role"]
    if seg["speaker_id"] and role != "none":
        return str(seg["speaker_name"])
    if role in ("narrator", "interviewer"):
        return f"({role})"
    return "(none)"


_ROLE_LABELS: Final = {
    "(narrator)": "地の文 narrator",
    "(interviewer)": "聞き手 interviewer",
    "(none)": "なし none",
}


def _speaker_colors(segs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    colors: dict[str, str] = {}
    named = 0
    for seg in segs:
        key = _speaker_key(seg)
        if key in colors:
            continue
        if key == "(narrator)":
            colors[key] = _NARRATOR_COLOR
        elif key == "(interviewer)":
            colors[key] = _INTERVIEWER_COLOR
        elif key == "(none)":
            colors[key] = _NONE_COLOR
        else:
            colors[key] = _SPEAKER_PALETTE[named % len(_SPEAKER_PALETTE)]
            named += 1
    return colors


def _strip_svg(segs: Sequence[Mapping[str, Any]], labels: Mapping[str, str], alt: str) -> str:
    """An article's two-row segment strip as inline SVG rectangles.

    One matplotlib figure per article cost ~0.3 s (most of a report's time for 50
    articles); the strip is only rectangles, so it is written directly. Labels and the
    legend are the HTML around it; each rectangle's tooltip names speaker and facet.
    """
    speaker_colors = _speaker_colors(segs)
    total = sum(int(s["chars"]) for s in segs) or 1
    rows: list[str] = []
    x = 0.0
    for seg in segs:
        width = 1000.0 * int(seg["chars"]) / total
        key = _speaker_key(seg)
        facet = seg["facet"] or ""
        tip = _e(f"{_ROLE_LABELS.get(key, key)} · {labels.get(facet, facet) or '-'}")
        for y, color in ((0, speaker_colors[key]), (22, FACET_COLORS.get(facet, _NONE_COLOR))):
            rows.append(
                f'<rect x="{x:.2f}" y="{y}" width="{max(width, 0.5):.2f}" height="20" fill="{color}" '
                f'stroke="white" stroke-width="0.4"><title>{tip}</title></rect>'
            )
        x += width
    return (
        '<div class="strip"><div class="strip-labels"><span>話者 speaker</span><span>ファセット facet</span></div>'
        f'<svg class="chart wide" role="img" aria-label="{_e(alt)}" viewBox="0 0 1000 42" '
        f'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg></div>'
    )


def _short(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last of them an ellipsis.

    >>> _short("ガバメントクラウド", 5), _short("防災", 5)
    ('ガバメン…', '防災')
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def heat_color(share: float) -> str:
    """The heat map's colour for ``share`` (0 to 1) of its largest value.

    >>> heat_color(0.0), heat_color(1.0), heat_color(0.0625)
    ('#ffffd9', '#081d58', '#f6fcc5')
    """
    share = min(max(share, 0.0), 1.0)
    pos = share * (len(HEAT_SCALE) - 1)
    i = min(int(pos), len(HEAT_SCALE) - 2)
    frac = pos - i
    lo, hi = HEAT_SCALE[i], HEAT_SCALE[i + 1]
    channels = (
        round(int(lo[k : k + 2], 16) + (int(hi[k : k + 2], 16) - int(lo[k : k + 2], 16)) * frac)
        for k in (1, 3, 5)
    )
    return "#" + "".join(f"{c:02x}" for c in channels)


def _heatmap_table(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    """Speakers x subjects as an HTML table: each cell coloured by the characters a speaker
    says about the subject, and numbered with the segments."""
    chars_by: dict[str, int] = {}
    for r in rows:
        chars_by[r["speaker_id"]] = chars_by.get(r["speaker_id"], 0) + int(r["chars"])
    speakers = sorted(chars_by, key=lambda sid: (-chars_by[sid], sid))[:MAX_HEATMAP_SPEAKERS]
    shown = set(speakers)
    subject_chars: dict[str, int] = {}
    for r in rows:
        if r["speaker_id"] in shown:
            subject_chars[r["subject"]] = subject_chars.get(r["subject"], 0) + int(r["chars"])
    subjects = sorted(subject_chars, key=lambda s: (-subject_chars[s], s))
    cell = {(r["speaker_id"], r["subject"]): r for r in rows}
    names = {r["speaker_id"]: (r["speaker_name"], r["article_title"] or r["article_id"]) for r in rows}
    many_articles = len({r["article_id"] for r in rows if r["speaker_id"] in shown}) > 1
    peak = max((int(cell[k]["chars"]) for k in cell if k[0] in shown), default=1) or 1

    head = "".join(
        f'<th scope="col" data-subject="{_e(su)}" title="{_e(labels.get(su, su))} ({_e(su)})">'
        f"<span>{_e(_short(labels.get(su, su), 14))}</span></th>"
        for su in subjects
    )
    body = []
    for sid in speakers:
        name, title = names[sid]
        where = f" <small>｜{_e(_short(title, 16))}</small>" if many_articles else ""
        cells = []
        for su in subjects:
            found = cell.get((sid, su))
            if found is None:
                # Empty cells stay white, so "never" does not look like "a little".
                cells.append("<td></td>")
                continue
            chars, segments = int(found["chars"]), int(found["segments"])
            share = chars / peak
            ink = "#ffffff" if share > 0.55 else "#222222"
            tip = f"{name} · {labels.get(su, su)}: {segments} segments, {chars:,} characters"
            cells.append(
                f'<td style="background:{heat_color(share)};color:{ink}" title="{_e(tip)}" '
                f'data-chars="{chars}">{segments}</td>'
            )
        body.append(
            f'<tr data-speaker-id="{_e(sid)}"><th scope="row" title="{_e(name)} ｜ {_e(title)}">'
            f"{_e(name)}{where}</th>{''.join(cells)}</tr>"
        )
    gradient = ", ".join(HEAT_SCALE)
    scale = (
        f'<div class="scale"><span>0</span><span class="ramp" style="background:linear-gradient(to right, '
        f'{gradient})"></span><span>{peak:,} 文字数 characters</span></div>'
    )
    return (
        '<div class="heat-wrap"><table class="heat"><thead><tr><th></th>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{scale}"
    )


def _keyphrase_bars(rows: Sequence[Mapping[str, Any]]) -> str:
    """The top keyphrases as HTML bars, as long as their score, best first."""
    top = max((float(r["score"]) for r in rows), default=1.0) or 1.0
    items = "".join(
        f'<tr data-phrase="{_e(r["phrase"])}"><th scope="row" title="{_e(r["phrase"])}">'
        f"{_e(_short(r['phrase'], 20))}</th>"
        f'<td><span class="bar" style="width:{70 * float(r["score"]) / top:.1f}%"></span>'
        f"<small>{float(r['score']):.1f} · {int(r['mentions'])}× / {int(r['articles'])} art.</small></td></tr>"
        for r in rows
    )
    return f'<table class="bars">{items}</table>'


# -- page --------------------------------------------------------------------------------

_CSS: Final = """
:root { --ink: #1f2328; --muted: #5b636d; --line: #d8dee4; --card: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1120px; padding: 24px 28px 48px; color: var(--ink);
  font: 15px/1.55 "Noto Sans CJK JP", "Noto Sans JP", "Source Han Sans JP", "Hiragino Sans",
  "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo", "IPAexGothic", "IPAGothic", "TakaoGothic",
  "VL Gothic", system-ui, sans-serif; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 0 0 2px; }
h4 { font-size: 13px; margin: 0 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
code { font-size: 13px; }
.meta, .note, small { color: var(--muted); }
.meta { margin: 0 0 10px; font-size: 13px; }
nav a { margin-right: 14px; font-size: 14px; }
.totals { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.total { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.total b { display: block; font-size: 24px; }
.total span { color: var(--muted); font-size: 13px; }
.article { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin: 0 0 16px; }
.chart { display: block; max-width: 100%; height: auto; margin: 6px 0; }
.chart.wide { width: 100%; }
.strip { display: flex; gap: 8px; align-items: stretch; margin: 6px 0; }
.strip-labels { display: flex; flex-direction: column; justify-content: space-around; font-size: 12px; white-space: nowrap; }
.strip svg { height: 48px; margin: 0; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 12px; }
.facts ul, .facts ol { margin: 0; padding-left: 0; list-style: none; font-size: 14px; }
.facts ol { padding-left: 20px; list-style: decimal; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; border: 1px solid rgba(0,0,0,.15); }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--card); }
.heat-wrap { overflow-x: auto; margin: 6px 0; }
table.heat { width: auto; font-size: 12px; }
.heat th, .heat td { border: 1px solid #fff; padding: 3px 6px; }
.heat thead th { vertical-align: bottom; background: none; font-weight: 600; }
.heat thead th span { display: block; writing-mode: vertical-rl; max-height: 13em; margin: 0 auto; }
.heat tbody th { background: none; font-weight: normal; white-space: nowrap; text-align: right; }
.heat td { min-width: 30px; text-align: center; font-variant-numeric: tabular-nums; background: #fff; }
.scale { display: flex; gap: 8px; align-items: center; font-size: 12px; color: var(--muted); margin: 4px 0 0; }
.scale .ramp { display: inline-block; width: 180px; height: 10px; border: 1px solid var(--line); }
table.bars { width: 100%; }
.bars th { background: none; font-weight: normal; white-space: nowrap; text-align: right; width: 1%; }
.bars td { white-space: nowrap; }
.bars .bar { display: inline-block; height: 14px; background: #4e79a7; vertical-align: -2px; margin-right: 6px; }
.bars small { color: var(--muted); }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _when(value: object) -> str:
    if isinstance(value, datetime):
        try:
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        except (OverflowError, ValueError):  # a time at the edge of datetime's range
            return value.isoformat()
    return "-" if value is None else str(value)


def _jst_day(value: object) -> str:
    """The day of a stored time in Japan time, like the views' months; never fails.

    DuckDB hands a time Python cannot hold (past the year 9999) over as text.
    """
    if value is None:
        return "undated"
    if isinstance(value, datetime):
        try:
            return value.astimezone(_JST).strftime("%Y-%m-%d")
        except (OverflowError, ValueError):
            return value.isoformat()[:10]
    return str(value).replace("T", " ").split(" ")[0]


def _swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{color}"></span>'


def _totals_html(data: _Data) -> str:
    t = data.totals
    cards = [
        ("articles", t["articles"]),
        (f"content segments (of {t['segments']:,})", t["content_segments"]),
        ("characters of content", t["content_chars"]),
        ("sentences", t["sentences"]),
        (f"speakers ({t['people']:,} distinct names)", t["speakers"]),
        ("subjects tagged", t["subjects"]),
        ("distinct keyphrases", t["keyphrases"]),
        ("rejected inputs", t["rejects"]),
        ("runs", t["runs"]),
    ]
    items = "".join(
        f'<div class="total"><b>{value:,}</b><span>{_e(name)}</span></div>' for name, value in cards
    )
    return f'<section id="totals"><h2>Corpus totals</h2><div class="totals">{items}</div></section>'


def _article_html(article: Mapping[str, Any], data: _Data, _unused: str = "") -> str:
    # The third argument once named the charts' font; nothing is drawn with one any more.
    aid = article["article_id"]
    segs = data.segments.get(aid, [])
    title = article["title"] or "(untitled)"
    published = article["published_at"]
    # Japan time, like the views' months: DuckDB hands timestamps over in the session's zone.
    when = _jst_day(published)
    meta = (
        f"{_e(when)} · {_e(article['source_format'])} · <code>{_e(aid)}</code> · "
        f"{article['content_segments']:,} content segments · {article['content_chars']:,} characters"
    )
    parts = [f'<article class="article" data-article-id="{_e(aid)}">', f"<h3>{_e(title)}</h3>"]
    parts.append(f'<p class="meta">{meta}</p>')
    if segs and sum(int(s["chars"]) for s in segs):
        alt = f"Segments of 「{title}」 in reading order, coloured by speaker and by facet"
        parts.append(_strip_svg(segs, data.labels, alt))
    colors = _speaker_colors(segs)
    speakers = []
    for sp in data.speakers.get(aid, []):
        about = " ".join(x for x in (sp["affiliation"], sp["job_title"]) if x)
        detail = f"{sp['role']} · {sp['segment_count']} segments · {sp['char_count']:,} characters"
        speakers.append(
            f'<li data-speaker="{_e(sp["name"])}">{_swatch(colors.get(sp["name"], _NONE_COLOR))}'
            f"{_e(sp['name'])} <small>{_e(about + ' · ' if about else '')}{_e(detail)}</small></li>"
        )
    present = {s["facet"] for s in segs if s["facet"]}
    facets = [
        f'<li data-facet="{f}">{_swatch(FACET_COLORS[f])}{_e(data.labels.get(f, f))} '
        f"<small>{f} · {float(article[f'facet_share_{f}'] or 0):.0%}</small></li>"
        for f in FACETS
        if f in present
    ]
    subjects = [
        f'<li data-subject="{_e(s)}">{_e(data.labels.get(s, s))} <small>{_e(s)}</small></li>'
        for s in article["top_subjects"]
    ]
    parts.append('<div class="facts">')
    parts.append(f"<div><h4>Speakers</h4><ul>{''.join(speakers) or '<li>none named</li>'}</ul></div>")
    parts.append(
        f"<div><h4>Facets (share of characters)</h4><ul>{''.join(facets) or '<li>-</li>'}</ul></div>"
    )
    parts.append(f"<div><h4>Top subjects</h4><ol>{''.join(subjects) or '<li>-</li>'}</ol></div>")
    parts.append("</div></article>")
    return "".join(parts)


def _articles_html(data: _Data) -> str:
    head = '<section id="articles"><h2>Articles</h2>'
    if not data.n_articles:
        return head + '<p class="note">No articles yet.</p></section>'
    if not data.articles:
        return (
            head
            + f'<p class="note">{data.n_articles:,} articles; none drawn (max_articles is 0).</p></section>'
        )
    note = (
        f'<p class="note">Showing the {len(data.articles)} most recent of {data.n_articles:,} articles.</p>'
        if len(data.articles) < data.n_articles
        else ""
    )
    legend = " ".join(
        f"{_swatch(FACET_COLORS[f])}{_e(data.labels.get(f, f))} <small>{f}</small>" for f in FACETS
    )
    explain = (
        '<p class="note">Each strip is one article&#39;s content segments in reading order, as wide as '
        "their characters: the top row coloured by who speaks, the bottom row by the facet of the "
        f"story. Facets: {legend}</p>"
    )
    return head + explain + note + "".join(_article_html(a, data) for a in data.articles) + "</section>"


def _speakers_html(data: _Data) -> str:
    head = '<section id="speakers"><h2>Speakers × subjects</h2>'
    if not data.speaker_topics:
        return head + '<p class="note">No speaker talks about a tagged subject yet.</p></section>'
    n = data.n_topic_speakers
    note = (
        f'<p class="note">Colour: characters a speaker says about a subject; number: segments. '
        f"A segment with several subjects counts for each. {min(n, MAX_HEATMAP_SPEAKERS)} of {n} "
        "speakers, most characters first.</p>"
    )
    return head + note + _heatmap_table(data.speaker_topics, data.labels) + "</section>"


def _keyphrases_html(data: _Data) -> str:
    head = '<section id="keyphrases"><h2>Top keyphrases</h2>'
    if not data.keyphrases:
        return head + '<p class="note">No keyphrases yet.</p></section>'
    note = (
        '<p class="note">Compound nouns of content segments, ranked by their TF-IDF score summed over '
        "the articles they appear in; labels give the score, mentions and articles.</p>"
    )
    return head + note + _keyphrase_bars(data.keyphrases) + "</section>"


def _rejects_html(data: _Data) -> str:
    head = '<section id="rejects"><h2>Rejected inputs</h2>'
    if not data.rejects:
        return head + '<p class="note">No rejected inputs.</p></section>'
    rows = "".join(
        f"<tr><td><code>{_e(r['source_path'])}</code></td><td>{_e(r['error_type'])}</td>"
        f"<td>{_e(r['error_message'])}</td><td>{_e(_when(r['rejected_at']))}</td></tr>"
        for r in data.rejects
    )
    table = f"<table><tr><th>input</th><th>error</th><th>reason</th><th>rejected</th></tr>{rows}</table>"
    return head + table + "</section>"


def render_report(warehouse: str, *, max_articles: int = DEFAULT_MAX_ARTICLES) -> str:
    """The report of a warehouse as one self-contained HTML page.

    ``max_articles`` caps the per-article strips (most recent first).

    >>> import tempfile
    >>> page = render_report(tempfile.mkdtemp())
    >>> page.startswith("<!doctype html>"), "<title>note-etl report</title>" in page
    (True, True)
    """
    if max_articles < 0:
        raise ValueError("max_articles must not be negative")
    data = _load(warehouse, max_articles)
    run = data.latest_run
    run_line = (
        f"latest run <code>{_e(run['run_id'])}</code> ({_e(run['status'])}, {_e(_when(run['finished_at']))}: "
        f"{run['articles_written']} written, {run['articles_unchanged']} unchanged, "
        f"{run['inputs_rejected']} rejected)"
        if run
        else "no runs yet"
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<header><h1>{REPORT_TITLE}</h1>",
        f'<p class="meta">warehouse <code>{_e(warehouse)}</code> · {run_line} · generated {generated}</p>',
        '<nav><a href="#totals">Totals</a><a href="#articles">Articles</a>'
        '<a href="#speakers">Speakers × subjects</a><a href="#keyphrases">Keyphrases</a>'
        '<a href="#rejects">Rejects</a></nav></header>',
        "<main>",
        _totals_html(data),
        _articles_html(data),
        _speakers_html(data),
        _keyphrases_html(data),
        _rejects_html(data),
        "</main>",
        f"<footer>{_e(PIPELINE_VERSION)} · table schema {SCHEMA_VERSION}"
        " · a self-contained page: no scripts, "
        "no external resources</footer>",
    ]
    return (
        '<!doctype html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{REPORT_TITLE}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def default_report_path(warehouse: str) -> str:
    """Where the report goes unless told otherwise: ``report.html`` in the warehouse root.

    >>> default_report_path("s3://bucket/wh/")
    's3://bucket/wh/report.html'
    """
    return f"{warehouse.rstrip('/')}/{REPORT_FILE}"


def write_report(warehouse: str, out: str | None = None, *, max_articles: int = DEFAULT_MAX_ARTICLES) -> str:
    """Render the report and write it (default :func:`default_report_path`); returns where.

    A local file is replaced atomically, so a reader never opens half a report.

    >>> import os, tempfile
    >>> wh = tempfile.mkdtemp()
    >>> os.path.basename(write_report(wh))
    'report.html'
    """
    page = render_report(warehouse, max_articles=max_articles).encode("utf-8")
    target = out or default_report_path(warehouse)
    fs, fs_path = fsspec.core.url_to_fs(target)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    try:
        if protocol not in ("file", "local"):
            # Object stores: one PUT of the final key is atomic for readers.
            with fs.open(fs_path, "wb") as fh:
                fh.write(page)
            return target
        path = Path(fs_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        try:
            tmp.write_bytes(page)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target}: {exc}") from exc
    return str(path)


__all__ = [
    "DEFAULT_MAX_ARTICLES",
    "HEAT_SCALE",
    "REPORT_TITLE",
    "ReportError",
    "default_report_path",
    "heat_color",
    "render_report",
    "write_report",
]
