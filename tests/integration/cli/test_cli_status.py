"""`failstreak status` for people (docs/cli.md): the run strip, filters, one job's history, the JSON of it all."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from failstreak.app.cli import main
from failstreak.state import lazy
from failstreak.state.codec import JOBS_PER_MEMBER
from tests.conftest import T0

HOSTILE = "evil\x1b]0;pwned\x07job"


@pytest.fixture
def config(tmp_path: Path) -> str:
    """After one pass: ci/a failing (alerting, team-ci), ci/b flaky (team-ci), etl/c fine (team-data), and a job
    whose name holds a terminal escape sequence."""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "JOBOWNERS").write_text("ci/*  @team-ci\netl/*  @team-data\n")
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\nowners: JOBOWNERS\n")
    runs = {
        "ci/a": "success failed failed failed",
        "ci/b": "failed success canceled failed",
        "etl/c": "success success",
        HOSTILE: "success",
    }
    lines = [
        json.dumps(
            {
                "job": job,
                "run_id": n,
                "status": status,
                "finished_at": T0 + n * 60_000,
                "attempt": 1 if n == 3 else 0,
                "reason": f"boom {n}",
                "commit": f"c0ffee{n}",
                "url": f"https://ci.example.com/{n}",
            }
        )
        for job, statuses in runs.items()
        for n, status in enumerate(statuses.split(), start=1)
    ]
    (tmp_path / "inbox" / "runs.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["run", "--config", str(tmp_path / "failstreak.yaml")]) == 0
    return str(tmp_path / "failstreak.yaml")


def status(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["status", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_the_table_shows_each_jobs_window_as_a_strip_of_runs(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the state of one pass
    # When the status is printed
    lines = status(capsys, "--config", config)

    # Then a RUNS column shows each job's runs oldest first (✅ success, ❌ failure, ⚪ ignored)
    assert "RUNS" in lines[1]
    assert lines[2].startswith("ci/a ")
    assert "✅❌❌❌" in lines[2]
    assert any(line.startswith("ci/b ") and "❌✅⚪❌" in line for line in lines)


def test_alerting_team_and_glob_filters_select_the_jobs_shown(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the state of one pass
    # When the status is filtered to alerting jobs, to a team, and by a glob
    alerting = status(capsys, "--config", config, "--alerting")
    team = status(capsys, "--config", config, "--team", "@team-ci")
    glob = status(capsys, "--config", config, "etl/*")

    # Then each shows only the jobs selected, and says how many of all
    assert [line.split()[0] for line in alerting[2:-1]] == ["ci/a"]
    assert alerting[-1] == "1 jobs (of 4), 1 alerting"
    assert [line.split()[0] for line in team[2:-1]] == ["ci/a", "ci/b"]
    assert [line.split()[0] for line in glob[2:-1]] == ["etl/c"]
    assert glob[-1] == "1 jobs (of 4), 0 alerting"


def test_status_of_one_job_shows_its_runs_newest_first_and_its_incident(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an alerting job
    # When its status is asked by name
    lines = status(capsys, "--config", config, "ci/a")

    # Then its teams, counters, strip, incident and each remembered run (newest first, with details) are shown
    assert lines[0] == "job: ci/a"
    assert lines[1] == "teams: team-ci"
    assert lines[2] == "streak 3, window 3/4 of 10, 4 runs (3 failed)"
    assert "runs: ✅❌❌❌  (oldest → newest)" in lines
    incident = next(line for line in lines if line.startswith("ALERTING since "))
    assert "(consecutive)" in incident
    assert "began at commit c0ffee2" in incident
    runs = lines[lines.index("remembered runs, newest first:") + 1 :]
    assert [line.split()[1] for line in runs] == ["4", "3", "2", "1"]
    assert "attempt 1  c0ffee3  boom 3  https://ci.example.com/3" in runs[1]


def test_status_json_holds_runs_teams_mutes_and_incidents_for_all_or_one_job(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the state of one pass
    # When the JSON is asked for every job, for alerting jobs, and for one job
    every = json.loads("".join(status(capsys, "--config", config, "--json")))
    alerting = json.loads("".join(status(capsys, "--config", config, "--json", "--alerting")))
    one = json.loads("".join(status(capsys, "--config", config, "--json", "ci/a")))

    # Then each job has its counters (as before), teams, mute, incident and runs; filters apply; one job is that job
    a = every["jobs"]["ci/a"]
    assert (a["consecutive_failures"], a["window_failures"], a["window_size"], a["alerting"]) == (3, 3, 4, True)
    assert a["teams"] == ["team-ci"]
    assert a["muted"] is None
    assert a["incident"]["reasons"] == ["consecutive"]
    assert [r["status"] for r in a["runs"]] == ["success", "failed", "failed", "failed"]
    assert a["runs"][2] == {
        "run_id": "3",
        "status": "failed",
        "finished_at": "2025-11-13T02:16:20Z",
        "attempt": 1,
        "url": "https://ci.example.com/3",
        "commit": "c0ffee3",
        "reason": "boom 3",
    }
    assert every["jobs"]["etl/c"]["incident"] is None
    assert list(alerting["jobs"]) == ["ci/a"]
    assert one["job"] == "ci/a"
    assert one["runs"] == a["runs"]


def test_status_json_to_a_text_only_stdout_is_the_same_document(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the state of one pass, and its JSON as the command prints it
    every = "".join(status(capsys, "--config", config, "--json"))
    # When the command runs with stdout replaced by a stream of text alone (no bytes buffer behind it)
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert main(["status", "--config", config, "--json"]) == 0
    # Then it prints the same document, on one line
    assert text.getvalue() == every + "\n"
    assert json.loads(text.getvalue())["jobs"]["ci/a"]["alerting"] is True


def test_names_holding_terminal_escapes_are_shown_escaped(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a job whose name holds an OSC sequence that would retitle the terminal
    # When the table and the job's own status are printed
    table = "\n".join(status(capsys, "--config", config))
    detail = "\n".join(status(capsys, "--config", config, HOSTILE))

    # Then neither holds the control characters, only their visible escapes
    for out in (table, detail):
        assert "\x1b" not in out
        assert "\x07" not in out
        assert "evil\\x1b]0;pwned\\x07job" in out


def _decodes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every decoding of a slice of jobs of a large state, as it happens: split into its jobs' texts (a reader of
    one job) or decoded whole (a reader of many)."""
    done: list[bytes] = []

    class Counting:
        def __init__(self, real: Any) -> None:
            self.real = real

        def decode(self, data: bytes) -> object:
            done.append(data)
            return self.real.decode(data)

    monkeypatch.setattr(lazy, "_DECODER", Counting(lazy._DECODER))
    monkeypatch.setattr(lazy, "_SLICE", Counting(lazy._SLICE))
    return done


