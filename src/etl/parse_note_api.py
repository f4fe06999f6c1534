"""Parse note's v3 notes API answer (``GET /api/v3/notes/<key>``) into the block model.

The API's ``body`` is the inner HTML of the page's body div, so its blocks come from
:func:`etl.parse_html.body_blocks`; the answer has no eyecatch alt and no page chrome, so
the blocks are the title followed by the body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from etl.errors import EmptyArticle, ParseError
from etl.json_text import loads
from etl.model import ArticleMeta, Block, ParsedDocument
from etl.normalize import clean_text
from etl.parse_html import body_blocks, parse_timestamp

__all__ = ["parse_note_api"]


def parse_note_api(text: str) -> ParsedDocument:
    """Parse one note API answer: ``{"data": {"name", "body", "key", "user", ...}}``.

    Raises :class:`~etl.errors.ParseError` for invalid JSON, another JSON shape (naming the
    missing key) or an API error payload, and :class:`~etl.errors.EmptyArticle` when the
    body has no text.

    >>> doc = parse_note_api('{"data": {"name": "題", "body": "<p>本文です。</p>", "key": "n1"}}')
    >>> [(b.kind, b.text) for b in doc.blocks], doc.meta.note_key
    ([('title', '題'), (None, '本文です。')], 'n1')
    """
    if not text.strip():
        raise ParseError("empty document")
    try:
        # Lone surrogates (\ud800) are replaced and absurdly long integers read as null:
        # neither may fail the article when its rows are written.
        payload = loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"invalid JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise ParseError("invalid JSON: nested too deeply") from exc
    except ValueError as exc:
        raise ParseError(f"invalid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ParseError(
            f"not a note API answer: top level is a JSON {_json_type(payload)}, expected an object"
        )
    if payload.get("error"):
        raise ParseError(f"note API error: {_error_message(payload['error'])}")
    data = _require(payload, "data", "")
    if not isinstance(data, dict):
        raise ParseError(f"not a note API answer: 'data' is a JSON {_json_type(data)}, expected an object")
    name = _require(data, "name", "data.")
    body = _require(data, "body", "data.")
    if body is not None and not isinstance(body, str):
        raise ParseError(
            f"not a note API answer: 'data.body' is a JSON {_json_type(body)}, expected a string"
        )

    # A null body is what the API returns for paid or deleted notes: the note exists, its text does not.
    blocks = body_blocks(body) if body else []
    if not blocks:
        raise EmptyArticle("the note API answer has an empty body")
    title = clean_text(name) if isinstance(name, str) else ""
    leading = [Block(text=title, kind="title")] if title else []
    return ParsedDocument(source_format="note_api", meta=_meta(data, title), blocks=(*leading, *blocks))


def _meta(data: Mapping[str, Any], title: str) -> ArticleMeta:
    user = data.get("user")
    # urlname is the account's stable id; nickname is a display name the author can change.
    account = _str(user.get("urlname")) if isinstance(user, dict) else None
    hashtags = dict.fromkeys(
        name
        for item in (data.get("hashtags") or [])
        if isinstance(item, dict)
        and isinstance(tag := item.get("hashtag"), dict)
        and (name := clean_text(_str(tag.get("name")) or ""))
    )
    return ArticleMeta(
        title=title or None,
        note_key=_str(data.get("key")),
        url=_str(data.get("note_url")),
        account=account,
        author=_str(user.get("nickname")) if isinstance(user, dict) else None,
        published_at=parse_timestamp(data.get("publish_at")),
        hashtags=tuple(hashtags),
    )


def _require(obj: Mapping[str, Any], key: str, prefix: str) -> Any:
    if key not in obj:
        raise ParseError(f"not a note API answer: missing key '{prefix}{key}'")
    return obj[key]


def _error_message(error: object) -> str:
    # note sends {"error": {"code", "message"}}; other proxies send a bare string.
    if isinstance(error, dict):
        message = error.get("message") or error.get("code")
        return str(message) if message else json.dumps(error, ensure_ascii=False)
    return str(error)


def _str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
