"""Whole monitor passes (`run_pass` on the local store) delivering through the real Slack client to a local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from failstreak.app import wiring
from failstreak.app.config import Config, parse_config
from failstreak.app.wiring import pass_settings
from failstreak.pipeline.run import run_pass
from failstreak.pipeline.summary import Summary
from failstreak.state.codec import decode
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration

OWNERS = """\
*                  @team-everything
tests_team_a_*     @team-a
tests_team_b_*     @team-b
tests_letters_*    @team-a @team-b
"""
JOBS = ["tests_hello", "tests_team_a_1", "tests_letters_1", "tests_team_b_1", "tests_team_a_2"]
T0 = 1_763_884_800_000


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")


class Site:
    """A monitor's working directory: config, owners file, inbox, state."""

    def __init__(self, root: Path, slack: SlackServer, broadcast: str = "#ci-broadcast", extra: str = "") -> None:
        self.root = root
        self.batches = 0
        (root / "inbox").mkdir(exist_ok=True)
        (root / "JOBOWNERS").write_text(OWNERS)
        self.cfg: Config = parse_config(
            f"""
state: state.json
inbox: inbox/
owners: JOBOWNERS
thresholds: {{consecutive: 3, cumulative: 5, window: 10}}
teams:
  team-everything: {{slack: ["#everything"]}}
  team-a: {{slack: ["#channel-a"]}}
  team-b: {{slack: ["#channel-b"]}}
notify:
  console: false
  max_attempts: 5
  slack:
    token: {{env: SLACK_BOT_TOKEN}}
    default_channel: "#ci-alerts"
    broadcast_channel: "{broadcast}"
    base_url: {slack.base_url}
    timeout_seconds: 2
{extra}
""",
            "failstreak.yaml",
            base_dir=root,
        )

    def runs(self, job: str, statuses: str) -> None:
        """Drop one inbox file with runs of `job`: `f` failed, `s` success."""
        self.batches += 1
        lines = []
        for i, mark in enumerate(statuses):
            run = self.batches * 100 + i
            lines.append(
                {
                    "job": job,
                    "run_id": run,
                    "status": "failed" if mark == "f" else "success",
                    "finished_at": T0 + run * 60_000,
                    "url": f"https://ci.example.com/{job}/{run}",
                    "commit": f"c0ffee{run}",
                    "reason": "exit code 1" if mark == "f" else None,
                }
            )
        (self.root / "inbox" / f"batch-{self.batches:03d}-{job}.jsonl").write_text(
            "\n".join(json.dumps(x) for x in lines) + "\n"
        )

    def run(self) -> Summary:
        return run_pass(pass_settings(self.cfg), wiring.ports(self.cfg))

    def state(self) -> Any:
        return decode((self.root / "state.json").read_bytes())


def _jobs_in(post: dict[str, Any]) -> set[str]:
    return {job for job in JOBS if f"*{job}*" in json.dumps(post["blocks"])}


def test_each_channel_gets_one_message_with_only_its_jobs_and_broadcast_gets_all(
    tmp_path: Path, slack: SlackServer
) -> None:
    # Given the owners file and five jobs that each failed three times
    site = Site(tmp_path, slack)
    for job in JOBS:
        site.runs(job, "fff")
    # When one pass runs
    summary = site.run()
    # Then each channel got exactly one message holding exactly its own jobs, and broadcast got all five
    by_channel = {p["channel"]: _jobs_in(p) for p in slack.posted()}
    assert len(slack.posted()) == len(by_channel) == 4
    assert by_channel == {
        "#everything": {"tests_hello"},
        "#channel-a": {"tests_team_a_1", "tests_letters_1", "tests_team_a_2"},
        "#channel-b": {"tests_letters_1", "tests_team_b_1"},
        "#ci-broadcast": set(JOBS),
    }
    assert summary.delivered == 5 + 1 + 3 + 2  # one outbox entry per job and channel
    assert summary.pending == 0
    # And the per-team counts name the owning teams
    assert summary.team_notifications == {
        "team-everything": {"triggered": 1},
        "team-a": {"triggered": 3},
        "team-b": {"triggered": 2},
    }


def test_a_broadcast_channel_that_is_also_a_team_channel_gets_one_message_fewer(
    tmp_path: Path, slack: SlackServer
) -> None:
    # Given the broadcast channel is team-a's channel
    site = Site(tmp_path, slack, broadcast="#channel-a")
    for job in JOBS:
        site.runs(job, "fff")
    # When one pass runs
    site.run()
    # Then #channel-a got one message with all five jobs, and there are three messages in all
    by_channel = {p["channel"]: _jobs_in(p) for p in slack.posted()}
    assert len(slack.posted()) == 3
    assert by_channel == {
        "#everything": {"tests_hello"},
        "#channel-a": set(JOBS),
        "#channel-b": {"tests_letters_1", "tests_team_b_1"},
    }


