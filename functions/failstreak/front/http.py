"""Requests and responses of a Lambda Function URL (payload format 2.0), and the errors a route answers with.

https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads: the request event carries
`rawPath`, `requestContext.http.method`, `headers` (names lower-cased; repeated headers joined by commas), `body`
and `isBase64Encoded`; the response is `statusCode`, `headers` and `body`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


class HttpError(Exception):
    """A request answered with `status` and a one-line `reason` (never a secret, never the request's body)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name; None when absent or blank."""
        value = self.headers.get(name.lower())
        return value.strip() or None if value is not None else None


@dataclass(frozen=True, slots=True)
class Response:
    """A JSON `body`, or `raw` bytes sent as they are (`headers` say what they are): base64-encoded when
    `binary` (gzip), else as text."""

    status: int
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    binary: bool = False

    def to_event(self) -> dict[str, Any]:
        """The Function URL response object."""
        out: dict[str, Any] = {"statusCode": self.status}
        headers = dict(self.headers)
        if self.raw is not None:
            out["body"] = base64.b64encode(self.raw).decode() if self.binary else self.raw.decode("utf-8")
            out["isBase64Encoded"] = self.binary
        elif self.body is not None:
            headers["content-type"] = "application/json"
            out["body"] = orjson.dumps(self.body).decode()
        if headers:
            out["headers"] = headers
        return out


def error_response(e: HttpError) -> Response:
    return Response(e.status, {"error": e.reason})


def request_from_event(event: Mapping[str, Any], max_body: int) -> Request:
    """The request a Function URL event carries. A body above `max_body` bytes (decoded) is 413, unread."""
    http = (event.get("requestContext") or {}).get("http") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_body:
        raise HttpError(413, f"the body is over {max_body // 1024} KiB")
    return Request(
        method=str(http.get("method") or "GET").upper(),
        path=str(event.get("rawPath") or "/"),
        headers=headers,
        body=_body(event, max_body),
        query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
    )


def _body(event: Mapping[str, Any], max_body: int) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        # Base64 is 4/3 of the bytes it carries: refuse a body that cannot fit before decoding it.
        if len(raw) > (max_body + 2) // 3 * 4:
            raise HttpError(413, f"the body is over {max_body // 1024} KiB")
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, "the body is not valid base64") from None
    else:
        body = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    if len(body) > max_body:
        raise HttpError(413, f"the body is over {max_body // 1024} KiB")
    return body
