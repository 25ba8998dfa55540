"""Issue 18's acceptance for Slack: a signed, real `block_actions` click mutes the job in the mutes document on S3;
the next pass counts its runs and sends nothing for it; a user not allowed is refused and nothing changes."""

from __future__ import annotations

import pytest

from failstreak.front.context import front_for
from failstreak.state.mutes import decode_mutes
from tests.integration.front.test_slack_actions import (
    alert,
    click,
    failures,
    monitor_pass,
    slack,
    slack_config,
    thread_notes,
)
from tests.integration.s3 import passkit
from tests.integration.s3.backends import S3
from tests.integration.slack_server import SlackServer

__all__ = ["slack"]
pytestmark = pytest.mark.integration

# A reminder at every pass that counts a new run, so a pass after the click has something to send.
EVERY_RUN = "reminder: {every_hours: null, every_runs: 1}\n"
JOBS = ("ci/build", "etl/nightly")


def _mutes(s3: S3) -> bytes | None:
    return s3.get("fs/mutes.json") if "fs/mutes.json" in s3.keys("fs/") else None


def _sent_after(server: SlackServer, before: int) -> list[str]:
    """The texts of what the monitor posted after the first `before` messages (the front's notes left out)."""
    return [p["text"] for p in server.posted()[before:] if not p["text"].startswith(("🔕", "🔔", "👀"))]


def test_a_signed_click_mutes_the_job_and_the_next_pass_counts_its_runs_and_sends_nothing_for_it(
    moto_s3: S3, slack: SlackServer
) -> None:
    # Given two jobs alerting in one message, reminded at each new run
    cfg = slack_config(moto_s3, slack, extra=EVERY_RUN)
    message = alert(moto_s3, cfg, slack, JOBS)
    # When alice clicks "Mute 24 h" on ci/build (a real block_actions payload, signed), through the front's own
    # mutes document on S3
    assert click(front_for(cfg), slack, message, "mute-24h", "ci/build") == {"statusCode": 200}
    # Then the mutes document beside the state holds the mute, and the thread says who and until when
    stored = _mutes(moto_s3)
    assert stored is not None
    [mute] = decode_mutes(stored, "mutes.json").mutes
    assert mute.match == "ci/build"
    assert thread_notes(slack, message)[0].startswith("🔕 <@U0ALICE01> muted `ci/build` until")

    # When both jobs fail twice more and a pass runs
    before = len(slack.posted())
    failures(moto_s3, JOBS, range(3, 5))
    summary = monitor_pass(cfg)
    # Then ci/build's runs are counted, its reminder recorded as suppressed, and only etl/nightly's is sent
    events = {(n["job"], n["event"], n["suppressed"]) for n in summary["notifications"]}
    assert events == {("ci/build", "reminder", True), ("etl/nightly", "reminder", False)}
    assert passkit.counters(moto_s3)["ci/build"]["total_runs"] == 5
    sent = _sent_after(slack, before)
    assert sent
    assert all("etl/nightly" in text and "ci/build" not in text for text in sent)


def test_a_user_not_allowed_is_refused_and_nothing_changes_for_the_next_pass(moto_s3: S3, slack: SlackServer) -> None:
    # Given only alice may act, and an alert about the two jobs
    cfg = slack_config(moto_s3, slack, "{allowed_users: [U0ALICE01]}", extra=EVERY_RUN)
    message = alert(moto_s3, cfg, slack, JOBS)
    # When bob clicks "Mute until fixed" on ci/build
    answer = click(front_for(cfg), slack, message, "mute-fixed", "ci/build", user_id="U0BOB0001", username="bob")
    # Then he alone is told, politely, and no mutes document was written
    assert answer == {"statusCode": 200}
    assert [e["text"][:35] for e in slack.ephemerals()] == ["Sorry, you are not among the people"]
    assert _mutes(moto_s3) is None
    # And the next pass sends ci/build's reminder as before
    failures(moto_s3, JOBS, range(3, 5))
    events = {(n["job"], n["event"], n["suppressed"]) for n in monitor_pass(cfg)["notifications"]}
    assert events == {("ci/build", "reminder", False), ("etl/nightly", "reminder", False)}


def test_on_it_then_unmute_write_and_clear_the_mutes_document(moto_s3: S3, slack: SlackServer) -> None:
    # Given ci/build muted and acknowledged by clicks, through the mutes document on S3
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack)
    f = front_for(cfg)
    click(f, slack, message, "mute-fixed", "ci/build")
    click(f, slack, message, "ack", "ci/build", user_id="U0BOB0001", username="bob")
    stored = _mutes(moto_s3)
    assert stored is not None
    book = decode_mutes(stored, "mutes.json")
    assert ([m.match for m in book.mutes], [(a.job, a.by) for a in book.acks]) == (["ci/build"], [("ci/build", "bob")])
    # When "Unmute" is clicked
    click(f, slack, message, "unmute", "ci/build")
    # Then the document holds neither, and the thread's last note says so
    after = _mutes(moto_s3)
    assert after is not None
    emptied = decode_mutes(after, "mutes.json")
    assert (emptied.mutes, emptied.acks) == ([], [])
    assert thread_notes(slack, message)[-1] == "🔔 <@U0ALICE01> unmuted `ci/build`."
