"""`GET /page?token=…` (docs/http.md, "The page"): the run-history page behind an expiring token, served from its
store through Function URL 2.0 events; too big for a Function URL response, gzip-encoded or redirected."""

from __future__ import annotations

import base64
import gzip
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from failstreak.app.pagelink import make_link
from failstreak.core.model import JobState, Run, Status
from failstreak.core.pagetoken import mint
from failstreak.front.context import front_for
from failstreak.front.page import MAX_GZIP_BYTES, MAX_TEXT_BYTES, REDIRECT_S, accepts_gzip
from failstreak.front.routes import handle
from failstreak.views.page import JobView, Page, content_security_policy, render
from failstreak.views.store import write_page
from tests.integration.front.frontkit import HTTP, front_config
from tests.integration.front.samples import url_event
from tests.integration.s3.backends import S3

pytestmark = pytest.mark.integration

PAGE_SECRET = "page-secret-for-tests"
NOW = 1_790_000_000  # unix seconds
WITH_PAGE = HTTP + "  page_secret: {env: FS_TEST_PAGE_SECRET}\n  url: https://abcdefghij.lambda-url.us-east-1.on.aws/\n"


@pytest.fixture(autouse=True)
def page_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FS_TEST_PAGE_SECRET", PAGE_SECRET)


def a_page() -> Page:
    job = JobState(name="etl <nightly>", runs=[Run(NOW * 1000 - n, str(n), 0, Status.FAILED) for n in range(3)])
    return render([JobView(job=job, teams=("data",), window=10)], NOW * 1000)


def page_event(token: str | None, *, gzip_ok: bool = True, method: str = "GET") -> dict[str, Any]:
    """As a browser opens the link: a GET with the token in the query string (Function URL payload 2.0)."""
    headers = {"accept": "text/html", "user-agent": "Mozilla/5.0"}
    if gzip_ok:
        headers["accept-encoding"] = "gzip, deflate, br"
    return url_event("/page", b"", headers, method=method, query={"token": token} if token is not None else None)


def configured(s3: S3, page: str | None = "fs/page.html", http: str = WITH_PAGE) -> Any:
    extra = http + (f"page: {s3.uri(page)}\n" if page else "")
    return front_config(s3, extra)


def body_of(answer: dict[str, Any]) -> bytes:
    raw = answer["body"]
    data = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode()
    return gzip.decompress(data) if answer["headers"].get("content-encoding") == "gzip" else data


def test_a_valid_token_opens_the_page_gzip_encoded_with_strict_headers(moto_s3: S3) -> None:
    # Given a page kept on S3 (as a pass keeps it) and a link minted now
    cfg = configured(moto_s3)
    page = a_page()
    write_page(str(cfg.page), page)
    link = make_link(cfg, NOW * 1000)
    token = link.url.split("token=", 1)[1]
    # When a browser accepting gzip opens it
    answer = handle(page_event(token), front_for(cfg, now=lambda: NOW + 60))
    # Then the page is served as kept (gzip, base64 in the response), byte for byte the page
    assert answer["statusCode"] == 200
    assert answer["isBase64Encoded"] is True
    assert body_of(answer) == page.html.encode()
    # And with headers that keep it private, unembeddable, and its script and style the only ones allowed
    headers = answer["headers"]
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-encoding"] == "gzip"
    assert headers["cache-control"] == "private, no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith(content_security_policy() + ";")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert content_security_policy() in page.html


def test_a_client_that_does_not_accept_gzip_gets_the_html_itself(moto_s3: S3) -> None:
    # Given a page kept on S3; When opened by a client that sends no Accept-Encoding
    cfg = configured(moto_s3)
    page = a_page()
    write_page(str(cfg.page), page)
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60), gzip_ok=False), front_for(cfg, now=lambda: NOW))
    # Then the HTML is the body, as text
    assert answer["statusCode"] == 200
    assert answer["isBase64Encoded"] is False
    assert "content-encoding" not in answer["headers"]
    assert answer["body"] == page.html


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "missing token"),
        ("", "missing token"),
        ("v1.1790000060.short", "malformed token"),
        (mint("another-secret", NOW + 60), "wrong signature (or a link signed with an earlier page secret)"),
        (mint(PAGE_SECRET, NOW - 1), "expired link: ask for a new one (a new alert, or `failstreak html --link`)"),
    ],
    ids=["missing", "empty", "malformed", "tampered", "expired"],
)
def test_a_missing_bad_or_expired_token_is_401_and_nothing_else(moto_s3: S3, token: str | None, reason: str) -> None:
    # Given a page kept on S3
    cfg = configured(moto_s3)
    write_page(str(cfg.page), a_page())
    # When opened without a good token
    answer = handle(page_event(token), front_for(cfg, now=lambda: NOW))
    # Then 401 with the reason, as JSON, and not a byte of the page
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"]) == {"error": reason}
    assert answer["headers"] == {"content-type": "application/json"}


