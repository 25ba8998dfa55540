"""Slack did the work but its answer was lost: what can be repeated (docs/notifications.md, "Sent twice?").

Slack's chat.postMessage has no idempotency key (slackapi/slack-api-specs#10, open since 2018: "Prevent
duplicate messages by offering an optional post ID field"), so a post whose answer is lost can only be posted
again or given up. The notifier posts each message as its header and then fills it in with chat.update, which
is idempotent: a lost answer repeats at most a header line, never a job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from failstreak.core.model import Event
from tests.integration.slack.test_notify_slack import bot, deliver, note
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration

JOBS = [f"job-{i:02d}" for i in range(17)]  # two messages: 15 jobs and 2


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


def _jobs_shown(post: dict[str, Any]) -> list[str]:
    sections = [b["text"]["text"] for b in post["blocks"] if b["type"] == "section"]
    return [text.split("*")[1] for text in sections]


def _shown(slack: SlackServer) -> Counter[str]:
    """How many times each job is shown in the channel's messages as they read now."""
    return Counter(job for post in slack.posted() for job in _jobs_shown(post))


def _headers_only(slack: SlackServer) -> list[str]:
    return [p["text"] for p in slack.posted() if not _jobs_shown(p)]


def test_a_lost_answer_to_a_post_repeats_one_header_line_never_the_jobs(slack: SlackServer) -> None:
    # Given Slack posts the first message of a 17-job alert and its answer is lost (connection reset)
    slack.lose_answer("chat.postMessage")
    # When the notifier sends the alert
    results = bot(slack).send("#ci", deliver(*(note(job) for job in JOBS)))
    # Then every job is delivered and shown exactly once in the channel
    assert all(r.delivered for r in results)
    assert _shown(slack) == Counter(JOBS)
    # And what the lost answer repeated is one header line without any job
    assert _headers_only(slack) == ["🔴 failstreak: 17 jobs failing (part 1 of 2)"]


def test_a_lost_answer_to_the_filling_in_repeats_nothing(slack: SlackServer) -> None:
    # Given Slack fills in a message (chat.update) and its answer is lost
    slack.lose_answer("chat.update")
    # When the notifier sends the alert
    results = bot(slack).send("#ci", deliver(*(note(job) for job in JOBS)))
    # Then the update is retried (it is idempotent): each job shown once, and no extra message at all
    assert all(r.delivered for r in results)
    assert _shown(slack) == Counter(JOBS)
    assert len(slack.posted()) == 2


def test_answers_lost_until_the_next_pass_leave_each_job_shown_once(slack: SlackServer) -> None:
    # Given a post whose answer is lost twice (the call and its retry), so the pass gives up on the channel
    slack.lose_answer("chat.postMessage", times=2)
    first = bot(slack).send("#ci", deliver(*(note(job) for job in JOBS)))
    assert not any(r.delivered for r in first)
    assert all(r.retryable for r in first)
    # When the next pass sends the pending notifications again
    second = bot(slack).send("#ci", deliver(*(note(job) for job in JOBS)))
    # Then each job is shown exactly once; the lost answers left two header lines, nothing more
    assert all(r.delivered for r in second)
    assert _shown(slack) == Counter(JOBS)
    assert len(_headers_only(slack)) == 2


def test_a_thread_reply_whose_answer_is_lost_is_not_repeated_either(slack: SlackServer) -> None:
    # Given a job announced in a message, then a reminder whose post answer is lost
    notifier = bot(slack)
    [announced] = notifier.send("#ci", deliver(note("a")))
    slack.lose_answer("chat.postMessage")
    # When the reminder is sent into the thread
    [reminded] = bot(slack).send("#ci", deliver(note("a", Event.REMINDER), thread=announced.ref))
    # Then the reminder reads once in the thread; the lost answer left one header line there
    assert reminded.delivered
    replies = [p for p in slack.posted() if p.get("thread_ts")]
    assert [len(_jobs_shown(p)) for p in replies] == [0, 1]


def test_a_message_slack_refuses_to_fill_in_leaves_no_header_behind(slack: SlackServer) -> None:
    # Given Slack posts the header but refuses the whole message (its blocks)
    slack.fail("chat.update", error="invalid_blocks")
    # When the notifier sends an alert
    [result] = bot(slack).send("#ci", deliver(note("a")))
    # Then the delivery fails for good, saying why, and the header was taken back: the channel shows nothing
    assert not result.delivered
    assert not result.retryable
    assert "invalid_blocks" in (result.error or "")
    assert len(slack.calls("chat.delete")) == 1
    assert slack.posted() == []
