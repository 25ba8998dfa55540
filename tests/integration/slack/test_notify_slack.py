"""The Slack notifier through the real slack-sdk client against a local Slack Web API server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from failstreak.core.model import Event, Notification, Outcome, RunBrief, Status
from failstreak.core.outbox import Delivery
from failstreak.notifiers.slack import SlackNotifier, retry_handlers
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration

T0 = 1_763_884_800_000


def note(job: str, event: Event = Event.TRIGGERED) -> Notification:
    recent = tuple(
        RunBrief(str(100 + i), Status.FAILED, Outcome.FAILURE, T0 + i, url=f"https://ci.example.com/{job}/{100 + i}")
        for i in range(4)
    )
    return Notification(
        id=f"{event.value}:{T0}:{job}",
        job=job,
        event=event,
        reasons=("consecutive",),
        consecutive_failures=4,
        window_failures=4,
        window_size=4,
        consecutive_threshold=3,
        cumulative_threshold=5,
        window=10,
        created_at=T0,
        since=T0,
        failed_runs=4,
        last_reason="exit code 1",
        recent=recent,
    )


def deliver(*notes: Notification, thread: str | None = None) -> list[Delivery]:
    return [Delivery(f"{n.id}>slack:#ci", n, thread) for n in notes]


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


def bot(server: SlackServer, timeout: int = 5) -> SlackNotifier:
    client = WebClient(
        token="xoxb-test-token", base_url=server.base_url, timeout=timeout, retry_handlers=retry_handlers()
    )
    return SlackNotifier(client=client)


def test_a_pass_of_triggered_jobs_is_one_digest_message_and_each_job_gets_its_ref(slack: SlackServer) -> None:
    # Given three jobs that started failing in this pass
    deliveries = deliver(note("a"), note("b"), note("c"))
    # When sent to one channel
    results = bot(slack).send("#ci", deliveries)
    # Then one chat.postMessage holds all three, and every delivery carries CHANNEL_ID|TS of that message
    [post] = slack.posted()
    assert post["channel"] == "#ci"
    assert "3 jobs failing" in post["text"]
    assert all(r.delivered for r in results)
    assert {r.ref for r in results} == {f"{post['channel_id']}|{post['ts']}"}
    assert post["unfurl_links"] is False


def test_reminder_and_resolved_reply_in_the_thread_and_resolved_rewrites_the_original(slack: SlackServer) -> None:
    # Given a digest announcing a and b
    notifier = bot(slack)
    [first, _] = notifier.send("#ci", deliver(note("a"), note("b")))
    ref = first.ref
    assert ref is not None
    channel_id, ts = ref.split("|")
    # When a is fixed (b still failing) in a later pass
    resolved = note("a", Event.RESOLVED)
    [result] = notifier.send("#ci", [Delivery("x", resolved, ref, (("a", False), ("b", True)))])
    # Then the fix is a reply in the original thread
    assert result.delivered
    reply = slack.posted()[-1]
    assert reply["thread_ts"] == ts
    assert reply["channel"] == channel_id
    assert "1 job fixed" in reply["text"]
    # And the original message (filled in when posted) is rewritten: it now shows a fixed and b still failing
    updates = [c.body for c in slack.calls("chat.update") if c.body["ts"] == ts]
    assert len(updates) == 2
    assert updates[-1]["channel"] == channel_id
    original = slack.message(channel_id, ts)
    assert "1 of 2 jobs still failing" in original["text"]
    assert "~a~" in original["blocks"][1]["text"]["text"]


def test_a_reminder_is_a_thread_reply_without_touching_the_original(slack: SlackServer) -> None:
    notifier = bot(slack)
    [first] = notifier.send("#ci", deliver(note("a")))
    [result] = notifier.send("#ci", deliver(note("a", Event.REMINDER), thread=first.ref))
    assert result.delivered
    assert slack.posted()[-1]["thread_ts"] == first.ref.split("|")[1]  # type: ignore[union-attr]
    assert "still failing" in slack.posted()[-1]["text"]
    # (each message is filled in once, when posted; the original is not touched again)
    assert [c.body["ts"] for c in slack.calls("chat.update")] == [p["ts"] for p in slack.posted()]


def test_a_triggered_and_its_resolved_delivered_in_the_same_pass_are_threaded(slack: SlackServer) -> None:
    # Given Slack was down when a triggered went out, and the job was fixed before the retry
    deliveries = [*deliver(note("a")), Delivery("r", note("a", Event.RESOLVED), None)]
    # When both are sent in one pass
    results = bot(slack).send("#ci", deliveries)
    # Then the fix replies in the thread of the message just posted
    assert [r.delivered for r in results] == [True, True]
    first, reply = slack.posted()
    assert reply["thread_ts"] == first["ts"]


def test_a_fix_for_a_job_announced_in_the_same_send_keeps_its_siblings_in_the_original(slack: SlackServer) -> None:
    # Given Slack was down while a and b started failing, and a was fixed before the retry
    deliveries = [*deliver(note("a"), note("b")), Delivery("r", note("a", Event.RESOLVED), None)]
    # When all three are sent in one pass
    results = bot(slack).send("#ci", deliveries)
    # Then the original message, rewritten, still shows b failing next to a fixed
    assert all(r.delivered for r in results)
    first = slack.posted()[0]
    original = slack.message(first["channel_id"], first["ts"])
    assert "1 of 2 jobs still failing" in original["text"]
    assert "🔴 *b* — still failing" in original["text"]


def test_rate_limited_once_is_retried_after_retry_after_and_delivered(slack: SlackServer) -> None:
    # Given Slack answers 429 with Retry-After: 0 once
    slack.fail("chat.postMessage", status=429, retry_after=0)
    # When a digest is sent
    [result] = bot(slack).send("#ci", deliver(note("a")))
    # Then slack-sdk's rate-limit handler retried and the message went out once
    assert result.delivered
    assert len(slack.calls("chat.postMessage")) == 2
    assert len(slack.posted()) == 1


def test_still_rate_limited_after_the_retries_stays_pending(slack: SlackServer) -> None:
    for _ in range(3):
        slack.fail("chat.postMessage", status=429, retry_after=0)
    [result] = bot(slack).send("#ci", deliver(note("a")))
    assert not result.delivered
    assert result.retryable
    assert "ratelimited" in (result.error or "")


def test_a_long_retry_after_is_not_slept_through_inside_the_pass(slack: SlackServer) -> None:
    # Given Slack asks to wait an hour
    slack.fail("chat.postMessage", status=429, retry_after=3600)
    started = time.monotonic()
    [result] = bot(slack).send("#ci", deliver(note("a")))
    # Then the pass does not wait: the delivery is left for the next pass
    assert time.monotonic() - started < 5
    assert not result.delivered
    assert result.retryable
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_server_error_is_retryable_and_the_rest_of_the_pass_fails_fast(slack: SlackServer) -> None:
    # Given Slack answers 500 to the first call
    slack.fail("chat.postMessage", status=500)
    notifier = bot(slack)
    # When two channels are sent to in the same pass
    [first] = notifier.send("#ci", deliver(note("a")))
    [second] = notifier.send("#other", deliver(note("b")))
    # Then both stay pending, and the second channel was not even tried
    assert not first.delivered
    assert first.retryable
    assert "HTTP 500" in (first.error or "")
    assert not second.delivered
    assert second.retryable
    assert len(slack.calls("chat.postMessage")) == 1


def test_an_unknown_channel_is_a_permanent_failure(slack: SlackServer) -> None:
    slack.state.known_channels = {"#ci"}
    [result] = bot(slack).send("#nope", deliver(note("a")))
    assert not result.delivered
    assert not result.retryable
    assert result.error is not None
    assert result.error.startswith("slack #nope: channel_not_found")


def test_a_bad_token_is_a_permanent_failure_and_the_token_is_never_in_the_error(slack: SlackServer) -> None:
    client = WebClient(token="xoxb-wrong-secret", base_url=slack.base_url, timeout=5)
    [result] = SlackNotifier(client=client).send("#ci", deliver(note("a")))
    assert not result.delivered
    assert not result.retryable
    assert "invalid_auth" in (result.error or "")
    assert "xoxb" not in (result.error or "")


def test_a_timeout_is_retryable(slack: SlackServer) -> None:
    # Given a server that accepts connections and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        client = WebClient(token="t", base_url=f"http://127.0.0.1:{port}/api/", timeout=1, retry_handlers=[])
        # When a digest is sent
        [result] = SlackNotifier(client=client).send("#ci", deliver(note("a")))
    # Then it is left pending, saying Slack timed out
    assert not result.delivered
    assert result.retryable
    assert "timed out" in (result.error or "")


def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = WebClient(token="t", base_url=f"http://127.0.0.1:{port}/api/", timeout=1, retry_handlers=[])
    [result] = SlackNotifier(client=client).send("#ci", deliver(note("a")))
    assert not result.delivered
    assert result.retryable
    assert "unreachable" in (result.error or "")


def test_webhook_mode_posts_the_digest_to_the_webhook(slack: SlackServer) -> None:
    notifier = SlackNotifier(webhook=WebhookClient(slack.webhook_url, timeout=5))
    results = notifier.send("webhook", [*deliver(note("a"), note("b")), Delivery("r", note("c", Event.RESOLVED))])
    assert all(r.delivered and r.ref is None for r in results)
    hooked = slack.hooked()
    assert len(hooked) == 2  # the triggered digest, then the fix (no threads without a bot token)
    assert "2 jobs failing" in hooked[0]["text"]


def test_webhook_errors_are_translated(slack: SlackServer) -> None:
    notifier = SlackNotifier(webhook=WebhookClient(slack.webhook_url, timeout=5))
    # Given the webhook was removed (404 no_service), then Slack has an outage (500)
    slack.fail("XXXX", status=404, error="no_service")
    # When / Then the first is permanent, naming Slack's error, and the second retryable
    [result] = notifier.send("webhook", deliver(note("a")))
    assert not result.delivered
    assert not result.retryable
    assert "no_service" in (result.error or "")
    slack.fail("XXXX", status=500)
    [result] = SlackNotifier(webhook=WebhookClient(slack.webhook_url, timeout=5)).send("webhook", deliver(note("a")))
    assert not result.delivered
    assert result.retryable


def test_a_long_digest_goes_out_as_several_messages(slack: SlackServer) -> None:
    notes = [note(f"job-{i:02d}") for i in range(40)]
    results = bot(slack).send("#ci", deliver(*notes))
    assert all(r.delivered for r in results)
    posts = slack.posted()
    assert len(posts) == 3
    assert all(len(p["blocks"]) <= 50 for p in posts)
    # each job is announced in the message that holds it
    refs = {f"{p['channel_id']}|{p['ts']}" for p in posts}
    assert {r.ref for r in results} == refs


def test_from_config_builds_a_bot_client_with_base_url_timeout_and_retry_handlers(slack: SlackServer) -> None:
    from failstreak.app.config import SlackConfig, section_from

    cfg = section_from(SlackConfig, {"token": {"env": "T"}, "base_url": slack.base_url, "timeout_seconds": 2.5})
    notifier = SlackNotifier.from_config(cfg, lambda ref: "xoxb-test-token")
    client = notifier._client
    assert client is not None
    assert client.base_url == slack.base_url
    assert client.timeout == 3
    assert {type(h).__name__ for h in client.retry_handlers} == {
        "ConnectionErrorRetryHandler",
        "BoundedRateLimitRetryHandler",
    }
    [result] = notifier.send("#ci", deliver(note("a")))
    assert result.delivered


def test_from_config_builds_a_webhook_client_when_a_webhook_url_is_given(slack: SlackServer) -> None:
    from failstreak.app.config import SlackConfig, section_from

    cfg = section_from(SlackConfig, {"webhook_url": {"env": "HOOK"}})
    notifier = SlackNotifier.from_config(cfg, lambda ref: slack.webhook_url)
    [result] = notifier.send("webhook", deliver(note("a")))
    assert result.delivered
    assert len(slack.hooked()) == 1


def test_a_rate_limited_channel_does_not_stop_other_channels_in_the_pass(slack: SlackServer) -> None:
    # Given #busy stays rate limited beyond the retries
    for _ in range(3):
        slack.fail("chat.postMessage", status=429, retry_after=0)
    notifier = bot(slack)
    # When #busy and then #quiet are sent to
    [busy] = notifier.send("#busy", deliver(note("a")))
    [quiet] = notifier.send("#quiet", deliver(note("b")))
    # Then #busy stays pending and #quiet got its message
    assert not busy.delivered
    assert busy.retryable
    assert quiet.delivered


# -- the base notifier's rules, through the real client (notifiers/base.py) -------------------------------------


def test_once_slack_is_down_the_rest_of_one_send_fails_fast_without_another_call(slack: SlackServer) -> None:
    # Given Slack answering 503 to everything, and a send of 40 new alerts (three messages) and a reminder
    slack.down()
    deliveries = [*deliver(*[note(f"job-{i:02d}") for i in range(40)]), *deliver(note("z", Event.REMINDER))]
    # When they are sent to one channel
    results = bot(slack).send("#ci", deliveries)
    # Then one call was made; every delivery stays pending with the reason, the later ones without being tried
    assert len(slack.state.requests) == 1
    assert {(r.delivered, r.retryable, r.error) for r in results} == {
        (False, True, "slack #ci: Slack unavailable (HTTP 503)")
    }


def test_a_refused_message_does_not_stop_the_rest_of_the_send(slack: SlackServer) -> None:
    # Given Slack refusing the first message for good (the app is not in the channel), then answering normally
    slack.fail("chat.postMessage", error="not_in_channel")
    # When a new alert (its own message) and a reminder with no thread (a second message) are sent together
    results = bot(slack).send("#ci", [*deliver(note("a")), *deliver(note("b", Event.REMINDER))])
    # Then the alert is dead-lettered and the reminder still goes out: a refusal is not an outage
    assert [(r.delivered, r.retryable) for r in results] == [(False, False), (True, False)]
    assert results[0].error is not None
    assert results[0].error.startswith("slack #ci: not_in_channel")
    assert [p["text"].split("\n")[0] for p in slack.posted()] == ["🟠 failstreak: 1 job still failing"]
