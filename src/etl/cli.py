"""Command line: ``note-etl run [PATH ...] [--warehouse DIR]``, ``note-etl fetch``, ``note-etl serve``,
``note-etl views``, ``note-etl report``, ``note-etl topics suggest``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from etl import __version__
from etl.errors import NoteEtlError
from etl.reading import DEFAULT_MAX_BYTES

if TYPE_CHECKING:
    from etl.settings import PipelineSettings


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="note-etl",
        description="Turn Japanese note articles into speaker- and topic-tagged Parquet tables.",
    )
    ap.add_argument("--version", action="version", version=f"note-etl {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show Prefect's INFO lines too")
    common.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        parents=[common],
        help="process articles into the warehouse (the note_etl Prefect flow)",
        description="Process note articles (.txt page text, .html note pages, .json note API answers) "
        "into the warehouse tables. Unchanged inputs are skipped; bad inputs are recorded in `rejects`.",
    )
    run.add_argument("paths", nargs="*", default=["raw"], help="input files or folders (default: raw)")
    run.add_argument(
        "--warehouse", default="warehouse", help="warehouse root folder or fsspec URI (default: warehouse)"
    )
    run.add_argument("--full-refresh", action="store_true", help="reprocess every input, even unchanged ones")
    run.add_argument("--taxonomy", default=None, help="subject taxonomy YAML (default: the shipped one)")
    run.add_argument(
        "--batch-size", type=int, default=50, help="most articles per Prefect task (default: 50)"
    )
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
        parents=[common],
        help="fetch new and changed articles of note accounts into raw/ (the fetch_note flow)",
        description="List note accounts' articles and download new or changed ones from the note API "
        "into RAW/note/<urlname>/<key>.json, with a .meta.json sidecar. Settings come from --config.",
    )
    fetch.add_argument("accounts", nargs="*", help="note urlnames (default: the accounts in --config)")
    fetch.add_argument(
        "--config",
        default=None,
        help="settings file (default: config/pipeline.yaml if there, else the shipped defaults)",
    )
    fetch.add_argument("--raw", default=None, help="raw folder or fsspec URI (default: from --config)")
    fetch.add_argument("--max-requests", type=int, default=None, help="cap on HTTP requests for this run")

    # -- serve: the scheduled deployments (needs a Prefect server: `make ui`) ------------
    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="serve the scheduled deployments fetch-and-process and process-raw (needs `make ui`)",
        description="Register the deployments of --config with the Prefect server at PREFECT_API_URL "
        "and run their scheduled flow runs in this process until interrupted (Ctrl-C).",
    )
    serve.add_argument(
        "--config",
        default=None,
        help="settings file (default: config/pipeline.yaml if there, else the shipped defaults)",
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
        parents=[common],
        help="write the dashboard views (DuckDB) over the warehouse tables",
        description="Write a DuckDB file of views over the warehouse's Parquet tables: every table, "
        "plus content_segments, speaker_topics, article_overview and topic_trends (sql/views.sql). "
        "The warehouse's absolute path is written into the views: rerun after moving it.",
    )
    views.add_argument("--warehouse", default="warehouse", help="local warehouse root (default: warehouse)")
    views.add_argument("--out", default=None, help="DuckDB file (default: WAREHOUSE/note_etl.duckdb)")
    report = sub.add_parser(
        "report",
        parents=[common],
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
        parents=[common],
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


#: Exit codes: 0 done, 1 the run failed, 2 a mistake in the command or its files (one line
#: on stderr says which file and what), 3 some input hit an internal error, 130 Ctrl-C.
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERNAL: Final = 3
EXIT_INTERRUPTED: Final = 130


class UsageError(NoteEtlError):
    """A mistake in the command line or the files it names; printed as one line, exit 2.

    >>> str(UsageError("wh: is a file, not a warehouse folder"))
    'wh: is a file, not a warehouse folder'
    """


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``note-etl`` command; returns the process exit code.

    >>> _parser().parse_args(["run"]).paths, _parser().parse_args(["run"]).warehouse
    (['raw'], 'warehouse')
    """
    args = _parser().parse_args(argv)
    _terminal_logging(verbose=args.verbose)
    from etl.errors import TaxonomyError
    from etl.local_server import ServerStartError
    from etl.settings import SettingsError

    commands = {
        "run": _run,
        "fetch": _fetch,
        "serve": _serve,
        "views": _views,
        "report": _report,
        "topics": _topics_suggest,
    }
    try:
        return commands[args.command](args)
    except (UsageError, SettingsError, TaxonomyError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"note-etl: {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ServerStartError as exc:
        print(f"note-etl: {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        print(
            "note-etl: interrupted (a run stopped before its commit leaves the warehouse as it was)"
            if args.command == "run"
            else "note-etl: interrupted",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


def _terminal_logging(*, verbose: bool) -> None:
    """Prefect's INFO lines stay out of the terminal unless ``-v``; they still reach its API."""
    # Offline by default: no usage telemetry from the embedded Prefect server.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Prefect reads these when it is first imported (the commands import it lazily).
    if verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "INFO"
    else:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    if "prefect.logging" in sys.modules:  # already imported (tests, or a host program)
        level = logging.INFO if verbose else logging.WARNING
        for handler in logging.getLogger().handlers:
            if type(handler).__name__ == "PrefectConsoleHandler":
                handler.setLevel(level)


def _run(args: argparse.Namespace) -> int:
    """``note-etl run``: check the command's paths, run the flow, print one summary."""
    from etl.facet_config import load_facet_config
    from etl.taxonomy import load_taxonomy

    for path in args.paths:
        if "://" not in path and not os.path.exists(path):
            hint = (
                " (give the files or folders to process: note-etl run PATH ...)"
                if _no_paths_given(args)
                else ""
            )
            raise UsageError(f"{path}: no such file or folder{hint}")
    _check_warehouse_target(args.warehouse)

    load_taxonomy(args.taxonomy)  # a broken taxonomy is one line naming file and line, before any work
    load_facet_config()  # likewise the facet lexicon, which users edit too

    def warm_up() -> None:
        import etl.flows.note_etl  # noqa: F401  (seconds of imports, while the server starts)

        if args.workers > 1 and not args.dask_address:
            from etl.executors import start_fork_server

            start_fork_server()  # the workers' imports, while the server starts too

    with _prefect_api(warm_up) as started:
        from etl.flows.note_etl import note_etl

        if started is not None and args.verbose:
            print(f"note-etl: temporary Prefect API server ready after {started:.1f} s", file=sys.stderr)
        progress = not args.no_progress and sys.stderr.isatty()
        try:
            with _logs_above_the_bar():
                result = note_etl(
                    paths=list(args.paths),
                    warehouse=args.warehouse,
                    full_refresh=args.full_refresh,
                    batch_size=args.batch_size,
                    taxonomy=args.taxonomy,
                    max_bytes=args.max_bytes,
                    progress=progress,
                    workers=args.workers,
                    dask_address=args.dask_address,
                )
        except (KeyboardInterrupt, UsageError):
            raise
        except Exception as exc:  # the run itself failed (warehouse unwritable, locked, ...)
            if args.debug:
                traceback.print_exc()
            print(f"note-etl: run failed: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print(run_summary(result))
    if result.get("internal_errors"):
        # The data of the other inputs is written; the exit code tells a scheduler that
        # something needs a look (rejects of bad input alone are not an error).
        print(
            f"note-etl: {result['internal_errors']} input(s) hit an internal error; see the rejects table",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return 0


def _no_paths_given(args: argparse.Namespace) -> bool:
    """Whether ``run`` was given no paths (so it looked for ``raw``)."""
    return bool(list(args.paths) == ["raw"])


def run_summary(result: Mapping[str, Any], max_rejects: int = 10) -> str:
    """What a run did, for the terminal: counts, each reject's reason, where to look.

    >>> print(run_summary({"run_id": "r1", "inputs_seen": 2, "articles_written": 1,
    ...     "articles_unchanged": 0, "inputs_rejected": 1, "warehouse": "/nowhere/wh"}))
    run r1: 2 inputs, 1 written, 0 unchanged, 1 rejected
      tables -> /nowhere/wh (query them: note-etl views --warehouse /nowhere/wh)
    """
    from etl.report_html import default_report_path

    lines = [
        f"run {result['run_id']}: {result['inputs_seen']} inputs, {result['articles_written']} written, "
        f"{result['articles_unchanged']} unchanged, {result['inputs_rejected']} rejected"
    ]
    rejects = _rejects_of_run(result["warehouse"], str(result["run_id"])) if result["inputs_rejected"] else []
    for path, error_type, message in rejects[:max_rejects]:
        lines.append(f"  rejected {path}: {error_type}: {message}")
    if len(rejects) > max_rejects:
        lines.append(f"  ... and {len(rejects) - max_rejects} more (the rejects table has them all)")
    wh = str(result["warehouse"])
    wh = wh if "://" in wh else os.path.abspath(wh)
    lines.append(f"  tables -> {wh} (query them: note-etl views --warehouse {wh})")
    report = default_report_path(wh)
    if "://" in report or os.path.exists(report):
        lines.append(f"  report -> {report}")
    return "\n".join(lines)


def _rejects_of_run(warehouse: str, run_id: str) -> list[tuple[str, str, str]]:
    from etl.warehouse import Warehouse

    try:
        table = Warehouse(warehouse).read(
            "rejects", columns=["run_id", "source_path", "error_type", "error_message"]
        )
    except Exception:  # the summary must not fail a run that is committed
        return []
    if table is None:
        return []
    return sorted(
        (r["source_path"], r["error_type"], r["error_message"])
        for r in table.to_pylist()
        if r["run_id"] == run_id
    )


def _is_warehouse(warehouse: str) -> bool:
    """Whether ``warehouse`` holds note-etl tables (a run created them)."""
    from etl.schemas import TABLES
    from etl.warehouse import Warehouse

    wh = Warehouse(warehouse)
    return any(wh.fs.isdir(f"{wh.fs_root}/{name}") for name in TABLES)


def _check_warehouse_target(warehouse: str) -> None:
    """A run may write to a new folder, an empty one or a warehouse, nothing else."""
    if "://" in warehouse:
        return  # object stores: no folders to mistake
    if os.path.exists(warehouse) and not os.path.isdir(warehouse):
        raise UsageError(f"{warehouse}: is a file, not a warehouse folder (--warehouse takes a folder)")
    if os.path.isdir(warehouse) and os.listdir(warehouse) and not _is_warehouse(warehouse):
        raise UsageError(
            f"{warehouse}: holds files but no note-etl tables; give a new or empty folder, or a warehouse"
        )


def _check_warehouse_exists(warehouse: str) -> None:
    """``views`` and ``report`` read an existing warehouse: refuse a mistyped one."""
    if "://" not in warehouse:
        if not os.path.exists(warehouse):
            raise UsageError(
                f"{warehouse}: no such folder (no warehouse there yet: `note-etl run` writes one)"
            )
        if not os.path.isdir(warehouse):
            raise UsageError(f"{warehouse}: is a file, not a warehouse folder")
    if not _is_warehouse(warehouse):
        raise UsageError(f"{warehouse}: not a note-etl warehouse (no tables in it)")


@contextlib.contextmanager
def _prefect_api(warm_up: Callable[[], None] = lambda: None) -> Iterator[float | None]:
    """Run the block against a Prefect API: the configured one, else a temporary local server.

    ``warm_up`` (checks, imports) runs while the server starts. Yields the seconds the
    temporary server took to start, ``None`` with a configured API.
    """
    from etl.local_server import LocalServer, launch, wait_started

    server: LocalServer | None = None
    if not os.environ.get("PREFECT_API_URL") and "prefect.settings" not in sys.modules:
        # Launched before Prefect is imported: the two take seconds each, side by side.
        server = launch()
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        if PREFECT_API_URL.value():  # a server of the user's (settings profile) or a test harness
            if server is not None:
                server.stop()
                server = None
            warm_up()
            yield None
            return
        if server is None:
            server = launch()
        warm_up()
        server, seconds = wait_started(server)
        os.environ["PREFECT_API_URL"] = server.url  # also for worker processes (--workers)
        try:
            with temporary_settings(updates={PREFECT_API_URL: server.url}):
                try:
                    yield seconds
                finally:
                    _drain_to_api()
        finally:
            os.environ.pop("PREFECT_API_URL", None)
    finally:
        if server is not None:
            server.stop()


def _drain_to_api(timeout: float = 3.0) -> None:
    """Send the logs and events still queued while the temporary server is up."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):  # what was not sent in time is only lost log lines
            worker.drain_all(timeout=timeout)


@contextlib.contextmanager
def _logs_above_the_bar() -> Iterator[None]:
    """Log lines printed while the progress bar shows go above it, not through it."""
    from tqdm import tqdm

    class AboveTheBar(logging.Handler):
        def __init__(self, inner: logging.Handler) -> None:
            super().__init__(inner.level)
            self.inner = inner

        def emit(self, record: logging.LogRecord) -> None:
            with tqdm.external_write_mode(file=sys.stderr):
                self.inner.handle(record)

    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers = [
        AboveTheBar(h) if isinstance(h, logging.StreamHandler) and h.stream in (sys.stderr, sys.stdout) else h
        for h in saved
    ]
    try:
        yield
    finally:
        root.handlers = saved


def _settings(path: str | None) -> PipelineSettings:
    """The settings file given, else ``config/pipeline.yaml`` here, else the shipped defaults.

    The shipped defaults' relative paths start at the current folder.
    """
    from etl.package_data import data_file
    from etl.settings import DEFAULT_CONFIG, load_settings

    if path is not None:
        return load_settings(path)
    if os.path.exists(DEFAULT_CONFIG):
        return load_settings(DEFAULT_CONFIG)
    return load_settings(data_file("pipeline.yaml"), root=os.getcwd())


def _fetch(args: argparse.Namespace) -> int:
    """``note-etl fetch``: run the fetch_note flow with the settings file's options."""
    from etl.fetch import check_urlname

    settings = _settings(args.config)
    accounts = list(args.accounts) or list(settings.accounts)
    if not accounts:
        raise UsageError(f"no accounts given and none in {settings.source}")
    for account in accounts:
        try:
            check_urlname(account)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    options = settings.fetch.to_dict()
    if args.max_requests is not None:
        options["max_requests"] = args.max_requests
    with _prefect_api():
        from etl.flows.fetch_note import fetch_note

        try:
            result = fetch_note(accounts=accounts, raw=args.raw or settings.raw, options=options)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the run itself failed (bad options, raw/ not writable, ...)
            if args.debug:
                traceback.print_exc()
            print(f"note-etl: fetch failed: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print(
        f"fetch {', '.join(accounts)}: {result['listed']} listed, {result['new']} new, {result['changed']} changed, "
        f"{result['unchanged']} unchanged, {result['gone']} gone, {result['failed']} failed, "
        f"{result['skipped']} skipped ({result['requests']} requests)"
    )
    # Articles that failed are retried by the next run; a listing that failed is an error now.
    return EXIT_FAILED if result["listing_errors"] else 0


def check_serve(settings: PipelineSettings, only: Sequence[str] | None = None) -> None:
    """Everything the served deployments will read, checked before any is registered.

    Raises :class:`UsageError` naming the settings file, the key and the problem.
    """
    from etl.errors import TaxonomyError
    from etl.settings import DEPLOYMENT_NAMES
    from etl.taxonomy import load_taxonomy

    names = list(only or DEPLOYMENT_NAMES)
    for name in names:
        if name not in DEPLOYMENT_NAMES:
            raise UsageError(f"--only {name}: unknown deployment (known: {', '.join(DEPLOYMENT_NAMES)})")
    where = settings.source
    rooted = f" (relative paths start at {settings.root}: `root` is relative to the settings file's folder)"
    if "://" not in settings.raw and not os.path.isdir(settings.raw):
        what = "is a file, not a folder" if os.path.exists(settings.raw) else "no such folder"
        raise UsageError(f"{where}: raw: {settings.raw}: {what}{rooted if settings.root else ''}")
    try:
        _check_warehouse_target(settings.warehouse)
    except UsageError as exc:
        raise UsageError(f"{where}: warehouse: {exc}") from None
    if "://" not in settings.warehouse:
        parent = os.path.dirname(os.path.abspath(settings.warehouse))
        if not os.path.isdir(parent):
            raise UsageError(
                f"{where}: warehouse: {settings.warehouse}: its folder {parent} does not exist"
                f"{rooted if settings.root else ''}"
            )
    try:
        load_taxonomy(settings.taxonomy)
    except TaxonomyError as exc:
        raise UsageError(f"{where}: taxonomy: {exc}") from None
    if "fetch-and-process" in names and not settings.accounts:
        raise UsageError(f"{where}: accounts: fetch-and-process needs at least one note account")


def _serve(args: argparse.Namespace) -> int:
    """``note-etl serve``: check the settings, then serve the scheduled deployments until interrupted."""
    settings = _settings(args.config)
    check_serve(settings, args.only)
    from etl.flows.deployments import serve_deployments

    try:
        serve_deployments(settings, only=args.only, limit=args.limit)
    except (RuntimeError, ValueError) as exc:
        print(f"note-etl: serve: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _views(args: argparse.Namespace) -> int:
    """``note-etl views``: write the DuckDB file of dashboard views."""
    from etl.views import VIEWS, write_views_db

    _check_warehouse_exists(args.warehouse)
    try:
        db = write_views_db(args.warehouse, args.out)
    except NoteEtlError as exc:
        print(f"note-etl: views: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"views {', '.join(VIEWS)} and the warehouse tables -> {db.path}")
    if db.empty_tables:
        # These stay empty views until the file is rewritten: DuckDB cannot glob nothing.
        print(f"no files yet for {', '.join(db.empty_tables)}: rerun `note-etl views` once they are written")
    return 0


def _report(args: argparse.Namespace) -> int:
    """``note-etl report``: write the self-contained HTML report."""
    from etl.report_html import write_report

    _check_warehouse_exists(args.warehouse)
    try:
        path = write_report(args.warehouse, args.out, max_articles=args.max_articles)
    except (NoteEtlError, ValueError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"note-etl: report: {exc}", file=sys.stderr)
        return EXIT_FAILED
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
