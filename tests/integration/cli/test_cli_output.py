"""What `failstreak run` and `status` print for a person, and how the command line reports its errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from failstreak.app.cli import main
from tests.conftest import T0
from tests.integration.platform_servers import FakeGitLab, serve
from tests.integration.slack_server import SlackServer, running


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


def write_runs(inbox: Path, name: str, job: str, statuses: str, start: int = 1, at: int = T0) -> None:
    lines = [
        json.dumps({"job": job, "run_id": start + i, "status": s, "finished_at": at + i * 60_000})
        for i, s in enumerate(statuses.split())
    ]
    (inbox / name).write_text("\n".join(lines) + "\n")


def test_run_prints_backlog_rejects_failed_deliveries_and_failed_sources(
    tmp_path: Path, slack: SlackServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one inbox file per pass and two waiting, a bad line, Slack down, and a source that refuses connections
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("GL", "glpat-1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = tmp_path / "failstreak.yaml"
    config.write_text(
        "state: state.json\ninbox: inbox/\ninbox_max_files: 1\n"
        f"notify: {{slack: {{token: {{env: SLACK_TOKEN}}, base_url: '{slack.base_url}', default_channel: '#ops'}}}}\n"
    )
    config.write_text(
        config.read_text()
        + "sources:\n"
        + f"  - {{type: gitlab, name: gl, url: 'http://127.0.0.1:{closed}', token: {{env: GL}}, project: a/b,"
        + " max_retries: 0, time_budget_seconds: 2}\n"
    )
    write_runs(inbox, "1-a.jsonl", "ci/a", "failed failed failed")
    (inbox / "1-a.jsonl").write_text((inbox / "1-a.jsonl").read_text() + "{not json\n")
    write_runs(inbox, "2-b.jsonl", "ci/b", "success", start=10)
    slack.down()
    capsys.readouterr()

    # When a pass runs, printing for a person
    assert main(["run", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    out, err = captured.out.splitlines(), captured.err.splitlines()

    # Then one line sums it up, with what is left for the next pass on stdout
    assert out[0].endswith(
        "1 files; 3 runs ingested; 0 duplicates; 1 rejected; 1 jobs, 1 alerting; 1 triggered; 1 notifications pending"
    )
    assert out[1:] == ["  1 inbox files left for the next pass (inbox_max_files / inbox_max_mib / inbox_max_records)"]
    # And each thing needing attention gets its own line on stderr, at its level
    # (the reasons' own wording belongs to the parser, the notifier and the source, and is tested there)
    assert len(err) == 3
    assert err[0].startswith("failstreak: error: source gl failed: gl: ")
    assert err[1].startswith("failstreak: warning: delivery of triggered of ci/a to slack:#ops failed, will retry: ")
    assert err[2].startswith("failstreak: warning: rejected 1-a.jsonl:4: ")


def test_status_shows_per_job_windows_mutes_and_shortens_long_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an override with its own window, a muted job, and a job with a very long name
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = tmp_path / "failstreak.yaml"
    config.write_text(
        "state: state.json\ninbox: inbox/\noverrides:\n  - {match: 'nightly/*', window: 5}\n"
        "mutes:\n  - {match: 'ci/*', until: 2099-01-01T00:00:00Z, reason: migration}\n"
    )
    long_name = "team/" + "x" * 80
    write_runs(inbox, "a.jsonl", "ci/a", "failed failed failed")
    write_runs(inbox, "b.jsonl", "nightly/etl", "success", start=10)
    write_runs(inbox, "c.jsonl", long_name, "success", start=20)
    assert main(["run", "--json", "--config", str(config)]) == 0
    capsys.readouterr()

    # When the status is printed
    assert main(["status", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()

    # Then the alerting job comes first, marked muted with its reason; the override's window is shown; the long
    # name is cut to the column's 60 characters
    assert lines[0].startswith(f"state: {tmp_path / 'state.json'} (updated ")
    assert lines[2].startswith("ci/a ")
    assert lines[2].endswith("ALERTING (consecutive), muted: migration")
    assert any(line.startswith("nightly/etl ") and line.endswith("ok  [window 5]") for line in lines)
    assert any(line.startswith(long_name[:59] + "… ") for line in lines)
    assert lines[-1] == "3 jobs, 1 alerting"


def test_status_of_one_job_prints_its_counters_as_the_full_status_has_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a state with an alerting job and a healthy one, after a pass
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = tmp_path / "failstreak.yaml"
    config.write_text("state: state.json\ninbox: inbox/\n")
    write_runs(inbox, "a.jsonl", "ci/a", "failed failed failed")
    write_runs(inbox, "b.jsonl", "ci/b", "success", start=10)
    assert main(["run", "--json", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--config", str(config)]) == 0
    everything = json.loads(capsys.readouterr().out)

    # When one job's status is asked for, as JSON and as text
    assert main(["status", "ci/a", "--json", "--config", str(config)]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(["status", "ci/a", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()

    # Then it is that job's row of the full status, and the text says the same
    assert one == {"state": everything["state"], "job": "ci/a", **everything["jobs"]["ci/a"]}
    assert lines[:4] == [
        f"state: {tmp_path / 'state.json'}",
        "job: ci/a",
        f"alerting since {one['alerting_since']} (consecutive)",
        "streak 3, window 3/3, 3 runs (3 failed)",
    ]
    assert lines[-1] == "owner: -"


def test_status_of_a_job_the_state_does_not_hold_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a state after a pass over one job
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = tmp_path / "failstreak.yaml"
    config.write_text("state: state.json\ninbox: inbox/\n")
    write_runs(inbox, "a.jsonl", "ci/a", "success")
    assert main(["run", "--json", "--config", str(config)]) == 0
    capsys.readouterr()
    # When another job's status is asked for; Then it fails in one line naming the state and the job
    assert main(["status", "ci/zz", "--config", str(config)]) == 1
    assert capsys.readouterr().err == (
        f"failstreak: {tmp_path / 'state.json'}: no job named 'ci/zz'; `failstreak status` lists the jobs\n"
    )


def test_an_os_error_is_one_line_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an import from a file that does not exist
    missing = tmp_path / "job_executions.json"
    (tmp_path / "failstreak.yaml").write_text("state: state.json\n")
    # When it runs, then it fails with one line naming the file and the reason
    code = main(["import", "--from", "datadog", str(missing), "--config", str(tmp_path / "failstreak.yaml")])
    assert code == 1
    assert capsys.readouterr().err == f"failstreak: {missing}: No such file or directory\n"


def test_report_without_an_inbox_says_where_to_give_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a config with no inbox, and no --inbox
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: null\n")
    # When a record is reported, then it fails saying how to name an inbox
    code = main(["report", "--job", "ci/a", "--status", "failed", "--config", str(tmp_path / "failstreak.yaml")])
    assert code == 1
    assert capsys.readouterr().err == "failstreak: report: no inbox: give --inbox, or a config that names one\n"


def test_a_quiet_pass_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a healthy run in the inbox and a source that answers
    monkeypatch.setenv("GL", "glpat-1")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_runs(inbox, "a.jsonl", "ci/a", "success")
    with serve(FakeGitLab("glpat-1", "a/b")) as gitlab:
        (tmp_path / "failstreak.yaml").write_text(
            "state: state.json\ninbox: inbox/\nsources:\n"
            f"  - {{type: gitlab, name: gl, url: '{gitlab.base_url}', token: {{env: GL}}, project: a/b}}\n"
        )
        # When a pass runs, printing for a person
        assert main(["run", "--config", str(tmp_path / "failstreak.yaml")]) == 0

    # Then it prints the one summary line, with no notifications and nothing needing attention
    (line,) = capsys.readouterr().out.splitlines()
    assert line.endswith(": 1 files; 1 runs ingested; 0 duplicates; 0 rejected; 1 jobs, 0 alerting")
