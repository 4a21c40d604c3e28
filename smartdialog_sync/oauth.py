"""Small OAuth2 helpers shared by the client and the emulator (stdlib only): PKCE and loopback checks."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from urllib.parse import urlsplit


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str, scheme: str | None = None) -> bool:
    """True when the URL's host is a loopback one (and its scheme is `scheme`, when given)."""
    parts = urlsplit(url)
    return (scheme is None or parts.scheme == scheme) and is_loopback_host(parts.hostname or "")
