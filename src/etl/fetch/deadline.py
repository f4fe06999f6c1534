"""A total deadline for one request: connect, headers and body together.

httpx's timeouts bound each network operation, so a server that sends one byte every
1.5 s never trips a 2 s read timeout and can hold a request for minutes. The client sets a
deadline (:func:`deadline`) around each request, and its transports
(:func:`apply_deadline`) shorten every connect, read and write to the time left,
raising httpcore's timeouts (httpx's ``ConnectTimeout`` / ``ReadTimeout``) once it has passed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_DEADLINE: ContextVar[float | None] = ContextVar("etl_fetch_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Bound the requests made inside the block to ``seconds`` from now (real time).

    >>> with deadline(5.0) as at:
    ...     0 < remaining() <= 5.0
    True
    >>> remaining() is None
    True
    """
    at = time.monotonic() + seconds
    token = _DEADLINE.set(at)
    try:
        yield at
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (``None`` outside :func:`deadline`)."""
    at = _DEADLINE.get()
    return None if at is None else at - time.monotonic()


def _bounded(timeout: float | None, exc_type: type[Exception]) -> float | None:
    left = remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise exc_type("the request's total deadline (timeout_seconds) passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        stream = self._stream.start_tls(
            ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def apply_deadline(transport: httpx.BaseTransport | None) -> bool:
    """Bound ``transport``'s network I/O by the current :func:`deadline`, in place; say if it could.

    httpx has no public hook for the network backend, so this wraps the one an
    ``httpx.HTTPTransport``'s connection pool holds (a proxy's pool too). A transport
    without one (a mock) is left as it is; the client's check between body chunks still
    bounds a slow body there, though not slow headers.

    >>> t = httpx.HTTPTransport()
    >>> apply_deadline(t), apply_deadline(t), is_bounded(t), apply_deadline(None)
    (True, True, True, False)
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, _DeadlineBackend):
        return True
    if not isinstance(backend, httpcore.NetworkBackend):
        return False
    pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return True


def is_bounded(transport: httpx.BaseTransport | None) -> bool:
    """Whether ``transport`` applies the deadline to every network operation.

    >>> is_bounded(httpx.HTTPTransport())
    False
    """
    pool = getattr(transport, "_pool", None)
    return isinstance(getattr(pool, "_network_backend", None), _DeadlineBackend)
