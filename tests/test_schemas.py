"""The table contract is frozen: a column change must come with a schema_version bump."""

from __future__ import annotations

import hashlib

from etl.schemas import SCHEMA_VERSION, TABLES

# Fingerprint of every table's columns (name, type, nullability) at SCHEMA_VERSION. When a
# change is intended: bump SCHEMA_VERSION, note it in the README changelog, update both.
FROZEN = {"1": "3a18390ee54c26ce"}


def fingerprint() -> str:
    text = "\n".join(f"{t}.{f.name}:{f.type}:{f.nullable}" for t, schema in TABLES.items() for f in schema)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_contract_is_frozen() -> None:
    assert {SCHEMA_VERSION: fingerprint()} == FROZEN


def test_contract_columns() -> None:
    assert TABLES["segments"].names[:3] == ["article_id", "segment_id", "ordinal"]
    assert str(TABLES["segments"].field("speaker_confidence").type) == "float"
    assert str(TABLES["segments"].field("heading_level").type) == "int8"
    assert str(TABLES["articles"].field("published_at").type) == "timestamp[us, tz=UTC]"
    for name, schema in TABLES.items():
        if name not in ("runs", "rejects"):
            assert "run_id" in schema.names and "pipeline_version" in schema.names, name
