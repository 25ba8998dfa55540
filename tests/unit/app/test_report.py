"""`failstreak report`: one validated record, uniquely named, into a local inbox; CI variables fill the gaps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from failstreak.app.cli import main
from failstreak.app.report import build_record, object_name, split_s3_uri, write_record
from failstreak.ci import ci_defaults
from failstreak.errors import ConfigError
from failstreak.inbox.intake import parse_file

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_RUN_ID": "987654",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_SERVER_URL": "https://github.example.com",
    "GITHUB_REPOSITORY": "acme/etl",
    "GITHUB_SHA": "abc123",
}


def _fixed_now() -> str:
    return "2026-11-23T05:00:00.000Z"


def test_record_carries_the_given_fields_and_validates_as_the_monitor_would() -> None:
    # Given a failed run described on the command line
    # When the record is built
    record = build_record(
        "nightly-etl",
        "failed",
        run_id="42",
        url="https://ci.example.com/42",
        commit="deadbeef",
        reason="OOMKilled",
        attempt=1,
        now=_fixed_now,
    )

    # Then it holds exactly those fields, finished now, and parses as one execution
    assert record == {
        "job": "nightly-etl",
        "run_id": "42",
        "status": "failed",
        "finished_at": "2026-11-23T05:00:00.000Z",
        "attempt": 1,
        "url": "https://ci.example.com/42",
        "commit": "deadbeef",
        "reason": "OOMKilled",
    }
    parsed = parse_file("x.jsonl", json.dumps(record).encode())
    assert [(e.job, e.run_id, e.status.value) for e in parsed.executions] == [("nightly-etl", "42", "failed")]


def test_github_actions_variables_fill_run_id_url_commit_attempt_and_source() -> None:
    # Given a report from inside a GitHub Actions job that gives only job and status
    # When the record is built
    record = build_record("deploy", "failure", env=GITHUB, now=_fixed_now)

    # Then the run id, link, commit and attempt come from the job's environment, and GitHub's spelling is accepted
    assert record["run_id"] == "987654"
    assert record["url"] == "https://github.example.com/acme/etl/actions/runs/987654"
    assert record["commit"] == "abc123"
    assert record["attempt"] == 2
    assert record["source"] == "github"
    assert record["status"] == "failure"


def test_command_line_values_win_over_ci_variables() -> None:
    # Given GitHub variables and explicit values for the same fields
    # When the record is built
    record = build_record("deploy", "success", run_id="7", commit="cafe", attempt=0, env=GITHUB, now=_fixed_now)

    # Then the explicit values are kept
    assert (record["run_id"], record["commit"], record["attempt"]) == ("7", "cafe", 0)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {
                "GITLAB_CI": "true",
                "CI_PIPELINE_ID": "5",
                "CI_JOB_ID": "11",
                "CI_JOB_URL": "https://gl/j/11",
                "CI_COMMIT_SHA": "g1",
            },
            ("gitlab", "5", "https://gl/j/11", "g1"),
        ),
        (
            {"BUILDKITE_BUILD_ID": "b", "BUILDKITE_JOB_ID": "bj", "BUILDKITE_BUILD_URL": "u", "BUILDKITE_COMMIT": "c"},
            ("buildkite", "bj", "u", "c"),
        ),
        ({"CIRCLE_BUILD_NUM": "5", "CIRCLE_BUILD_URL": "u", "CIRCLE_SHA1": "c"}, ("circleci", "5", "u", "c")),
        (
            {"CODEBUILD_BUILD_ID": "p:1", "CODEBUILD_BUILD_URL": "u", "CODEBUILD_RESOLVED_SOURCE_VERSION": "c"},
            ("codebuild", "p:1", "u", "c"),
        ),
        (
            {"BUILD_BUILDID": "9", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/x/", "BUILD_SOURCEVERSION": "c"},
            ("azure", "9", None, "c"),
        ),
        ({"JENKINS_URL": "j", "BUILD_NUMBER": "3", "BUILD_URL": "u", "GIT_COMMIT": "c"}, ("jenkins", "3", "u", "c")),
        ({"HOME": "/root"}, (None, None, None, None)),
    ],
)
def test_each_ci_system_is_recognised_by_its_variables(env: dict[str, str], expected: tuple[str | None, ...]) -> None:
    # Given the environment of a CI system
    # When its defaults are read
    found = ci_defaults(env)

    # Then the system, run id, URL and commit are the ones that system sets
    assert (found.system, found.run_id, found.url, found.commit) == expected


def test_a_record_without_run_id_outside_ci_is_refused() -> None:
    # Given no --run-id and no CI variables
    # When the record is built
    # Then the command refuses, saying what to give
    with pytest.raises(ConfigError, match="--run-id"):
        build_record("deploy", "failed", env={})


@pytest.mark.parametrize(
    ("status", "finished_at", "message"),
    [
        ("exploded", None, "unknown status"),
        ("failed", "yesterday", "not an RFC 3339 time"),
        ("failed", "2099-01-01T00:00:00Z", "is after .*, the pass's clock plus max_clock_skew"),
    ],
)
def test_a_record_the_monitor_would_reject_is_refused_before_writing(
    status: str, finished_at: str | None, message: str
) -> None:
    # Given a status or time the monitor cannot read
    # When the record is built
    # Then the command refuses with the monitor's own reason, so nothing lands in quarantine later
    with pytest.raises(ConfigError, match=message):
        build_record("deploy", status, run_id="1", finished_at=finished_at)


def test_a_failure_reported_with_its_category_carries_it() -> None:
    # Given a failed run its CI step knows was lost to the infrastructure
    # When the record is built with --category infra
    record = build_record("deploy", "failed", run_id="1", category="infra", reason="spot instance lost")
    # Then the record carries the category the monitor reads (docs/triage.md)
    assert record["category"] == "infra"


def test_a_category_that_is_not_a_name_is_refused_before_writing() -> None:
    # Given a category with capitals
    # When the record is built
    # Then the command refuses with the monitor's own reason
    with pytest.raises(ConfigError, match="field 'category'"):
        build_record("deploy", "failed", run_id="1", category="Infra")


def test_object_names_are_unique_safe_and_sort_by_time() -> None:
    # Given one record with an awkward job name, written twice at two times
    record = {"job": "team/a: nightly etl", "run_id": "r 1", "attempt": 3}
    early = object_name(record, stamp=datetime(2026, 11, 23, 5, 0, tzinfo=UTC))
    late = object_name(record, stamp=datetime(2026, 11, 23, 5, 1, tzinfo=UTC))

    # Then each name is a safe .jsonl key naming job, run and attempt, and names differ and sort by time
    assert early.startswith("20261123T050000000000Z-team_a_nightly_etl-r_1-a3-")
    assert early.endswith(".jsonl")
    assert "/" not in early
    assert " " not in early
    assert early < late
    assert object_name(record) != object_name(record)


def test_s3_uris_split_into_bucket_and_prefix() -> None:
    # Given inbox URIs with and without a trailing slash, and none at all
    # Then the key prefix always ends in a slash (or is empty), and a URI without a bucket is refused
    assert split_s3_uri("s3://b/failstreak/inbox/") == ("b", "failstreak/inbox/")
    assert split_s3_uri("s3://b/failstreak/inbox") == ("b", "failstreak/inbox/")
    assert split_s3_uri("s3://b") == ("b", "")
    with pytest.raises(ConfigError, match="no bucket"):
        split_s3_uri("s3:///inbox/")


def test_record_lands_in_a_local_inbox_as_one_jsonl_line(tmp_path: Path) -> None:
    # Given a local inbox directory and a record
    record = build_record("nightly-etl", "failed", run_id="42", now=_fixed_now)

    # When it is written
    where = Path(write_record(str(tmp_path / "inbox"), record, name="r.jsonl"))

    # Then one file holds exactly that record on one line, and no temporary file is left behind
    assert where == tmp_path / "inbox" / "r.jsonl"
    assert where.read_bytes().count(b"\n") == 1
    assert json.loads(where.read_text()) == record
    assert [p.name for p in where.parent.iterdir()] == ["r.jsonl"]


def test_cli_report_writes_into_the_configs_inbox_and_the_next_pass_counts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a local config whose inbox is empty, outside any CI
    for name in ("GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITLAB_CI", "CI_JOB_ID", "JENKINS_URL", "BUILD_URL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "failstreak.yaml"
    config.write_text("state: state.json\ninbox: inbox/\nthresholds: {consecutive: 2}\n", encoding="utf-8")

    # When a CI job reports two failed runs of the same job, then a monitor pass runs
    for run in ("1", "2"):
        args = ["report", "--config", str(config), "--job", "nightly-etl", "--status", "FAILED", "--run-id", run]
        assert main([*args, "--finished-at", f"2026-11-23T0{run}:00:00Z", "--reason", "disk full"]) == 0
    written = capsys.readouterr().out.split()
    assert main(["run", "--config", str(config), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)

    # Then each report printed where it landed, and the pass ingested both and raised the alert
    assert [Path(w).parent for w in written] == [tmp_path / "inbox", tmp_path / "inbox"]
    assert summary["ingested"] == 2
    assert summary["rejected"] == 0
    assert [(n["job"], n["event"], n["consecutive_failures"]) for n in summary["notifications"]] == [
        ("nightly-etl", "triggered", 2)
    ]


def test_cli_report_explains_a_refused_record_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an inbox and a status nobody knows
    # When the report is made
    code = main(["report", "--inbox", str(tmp_path), "--job", "j", "--status", "bogus", "--run-id", "1"])

    # Then it fails with a one-line reason and writes nothing
    assert code == 1
    assert "unknown status" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_gitlab_report_has_the_identity_the_gitlab_source_gives_the_same_job() -> None:
    # Given a GitLab job's environment: pipeline 5004, the job's second try (job id 41)
    env = {"GITLAB_CI": "true", "CI_PIPELINE_ID": "5004", "CI_JOB_ID": "41", "CI_JOB_NAME": "deploy"}

    # When the job reports itself under its name
    record = build_record("deploy", "failed", env=env, now=_fixed_now)

    # Then run id and attempt are the pipeline id and the job id, as the source reads them (docs/sources.md)
    assert (record["job"], record["run_id"], record["attempt"]) == ("deploy", "5004", 41)