def test_a_token_whose_expiry_was_moved_is_401(moto_s3: S3) -> None:
    # Given a token that expired, its expiry rewritten a day later by its holder
    cfg = configured(moto_s3)
    write_page(str(cfg.page), a_page())
    version, expiry, signature = mint(PAGE_SECRET, NOW - 1).split(".")
    moved = f"{version}.{int(expiry) + 86400}.{signature}"
    # When opened; Then refused
    answer = handle(page_event(moved), front_for(cfg, now=lambda: NOW))
    assert answer["statusCode"] == 401


@pytest.mark.parametrize("missing", ["page_secret", "page"])
def test_without_a_page_secret_or_a_page_the_route_is_404(moto_s3: S3, missing: str) -> None:
    # Given a config without http.page_secret, or without page:
    cfg = configured(moto_s3, http=HTTP) if missing == "page_secret" else configured(moto_s3, page=None)
    # When a link (even a well-signed one) is opened; Then the route is off
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60)), front_for(cfg, now=lambda: NOW))
    assert (answer["statusCode"], json.loads(answer["body"])) == (404, {"error": "/page is not configured"})


def test_a_page_not_written_yet_is_404_saying_so(moto_s3: S3) -> None:
    # Given page: set but no pass has written it; When a valid link is opened; Then 404 with the reason
    cfg = configured(moto_s3)
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60)), front_for(cfg, now=lambda: NOW))
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"]) == {"error": "no page yet: a pass with `page:` set writes it"}


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "DELETE"])
def test_other_methods_on_page_are_405(moto_s3: S3, method: str) -> None:
    # Given a page and a valid token; When the route is called with another method than GET; Then 405
    cfg = configured(moto_s3)
    write_page(str(cfg.page), a_page())
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60), method=method), front_for(cfg, now=lambda: NOW))
    assert answer["statusCode"] == 405


def test_a_local_page_is_served_as_html(moto_s3: S3, tmp_path: Path) -> None:
    # Given page: a local file (a local front, for development)
    cfg = front_config(moto_s3, WITH_PAGE + f"page: {tmp_path / 'page.html'}\n")
    page = a_page()
    write_page(str(cfg.page), page)
    # When opened with a valid token; Then served as text
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60)), front_for(cfg, now=lambda: NOW))
    assert (answer["statusCode"], answer["body"]) == (200, page.html)


def big_page(compressible: bool) -> Page:
    """A page over the Function URL's 6 MB response: compressible (repeated rows) or not (random text)."""
    size = MAX_TEXT_BYTES + 1024 * 1024
    filler = "<p>row</p>" * (size // 10) if compressible else base64.b64encode(os.urandom(size)).decode()
    return Page((f"<!DOCTYPE html><html><body>{filler}</body></html>".encode(),), "f" * 64)


def test_a_big_page_that_fits_compressed_is_served_gzip_encoded(moto_s3: S3) -> None:
    # Given a page of 7 MB of HTML that gzip makes small
    cfg = configured(moto_s3)
    page = big_page(compressible=True)
    write_page(str(cfg.page), page)
    # When opened by a browser accepting gzip; Then the response fits and is the page
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60)), front_for(cfg, now=lambda: NOW))
    assert answer["statusCode"] == 200
    assert len(answer["body"]) <= MAX_TEXT_BYTES
    assert body_of(answer) == page.html.encode()


