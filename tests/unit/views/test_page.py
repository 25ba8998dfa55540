"""The run-history page as data: its matrix, order, escaping, fingerprint and self-containment."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

from failstreak.core.incidents import Incident
from failstreak.core.model import Alert, JobState, Run, Status
from failstreak.views.page import JobView, anchor_of, fingerprint_of, render, safe_url
from tests.conftest import HOUR, T0


class Parsed(HTMLParser):
    """The elements of a page: (tag, attributes) in document order, and the text of every element."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)

    def rows(self) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == "tr" and "data-job" in a]

    def cells_by_row(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        current = None
        for tag, attrs in self.elements:
            if tag == "tr":
                current = attrs.get("data-job")
                if current is not None:
                    out[current] = []
            elif tag == "i" and current is not None and "data-status" in attrs:
                out[current].append(str(attrs["data-status"]))
        return out


def run(n: int, status: Status, **extra: str) -> Run:
    return Run(finished_at=T0 + n * HOUR, run_id=str(n), attempt=0, status=status, **extra)


def job(name: str, statuses: str, *, alert: bool = False, streak: int = 0, **fields: str) -> JobState:
    runs = [run(i + 1, Status(s)) for i, s in enumerate(statuses.split())]
    return JobState(
        name=name,
        runs=runs,
        consecutive_failures=streak,
        window_failures=sum(r.status is Status.FAILED for r in runs),
        window_size=len(runs),
        total_runs=len(runs),
        alert=Alert(T0, ["consecutive"], T0, 0, T0, 0, first_commit="3ab2161") if alert else None,
        **fields,  # type: ignore[arg-type]
    )


def view(j: JobState, *teams: str, **extra: str) -> JobView:
    return JobView(job=j, teams=teams, window=10, **extra)  # type: ignore[arg-type]


def test_the_matrix_has_one_row_per_job_and_one_cell_per_remembered_run_oldest_first() -> None:
    # Given two jobs with their remembered runs
    views = [view(job("a", "success failed canceled timed_out"), "t"), view(job("b", "skipped running"), "t")]

    # When the page is rendered
    page = Parsed(render(views, T0).html)

    # Then each job is one row, and its cells carry the runs' statuses in order
    assert page.cells_by_row() == {
        "a": ["success", "failed", "canceled", "timed_out"],
        "b": ["skipped", "running"],
    }


def test_alerting_jobs_come_first_and_jobs_are_grouped_by_their_first_team() -> None:
    # Given a quiet team, and a team with one alerting job among quiet ones; one job owned by two teams
    views = [
        view(job("quiet-1", "success"), "alpha"),
        view(job("b-ok", "success"), "zulu"),
        view(job("a-ok", "success"), "zulu", "alpha"),
        view(job("broken", "failed failed failed", alert=True, streak=3), "zulu"),
    ]

    # When the page is rendered
    page = Parsed(render(views, T0).html)

    # Then the team with an alerting job comes first, its alerting job at its top, and each job appears once
    groups = [a["data-team"] for t, a in page.elements if t == "tbody"]
    assert groups == ["zulu", "alpha"]
    assert [r["data-job"] for r in page.rows()] == ["broken", "a-ok", "b-ok", "quiet-1"]
    assert [r["data-teams"] for r in page.rows()] == ["zulu", "zulu alpha", "zulu", "alpha"]
    assert "data-alerting" in page.rows()[0]


def test_everything_a_producer_controls_is_escaped_and_only_http_links_are_made() -> None:
    # Given a job whose name, reason, commit, owner and run links are hostile
    hostile = job("<script>alert(1)</script>", "failed failed", owner='"><img src=x onerror=alert(2)>')
    hostile.runs[0] = run(1, Status.FAILED, url="javascript:alert(3)", reason="<b>boom</b>", commit="<i>c</i>")
    hostile.runs[1] = run(2, Status.FAILED, url="https://ci.example.com/r/2?a=1&b=<2>")
    views = [view(hostile, "t", mute="<u>muted</u>")]

    # When the page is rendered
    html = render(views, T0).html
    page = Parsed(html)

    # Then the names are text, no element came from the producer, and only the https URL is a link
    assert "<script>alert(1)</script>" in "".join(page.text)
    assert "<b>boom</b>" in "".join(page.text)
    assert {t for t, _ in page.elements} <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div", "input", "select",
        "option", "label", "i", "table", "thead", "tbody", "tr", "th", "td", "a", "small", "b", "span",
        "section", "ul", "li", "code", "script",
    }  # fmt: skip
    links = [a["href"] for t, a in page.elements if t == "a" and not str(a["href"]).startswith("#")]
    assert links == ["https://ci.example.com/r/2?a=1&b=<2>"] * 2
    assert "javascript:" not in re.sub(r"title=\"[^\"]*\"|>[^<]*<", "", html)
    assert len(page.scripts) == 1


def test_safe_url_keeps_http_links_and_refuses_every_other_scheme_and_broken_urls() -> None:
    # Given URLs of every kind; When each is checked; Then only whole http(s) URLs pass
    assert safe_url("https://x.example/run/1") == "https://x.example/run/1"
    assert safe_url("HTTP://x.example/") == "HTTP://x.example/"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil.example/", "https://x\n.example", "", None):
        assert safe_url(bad) is None


