"""`POST /slack/actions`: a signed click on an alert's control, against the local Slack server and moto's S3."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from failstreak.app import wiring
from failstreak.app.config import Config
from failstreak.core.model import now_ms
from failstreak.front.context import Front, front_for
from failstreak.front.routes import handle
from failstreak.pipeline.run import run_pass
from tests.fakes import InMemoryMuteLedger
from tests.integration.front.slack_samples import SIGNING_SECRET, actions_body, block_actions, control, signed
from tests.integration.s3 import passkit
from tests.integration.s3.backends import S3
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000
ROUTE = "/slack/actions"


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackServer]:
    monkeypatch.setenv("FS_TEST_SLACK_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("FS_TEST_SLACK_SIGNING", SIGNING_SECRET)
    with running() as server:
        yield server


def slack_config(s3: S3, server: SlackServer, http_slack: str = "{}", extra: str = "") -> Config:
    return passkit.config(
        s3,
        extra=(
            extra + "retire_after_days: null\n"
            "notify:\n"
            "  console: false\n"
            f"  slack: {{token: {{env: FS_TEST_SLACK_TOKEN}}, base_url: '{server.base_url}', default_channel: '#ci'}}\n"
            "http:\n"
            "  slack_signing_secret: {env: FS_TEST_SLACK_SIGNING}\n"
            f"  slack: {http_slack}\n"
        ),
    )


def failures(s3: S3, jobs: tuple[str, ...], runs: range) -> None:
    """Failed runs `runs` of each job, an hour apart, ending an hour ago, pushed to the inbox as one file."""
    start = now_ms() - 20 * HOUR_MS
    lines = [
        json.dumps(
            {
                "job": job,
                "run_id": n,
                "status": "failed",
                "finished_at": (start + n * HOUR_MS) // 1000,
                "url": f"https://ci.example.com/runs/{n}",
            }
        )
        for job in jobs
        for n in runs
    ]
    s3.put(f"fs/inbox/{time.time_ns()}.jsonl", ("\n".join(lines) + "\n").encode())


def monitor_pass(cfg: Config) -> dict[str, Any]:
    """One pass of the monitor with the config's real adapters (S3, the Slack server); its summary."""
    return run_pass(wiring.pass_settings(cfg), wiring.ports(cfg)).to_dict()


def alert(s3: S3, cfg: Config, server: SlackServer, jobs: tuple[str, ...] = ("ci/build",)) -> dict[str, Any]:
    """Three failed runs of each job pushed to the inbox and a pass: the alert message it posted."""
    failures(s3, jobs, range(3))
    monitor_pass(cfg)
    [message] = [p for p in server.posted() if "thread_ts" not in p]
    return message


def click(f: Front, server: SlackServer, message: dict[str, Any], verb: str, job: str, **who: str) -> dict[str, Any]:
    payload = block_actions(
        message,
        control(message["blocks"], verb, job),
        response_url=server.response_url(message["channel_id"], message["ts"]),
        **who,
    )
    return handle(signed(ROUTE, actions_body(payload)), f)


def thread_notes(server: SlackServer, message: dict[str, Any]) -> list[str]:
    return [p["text"] for p in server.posted() if p.get("thread_ts") == message["ts"]]