def test_a_page_too_big_even_compressed_redirects_to_a_short_lived_presigned_url(seaweed_s3: S3) -> None:
    # Given a page whose gzip is still over what a Function URL response can carry, on a real S3 server
    cfg = configured(seaweed_s3)
    page = big_page(compressible=False)
    write_page(str(cfg.page), page)
    assert len(gzip.compress(page.html.encode(), 6)) > MAX_GZIP_BYTES
    # When a valid link is opened
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60)), front_for(cfg, now=lambda: NOW))
    # Then 302 to a presigned URL living REDIRECT_S seconds, with no referrer sent on
    assert answer["statusCode"] == 302
    location = answer["headers"]["location"]
    assert f"X-Amz-Expires={REDIRECT_S}" in location
    assert answer["headers"]["referrer-policy"] == "no-referrer"
    assert "body" not in answer
    # And the URL opens the page without credentials
    with urllib.request.urlopen(location, timeout=30) as response:
        got = response.read()
    assert gzip.decompress(got) == page.html.encode()


def test_a_big_page_to_a_client_without_gzip_is_redirected(moto_s3: S3) -> None:
    # Given a 7 MB page that gzip would make small; When opened by a client that does not accept gzip
    cfg = configured(moto_s3)
    write_page(str(cfg.page), big_page(compressible=True))
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60), gzip_ok=False), front_for(cfg, now=lambda: NOW))
    # Then it is redirected to the object rather than sent over the limit
    assert answer["statusCode"] == 302
    assert answer["headers"]["location"].startswith("http")


@pytest.mark.parametrize("compressible", [True, False])
def test_a_big_local_page_is_compressed_when_that_makes_it_fit_else_refused(
    moto_s3: S3, tmp_path: Path, compressible: bool
) -> None:
    # Given a local page over the Function URL's response limit (a local front has no URL to redirect to)
    cfg = front_config(moto_s3, WITH_PAGE + f"page: {tmp_path / 'page.html'}\n")
    page = big_page(compressible)
    write_page(str(cfg.page), page)
    # When opened by a browser accepting gzip
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60)), front_for(cfg, now=lambda: NOW))
    # Then a page gzip makes small enough is sent compressed; one it does not is 502, saying what to do
    if compressible:
        assert answer["statusCode"] == 200
        assert body_of(answer) == page.html.encode()
    else:
        assert answer["statusCode"] == 502
        assert json.loads(answer["body"]) == {
            "error": "the page is too large to send; open the file itself (docs/page.md)"
        }


def test_a_kept_page_that_is_not_valid_gzip_is_502(moto_s3: S3) -> None:
    # Given an S3 object at page: that says it is gzip but is not (written by something else than a pass)
    cfg = configured(moto_s3)
    moto_s3.client.put_object(
        Bucket=moto_s3.bucket, Key="fs/page.html", Body=b"<html>not gzip</html>", ContentEncoding="gzip"
    )
    # When a client without gzip opens a valid link; Then 502 naming the problem, nothing of the object sent
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60), gzip_ok=False), front_for(cfg, now=lambda: NOW))
    assert (answer["statusCode"], json.loads(answer["body"])) == (502, {"error": "the kept page is not valid gzip"})


def test_a_kept_page_cut_short_is_502_and_never_sent_in_part(moto_s3: S3) -> None:
    # Given the page a pass keeps on S3, cut short (an object written partly by something else than a pass)
    cfg = configured(moto_s3)
    whole = gzip.compress(b"<!DOCTYPE html><html><body>" + b"<p>row</p>" * 50_000 + b"</body></html>", 1, mtime=0)
    moto_s3.client.put_object(
        Bucket=moto_s3.bucket, Key="fs/page.html", Body=whole[: len(whole) // 2], ContentEncoding="gzip"
    )
    # When a client without gzip opens a valid link; Then 502 naming the problem, no part of the page sent
    answer = handle(page_event(mint(PAGE_SECRET, NOW + 60), gzip_ok=False), front_for(cfg, now=lambda: NOW))
    assert (answer["statusCode"], json.loads(answer["body"])) == (502, {"error": "the kept page is not valid gzip"})


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        (None, False),
        ("GZIP", True),
        ("gzip;q=high", True),
    ],
)
def test_accept_encoding_is_read_with_its_qualities(header: str | None, accepted: bool) -> None:
    # Given an Accept-Encoding header (RFC 9110 12.5.3); Then gzip is used only when listed with q > 0
    assert accepts_gzip(header) is accepted
