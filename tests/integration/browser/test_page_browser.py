"""The run-history page in a real headless browser: Debian's chromium driven by Playwright (`make browser`).

One browser for the module, a few pages: the whole file runs in a few seconds.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from failstreak.app.cli import main
from failstreak.core.model import Alert, JobState, Run, Status
from failstreak.views.page import JobView, render
from tests.conftest import HOUR, T0

pytestmark = pytest.mark.integration

HOSTILE = "<script>alert(1)</script>"
PATTERN = ["ok", "ok", "fail", "ok", "fail", "fail", "fail", "cancel", "ok", "skip"]
STATUS = {"ok": Status.SUCCESS, "fail": Status.FAILED, "cancel": Status.CANCELED, "skip": Status.SKIPPED}


def chromium() -> str:
    found = os.environ.get("FAILSTREAK_CHROMIUM") or shutil.which("chromium")
    assert found, "no chromium: run `make browser` (apt-get install chromium)"
    assert Path(found).exists(), f"{found}: no such file; run `make browser` (apt-get install chromium)"
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def estate() -> list[JobView]:
    """Twelve jobs of three teams, each with its own strip of runs; two alerting; one with a hostile name."""
    views = []
    for i in range(12):
        statuses = [STATUS[s] for s in PATTERN[i % 3 : i % 3 + 3 + i % 7]]
        runs = [
            Run(T0 + n * HOUR, str(n), n % 2, s, url=f"https://ci.example.com/{i}/{n}", reason=f"boom {n}")
            for n, s in enumerate(statuses)
        ]
        name = HOSTILE if i == 5 else f"team{i % 3}/job-{i:02d}"
        alert = Alert(T0, ["consecutive"], T0, 0, T0, 0) if i in (4, 5) else None
        job = JobState(name=name, runs=runs, consecutive_failures=3 if alert else 0, alert=alert, window_size=len(runs))
        views.append(JobView(job=job, teams=(f"team-{i % 3}",), window=10))
    return views


def open_page(browser: Browser, tmp_path: Path, *, js: bool = True) -> tuple[Page, list[str], list[str]]:
    """The estate's page opened from a file; the console errors, page errors and dialogs, and every request."""
    path = tmp_path / "page.html"
    path.write_text(render(estate(), T0).html, encoding="utf-8")
    context = browser.new_context(java_script_enabled=js, viewport={"width": 1200, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    return page, problems, requests


def test_the_page_renders_with_no_console_errors_and_requests_nothing_but_itself(
    browser: Browser, tmp_path: Path
) -> None:
    # Given the page of an estate with a job named like a script
    # When chromium opens it
    _, problems, requests = open_page(browser, tmp_path)

    # Then no error, no dialog, and no request beyond the file itself
    assert problems == []
    assert requests == [(tmp_path / "page.html").as_uri()]


def test_the_matrix_has_one_row_per_job_and_one_cell_per_remembered_run_with_its_status(
    browser: Browser, tmp_path: Path
) -> None:
    # Given the estate's page open in chromium
    page, _, _ = open_page(browser, tmp_path)

    # When its rows and cells are read from the DOM
    shown = page.eval_on_selector_all(
        "#matrix tr[data-job]",
        "rows => rows.map(r => [r.dataset.job, [...r.querySelectorAll('[data-status]')].map(c => c.dataset.status)])",
    )

    # Then one row per job, each with its runs' statuses in order
    expected = {v.job.name: [r.status.value for r in v.job.runs] for v in estate()}
    assert len(shown) == len(expected)
    assert dict(shown) == expected


def test_the_filter_box_the_team_filter_and_alerting_only_hide_rows(browser: Browser, tmp_path: Path) -> None:
    # Given the estate's page open in chromium
    page, problems, _ = open_page(browser, tmp_path)
    visible = "#matrix tr[data-job]:visible"

    # When a name is typed in the filter box
    page.fill("#q", "job-1")

    # Then only the matching jobs are shown
    assert sorted(page.eval_on_selector_all(visible, "rs => rs.map(r => r.dataset.job)")) == [
        "team1/job-10", "team2/job-11",
    ]  # fmt: skip

    # When the box is cleared and a team is chosen
    page.fill("#q", "")
    page.select_option("#team", "team-2")
    # Then only that team's jobs are shown
    assert page.locator(visible).count() == 4

    # When alerting only is ticked too
    page.check("#alerting")
    # Then only that team's alerting job is left, and the other teams' groups are hidden
    assert page.eval_on_selector_all(visible, "rs => rs.map(r => r.dataset.job)") == [HOSTILE]
    assert page.locator("#matrix tbody:visible").count() == 1
    assert problems == []


def test_a_job_named_like_a_script_renders_as_text(browser: Browser, tmp_path: Path) -> None:
    # Given the estate's page, one of whose jobs is named <script>alert(1)</script>
    page, problems, _ = open_page(browser, tmp_path)

    # When its row's name is read
    row = page.locator("#matrix tr[data-alerting]").filter(has_text="alert(1)")

    # Then it is the literal text, no script ran, and the page holds exactly its own script
    assert row.locator("th").inner_text() == HOSTILE
    assert page.locator("script").count() == 1
    assert problems == []


def test_without_javascript_every_row_is_shown_and_the_filters_are_hidden(browser: Browser, tmp_path: Path) -> None:
    # Given chromium with JavaScript off
    page, problems, _ = open_page(browser, tmp_path, js=False)

    # Then every job's row is visible and the controls that need the script are not
    assert page.locator("#matrix tr[data-job]:visible").count() == len(estate())
    assert not page.locator("#controls").is_visible()
    assert problems == []


def test_focusing_a_failed_run_shows_its_reason_and_link(browser: Browser, tmp_path: Path) -> None:
    # Given the estate's page in chromium
    page, _, _ = open_page(browser, tmp_path)
    cell = page.locator("#matrix tr[data-job='team1/job-01'] [data-status=failed]").first
    assert not cell.locator(".tip").is_visible()

    # When a failed run's cell gets the focus (a tap, or the keyboard)
    cell.focus()

    # Then its tip shows the run's reason and a link to it
    tip = cell.locator(".tip")
    assert tip.is_visible()
    assert "boom" in tip.inner_text()
    assert tip.locator("a").get_attribute("href", timeout=1000) is not None


def test_the_demo_estates_page_renders_cleanly_on_a_phone(browser: Browser, tmp_path: Path) -> None:
    # Given the page `make run`'s demo leaves
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--dir", str(tmp_path / "demo"), "--passes", "2"]) == 0

    # When chromium opens it at a phone's width
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto((tmp_path / "demo" / "page.html").as_uri())

    # Then it shows every job without errors, and no row is wider than the screen
    assert problems == []
    assert page.locator("#matrix tr[data-job]:visible").count() == 29
    widest = page.eval_on_selector_all("#matrix tr[data-job]", "rs => Math.max(...rs.map(r => r.scrollWidth))")
    assert widest <= 390
