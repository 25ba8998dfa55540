"""No silent misconfiguration: each mistake a user can make speaks, in one line naming the file and the key."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from failstreak.app.check import run_checks
from failstreak.app.cli import main
from failstreak.app.config import load_config, parse_config
from failstreak.errors import ConfigError
from tests.integration.local.test_local_pass import record

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    _write(tmp_path / "failstreak.yaml", "state: state.json\ninbox: inbox/\n")
    return tmp_path


def cli(workdir: Path, *args: str) -> int:
    return main([*args, "--config", str(workdir / "failstreak.yaml")])


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


# -- the inbox ------------------------------------------------------------------------------------------------


def test_a_missing_inbox_directory_is_a_warning_naming_the_config_and_key(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a config whose inbox directory does not exist
    cfg = _write(workdir / "failstreak.yaml", "state: state.json\ninbox: no-such-dir/\n")
    # When a pass runs
    assert main(["run", "--config", str(cfg)]) == 0
    # Then it goes on, and says on stderr that no inbox file was read, naming the file and the key
    err = capsys.readouterr().err
    assert f"failstreak: warning: {cfg}: inbox: {workdir / 'no-such-dir'} does not exist" in err


def test_an_inbox_that_is_a_file_is_an_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an inbox path that names a file
    _write(workdir / "records.jsonl", record("a", 1) + "\n")
    cfg = _write(workdir / "failstreak.yaml", "state: state.json\ninbox: records.jsonl\n")
    # When a pass runs, then it fails in one line naming the config, the key and the path
    assert main(["run", "--config", str(cfg)]) == 1
    assert one_error(capsys) == (f"failstreak: {cfg}: inbox: {workdir / 'records.jsonl'} is a file, not a directory")


def test_an_unreadable_inbox_is_an_error(tmp_path: Path) -> None:
    # Given an inbox directory the monitor's user may not list (the test runs the CLI as `nobody`, since root
    # may list anything)
    root = Path(tempfile.mkdtemp(prefix="failstreak-unreadable-"))
    try:
        root.chmod(0o755)
        (root / "inbox").mkdir(mode=0o000)
        cfg = _write(root / "failstreak.yaml", "state: state.json\ninbox: inbox/\n")
        cfg.chmod(0o644)
        # When a pass runs, then it fails in one line naming the config, the key and the reason
        run = subprocess.run(
            [*AS_NOBODY, sys.executable, "-m", "failstreak.app.cli", "run", "--config", str(cfg)],
            capture_output=True,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(FUNCTIONS)},
            check=False,
        )
        assert run.returncode == 1
        assert run.stderr.strip() == f"failstreak: {cfg}: inbox: {root / 'inbox'}: cannot list: Permission denied"
        assert not (root / "state.json").exists()
    finally:
        (root / "inbox").chmod(0o755)
        shutil.rmtree(root)


# -- locations ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "fixed"),
    [
        ("s3:/bucket/fs/state.json", "s3://bucket/fs/state.json"),
        ("S3://bucket/fs/state.json", "s3://bucket/fs/state.json"),
    ],
)
def test_a_mistyped_s3_uri_is_an_error_not_a_local_path(written: str, fixed: str) -> None:
    # Given a state location that looks like an S3 URI but is not one
    # When the config is loaded, then the error names the file and key and shows what to write
    with pytest.raises(ConfigError) as err:
        parse_config(f"state: {written}\n", source="prod.yaml")
    assert str(err.value) == (
        f"prod.yaml: state: {written!r} is not an S3 URI (it would be read as a local path); write {fixed!r}"
    )


def test_a_mistyped_s3_uri_in_config_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # Given --config written with a single slash
    # When any command runs, then it refuses the location rather than reading a local file of that name
    assert main(["status", "--config", "s3:/bucket/failstreak/config.yaml"]) == 1
    assert one_error(capsys) == (
        "failstreak: --config: 's3:/bucket/failstreak/config.yaml' is not an S3 URI (it would be read as a local "
        "path); write 's3://bucket/failstreak/config.yaml'"
    )


@pytest.mark.parametrize("key", ["state", "inbox", "owners"])
def test_a_relative_path_in_a_config_read_from_s3_is_an_error(key: str) -> None:
    # Given a config read from S3 naming a relative local path
    # When it is parsed, then the error says the path would be relative to nothing meant, and what to write
    with pytest.raises(ConfigError) as err:
        parse_config(f"{key}: fs/{key}\n", source="s3://bucket/failstreak/config.yaml")
    assert str(err.value) == (
        f"s3://bucket/failstreak/config.yaml: {key}: 'fs/{key}' is a relative path in a config read from S3; "
        "give an s3:// URI (or an absolute path)"
    )


# -- thresholds, reminders, patterns ----------------------------------------------------------------------------


def test_cumulative_greater_than_window_is_an_error() -> None:
    # Given a cumulative threshold that a window of 10 runs can never reach
    with pytest.raises(ConfigError) as err:
        parse_config("thresholds: {cumulative: 12, window: 10}", source="f.yaml")
    # Then the error names the file and key and says why
    assert str(err.value) == (
        "f.yaml: thresholds: cumulative (12) is greater than window (10): it could never fire; "
        "lower cumulative or raise window"
    )


def test_an_override_whose_cumulative_exceeds_its_window_is_an_error() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("overrides: [{match: 'nightly-*', cumulative: 6, window: 4}]", source="f.yaml")
    assert "overrides[0] (nightly-*): cumulative (6) is greater than window (4): it could never fire" in str(err.value)


def test_a_default_cumulative_above_a_written_window_is_a_check_warning(tmp_path: Path) -> None:
    # Given a window written smaller than the default cumulative (5)
    cfg = _write(tmp_path / "f.yaml", "state: s.json\ninbox: in/\nthresholds: {window: 4}\n")
    # When it is loaded, then it loads, and the check names the threshold that can never fire
    assert load_config(str(cfg)).unreachable_cumulative() == [
        "thresholds: cumulative (5, the default) is greater than window (4)"
    ]


def test_a_negative_reminder_interval_is_an_error() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("reminder: {every_hours: -1}", source="f.yaml")
    assert str(err.value) == "f.yaml: reminder.every_hours: should be greater than 0 (got -1)"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("overrides: [{match: '', consecutive: 2}]", "overrides.0.match", "the pattern is empty"),
        ("mutes: [{match: ' ', runs: 1}]", "mutes.0.match", "the pattern is empty"),
        ("job_keys: {exclude: ['ci/[web']}", "job_keys.exclude", "unclosed '[' in pattern 'ci/[web'"),
    ],
)
def test_an_empty_or_invalid_pattern_is_an_error(text: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="f.yaml")
    assert str(err.value).startswith(f"f.yaml: {where}: {message}")


# -- secrets and mistyped keys --------------------------------------------------------------------------------


def test_a_token_written_as_a_plain_string_explains_what_to_write() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("notify: {slack: {token: xoxb-123}}", source="f.yaml")
    assert str(err.value) == (
        "f.yaml: notify.slack.token: write a reference, never the secret itself: "
        "{env: NAME}, {secret: NAME} or {ssm: /PATH}"
    )
    assert "SecretRef" not in str(err.value)


def test_a_section_written_as_a_number_names_no_internal_class() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("reminder: 24", source="f.yaml")
    assert str(err.value) == "f.yaml: reminder: should be a mapping of keys to values, not 24"


def test_a_mistyped_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("thresholds: {consecutve: 2}", source="f.yaml")
    assert str(err.value) == "f.yaml: thresholds.consecutve: unknown key; did you mean 'consecutive'?"


def test_a_sources_error_names_the_config_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write(workdir / "failstreak.yaml", "state: state.json\ninbox: inbox/\nsources: [{type: github}]\n")
    assert main(["run", "--config", str(cfg)]) == 1
    assert one_error(capsys).startswith(f"failstreak: {cfg}: sources[0] (github): ")


# -- owners ---------------------------------------------------------------------------------------------------


def test_an_unknown_team_in_jobowners_is_a_warning(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an owners file naming a team the config does not define
    _write(workdir / "JOBOWNERS", "ci/*  @team-a\nnightly-*  @team-typo\n")
    _write(
        workdir / "failstreak.yaml",
        "state: state.json\ninbox: inbox/\nowners: JOBOWNERS\nteams: {team-a: {slack: ['#a']}}\n",
    )
    _write(workdir / "inbox" / "a.jsonl", "".join(record("nightly-etl", i) + "\n" for i in (1, 2, 3)))
    # When a pass runs
    assert cli(workdir, "run") == 0
    # Then the unknown team is named with its line, and the alert still went out (to the defaults)
    out = capsys.readouterr()
    assert (
        f"failstreak: warning: {workdir / 'JOBOWNERS'}:2: team @team-typo is not in the config's teams: "
        "(its jobs' alerts go to the defaults)"
    ) in out.err
    assert "FAILING" in out.out


@pytest.mark.parametrize(
    ("owners", "reason"),
    [
        (None, "cannot read: No such file or directory"),
        ("@team-a ci/*\n", "JOBOWNERS:1: the line starts with an owner"),
    ],
)
def test_a_missing_or_malformed_jobowners_does_not_stop_counting(
    workdir: Path, capsys: pytest.CaptureFixture[str], owners: str | None, reason: str
) -> None:
    # Given an owners file that is missing or malformed
    if owners is not None:
        _write(workdir / "JOBOWNERS", owners)
    _write(workdir / "failstreak.yaml", "state: state.json\ninbox: inbox/\nowners: JOBOWNERS\n")
    _write(workdir / "inbox" / "a.jsonl", "".join(record("ci/a", i) + "\n" for i in (1, 2, 3)))
    # When a pass runs
    assert cli(workdir, "run", "--json") == 0
    out = capsys.readouterr()
    summary = json.loads(out.out.splitlines()[-1])
    # Then the runs are counted and the alert routed to the defaults, and the problem is reported
    assert summary["ingested"] == 3
    assert [n["event"] for n in summary["notifications"]] == ["triggered"]
    [warning] = summary["warnings"]
    assert warning.startswith("owners file not used, alerts go to the default destinations: ")
    assert reason in warning
    assert f"failstreak: warning: {warning}" in out.err


# -- mute, unmute, status -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--until", "2001-01-01T00:00:00Z"], "mute: --until 2001-01-01T00:00:00Z is in the past (now is "),
        (["--hours", "-5"], "mute: --hours must be more than 0, not -5"),
        (["--runs", "-3"], "mute: --runs must be 1 or more, not -3"),
        (["--hours", "2", "--until", "2099-01-01T00:00:00Z"], "mute: give --until or --hours, not both"),
    ],
)
def test_a_mute_that_cannot_mean_what_was_asked_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    # Given an existing state
    assert cli(workdir, "run") == 0
    capsys.readouterr()
    # When a mute is asked with a time in the past, a negative count, or two ends at once
    assert cli(workdir, "mute", "ci/*", *args) == 1
    # Then it is refused in one line, and no mute is saved
    assert one_error(capsys).startswith(f"failstreak: {message}")
    assert cli(workdir, "mutes", "--json") == 0
    assert json.loads(capsys.readouterr().out)["mutes"] == []


@pytest.mark.parametrize("pattern", ["", "  ", "ci/[web"])
def test_an_empty_or_invalid_mute_pattern_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str], pattern: str
) -> None:
    assert cli(workdir, "mute", pattern, "--hours", "1", "--create") == 1
    err = one_error(capsys)
    assert err.startswith("failstreak: mute: ")
    assert ("unclosed '['" in err) if "[" in pattern else ("the pattern is empty" in err)


@pytest.mark.parametrize("command", [["mute", "prod-*", "--hours", "4"], ["unmute", "prod-*"], ["status"]])
def test_commands_on_a_state_that_does_not_exist_refuse_and_say_where_they_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # Given no config in the current directory, and no state there
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAILSTREAK_CONFIG", raising=False)
    # When the on-call mutes, unmutes or asks for the status
    assert main(command) == 1
    # Then the command says which state it looked for and does not create one
    err = one_error(capsys)
    assert err.startswith("failstreak: no state at .failstreak/state.json (config: (default config)); ")
    assert "--create" in err
    assert not (tmp_path / ".failstreak").exists()


def test_mute_with_create_writes_the_mutes_document_before_any_state_and_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no state yet; When a mute is written with --create
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAILSTREAK_CONFIG", raising=False)
    assert main(["mute", "prod-*", "--hours", "4", "--create"]) == 0
    # Then it is in the mutes document beside where the state will be, and no state is written
    assert capsys.readouterr().out.startswith("muted prod-* (id ")
    assert (tmp_path / ".failstreak" / "mutes.json").exists()
    assert not (tmp_path / ".failstreak" / "state.json").exists()


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "{type: github, token: ghp_x, repo: a/b}",
            "sources[0] (github): token: write a reference, never the secret itself: "
            "{env: NAME}, {secret: NAME} or {ssm: /PATH}",
        ),
        (
            "{type: github, token: {env: X}, repo: a/b, brnach: main}",
            "sources[0] (github): brnach: unknown field; did you mean 'branch'?",
        ),
    ],
)
def test_a_sources_error_speaks_the_config_files_words(
    workdir: Path, capsys: pytest.CaptureFixture[str], block: str, message: str
) -> None:
    # Given a source block with a token written as a plain string, or a mistyped key
    cfg = _write(workdir / "failstreak.yaml", f"state: state.json\ninbox: inbox/\nsources: [{block}]\n")
    # When a pass runs, then the one-line error names the file, the block and the key, and what to write
    assert main(["run", "--config", str(cfg)]) == 1
    err = one_error(capsys)
    assert err == f"failstreak: {cfg}: {message}"
    assert "SecretRef" not in err


BROKEN_SOURCE = "{type: databricks, url: 'https://adb.example.net', token: {env: T}, workspace_url: x}"


@pytest.mark.parametrize(
    "command",
    [["run"], ["status"], ["mutes"], ["mute", "nightly-*", "--hours", "1", "--create"], ["unmute", "x"]],
    ids=lambda c: c[0],
)
def test_every_command_that_reads_the_config_refuses_a_broken_source_block_naming_the_field(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # Given a Databricks block with a field its platform does not have
    cfg = _write(workdir / "failstreak.yaml", f"state: state.json\ninbox: inbox/\nsources: [{BROKEN_SOURCE}]\n")
    # When a command that reads the config runs
    code = main([*command, "--config", str(cfg)])
    # Then it stops before doing anything, with one line naming the file, the block and the field
    assert code == 1
    assert one_error(capsys) == (f"failstreak: {cfg}: sources[0] (databricks): workspace_url: unknown field")
    assert not (workdir / "state.json").exists()


def test_check_reports_a_broken_source_block_as_its_one_failing_config_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a config whose second source names a platform failstreak does not know
    good = "{type: github, token: {env: GH}, repo: o/r}"
    cfg = _write(workdir / "failstreak.yaml", f"state: state.json\nsources: [{good}, {{type: jenkins, url: x}}]\n")
    # When `failstreak check` runs
    code = main(["check", "--config", str(cfg)])
    # Then the config check fails, naming the block's type and what it may be
    assert code == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"FAIL         config: {cfg}: sources[1]: type: must be one of databricks, dataiku, gitlab, github",
        "1 checks, 1 failed (0 warnings)",
    ]


def test_a_subfolder_the_pass_may_not_list_is_reported_and_the_other_files_counted(tmp_path: Path) -> None:
    # Given, beside a good file, a producer's subfolder of the inbox that the monitor's user may not list (the
    # test runs the CLI as `nobody`, since root may list anything)
    root = Path(tempfile.mkdtemp(prefix="failstreak-subfolder-"))
    try:
        root.chmod(0o777)
        (root / "inbox").mkdir(mode=0o777)
        (root / "inbox").chmod(0o777)
        _write(root / "inbox" / "good.jsonl", record("ci/a", 1) + "\n").chmod(0o666)
        (root / "inbox" / "team-x").mkdir(mode=0o700)
        _write(root / "inbox" / "team-x" / "hidden.jsonl", record("ci/b", 1) + "\n")
        (root / "inbox" / "team-x").chmod(0o000)
        cfg = _write(root / "failstreak.yaml", "state: state.json\ninbox: inbox/\n")
        cfg.chmod(0o644)

        # When a pass runs
        run = subprocess.run(
            [*AS_NOBODY, sys.executable, "-m", "failstreak.app.cli", "run", "--json", "--config", str(cfg)],
            capture_output=True,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(FUNCTIONS)},
            check=False,
        )

        # Then the pass completes and counts the good file, and names the folder with what to fix
        assert run.returncode == 0, run.stderr
        summary = json.loads(run.stdout)
        assert summary["ingested"] == 1
        assert [(r["file"], r["reason"]) for r in summary["rejects"]] == [
            (
                "team-x",
                f"not read this pass: {root / 'inbox'}/team-x: a folder the monitor may not list (Permission "
                "denied): give the monitor's user read and execute permission on it",
            )
        ]
        assert "warning: " in run.stderr
        # And the folder stays where it is, for its files to be read once its permissions are fixed
        assert (root / "inbox" / "team-x").is_dir()
    finally:
        for path in root.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(root)


def test_flaky_jobs_routed_to_a_digest_that_is_not_configured_is_a_check_warning(tmp_path: Path) -> None:
    # Given an override that routes flaky jobs to the digest, and no `digest:` block
    text = "state: s.json\ninbox: in/\noverrides: [{match: 'e2e-*', flaky: digest}]\n"
    cfg = _write(tmp_path / "f.yaml", text)
    # When it is checked; Then it loads, and the check says those flaky jobs are silenced
    assert load_config(str(cfg)).flaky_digest_unsent() == [
        "overrides[0] (e2e-*): flaky: digest, but no digest: is configured; its flaky jobs are silenced"
    ]
    checks = [c.line() for c in run_checks(str(cfg))]
    assert any(line.startswith("WARN") and "flaky: digest, but no digest:" in line for line in checks)
    # And with a digest configured it says nothing
    with_digest = _write(tmp_path / "g.yaml", text + "digest: {at: '09:00'}\n")
    assert load_config(str(with_digest)).flaky_digest_unsent() == []


# -- several mistakes at once ---------------------------------------------------------------------------------


def test_every_mistake_of_the_config_is_a_line_of_its_own(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a config with three mistakes
    _write(
        workdir / "failstreak.yaml", "state: state.json\nthresholds: {window: 0}\nhistroy: 3\nnotify: {consle: true}\n"
    )
    path = workdir / "failstreak.yaml"
    # When a pass is asked for; Then it refuses with one line on stderr per mistake, each naming the file
    assert cli(workdir, "run") == 1
    assert capsys.readouterr().err.splitlines() == [
        f"failstreak: {path}: thresholds.window: should be greater than or equal to 1 (got 0)",
        f"failstreak: {path}: histroy: unknown key; did you mean 'history'?",
        f"failstreak: {path}: notify.consle: unknown key; did you mean 'console'?",
    ]
    # And `failstreak check` fails the config once per mistake, with the same words
    assert [(c.status, c.detail) for c in run_checks(str(path))] == [
        ("fail", f"{path}: thresholds.window: should be greater than or equal to 1 (got 0)"),
        ("fail", f"{path}: histroy: unknown key; did you mean 'history'?"),
        ("fail", f"{path}: notify.consle: unknown key; did you mean 'console'?"),
    ]
