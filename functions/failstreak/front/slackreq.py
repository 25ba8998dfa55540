"""What Slack sends the front: signed form posts (docs/http.md, "Slack"). Pure but for the signature's clock.

Slack signs each request with the app's signing secret: `X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:<timestamp>:<body>">` and `X-Slack-Request-Timestamp: <unix seconds>`
(https://docs.slack.dev/authentication/verifying-requests-from-slack/), checked here with slack-sdk's own
`SignatureVerifier`, which also refuses a timestamp more than 5 minutes away from the front's clock.

- Interactivity (`/slack/actions`): the form field `payload` holds a JSON `block_actions` payload
  (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload): `user`, `container`
  (`channel_id`, `message_ts`, `thread_ts`), `message` (with its `blocks`), `response_url`, `actions`.
- Slash commands (`/slack/commands`): the form fields `command`, `text`, `user_id`, `user_name`, `channel_id`,
  `response_url`... (https://docs.slack.dev/interactivity/implementing-slash-commands/#app_command_handling).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from slack_sdk.signature import Clock, SignatureVerifier

from failstreak.front.http import HttpError, Request
from failstreak.notifiers.slack_render import escape

# What Slack's ids look like; anything else from a payload is not put into a mention.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_TS = re.compile(r"\d{1,12}\.\d{1,9}")
_CHANNEL = re.compile(r"[CDG][A-Z0-9]{2,20}")


class _FrontClock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def check_slack(secret: str, request: Request, now: Callable[[], float]) -> str:
    """The request's signature when Slack signed it within the last 5 minutes; HttpError(401) otherwise."""
    timestamp = request.header("x-slack-request-timestamp")
    signature = request.header("x-slack-signature")
    if timestamp is None or signature is None:
        raise HttpError(401, "missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise HttpError(401, "X-Slack-Request-Timestamp is not unix seconds")
    verifier = SignatureVerifier(secret, clock=_FrontClock(now))
    if abs(now() - int(timestamp)) > 300:
        raise HttpError(401, "stale request: X-Slack-Request-Timestamp is more than 5 minutes away")
    if not verifier.is_valid(request.body, timestamp, signature):
        raise HttpError(401, "wrong signature")
    return signature


def form(body: bytes) -> dict[str, str]:
    """A form-encoded body's fields (the last of a repeated one); 400 when it is not one."""
    try:
        text = body.decode("utf-8")
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "the body is not a form (application/x-www-form-urlencoded)") from None
    return dict(pairs)


@dataclass(frozen=True, slots=True)
class Person:
    """Who clicked or typed: Slack's member id and the name to show."""

    id: str
    name: str

    def mention(self) -> str:
        """`<@U…>` (Slack shows the person's current name); the escaped name when the id is not a member id."""
        if _USER_ID.fullmatch(self.id):
            return f"<@{self.id}>"
        return escape(self.name or "someone")


@dataclass(frozen=True, slots=True)
class Click:
    """One action of a `block_actions` payload: what was chosen, by whom, on which message."""

    person: Person
    action_id: str
    block_id: str
    value: str
    action_ts: str
    channel: str | None
    message_ts: str | None
    thread_ts: str | None
    response_url: str | None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def thread(self) -> tuple[str, str] | None:
        """(channel id, ts) of the thread the job's follow-ups go to: the message's own thread when it is a reply."""
        if self.channel is None:
            return None
        ts = self.thread_ts or self.message_ts
        return (self.channel, ts) if ts is not None else None


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) and value else None


def _matching(value: str | None, shape: re.Pattern[str]) -> str | None:
    return value if value is not None and shape.fullmatch(value) else None


def _dict(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _chosen(action: Mapping[str, Any]) -> str | None:
    """A button's `value`, or the `value` of the option chosen in an overflow menu."""
    if isinstance(action.get("selected_option"), dict):
        return _text(action["selected_option"], "value")
    return _text(action, "value")


def _block_actions(fields: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's `block_actions` payload and its first action; 400 for anything else."""
    raw = fields.get("payload")
    if raw is None:
        raise HttpError(400, "no payload field in the form")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HttpError(400, "the payload field is not JSON") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise HttpError(400, "not a block_actions payload")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise HttpError(400, "block_actions: no actions in the payload")
    return payload, actions[0]


def parse_click(fields: Mapping[str, str]) -> Click:
    """The first action of the form's `payload` (a `block_actions` payload); 400 for anything else."""
    payload, action = _block_actions(fields)
    user = _dict(payload, "user")
    value = _chosen(action)
    if value is None or _text(user, "id") is None:
        raise HttpError(400, "block_actions: the action has no value, or the payload no user")
    channel, message_ts, thread_ts = _place(payload)
    message = _dict(payload, "message")
    blocks = message.get("blocks")
    return Click(
        person=Person(str(user["id"]), _text(user, "username") or _text(user, "name") or ""),
        action_id=_text(action, "action_id") or "",
        block_id=_text(action, "block_id") or "",
        value=value,
        action_ts=_text(action, "action_ts") or "",
        channel=channel,
        message_ts=message_ts,
        thread_ts=thread_ts,
        response_url=_text(payload, "response_url"),
        text=_text(message, "text") or "",
        blocks=[b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else [],
    )


def _place(payload: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The clicked message's channel id, ts and thread ts, each only when it has Slack's shape."""
    container, message = _dict(payload, "container"), _dict(payload, "message")
    channel = _text(container, "channel_id") or _text(_dict(payload, "channel"), "id")
    return (
        _matching(channel, _CHANNEL),
        _matching(_text(container, "message_ts") or _text(message, "ts"), _TS),
        _matching(_text(container, "thread_ts") or _text(message, "thread_ts"), _TS),
    )


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command: `/failstreak <verb> <args…>` typed by `person`."""

    person: Person
    command: str
    verb: str
    args: tuple[str, ...]
    response_url: str | None


def parse_command(fields: Mapping[str, str]) -> Command:
    """The slash command a form carries; 400 without a user."""
    user_id = fields.get("user_id")
    if not user_id:
        raise HttpError(400, "slash command: no user_id in the form")
    words = fields.get("text", "").split()
    return Command(
        person=Person(user_id, fields.get("user_name", "")),
        command=fields.get("command") or "/failstreak",
        verb=words[0].lower() if words else "help",
        args=tuple(words[1:]),
        response_url=fields.get("response_url") or None,
    )