def test_a_signed_click_on_mute_24h_mutes_the_job_updates_the_message_and_notes_it_in_the_thread(
    moto_s3: S3, slack: SlackServer
) -> None:
    # Given an alert about ci/build posted by a pass, with its buttons
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    f = front_for(cfg, mutes=ledger)
    before = now_ms()
    # When alice clicks "Mute 24 h" (a real block_actions payload, signed)
    answer = click(f, slack, message, "mute-24h", "ci/build")
    # Then Slack gets an empty 200, and ci/build is muted for 24 hours, by alice
    assert answer == {"statusCode": 200}
    [mute] = ledger.mutes()
    assert mute.match == "ci/build"
    assert not mute.until_success
    assert mute.until is not None
    assert before + 24 * HOUR_MS <= mute.until <= now_ms() + 24 * HOUR_MS
    assert "alice (U0ALICE01)" in (mute.reason or "")
    # And the message now says so under the job, and the thread names alice and the mute's end
    updated = slack.message(message["channel_id"], message["ts"])
    section = next(b for b in updated["blocks"] if b.get("block_id") == "fs-job-0")
    assert "↳ 🔕 <@U0ALICE01> muted `ci/build` until <!date^" in section["text"]["text"]
    [note] = thread_notes(slack, message)
    assert note.startswith("🔕 <@U0ALICE01> muted `ci/build` until <!date^")
    assert str(mute.until // 1000) in note


def test_mute_until_fixed_mutes_until_the_next_success_within_max_mute_days(moto_s3: S3, slack: SlackServer) -> None:
    # Given an alert and max_mute_days 2
    cfg = slack_config(moto_s3, slack, "{max_mute_days: 2}")
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    # When "Mute until fixed" is clicked
    assert click(front_for(cfg, mutes=ledger), slack, message, "mute-fixed", "ci/build")["statusCode"] == 200
    # Then the mute ends at the next success, or after 2 days at the latest
    [mute] = ledger.mutes()
    assert mute.until_success
    assert mute.until is not None
    assert mute.until <= now_ms() + 2 * 24 * HOUR_MS
    assert "until it succeeds (at the latest <!date^" in thread_notes(slack, message)[0]


def test_i_am_on_it_records_who_and_pauses_reminders_for_ack_hours(moto_s3: S3, slack: SlackServer) -> None:
    # Given an alert and ack_hours 6
    cfg = slack_config(moto_s3, slack, "{ack_hours: 6}")
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    # When bob clicks "I'm on it"
    click(front_for(cfg, mutes=ledger), slack, message, "ack", "ci/build", user_id="U0BOB0001", username="bob")
    # Then the acknowledgement names bob and lasts 6 hours; the thread says bob is on it
    [ack] = ledger.acknowledgements()
    assert (ack.job, ack.by, ack.until - ack.at) == ("ci/build", "bob", 6 * HOUR_MS)
    assert thread_notes(slack, message)[0].startswith("👀 <@U0BOB0001> is on it: reminders for `ci/build` are paused")


def test_unmute_takes_the_jobs_mute_and_acknowledgement_away_and_says_what_still_mutes_it(
    moto_s3: S3, slack: SlackServer
) -> None:
    # Given ci/build muted by a click, acknowledged, and also muted by the pattern ci/*
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    f = front_for(cfg, mutes=ledger)
    click(f, slack, message, "mute-24h", "ci/build")
    click(f, slack, message, "ack", "ci/build")
    from failstreak.core.model import Mute

    ledger.mute(Mute.new("ci/*", now_ms(), until=now_ms() + HOUR_MS))
    # When "Unmute" is clicked
    click(f, slack, message, "unmute", "ci/build")
    # Then the job's own mute and the acknowledgement are gone, and the note says ci/* still mutes it
    assert [m.match for m in ledger.mutes()] == ["ci/*"]
    assert ledger.acknowledgements() == []
    last = thread_notes(slack, message)[-1]
    assert last.startswith("🔔 <@U0ALICE01> unmuted `ci/build`.")
    assert "still muted by `ci/*`" in last


def test_a_user_not_allowed_gets_a_polite_refusal_only_they_see_and_nothing_changes(
    moto_s3: S3, slack: SlackServer
) -> None:
    # Given only alice may act
    cfg = slack_config(moto_s3, slack, "{allowed_users: [U0ALICE01]}")
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    replay_before = moto_s3.keys("fs/replay/")
    # When bob clicks "Mute 24 h"
    answer = click(front_for(cfg, mutes=ledger), slack, message, "mute-24h", "ci/build", user_id="U0BOB0001")
    # Then Slack gets its 200, bob alone is told politely, and nothing was written, updated or posted
    assert answer == {"statusCode": 200}
    [refusal] = slack.ephemerals()
    assert refusal["response_type"] == "ephemeral"
    assert refusal["text"].startswith("Sorry, you are not among")
    assert ledger.writes == 0
    assert slack.message(message["channel_id"], message["ts"])["blocks"] == message["blocks"]
    assert thread_notes(slack, message) == []
    assert moto_s3.keys("fs/replay/") == replay_before


def test_a_member_of_an_allowed_user_group_may_click(moto_s3: S3, slack: SlackServer) -> None:
    # Given only the on-call group may act, and Slack lists bob in it
    cfg = slack_config(moto_s3, slack, "{allowed_groups: [S0ONCALL1]}")
    slack.usergroup("S0ONCALL1", ["U0BOB0001"])
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    f = front_for(cfg, mutes=ledger)
    # When bob clicks, then alice
    click(f, slack, message, "mute-24h", "ci/build", user_id="U0BOB0001", username="bob")
    click(f, slack, message, "ack", "ci/build")
    # Then bob's mute is written (his group was asked of Slack with the bot token) and alice is refused
    assert len(ledger.mutes()) == 1
    assert ledger.acknowledgements() == []
    [asked, *_] = slack.calls("usergroups.users.list")
    assert asked.body["usergroup"] == "S0ONCALL1"
    assert asked.auth == "Bearer xoxb-test-token"
    assert [e["text"][:5] for e in slack.ephemerals()] == ["Sorry"]


def test_a_replayed_click_is_refused_and_writes_nothing_more(moto_s3: S3, slack: SlackServer) -> None:
    # Given a click accepted once
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    f = front_for(cfg, mutes=ledger)
    payload = block_actions(
        message,
        control(message["blocks"], "ack", "ci/build"),
        response_url=slack.response_url(message["channel_id"], message["ts"]),
    )
    event = signed(ROUTE, actions_body(payload))
    assert handle(event, f)["statusCode"] == 200
    # When the same signed request comes again; Then 401, and nothing more was written or posted
    assert handle(event, f)["statusCode"] == 401
    assert ledger.writes == 1
    assert len(thread_notes(slack, message)) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: {**e, "headers": {**e["headers"], "x-slack-signature": "v0=" + "0" * 64}},
        lambda e: {**e, "headers": {k: v for k, v in e["headers"].items() if k != "x-slack-signature"}},
    ],
    ids=["wrong signature", "missing signature"],
)
def test_a_click_not_signed_by_slack_is_401_and_changes_nothing(moto_s3: S3, slack: SlackServer, tamper: Any) -> None:
    # Given an alert
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    payload = block_actions(
        message,
        control(message["blocks"], "mute-24h", "ci/build"),
        response_url=slack.response_url(message["channel_id"], message["ts"]),
    )
    # When a click arrives with a wrong or missing signature; Then 401 and nothing is written
    answer = handle(tamper(signed(ROUTE, actions_body(payload))), front_for(cfg, mutes=ledger))
    assert answer["statusCode"] == 401
    assert ledger.writes == 0
    assert slack.responded() == []


