"""Acknowledgements ("I'm on it", docs/notifications.md) over real passes on local stores: while a job's
acknowledgement is in force its reminders are not sent; its triggered and resolved still are; status says who."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failstreak.app.cli import main
from failstreak.state.mutes import mutes_store
from tests.conftest import HOUR
from tests.integration.passes.test_mutes_end_to_end import Monitor

REMIND_HOURLY = "reminder: {every_hours: 1}\n"


@pytest.fixture
def monitor(tmp_path: Path) -> Monitor:
    (tmp_path / "inbox").mkdir()
    m = Monitor(tmp_path)
    m.configure(REMIND_HOURLY)
    return m


def _ack(monitor: Monitor, job: str, by: str, hours: float) -> None:
    # Written as the HTTP front writes it: through the mutes document's store, at the monitor's time.
    mutes_store(str(monitor.root / "state.json"), clock=lambda: monitor.now).add_ack(job, by, hours)


def test_an_acknowledged_job_gets_no_reminders_until_the_acknowledgement_ends(monitor: Monitor) -> None:
    # Given ci/a alerting (its triggered sent), reminded every hour, and etl/b alerting too
    monitor.runs_of(*[("ci/a", "failed"), ("etl/b", "failed")] * 3)
    assert monitor.pass_() == [("ci/a", "triggered", False), ("etl/b", "triggered", False)]
    monitor.sent()

    # When ana acknowledges ci/a for two and a half hours and two passes run, an hour apart
    _ack(monitor, "ci/a", "ana", 2.5)
    during = [monitor.pass_(), monitor.pass_()]

    # Then ci/a's reminders are recorded as suppressed and not sent; etl/b's reminders still go out
    assert during == [[("ci/a", "reminder", True), ("etl/b", "reminder", False)]] * 2
    assert monitor.sent() == [("etl/b", "reminder")] * 2

    # And once the acknowledgement ended, ci/a is reminded again
    assert monitor.pass_() == [("ci/a", "reminder", False), ("etl/b", "reminder", False)]
    assert monitor.sent() == [("ci/a", "reminder"), ("etl/b", "reminder")]


def test_an_acknowledgement_holds_back_neither_the_triggered_nor_the_resolved(monitor: Monitor) -> None:
    # Given ci/a acknowledged before it even failed
    _ack(monitor, "ci/a", "ana", 24)
    # When it fails three times, then succeeds
    monitor.runs_of(*[("ci/a", "failed")] * 3)
    triggered = monitor.pass_()
    monitor.runs_of(("ci/a", "success"))
    resolved = monitor.pass_()
    # Then both its triggered and its resolved are sent
    assert (triggered, resolved) == ([("ci/a", "triggered", False)], [("ci/a", "resolved", False)])
    assert monitor.sent() == [("ci/a", "triggered"), ("ci/a", "resolved")]


def test_a_pass_never_writes_the_mutes_document(monitor: Monitor) -> None:
    # Given an acknowledgement that has ended by the time of the next pass
    _ack(monitor, "ci/a", "ana", 0.5)
    before = (monitor.root / "mutes.json").read_bytes()
    # When passes run past its end
    monitor.runs_of(*[("ci/a", "failed")] * 3)
    monitor.pass_()
    monitor.pass_()
    # Then the document is as the writer left it: pruning is a writer's work, the pass only reads
    assert (monitor.root / "mutes.json").read_bytes() == before


def test_status_shows_who_acknowledged_a_job_and_until_when(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given ci/a alerting, acknowledged by ana for a day from the wall clock (status judges by the wall clock)
    monitor.runs_of(*[("ci/a", "failed")] * 3)
    monitor.pass_()
    mutes_store(str(monitor.root / "state.json")).add_ack("ci/a", "ana <on-call>", 24)
    config = str(monitor.root / "failstreak.yaml")
    capsys.readouterr()

    # When status runs as a table, for the job, and as JSON
    assert main(["status", "--config", config]) == 0
    table = capsys.readouterr().out
    assert main(["status", "ci/a", "--config", config]) == 0
    detail = capsys.readouterr().out
    assert main(["status", "--json", "--config", config]) == 0
    row = json.loads(capsys.readouterr().out)["jobs"]["ci/a"]

    # Then each says who acknowledged it and until when
    acked = row["acked"]
    assert acked["by"] == "ana <on-call>"
    assert f"acked by ana <on-call> until {acked['until']}" in table
    assert f"acknowledged by ana <on-call> at {acked['at']}; reminders wait until {acked['until']}" in detail


def test_mutes_lists_the_acknowledgements_in_force(monitor: Monitor, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an acknowledgement written a moment ago for a day
    store = mutes_store(str(monitor.root / "state.json"))
    ack = store.add_ack("ci/a", "ana", 24)
    assert ack.until - ack.at == 24 * HOUR
    config = str(monitor.root / "failstreak.yaml")
    # When the mutes are listed; Then the acknowledgement is there, with who and until when
    assert main(["mutes", "--json", "--config", config]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(a["job"], a["by"]) for a in doc["acks"]] == [("ci/a", "ana")]
    assert main(["mutes", "--config", config]) == 0
    assert "(acked)  ci/a  by ana until " in capsys.readouterr().out
