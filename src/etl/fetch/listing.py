"""An account's articles, newest first: the listing API (paged) and/or the RSS feed."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from etl.fetch.client import NoteClient
from etl.fetch.errors import FetchError, InvalidResponse, NameResolutionFailed, RequestBudgetExhausted
from etl.fetch.layout import check_urlname, is_article_key
from etl.fetch.logs import LogLike

_KEY_IN_URL_RE: Final = re.compile(r"/n/(n[0-9a-z]{4,40})(?:[/?#]|\Z)")


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """An article named by an account's listing."""

    urlname: str
    key: str
    url: str | None = None
    title: str | None = None
    published_at: str | None = None


def list_articles(
    client: NoteClient,
    urlname: str,
    *,
    known: Iterable[str] = (),
    log: LogLike | None = None,
) -> list[ArticleRef]:
    """The articles of one account, newest first, from the listing API and/or the RSS feed.

    ``known`` keys let the API listing stop at the first page holding nothing new
    (``stop_at_known``): pages are newest first, so the rest is older and known.

    >>> import httpx
    >>> from etl.fetch import FetchOptions, ManualClock
    >>> def answer(request: httpx.Request) -> httpx.Response:
    ...     page = {"contents": [{"key": "n0123456789ab", "name": "題"}], "isLastPage": True}
    ...     return httpx.Response(200, json={"data": page})
    >>> opts = FetchOptions(base_url="http://test", delay_seconds=0, listing="api")
    >>> client = NoteClient(opts, clock=ManualClock(), transport=httpx.MockTransport(answer))
    >>> [r.key for r in list_articles(client, "digital_jp")]
    ['n0123456789ab']
    """
    check_urlname(urlname)
    log = log or client.log
    mode = client.options.listing
    refs: list[ArticleRef] = []
    if mode in ("api", "both", "auto"):
        try:
            refs.extend(_list_api(client, urlname, set(known), log))
        except (RequestBudgetExhausted, NameResolutionFailed):
            raise  # the feed is on the same host, under the same cap
        except FetchError as exc:
            if mode != "auto":
                raise
            log.warning("listing API failed for %s (%s); falling back to the RSS feed", urlname, exc)
            mode = "rss"
    if mode in ("rss", "both"):
        refs.extend(_list_rss(client, urlname, log))
    unique: dict[str, ArticleRef] = {}
    for ref in refs:
        unique.setdefault(ref.key, ref)
    return list(unique.values())


def _list_api(client: NoteClient, urlname: str, known: set[str], log: LogLike) -> list[ArticleRef]:
    path = f"/api/v2/creators/{urlname}/contents"
    refs: list[ArticleRef] = []
    for page in range(1, client.options.max_pages + 1):
        res = client.get(path, params={"kind": "note", "page": page}, log=log)
        payload = res.json_object()
        data = payload.get("data")
        contents = data.get("contents") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(contents, list):
            raise InvalidResponse("listing answer has no data.contents list", url=res.url, status=200)
        page_refs = []
        for item in contents:
            if not isinstance(item, dict):
                continue
            key = item.get("key")
            if not is_article_key(key):
                log.warning("listing of %s names an invalid article key %r; skipped", urlname, key)
                continue
            assert isinstance(key, str)
            page_refs.append(
                ArticleRef(
                    urlname=urlname,
                    key=key,
                    url=opt_str(item.get("noteUrl")),
                    title=opt_str(item.get("name")),
                    published_at=opt_str(item.get("publishAt")),
                )
            )
        refs.extend(page_refs)
        if data.get("isLastPage", True) or not contents:
            break
        if client.options.stop_at_known and page_refs and all(r.key in known for r in page_refs):
            log.info("listing of %s: page %d holds only known articles; older pages not read", urlname, page)
            break
    return refs


def _list_rss(client: NoteClient, urlname: str, log: LogLike) -> list[ArticleRef]:
    from lxml import etree

    res = client.get(f"/{urlname}/rss", headers={"Accept": "application/rss+xml, application/xml"}, log=log)
    # No entities, no network: the feed is untrusted input.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(res.content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidResponse(
            f"RSS feed is not valid XML: {exc}", url=res.url, status=res.status_code
        ) from exc
    if root is None:
        raise InvalidResponse("RSS feed is empty", url=res.url, status=res.status_code)
    refs = []
    for item in root.iter("item"):
        link = (item.findtext("link") or "").strip()
        match = _KEY_IN_URL_RE.search(link)
        if not match:
            log.warning("RSS item of %s without a note article link (%r); skipped", urlname, link)
            continue
        refs.append(
            ArticleRef(
                urlname=urlname,
                key=match.group(1),
                url=link,
                title=opt_str(item.findtext("title")),
                published_at=_rfc822_to_iso(item.findtext("pubDate")),
            )
        )
    return refs


def opt_str(value: object) -> str | None:
    """A non-empty stripped string, or ``None``.

    >>> opt_str("  題 "), opt_str(""), opt_str(3)
    ('題', None, None)
    """
    return value.strip() or None if isinstance(value, str) else None


def _rfc822_to_iso(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value.strip()).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
