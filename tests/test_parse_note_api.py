"""parse_note_api: the seed API answer against the page text and the HTML page, and errors.

Golden files live in tests/golden/; regenerate them with ``.venv/bin/python tests/golden/regen.py``
after an intended parser change and review their diff.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from etl.errors import EmptyArticle, ParseError
from etl.parse_html import parse_html
from etl.parse_note_api import parse_note_api

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = SHARED / "samples"
GOLDEN = Path(__file__).resolve().parent / "golden"
SEED_API = SAMPLES / "json" / "seed_note_api.json"
CHROME_LINES = 4  # contest heading + name, the two recommend lines

# Missing samples fail loudly (the samples_dir fixture), never skip.
needs_samples = pytest.mark.usefixtures("samples_dir")


def _load_regen() -> ModuleType:
    from tests.golden import regen

    return regen


def answer(**data: Any) -> str:
    base: dict[str, Any] = {"name": "題", "body": "<p>本文。</p>"}
    return json.dumps({"data": {**base, **data}}, ensure_ascii=False)


@needs_samples
def test_seed_api_equals_page_text_without_header_image() -> None:
    doc = parse_note_api(SEED_API.read_text(encoding="utf-8"))
    lines = [line.strip() for line in (SHARED / "seed" / "note_article.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert lines[0] == "見出し画像"
    assert [b.text for b in doc.blocks] == lines[1:-CHROME_LINES]
    assert doc.blocks[0].kind == "title"
    assert doc.source_format == "note_api"
    assert not any(b.kind == "boilerplate" for b in doc.blocks)


@needs_samples
def test_seed_api_blocks_equal_html_blocks() -> None:
    api = parse_note_api(SEED_API.read_text(encoding="utf-8"))
    html = parse_html((SAMPLES / "html" / "seed_note.html").read_text(encoding="utf-8"))
    page = [b for b in html.blocks if b.kind not in ("boilerplate",)][1:]  # minus the eyecatch alt
    # Same body HTML, same walker: the blocks agree field for field (title attrs aside).
    assert api.blocks[1:] == tuple(page[1:])
    assert (api.blocks[0].kind, api.blocks[0].text) == (page[0].kind, page[0].text)
    assert api.meta.note_key == html.meta.note_key
    assert api.meta.url == html.meta.url
    assert api.meta.published_at == html.meta.published_at
    assert api.meta.hashtags == html.meta.hashtags


@needs_samples
def test_seed_api_meta() -> None:
    meta = parse_note_api(SEED_API.read_text(encoding="utf-8")).meta
    assert meta.title == "データの利活用で、人に優しいデジタル社会へ。現役職員が語るデジタル庁のミッション"
    assert meta.note_key == "nd9314f0e9d9f"
    assert meta.url == "https://note.com/digital_jp/n/nd9314f0e9d9f"
    assert meta.account == "digital_jp"  # urlname, the stable id; the nickname is a display name
    assert meta.published_at == datetime(2024, 2, 1, 10, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert meta.hashtags == ("#デジタル庁",)


@needs_samples
def test_golden() -> None:
    regen = _load_regen()
    name = "seed_note_api.json.json"
    source, parser = regen.CASES[name]
    doc = parser((SAMPLES / source).read_text(encoding="utf-8"))
    expected = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    assert regen.snapshot(doc, source) == expected, "parser output changed: see tests/golden/regen.py"


def test_minimal_answer() -> None:
    doc = parse_note_api(answer(body="<h2>見出し</h2><p><b>――質問？</b><br>答え。</p>"))
    assert [(b.kind, b.text, b.emphasis) for b in doc.blocks] == [
        ("title", "題", False),
        ("heading", "見出し", False),
        (None, "――質問？", True),
        (None, "答え。", False),
    ]
    assert doc.meta.title == "題"
    assert doc.meta.note_key is None
    assert doc.meta.account is None
    assert doc.meta.published_at is None
    assert doc.meta.hashtags == ()


def test_meta_fields_of_odd_types_are_ignored() -> None:
    doc = parse_note_api(
        answer(
            key=123,
            user=None,
            publish_at="2024-06-01T08:00:00",
            hashtags=[{"hashtag": {"name": "#タグ"}}, {"hashtag": None}, "x", {"hashtag": {"name": ""}}],
        )
    )
    assert doc.meta.note_key is None
    assert doc.meta.account is None
    assert doc.meta.published_at == datetime(2024, 6, 1, 8, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert doc.meta.hashtags == ("#タグ",)


def test_empty_title_gives_no_title_block() -> None:
    doc = parse_note_api(answer(name=""))
    assert [(b.kind, b.text) for b in doc.blocks] == [(None, "本文。")]
    assert doc.meta.title is None


# --- errors -----------------------------------------------------------------------------


def test_invalid_json_names_the_position() -> None:
    with pytest.raises(ParseError, match=r"invalid JSON at line 2 column 10 \(char 18\)") as info:
        parse_note_api('{"data":\n {"name" "題"}}')
    assert info.value.error_type == "parse_error"


def test_deeply_nested_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="invalid JSON"):
        parse_note_api("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty document"),
        ("[1, 2]", "top level is a JSON array"),
        ('{"notes": []}', "missing key 'data'"),
        ('{"data": null}', "'data' is a JSON null"),
        ('{"data": {"name": "題"}}', "missing key 'data.body'"),
        ('{"data": {"body": "<p>x</p>"}}', "missing key 'data.name'"),
        ('{"data": {"name": "題", "body": 5}}', "'data.body' is a JSON number"),
    ],
)
def test_other_shapes_are_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_note_api(text)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            {"code": "not_found", "message": "ノートが見つかりません"},
            "note API error: ノートが見つかりません",
        ),
        ({"code": "forbidden"}, "note API error: forbidden"),
        ("rate limited", "note API error: rate limited"),
    ],
)
def test_error_payload_is_a_parse_error(error: object, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_note_api(json.dumps({"error": error}, ensure_ascii=False))


@pytest.mark.parametrize("body", ["", None, "   ", "<p><br></p>", "<script>x()</script>"])
def test_empty_body_is_an_empty_article(body: str | None) -> None:
    with pytest.raises(EmptyArticle) as info:
        parse_note_api(answer(body=body))
    assert info.value.error_type == "empty_article"
