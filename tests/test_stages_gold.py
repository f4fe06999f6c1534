"""Stage-level checks against the gold labels, without a warehouse (fast, precise failures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.classify import classify
from etl.facets import assign_facets
from etl.parse_html import parse_html
from etl.parse_note_api import parse_note_api
from etl.parse_text import parse_text
from etl.reading import read_input
from etl.segment import build_segments
from etl.speakers import attribute_speakers, display_name

from .conftest import SAMPLES, SEED, gold_files, load_gold


@pytest.mark.parametrize("gold_path", gold_files(), ids=lambda p: p.stem)
def test_text_kinds_speakers_roles_match_gold(gold_path: Path) -> None:
    gold, raw = load_gold(gold_path)
    _, segs, _ = build_segments(classify(parse_text(read_input(str(raw)).text).blocks))
    attributions, speakers = attribute_speakers(segs)
    facets = assign_facets(segs, attributions)
    assert len(segs) == len(gold["blocks"])
    for seg, att, tag, block in zip(segs, attributions, facets, gold["blocks"], strict=True):
        where = f"block {block['i']} {block['start']!r}"
        assert seg.kind == block["kind"], where
        name = display_name(speakers, att.name)
        if block["speaker"]:
            assert name is not None and name.replace(" ", "").startswith(block["speaker"]), where
        else:
            assert name is None, where
        if block["kind"] in ("paragraph", "question"):
            assert att.role == block["role"], where
            assert 0.0 <= att.confidence <= 1.0
        if block["kind"] == "paragraph" and block["facet"]:
            assert tag.facet == block["facet"], where


def _content(units: list) -> list[tuple[str, str | None, str]]:  # type: ignore[type-arg]
    return [(u.kind, u.label, u.text) for u in units if u.kind != "boilerplate"]


def test_html_and_api_give_the_same_content_segments_as_text() -> None:
    text = _content(classify(parse_text(SEED.read_text(encoding="utf-8")).blocks))
    html = _content(
        classify(parse_html((SAMPLES / "html" / "seed_note.html").read_text(encoding="utf-8")).blocks)
    )
    api = _content(
        classify(parse_note_api((SAMPLES / "json" / "seed_note_api.json").read_text(encoding="utf-8")).blocks)
    )
    assert html == text
    assert api == text[1:]  # the API body has no header-image alt text
    qa_text = _content(
        classify(parse_text((SAMPLES / "text" / "qa_labeled.txt").read_text(encoding="utf-8")).blocks)
    )
    qa_html = _content(
        classify(parse_html((SAMPLES / "html" / "qa_labeled.html").read_text(encoding="utf-8")).blocks)
    )
    assert qa_html == qa_text


def test_speakers_table_fields_for_the_seed() -> None:
    _, segs, _ = build_segments(classify(parse_text(SEED.read_text(encoding="utf-8")).blocks))
    _, speakers = attribute_speakers(segs)
    got = [(s.name, s.role, s.affiliation, s.job_title) for s in speakers]
    assert got == [
        ("井下", "interviewee", "省庁業務サービスグループ", "総括担当"),
        ("堀井", "interviewee", "ファクト&データユニット", None),
    ]
    assert all(s.segment_count > 5 and s.char_count > 500 for s in speakers)