def test_the_page_requests_nothing_from_the_network_and_its_policy_allows_only_its_own_script_and_style() -> None:
    # Given a page
    html = render([view(job("a", "failed"), "t")], T0).html
    page = Parsed(html)

    # When its elements and policy are read
    csp = next(a["content"] for t, a in page.elements if t == "meta" and a.get("http-equiv"))

    # Then nothing is loaded from elsewhere, and the policy names exactly the inline script and style by hash
    assert not [a for t, a in page.elements if "src" in a or (t == "link")]

    def sha(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert csp == (
        f"default-src 'none'; style-src 'sha256-{sha(page.styles[0])}'; "
        f"script-src 'sha256-{sha(page.scripts[0])}'; img-src data:"
    )


def test_the_fingerprint_ignores_when_the_page_was_rendered_and_changes_with_what_it_shows() -> None:
    # Given the same jobs rendered an hour apart, and once more after a new run
    views = [view(job("a", "success failed"), "t")]
    first, later = render(views, T0), render(views, T0 + HOUR)
    newer = render([view(job("a", "success failed success"), "t")], T0)

    # Then the two renders share a fingerprint, the new run changes it, and the page's head carries it
    assert first.html != later.html
    assert first.fingerprint == later.fingerprint
    assert newer.fingerprint != first.fingerprint
    assert fingerprint_of(first.html[:4096]) == first.fingerprint
    assert fingerprint_of("<html><head></head>") is None


def test_health_is_shown_and_filterable_only_when_the_monitor_gives_one() -> None:
    # Given jobs without a health, and the same jobs with one
    plain = Parsed(render([view(job("a", "success"), "t")], T0).html)
    healthy = Parsed(render([view(job("a", "success"), "t", health="flaky")], T0).html)

    # Then the health filter and the row's data-health exist only in the second
    assert not [a for t, a in plain.elements if a.get("id") == "health"]
    assert [a for t, a in healthy.elements if a.get("id") == "health"]
    assert healthy.rows()[0]["data-health"] == "flaky"


def test_each_job_has_a_section_with_its_open_incident_mute_and_failed_runs() -> None:
    # Given an alerting, muted job with a failed run that has a link, a commit and a reason
    broken = job("etl", "success failed", alert=True, streak=1)
    broken.runs[1] = run(2, Status.FAILED, url="https://ci.example.com/2", commit="3ab2161", reason="disk full")
    html = render([view(broken, "data", mute="until 2026-12-24T08:00:00Z (migration)")], T0).html

    # When its section is read
    section = html[html.index('<section class="job"') :]
    text = "".join(Parsed(section).text)

    # Then it names the incident, where it began, the mute, and each failed run with its reason
    assert "Open incident" in text
    assert "began at commit 3ab2161" in text
    assert "muted until 2026-12-24T08:00:00Z (migration)" in text
    assert "disk full" in text
    # And the job's name in the matrix links to its section, by an anchor that is the job's on every page
    assert f'href="#{anchor_of("etl")}"' in html
    assert f'id="{anchor_of("etl")}"' in section
    assert anchor_of("etl") != anchor_of("etl2")


def test_a_job_with_a_smaller_window_than_configured_says_of_how_many() -> None:
    # Given a job with 2 counted runs under a window of 10
    page = render([view(job("young", "failed success"), "t")], T0).html

    # Then its window cell says 1/2 of 10
    assert "1/2 <small>of 10</small>" in page


def test_a_jobs_section_lists_its_closed_incidents_newest_first() -> None:
    # Given a job with two closed incidents, one whose last failure's reason is hostile
    older = Incident(T0, T0 + HOUR, ["consecutive"], since=T0 - HOUR, failed_runs=4, first_commit="3ab2161")
    newer = Incident(T0 + 5 * HOUR, T0 + 9 * HOUR, ["cumulative"], failed_runs=6, last_reason="<b>x</b>", suppressed=2)
    html = render([JobView(job=job("etl", "success"), teams=("t",), window=10, incidents=(older, newer))], T0).html

    # When its section is read
    text = "".join(Parsed(html[html.index('<section class="job"') :]).text)

    # Then both incidents are listed, newest first, with what each was
    assert "Past incidents, newest first:" in text
    assert text.index("(cumulative)") < text.index("(consecutive)")
    assert "2025-11-13 02:13Z to 2025-11-13 03:13Z (consecutive) · 4 failed runs since 2025-11-13 01:13Z" in text
    assert "began at commit 3ab2161" in text
    assert "last failure: <b>x</b> · 2 notifications suppressed by mutes" in text
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_a_page_of_more_jobs_than_its_bound_keeps_the_alerting_and_longest_streaks_and_says_so() -> None:
    # Given four jobs, one alerting, one on a streak, and a bound of two jobs
    views = [
        view(job("quiet-a", "success"), "t"),
        view(job("streak", "failed failed", streak=2), "t"),
        view(job("quiet-b", "success"), "t"),
        view(job("alerting", "failed failed failed", alert=True, streak=3), "t"),
    ]

    # When the page is rendered
    html = render(views, T0, max_jobs=2).html

    # Then the alerting job and the streak are shown, the header still counts every job, and the page says how many
    # are left out
    assert [r["data-job"] for r in Parsed(html).rows()] == ["alerting", "streak"]
    assert "<p>4 jobs, 1 alerting</p>" in html
    assert "2 more jobs are not on this page</b>, which shows at most 2" in html
    assert "more jobs are not on this page" not in render(views, T0).html
