"""Tracked links in SMS content: `{{link:URL}}` (or every http(s) URL with --track-links) becomes, per
recipient, `PUBLIC_URL/l/CODE`, redirected by `sdsync serve` (receiver/redirects.py).

A code is 11 base62 characters (65 bits) of an HMAC-SHA256 of (campaign, variant, recipient, target) under
the state's link secret: unguessable, and the same whenever the campaign is planned again. The content
sent to the API carries `{{sdsync_link_N}}` placeholders; each recipient's Personalization carries its
short URLs, so the SMS parts are counted on the real link length.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .errors import CampaignInputError

LINK_PLACEHOLDER = re.compile(r"\{\{\s*link:\s*([^{}]*?)\s*\}\}")
BARE_URL = re.compile(r"(?<![\w{:])https?://[^\s<>\"'{}]+", re.IGNORECASE)
TRAILING = ".,;:!?)]'\""  # punctuation that ends a sentence, not a URL
KEY_PREFIX = "sdsync_link_"
CODE_LENGTH = 11  # 62**11 > 2**65
REDIRECT_PREFIX = "/l/"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CODE = re.compile(rf"[0-9A-Za-z]{{{CODE_LENGTH}}}")


class Link(NamedTuple):
    """One recorded link: the code a recipient's message carries and the target it redirects to."""

    code: str
    campaign_id: str
    variant: str | None
    recipient: str
    target: str


def check_target(url: str) -> str:
    """`url` if it is an absolute http(s) URL of printable ASCII (the redirect's Location header carries it
    exactly), else CampaignInputError."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise CampaignInputError(f"tracked link {url[:80]!r} is not an absolute http(s) URL")
    if not all(33 <= ord(c) <= 126 for c in url):
        raise CampaignInputError(f"tracked link {url[:80]!r} has spaces, control or non-ASCII characters: "
                                 "percent-encode them (and use the punycode host name)")
    return url


def check_base_url(url: str | None) -> str:
    """The public URL short links start with (`[receiver] public_url` / `--link-base-url`), without a trailing /."""
    if not url:
        raise CampaignInputError("tracked links need the receiver's public URL: set [receiver] public_url or --link-base-url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise CampaignInputError(f"link base URL {url!r} must be an absolute http(s) URL without query or fragment")
    return url.rstrip("/")


def is_code(text: str) -> bool:
    """True when `text` has the form of a link code (checked before any lookup)."""
    return _CODE.fullmatch(text) is not None


@dataclass(frozen=True)
class LinkTracking:
    """How a campaign tracks links: the public URL of the receiver and whether bare URLs are tracked too."""

    base_url: str
    track_all: bool = False

    def describe(self) -> dict[str, Any]:
        """What identifies the tracking in a campaign's description (and so its fingerprint)."""
        return {"base_url": self.base_url, "track_all": self.track_all}


@dataclass(frozen=True)
class TrackedContent:
    """Content with each tracked link replaced by `{{sdsync_link_N}}`; `targets[N-1]` is link N's target."""

    content: str
    targets: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The Personalization keys of the links, in order."""
        return tuple(f"{KEY_PREFIX}{n}" for n in range(1, len(self.targets) + 1))


def track_content(content: str, track_all: bool = False) -> TrackedContent:
    """`content` with its `{{link:URL}}` (and, with `track_all`, bare http(s) URLs) made placeholders.

    The same target twice is one link. A target that is not an absolute http(s) URL (javascript:, data:,
    a relative path) raises CampaignInputError (exit 2).
    """
    if KEY_PREFIX in content:
        raise CampaignInputError(f"the content may not use placeholders named {KEY_PREFIX}*: they carry tracked links")
    targets: list[str] = []

    def placeholder(target: str) -> str:
        check_target(target)
        if target not in targets:
            targets.append(target)
        return "{{" + f"{KEY_PREFIX}{targets.index(target) + 1}" + "}}"

    def bare(match: re.Match[str]) -> str:
        url = match.group(0)
        kept = url.rstrip(TRAILING)
        return placeholder(kept) + url[len(kept):]

    tracked = LINK_PLACEHOLDER.sub(lambda match: placeholder(match.group(1)), content)
    if track_all:
        tracked = BARE_URL.sub(bare, tracked)
    return TrackedContent(tracked, tuple(targets))


def is_link_placeholder(key: str) -> bool:
    """True for the key of a `{{link:URL}}` placeholder (not a query column)."""
    return key.startswith("link:")


def _base62(number: int, length: int) -> str:
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


@dataclass
class LinkCoder:
    """Makes the codes of one campaign and keeps every link it made (to be recorded before the first call)."""

    secret: bytes
    tracking: LinkTracking
    campaign_id: str
    made: list[Link] = field(default_factory=list)

    def code(self, variant: str | None, recipient: str, target: str) -> str:
        """The recipient's code for `target`: stable for the same secret, campaign, variant, recipient, target."""
        message = json.dumps([self.campaign_id, variant or "", recipient, target], ensure_ascii=False).encode()
        digest = hmac.new(self.secret, message, hashlib.sha256).digest()
        return _base62(int.from_bytes(digest[:12], "big"), CODE_LENGTH)

    def render(self, tracked: TrackedContent, recipient: str, variant: str | None = None) -> dict[str, str]:
        """The Personalization values of `tracked`'s links for one recipient (one content, e.g. one variant)."""
        values = {}
        for key, target in zip(tracked.keys, tracked.targets):
            code = self.code(variant, recipient, target)
            self.made.append(Link(code, self.campaign_id, variant, recipient, target))
            values[key] = f"{self.tracking.base_url}{REDIRECT_PREFIX}{code}"
        return values


def planning_secret(data_dir: Path, journal: str | Path, create: bool) -> bytes:
    """The link secret of the state (created once); without `create` (a dry run, which reads and writes no
    store for it) a throwaway one: the codes then differ but have the same length, so the SMS parts are right."""
    from smartdialog_sync.receiver.secret import link_secret

    return link_secret(data_dir, journal).encode() if create else secrets.token_bytes(32)


def record_links(journal: str | Path, links: Sequence[Link]) -> None:
    """Record the links in the journal every receiver sharing the state reads (before the ledger is written)."""
    from smartdialog_sync.journal import open_journal

    store = open_journal(journal)
    try:
        store.write_links(links, time.time_ns() // 1000)
    finally:
        store.close()


def expire_links(journal: str | Path, campaign_id: str) -> tuple[int, int]:
    """Expire a campaign's links (answered 410 from then on): (expired now, links of the campaign)."""
    from smartdialog_sync.journal import open_journal

    store = open_journal(journal)
    try:
        return store.expire_links(campaign_id, time.time_ns() // 1000)
    finally:
        store.close()


def configured_public_url() -> str | None:
    """`[receiver] public_url` (env RECEIVER__PUBLIC_URL): where `sdsync serve` is reached from outside."""
    import dlt

    value = dlt.config.get("receiver.public_url", str)
    return str(value) if value else None


def link_tracking(contents: Sequence[str], track_all: bool, base_url: str | None) -> LinkTracking | None:
    """The tracking of a campaign's SMS contents (one, or one per variant): None when they track no link; the
    public URL is `base_url`, else `[receiver] public_url`. CampaignInputError when neither is set or a target is
    no http(s) URL."""
    if not track_all and not any(LINK_PLACEHOLDER.search(content) for content in contents):
        return None
    for content in contents:
        track_content(content, track_all)  # every target checked before anything is opened
    return LinkTracking(check_base_url(base_url or configured_public_url()), track_all)
