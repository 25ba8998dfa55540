"""`page:` (docs/page.md): every pass keeps the run-history page current, and rewrites it only when it changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failstreak.app.cli import main
from tests.conftest import T0
from tests.unit.views.test_page_rows import reindexed


def add_runs(workdir: Path, name: str, job: str, statuses: str, start: int) -> None:
    lines = [
        json.dumps({"job": job, "run_id": start + i, "status": s, "finished_at": T0 + (start + i) * 60_000})
        for i, s in enumerate(statuses.split())
    ]
    (workdir / "inbox" / name).write_text("\n".join(lines) + "\n")


def run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["run", "--json", "--config", str(workdir / "failstreak.yaml")]) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\npage: site/page.html\n")
    return tmp_path


def test_each_pass_keeps_the_page_and_rewrites_it_only_when_it_changed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given `page:` in the config and a job failing three times
    add_runs(workdir, "1.jsonl", "ci/a", "failed failed failed", 1)
    page = workdir / "site" / "page.html"

    # When a pass runs, then a pass with nothing new, then a pass with a new run
    first = run(workdir, capsys)
    after_first = page.read_bytes()
    idle = run(workdir, capsys)
    after_idle = page.read_bytes()
    add_runs(workdir, "2.jsonl", "ci/a", "success", 4)
    changed = run(workdir, capsys)

    # Then the first writes the page with the job alerting, the idle pass leaves it byte for byte, and the new
    # run is on the rewritten page
    assert (first["page"], idle["page"], changed["page"]) == ("written", "unchanged", "written")
    assert b'data-job="ci/a"' in after_first
    assert b"data-alerting" in after_first
    assert after_idle == after_first
    assert page.read_text().count('data-status="') == 4


def _marked(page: bytes) -> bytes:
    """`page` with a mark put inside ci/b's row and section (the same number of bytes), its index sealed again as a
    pass seals it: a pass copies a kept row only from a page whose rows are those its index was written with
    (docs/page.md)."""
    row = page.index(b'data-job="ci/b"')
    marked = page[:row] + page[row:].replace(b'class="n streak"', b'class="n STREAK"', 1)
    return reindexed(marked.replace(b"<h3>ci/b</h3>", b"<h3>CI/B</h3>", 1))


def test_a_pass_renders_only_the_jobs_that_changed_and_reuses_the_kept_page_s_other_rows(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a page of two jobs kept by a pass, on which a mark is put inside the unchanged job's row and section
    add_runs(workdir, "1.jsonl", "ci/a", "failed", 1)
    add_runs(workdir, "2.jsonl", "ci/b", "success", 1)
    run(workdir, capsys)
    page = workdir / "site" / "page.html"
    page.write_bytes(_marked(page.read_bytes()))

    # When a pass brings a run for ci/a alone
    add_runs(workdir, "3.jsonl", "ci/a", "failed", 2)
    assert run(workdir, capsys)["page"] == "written"

    # Then ci/b's row and section were taken from the kept page (the mark is still there), ci/a's rendered anew
    text = page.read_text()
    assert 'class="n STREAK"' in text[text.index('data-job="ci/b"') :].split("</tr>")[0]
    assert "<h3>CI/B</h3>" in text
    assert text.count('data-job="ci/a"') == 1
    assert "run 2 · failed" in text


def test_a_page_that_cannot_be_written_is_a_warning_and_the_pass_still_counts(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given `page:` under a path that is a file, so that no page can be written there
    (workdir / "blocker").write_text("a file, not a folder")
    (workdir / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\npage: blocker/page.html\n")
    add_runs(workdir, "1.jsonl", "ci/a", "failed", 1)

    # When a pass runs
    summary = run(workdir, capsys)

    # Then the pass completes and counts the run, the page is reported failed, with a warning naming it
    assert summary["ingested"] == 1
    assert summary["page"] == "failed"
    warnings = summary["warnings"]
    assert isinstance(warnings, list)
    assert any("the run-history page was not written" in w and "blocker/page.html" in w for w in warnings)
    assert main(["status", "--config", str(workdir / "failstreak.yaml"), "--json"]) == 0
    assert "ci/a" in json.loads(capsys.readouterr().out)["jobs"]


def test_without_page_a_pass_writes_no_page(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given no `page:` in the config
    (workdir / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\n")
    add_runs(workdir, "1.jsonl", "ci/a", "failed", 1)

    # When a pass runs; Then it reports no page, and writes no HTML anywhere
    assert run(workdir, capsys)["page"] is None
    assert not list(workdir.rglob("*.html"))


def test_the_demo_leaves_its_run_history_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When the demo runs (what `make run` does)
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--passes", "2"]) == 0

    # Then its passes wrote the page of its 29 jobs, and it says where the page is
    html = (tmp_path / "demo" / "page.html").read_text()
    assert html.count("<tr data-job=") == 29
    assert f"the run-history page: {tmp_path / 'demo'}/page.html" in capsys.readouterr().out


def test_a_resolved_incident_stays_on_the_page_and_in_the_jobs_status(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a job that fails three times (a pass alerts), then succeeds (the next pass resolves it)
    add_runs(workdir, "1.jsonl", "ci/a", "failed failed failed", 1)
    run(workdir, capsys)
    add_runs(workdir, "2.jsonl", "ci/a", "success", 4)
    assert [n["event"] for n in run(workdir, capsys)["notifications"]] == ["resolved"]  # type: ignore[index,union-attr]

    # When the page and the job's status are read
    html = (workdir / "site" / "page.html").read_text()
    assert main(["status", "ci/a", "--json", "--config", str(workdir / "failstreak.yaml")]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(["status", "ci/a", "--config", str(workdir / "failstreak.yaml")]) == 0
    text = capsys.readouterr().out

    # Then all show the closed incident: its reasons and its three failed runs
    assert "Past incidents, newest first:" in html
    assert "(consecutive) · 3 failed runs since" in html
    assert "no open incident" in text
    assert any(
        line.startswith("past incident ") and "(consecutive): 3 failed runs" in line for line in text.splitlines()
    )
    assert one["incident"] is None
    (past,) = one["incidents"]
    assert (past["reasons"], past["failed_runs"], past["failing_since"]) == (
        ["consecutive"],
        3,
        "2025-11-13T02:14:20Z",
    )
