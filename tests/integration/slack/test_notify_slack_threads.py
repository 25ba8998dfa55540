"""Threads against a Slack server that checks them: a reply to a deleted original, and to a message that never was.

The local server answers as Slack documents (tests/integration/slack_server.py): `cannot_reply_to_message` for a
`chat.postMessage` whose `thread_ts` names no live message of the channel, `message_not_found` for a
`chat.update` of one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from failstreak.core.model import Event
from failstreak.notifiers.slack import SlackNotifier
from tests.integration.slack.test_notify_slack import bot, deliver, note
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


def _announce(slack: SlackServer, notifier: SlackNotifier, job: str) -> tuple[str, str]:
    """Post `job`'s triggered digest; return its (channel id, ts) and check the notifier's thread ref for it."""
    [result] = notifier.send("#ci", deliver(note(job)))
    assert result.delivered
    posted = slack.posted()[-1]
    assert result.ref == f"{posted['channel_id']}|{posted['ts']}"
    return posted["channel_id"], posted["ts"]


def test_a_reminder_for_a_deleted_original_is_posted_at_the_top_level(slack: SlackServer) -> None:
    # Given a job announced in #ci, whose message someone then deleted
    notifier = bot(slack)
    channel, ts = _announce(slack, notifier, "a")
    slack.delete(channel, ts)

    # When its reminder is sent into that thread
    [result] = notifier.send("#ci", deliver(note("a", Event.REMINDER), thread=f"{channel}|{ts}"))

    # Then Slack refuses the reply (cannot_reply_to_message), and the reminder goes out as a top-level message
    assert [c.body.get("thread_ts") for c in slack.calls("chat.postMessage")][-2:] == [ts, None]
    assert result.delivered
    assert "thread_ts" not in slack.posted()[-1]


def test_a_fix_for_a_deleted_original_is_posted_at_the_top_level_and_the_rewrite_is_skipped(
    slack: SlackServer,
) -> None:
    # Given a job announced in #ci, whose message was deleted
    notifier = bot(slack)
    channel, ts = _announce(slack, notifier, "a")
    slack.delete(channel, ts)

    # When its fix is sent
    [result] = notifier.send("#ci", deliver(note("a", Event.RESOLVED), thread=f"{channel}|{ts}"))

    # Then the fix is delivered at the top level, and no update of the deleted original succeeded
    assert result.delivered
    assert "thread_ts" not in slack.posted()[-1]
    assert (channel, ts) not in slack.state.messages


def test_the_server_refuses_a_reply_to_a_message_that_never_existed(slack: SlackServer) -> None:
    # Given a thread ref naming a ts the channel never had
    notifier = bot(slack)
    _announce(slack, notifier, "a")

    # When a reminder is sent into it, then it still reaches the channel, at the top level
    [result] = notifier.send("#ci", deliver(note("a", Event.REMINDER), thread="CCI|1.000001"))
    assert result.delivered
    assert [c.body.get("thread_ts") for c in slack.calls("chat.postMessage")][-2:] == ["1.000001", None]
