"""`GET /page?token=…`: the run-history page (docs/page.md) behind an expiring link (docs/http.md, "The page").

The token (core/pagetoken.py) is checked before anything is read; a missing, malformed, wrongly signed or expired
one is 401 and nothing else. Without `http.page_secret` or `page:` the route is off (404).

A Lambda Function URL answers at most 6 MB, so the page is sent the smallest way that fits:
- as kept on S3 (gzip, base64-encoded in the response, `Content-Encoding: gzip`) to a client that accepts gzip;
- as HTML to one that does not, or from a local store (a local front, for development), gzip-compressed here
  when that is what makes it fit;
- when it still does not fit, a 302 to a presigned URL of the S3 object that lives `REDIRECT_S`, signed with the
  front's role (which may read the page object and nothing else).
"""

from __future__ import annotations

import gzip
import zlib

from failstreak.core import pagetoken
from failstreak.front.context import Front
from failstreak.front.http import HttpError, Request, Response
from failstreak.gzipped import InflatedTooLarge, inflate
from failstreak.views.page import content_security_policy
from failstreak.views.store import CONTENT_TYPE, GZIP_LEVEL, StoredPage, presigned_url, read_page

ROUTE = "/page"
# Lambda's response payload limit, less room for the headers and the response object's JSON around the body.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 - 16 * 1024
MAX_TEXT_BYTES = MAX_RESPONSE_BYTES
MAX_GZIP_BYTES = MAX_RESPONSE_BYTES // 4 * 3  # base64 makes 4 characters of 3 bytes
# A local page is read up to this much to be compressed; a kept page that large is not a page failstreak writes.
MAX_LOCAL_BYTES = 16 * MAX_RESPONSE_BYTES
REDIRECT_S = 300
SECURITY_HEADERS = {
    "cache-control": "private, no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "content-security-policy": content_security_policy()
    + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether `Accept-Encoding` lists gzip (or `*`) with a quality above zero."""
    for item in (accept_encoding or "").lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return not params.strip() or float(q) > 0
            except ValueError:
                return True
    return False


def handle(request: Request, front: Front) -> Response:
    if front.http.page_secret is None or front.page is None:
        raise HttpError(404, f"{ROUTE} is not configured")
    secret = front.secret(front.http.page_secret, ROUTE)
    try:
        pagetoken.verify(secret, request.query.get("token"), front.now())
    except pagetoken.TokenRejected as e:
        raise HttpError(401, str(e)) from None
    return serve(front, front.page, accepts_gzip(request.header("accept-encoding")))


def serve(front: Front, location: str, gzip_ok: bool) -> Response:
    """The page at `location` as a response that fits, or a redirect to it."""
    on_s3 = location.startswith("s3://")
    stored = read_page(location, MAX_TEXT_BYTES if on_s3 else MAX_LOCAL_BYTES, front.s3_client if on_s3 else None)
    if stored is None:
        raise HttpError(404, "no page yet: a pass with `page:` set writes it")
    fitting = _fitting(stored, gzip_ok)
    if fitting is not None:
        return fitting
    if on_s3:
        signed = presigned_url(location, REDIRECT_S)
        return Response(302, headers={**SECURITY_HEADERS, "location": signed.url})
    raise HttpError(502, "the page is too large to send; open the file itself (docs/page.md)")


def _page(raw: bytes, gzipped: bool) -> Response:
    headers = {**SECURITY_HEADERS, "content-type": CONTENT_TYPE, "vary": "accept-encoding"}
    if gzipped:
        headers["content-encoding"] = "gzip"
    return Response(200, headers=headers, raw=raw, binary=gzipped)


def _fitting(stored: StoredPage, gzip_ok: bool) -> Response | None:
    if stored.body is None:
        return None
    if stored.gzipped:
        if gzip_ok and stored.size <= MAX_GZIP_BYTES:
            return _page(stored.body, gzipped=True)
        html = _gunzip(stored.body, MAX_TEXT_BYTES)
        return _page(html, gzipped=False) if html is not None else None
    if stored.size <= MAX_TEXT_BYTES:
        return _page(stored.body, gzipped=False)
    if gzip_ok:
        packed = gzip.compress(stored.body, GZIP_LEVEL, mtime=0)
        return _page(packed, gzipped=True) if len(packed) <= MAX_GZIP_BYTES else None
    return None


def _gunzip(data: bytes, limit: int) -> bytes | None:
    """`data` decompressed, or None when that is more than `limit` bytes (never more than that is inflated); 502
    when it is not gzip, or is cut short (a page is sent whole or not at all)."""
    try:
        return inflate(data, limit)
    except InflatedTooLarge:
        return None
    except (OSError, EOFError, zlib.error):
        raise HttpError(502, "the kept page is not valid gzip") from None