def test_slack_down_keeps_counters_and_the_next_pass_delivers_each_alert_exactly_once(
    tmp_path: Path, slack: SlackServer
) -> None:
    # Given Slack is down during a pass in which a job starts failing
    site = Site(tmp_path, slack)
    site.runs("tests_team_a_1", "ffff")
    slack.down()
    # When the pass runs
    down = site.run()
    # Then the pass completes: counters saved, the inbox archived, the failure reported, the alerts pending
    assert down.ingested == 4
    assert site.state().jobs["tests_team_a_1"].consecutive_failures == 4
    assert list((tmp_path / "inbox").glob("*.jsonl")) == []
    assert down.delivered == 0
    assert down.pending == 2
    assert {f["destination"] for f in down.delivery_failures} == {"slack:#channel-a", "slack:#ci-broadcast"}
    assert all(f["retrying"] for f in down.delivery_failures)
    assert all("Slack unavailable (HTTP 503)" in f["error"] for f in down.delivery_failures)
    assert slack.posted() == []
    # When Slack is back and the next passes run (no new runs)
    slack.up()
    up = site.run()
    again = site.run()
    # Then each pending alert was delivered once, and never again
    assert up.delivered == 2
    assert up.pending == 0
    assert up.delivery_failures == []
    assert sorted(p["channel"] for p in slack.posted()) == ["#channel-a", "#ci-broadcast"]
    assert again.delivered == 0
    assert len(slack.posted()) == 2
    # And the thread of each message is remembered for the reminder and the fix
    threads = site.state().jobs["tests_team_a_1"].threads
    assert set(threads) == {"slack:#channel-a", "slack:#ci-broadcast"}


def test_a_permanent_error_is_reported_and_dead_lettered_not_retried(tmp_path: Path, slack: SlackServer) -> None:
    # Given team-b's channel does not exist in the workspace
    site = Site(tmp_path, slack)
    slack.state.known_channels = {"#channel-a", "#ci-broadcast", "#everything"}
    site.runs("tests_team_b_1", "fff")
    # When a pass runs
    summary = site.run()
    # Then the broadcast went out, the missing channel is reported as permanent and dead-lettered
    [failure] = summary.delivery_failures
    assert failure["destination"] == "slack:#channel-b"
    assert failure["retrying"] is False
    assert failure["error"].startswith("slack #channel-b: channel_not_found")
    assert summary.pending == 0
    [dead] = site.state().dead_letters
    assert dead.destination == "slack:#channel-b"
    assert dead.job == "tests_team_b_1"
    # And the next pass does not try again
    calls = len(slack.calls("chat.postMessage"))
    site.run()
    assert len(slack.calls("chat.postMessage")) == calls


def test_retryable_failures_stop_after_max_attempts(tmp_path: Path, slack: SlackServer) -> None:
    # Given Slack stays down for longer than max_attempts (5) passes
    site = Site(tmp_path, slack)
    site.runs("tests_hello", "fff")
    slack.down()
    # When six passes run
    summaries = [site.run() for _ in range(6)]
    # Then the alert was retried five times, then dead-lettered with its last error
    assert [s.pending for s in summaries] == [2, 2, 2, 2, 0, 0]
    assert [f["retrying"] for f in summaries[4].delivery_failures] == [False, False]
    assert {d.attempts for d in site.state().dead_letters} == {5}


def test_reminder_and_fix_thread_on_the_alert_and_the_fix_updates_the_original(
    tmp_path: Path, slack: SlackServer
) -> None:
    # Given reminders every counted run, and two team-a jobs that start failing in the same pass
    site = Site(tmp_path, slack, extra="reminder: {every_hours: null, every_runs: 1}")
    site.runs("tests_team_a_1", "fff")
    site.runs("tests_team_a_2", "fff")
    site.run()
    [parent] = [p for p in slack.posted() if p["channel"] == "#channel-a"]
    assert _jobs_in(parent) == {"tests_team_a_1", "tests_team_a_2"}
    # When one keeps failing (reminder) and the other is fixed in the next pass
    site.runs("tests_team_a_1", "f")
    site.runs("tests_team_a_2", "s")
    site.run()
    # Then both are replies in the parent's thread: one reply holding the reminder and the fix
    replies = [p for p in slack.posted() if p["channel"] == parent["channel_id"]]
    assert len(replies) == 1
    assert replies[0]["thread_ts"] == parent["ts"]
    assert "1 still failing, 1 fixed" in replies[0]["text"]
    # And the original message now shows team_a_2 fixed and team_a_1 still failing
    original = slack.message(parent["channel_id"], parent["ts"])
    assert "1 of 2 jobs still failing" in original["text"]
    assert "✅ ~tests_team_a_2~" in original["text"]
    assert "🔴 *tests_team_a_1* — still failing" in original["text"]
    # When the last one is fixed too
    site.runs("tests_team_a_1", "s")
    site.run()
    # Then the original message says everything is fixed
    assert "all 2 jobs fixed" in slack.message(parent["channel_id"], parent["ts"])["text"]
