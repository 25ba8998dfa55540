"""A scripted HTTP server on loopback for the light S3 client's tests: it records every request it receives and
answers each with the next scripted answer (status, headers, body, and an optional delay before answering).

Used where moto and SeaweedFS cannot be made to misbehave on cue (a 503 then a 200, an answer that never comes)
and to capture the exact request the client sent, to sign it again with botocore.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: a client that gave up (a read timeout under test) leaves the answer with no one to take it."""


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang_up: bool = False  # close the connection after answering, without a `Connection: close` header
    declared: int | None = None  # the Content-Length sent, when it is to differ from the body's (then hang up)


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # the request target as sent: path and query, encoded
    headers: dict[str, str]  # lower-case names
    body: bytes
    peer: int  # the client's port: one per connection


class Loopback:
    """`with Loopback([Answer(503), Answer(200)]) as server:` … `server.endpoint`, `server.received`."""

    def __init__(
        self, answers: list[Answer] | None = None, default: Answer | None = None, tls: tuple[Path, Path] | None = None
    ) -> None:
        self.answers: deque[Answer] = deque(answers or [])
        self.default = default or Answer()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        scheme = "http"
        if tls is not None:  # (certificate, key): HTTPS
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.endpoint = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _next(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            return self.answers.popleft() if self.answers else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = outer._next(Received(self.command, self.path, headers, body, self.client_address[1]))
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(answer.declared or len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)
                if answer.hang_up or answer.declared is not None:
                    self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        return Handler

    def __enter__(self) -> Loopback:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
