"""Slack's requests to the front as Slack sends them: form-encoded, signed with the app's signing secret.

- `block_actions`: the payload's shape is Slack's (https://docs.slack.dev/reference/interaction-payloads/
  block_actions-payload) as captured in slackapi/bolt-python tests/scenario_tests/test_block_actions.py: `type`,
  `user` (id, username, name, team_id), `api_app_id`, `token`, `container` (type, message_ts, channel_id,
  is_ephemeral), `trigger_id`, `team`, `channel`, `message` (the full message, its blocks), `response_url`,
  `actions` (action_id, block_id, text, value, type, action_ts; an overflow menu's action carries
  `selected_option` instead of `value`: https://docs.slack.dev/reference/block-kit/block-elements/
  overflow-menu-element). Sent as the form field `payload`.
- slash commands: the form fields of https://docs.slack.dev/interactivity/implementing-slash-commands/
  (token, team_id, team_domain, channel_id, channel_name, user_id, user_name, command, text, api_app_id,
  is_enterprise_install, response_url, trigger_id).
- signatures: `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`, made with slack-sdk's own SignatureVerifier.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

from slack_sdk.signature import SignatureVerifier

from tests.integration.front.samples import url_event

SIGNING_SECRET = "slack-signing-secret-for-tests"


def signed(path: str, body: str, *, secret: str = SIGNING_SECRET, at: float | None = None) -> dict[str, Any]:
    """A Function URL event of Slack's POST of `body` to `path`, signed at `at` (now by default)."""
    stamp = str(int(time.time() if at is None else at))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": signature,
    }
    return url_event(path, body.encode(), headers)


def control(blocks: list[dict[str, Any]], verb: str, job: str) -> dict[str, Any]:
    """The action Slack reports for a click on `verb` of `job` in a message's blocks: a button, or the option of
    an overflow menu (found by its value, so the click is on exactly what was rendered)."""
    for block in blocks:
        elements = list(block.get("elements", [])) if block["type"] == "actions" else []
        elements += [block["accessory"]] if "accessory" in block else []
        for element in elements:
            if element["type"] == "button" and element["value"].split("|", 1) == [verb, job]:
                return {
                    "action_id": element["action_id"],
                    "block_id": block["block_id"],
                    "text": element["text"],
                    "value": element["value"],
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            for option in element.get("options", []):
                if option["value"].startswith(f"{verb}|"):
                    wanted = option["value"].split("|", 1)[1]
                    if wanted == job or wanted.startswith("#"):
                        return {
                            "type": "overflow",
                            "action_id": element["action_id"],
                            "block_id": block["block_id"],
                            "selected_option": option,
                            "action_ts": f"{time.time():.6f}",
                        }
    raise AssertionError(f"no {verb} control for {job!r} in the message")


def block_actions(
    message: dict[str, Any],
    action: dict[str, Any],
    *,
    response_url: str,
    user_id: str = "U0ALICE01",
    username: str = "alice",
) -> dict[str, Any]:
    """The payload of a click on `action` in `message` (as the local Slack server holds it: channel_id, ts,
    text, blocks)."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": username, "name": username, "team_id": "T0EXAMPLE"},
        "api_app_id": "A0FAILSTRK",
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": message["channel_id"],
            "is_ephemeral": False,
        },
        "trigger_id": "1388105719492.1379717998065.9bc163894734c1f415a2c504e81dec91",
        "team": {"id": "T0EXAMPLE", "domain": "example-workspace"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": message["channel_id"], "name": "ci"},
        "message": {
            "bot_id": "B12345678",
            "type": "message",
            "text": message.get("text", ""),
            "user": "U12345678",
            "ts": message["ts"],
            "team": "T0EXAMPLE",
            "blocks": message.get("blocks", []),
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def actions_body(payload: dict[str, Any]) -> str:
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def command_body(text: str, *, user_id: str = "U0ALICE01", user_name: str = "alice", response_url: str = "") -> str:
    return urllib.parse.urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": "T0EXAMPLE",
            "team_domain": "example",
            "enterprise_id": "E0001",
            "enterprise_name": "Globular Construct Inc",
            "channel_id": "C0CI",
            "channel_name": "ci",
            "user_id": user_id,
            "user_name": user_name,
            "command": "/failstreak",
            "text": text,
            "api_app_id": "A0FAILSTRK",
            "is_enterprise_install": "false",
            "response_url": response_url or "https://hooks.slack.com/commands/1234/5678",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )
