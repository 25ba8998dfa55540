"""A local HTTP server that speaks enough of Slack's Web API for the notifier, on a free loopback port.

Implements `chat.postMessage`, `chat.update`, `chat.delete`, `auth.test`, `usergroups.users.list`, response URLs
and an incoming-webhook endpoint
(`/hooks/...`). Every request is recorded (method, body, auth header) for assertions; bodies are JSON or
form-encoded, as slack-sdk sends them. Channels are named `#name` or by id `C…`; a message's `ts` increases per
post. Failures can be scripted per method, in order: `fail("chat.postMessage", status=429, retry_after=0)`,
`fail(..., status=500)`, `fail(..., error="channel_not_found")`; or `down()` makes every request answer 503
until `up()`. Unknown channels (see `known_channels`) answer `channel_not_found`.
`lose_answer("chat.postMessage")` makes the next call of a method be carried out (the message is posted) and
its connection then reset before any answer is sent: the answer is lost, as when a proxy or the network drops
it after Slack did the work.

`usergroups.users.list` answers the members of the groups set with `usergroup(id, members)` (shape:
https://docs.slack.dev/reference/methods/usergroups.users.list, `{"ok": true, "users": [...]}`; an unknown group
answers `no_such_subteam`). `response_url(channel_id, ts)` is an interaction's response URL for a posted message,
as Slack hands one out with each click (https://docs.slack.dev/interactivity/handling-user-interaction/
#message_responses): a body with `replace_original: true` replaces that message's text and blocks, an ephemeral
one is kept apart (`ephemerals()`). `stall(method)` holds the answers of `method` (or of the response URLs:
`stall("respond")`) until `release()` or the server stops, as a Slack that does not answer in time.

Threads are checked as Slack checks them: a `chat.postMessage` whose `thread_ts` names no message of that
channel, or one that was deleted (`delete(channel_id, ts)`), answers `cannot_reply_to_message`, the error Slack
documents for a message that cannot take thread replies (https://docs.slack.dev/reference/methods/chat.postMessage,
"Errors"); `chat.update` of such a message answers `message_not_found`, as documented for chat.update
(https://docs.slack.dev/reference/methods/chat.update).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    path: str
    body: dict[str, Any]
    auth: str | None

    @property
    def method(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class Failure:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None


@dataclass
class SlackState:
    requests: list[Request] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    deleted: set[tuple[str, str]] = field(default_factory=set)
    posts: list[dict[str, Any]] = field(default_factory=list)
    webhook_posts: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    stalled: set[str] = field(default_factory=set)
    unstall: threading.Event = field(default_factory=threading.Event)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    known_channels: set[str] | None = None
    lost_answers: dict[str, int] = field(default_factory=dict)
    is_down: bool = False
    next_ts: int = 1_700_000_000
    token: str = "xoxb-test-token"
    lock: threading.Lock = field(default_factory=threading.Lock)


class SlackServer:
    def __init__(self) -> None:
        self.state = SlackState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, status: int, payload: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
                if getattr(self, "lose", False):
                    # Reset the connection (RST, not FIN) once the work is done: the client gets no answer.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if isinstance(payload, dict) else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _stall(self, method: str) -> None:
                with state.lock:
                    stalled = method in state.stalled
                if stalled:
                    state.unstall.wait(timeout=30)

            def do_POST(self) -> None:
                self._stall("respond" if self.path.startswith("/respond/") else self.path.rsplit("/", 1)[-1])
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    body: dict[str, Any] = dict(urllib.parse.parse_qsl(raw))
                else:
                    body = json.loads(raw) if raw else {}
                with state.lock:
                    req = Request(self.path, body, self.headers.get("Authorization"))
                    state.requests.append(req)
                    self.lose = state.lost_answers.get(req.method, 0) > 0
                    if self.lose:
                        state.lost_answers[req.method] -= 1
                    if state.is_down:
                        self._reply(503, "upstream connect error")
                        return
                    queue = state.failures.get(req.method) or state.failures.get(self.path)
                    if queue:
                        f = queue.pop(0)
                        if f.status != 200:
                            headers = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else None
                            payload: dict[str, Any] | str = (
                                {"ok": False, "error": f.error or "ratelimited"}
                                if f.status == 429
                                else (f.error or "upstream error")
                            )
                            self._reply(f.status, payload, headers)
                        else:
                            self._reply(200, {"ok": False, "error": f.error})
                        return
                    if self.path.startswith("/hooks/"):
                        state.webhook_posts.append(body)
                        self._reply(200, "ok")
                        return
                    if self.path.startswith("/respond/"):
                        self._respond(body)
                        return
                    if req.auth != f"Bearer {state.token}":
                        self._reply(200, {"ok": False, "error": "invalid_auth"})
                        return
                    if req.method == "chat.postMessage":
                        self._post(body)
                    elif req.method == "chat.update":
                        self._update(body)
                    elif req.method == "auth.test":
                        # Shape from https://api.slack.com/methods/auth.test (example response, bot token).
                        self._reply(
                            200,
                            {
                                "ok": True,
                                "url": "https://example-workspace.slack.com/",
                                "team": "Example Workspace",
                                "user": "failstreak",
                                "team_id": "T12345678",
                                "user_id": "U12345678",
                                "bot_id": "B12345678",
                                "is_enterprise_install": False,
                            },
                        )
                    elif req.method == "chat.delete":
                        self._delete(body)
                    elif req.method == "usergroups.users.list":
                        members = state.usergroups.get(str(body.get("usergroup")))
                        if members is None:
                            self._reply(200, {"ok": False, "error": "no_such_subteam"})
                        else:
                            self._reply(200, {"ok": True, "users": members})
                    else:
                        self._reply(200, {"ok": False, "error": "unknown_method"})

            def _channel_id(self, channel: str) -> str | None:
                name = channel.lstrip("#")
                if channel.startswith("C"):
                    return channel
                if state.known_channels is not None and channel not in state.known_channels:
                    return None
                return "C" + name.upper().replace("-", "_")

            def _post(self, body: dict[str, Any]) -> None:
                channel = self._channel_id(str(body.get("channel", "")))
                if channel is None:
                    self._reply(200, {"ok": False, "error": "channel_not_found"})
                    return
                thread = body.get("thread_ts")
                if thread is not None and (channel, str(thread)) not in state.messages:
                    self._reply(200, {"ok": False, "error": "cannot_reply_to_message"})
                    return
                state.next_ts += 1
                ts = f"{state.next_ts}.000100"
                state.messages[(channel, ts)] = body
                state.posts.append({**body, "channel_id": channel, "ts": ts})
                self._reply(200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text")}})

            def _update(self, body: dict[str, Any]) -> None:
                key = (str(body.get("channel")), str(body.get("ts")))
                if key not in state.messages:
                    self._reply(200, {"ok": False, "error": "message_not_found"})
                    return
                state.messages[key] = {**state.messages[key], **body}
                for post in state.posts:
                    if (post["channel_id"], post["ts"]) == key:
                        post.update({k: v for k, v in body.items() if k not in ("channel", "ts")})
                self._reply(200, {"ok": True, "channel": key[0], "ts": key[1]})

            def _respond(self, body: dict[str, Any]) -> None:
                _, _, channel, ts = self.path.split("/", 3)
                state.responses.append({**body, "channel_id": channel, "ts": ts})
                if body.get("response_type") == "ephemeral" or not body.get("replace_original"):
                    state.ephemerals.append(body)
                elif (channel, ts) in state.messages:
                    change = {k: body[k] for k in ("text", "blocks") if k in body}
                    state.messages[(channel, ts)] = {**state.messages[(channel, ts)], **change}
                    for post in state.posts:
                        if (post["channel_id"], post["ts"]) == (channel, ts):
                            post.update(change)
                else:
                    self._reply(404, "expired_url")
                    return
                self._reply(200, "ok")

            def _delete(self, body: dict[str, Any]) -> None:
                key = (str(body.get("channel")), str(body.get("ts")))
                if state.messages.pop(key, None) is None:
                    self._reply(200, {"ok": False, "error": "message_not_found"})
                    return
                state.deleted.add(key)
                state.posts[:] = [p for p in state.posts if (p["channel_id"], p["ts"]) != key]
                self._reply(200, {"ok": True, "channel": key[0], "ts": key[1]})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    @property
    def webhook_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/T000/B000/XXXX"

    def response_url(self, channel_id: str, ts: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/respond/{channel_id}/{ts}"

    def start(self) -> SlackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- scripting ---------------------------------------------------------------------------------------

    def fail(self, method: str, *, status: int = 200, error: str | None = None, retry_after: int | None = None) -> None:
        """Make the next call of `method` fail this way (queue several to fail several calls)."""
        with self.state.lock:
            self.state.failures.setdefault(method, []).append(Failure(status, error, retry_after))

    def delete(self, channel_id: str, ts: str) -> None:
        """Delete a message, as a user can: it takes no more replies and can no longer be updated."""
        with self.state.lock:
            self.state.messages.pop((channel_id, ts))
            self.state.deleted.add((channel_id, ts))

    def lose_answer(self, method: str, times: int = 1) -> None:
        """Carry out the next `times` calls of `method`, then reset each connection without answering."""
        with self.state.lock:
            self.state.lost_answers[method] = self.state.lost_answers.get(method, 0) + times

    def usergroup(self, group_id: str, members: list[str]) -> None:
        with self.state.lock:
            self.state.usergroups[group_id] = list(members)

    def stall(self, method: str) -> None:
        """Hold every answer of `method` ("respond": the response URLs) until `release()`."""
        with self.state.lock:
            self.state.stalled.add(method)
            self.state.unstall.clear()

    def release(self) -> None:
        with self.state.lock:
            self.state.stalled.clear()
        self.state.unstall.set()

    def down(self) -> None:
        with self.state.lock:
            self.state.is_down = True

    def up(self) -> None:
        with self.state.lock:
            self.state.is_down = False

    # -- reading back ------------------------------------------------------------------------------------

    def calls(self, method: str) -> list[Request]:
        with self.state.lock:
            return [r for r in self.state.requests if r.method == method]

    def posted(self) -> list[dict[str, Any]]:
        """The messages posted by the chat.postMessage calls that succeeded, in order, as they read now (after
        any chat.update of them), with `channel_id` and `ts` added."""
        with self.state.lock:
            return [dict(p) for p in self.state.posts]

    def hooked(self) -> list[dict[str, Any]]:
        """Bodies posted to the incoming webhook, in order."""
        with self.state.lock:
            return list(self.state.webhook_posts)

    def responded(self) -> list[dict[str, Any]]:
        """Bodies posted to response URLs, in order, with the `channel_id` and `ts` of their message."""
        with self.state.lock:
            return list(self.state.responses)

    def ephemerals(self) -> list[dict[str, Any]]:
        """What was said through response URLs to one person only."""
        with self.state.lock:
            return list(self.state.ephemerals)

    def message(self, channel_id: str, ts: str) -> dict[str, Any]:
        with self.state.lock:
            return self.state.messages[(channel_id, ts)]


@contextmanager
def running() -> Iterator[SlackServer]:
    server = SlackServer().start()
    try:
        yield server
    finally:
        server.stop()
