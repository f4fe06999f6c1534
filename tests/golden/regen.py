"""Regenerate the parser golden files in this folder.

    .venv/bin/python tests/golden/regen.py

Each ``<sample>.json`` holds what the parser makes of ``../shared/samples/<sample>``: the
metadata and one line per block (kind, text and, when set, heading level, emphasis and
source attrs). Regenerate only after an intended parser change, and read the diff of the
golden files before committing it: that diff *is* the behaviour change. The tests in
``test_parse_html.py`` / ``test_parse_note_api.py`` load this module for ``CASES`` and
``snapshot`` so both sides serialise the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from etl.model import ParsedDocument
from etl.parse_html import parse_html
from etl.parse_note_api import parse_note_api

GOLDEN_DIR = Path(__file__).resolve().parent
SAMPLES_DIR = GOLDEN_DIR.parents[1].parent / "shared" / "samples"

#: golden file name -> (sample path relative to SAMPLES_DIR, parser)
CASES: dict[str, tuple[str, Callable[[str], ParsedDocument]]] = {
    "seed_note.html.json": ("html/seed_note.html", parse_html),
    "qa_labeled.html.json": ("html/qa_labeled.html", parse_html),
    "seed_note_api.json.json": ("json/seed_note_api.json", parse_note_api),
}


def snapshot(doc: ParsedDocument, source: str) -> dict[str, Any]:
    """A JSON-ready record of a parse, compared as data (not text) by the tests."""
    meta = doc.meta
    blocks: list[dict[str, Any]] = []
    for block in doc.blocks:
        row: dict[str, Any] = {"kind": block.kind, "text": block.text}
        if block.heading_level is not None:
            row["heading_level"] = block.heading_level
        if block.emphasis:
            row["emphasis"] = True
        if block.attrs:
            row["attrs"] = dict(block.attrs)
        blocks.append(row)
    return {
        "source": source,
        "source_format": doc.source_format,
        "meta": {
            "title": meta.title,
            "note_key": meta.note_key,
            "url": meta.url,
            "account": meta.account,
            "published_at": meta.published_at.isoformat() if meta.published_at else None,
            "hashtags": list(meta.hashtags),
        },
        "blocks": blocks,
    }


def render(snap: dict[str, Any]) -> str:
    """The snapshot as JSON with one block per line, so a golden diff reads block by block."""
    head = {key: value for key, value in snap.items() if key != "blocks"}
    head_lines = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    block_lines = ",\n  ".join(json.dumps(row, ensure_ascii=False) for row in snap["blocks"])
    return f'{head_lines},\n "blocks": [\n  {block_lines}\n ]\n}}\n'


def main() -> None:
    for name, (source, parser) in CASES.items():
        doc = parser((SAMPLES_DIR / source).read_text(encoding="utf-8"))
        (GOLDEN_DIR / name).write_text(render(snapshot(doc, source)), encoding="utf-8")
        print(f"wrote {GOLDEN_DIR / name} ({len(doc.blocks)} blocks)")


if __name__ == "__main__":
    main()
