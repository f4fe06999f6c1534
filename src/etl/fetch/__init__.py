"""Fetch a note account's articles into ``raw/``: list, download, verify, write atomically.

Layout of what lands in ``raw/`` (the main flow reads the ``.json`` files; it skips the
sidecars and hidden files)::

    raw/note/<urlname>/<key>.json          the v3 API answer, byte for byte
    raw/note/<urlname>/<key>.meta.json     sidecar: source URL, fetched_at, HTTP status,
                                           ETag / Last-Modified, sha256 of the .json
    raw/note/<urlname>/.fetch-state.json   articles gone (404), failing, or still to fetch

One concern per module:

==============  ===========================================================================
``options``     :class:`FetchOptions`, frozen and validated
``clock``       :class:`SystemClock`, :class:`ManualClock` (tests never sleep)
``errors``      the typed :class:`FetchError` family, each with a stable ``error_type``
``retry``       what is retried and how long to wait (Retry-After, backoff, error classes)
``deadline``    a total deadline per request (connect, headers, body)
``robots``      robots.txt rules, read once per host and run
``client``      :class:`NoteClient`: politeness, robots.txt, the tenacity retry loop, the cap
``listing``     :func:`list_articles`: the listing API and the RSS feed
``layout``      raw/ paths and the sidecars; key and urlname checks
``files``       atomic writes, sha256
``state``       the per-account ``.fetch-state.json``
``article``     :func:`fetch_article`: one article, checked, then written
``account``     :func:`fetch_account`: the loop over one account
``summary``     :class:`AccountReport`, :class:`FetchReport`
==============  ===========================================================================

The package is a plain library: the Prefect flow in ``flows/fetch_note.py`` wraps
:func:`list_articles` and :func:`fetch_article` in tasks and passes them to
:func:`fetch_account`.
"""

from __future__ import annotations

from etl.fetch.account import Fetcher, Lister, fetch_account
from etl.fetch.article import STATUSES, FetchOutcome, Status, fetch_article
from etl.fetch.client import HttpResult, NoteClient
from etl.fetch.clock import Clock, ManualClock, SystemClock
from etl.fetch.errors import (
    ArticleGone,
    FetchError,
    InvalidResponse,
    NameResolutionFailed,
    RateLimited,
    RequestBudgetExhausted,
    RequestFailed,
    RetriesExhausted,
    RobotsDisallowed,
)
from etl.fetch.layout import (
    SIDECAR_SUFFIX,
    account_dir,
    article_path,
    check_urlname,
    is_article_key,
    read_sidecar,
    sidecar_fetched_at,
    sidecar_path,
)
from etl.fetch.listing import ArticleRef, list_articles
from etl.fetch.logs import LogLike
from etl.fetch.options import DEFAULT_BASE_URL, DEFAULT_USER_AGENT, FetchOptions, Listing
from etl.fetch.retry import parse_retry_after
from etl.fetch.state import STATE_FILE
from etl.fetch.summary import AccountReport, FetchReport

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_USER_AGENT",
    "SIDECAR_SUFFIX",
    "STATE_FILE",
    "STATUSES",
    "AccountReport",
    "ArticleGone",
    "ArticleRef",
    "Clock",
    "FetchError",
    "FetchOptions",
    "FetchOutcome",
    "FetchReport",
    "Fetcher",
    "HttpResult",
    "InvalidResponse",
    "Lister",
    "Listing",
    "LogLike",
    "ManualClock",
    "NameResolutionFailed",
    "NoteClient",
    "RateLimited",
    "RequestBudgetExhausted",
    "RequestFailed",
    "RetriesExhausted",
    "RobotsDisallowed",
    "Status",
    "SystemClock",
    "account_dir",
    "article_path",
    "check_urlname",
    "fetch_account",
    "fetch_article",
    "is_article_key",
    "list_articles",
    "parse_retry_after",
    "read_sidecar",
    "sidecar_fetched_at",
    "sidecar_path",
]
