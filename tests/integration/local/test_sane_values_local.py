"""`status` on the local store, whatever values a state written before the bounds holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failstreak.app import wiring
from failstreak.app.cli import main
from failstreak.app.config import parse_config
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Alert, JobState, Run, State, Status
from failstreak.pipeline.run import run_pass
from failstreak.state.codec import decode, encode
from tests.integration.slack_server import running

T = 1_794_996_400_000


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: null\n")
    return tmp_path


def _write_state(workdir: Path, *jobs: JobState) -> None:
    (workdir / "state.json").write_bytes(encode(State(jobs={j.name: j for j in jobs}, updated_at=T)))


def _job(name: str, **fields: object) -> JobState:
    return JobState(
        name=name,
        runs=[Run(T, "1", 0, Status.FAILED)],
        total_runs=1,
        total_failures=1,
        first_seen=T,
        last_seen=T,
        **fields,  # type: ignore[arg-type]
    )


def test_status_json_shows_stored_times_no_calendar_can_show(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a state (written before times were bounded) whose job holds times past the year 9999 and before year 1
    alert = Alert(2**63 - 1, ["consecutive"], -(2**63), 0, T, 1)
    _write_state(workdir, _job("etl", last_success=2**63 - 1, last_failure=-62_135_596_860_000, alert=alert))
    # When `status --json` and `status` read it
    assert main(["status", "--json", "--config", str(workdir / "failstreak.yaml")]) == 0
    row = json.loads(capsys.readouterr().out)["jobs"]["etl"]
    assert main(["status", "--config", str(workdir / "failstreak.yaml")]) == 0
    # Then both succeed, and the JSON shows each such time as its raw value
    assert row["last_success"] == f"epoch-ms:{2**63 - 1}"
    assert row["last_failure"] == "epoch-ms:-62135596860000"
    assert row["alerting_since"] == f"epoch-ms:{2**63 - 1}"
    assert "etl" in capsys.readouterr().out


def test_status_escapes_control_characters_in_job_names(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given jobs whose names hold an ESC sequence that clears the screen and a newline that forges a row
    _write_state(workdir, _job("evil\x1b[2J\x1b[H"), _job("ok\nforged-job  999  9/9  ALERTING"))
    # When `status` prints the table
    assert main(["status", "--config", str(workdir / "failstreak.yaml")]) == 0
    out = capsys.readouterr().out
    # Then no control character reaches the terminal; the names are shown with visible escapes, one row each
    assert "\x1b" not in out
    assert "evil\\x1b[2J\\x1b[H" in out
    assert "ok\\nforged-job" in out
    assert not any(line.startswith("forged-job") for line in out.splitlines())
    assert len(out.splitlines()) == 5  # the state used, header, two jobs, the count


@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["status"],
        ["status", "--json"],
        ["mute", "nightly-*", "--hours", "4"],
        ["unmute", "m1"],
        ["mutes"],
    ],
)
def test_no_command_reads_or_rewrites_a_state_of_the_wrong_shape(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # Given a state (version 5, the last to hold mutes) that is valid JSON but holds a mute whose pattern is a
    # number
    doc = json.loads(encode(State(updated_at=T)))
    doc["version"] = 5
    doc["mutes"] = [{"id": "m1", "match": 5, "created_at": T}]
    before = json.dumps(doc).encode()
    (workdir / "state.json").write_bytes(before)
    # When any command runs on it
    code = main([command[0], "--config", str(workdir / "failstreak.yaml"), *command[1:]])
    # Then it fails with the one-line error of an unreadable state, and the document is left as it was
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "state document is malformed (Expected `str`, got `int` - at `$.mutes[0].match`); left untouched" in err
    assert (workdir / "state.json").read_bytes() == before


def test_an_alert_since_a_time_no_calendar_can_show_is_still_reminded_on_slack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job alerting on Slack whose stored incident start no date can show (a state written before times
    # were bounded), with a reminder due
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    with running() as slack:
        (tmp_path / "inbox").mkdir()
        cfg = parse_config(
            "state: state.json\ninbox: inbox/\nnotify:\n  console: false\n"
            f"  slack: {{token: {{env: SLACK_BOT_TOKEN}}, default_channel: '#ci', base_url: {slack.base_url}}}\n",
            "failstreak.yaml",
            base_dir=tmp_path,
        )
        lines = [{"job": "etl", "run_id": i, "status": "failed", "finished_at": T - (5 - i) * 60_000} for i in range(3)]
        (tmp_path / "inbox" / "a.jsonl").write_text("\n".join(json.dumps(line) for line in lines))
        ports = wiring.ports(cfg)
        ports.clock = lambda: T
        run_pass(pass_settings(cfg), ports)
        state = decode((tmp_path / "state.json").read_bytes())
        alert = state.jobs["etl"].alert
        assert alert is not None
        alert.since = 2**63 - 1
        (tmp_path / "state.json").write_bytes(encode(state))
        # When a pass runs a day later
        later = wiring.ports(cfg)
        later.clock = lambda: T + 25 * 3_600_000
        summary = run_pass(pass_settings(cfg), later)
    # Then the reminder is posted, showing the raw time, and nothing is left pending
    assert [(n.job, n.event.value) for n in summary.notifications] == [("etl", "reminder")]
    assert summary.delivery_failures == []
    assert summary.pending == 0
    assert f"epoch-ms:{2**63 - 1}" in slack.posted()[-1]["text"]


def test_the_run_summary_escapes_control_characters_in_file_names(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an inbox file whose name holds an ESC sequence and a newline, with a line that is rejected
    (workdir / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\n")
    (workdir / "inbox").mkdir()
    (workdir / "inbox" / "evil\x1b[2J\nforged.jsonl").write_text('{"job": "j"}\n')
    # When a pass prints its summary
    assert main(["run", "--config", str(workdir / "failstreak.yaml")]) == 0
    captured = capsys.readouterr()
    # Then the file is named with visible escapes, on one line of stderr, and no control character reaches the
    # terminal on either stream
    assert "\x1b" not in captured.out + captured.err
    assert "evil\\x1b[2J\\nforged.jsonl:1: missing required field 'run_id'" in captured.err.splitlines()[0]
