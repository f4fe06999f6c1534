"""A fake note.com on loopback: RSS feed, listing API and v3 article API, with scripted faults.

Tests start it on 127.0.0.1 port 0 (a free port) in a thread, point
``FetchOptions.base_url`` at it, and script faults per path::

    with FakeNote() as note:
        note.add_article("digital_jp", "n0000000000a1", "題", "<p>本文です。</p>")
        note.fail("/api/v3/notes/n0000000000a1", Fault.status(429, retry_after=2))
        ...  # fetch against note.base_url
        assert note.hits("/api/v3/notes/n0000000000a1") == 2

Faults of a path are consumed one per request, in order; ``always=True`` keeps a fault for
every request. Every request is logged (path, status, request headers) for assertions.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour of the server."""

    kind: str  # status | slow | truncate | bad_json | redirect_loop | drip_body | drip_headers
    status: int = 200
    retry_after: str | None = None
    seconds: float = 0.0

    @classmethod
    def status_code(cls, status: int, *, retry_after: float | str | None = None) -> Fault:
        """Answer with this status (and a Retry-After header if given)."""
        return cls("status", status=status, retry_after=None if retry_after is None else str(retry_after))

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Wait this long before answering normally."""
        return cls("slow", seconds=seconds)

    @classmethod
    def truncate(cls) -> Fault:
        """Announce the full Content-Length, send half the body, close the connection."""
        return cls("truncate")

    @classmethod
    def bad_json(cls) -> Fault:
        """A 200 whose body is the first half of the JSON, with a matching Content-Length."""
        return cls("bad_json")

    @classmethod
    def redirect_loop(cls) -> Fault:
        """302 to the same path with a counter in the query, for ever (every hop is logged)."""
        return cls("redirect_loop", status=302)

    @classmethod
    def drip_body(cls, seconds: float) -> Fault:
        """Headers at once, then the body one byte every ``seconds`` (each read is quick)."""
        return cls("drip_body", seconds=seconds)

    @classmethod
    def drip_headers(cls, seconds: float) -> Fault:
        """The status line and headers one byte every ``seconds``, then the body."""
        return cls("drip_headers", seconds=seconds)


@dataclass
class Article:
    urlname: str
    key: str
    title: str
    body: str
    published: datetime
    version: int = 1

    def payload(self, base_url: str) -> bytes:
        data = {
            "data": {
                "id": int(hashlib.sha256(self.key.encode()).hexdigest()[:8], 16),
                "key": self.key,
                "name": self.title,
                "body": self.body,
                "publish_at": self.published.isoformat(),
                "user": {"urlname": self.urlname, "nickname": self.urlname},
                "hashtags": [],
                "note_url": f"{base_url}/{self.urlname}/n/{self.key}",
            }
        }
        return json.dumps(data, ensure_ascii=False).encode()


@dataclass
class Hit:
    path: str
    status: int
    headers: dict[str, str]
    at: float


@dataclass
class FakeNote:
    """The fake server and its scriptable state (articles, faults, request log)."""

    page_size: int = 2
    articles: dict[str, Article] = field(default_factory=dict)
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    always: dict[str, Fault] = field(default_factory=dict)
    log: list[Hit] = field(default_factory=list)
    #: The body of /robots.txt; None answers 404 (no robots.txt: everything allowed).
    robots: str | None = None
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> FakeNote:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            note = fake

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-note", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- scripting ---------------------------------------------------------------------

    def add_article(
        self, urlname: str, key: str, title: str, body: str, *, published: datetime | None = None
    ) -> Article:
        """Publish an article (newer articles are listed first)."""
        when = published or datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=len(self.articles))
        art = Article(urlname, key, title, body, when)
        self.articles[key] = art
        return art

    def change(self, key: str, body: str) -> None:
        """Edit an article: new body, new ETag and Last-Modified."""
        art = self.articles[key]
        art.body = body
        art.version += 1

    def remove(self, key: str) -> None:
        """Delete an article: no longer listed, its API path answers 404."""
        del self.articles[key]

    def fail(self, path: str, *faults: Fault, always: bool = False) -> None:
        """Script faults for a path (``/api/v3/notes/<key>``, ``/<urlname>/rss``, ...)."""
        with self._lock:
            if always:
                self.always[path] = faults[0]
            else:
                self.faults[path].extend(faults)

    def hits(self, path: str, status: int | None = None) -> int:
        """How many requests reached ``path`` (optionally: answered with ``status``)."""
        return sum(1 for h in self.log if h.path == path and (status is None or h.status == status))

    def requests(self) -> int:
        """How many requests the server received in all."""
        return len(self.log)

    def listing(self, urlname: str) -> list[Article]:
        arts = [a for a in self.articles.values() if a.urlname == urlname]
        return sorted(arts, key=lambda a: a.published, reverse=True)

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            if path in self.always:
                return self.always[path]
            queue = self.faults.get(path)
            return queue.popleft() if queue else None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The client hung up on purpose (timeouts, truncation tests): not worth a traceback.
        pass


class _Handler(BaseHTTPRequestHandler):
    note: FakeNote
    server_version = "fake-note/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        fault = self.note._next_fault(path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._send(path, fault.status, b'{"error": {"message": "scripted"}}', "application/json", extra)
            return
        status, body, ctype, headers = self._route(path, parse_qs(url.query))
        if fault is not None and fault.kind == "truncate":
            self._record(path, status)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if fault is not None and fault.kind == "bad_json":
            body = body[: len(body) // 2]
        if fault is not None and fault.kind == "redirect_loop":
            hop = int(parse_qs(url.query).get("hop", ["0"])[0]) + 1
            self._send(path, 302, b"", "text/plain", {"Location": f"{path}?hop={hop}"})
            return
        if fault is not None and fault.kind in ("drip_body", "drip_headers"):
            self._drip(path, status, body, ctype, headers, fault)
            return
        self._send(path, status, body, ctype, headers)

    def _drip(
        self, path: str, status: int, body: bytes, ctype: str, headers: dict[str, str], fault: Fault
    ) -> None:
        self._record(path, status)
        head = f"HTTP/1.1 {status} OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "Connection: close\r\n\r\n"
        slow, fast = (head.encode(), body) if fault.kind == "drip_headers" else (body, head.encode())
        self.close_connection = True
        try:
            if fault.kind == "drip_body":
                self.wfile.write(fast)
                self.wfile.flush()
            # Bounded: the test's client hangs up long before, and the write then fails.
            for i in range(len(slow)):
                self.wfile.write(slow[i : i + 1])
                self.wfile.flush()
                time.sleep(fault.seconds)
            if fault.kind == "drip_headers":
                self.wfile.write(fast)
        except OSError:
            return

    def _route(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, str, dict[str, str]]:
        parts = [p for p in path.split("/") if p]
        base = f"http://{self.headers.get('Host', 'note.test')}"
        if path == "/robots.txt":
            if self.note.robots is None:
                return 404, b"not found", "text/plain", {}
            return 200, self.note.robots.encode(), "text/plain; charset=utf-8", {}
        if len(parts) == 2 and parts[1] == "rss":
            return 200, self._rss(parts[0], base), "application/rss+xml; charset=utf-8", {}
        if len(parts) == 5 and parts[:3] == ["api", "v2", "creators"] and parts[4] == "contents":
            page = int(query.get("page", ["1"])[0])
            arts = self.note.listing(parts[3])
            size = self.note.page_size
            chunk = arts[(page - 1) * size : page * size]
            data = {
                "data": {
                    "contents": [
                        {
                            "key": a.key,
                            "name": a.title,
                            "publishAt": a.published.isoformat(),
                            "noteUrl": f"{base}/{a.urlname}/n/{a.key}",
                        }
                        for a in chunk
                    ],
                    "isLastPage": page * size >= len(arts),
                    "totalCount": len(arts),
                }
            }
            return 200, json.dumps(data).encode(), "application/json", {}
        if len(parts) == 4 and parts[:3] == ["api", "v3", "notes"]:
            art = self.note.articles.get(parts[3])
            if art is None:
                return 404, b'{"error": {"code": "not_found"}}', "application/json", {}
            body = art.payload(base)
            etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
            modified = format_datetime(art.published + timedelta(hours=art.version), usegmt=True)
            if self.headers.get("If-None-Match") == etag:
                return 304, b"", "application/json", {"ETag": etag}
            return 200, body, "application/json; charset=utf-8", {"ETag": etag, "Last-Modified": modified}
        return 404, b"not found", "text/plain", {}

    def _rss(self, urlname: str, base: str) -> bytes:
        items = "".join(
            f"<item><title>{escape(a.title)}</title><link>{base}/{a.urlname}/n/{a.key}</link>"
            f"<pubDate>{format_datetime(a.published, usegmt=True)}</pubDate></item>"
            for a in self.note.listing(urlname)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{urlname}</title>{items}</channel></rss>"
        ).encode()

    def _record(self, path: str, status: int) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.note.log.append(Hit(path, status, headers, time.monotonic()))

    def _send(self, path: str, status: int, body: bytes, ctype: str, headers: dict[str, str]) -> None:
        self._record(path, status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in headers.items():
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)


def articles_in(folder: Any) -> Iterator[str]:
    """Names of the article files (not sidecars, not hidden) in a folder."""
    for p in sorted(folder.iterdir()):
        if p.name.endswith(".json") and not p.name.endswith(".meta.json") and not p.name.startswith("."):
            yield p.name


def make_invalid_names_unresolvable(monkeypatch: Any) -> None:
    """Names under ``.invalid`` fail to resolve as on a machine without network.

    Nothing is looked up: ``socket.getaddrinfo`` raises the resolver's error itself for
    those names (and resolves every other name, such as the loopback servers', as usual).
    """
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
