"""The token of a run-history link (`GET /page?token=…`, docs/http.md "The page"). Pure: a secret and a clock in.

A token is `v1.<expiry in unix seconds>.<signature>`, the signature the unpadded base64url HMAC-SHA256 of
`page:v1:<expiry>` under the config's `http.page_secret`. It carries its own expiry, so the front keeps no list of
tokens: a token is good until its expiry, for whoever holds it (a bearer link). The `page:` prefix keeps a page
signature from ever being one that another route would accept. Rotating the secret invalidates every link
signed with the old one at once; there is no way to revoke one link alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

VERSION = "v1"
DEFAULT_LIFETIME_S = 7 * 86_400
MAX_TOKEN_CHARS = 64
# What is parsed from a caller: an expiry of at most 12 digits, a signature of 43 base64url characters (32 bytes).
_TOKEN = re.compile(r"v1\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


class TokenRejected(ValueError):
    """A token the front refuses; the message says why in words safe to send back (never the secret)."""


def _signature(secret: str, expires_at: int) -> str:
    mac = hmac.new(secret.encode(), f"page:{VERSION}:{expires_at}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def mint(secret: str, expires_at: int) -> str:
    """The token that opens the page until `expires_at` (unix seconds). Only URL-safe characters."""
    if not secret:
        raise ValueError("the page secret is empty")
    if not 0 < expires_at < 10**12:
        raise ValueError(f"expiry {expires_at} is not unix seconds")
    return f"{VERSION}.{expires_at}.{_signature(secret, expires_at)}"


def verify(secret: str, token: str | None, now_s: float) -> int:
    """The token's expiry (unix seconds) when `secret` signed it and it has not expired at `now_s`.

    Raises TokenRejected for a missing, malformed, wrongly signed or expired token. The signature is compared in
    constant time, before the expiry is looked at, so an answer says nothing about a forged token's expiry.
    """
    if not token:
        raise TokenRejected("missing token")
    found = _TOKEN.fullmatch(token) if len(token) <= MAX_TOKEN_CHARS else None
    if found is None:
        raise TokenRejected("malformed token")
    expires_at = int(found[1])
    if not secret or not hmac.compare_digest(_signature(secret, expires_at).encode(), found[2].encode()):
        raise TokenRejected("wrong signature (or a link signed with an earlier page secret)")
    if now_s >= expires_at:
        raise TokenRejected("expired link: ask for a new one (a new alert, or `failstreak html --link`)")
    return expires_at
