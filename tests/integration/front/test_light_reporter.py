"""The light reporter (`failstreak report --inbox https://.../ingest`, docs/http.md): one signed record posted to
the front's /ingest, the CI system's run identity filled in, refusals and outages reported in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failstreak import launcher, lightreport
from failstreak.app import cli
from tests.integration.front.conftest import INGEST_SECRET
from tests.integration.front.ingest_server import running

pytestmark = pytest.mark.integration

GITHUB_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_RUN_ID": "2202229078",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_REPOSITORY": "octo-org/octo-repo",
    "GITHUB_SHA": "3484a3fb816e0859fd6e1cea078d76385ff50625",
    "FAILSTREAK_INGEST_SECRET": INGEST_SECRET,
}


def _inbox(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for f in sorted(path.iterdir()) for line in f.read_text().splitlines()]


def test_a_record_is_posted_with_the_ci_run_identity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a front on loopback, and a GitHub Actions job's environment with the ingest secret
    with running(tmp_path) as server:
        # When the job reports its result
        code = lightreport.main(
            ["--inbox", f"{server.url}/ingest", "--job", "CodeQL / linters", "--status", "failure"], env=GITHUB_ENV
        )
        # Then the front took it (202), and the inbox holds the record with GitHub's run identity
        assert code == 0
        assert f"{server.url}/ingest (202)" in capsys.readouterr().out.splitlines()
        [record] = _inbox(server.inbox)
    assert {k: record[k] for k in ("job", "run_id", "attempt", "status", "commit", "source", "url")} == {
        "job": "CodeQL / linters",
        "run_id": "2202229078",
        "attempt": 2,
        "status": "failure",
        "commit": "3484a3fb816e0859fd6e1cea078d76385ff50625",
        "source": "github",
        "url": "https://github.com/octo-org/octo-repo/actions/runs/2202229078",
    }


def test_the_command_line_routes_an_https_inbox_to_the_light_reporter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the environment of a GitLab job, and the `failstreak` command (its launcher) and the monitor's CLI
    for name, value in {
        "GITLAB_CI": "true",
        "CI_PIPELINE_ID": "2366",
        "CI_JOB_ID": "1977",
        "FAILSTREAK_INGEST_SECRET": INGEST_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    with running(tmp_path) as server:
        args = ["report", "--inbox", f"{server.url}/ingest", "--job", "test", "--status", "failed", "--json"]
        # When either reports with an http(s) inbox
        assert launcher.main(args) == 0
        assert cli.main(args) == 0
        # Then both posted the record to the front (the second one a replayed record, counted once by the pass)
        outputs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [o["status"] for o in outputs] == [202, 202]
        records = _inbox(server.inbox)
    assert {(r["job"], r["run_id"], r["attempt"]) for r in records} == {("test", "2366", 1977)}


def test_a_record_the_front_refuses_fails_the_report_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a status the monitor does not know
    with running(tmp_path) as server:
        args = ["--inbox", f"{server.url}/ingest", "--job", "j", "--status", "exploded", "--run-id", "1"]
        # When reported; Then exit 1, with the front's 400 and its reason in one line, and nothing written
        assert lightreport.main(args, env={"FAILSTREAK_INGEST_SECRET": INGEST_SECRET}) == 1
        [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("failstreak: ")]
        assert line.startswith(f"failstreak: report: {server.url}/ingest refused the record (400: line 1: ")
        assert "exploded" in line
        assert list(server.inbox.iterdir()) == []


def test_a_wrong_secret_fails_the_report_and_no_secret_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the wrong secret in the environment
    with running(tmp_path) as server:
        args = ["--inbox", f"{server.url}/ingest", "--job", "j", "--status", "failed", "--run-id", "1"]
        # When reported; Then 401 named, and neither secret shows in the output
        assert lightreport.main(args, env={"FAILSTREAK_INGEST_SECRET": "not-it"}) == 1
        captured = capsys.readouterr()
        assert "(401: wrong signature)" in captured.err
        assert "not-it" not in captured.out + captured.err
        assert INGEST_SECRET not in captured.out + captured.err


def test_without_the_secret_the_report_says_which_variable_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    # Given no FAILSTREAK_INGEST_SECRET; When reporting; Then exit 1 naming the variable, nothing sent
    args = ["--inbox", "https://front.invalid/ingest", "--job", "j", "--status", "failed", "--run-id", "1"]
    assert lightreport.main(args, env={}) == 1
    assert "set FAILSTREAK_INGEST_SECRET" in capsys.readouterr().err


def test_an_outage_is_retried_until_the_front_takes_the_record(tmp_path: Path) -> None:
    # Given a front whose inbox cannot be written at first (a file stands where its directory should be)
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    with running(tmp_path / "front") as server:
        good = server.front.inbox
        server.front.inbox = str(blocked / "inbox")
        waits: list[float] = []

        def wait(seconds: float) -> None:
            waits.append(seconds)
            server.front.inbox = good  # the outage ends during the back-off

        record = {"job": "j", "run_id": "1", "status": "failed", "finished_at": "2026-09-20T10:00:00Z"}
        # When the record is posted
        status = lightreport.post(f"{server.url}/ingest", [record], INGEST_SECRET, sleep=wait)
        # Then the first attempt got 503 (its claim given back), the second 202, after one back-off
        assert status == 202
        assert waits == [1.0]
        assert len(server.requests) == 2
        assert len(_inbox(server.inbox)) == 1


def test_a_front_that_stays_down_fails_the_report_after_its_attempts(tmp_path: Path) -> None:
    # Given nothing listening where the front should be
    record = {"job": "j", "run_id": "1", "status": "failed", "finished_at": "2026-09-20T10:00:00Z"}
    waits: list[float] = []
    # When posting; Then each attempt fails, with back-off between them, and the error says how many were made
    with pytest.raises(lightreport.ReportError, match="did not take the record after 3 attempts"):
        lightreport.post("http://127.0.0.1:9/ingest", [record], INGEST_SECRET, sleep=waits.append)
    assert waits == [1.0, 2.0]
