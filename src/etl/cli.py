"""Command line: ``note-etl run [PATH ...] [--warehouse DIR]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from etl import __version__
from etl.reading import DEFAULT_MAX_BYTES


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
            )
        except Exception as exc:  # the run itself failed (bad warehouse, bad taxonomy, ...)
            print(f"note-etl: run failed: {exc}", file=sys.stderr)
            return 1
        print(
            f"run {result['run_id']}: {result['inputs_seen']} inputs, {result['articles_written']} written, "
            f"{result['articles_unchanged']} unchanged, {result['inputs_rejected']} rejected -> {result['warehouse']}"
        )
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
