"""Run summaries for people: the markdown and tables published as Prefect artifacts.

Titles, names, paths and reasons come from the inputs, so they are text, never markup:
every value put in the markdown or a table cell goes through :func:`md_text` (HTML
escaped, markdown punctuation backslash-escaped, ``|`` included, one line), and the only
links are those :func:`md_link` makes, to ``http(s)`` addresses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl.commit import RunSummary
from etl.markdown import cell, md_link, md_text


def summary_tables(summary: RunSummary) -> dict[str, list[dict[str, Any]]]:
    """Rows of the run's table artifacts: articles, speakers, topics, rejects.

    >>> from datetime import datetime, UTC
    >>> s = RunSummary("r", "note_etl", datetime.now(UTC), datetime.now(UTC), "completed", 0, 0, 0, 0, "wh")
    >>> sorted(summary_tables(s))
    ['articles', 'rejects', 'speakers', 'topics']
    """
    articles = [
        {
            "article_id": a["article_id"],
            "title": a["title"],
            "source_path": a["source_path"],
            "segments": a["segment_count"],
            "sentences": a["sentence_count"],
            "speakers": ", ".join(a["speakers"]),
            "facets": ", ".join(a["facets"]),
            "subjects": ", ".join(a["subjects"]),
        }
        for a in summary.articles
    ]
    speakers = [
        {
            "article_id": sp["article_id"],
            "speaker": sp["name"],
            "role": sp["role"],
            "affiliation": sp["affiliation"] or "",
            "segments": sp["segment_count"],
        }
        for sp in summary.speakers
    ]
    topics = [{"subject": k, "segments": v} for k, v in summary.subjects.items()]
    rejects = [
        {"source_path": r.source_path, "error_type": r.error_type, "reason": r.error_message}
        for r in summary.rejects
    ]
    tables = {"articles": articles, "speakers": speakers, "topics": topics, "rejects": rejects}
    # The UI renders cells as markdown too: each value escaped like the summary's.
    return {name: [{k: cell(v) for k, v in row.items()} for row in rows] for name, rows in tables.items()}


def report_link(path: str) -> str:
    """A link to the HTML report: a ``file:`` URI for a local path, else the URI as it is.

    >>> report_link("/data/wh/report.html"), report_link("s3://b/wh/report.html")
    ('file:///data/wh/report.html', 's3://b/wh/report.html')
    """
    return path if "://" in path else Path(path).resolve().as_uri()


def summary_markdown(summary: RunSummary, *, report_path: str | None = None) -> str:
    """The run's markdown summary: counts, articles with speakers and facets, rejects.

    ``report_path`` is the HTML report written for the run, if any.

    >>> from datetime import datetime, UTC
    >>> s = RunSummary("r", "note_etl", datetime.now(UTC), datetime.now(UTC), "completed", 1, 1, 0, 0, "wh")
    >>> summary_markdown(s).splitlines()[0]
    '# note-etl run r'
    >>> print(summary_markdown(s, report_path="/wh/report.html").splitlines()[8])
    Report: [/wh/report.html](file:///wh/report.html)
    """
    lines = [
        f"# note-etl run {md_text(summary.run_id)}",
        "",
        "| inputs seen | written | unchanged | rejected |",
        "|---:|---:|---:|---:|",
        f"| {summary.inputs_seen} | {summary.articles_written} | {summary.articles_unchanged} | {summary.inputs_rejected} |",
        "",
        f"Warehouse: {md_text(summary.warehouse)} (tables: articles, segments, sentences, speakers, "
        "segment_topics, topics, keyphrases, runs, rejects)",
        "",
    ]
    if report_path:
        # The one link not to an http(s) address: the report this run wrote, a local file.
        link = md_link(report_path, report_link(report_path), schemes=("http", "https", "file"))
        lines += [f"Report: {link}", ""]
    if summary.articles:
        lines += [
            "## Articles",
            "",
            "| article | title | speakers (segments) | facets |",
            "|---|---|---|---|",
        ]
        # Speakers grouped once: looking them up per article took the square of a backfill.
        segments_of: dict[str, dict[str, int]] = {}
        for sp in summary.speakers:
            segments_of.setdefault(sp["article_id"], {})[sp["name"]] = sp["segment_count"]
        for a in summary.articles:
            per = segments_of.get(a["article_id"], {})
            speakers = ", ".join(f"{md_text(n)} ({per.get(n, 0)})" for n in a["speakers"]) or "-"
            facets = md_text(", ".join(a["facets"])) or "-"
            lines.append(
                f"| {md_text(a['article_id'])} | {md_text(a['title']) or '-'} | {speakers} | {facets} |"
            )
        lines.append("")
    if summary.subjects:
        lines += ["## Top subjects", ""]
        lines += [f"- {md_text(k)}: {v} segments" for k, v in list(summary.subjects.items())[:10]]
        lines.append("")
    if summary.top_keyphrases:
        lines += ["## Top keyphrases", "", ", ".join(md_text(p) for p, _ in summary.top_keyphrases[:15]), ""]
    if summary.rejects:
        lines += ["## Rejects", "", "| file | error | reason |", "|---|---|---|"]
        lines += [
            f"| {md_text(r.source_path)} | {md_text(r.error_type)} | {md_text(r.error_message)} |"
            for r in summary.rejects
        ]
        lines.append("")
    return "\n".join(lines)