def test_a_stale_click_is_401(moto_s3: S3, slack: SlackServer) -> None:
    # Given a click signed six minutes ago; Then 401, nothing written
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    payload = block_actions(
        message,
        control(message["blocks"], "ack", "ci/build"),
        response_url=slack.response_url(message["channel_id"], message["ts"]),
    )
    answer = handle(signed(ROUTE, actions_body(payload), at=time.time() - 360), front_for(cfg, mutes=ledger))
    assert answer["statusCode"] == 401
    assert ledger.writes == 0


def test_when_slack_stalls_the_click_is_saved_answered_and_the_missed_follow_ups_are_logged(
    moto_s3: S3, slack: SlackServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an alert, and a Slack that stops answering its response URLs
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    f = front_for(cfg, mutes=ledger, slack_budget_s=0.5)
    slack.stall("respond")
    # When a click arrives
    with caplog.at_level(logging.WARNING, logger="failstreak.front"):
        answer = click(f, slack, message, "mute-24h", "ci/build")
    slack.release()
    # Then the mute is saved and Slack is answered; the update that got no answer and the thread note that no
    # time was left for are logged
    assert answer == {"statusCode": 200}
    assert len(ledger.mutes()) == 1
    logged = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("slack: update not sent") for m in logged)
    assert any(m.startswith("slack: thread note not sent: the 0.5 s budget") for m in logged)
    # And the front holds both for its handler to count
    assert f.dropped == ["update", "thread note"]


