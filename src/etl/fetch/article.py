"""One article: a conditional GET of its v3 API answer, checked, then written with its sidecar."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

from etl.fetch.client import HttpResult, NoteClient
from etl.fetch.errors import ArticleGone, InvalidResponse
from etl.fetch.files import atomic_write, fs_of, sha_of, write_json
from etl.fetch.layout import article_path, read_sidecar, sidecar_path
from etl.fetch.listing import opt_str
from etl.fetch.logs import LogLike

Status = Literal["new", "changed", "unchanged", "gone", "failed", "skipped"]
STATUSES: tuple[Status, ...] = ("new", "changed", "unchanged", "gone", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What happened to one article in one run."""

    urlname: str
    key: str
    status: Status
    path: str | None = None
    http_status: int | None = None
    error_type: str | None = None
    reason: str | None = None
    attempts: int = 0
    bytes: int = 0


def fetch_article(
    client: NoteClient,
    urlname: str,
    key: str,
    raw_root: str,
    *,
    log: LogLike | None = None,
) -> FetchOutcome:
    """Download one article into ``raw_root`` if it is new or changed; write its sidecar.

    Returns a ``new`` / ``changed`` / ``unchanged`` / ``gone`` outcome and raises
    :class:`FetchError` subclasses for failures (so a Prefect task around it fails and
    retries visibly). The article file is replaced atomically and only after its body
    parsed as a note API answer, so a truncated download never reaches ``raw/``.

    >>> import httpx, tempfile
    >>> from etl.fetch import FetchOptions, ManualClock
    >>> def answer(request: httpx.Request) -> httpx.Response:
    ...     return httpx.Response(200, json={"data": {"key": "n0123456789ab", "name": "題", "body": "<p>x</p>"}})
    >>> client = NoteClient(FetchOptions(base_url="http://test", delay_seconds=0),
    ...                     clock=ManualClock(), transport=httpx.MockTransport(answer))
    >>> raw = tempfile.mkdtemp()
    >>> fetch_article(client, "digital_jp", "n0123456789ab", raw).status
    'new'
    >>> fetch_article(client, "digital_jp", "n0123456789ab", raw).status
    'unchanged'
    """
    log = log or client.log
    path = article_path(raw_root, urlname, key)
    fs, fs_path = fs_of(path)
    previous = read_sidecar(path)
    current_sha = sha_of(fs, fs_path)
    headers: dict[str, str] = {}
    # Validators only count if they describe the bytes on disk: after a crash between the
    # article and its sidecar they may not, and a 304 would then keep stale content.
    if previous and current_sha and previous.get("sha256") == current_sha:
        if isinstance(etag := previous.get("etag"), str):
            headers["If-None-Match"] = etag
        if isinstance(modified := previous.get("last_modified"), str):
            headers["If-Modified-Since"] = modified
    api_path = f"/api/v3/notes/{key}"
    try:
        res = client.get(api_path, headers=headers, log=log)
    except ArticleGone as exc:
        log.warning("%s/%s is gone (HTTP %s); recorded, not retried", urlname, key, exc.status)
        return FetchOutcome(urlname, key, "gone", None, exc.status, exc.error_type, exc.reason, exc.attempts)
    now = client.clock.now().isoformat()
    if res.status_code == 304:
        if previous is not None:
            write_json(sidecar_path(path), {**previous, "validated_at": now})
        log.info("%s/%s unchanged (HTTP 304)", urlname, key)
        return FetchOutcome(urlname, key, "unchanged", path, 304, attempts=res.attempts)

    _check_article(res, key)
    sha = hashlib.sha256(res.content).hexdigest()
    sidecar = {
        "source_url": res.url,
        "note_url": _note_url(res.content),
        "urlname": urlname,
        "key": key,
        "fetched_at": now,
        "validated_at": now,
        "http_status": res.status_code,
        "etag": res.headers.get("etag"),
        "last_modified": res.headers.get("last-modified"),
        "sha256": sha,
        "bytes": len(res.content),
        "user_agent": client.options.user_agent,
    }
    if current_sha == sha:
        # Same bytes (the server ignored our validators): keep the file and the original
        # fetched_at, so the article's rows stay as they are.
        if previous is not None and previous.get("fetched_at"):
            sidecar["fetched_at"] = previous["fetched_at"]
        write_json(sidecar_path(path), sidecar)
        log.info("%s/%s unchanged (same sha256)", urlname, key)
        return FetchOutcome(urlname, key, "unchanged", path, res.status_code, attempts=res.attempts)
    # The article first, then its sidecar: a crash in between leaves a sidecar whose sha256
    # does not match, which the next run notices (see the validators above).
    atomic_write(fs, fs_path, res.content)
    write_json(sidecar_path(path), sidecar)
    status: Status = "changed" if current_sha else "new"
    log.info("fetched %s/%s: %s, %d bytes -> %s", urlname, key, status, len(res.content), path)
    return FetchOutcome(
        urlname, key, status, path, res.status_code, attempts=res.attempts, bytes=len(res.content)
    )


def _check_article(res: HttpResult, key: str) -> None:
    payload = res.json_object()
    data = payload.get("data")
    if not isinstance(data, dict) or "body" not in data:
        raise InvalidResponse("not a note article answer: no data.body", url=res.url, status=res.status_code)
    got = data.get("key")
    if got is not None and got != key:
        raise InvalidResponse(
            f"answer is for article {got!r}, not {key!r}", url=res.url, status=res.status_code
        )


def _note_url(content: bytes) -> str | None:
    try:
        data = json.loads(content).get("data", {})
    except (ValueError, AttributeError, RecursionError):
        return None
    return opt_str(data.get("note_url")) if isinstance(data, dict) else None
