"""`POST /slack/commands`: the `/failstreak` slash command, signed, against the local Slack server and moto's S3."""

from __future__ import annotations

import json
from typing import Any

import pytest

from failstreak.core.model import Alert, JobState, Run, State, Status, now_ms
from failstreak.front.context import Front, front_for
from failstreak.front.routes import handle
from failstreak.state import codec, lazy
from tests.fakes import InMemoryMuteLedger
from tests.integration.front.slack_samples import command_body, signed
from tests.integration.front.test_slack_actions import HOUR_MS, alert, slack, slack_config
from tests.integration.s3.backends import S3
from tests.integration.slack_server import SlackServer

__all__ = ["slack"]
pytestmark = pytest.mark.integration

ROUTE = "/slack/commands"


def command(f: Front, text: str, **who: str) -> tuple[int, dict[str, Any]]:
    answer = handle(signed(ROUTE, command_body(text, **who)), f)
    return answer["statusCode"], json.loads(answer["body"])


def test_help_lists_the_commands_ephemerally(moto_s3: S3, slack: SlackServer) -> None:
    # Given a front; When /failstreak help is typed
    status, body = command(front_for(slack_config(moto_s3, slack)), "help")
    # Then only the person sees the four commands, with the maximum mute length
    assert status == 200
    assert body["response_type"] == "ephemeral"
    for usage in ("status [PATTERN]", "mute PATTERN DURATION", "unmute PATTERN", "help"):
        assert usage in body["text"]
    assert "at most 7 days" in body["text"]


def test_an_unknown_verb_is_answered_with_the_help_and_escaped(moto_s3: S3, slack: SlackServer) -> None:
    _, body = command(front_for(slack_config(moto_s3, slack)), "<!channel>")
    assert body["text"].startswith("I do not know `&lt;!channel&gt;`")
    assert "status [PATTERN]" in body["text"]


def test_status_lists_the_alerting_jobs_and_a_pattern_lists_what_it_matches(moto_s3: S3, slack: SlackServer) -> None:
    # Given two alerting jobs
    cfg = slack_config(moto_s3, slack)
    alert(moto_s3, cfg, slack, ("ci/build", "etl/nightly"))
    f = front_for(cfg, mutes=InMemoryMuteLedger())
    # When /failstreak status, then /failstreak status etl/*
    _, every = command(f, "status")
    _, some = command(f, "status etl/*")
    # Then the first lists both alerting jobs, the second only the one etl/* matches, with its counters
    assert every["text"].startswith("*2 of 2 jobs alerting*")
    assert "🔴 `ci/build` — 3 failed in a row · 3 of 3 failed" in every["text"]
    assert some["text"].startswith("*1 of 2 jobs* match `etl/*`:")
    assert "ci/build" not in some["text"]


def test_the_commands_decode_only_the_jobs_they_show_or_touch(
    moto_s3: S3, slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a state of 200 jobs stored as a pass stores a large one (compressed, in slices of 8 jobs), two of them
    # alerting, and the states the front reads kept to look at
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 8)
    cfg = slack_config(moto_s3, slack)
    now = now_ms()
    state = State(
        jobs={
            f"job-{i:03d}": JobState(name=f"job-{i:03d}", runs=[Run(now - HOUR_MS, "1", 0, Status.FAILED)])
            for i in range(200)
        }
    )
    for name in ("job-007", "job-150"):
        state.jobs[name].alert = Alert(now - HOUR_MS, ["consecutive"], now - HOUR_MS, 0, now - HOUR_MS, 0)
    moto_s3.put("fs/state.json", codec.encode_document(state, compress_above=0).body)
    read: list[State] = []
    read_state = Front.read_state

    def kept(front: Front) -> State:
        read.append(read_state(front))
        return read[-1]

    monkeypatch.setattr(Front, "read_state", kept)
    f = front_for(cfg, mutes=InMemoryMuteLedger())

    # When /failstreak status, then /failstreak mute job-15* 4h
    _, listed = command(f, "status")
    _, muted = command(f, "mute job-15* 4h")

    # Then each answers over the whole estate, having decoded only the two slices holding the alerting jobs (a
    # status reads each slice it needs whole, 16 jobs), then the ten jobs the pattern matched, of 200
    assert listed["text"].startswith("*2 of 200 jobs alerting*")
    assert "(10 jobs match it now.)" in muted["text"]
    decoded = [s.jobs.jobs_decoded for s in read if isinstance(s.jobs, lazy.LazyJobs)]
    assert decoded == [16, 10]


