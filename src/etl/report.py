"""Run summaries for people: the markdown and tables published as Prefect artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl.run import RunSummary


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
    return {"articles": articles, "speakers": speakers, "topics": topics, "rejects": rejects}


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
    >>> summary_markdown(s, report_path="/wh/report.html").splitlines()[8]
    'Report: [/wh/report.html](file:///wh/report.html)'
    """
    lines = [
        f"# note-etl run {summary.run_id}",
        "",
        "| inputs seen | written | unchanged | rejected |",
        "|---:|---:|---:|---:|",
        f"| {summary.inputs_seen} | {summary.articles_written} | {summary.articles_unchanged} | {summary.inputs_rejected} |",
        "",
        f"Warehouse: `{summary.warehouse}` (tables: articles, segments, sentences, speakers, "
        "segment_topics, topics, keyphrases, runs, rejects)",
        "",
    ]
    if report_path:
        lines += [f"Report: [{report_path}]({report_link(report_path)})", ""]
    if summary.articles:
        lines += [
            "## Articles",
            "",
            "| article | title | speakers (segments) | facets |",
            "|---|---|---|---|",
        ]
        for a in summary.articles:
            per = {
                sp["name"]: sp["segment_count"]
                for sp in summary.speakers
                if sp["article_id"] == a["article_id"]
            }
            speakers = ", ".join(f"{n} ({per.get(n, 0)})" for n in a["speakers"]) or "-"
            lines.append(
                f"| `{a['article_id']}` | {a['title'] or '-'} | {speakers} | {', '.join(a['facets']) or '-'} |"
            )
        lines.append("")
    if summary.subjects:
        lines += ["## Top subjects", ""]
        lines += [f"- {k}: {v} segments" for k, v in list(summary.subjects.items())[:10]]
        lines.append("")
    if summary.top_keyphrases:
        lines += ["## Top keyphrases", "", ", ".join(p for p, _ in summary.top_keyphrases[:15]), ""]
    if summary.rejects:
        lines += ["## Rejects", "", "| file | error | reason |", "|---|---|---|"]
        lines += [f"| `{r.source_path}` | {r.error_type} | {r.error_message} |" for r in summary.rejects]
        lines.append("")
    return "\n".join(lines)
