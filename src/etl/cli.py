"""Command line: ``note-etl run [PATH ...] [--warehouse DIR]``, ``note-etl fetch``, ``note-etl serve``,
``note-etl views``, ``note-etl report``, ``note-etl topics suggest``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from etl import __version__
from etl.reading import DEFAULT_MAX_BYTES

if TYPE_CHECKING:
    from etl.settings import PipelineSettings


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="note-etl",
        description="Turn Japanese note articles into speaker- and topic-tagged Parquet tables.",
    )
    ap.add_argument("--version", action="version", version=f"note-etl {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="process articles into the warehouse (the note_etl Prefect flow)",
        description="Process note articles (.txt page text, .html note pages, .json note API answers) "
        "into the warehouse tables. Unchanged inputs are skipped; bad inputs are recorded in `rejects`.",
    )
    run.add_argument("paths", nargs="*", default=["raw"], help="input files or folders (default: raw)")
    run.add_argument(
        "--warehouse", default="warehouse", help="warehouse root folder or fsspec URI (default: warehouse)"
    )
    run.add_argument("--full-refresh", action="store_true", help="reprocess every input, even unchanged ones")
    run.add_argument("--taxonomy", default=None, help="subject taxonomy YAML (default: config/topics.yaml)")
    run.add_argument("--batch-size", type=int, default=50, help="articles per Prefect task (default: 50)")
    run.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="reject inputs larger than this"
    )
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes for the batch tasks (default: 1; 2 uses both cores here)",
    )
    run.add_argument(
        "--dask-address",
        default=None,
        help="run the batch tasks on an existing Dask cluster (tcp://host:8786)",
    )

    # -- fetch: note accounts -> raw/ (the fetch_note Prefect flow) -----------------------
    fetch = sub.add_parser(
        "fetch",
        help="fetch new and changed articles of note accounts into raw/ (the fetch_note flow)",
        description="List note accounts' articles and download new or changed ones from the note API "
        "into RAW/note/<urlname>/<key>.json, with a .meta.json sidecar. Settings come from --config.",
    )
    fetch.add_argument("accounts", nargs="*", help="note urlnames (default: the accounts in --config)")
    fetch.add_argument(
        "--config", default="config/pipeline.yaml", help="settings file (default: %(default)s)"
    )
    fetch.add_argument("--raw", default=None, help="raw folder or fsspec URI (default: from --config)")
    fetch.add_argument("--max-requests", type=int, default=None, help="cap on HTTP requests for this run")

    # -- serve: the scheduled deployments (needs a Prefect server: `make ui`) ------------
    serve = sub.add_parser(
        "serve",
        help="serve the scheduled deployments fetch-and-process and process-raw (needs `make ui`)",
        description="Register the deployments of --config with the Prefect server at PREFECT_API_URL "
        "and run their scheduled flow runs in this process until interrupted (Ctrl-C).",
    )
    serve.add_argument(
        "--config", default="config/pipeline.yaml", help="settings file (default: %(default)s)"
    )
    serve.add_argument(
        "--only",
        action="append",
        default=None,
        metavar="NAME",
        help="serve only this deployment (repeatable)",
    )
    serve.add_argument("--limit", type=int, default=None, help="flow runs at a time (default: Prefect's)")

    # -- views / report: what analysts look at ------------------------------------------
    views = sub.add_parser(
        "views",
        help="write the dashboard views (DuckDB) over the warehouse tables",
        description="Write a DuckDB file of views over the warehouse's Parquet tables: every table, "
        "plus content_segments, speaker_topics, article_overview and topic_trends (sql/views.sql). "
        "The warehouse's absolute path is written into the views: rerun after moving it.",
    )
    views.add_argument("--warehouse", default="warehouse", help="local warehouse root (default: warehouse)")
    views.add_argument("--out", default=None, help="DuckDB file (default: WAREHOUSE/note_etl.duckdb)")
    report = sub.add_parser(
        "report",
        help="write the HTML report of the warehouse (charts, no network needed to open it)",
        description="Write one self-contained HTML page: corpus totals, per-article strips of segments "
        "coloured by speaker and facet, a speaker x subject heat map, top keyphrases and rejects.",
    )
    report.add_argument(
        "--warehouse", default="warehouse", help="warehouse root folder or fsspec URI (default: warehouse)"
    )
    report.add_argument("--out", default=None, help="HTML file (default: WAREHOUSE/report.html)")
    report.add_argument(
        "--max-articles",
        type=int,
        default=50,
        help="articles drawn as strips, most recent first (default: 50)",
    )
    # -- topics suggest: proposed taxonomy entries for the corpus ----------------------------
    topics = sub.add_parser("topics", help="work with the subject taxonomy")
    topics_sub = topics.add_subparsers(dest="topics_command", required=True)
    suggest = topics_sub.add_parser(
        "suggest",
        help="propose taxonomy entries for the articles in a warehouse (nothing is applied)",
        description="Group the warehouse's strongest keyphrases by the articles they share and print "
        "them as topics.yaml entries, each with its keywords and example articles. Edit the YAML, then "
        "pass it with `note-etl run --taxonomy FILE` or copy entries into config/topics.yaml.",
    )
    suggest.add_argument("--warehouse", default="warehouse", help="warehouse root folder or fsspec URI")
    suggest.add_argument(
        "--taxonomy", default=None, help="taxonomy whose phrases are left out (default: config/topics.yaml)"
    )
    suggest.add_argument("--max-topics", type=int, default=15, help="entries to propose (default: 15)")
    suggest.add_argument(
        "--min-articles", type=int, default=2, help="articles a phrase must occur in (default: 2)"
    )
    suggest.add_argument("--out", default=None, help="write the YAML here instead of printing it")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``note-etl`` command; returns the process exit code.

    >>> _parser().parse_args(["run"]).paths, _parser().parse_args(["run"]).warehouse
    (['raw'], 'warehouse')
    """
    args = _parser().parse_args(argv)
    if args.command == "run":
        # Offline by default: no usage telemetry from the embedded Prefect server.
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("DO_NOT_TRACK", "1")
        from flows.note_etl import note_etl

        try:
            result = note_etl(
                paths=list(args.paths),
                warehouse=args.warehouse,
                full_refresh=args.full_refresh,
                batch_size=args.batch_size,
                taxonomy=args.taxonomy,
                max_bytes=args.max_bytes,
                progress=not args.no_progress and sys.stderr.isatty(),
                workers=args.workers,
                dask_address=args.dask_address,
            )
        except Exception as exc:  # the run itself failed (bad warehouse, bad taxonomy, ...)
            print(f"note-etl: run failed: {exc}", file=sys.stderr)
            return 1
        print(
            f"run {result['run_id']}: {result['inputs_seen']} inputs, {result['articles_written']} written, "
            f"{result['articles_unchanged']} unchanged, {result['inputs_rejected']} rejected -> {result['warehouse']}"
        )
        if result.get("internal_errors"):
            # The data of the other inputs is written; the exit code tells a scheduler that
            # something needs a look (rejects of bad input alone are not an error).
            print(
                f"note-etl: {result['internal_errors']} input(s) hit an internal error; see the rejects table",
                file=sys.stderr,
            )
            return 3
        return 0
    if args.command == "fetch":
        return _fetch(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "views":
        return _views(args)
    if args.command == "report":
        return _report(args)
    if args.command == "topics":
        return _topics_suggest(args)
    return 2


def _settings(path: str) -> PipelineSettings | None:
    """The settings file, offline Prefect defaults set; ``None`` (reason on stderr) if invalid."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from etl.settings import SettingsError, load_settings

    try:
        return load_settings(path)
    except SettingsError as exc:
        print(f"note-etl: {exc}", file=sys.stderr)
        return None


def _fetch(args: argparse.Namespace) -> int:
    """``note-etl fetch``: run the fetch_note flow with the settings file's options."""
    settings = _settings(args.config)
    if settings is None:
        return 2
    accounts = list(args.accounts) or list(settings.accounts)
    if not accounts:
        print(f"note-etl: no accounts given and none in {args.config}", file=sys.stderr)
        return 2
    options = settings.fetch.to_dict()
    if args.max_requests is not None:
        options["max_requests"] = args.max_requests
    from flows.fetch_note import fetch_note

    try:
        result = fetch_note(accounts=accounts, raw=args.raw or settings.raw, options=options)
    except Exception as exc:  # the run itself failed (bad options, raw/ not writable, ...)
        print(f"note-etl: fetch failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"fetch {', '.join(accounts)}: {result['listed']} listed, {result['new']} new, {result['changed']} changed, "
        f"{result['unchanged']} unchanged, {result['gone']} gone, {result['failed']} failed, "
        f"{result['skipped']} skipped ({result['requests']} requests)"
    )
    # Articles that failed are retried by the next run; a listing that failed is an error now.
    return 1 if result["listing_errors"] else 0


def _serve(args: argparse.Namespace) -> int:
    """``note-etl serve``: serve the scheduled deployments until interrupted."""
    settings = _settings(args.config)
    if settings is None:
        return 2
    from flows.deployments import serve_deployments

    try:
        serve_deployments(settings, only=args.only, limit=args.limit)
    except (RuntimeError, ValueError) as exc:
        print(f"note-etl: serve: {exc}", file=sys.stderr)
        return 1
    return 0


def _views(args: argparse.Namespace) -> int:
    """``note-etl views``: write the DuckDB file of dashboard views."""
    from etl.errors import NoteEtlError
    from etl.views import VIEWS, write_views_db

    try:
        db = write_views_db(args.warehouse, args.out)
    except NoteEtlError as exc:
        print(f"note-etl: views: {exc}", file=sys.stderr)
        return 1
    print(f"views {', '.join(VIEWS)} and the warehouse tables -> {db.path}")
    if db.empty_tables:
        # These stay empty views until the file is rewritten: DuckDB cannot glob nothing.
        print(f"no files yet for {', '.join(db.empty_tables)}: rerun `note-etl views` once they are written")
    return 0


def _report(args: argparse.Namespace) -> int:
    """``note-etl report``: write the self-contained HTML report."""
    from etl.errors import NoteEtlError
    from etl.report_html import write_report

    try:
        path = write_report(args.warehouse, args.out, max_articles=args.max_articles)
    except (NoteEtlError, ValueError) as exc:
        print(f"note-etl: report: {exc}", file=sys.stderr)
        return 1
    print(f"report -> {path}")
    return 0


def _topics_suggest(args: argparse.Namespace) -> int:
    """``note-etl topics suggest``: print proposed taxonomy entries for the warehouse's articles."""
    from pathlib import Path

    from etl.errors import NoteEtlError
    from etl.taxonomy import load_taxonomy
    from etl.topic_suggest import suggest_from_warehouse, suggestions_yaml

    try:
        taxonomy = load_taxonomy(args.taxonomy)
        found = suggest_from_warehouse(
            args.warehouse, taxonomy, min_articles=args.min_articles, max_topics=args.max_topics
        )
    except NoteEtlError as exc:
        print(f"note-etl: topics suggest: {exc}", file=sys.stderr)
        return 1
    text = suggestions_yaml(found, source=args.warehouse)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{len(found)} proposed topics -> {args.out}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