def test_status_of_one_job_of_a_large_state_decodes_its_slice_of_jobs_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a large state (stored compressed, `JOBS_PER_MEMBER` jobs to a slice): 3,000 jobs, two runs each
    (tmp_path / "inbox").mkdir()
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\n")
    lines = [
        json.dumps({"job": f"etl/{j}", "run_id": n, "status": "failed", "finished_at": T0 + n * 60_000})
        for j in range(3_000)
        for n in (1, 2)
    ]
    (tmp_path / "inbox" / "runs.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["run", "--config", str(tmp_path / "failstreak.yaml")]) == 0
    assert (tmp_path / "state.json").read_bytes()[:2] == b"\x1f\x8b"
    decoded = _decodes(monkeypatch)
    capsys.readouterr()
    # When `status` shows one job, as text and as JSON, and then the alerting jobs of a glob
    assert main(["status", "etl/1234", "--config", str(tmp_path / "failstreak.yaml")]) == 0
    assert main(["status", "etl/1234", "--json", "--config", str(tmp_path / "failstreak.yaml")]) == 0
    one = len(decoded)
    assert main(["status", "etl/12*", "--json", "--config", str(tmp_path / "failstreak.yaml")]) == 0
    # Then each of the first two decoded the one slice holding the job; the glob, the slices of its 111 jobs
    out = capsys.readouterr().out
    assert one == 2
    assert [b'"name":"etl/1234"' in d for d in decoded[:2]] == [True, True]
    assert len(json.loads(out.splitlines()[-1])["jobs"]) == 111
    assert one + len({j // JOBS_PER_MEMBER for j in range(3_000) if str(j).startswith("12")}) == len(decoded)