def test_mute_with_a_duration_mutes_the_pattern_and_notes_it_in_the_jobs_thread(
    moto_s3: S3, slack: SlackServer
) -> None:
    # Given an alert about ci/build
    cfg = slack_config(moto_s3, slack)
    message = alert(moto_s3, cfg, slack)
    ledger = InMemoryMuteLedger()
    before = now_ms()
    # When alice types /failstreak mute ci/* 4h
    status, body = command(front_for(cfg, mutes=ledger), "mute ci/* 4h")
    # Then ci/* is muted for 4 hours, she is told so (one job matches), and the job's thread says who and until when
    assert status == 200
    assert body["response_type"] == "ephemeral"
    [mute] = ledger.mutes()
    assert mute.match == "ci/*"
    assert mute.until is not None
    assert before + 4 * HOUR_MS <= mute.until <= now_ms() + 4 * HOUR_MS
    assert body["text"].startswith("🔕 <@U0ALICE01> muted `ci/*` until <!date^")
    assert "(1 job match it now.)" in body["text"]
    [note] = [p["text"] for p in slack.posted() if p.get("thread_ts") == message["ts"]]
    assert note.startswith("🔕 <@U0ALICE01> muted `ci/*` until")


def test_mute_until_fixed_mutes_until_the_next_success(moto_s3: S3, slack: SlackServer) -> None:
    cfg = slack_config(moto_s3, slack)
    ledger = InMemoryMuteLedger()
    command(front_for(cfg, mutes=ledger), "mute nightly-* until-fixed")
    [mute] = ledger.mutes()
    assert mute.until_success
    assert mute.until is not None
    assert mute.until <= now_ms() + 7 * 24 * HOUR_MS


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("mute * 4h", "matches every job"),
        ("mute ?* 1h", "matches every job"),
        ("mute ci/* 8d", "A mute lasts at most 7 days"),
        ("mute ci/* soon", "I did not understand the duration `soon`"),
        ("mute ci/*", "Usage: `/failstreak mute PATTERN DURATION`"),
        ("mute ci/[web 1h", "unclosed '['"),
    ],
)
def test_a_mute_that_breaks_a_guard_rail_is_refused_and_writes_nothing(
    moto_s3: S3, slack: SlackServer, text: str, said: str
) -> None:
    ledger = InMemoryMuteLedger()
    _, body = command(front_for(slack_config(moto_s3, slack), mutes=ledger), text)
    assert said in body["text"]
    assert ledger.writes == 0


def test_a_pattern_matching_every_job_the_state_knows_is_refused(moto_s3: S3, slack: SlackServer) -> None:
    # Given a state whose two jobs are both under ci/
    cfg = slack_config(moto_s3, slack)
    alert(moto_s3, cfg, slack, ("ci/build", "ci/test"))
    ledger = InMemoryMuteLedger()
    # When ci/* is muted; Then refused: it would mute everything
    _, body = command(front_for(cfg, mutes=ledger), "mute ci/* 1h")
    assert "matches every job" in body["text"]
    assert ledger.writes == 0


def test_unmute_lifts_the_mutes_of_the_pattern(moto_s3: S3, slack: SlackServer) -> None:
    cfg = slack_config(moto_s3, slack)
    ledger = InMemoryMuteLedger()
    f = front_for(cfg, mutes=ledger)
    command(f, "mute etl/* 2d")
    _, body = command(f, "unmute etl/*")
    assert ledger.mutes() == []
    assert body["text"].startswith("🔔 <@U0ALICE01> unmuted `etl/*`.")


def test_a_user_not_allowed_may_look_but_not_mute(moto_s3: S3, slack: SlackServer) -> None:
    # Given only alice may act
    cfg = slack_config(moto_s3, slack, "{allowed_users: [U0ALICE01]}")
    ledger = InMemoryMuteLedger()
    f = front_for(cfg, mutes=ledger)
    # When bob asks for the status, then mutes
    _, looked = command(f, "status", user_id="U0BOB0001")
    _, muted = command(f, "mute etl/* 1h", user_id="U0BOB0001")
    # Then he sees the status, is refused politely, and nothing is written
    assert looked["text"].startswith("No job is alerting")
    assert muted["text"].startswith("Sorry, you are not among the people allowed")
    assert ledger.writes == 0


def test_a_replayed_mute_is_401_and_writes_once(moto_s3: S3, slack: SlackServer) -> None:
    ledger = InMemoryMuteLedger()
    f = front_for(slack_config(moto_s3, slack), mutes=ledger)
    event = signed(ROUTE, command_body("mute etl/* 1h"))
    assert handle(event, f)["statusCode"] == 200
    assert handle(event, f)["statusCode"] == 401
    assert ledger.writes == 1


def test_a_command_signed_with_another_secret_is_401(moto_s3: S3, slack: SlackServer) -> None:
    ledger = InMemoryMuteLedger()
    answer = handle(
        signed(ROUTE, command_body("mute etl/* 1h"), secret="not-it"),
        front_for(slack_config(moto_s3, slack), mutes=ledger),
    )
    assert answer["statusCode"] == 401
    assert ledger.writes == 0
