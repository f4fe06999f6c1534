"""note-etl: Japanese note articles to speaker- and topic-tagged Parquet tables."""

from importlib.metadata import PackageNotFoundError, version

from etl.arrow_memory import choose_pool

# First, before any module of the package imports pyarrow (see etl.arrow_memory).
choose_pool()

try:
    __version__ = version("note-etl")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

#: Revision of the rows a release writes: bumped (and reset by a new release) whenever a
#: change to the code changes the rows it writes for the same input, so the next run
#: reprocesses every input. 1: published_at stored as its true UTC instant (it was stored
#: 9 hours off, with the Tokyo wall-clock time read as UTC).
ROWS_REVISION = 1

#: Written to every row; an input is reprocessed when the version that wrote it differs.
PIPELINE_VERSION = f"note-etl/{__version__}+rows.{ROWS_REVISION}"

__all__ = ["PIPELINE_VERSION", "ROWS_REVISION", "__version__"]
