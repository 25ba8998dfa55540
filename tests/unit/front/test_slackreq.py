"""What Slack sends the front (front/slackreq.py): signatures checked with slack-sdk, payloads and commands read."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from slack_sdk.signature import SignatureVerifier

from failstreak.front.http import HttpError, Request
from failstreak.front.slackreq import Person, check_slack, form, parse_click, parse_command

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_790_000_000


def _request(body: bytes, stamp: str | None, signature: str | None) -> Request:
    headers = {}
    if stamp is not None:
        headers["x-slack-request-timestamp"] = stamp
    if signature is not None:
        headers["x-slack-signature"] = signature
    return Request("POST", "/slack/actions", headers, body)


def _sign(body: bytes, stamp: int, secret: str = SECRET) -> str:
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(stamp), body=body)
    assert signature is not None
    return signature


def test_a_request_slack_signed_within_five_minutes_is_accepted_and_its_signature_returned() -> None:
    # Given a body signed 299 seconds before the front's clock
    body = b"payload=%7B%7D"
    signature = _sign(body, NOW - 299)
    # When checked; Then it is accepted and the signature is given back (for the replay claim)
    assert check_slack(SECRET, _request(body, str(NOW - 299), signature), lambda: NOW) == signature


@pytest.mark.parametrize(
    ("stamp", "signature", "reason"),
    [
        (None, "v0=00", "missing X-Slack-Request-Timestamp or X-Slack-Signature"),
        (str(NOW), None, "missing X-Slack-Request-Timestamp or X-Slack-Signature"),
        ("soon", "v0=00", "X-Slack-Request-Timestamp is not unix seconds"),
        (str(NOW - 301), "SIGNED", "stale request: X-Slack-Request-Timestamp is more than 5 minutes away"),
        (str(NOW + 301), "SIGNED", "stale request: X-Slack-Request-Timestamp is more than 5 minutes away"),
        (str(NOW), "v0=" + "0" * 64, "wrong signature"),
    ],
)
def test_a_request_not_signed_by_slack_now_is_refused_with_401(
    stamp: str | None, signature: str | None, reason: str
) -> None:
    # Given a request missing a header, stale, or wrongly signed
    body = b"payload=%7B%7D"
    if signature == "SIGNED":
        signature = _sign(body, int(stamp or 0))
    # When checked; Then 401 with the reason
    with pytest.raises(HttpError) as e:
        check_slack(SECRET, _request(body, stamp, signature), lambda: NOW)
    assert (e.value.status, e.value.reason) == (401, reason)


def test_a_body_signed_with_another_secret_is_refused() -> None:
    # Given a body signed with another app's secret; When checked; Then 401
    body = b"payload=%7B%7D"
    with pytest.raises(HttpError) as e:
        check_slack(SECRET, _request(body, str(NOW), _sign(body, NOW, "another-secret")), lambda: NOW)
    assert e.value.status == 401


def _click_form(payload: object) -> dict[str, str]:
    return form(urllib.parse.urlencode({"payload": json.dumps(payload)}).encode())


def test_a_button_click_is_read_with_its_person_message_and_thread() -> None:
    # Given a block_actions payload of a button click in a thread reply
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ALICE01", "username": "alice", "name": "alice", "team_id": "T1"},
        "container": {
            "type": "message",
            "message_ts": "1700000002.000100",
            "channel_id": "C0CI",
            "thread_ts": "1700000001.000100",
        },
        "channel": {"id": "C0CI", "name": "ci"},
        "message": {"ts": "1700000002.000100", "text": "fallback", "blocks": [{"type": "divider"}]},
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
        "actions": [
            {
                "type": "button",
                "action_id": "fs-ack-0",
                "block_id": "fs-act-0",
                "value": "ack|ci/build",
                "action_ts": "1700000003.1",
            }
        ],
    }
    # When read
    click = parse_click(_click_form(payload))
    # Then the value, the person, the thread (the parent, not the reply) and the message are known
    assert click.value == "ack|ci/build"
    assert click.person == Person("U0ALICE01", "alice")
    assert click.thread == ("C0CI", "1700000001.000100")
    assert click.blocks == [{"type": "divider"}]
    assert click.text == "fallback"


def test_an_overflow_choice_is_read_from_its_selected_option() -> None:
    # Given an overflow menu's action; When read; Then the chosen option's value is the click's value
    payload = {
        "type": "block_actions",
        "user": {"id": "U1X"},
        "actions": [
            {
                "type": "overflow",
                "action_id": "fs-menu-3",
                "block_id": "fs-job-3",
                "selected_option": {"value": "unmute|a"},
            }
        ],
    }
    assert parse_click(_click_form(payload)).value == "unmute|a"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"payload": "not json"},
        {"payload": json.dumps({"type": "view_submission"})},
        {"payload": json.dumps({"type": "block_actions", "user": {"id": "U1X"}, "actions": []})},
        {"payload": json.dumps({"type": "block_actions", "actions": [{"value": "ack|x"}]})},
    ],
)
def test_a_payload_that_is_not_a_click_is_400(fields: dict[str, str]) -> None:
    # Given a form without a block_actions payload of one action with a value and a user; Then 400
    with pytest.raises(HttpError) as e:
        parse_click(fields)
    assert e.value.status == 400


def test_a_person_whose_id_is_not_a_member_id_is_named_escaped_not_mentioned() -> None:
    # Given a user id that is not Slack's shape and a name holding mrkdwn; Then the name is shown escaped
    assert Person("<!channel>", "<b>&").mention() == "&lt;b&gt;&amp;"
    assert Person("U0ALICE01", "x").mention() == "<@U0ALICE01>"


def test_a_slash_command_is_read_into_its_verb_and_words() -> None:
    # Given the form of `/failstreak Mute nightly-* 4h`
    fields = {"user_id": "U0ALICE01", "user_name": "alice", "command": "/failstreak", "text": "Mute  nightly-*  4h"}
    # When read; Then the verb is lower-cased and the words kept as typed
    cmd = parse_command(fields)
    assert (cmd.verb, cmd.args, cmd.person.id) == ("mute", ("nightly-*", "4h"), "U0ALICE01")
    assert parse_command({"user_id": "U0ALICE01"}).verb == "help"


def test_a_command_without_a_user_is_400() -> None:
    with pytest.raises(HttpError) as e:
        parse_command({"text": "status"})
    assert e.value.status == 400


def test_a_body_that_is_not_a_form_is_400() -> None:
    with pytest.raises(HttpError) as e:
        form(b"\xff\xfe")
    assert e.value.status == 400
