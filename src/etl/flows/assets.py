"""Prefect assets: the warehouse's tables, and the inputs they are made from.

The task that merges a run into the warehouse materialises one asset per table, with the
run's input folders as its upstream assets, so the Prefect UI shows which tables a run
wrote and from what.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import fsspec
from prefect.assets import Asset, AssetProperties

from etl.schemas import TABLES

# Characters Prefect does not accept in an asset key (prefect.types.names), which a path
# may hold: a key keeps its path readable with each of them as "_".
_RESTRICTED: Final = re.compile(r"[\s#?&%\"'<>\[\]{}|\\^`\x00]")

_DESCRIPTIONS: Final = {
    "articles": "One row per article: metadata, body, speakers, facets and subjects.",
    "segments": "Blocks of each article in order: kind, section, speaker and facet.",
    "sentences": "Sentences of each segment, with offsets into the article body.",
    "speakers": "People of each article: name, affiliation, job title, role.",
    "segment_topics": "Facet and subject tags of segments, with scores and evidence.",
    "topics": "The facet ids and the subject taxonomy in use.",
    "keyphrases": "Compound nouns of segments, scored by TF-IDF over the warehouse.",
    "runs": "One row per run: when, and how many inputs were written, unchanged, rejected.",
    "rejects": "Inputs that could not become articles, and why.",
}


def asset_key(uri: str) -> str:
    """An asset key for a file or folder URI (``file://`` for local paths).

    >>> asset_key("/data/note etl/warehouse")
    'file:///data/note_etl/warehouse'
    >>> asset_key("s3://bucket/wh/articles")
    's3://bucket/wh/articles'
    """
    fs, path = fsspec.core.url_to_fs(uri)
    return _RESTRICTED.sub("_", fs.unstrip_protocol(path.rstrip("/")))


def table_assets(warehouse: str) -> list[Asset]:
    """One asset per warehouse table, keyed by the table's folder.

    >>> [a.key for a in table_assets("s3://bucket/wh")][:2]
    ['s3://bucket/wh/articles', 's3://bucket/wh/segments']
    """
    root = asset_key(warehouse)
    return [
        Asset(
            key=f"{root}/{name}",
            properties=AssetProperties(name=f"note-etl {name}", description=_DESCRIPTIONS[name]),
        )
        for name in TABLES
    ]


def input_assets(paths: Sequence[str]) -> list[Asset]:
    """The input folders (or files) of a run, as upstream assets.

    >>> [a.key for a in input_assets(["s3://bucket/raw", "s3://bucket/raw/"])]
    ['s3://bucket/raw']
    """
    return [Asset(key=key) for key in dict.fromkeys(asset_key(p) for p in paths)]
