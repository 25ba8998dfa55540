"""The command line an operator meets: problems on stderr, what `status` shows, help, --json, encodings, colour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from failstreak.app.cli import build_parser, main
from failstreak.app.completion import script
from failstreak.app.schema import schema_text
from failstreak.app.terminal import colour_on, label
from tests.integration.local.test_local_pass import record
from tests.integration.slack_server import SlackServer, running

ROOT = Path(__file__).resolve().parents[3]
COMMANDS = ["run", "status", "check", "demo", "import", "mute", "unmute", "mutes", "report", "schema", "completion"]


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\n")
    return tmp_path


def _slack_config(workdir: Path, slack: SlackServer, channel: str) -> Path:
    cfg = workdir / "failstreak.yaml"
    cfg.write_text(
        "state: state.json\ninbox: inbox/\n"
        "notify: {slack: {token: {env: SLACK_TOKEN}, "
        f"default_channel: '{channel}', base_url: {slack.base_url}}}}}\n"
    )
    (workdir / "inbox" / "a.jsonl").write_text("".join(record("ci/a", i) + "\n" for i in (1, 2, 3)))
    return cfg


def test_a_retrying_delivery_failure_is_a_warning_on_stderr_and_pending_in_status(
    workdir: Path, slack: SlackServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Slack answering 500 to the post
    monkeypatch.setenv("SLACK_TOKEN", slack.state.token)
    cfg = _slack_config(workdir, slack, "#ci")
    slack.fail("chat.postMessage", status=500)
    slack.fail("chat.postMessage", status=500)
    slack.fail("chat.postMessage", status=500)
    # When a pass runs
    assert main(["run", "--config", str(cfg)]) == 0
    out = capsys.readouterr()
    # Then the failure and its reason are a warning on stderr, and the summary says a notification is pending
    assert "failstreak: warning: delivery of triggered of ci/a to slack:#ci failed, will retry: " in out.err
    assert "1 notifications pending" in out.out
    # And status lists the pending notification with its last error
    assert main(["status", "--config", str(cfg)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"state: {workdir / 'state.json'} (updated ")
    assert "1 notifications pending:\n  triggered of ci/a to slack:#ci: 1 attempts, " in text


def test_a_dead_letter_is_an_error_on_stderr_and_listed_by_status(
    workdir: Path, slack: SlackServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a channel Slack does not know
    monkeypatch.setenv("SLACK_TOKEN", slack.state.token)
    slack.state.known_channels = {"#ci"}
    cfg = _slack_config(workdir, slack, "#typo")
    # When a pass runs
    assert main(["run", "--config", str(cfg)]) == 0
    err = capsys.readouterr().err
    # Then the dead letter and its reason are an error line on stderr
    assert "failstreak: error: dead letter: triggered of ci/a to slack:#typo was given up: " in err
    assert "channel_not_found" in err
    # And status shows it, as text and as JSON
    assert main(["status", "--config", str(cfg)]) == 0
    assert "1 dead letters (given up, not retried):" in capsys.readouterr().out
    assert main(["status", "--json", "--config", str(cfg)]) == 0
    [dead] = json.loads(capsys.readouterr().out)["dead_letters"]
    assert (dead["job"], dead["destination"]) == ("ci/a", "slack:#typo")


def test_rejected_lines_are_warnings_on_stderr(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "inbox" / "a.jsonl").write_text(record("ci/a", 1) + "\nnot json\n")
    assert main(["run", "--config", str(workdir / "failstreak.yaml")]) == 0
    out = capsys.readouterr()
    assert "failstreak: warning: rejected a.jsonl:2: " in out.err
    assert "1 rejected" in out.out


# -- the parser -----------------------------------------------------------------------------------------------


def test_failstreak_alone_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: failstreak")
    assert "examples:" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert f"examples:\n  failstreak {command}" in out
    # And every argument says what it is
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]  # type: ignore[union-attr]
    assert all(a.help for a in sub._actions), [a.dest for a in sub._actions if not a.help]


@pytest.mark.parametrize("before", [True, False])
def test_config_is_accepted_before_or_after_the_command(
    workdir: Path, capsys: pytest.CaptureFixture[str], before: bool
) -> None:
    cfg = str(workdir / "failstreak.yaml")
    assert main(["run", "--config", cfg]) == 0
    capsys.readouterr()
    args = ["--config", cfg, "status", "--json"] if before else ["status", "--json", "--config", cfg]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["state"] == str(workdir / "state.json")


def test_mutes_report_and_import_print_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(workdir / "failstreak.yaml")
    # Given a reference script's statistics, imported as JSON
    ref = workdir / "job_executions.json"
    ref.write_text(json.dumps({"ci/a": {"consecutive_failures": 0, "cumulative_failures": [0, 0]}}))
    assert main(["import", "--from", "datadog", str(ref), "--json", "--config", cfg]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "state": str(workdir / "state.json"),
        "jobs": 1,
        "alerting": 0,
        "skipped": [],
    }
    # And a mute, listed as JSON
    assert main(["mute", "ci/*", "--runs", "2", "--json", "--config", cfg]) == 0
    added = json.loads(capsys.readouterr().out)["mute"]
    assert main(["mutes", "--json", "--config", cfg]) == 0
    assert json.loads(capsys.readouterr().out)["mutes"] == [added]
    # And a report, as JSON
    assert main(["report", "--job", "ci/a", "--status", "failed", "--run-id", "7", "--json", "--config", cfg]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["record"]["job"] == "ci/a"
    assert Path(written["written"]).parent == workdir / "inbox"


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_committed_completion_scripts_are_current(shell: str) -> None:
    committed = ROOT / "completions" / {"bash": "failstreak.bash", "zsh": "_failstreak"}[shell]
    assert committed.read_text() == script(shell, build_parser()), "regenerate: make generated"


def test_the_bash_completion_completes_commands_and_options() -> None:
    # Given the committed script loaded in a real bash
    def complete(*words: str) -> list[str]:
        line = " ".join(["failstreak", *words])
        probe = (
            f"source {ROOT / 'completions' / 'failstreak.bash'}; COMP_WORDS=({line}); "
            f"COMP_CWORD={len(words)}; _failstreak; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )
        out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout
        return out.split()

    # Then it completes commands, each command's options, and fixed choices
    assert complete("mu") == ["mute", "mutes"]
    assert "--until-success" in complete("mute", "--u")
    assert complete("import", "--from", "") == ["datadog"]


def test_the_committed_schema_is_current_and_the_example_config_points_to_it() -> None:
    assert (ROOT / "infra" / "failstreak.schema.json").read_text() == schema_text(), "regenerate: make generated"
    assert (
        (ROOT / "infra" / "failstreak.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=failstreak.schema.json\n")
    )


def test_schema_prints_the_config_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["additionalProperties"] is False
    assert {"state", "inbox", "thresholds", "notify", "sources"} <= set(doc["properties"])


# -- output ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["demo", "--passes", "2"], ["run"]])
def test_output_never_crashes_on_a_non_utf8_stdout(workdir: Path, command: list[str]) -> None:
    # Given a terminal whose encoding has no emoji (an ASCII locale), and alerts to print
    (workdir / "inbox" / "a.jsonl").write_text("".join(record("ci/é", i) + "\n" for i in (1, 2, 3)))
    args = [*command, "--dir", str(workdir / "demo")] if command[0] == "demo" else command
    args += [] if command[0] == "demo" else ["--config", str(workdir / "failstreak.yaml")]
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C", "PYTHONUTF8": "0"}
    # When the command runs with that stdout
    run = subprocess.run(
        [sys.executable, "-m", "failstreak.app.cli", *args], capture_output=True, env=env, cwd=workdir, check=False
    )
    # Then it completes, with what the encoding cannot show escaped
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    assert b"Traceback" not in run.stderr
    assert b"\\U0001f534" in run.stdout  # the red circle of a FAILING line


class _Tty:
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = _Tty()
    assert colour_on(tty)  # type: ignore[arg-type]
    assert label("ERROR", tty).startswith("\033[31m")  # type: ignore[arg-type]
    # A pipe gets no colour
    with open(os.devnull, "w") as pipe:
        assert not colour_on(pipe)
        assert label("ERROR", pipe) == "error:"
    # NO_COLOR wins even on a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert label("WARNING", tty) == "warning:"  # type: ignore[arg-type]
