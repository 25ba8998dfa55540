"""`status` on the local store, whatever values a state written before the bounds holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failstreak.cli import main
from failstreak.model import Alert, JobState, Run, State, Status
from failstreak.statecodec import encode

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
    assert len(out.splitlines()) == 4  # header, two jobs, the count


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
    # Given a state that is valid JSON but holds a mute whose pattern is a number
    doc = json.loads(encode(State(updated_at=T)))
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