def test_when_the_mutes_document_cannot_be_written_the_person_is_told_and_may_click_again(
    moto_s3: S3, slack: SlackServer
) -> None:
    # Given a store that cannot be written
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    ledger.fail = True
    f = front_for(cfg, mutes=ledger)
    payload = block_actions(
        message,
        control(message["blocks"], "ack", "ci/build"),
        response_url=slack.response_url(message["channel_id"], message["ts"]),
    )
    event = signed(ROUTE, actions_body(payload))
    # When a click arrives; Then the person is told nothing changed, and nothing is noted in the thread
    assert handle(event, f)["statusCode"] == 200
    assert slack.ephemerals()[0]["text"].startswith("Sorry, failstreak could not save that")
    assert thread_notes(slack, message) == []
    # And once the store is back, the same click (its claim given back) goes through
    ledger.fail = False
    assert handle(event, f)["statusCode"] == 200
    assert len(ledger.acknowledgements()) == 1


def test_an_overflow_menu_naming_a_long_job_by_its_hash_acts_on_that_job(moto_s3: S3, slack: SlackServer) -> None:
    # Given an alert of 15 jobs (overflow menus), one of them with a name too long for an option's value
    long_name = "etl/" + "x" * 200
    jobs = (long_name, *(f"etl/job-{i:02d}" for i in range(14)))
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack, jobs)
    assert any("accessory" in b for b in message["blocks"])
    ledger = InMemoryMuteLedger()
    f = front_for(cfg, mutes=ledger)
    # When "Mute 24 h" is chosen in the long job's menu
    action = next(
        {
            "type": "overflow",
            "action_id": b["accessory"]["action_id"],
            "block_id": b["block_id"],
            "selected_option": o,
            "action_ts": "1.2",
        }
        for b in message["blocks"]
        if "accessory" in b
        for o in b["accessory"]["options"]
        if o["value"] == "mute-24h|#" + hashlib.sha256(long_name.encode()).hexdigest()
    )
    payload = block_actions(message, action, response_url=slack.response_url(message["channel_id"], message["ts"]))
    assert handle(signed(ROUTE, actions_body(payload)), f)["statusCode"] == 200
    # Then that job, found among the state's jobs by its hash, is muted
    assert [m.match for m in ledger.mutes()] == [long_name]


def test_a_click_on_something_that_is_not_a_failstreak_control_is_400(moto_s3: S3, slack: SlackServer) -> None:
    cfg = slack_config(moto_s3, slack)
    message = {"channel_id": "C0CI", "ts": "1.1", "blocks": []}
    action = {"type": "button", "action_id": "x", "block_id": "y", "value": "delete|everything", "action_ts": "1.2"}
    payload = block_actions(message, action, response_url=slack.response_url("C0CI", "1.1"))
    assert handle(signed(ROUTE, actions_body(payload)), front_for(cfg, mutes=InMemoryMuteLedger()))["statusCode"] == 400


def test_without_a_signing_secret_the_route_is_404_and_alerts_have_no_buttons(moto_s3: S3, slack: SlackServer) -> None:
    # Given a config whose http block names no Slack signing secret
    cfg = passkit.config(
        moto_s3,
        extra=(
            "notify:\n  console: false\n"
            f"  slack: {{token: {{env: FS_TEST_SLACK_TOKEN}}, base_url: '{slack.base_url}', default_channel: '#ci'}}\n"
        ),
    )
    # When a pass alerts; Then its message has no controls
    message = alert(moto_s3, cfg, slack)
    assert not any(b["type"] == "actions" or "accessory" in b for b in message["blocks"])
    # And the route answers 404
    payload = block_actions(
        message, {"type": "button", "value": "ack|ci/build", "action_id": "a", "block_id": "b"}, response_url=""
    )
    assert handle(signed(ROUTE, actions_body(payload)), front_for(cfg))["statusCode"] == 404
