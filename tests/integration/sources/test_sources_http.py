"""The shared HTTP layer against a local server: retries, Retry-After, budgets, one-line errors."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import pytest

from failstreak.errors import SourceError
from failstreak.sources.http import Response, Session, parse_retry_after
from tests.integration.platform_servers import Answer, FakePlatform, serve

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-token-value"


class Echo(FakePlatform):
    """Answers {"ok": true, "path": ...} to an authorized request."""

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {SECRET}"

    def route(self, path: str, query: dict[str, str]) -> Answer:
        return Answer(200, {"ok": True, "path": path, "query": query})


@pytest.fixture
def api() -> Iterator[Echo]:
    with serve(Echo()) as fake:
        yield fake


def session(api: FakePlatform, **kw: Any) -> Session:
    opts: dict[str, Any] = {"budget_seconds": 10, "max_retries": 3, "backoff_seconds": 0.01, "timeout_seconds": 2}
    return Session("plat", api.base_url, {"Authorization": f"Bearer {SECRET}"}, **{**opts, **kw})


def test_a_json_page_is_decoded_with_its_headers_and_query(api: Echo) -> None:
    # Given a healthy server
    # When a page is asked with parameters (None ones left out, booleans spelled as the APIs expect)
    got = session(api).get("/v1/things", {"completed_only": True, "skip": None, "n": 3})

    # Then the body and the query arrive decoded
    assert got.data == {"ok": True, "path": "/v1/things", "query": {"completed_only": "true", "n": "3"}}
    assert got.header("CONTENT-TYPE") == "application/json"


def test_server_errors_are_retried_with_backoff_until_one_succeeds(api: Echo) -> None:
    # Given two 503s before the real answer
    api.inject(Answer(503, {"message": "busy"}), Answer(502, raw=b"<html>bad gateway</html>"))

    # When a page is asked
    s = session(api)
    got = s.get("/v1/x")

    # Then the third try answers
    assert got.data["ok"] is True
    assert s.requests == 3
    assert len(api.requests) == 3


def test_a_server_that_keeps_failing_gives_up_after_the_retries_in_one_line(api: Echo) -> None:
    # Given a server in an outage
    api.outage = True

    # When a page is asked, then the error says how many attempts were made
    with pytest.raises(SourceError, match=r"^plat: GET /v1/x: HTTP 500 \(gave up after 3 attempts\)$"):
        session(api, max_retries=2).get("/v1/x")


def test_retry_after_as_an_http_date_is_honoured(api: Echo) -> None:
    # Given a 429 asking to come back at a date one second ahead (HTTP dates have second precision)
    api.inject(Answer(429, {"message": "slow down"}, {"Retry-After": formatdate(time.time() + 1.5, usegmt=True)}))

    # When a page is asked
    session(api).get("/v1/x")

    # Then the retry came after the date
    assert api.requests[1].at - api.requests[0].at >= 0.4


def test_a_429_with_retry_after_is_waited_out_before_the_retry(api: Echo) -> None:
    # Given a 429 asking to wait 0.3 seconds
    api.inject(Answer(429, {"message": "Too Many Requests"}, {"Retry-After": "0.3"}))

    # When a page is asked
    s = session(api)
    s.get("/v1/x")

    # Then the server saw the retry no sooner than asked
    assert api.requests[1].at - api.requests[0].at >= 0.29
    assert s.waited == pytest.approx(0.3)


def test_a_page_that_is_not_json_is_malformed(api: Echo) -> None:
    # Given a 200 with an HTML body (a proxy's login page)
    api.inject(Answer(200, raw=b"<html>sign in</html>"))

    # When a page is asked, then it is reported malformed
    with pytest.raises(SourceError, match=r"^plat: GET /v1/x: malformed page: not JSON$"):
        session(api).get("/v1/x")


def test_a_next_link_to_another_host_is_not_followed(api: Echo) -> None:
    # Given a Link header pointing elsewhere
    # When it is followed, then the session refuses, so the token never leaves the configured host
    with pytest.raises(SourceError, match="another host"):
        session(api).get("https://evil.example.com/steal")
    assert api.requests == []


def test_a_redirect_is_reported_not_followed(api: Echo) -> None:
    # Given a moved repository
    api.inject(Answer(301, {"message": "Moved Permanently"}, {"Location": "https://elsewhere.example.com/"}))

    # When a page is asked, then the error asks to update the url
    with pytest.raises(SourceError, match="HTTP 301: redirected; set the source's url"):
        session(api).get("/v1/x")


def test_a_client_error_quotes_the_platform_message_shortly(api: Echo) -> None:
    # Given a 400 with a long message
    api.inject(Answer(400, {"message": "invalid parameter\n" + "x" * 500}))

    # When a page is asked, then the message is quoted on one line and cut
    with pytest.raises(SourceError) as err:
        session(api).get("/v1/x")
    text = str(err.value)
    assert text.startswith("plat: GET /v1/x: HTTP 400: invalid parameter x")
    assert "\n" not in text
    assert len(text) < 220
    assert text.endswith("…")


def test_a_slow_server_times_out_and_never_shows_the_token(api: Echo) -> None:
    # Given a server slower than the read timeout
    api.delay = 0.6

    # When a page is asked with a 0.2 s timeout and no retries
    with pytest.raises(SourceError) as err:
        session(api, timeout_seconds=0.2, max_retries=0).get("/v1/x")

    # Then the error says it timed out, without the token
    assert "timed out" in str(err.value)
    assert SECRET not in str(err.value)


def test_a_closed_port_cannot_connect() -> None:
    # Given a port nobody listens on
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    # When a page is asked, then the error says it cannot connect
    plain = Session("plat", f"http://127.0.0.1:{port}", {}, max_retries=0)
    with pytest.raises(SourceError, match=r"^plat: GET /x: cannot connect"):
        plain.get("/x")


def test_retry_after_values_are_read_as_seconds_or_dates() -> None:
    # Given the forms a Retry-After header takes
    now = 1_700_000_000.0

    # When they are read, then seconds and dates give a wait and garbage gives none
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None


def test_link_headers_yield_the_next_page_only() -> None:
    # Given RFC 8288 Link headers as GitHub and GitLab send them
    two = '<https://api.example.com/r?page=2>; rel="next", <https://api.example.com/r?page=9>; rel="last"'
    last = '<https://api.example.com/r?page=1>; rel="first", <https://api.example.com/r?page=8>; rel="prev"'

    # When the next page is asked for, then only a rel="next" target is returned
    assert Response(200, [], {"Link": two}).next_link() == "https://api.example.com/r?page=2"
    assert Response(200, [], {"link": last}).next_link() is None
    assert Response(200, [], {}).next_link() is None
