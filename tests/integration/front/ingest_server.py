"""The HTTP front on loopback: real HTTP requests turned into function URL events, as Lambda's URL service does,
served by the front's routes over a local inbox (a directory) and local replay markers."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from failstreak.app.config import parse_config
from failstreak.front.context import Front, front_for
from failstreak.front.routes import handle

TEXT_TYPES = ("application/json", "application/x-ndjson", "text/")


@dataclass
class IngestServer:
    url: str
    front: Front
    inbox: Path
    requests: list[dict[str, Any]]


def _handler(front: Front, requests: list[dict[str, Any]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            # https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads: header names
            # lower-cased, repeated ones joined by commas, a non-text body base64-encoded.
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            text = headers.get("content-type", "").startswith(TEXT_TYPES)
            path, _, query = self.path.partition("?")
            event = {
                "version": "2.0",
                "rawPath": path,
                "rawQueryString": query,
                "headers": headers,
                "requestContext": {"http": {"method": "POST", "path": path, "sourceIp": self.client_address[0]}},
                "body": body.decode() if text else base64.b64encode(body).decode(),
                "isBase64Encoded": not text,
            }
            requests.append(event)
            answer = handle(event, front)
            payload = str(answer.get("body") or "").encode()
            self.send_response(answer["statusCode"])
            for name, value in (answer.get("headers") or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running(root: Path, secret_env: str = "FS_TEST_INGEST_SECRET") -> Iterator[IngestServer]:
    """A front whose state, inbox and replay markers live under `root`, serving /ingest with the secret read from
    the environment variable `secret_env`."""
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    cfg = parse_config(
        f"state: {root / 'state.json'}\ninbox: {inbox}\nretire_after_days: null\n"
        f"http: {{ingest_secret: {{env: {secret_env}}}}}\n",
        source="test-config",
    )
    front = front_for(cfg)
    requests: list[dict[str, Any]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(front, requests))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield IngestServer(f"http://127.0.0.1:{server.server_address[1]}", front, inbox, requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
