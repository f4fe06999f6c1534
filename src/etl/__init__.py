"""note-etl: Japanese note articles to speaker- and topic-tagged Parquet tables."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("note-etl")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

#: Bumped whenever a change to the code changes the rows it writes for the same input.
PIPELINE_VERSION = f"note-etl/{__version__}"

__all__ = ["PIPELINE_VERSION", "__version__"]
