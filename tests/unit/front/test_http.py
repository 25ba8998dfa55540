"""Function URL events in, responses out (docs/http.md): headers, bodies, the size limit."""

from __future__ import annotations

import base64
import json

import pytest

from failstreak.front.http import HttpError, Response, request_from_event


def _event(body: str, *, b64: bool = False, headers: dict[str, str] | None = None) -> dict[str, object]:
    # The shape of aws/aws-lambda-go events/testdata/lambda-urls-request.json
    return {
        "version": "2.0",
        "rawPath": "/ingest",
        "headers": headers or {"Content-Type": "application/json"},
        "requestContext": {"http": {"method": "post", "path": "/ingest"}},
        "body": body,
        "isBase64Encoded": b64,
    }


def test_a_text_body_headers_and_method_are_read() -> None:
    # Given a text body and mixed-case header names; When read
    request = request_from_event(_event("{}", headers={"X-Thing": " v "}), max_body=10)
    # Then the body is its bytes, header names are case-insensitive, the method upper-case
    assert (request.method, request.path, request.body) == ("POST", "/ingest", b"{}")
    assert request.header("x-thing") == "v"
    assert request.header("X-THING") == "v"
    assert request.header("absent") is None


def test_a_base64_body_is_decoded() -> None:
    # Given a binary body Lambda delivered base64-encoded; When read; Then its bytes
    data = b"\x1f\x8b\x08binary"
    assert request_from_event(_event(base64.b64encode(data).decode(), b64=True), max_body=100).body == data


def test_invalid_base64_is_400() -> None:
    with pytest.raises(HttpError) as e:
        request_from_event(_event("***", b64=True), max_body=100)
    assert (e.value.status, e.value.reason) == (400, "the body is not valid base64")


@pytest.mark.parametrize(
    "event",
    [
        _event("x" * 1025),
        _event(base64.b64encode(b"x" * 1025).decode(), b64=True),
        _event("x", headers={"content-length": "5000"}),
    ],
)
def test_a_body_over_the_limit_is_413(event: dict[str, object]) -> None:
    # Given a body over 1 KiB (as text, as base64, or declared so); When read; Then 413
    with pytest.raises(HttpError) as e:
        request_from_event(event, max_body=1024)
    assert (e.value.status, e.value.reason) == (413, "the body is over 1 KiB")


def test_a_response_becomes_a_function_url_answer() -> None:
    # Given a response with and one without a body; Then the function URL answer carries JSON or nothing
    assert Response(202, {"accepted": 1}).to_event() == {
        "statusCode": 202,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"accepted": 1}, separators=(",", ":")),
    }
    assert Response(204).to_event() == {"statusCode": 204}
