"""The backtest (docs/triage.md): replaying the archive of real passes, with other settings, without side effects."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from failstreak.app import backtest
from failstreak.app.cli import build_parser, main
from failstreak.app.config import parse_config
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Notification
from failstreak.errors import ConfigError
from failstreak.inbox.local import LocalInbox
from failstreak.pipeline.run import Ports, new_pass_id, run_pass
from failstreak.state.local import LocalStateStore
from tests.conftest import HOUR, MINUTE, T0

PASSES = 12


def write_pass_inbox(inbox: Path, n: int, rng: random.Random) -> None:
    """One pass's worth of records: three jobs, one flaky, one broken for a while, one healthy."""
    lines = []
    for job, fail in (("flaky", 0.5), ("broken", 0.9 if 3 <= n <= 7 else 0.0), ("healthy", 0.0)):
        for k in range(2):
            run_id = n * 10 + k
            status = "failed" if rng.random() < fail else "success"
            lines.append(
                json.dumps({"job": job, "run_id": run_id, "status": status, "finished_at": T0 + run_id * MINUTE})
            )
    (inbox / f"pass-{n:03d}.jsonl").write_text("\n".join(lines) + "\n")


def real_passes(tmp_path: Path) -> tuple[Path, list[Notification], str]:
    """Run PASSES real passes on a local store and inbox, an hour apart; return the inbox, every notification
    they raised, and the config text."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text = f"state: {tmp_path / 'state.json'}\ninbox: {inbox}\n"
    cfg = parse_config(text)
    rng = random.Random(17)
    notes: list[Notification] = []
    for n in range(PASSES):
        write_pass_inbox(inbox, n, rng)
        at = T0 + (n + 1) * HOUR
        ports = Ports(store=LocalStateStore(tmp_path / "state.json"), inbox=LocalInbox(inbox), clock=lambda at=at: at)
        notes.extend(run_pass(pass_settings(cfg), ports, pass_id=new_pass_id(at)).notifications)
    return inbox, notes, text


def test_the_backtest_of_the_configured_settings_matches_the_passes_that_ran(tmp_path: Path) -> None:
    # Given twelve real passes over a flaky, a broken and a healthy job, and the archive they left
    _, notes, text = real_passes(tmp_path)
    direct = backtest.Tally({})
    direct.count(notes)
    cfg = parse_config(text)
    # When the archive is replayed with the same settings
    result = backtest.replay(backtest.archive_for(cfg, None), backtest.variants(cfg, []))
    # Then it saw every pass and record, and its numbers are those of the passes themselves
    assert (result.passes, result.files, result.records) == (PASSES, PASSES, PASSES * 6)
    assert direct.incidents > 0
    assert [t.to_dict() for t in result.tallies] == [direct.to_dict()]


def test_each_combination_of_settings_is_replayed_and_stricter_settings_detect_later(tmp_path: Path) -> None:
    # Given the archive of twelve passes
    inbox, _, text = real_passes(tmp_path)
    cfg = parse_config(text)
    # When it is replayed with consecutive 2 and 5, cumulative off
    combos = backtest.variants(cfg, backtest.parse_sets(["thresholds.consecutive=2,5", "thresholds.cumulative=null"]))
    result = backtest.replay(backtest.LocalArchive(inbox / "processed"), combos)
    # Then there is one tally per combination, and the lower threshold opens at least as many incidents,
    # each on fewer failed runs
    low, high = (t.to_dict() for t in result.tallies)
    assert low["settings"] == {"thresholds.consecutive": 2, "thresholds.cumulative": None}
    assert low["incidents"] >= high["incidents"]
    assert low["median_detect_runs"] == 2
    assert high["median_detect_runs"] is None or high["median_detect_runs"] >= 5


def test_the_backtest_never_writes_the_state_nor_moves_the_archive(tmp_path: Path) -> None:
    # Given the state and archive real passes left
    inbox, _, text = real_passes(tmp_path)
    state_before = (tmp_path / "state.json").read_bytes()
    archived = sorted(p.as_posix() for p in (inbox / "processed").rglob("*"))
    cfg = parse_config(text)
    # When the backtest runs
    backtest.replay(backtest.archive_for(cfg, str(inbox)), backtest.variants(cfg, []))
    # Then the state and the archive are exactly as they were
    assert (tmp_path / "state.json").read_bytes() == state_before
    assert sorted(p.as_posix() for p in (inbox / "processed").rglob("*")) == archived


def test_suggest_names_the_fewest_flaps_within_the_detection_delay(tmp_path: Path) -> None:
    # Given tallies of three combinations
    fast_noisy = backtest.Tally({"thresholds.consecutive": 1}, flaps=5, detect_runs=[1, 1])
    fast_quiet = backtest.Tally({"thresholds.consecutive": 2}, flaps=1, detect_runs=[2, 2])
    slow = backtest.Tally({"thresholds.consecutive": 6}, flaps=0, detect_runs=[6])
    # When a suggestion is asked for a delay of at most 3 failed runs, and of at most 0
    # Then the quietest combination within the delay is named, and none when none fits
    assert backtest.suggest([fast_noisy, fast_quiet, slow], 3) is fast_quiet
    assert backtest.suggest([fast_noisy, fast_quiet, slow], 0) is None


def test_the_command_prints_a_table_and_a_suggestion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the archive of twelve passes and its config file
    _, _, text = real_passes(tmp_path)
    (tmp_path / "failstreak.yaml").write_text(text)
    # When the command runs
    code = main(
        [
            "backtest",
            *("--config", str(tmp_path / "failstreak.yaml")),
            *("--set", "thresholds.consecutive=2,3"),
            *("--suggest", "--max-detect-runs", "5"),
        ]
    )
    # Then it prints one line per combination, the totals read, and the suggestion
    out = capsys.readouterr().out
    assert code == 0
    assert "thresholds.consecutive=2 " in out
    assert "thresholds.consecutive=3 " in out
    assert f"{PASSES} passes, {PASSES} files" in out
    assert "suggested: thresholds.consecutive=" in out


def test_the_command_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the archive of twelve passes and its config file
    _, _, text = real_passes(tmp_path)
    (tmp_path / "failstreak.yaml").write_text(text)
    parser = build_parser()
    args = parser.parse_args(["backtest", "--config", str(tmp_path / "failstreak.yaml"), "--json", "--since", "1"])
    # When the command runs with --json, on the last day (which holds every pass)
    code = backtest.command(args, clock=lambda: T0 + 13 * HOUR)
    # Then one JSON document carries the totals and one result
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["passes"] == PASSES
    assert set(doc["results"][0]) == {
        "settings",
        "incidents",
        "notifications",
        "median_detect_runs",
        "median_detect_hours",
        "flaps",
    }


def test_passes_before_since_are_not_replayed(tmp_path: Path) -> None:
    # Given the archive of twelve hourly passes
    _, _, text = real_passes(tmp_path)
    cfg = parse_config(text)
    # When only the passes of the last five and a half hours are replayed
    result = backtest.replay(backtest.archive_for(cfg, None), backtest.variants(cfg, []), since=T0 + 7 * HOUR - 1)
    # Then the six newest are
    assert result.passes == 6


@pytest.mark.parametrize(
    ("sets", "says"),
    [
        (["thresholds.consecutive"], "write KEY=V1,V2"),
        (["thresholds.window=0"], "--set"),
        (["overrides.3.consecutive=2"], "is not an index"),
        (["thresholds.window.x=2"], "is not a mapping"),
    ],
)
def test_a_bad_set_is_refused_with_a_reason(sets: list[str], says: str) -> None:
    # Given a config with one override, and a --set that cannot apply to it
    cfg = parse_config("thresholds: {window: 10}\noverrides: [{match: 'nightly-*', consecutive: 2}]\n")
    # When the combinations are built
    # Then the error names the --set
    with pytest.raises(ConfigError, match=says):
        backtest.variants(cfg, backtest.parse_sets(sets))


def test_a_missing_archive_is_a_clear_error(tmp_path: Path) -> None:
    # Given a folder with no processed/ tree
    cfg = parse_config(f"inbox: {tmp_path / 'nothing'}\n")
    # When it is replayed
    # Then the error names where the archive was looked for
    with pytest.raises(ConfigError, match="no archive there"):
        backtest.replay(backtest.archive_for(cfg, None), backtest.variants(cfg, []))


def test_pass_times_come_from_the_pass_ids_else_their_day() -> None:
    # Given pass folders with a time-stamped id, a caller's own id, and a folder that is not a pass's
    # When their times are read
    # Then the id gives the time to the millisecond, else the day gives its midnight
    assert backtest.pass_time("2025/11/13/20251113T021320.005Z-abcd1234") == T0 + 5
    assert backtest.pass_time("2025/11/13/my-own-id") == T0 - (2 * HOUR + 13 * MINUTE + 20_000)
    assert backtest.pass_time("misc/notes") is None
