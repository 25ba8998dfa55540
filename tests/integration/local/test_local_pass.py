"""Whole passes on the local store and inbox, through the CLI and through `run_pass`."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from failstreak.app import wiring
from failstreak.app.cli import main
from failstreak.app.config import load_config
from failstreak.app.wiring import pass_settings
from failstreak.core.model import now_ms
from failstreak.errors import FailstreakError
from failstreak.inbox.local import LocalInbox
from failstreak.pipeline.run import Ports, run_pass
from failstreak.state.codec import decode
from failstreak.state.local import LocalStateStore
from tests.conftest import HOUR, T0
from tests.fakes import RecordingNotifier


def record(job: str, run_id: int, status: str = "failed", minute: int | None = None, **extra: object) -> str:
    t = T0 + (minute if minute is not None else run_id) * 60_000
    return json.dumps({"job": job, "run_id": run_id, "status": status, "finished_at": t, **extra})


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\n")
    return tmp_path


def moved(workdir: Path, where: str, key: str) -> Path:
    """The one file a pass moved (or wrote) as `key` under `processed/` or `quarantine/`, in its
    `YYYY/MM/DD/<pass id>/` folder."""
    [path] = (workdir / "inbox" / where).glob(f"*/*/*/*/{key}")
    return path


def cli(workdir: Path, *args: str) -> int:
    return main([args[0], "--config", str(workdir / "failstreak.yaml"), *args[1:]])


def run_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert cli(workdir, "run", "--json") == 0
    return json.loads(capsys.readouterr().out)


def status_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert cli(workdir, "status", "--json") == 0
    return json.loads(capsys.readouterr().out)


def test_a_garbage_file_is_partly_ingested_and_the_second_pass_ingests_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file with garbage lines, a missing field, an unknown status, a binary blob and 3 good lines
    lines = [
        record("ci/a", 1),
        "this is not json",
        json.dumps({"run_id": 2, "status": "failed", "finished_at": T0}),
        record("ci/a", 3, status="exploded"),
        record("ci/a", 4),
        record("ci/a", 5),
    ]
    (workdir / "inbox" / "mixed.jsonl").write_bytes(("\n".join(lines) + "\n").encode() + b"\x00\xff\xfe\x01junk\n")
    # When a pass runs
    first = run_json(workdir, capsys)
    # Then it succeeds, counts the good lines, and says how many were rejected and where
    assert (first["ingested"], first["rejected"]) == (3, 4)
    assert {r["line"] for r in first["rejects"]} == {2, 3, 4, 7}
    assert [n["event"] for n in first["notifications"]] == ["triggered"]
    assert moved(workdir, "quarantine", "mixed.jsonl.rejected.jsonl").read_text().count("\n") == 4
    # And a second pass over the same inbox ingests nothing new
    second = run_json(workdir, capsys)
    assert (second["ingested"], second["rejected"], second["notifications"]) == (0, 0, [])


def test_a_wholly_unreadable_file_is_quarantined_with_its_reason(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a truncated gzip and an empty file beside a good one
    (workdir / "inbox" / "cut.jsonl.gz").write_bytes(gzip.compress(record("j", 1).encode())[:-10])
    (workdir / "inbox" / "empty.jsonl").write_bytes(b"")
    (workdir / "inbox" / "good.jsonl").write_text(record("j", 2) + "\n")
    # When a pass runs
    summary = run_json(workdir, capsys)
    # Then the bad files are set aside with a reason and the good record counted
    assert summary["ingested"] == 1
    assert sorted(summary["quarantined"]) == ["cut.jsonl.gz", "empty.jsonl"]
    reason = moved(workdir, "quarantine", "cut.jsonl.gz.reason.txt").read_text()
    assert "gzip" in reason
    assert not (workdir / "inbox" / "cut.jsonl.gz").exists()


def test_a_corrupt_state_fails_the_pass_with_one_line_and_is_left_untouched(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a corrupt state file and a waiting inbox file
    (workdir / "state.json").write_bytes(b'{"version": 1, "jobs": {"j": ')
    (workdir / "inbox" / "a.jsonl").write_text(record("j", 1) + "\n")
    # When a pass runs
    code = cli(workdir, "run")
    # Then it exits non-zero with a one-line reason, the state is untouched and the inbox file stays
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1
    assert "state is not valid JSON" in err
    assert (workdir / "state.json").read_bytes() == b'{"version": 1, "jobs": {"j": '
    assert (workdir / "inbox" / "a.jsonl").exists()


def test_run_and_status_json_follow_the_cli_contract(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given three failures of one job
    (workdir / "inbox" / "a.jsonl").write_text("\n".join(record("ci/a", i) for i in (1, 2, 3)) + "\n")
    # When a pass runs and the status is read
    summary = run_json(workdir, capsys)
    status = status_json(workdir, capsys)
    # Then both carry the documented keys
    assert {"ingested", "duplicates", "rejected", "notifications"} <= set(summary)
    assert set(summary["notifications"][0]) >= {"job", "event", "reasons", "consecutive_failures", "window_failures"}
    job = status["jobs"]["ci/a"]
    assert {k: job[k] for k in ("consecutive_failures", "window_failures", "window_size", "total_runs")} == {
        "consecutive_failures": 3,
        "window_failures": 3,
        "window_size": 3,
        "total_runs": 3,
    }
    assert job["total_failures"] == 3
    assert job["alerting"] is True


def test_the_console_script_prints_a_status_table(workdir: Path) -> None:
    # Given a pass has run through the installed entry point
    (workdir / "inbox" / "a.jsonl").write_text(record("ci/a", 1, "success") + "\n")
    exe = Path(sys.executable).with_name("failstreak")
    subprocess.run([exe, "run", "--config", workdir / "failstreak.yaml"], check=True, capture_output=True)
    # When the status is asked for
    out = subprocess.run(
        [exe, "status", "--config", workdir / "failstreak.yaml"], check=True, capture_output=True, text=True
    ).stdout
    # Then the job is listed as healthy
    assert "ci/a" in out
    assert "1 jobs, 0 alerting" in out


def test_a_bad_config_exits_non_zero_naming_the_field(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "failstreak.yaml").write_text("thresholds: {window: zero}\n")
    assert cli(workdir, "run") != 0
    err = capsys.readouterr().err
    assert "thresholds.window" in err
    assert err.count("\n") == 1


def test_concurrent_local_passes_count_every_run_exactly_once(workdir: Path) -> None:
    # Given 40 files of 5 runs each for 10 jobs
    for f in range(40):
        lines = [record(f"job-{(f * 5 + i) % 10}", f * 5 + i, "failed" if i % 3 else "success") for i in range(5)]
        (workdir / "inbox" / f"f{f:02}.jsonl").write_text("\n".join(lines) + "\n")
    cfg = load_config(str(workdir / "failstreak.yaml"))
    errors: list[BaseException] = []

    def one_pass() -> None:
        try:
            run_pass(pass_settings(cfg), Ports(store=LocalStateStore(cfg.state), inbox=LocalInbox(cfg.inbox or "")))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    # When six passes run at once
    threads = [threading.Thread(target=one_pass) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then none failed, every run is counted once and every file archived
    assert errors == []
    state = decode((workdir / "state.json").read_bytes())
    assert sum(j.total_runs for j in state.jobs.values()) == 200
    assert list((workdir / "inbox").glob("*.jsonl")) == []
    assert len(list((workdir / "inbox" / "processed").rglob("*.jsonl"))) == 40


class ExplodingInbox(LocalInbox):
    """Fails on the first archive: a pass that dies after saving its state."""

    def archive(self, item, folder):  # type: ignore[no-untyped-def]
        raise OSError("disk gone")


def test_a_pass_that_dies_after_saving_is_finished_by_the_next_without_double_counting(workdir: Path) -> None:
    # Given a pass that saves its state and then dies while archiving
    (workdir / "inbox" / "a.jsonl").write_text("\n".join(record("j", i) for i in range(1, 5)) + "\n")
    cfg = load_config(str(workdir / "failstreak.yaml"))
    with pytest.raises(OSError, match="disk gone"):
        run_pass(pass_settings(cfg), Ports(store=LocalStateStore(cfg.state), inbox=ExplodingInbox(cfg.inbox or "")))
    # When the next pass runs normally
    summary = run_pass(pass_settings(cfg), wiring.ports(cfg))
    # Then the file's runs were counted once: all duplicates now, and archived
    assert (summary.ingested, summary.duplicates) == (0, 4)
    state = decode((workdir / "state.json").read_bytes())
    assert state.jobs["j"].total_runs == 4
    assert not (workdir / "inbox" / "a.jsonl").exists()


def test_an_undelivered_alert_stays_pending_and_is_delivered_exactly_once_later(workdir: Path) -> None:
    # Given a notifier that is down
    (workdir / "inbox" / "a.jsonl").write_text("\n".join(record("j", i) for i in range(1, 4)) + "\n")
    cfg = load_config(str(workdir / "failstreak.yaml"))
    notifier = RecordingNotifier("console")
    notifier.fail_with = "HTTP 503"
    clock = [T0 + 1000 * HOUR]
    ports = wiring.ports(cfg)
    ports.notifiers = {"console": notifier}
    ports.clock = lambda: clock[0]
    # When a pass runs
    down = run_pass(pass_settings(cfg), ports)
    # Then the counters are saved and the alert is pending
    assert down.pending == 1
    assert down.delivery_failures[0]["retrying"] is True
    assert decode((workdir / "state.json").read_bytes()).jobs["j"].consecutive_failures == 3
    # When the notifier is back, over two more passes
    notifier.fail_with = None
    clock[0] += 60_000
    up = run_pass(pass_settings(cfg), ports)
    clock[0] += 60_000
    again = run_pass(pass_settings(cfg), ports)
    # Then the alert was delivered once
    assert notifier.events() == [("j", "triggered")]
    assert (up.delivered, up.pending, again.delivered) == (1, 0, 0)


def test_a_muted_job_is_counted_but_nothing_is_sent(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a mute added from the command line, starting the state (no pass has run yet)
    assert cli(workdir, "mute", "ci/*", "--hours", "2", "--reason", "migration", "--create") == 0
    (workdir / "inbox" / "a.jsonl").write_text("\n".join(record("ci/a", i) for i in (1, 2, 3)) + "\n")
    # When a pass runs
    summary = run_json(workdir, capsys)
    # Then the trigger is recorded as suppressed, nothing is pending and the counters moved
    assert [(n["event"], n["suppressed"]) for n in summary["notifications"]] == [("triggered", True)]
    assert summary["pending"] == 0
    assert status_json(workdir, capsys)["jobs"]["ci/a"]["consecutive_failures"] == 3
    assert cli(workdir, "status") == 0
    assert "ALERTING (consecutive), muted: migration" in capsys.readouterr().out
    # And the mute can be removed by its pattern
    assert cli(workdir, "unmute", "ci/*") == 0


def test_importing_the_reference_file_then_a_pass_does_not_re_alert(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the reference script's v2 file with a job 4 failures deep
    ref = {
        "pipeline_id": 1,
        "jobs": {
            "ci/a": {
                "consecutive_failures": 4,
                "jobs_info": [{"id": i, "failing": True, "commit": "c"} for i in range(4)],
            }
        },
    }
    (workdir / "job_executions.v2.json").write_text(json.dumps(ref))
    assert cli(workdir, "import", "--from", "datadog", str(workdir / "job_executions.v2.json")) == 0
    # When a new failure arrives (a minute ahead of the clock: newer than the imported runs, within the skew)
    (workdir / "inbox" / "a.jsonl").write_text(
        json.dumps({"job": "ci/a", "run_id": 99, "status": "failed", "finished_at": now_ms() + 60_000}) + "\n"
    )
    summary = run_json(workdir, capsys)
    # Then the streak continues and no second trigger is sent
    assert summary["notifications"] == []
    assert status_json(workdir, capsys)["jobs"]["ci/a"]["consecutive_failures"] == 5


def test_the_demo_shows_triggered_reminder_and_resolved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When the demo runs
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    # Then a newcomer sees every kind of event, a rejected line and a status table
    assert "FAILING" in out
    assert "STILL FAILING" in out
    assert "FIXED" in out
    assert "rejected day2-airflow.jsonl:4" in out
    assert "alerting" in out.splitlines()[-3]
    state = decode((tmp_path / "demo" / "state.json").read_bytes())
    assert any(j.alert for j in state.jobs.values())


def test_the_demo_prints_a_daily_digest_with_each_days_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When the demo runs its four daily passes
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    # Then each pass printed that day's digest of the 29 jobs, with its alerting jobs and the most failing ones
    digests = [line for line in out.splitlines() if line.startswith("failstreak daily digest, ")]
    assert len(digests) == 4
    assert len(set(digests)) == 4
    assert out.count("29 jobs: ") == 4
    assert "🔴 Alerting (" in out
    assert "📉 Most failing in the last 24 h (" in out
    assert "  - ci/web/visual-regression: 12 failures in a row" in out


def test_save_conflicts_that_never_end_fail_the_pass_clearly(workdir: Path) -> None:
    # Given a store whose document changes before every save
    cfg = load_config(str(workdir / "failstreak.yaml"))

    class Racing(LocalStateStore):
        writes = 0

        def save(self, data: bytes, token: str | None) -> str:
            self.writes += 1
            super().save(b'{"version": 1, "passes": %d}' % self.writes, super().load().token)
            return super().save(data, token)

    # When a pass runs
    with pytest.raises(FailstreakError, match="gave up after 8 conflicting writes"):
        run_pass(pass_settings(cfg), Ports(store=Racing(cfg.state)))


def test_an_abandoned_alerting_job_is_retired_and_stops_reminding(workdir: Path) -> None:
    # Given a job alerting since a pass 31 days ago, with nothing run since
    (workdir / "inbox" / "a.jsonl").write_text("\n".join(record("j", i) for i in (1, 2, 3)) + "\n")
    cfg = load_config(str(workdir / "failstreak.yaml"))
    ports = wiring.ports(cfg)
    ports.notifiers = {"console": RecordingNotifier()}
    ports.clock = lambda: T0 + HOUR
    run_pass(pass_settings(cfg), ports)
    # When a pass runs 31 days later
    ports.clock = lambda: T0 + HOUR + 31 * 24 * HOUR
    summary = run_pass(pass_settings(cfg), ports)
    # Then the job is retired and counted as such
    assert summary.retired == ["j"]
    assert summary.alerting == 0
    assert decode((workdir / "state.json").read_bytes()).jobs == {}


def test_a_slack_token_that_cannot_be_fetched_keeps_alerts_pending_and_the_counts_saved(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Slack configured with a token variable that is not set, and a job failing three times
    monkeypatch.delenv("FAILSTREAK_TEST_MISSING_TOKEN", raising=False)
    (workdir / "failstreak.yaml").write_text(
        "state: state.json\ninbox: inbox/\n"
        "notify: {slack: {token: {env: FAILSTREAK_TEST_MISSING_TOKEN}, default_channel: '#ci'}}\n"
    )
    (workdir / "inbox" / "a.jsonl").write_text("\n".join(record("ci/a", i) for i in (1, 2, 3)) + "\n")
    # When a pass runs
    summary = run_json(workdir, capsys)
    # Then the pass completes, the counters are saved and the alert waits, with the reason
    assert summary["ingested"] == 3
    assert summary["pending"] == 1
    (failure,) = summary["delivery_failures"]
    assert failure["retrying"] is True
    assert "FAILSTREAK_TEST_MISSING_TOKEN is not set" in failure["error"]
    assert status_json(workdir, capsys)["jobs"]["ci/a"]["alerting"] is True


def test_a_large_backlog_is_taken_in_bounded_batches_oldest_first(workdir: Path) -> None:
    # Given five inbox files, written oldest first, and passes bounded to two files each
    (workdir / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\ninbox_max_files: 2\n")
    for f in range(5):
        path = workdir / "inbox" / f"f{f}.jsonl"
        path.write_text("\n".join(record("j", f * 3 + i, "failed" if i else "success") for i in range(3)) + "\n")
        os.utime(path, ns=(T0 * 10**6 + f, T0 * 10**6 + f))
    cfg = load_config(str(workdir / "failstreak.yaml"))
    # When passes run until the inbox is empty
    summaries = [run_pass(pass_settings(cfg), wiring.ports(cfg)) for _ in range(3)]
    # Then each took at most two files, oldest first, said how many were left, and every run counted once
    assert [(s.files, s.backlog) for s in summaries] == [(2, 3), (2, 1), (1, 0)]
    assert [p.name for p in sorted((workdir / "inbox" / "processed").rglob("*.jsonl"))] == [
        f"f{i}.jsonl" for i in range(5)
    ]
    assert decode((workdir / "state.json").read_bytes()).jobs["j"].total_runs == 15


def test_one_file_larger_than_the_byte_bound_is_still_taken(workdir: Path) -> None:
    # Given a bound far below the size of the only file
    (workdir / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\ninbox_max_mib: 0.000001\n")
    (workdir / "inbox" / "big.jsonl").write_text("\n".join(record("j", i) for i in range(1, 20)) + "\n")
    cfg = load_config(str(workdir / "failstreak.yaml"))
    # When a pass runs
    summary = run_pass(pass_settings(cfg), wiring.ports(cfg))
    # Then the file is taken anyway, so a big file can never block the inbox
    assert (summary.files, summary.backlog, summary.ingested) == (1, 0, 19)


def test_a_status_an_override_counts_as_failure_keeps_its_link_through_a_pass(workdir: Path) -> None:
    # Given a config whose override counts skipped runs of `nightly/*` as failures
    (workdir / "failstreak.yaml").write_text(
        "state: state.json\ninbox: inbox/\noverrides: [{match: 'nightly/*', outcomes: {skipped: failure}}]\n"
    )
    # And skipped and successful runs with links, of that job and of another
    lines = [
        record("nightly/etl", 1, "skipped", url="https://ci/1", reason="no slot"),
        record("nightly/etl", 2, "success", url="https://ci/2"),
        record("ci/a", 3, "skipped", url="https://ci/3"),
    ]
    (workdir / "inbox" / "b.jsonl").write_text("\n".join(lines) + "\n")
    # When a pass runs
    cfg = load_config(str(workdir / "failstreak.yaml"))
    run_pass(pass_settings(cfg), wiring.ports(cfg))
    # Then the run that counts as a failure keeps its link and reason, and the others keep neither
    state = decode((workdir / "state.json").read_bytes(), "state.json")
    assert [(r.url, r.reason) for r in state.jobs["nightly/etl"].runs] == [("https://ci/1", "no slot"), (None, None)]
    assert [(r.url, r.reason) for r in state.jobs["ci/a"].runs] == [(None, None)]


def test_notifications_come_in_job_order_whatever_order_the_runs_arrived_in(workdir: Path) -> None:
    # Given jobs that start failing, delivered in reverse name order, and a pass that alerts on them
    (workdir / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\nreminder: {every_hours: 1}\n")
    names = ["ci/c", "ci/b", "ci/a"]
    lines = [record(name, 10 * k + i, minute=i) for k, name in enumerate(names) for i in range(3)]
    (workdir / "inbox" / "a.jsonl").write_text("\n".join(lines) + "\n")
    cfg = load_config(str(workdir / "failstreak.yaml"))

    def at(ms: int) -> Ports:
        ports = wiring.ports(cfg)
        ports.clock = lambda: ms
        return ports

    first = run_pass(pass_settings(cfg), at(T0 + HOUR))
    # Then the notifications are in job order
    assert [(n.job, n.event.value) for n in first.notifications] == [
        ("ci/a", "triggered"),
        ("ci/b", "triggered"),
        ("ci/c", "triggered"),
    ]
    # And when a later pass brings runs of `ci/b` only, the reminders due for the others come in the same order
    (workdir / "inbox" / "b.jsonl").write_text(record("ci/b", 99, minute=50) + "\n")
    second = run_pass(pass_settings(cfg), at(T0 + 3 * HOUR))
    assert [(n.job, n.event.value) for n in second.notifications] == [
        ("ci/a", "reminder"),
        ("ci/b", "reminder"),
        ("ci/c", "reminder"),
    ]


def test_a_pass_after_an_import_counts_runs_that_finished_before_the_import(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the reference's v1 file (no ids, no times) with a job 3 failures deep, past the threshold, and a healthy one
    ref = {
        "ci/a": {"consecutive_failures": 3, "cumulative_failures": [0, 1, 1, 1]},
        "ci/b": {"consecutive_failures": 0, "cumulative_failures": [1, 0]},
    }
    (workdir / "ref.json").write_text(json.dumps(ref))
    assert cli(workdir, "import", "--from", "datadog", str(workdir / "ref.json")) == 0
    imported = status_json(workdir, capsys)["jobs"]
    assert imported["ci/a"]["alerting"] is True

    # When the first pass reads runs that finished an hour before the import: a failure of each job, and a retry
    an_hour_ago = now_ms() - HOUR
    lines = [
        {"job": "ci/a", "run_id": 41, "status": "failed", "finished_at": an_hour_ago},
        {"job": "ci/b", "run_id": 7, "status": "failed", "finished_at": an_hour_ago},
        {"job": "ci/b", "run_id": 8, "status": "failed", "finished_at": an_hour_ago + 1000, "attempt": 2},
    ]
    (workdir / "inbox" / "late.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = run_json(workdir, capsys)

    # Then every run counts (none is stale), and the job already past its threshold is not announced again
    assert (summary["ingested"], summary.get("stale", 0)) == (3, 0)
    jobs = status_json(workdir, capsys)["jobs"]
    assert (jobs["ci/a"]["consecutive_failures"], jobs["ci/a"]["total_runs"]) == (4, 5)
    assert (jobs["ci/b"]["consecutive_failures"], jobs["ci/b"]["total_runs"]) == (2, 4)
    assert [n["job"] for n in summary["notifications"] if n["event"] == "triggered"] == []
