"""`GET /l/{code}`: the tracked links' redirect (codes from destinations/campaigns/links.py).

A known, live code is answered 302 to its recorded target and nothing else, after the click is committed
to the journal (one lookup and one insert, in the journal's group commit). An unknown code gets 404 and an
expired one 410, each with a fixed page that holds no link and never repeats the code. A HEAD request or a
link-preview fetcher (messaging apps' preview bots, known crawlers) is journaled as a preview, not a click.
Per request only the time, the code, the kind and a coarse user-agent class are kept: no IP address, no
user agent, no referrer.
"""

from __future__ import annotations

import logging
import re
import secrets

from smartdialog_sync.destinations.campaigns.links import is_code
from starlette.types import Receive, Scope, Send

from smartdialog_sync.journal import ClickRow, GroupCommitJournal

from .metrics import ReceiverMetrics
from .payloads import now_us

log = logging.getLogger("receiver")

# Link-preview fetchers of messaging and social apps (iMessage sends facebookexternalhit/Twitterbot).
_PREVIEW = re.compile(
    r"whatsapp|facebookexternalhit|facebot|twitterbot|slackbot|telegrambot|discordbot|linkedinbot|skypeuripreview|"
    r"viber|snapchat|pinterest|redditbot|embedly|iframely|applebot|google-pagerenderer|signal|line/|kakaotalk",
    re.IGNORECASE,
)
_CRAWLER = re.compile(r"bot\b|bot/|crawler|spider|slurp|bingpreview|headless|lighthouse|scanner|monitor", re.IGNORECASE)
_MOBILE = re.compile(r"mobile|android|iphone|ipad|ipod", re.IGNORECASE)
_BROWSER = re.compile(r"mozilla/|opera/", re.IGNORECASE)
PREVIEW_CLASSES = ("preview", "crawler")

_PAGE_HEADERS = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store"),
                 (b"x-content-type-options", b"nosniff"), (b"content-security-policy", b"default-src 'none'")]
_NOT_FOUND = b"<!doctype html><title>Link not found</title><p>This link does not exist.</p>\n"
_GONE = b"<!doctype html><title>Link expired</title><p>This link has expired.</p>\n"
_UNAVAILABLE = b"<!doctype html><title>Try again</title><p>This link cannot be opened right now. Try again later.</p>\n"


def agent_class(user_agent: str) -> str:
    """A coarse class of a User-Agent: preview, crawler, mobile, desktop or other (the only trace kept of it)."""
    if _PREVIEW.search(user_agent):
        return "preview"
    if _CRAWLER.search(user_agent):
        return "crawler"
    if _BROWSER.search(user_agent):
        return "mobile" if _MOBILE.search(user_agent) else "desktop"
    return "other"


async def _page(send: Send, status: int, body: bytes, *headers: tuple[bytes, bytes], head: bool = False) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*_PAGE_HEADERS, (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": b"" if head else body})


class RedirectEndpoint:
    """The raw ASGI endpoint of `/l/{code}` (GET, and HEAD as a preview)."""

    def __init__(self, journal: GroupCommitJournal, metrics: ReceiverMetrics) -> None:
        self._journal = journal
        self._count = metrics.link_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        code = scope["path_params"]["code"]
        head = scope["method"] == "HEAD"
        if not is_code(code):
            self._count.labels("not_found").inc()
            return await _page(send, 404, _NOT_FOUND, head=head)
        user_agent = next((value for name, value in scope["headers"] if name == b"user-agent"), b"")
        agent = agent_class(user_agent.decode("latin-1"))
        kind = "preview" if head or agent in PREVIEW_CLASSES else "click"
        try:
            link = await self._journal.append(ClickRow(secrets.token_hex(16), code, kind, agent, now_us()))
        except Exception as exc:  # not journaled: the visitor may try again
            log.error("journal write failed for a link click: %s", type(exc).__name__)
            self._count.labels("unavailable").inc()
            return await _page(send, 503, _UNAVAILABLE, (b"retry-after", b"5"), head=head)
        if link is None:
            self._count.labels("not_found").inc()
            return await _page(send, 404, _NOT_FOUND, head=head)
        if link.expired:
            self._count.labels("gone").inc()
            return await _page(send, 410, _GONE, head=head)
        self._count.labels(kind).inc()
        await send({"type": "http.response.start", "status": 302, "headers": [
            (b"location", link.target.encode("utf-8")), (b"content-length", b"0"), (b"cache-control", b"no-store"),
            (b"referrer-policy", b"no-referrer")]})
        await send({"type": "http.response.body", "body": b""})
