"""Mutes end to end: from the config file and from the command line, over whole passes on the local store.

Each pass reads its config file from disk (as `failstreak run` does), its runs from the local inbox, and delivers
through a recording console notifier; what was sent, and what the state remembers, are read back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from failstreak.app.cli import main
from failstreak.app.config import load_config
from failstreak.app.routing import Router
from failstreak.app.wiring import pass_settings
from failstreak.core.model import MuteBook
from failstreak.inbox.local import LocalInbox
from failstreak.pipeline.run import Ports, run_pass
from failstreak.state.codec import decode
from failstreak.state.local import LocalStateStore
from failstreak.state.mutes import mutes_store
from tests.conftest import HOUR, MINUTE, T0
from tests.fakes import RecordingNotifier

BASE = "state: state.json\ninbox: inbox/\nreminder: {every_hours: null, every_runs: 1}\n"


@dataclass
class Monitor:
    """A local deployment: a config file, an inbox directory and a state file, run pass by pass."""

    root: Path
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    now: int = T0 + HOUR
    runs: int = 0

    def configure(self, extra: str = "") -> None:
        (self.root / "failstreak.yaml").write_text(BASE + extra)

    def runs_of(self, *results: tuple[str, str]) -> None:
        """Drop one inbox file with one run per (job, status), each finishing a minute after the last."""
        lines = []
        for job, status in results:
            self.runs += 1
            finished = T0 + self.runs * MINUTE
            lines.append(json.dumps({"job": job, "run_id": self.runs, "status": status, "finished_at": finished}))
        (self.root / "inbox" / f"{self.runs:04d}.jsonl").write_text("\n".join(lines) + "\n")

    def pass_(self) -> list[tuple[str, str, bool]]:
        """One pass; returns its notifications as (job, event, suppressed). What was sent is in `sent`."""
        self.now += HOUR
        cfg = load_config(str(self.root / "failstreak.yaml"))
        ports = Ports(
            store=LocalStateStore(cfg.state),
            mutes=mutes_store(cfg.state, clock=lambda: self.now),
            inbox=LocalInbox(cfg.inbox or ""),
            notifiers={"console": self.notifier},
            router=Router(cfg),
            clock=lambda: self.now,
        )
        summary = run_pass(pass_settings(cfg), ports).to_dict()
        return [(n["job"], n["event"], n["suppressed"]) for n in summary["notifications"]]

    def sent(self) -> list[tuple[str, str]]:
        sent = self.notifier.events()
        self.notifier.sent.clear()
        return sent

    def state(self) -> Any:
        return decode((self.root / "state.json").read_bytes(), "state.json")

    def book(self) -> MuteBook:
        """The mutes document beside the state."""
        return mutes_store(str(self.root / "state.json")).read()


@pytest.fixture
def monitor(tmp_path: Path) -> Monitor:
    (tmp_path / "inbox").mkdir()
    m = Monitor(tmp_path)
    m.configure()
    return m


def test_a_config_file_mute_on_a_glob_silences_its_jobs_and_leaves_the_others_alone(monitor: Monitor) -> None:
    # Given a config file muting ci/* until the end of the year, and three failures each of ci/a and etl/b
    monitor.configure('mutes:\n  - {match: "ci/*", until: 2099-01-01T00:00:00Z, reason: migration}\n')
    monitor.runs_of(*[("ci/a", "failed"), ("etl/b", "failed")] * 3)

    # When a pass runs
    notes = monitor.pass_()

    # Then both jobs trigger, ci/a's is suppressed and only etl/b's is sent, and ci/a is still counted
    assert notes == [("ci/a", "triggered", True), ("etl/b", "triggered", False)]
    assert monitor.sent() == [("etl/b", "triggered")]
    ci = monitor.state().jobs["ci/a"]
    assert (ci.consecutive_failures, ci.alert is not None) == (3, True)


def test_an_alerting_job_stays_muted_over_later_passes_and_is_announced_when_the_mute_goes(monitor: Monitor) -> None:
    # Given ci/a muted from the config file, triggered while muted, with a reminder due at every counted run
    monitor.configure('mutes:\n  - {match: "ci/*", until: 2099-01-01T00:00:00Z}\n')
    monitor.runs_of(*[("ci/a", "failed")] * 3)
    assert monitor.pass_() == [("ci/a", "triggered", True)]

    # When it keeps failing over three more passes
    later = []
    for _ in range(3):
        monitor.runs_of(("ci/a", "failed"))
        later.extend(monitor.pass_())

    # Then nothing about it is sent: a job whose triggered was never announced gets no reminders either
    assert later == []
    assert monitor.sent() == []

    # And when the mute is taken out of the config file, the next pass announces it, as still failing
    monitor.configure()
    assert monitor.pass_() == [("ci/a", "triggered", False)]
    assert monitor.sent() == [("ci/a", "triggered")]


def test_an_until_success_mute_ends_with_the_success_and_the_next_incident_is_sent(monitor: Monitor) -> None:
    # Given ci/a muted until its next success, and an incident that triggered while muted
    monitor.configure('mutes:\n  - {match: "ci/a", until_success: true}\n')
    monitor.runs_of(*[("ci/a", "failed")] * 3)
    assert monitor.pass_() == [("ci/a", "triggered", True)]

    # When a success arrives, then the incident ends as quietly as it began
    monitor.runs_of(("ci/a", "success"))
    assert monitor.pass_() == [("ci/a", "resolved", True)]

    # And when it fails three times again, the mute is over: the new incident is sent
    monitor.runs_of(*[("ci/a", "failed")] * 3)
    assert monitor.pass_() == [("ci/a", "triggered", False)]
    assert monitor.sent() == [("ci/a", "triggered")]


def test_a_config_runs_mute_counts_only_runs_from_the_first_pass_that_saw_it(monitor: Monitor) -> None:
    # Given a job that failed once before any mute, with a threshold of two failures in a row
    monitor.configure("thresholds: {consecutive: 2}\n")
    monitor.runs_of(("ci/a", "failed"))
    assert monitor.pass_() == []

    # When a mute for the next two runs appears in the config file, and the job keeps failing, one run a pass
    monitor.configure('thresholds: {consecutive: 2}\nmutes:\n  - {match: "ci/*", runs: 2}\n')
    seen = []
    for _ in range(3):
        monitor.runs_of(("ci/a", "failed"))
        seen.append(monitor.pass_())

    # Then the two runs after the mute appeared are muted (the run before it does not use it up), and the pass
    # after them announces the incident
    assert seen == [[("ci/a", "triggered", True)], [], [("ci/a", "triggered", False)]]
    # And the mute is dated from the first pass that saw it, and keeps that date
    (first_seen,) = monitor.state().config_mutes.values()
    assert first_seen == T0 + 3 * HOUR


def test_a_config_mute_taken_out_of_the_file_is_forgotten(monitor: Monitor) -> None:
    # Given a config mute seen by a pass
    monitor.configure('mutes:\n  - {match: "ci/*", runs: 2}\n')
    monitor.runs_of(("ci/a", "failed"))
    monitor.pass_()
    assert len(monitor.state().config_mutes) == 1
    assert monitor.state().jobs["ci/a"].mute_runs

    # When it is taken out of the config file and a pass runs
    monitor.configure()
    monitor.pass_()

    # Then the state no longer remembers it, nor the progress the jobs made through it
    assert monitor.state().config_mutes == {}
    assert monitor.state().jobs["ci/a"].mute_runs == {}


def test_a_config_mute_put_back_later_mutes_the_next_runs_again(monitor: Monitor) -> None:
    # Given a two-run config mute that was used up and then taken out of the file
    monitor.configure('thresholds: {consecutive: 2}\nmutes:\n  - {match: "ci/*", runs: 2}\n')
    monitor.runs_of(("ci/a", "failed"), ("ci/a", "failed"), ("ci/a", "success"))
    monitor.pass_()
    monitor.configure("thresholds: {consecutive: 2}\n")
    monitor.pass_()

    # When the same mute is written back into the file, and the job then fails twice
    monitor.configure('thresholds: {consecutive: 2}\nmutes:\n  - {match: "ci/*", runs: 2}\n')
    monitor.runs_of(("ci/a", "failed"), ("ci/a", "failed"))
    notes = monitor.pass_()

    # Then it mutes those next two runs, as a new mute would: its earlier use does not carry over
    assert notes == [("ci/a", "triggered", True)]
    assert monitor.sent() == []


# -- the command line --------------------------------------------------------------------------------------------


def cli(monitor: Monitor, *args: str) -> int:
    """The command line on this deployment; a mute may start the state (no pass has saved one yet)."""
    create = ["--create"] if args[0] == "mute" else []
    return main([args[0], "--config", str(monitor.root / "failstreak.yaml"), *create, *args[1:]])


@pytest.fixture
def on_disk(monitor: Monitor) -> Monitor:
    monitor.configure('mutes:\n  - {match: "etl/*", until_success: true, reason: "from the file"}\n')
    return monitor


def test_mute_with_each_kind_of_end_is_listed_by_mutes(on_disk: Monitor, capsys: pytest.CaptureFixture[str]) -> None:
    # Given mutes added from the command line with each kind of end
    assert cli(on_disk, "mute", "ci/a", "--until", "2099-01-01T00:00:00Z", "--reason", "until") == 0
    assert cli(on_disk, "mute", "ci/b", "--runs", "3") == 0
    assert cli(on_disk, "mute", "ci/c", "--until-success", "--reason", "flaky") == 0
    added = [line.split("(id ")[1].split(")")[0] for line in capsys.readouterr().out.splitlines()]

    # When they are listed
    assert cli(on_disk, "mutes") == 0
    listed = capsys.readouterr().out.splitlines()

    # Then the mutes document is named, and each mute is there with its id, glob and end, the config file's mute
    # after them
    assert listed[0] == f"mutes document: {on_disk.root / 'mutes.json'}"
    assert listed[1:] == [
        f"{added[0]}  ci/a  until 2099-01-01T00:00:00Z  until",
        f"{added[1]}  ci/b  for 3 runs",
        f"{added[2]}  ci/c  until next success  flaky",
        "(config)  etl/*  from the file",
    ]


def test_command_line_mutes_act_on_the_next_passes(on_disk: Monitor, capsys: pytest.CaptureFixture[str]) -> None:
    # Given ci/a muted until a time (the command checks it against the wall clock: it must lie ahead of it),
    # ci/b for its next three runs, ci/c until its next success
    until_ms = (int(datetime.now(UTC).timestamp()) // 3600 + 24) * HOUR
    until = datetime.fromtimestamp(until_ms / 1000, UTC).isoformat()
    assert cli(on_disk, "mute", "ci/a", "--until", until) == 0
    assert cli(on_disk, "mute", "ci/b", "--runs", "3") == 0
    assert cli(on_disk, "mute", "ci/c", "--until-success") == 0

    # When all three fail three times in a pass
    on_disk.runs_of(*[("ci/a", "failed"), ("ci/b", "failed"), ("ci/c", "failed")] * 3)
    notes = on_disk.pass_()

    # Then the three triggered notifications are suppressed
    assert notes == [("ci/a", "triggered", True), ("ci/b", "triggered", True), ("ci/c", "triggered", True)]
    assert on_disk.sent() == []

    # And one more failure each (ci/b's fourth counted run is past its mute) announces ci/b only
    on_disk.runs_of(("ci/a", "failed"), ("ci/b", "failed"), ("ci/c", "failed"))
    assert on_disk.pass_() == [("ci/b", "triggered", False)]

    # And once the --until time has passed, ci/a is announced; ci/c stays muted until a success
    on_disk.now = until_ms
    on_disk.runs_of(("ci/a", "failed"), ("ci/c", "failed"))
    assert on_disk.pass_() == [("ci/a", "triggered", False)]


def test_mute_refuses_a_mute_without_an_end_or_with_a_bad_time(
    on_disk: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no mute yet
    # When mute is given no end, or an --until that is not a time, then it fails with a clear message
    assert cli(on_disk, "mute", "ci/a") == 1
    assert "give --until, --hours, --runs or --until-success" in capsys.readouterr().err
    assert cli(on_disk, "mute", "ci/a", "--until", "next tuesday") == 1
    assert "--until: 'next tuesday' is not an ISO 8601 time" in capsys.readouterr().err
    # And nothing was saved
    assert not (on_disk.root / "state.json").exists()


def test_unmute_of_an_unknown_mute_fails_and_names_it(on_disk: Monitor, capsys: pytest.CaptureFixture[str]) -> None:
    # Given one mute
    assert cli(on_disk, "mute", "ci/a", "--runs", "1") == 0
    # When an unknown one is removed, then the command fails naming it, and the known one stays
    assert cli(on_disk, "unmute", "ci/zzz") == 1
    assert "no mute with id or pattern 'ci/zzz'" in capsys.readouterr().err
    assert [m.match for m in on_disk.book().mutes] == ["ci/a"]


def test_a_mute_with_runs_and_until_success_ends_at_whichever_comes_first(monitor: Monitor) -> None:
    # Given ci/a muted for its next ten runs or until its next success
    monitor.configure('mutes:\n  - {match: "ci/a", runs: 10, until_success: true}\n')
    monitor.runs_of(*[("ci/a", "failed")] * 3)
    assert monitor.pass_() == [("ci/a", "triggered", True)]

    # When a success comes first, and then three failures (well within the ten runs)
    monitor.runs_of(("ci/a", "success"))
    monitor.pass_()
    monitor.runs_of(*[("ci/a", "failed")] * 3)

    # Then the success ended the mute: the new incident is sent
    assert monitor.pass_() == [("ci/a", "triggered", False)]


def test_status_marks_a_job_muted_only_while_a_mute_covers_it(
    on_disk: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given mutes that have ended (ci/a's run was used, ci/b succeeded) or never matched (etl/*), and one that
    # still covers ci/c
    on_disk.configure(
        "thresholds: {consecutive: 1}\nmutes:\n"
        '  - {match: "ci/a", runs: 1, reason: one run}\n'
        '  - {match: "ci/b", until_success: true, reason: until fixed}\n'
        '  - {match: "ci/c", until: 2099-01-01T00:00:00Z, reason: still on}\n'
        '  - {match: "etl/*", until: 2099-01-01T00:00:00Z, reason: other jobs}\n'
    )
    on_disk.runs_of(("ci/a", "failed"), ("ci/b", "failed"), ("ci/c", "failed"))
    on_disk.pass_()
    on_disk.runs_of(("ci/a", "failed"), ("ci/b", "success"), ("ci/c", "failed"))
    on_disk.pass_()
    capsys.readouterr()

    # When the status is printed
    assert cli(on_disk, "status") == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:-1]}

    # Then only ci/c is shown muted, with its reason
    assert rows["ci/c"].endswith("muted: still on")
    assert "muted" not in rows["ci/a"]
    assert "muted" not in rows["ci/b"]


def test_mute_until_a_time_without_a_zone_takes_it_as_utc(on_disk: Monitor, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a mute until a time written without a zone
    assert cli(on_disk, "mute", "ci/a", "--until", "2099-01-01T00:00:00") == 0
    capsys.readouterr()
    # When the mutes are listed, then it ends at that time in UTC
    assert cli(on_disk, "mutes") == 0
    assert "ci/a  until 2099-01-01T00:00:00Z" in capsys.readouterr().out
