"""`failstreak status` and `run --json` with triage (docs/triage.md): health, categories, the estate alert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failstreak.app.cli import main
from failstreak.core.model import now_ms

NOW = now_ms()
MIN = 60_000


def _records(tmp_path: Path, lines: list[dict[str, object]]) -> None:
    (tmp_path / "inbox" / f"runs-{len(list((tmp_path / 'inbox').glob('*.jsonl')))}.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in lines)
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "failstreak.yaml").write_text(
        "state: state.json\ninbox: inbox/\nnotify: {console: false}\n"
        "teams: {platform: {slack: ['#platform']}}\n"
        "categories:\n  alerts: {infra: {team: platform, threshold: 3, hours: 1}}\n"
    )
    return tmp_path


def _cli(workdir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main([args[0], "--config", str(workdir / "failstreak.yaml"), *args[1:]]) == 0
    return capsys.readouterr().out


def test_status_shows_each_jobs_health_and_its_failures_by_category(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a flaky job, a broken one, and one whose failures were the platform's (infra)
    flaky = [
        {"job": "e2e", "run_id": i, "status": "failed" if i % 2 else "success", "finished_at": NOW - (20 - i) * MIN}
        for i in range(10)
    ]
    broken = [
        {"job": "build", "run_id": i, "status": "failed", "commit": "3ab2161", "finished_at": NOW - (9 - i) * MIN}
        for i in range(4)
    ]
    infra = [
        {"job": "etl", "run_id": i, "status": "failed", "category": "infra", "finished_at": NOW - (5 - i) * MIN}
        for i in range(3)
    ]
    _records(workdir, flaky + broken + infra)
    # When a pass runs, then status is asked as JSON and as a table
    run = json.loads(_cli(workdir, capsys, "run", "--json"))
    doc = json.loads(_cli(workdir, capsys, "status", "--json"))
    table = _cli(workdir, capsys, "status")
    # Then the pass raised the estate-wide infra alert (about no job), and status says each job's health
    estate = [n for n in run["notifications"] if n.get("scope")]
    assert estate == [
        {
            "job": None,
            "event": "triggered",
            "reasons": ["category"],
            "consecutive_failures": 0,
            "window_failures": 3,
            "window_size": 3,
            "suppressed": False,
            "health": "healthy",
            "health_detail": None,
            "scope": "category:infra",
        }
    ]
    jobs = doc["jobs"]
    assert (jobs["e2e"]["health"], jobs["e2e"]["health_detail"]) == ("flaky", "flaky: 9 flips in the last 10 runs")
    assert (jobs["build"]["health"], jobs["build"]["health_detail"]) == (
        "broken",
        "broken since commit 3ab2161, 4 runs ago",
    )
    assert jobs["etl"]["health"] == "healthy"
    assert jobs["etl"]["category_failures"] == {"code": 0, "infra": 3, "upstream": 0}
    assert jobs["build"]["category_failures"] == {"code": 4, "infra": 0, "upstream": 0}
    assert jobs["etl"]["consecutive_failures"] == 0
    assert "HEALTH" in table
    healths = {"healthy", "flaky", "broken", "silent"}
    rows = [line for line in table.splitlines() if line.startswith(("e2e", "build", "etl"))]
    assert [next(w for w in row.split() if w in healths) for row in rows] == [
        "broken",
        "flaky",
        "healthy",
    ]
    assert "[not counted: 3 infra]" in table
