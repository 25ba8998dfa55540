"""The run-history page (docs/page.md): one self-contained HTML file, rendered from plain values. Pure.

Jobs × their remembered runs as a matrix of coloured cells, alerting jobs first, grouped by team, then one
section per job. Everything a producer controls (job names, reasons, commits, owners, URLs, mute reasons) is
escaped; a link is only made of an `http(s)` URL. The page makes no network request: its style and script are
inline, and its Content-Security-Policy allows nothing else (the script and style by their hashes). It works
without JavaScript; the script only adds the filter box and the team and health filters.

`render` returns the page (its UTF-8 pieces) and its fingerprint: a hash of everything on it except the time it
was rendered, its index standing for its rows and sections (below), so that a writer can leave an unchanged page
alone (views/store.py) without hashing the whole page.

After the sections, the page's index (docs/page.md) gives, for each job, two digests (of the job as saved and
of everything else its row and section are made from), its group and health, and where its row and section are;
and it is checksummed, with the bytes it points into. The next render reads the index alone (`fragments_of`) and
copies the rows and sections whose digests are unchanged, as bytes, never decoded, rendering only the jobs that
changed: the result is the same bytes as a render from nothing. A pass works the digests out before reading the
jobs (views/jobs.py `page_rows`, then `compose`); `render` works them out from whole views. Each job's anchor is
its own on every page, so that rows and sections that follow each other on both pages are copied in one piece: a
pass's page costs about a read and a write of the page, plus the rows it renders.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import msgspec

from failstreak.core.incidents import Incident
from failstreak.core.model import JobState, Run, Status, iso

# One colour per canonical status; failures red, successes green, the ignored ones grey or blue.
STATUS_COLOURS: dict[Status, str] = {
    Status.SUCCESS: "#2da44e",
    Status.SUCCEEDED_WITH_FAILURES: "#8fd19e",
    Status.FAILED: "#cf222e",
    Status.TIMED_OUT: "#bc4c00",
    Status.UPSTREAM_FAILED: "#8250df",
    Status.CANCELED: "#8c959f",
    Status.SKIPPED: "#d0d7de",
    Status.RUNNING: "#54aeff",
}
FAILED_STATUSES = frozenset({Status.FAILED, Status.TIMED_OUT})
NO_TEAM = "default"
FINGERPRINT_META = "failstreak-fingerprint"
INPUTS_META = "failstreak-inputs"
# 15 to 50 MiB of page (1 to 5 MiB compressed), by how many runs its jobs remember and how many failed: a page a
# browser still opens, and a render that stays small beside a pass's own memory at 100,000 jobs
# (docs/performance.md).
MAX_JOBS = 10_000


@dataclass(frozen=True, slots=True)
class JobView:
    """One job as the page shows it: its state, and what the config says about it.

    `teams` are the owning teams (the first one groups the job); `mute` describes the mute covering the job now,
    if any; `health` is the job's health when the monitor computes one (shown and filterable when present);
    `incidents` are its closed incidents, oldest first.
    """

    job: JobState
    teams: tuple[str, ...]
    window: int
    mute: str | None = None
    health: str | None = None
    incidents: tuple[Incident, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """A page's HTML in its UTF-8 pieces (`parts`, written in order, never joined by a pass); the fingerprint of
    what it shows; and, from a pass, the digest of what it was made from (`inputs`: a pass that would make it from
    the same inputs leaves it as it is, without rendering it). `rendered`: how many jobs' rows and sections were
    rendered, the others being copied from the page it replaces, as bytes, without ever being decoded."""

    parts: tuple[bytes | memoryview, ...]
    fingerprint: str
    inputs: str | None = None
    rendered: int = 0

    @property
    def data(self) -> bytes:
        return b"".join(self.parts)

    @property
    def html(self) -> str:
        return self.data.decode("utf-8")

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.parts)


# A piece of a page: its own bytes, or a view of the kept page's (copied only once, into the new page).
Chunk = bytes | memoryview


@dataclass(frozen=True, slots=True)
class Totals:
    """The whole estate's counts, when the views given to `render` are only the jobs it shows."""

    jobs: int
    alerting: int


_HTTP_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+\Z", re.IGNORECASE)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})
_EPOCH = date(1970, 1, 1)
DAY_MINUTES = 1440


def _e(text: object) -> str:
    """Text made safe in an HTML element or a quoted attribute (html.escape's five characters, in one pass)."""
    text = str(text)
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return text.translate(_ESCAPES)
    return text


@functools.lru_cache(maxsize=4096)
def _day(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).isoformat()


def when(ms: int) -> str:
    """A run's time to the minute, UTC (`2026-12-02 06:43Z`); the runs of a day share the date's formatting, which
    is most of the cost of a page of 100,000 runs."""
    try:
        day, minute = divmod(ms // 60_000, DAY_MINUTES)
        return f"{_day(day)} {minute // 60:02d}:{minute % 60:02d}Z"
    except (OverflowError, TypeError, ValueError):
        return iso(ms) or ""


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) URL, else None: a `javascript:` or `data:` link is never made."""
    if not url:
        return None
    url = url.strip()
    return url if _HTTP_URL.match(url) else None


def _cell_tip(run: Run) -> str:
    tip = f"run {run.run_id} · {run.status.value} · {when(run.finished_at)}"
    if run.attempt:
        tip += f" · attempt {run.attempt}"
    if run.reason:
        tip += f" · {run.reason}"
    return _e(tip)


def _cell(run: Run) -> str:
    """One run's cell. Failed runs can take the focus (a tap on a phone), which shows their reason and link."""
    status = run.status.value
    tip = _cell_tip(run)
    if run.status not in FAILED_STATUSES:
        return f'<i data-status="{status}" title="{tip}"></i>'
    url = safe_url(run.url)
    link = f' <a href="{_e(url)}" rel="noopener noreferrer">open run</a>' if url else ""
    # No `title`: hovering shows the tip itself, which a title would only repeat (in a second box, after a delay).
    return f'<i data-status="{status}" tabindex="0"><span class="tip">{tip}{link}</span></i>'


def _state_label(v: JobView) -> str:
    job = v.job
    parts = []
    if job.alert is not None:
        parts.append(f'<b class="alerting">alerting</b> ({_e(", ".join(job.alert.reasons))})')
    else:
        parts.append("ok")
    if v.health:
        parts.append(f'<span class="health">{_e(v.health)}</span>')
    if v.mute:
        parts.append(f'<span class="muted">muted: {_e(v.mute)}</span>')
    return " · ".join(parts)


def _row(v: JobView, anchor: str) -> str:
    job = v.job
    attrs = f' data-job="{_e(job.name)}" data-teams="{_e(" ".join(v.teams) or NO_TEAM)}"'
    if job.alert is not None:
        attrs += " data-alerting"
    if v.health:
        attrs += f' data-health="{_e(v.health)}"'
    cells = "".join(_cell(r) for r in job.runs)
    return (
        f'<tr{attrs}><th scope="row"><a href="#{anchor}">{_e(job.name)}</a></th>'
        f'<td class="n streak">{job.consecutive_failures}</td>'
        f'<td class="n window">{job.window_failures}/{job.window_size}'
        f"{f' <small>of {v.window}</small>' if job.window_size < v.window else ''}</td>"
        f'<td>{_state_label(v)}</td><td class="runs">{cells}</td></tr>'
    )


def _incident(v: JobView) -> str:
    alert = v.job.alert
    if alert is None:
        return ""
    items = [
        f"alerting since {when(alert.triggered_at)} ({_e(', '.join(alert.reasons))})",
        f"failing since {when(alert.since)}" if alert.since is not None else "",
        f"began at commit <code>{_e(alert.first_commit)}</code>" if alert.first_commit else "",
        f"last notified {when(alert.last_notified_at)}",
        f"{alert.suppressed} notifications suppressed by mutes" if alert.suppressed else "",
    ]
    return "<p><b>Open incident</b>: " + " · ".join(i for i in items if i) + "</p>"


def _past(incidents: Sequence[Incident]) -> str:
    if not incidents:
        return ""
    rows = []
    for i in reversed(incidents):
        parts = [
            f"{when(i.triggered_at)} to {when(i.resolved_at)} ({_e(', '.join(i.reasons))})",
            f"{i.failed_runs} failed runs" + (f" since {when(i.since)}" if i.since is not None else ""),
            f"began at commit <code>{_e(i.first_commit)}</code>" if i.first_commit else "",
            f"last failure: {_e(i.last_reason)}" if i.last_reason else "",
            f"{i.suppressed} notifications suppressed by mutes" if i.suppressed else "",
        ]
        rows.append("<li>" + " · ".join(p for p in parts if p) + "</li>")
    return "<p>Past incidents, newest first:</p><ul>" + "".join(rows) + "</ul>"


def _failures(job: JobState) -> str:
    rows = []
    for r in reversed(job.runs):
        if r.status not in FAILED_STATUSES:
            continue
        url = safe_url(r.url)
        run = f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(r.run_id)}</a>' if url else _e(r.run_id)
        attempt = f" (attempt {r.attempt})" if r.attempt else ""
        commit = f" <code>{_e(r.commit)}</code>" if r.commit else ""
        rows.append(f"<li>{when(r.finished_at)} run {run} {r.status.value}{attempt}{commit} {_e(r.reason or '')}</li>")
    return "<ul>" + "".join(rows) + "</ul>" if rows else ""


def _section(v: JobView, anchor: str) -> str:
    """The job's facts, its open incident and its remembered failed runs (newest first), readable without
    hovering: the reasons and links of the matrix's tips, for phones and printouts."""
    job = v.job
    facts = [
        _e(", ".join(v.teams) or NO_TEAM),
        f"owner {_e(job.owner)}" if job.owner else "",
        f"source {_e(job.source)}" if job.source else "",
        f"health {_e(v.health)}" if v.health else "",
        f"streak {job.consecutive_failures}",
        f"window {job.window_failures}/{job.window_size} of {v.window}",
        f"{job.total_runs} runs, {job.total_failures} failed",
        f"seen {when(job.first_seen)} to {when(job.last_seen)}",
        f"last success {when(job.last_success)}" if job.last_success is not None else "never succeeded",
        f"muted {_e(v.mute)}" if v.mute else "",
    ]
    return (
        f'<section class="job" id="{anchor}"><h3>{_e(job.name)}</h3>'
        f"<p>{' · '.join(f for f in facts if f)}</p>{_incident(v)}{_past(v.incidents)}{_failures(job)}</section>"
    )


def _filters(teams: Sequence[str], healths: Sequence[str]) -> str:
    team_options = "".join(f'<option value="{_e(t)}">{_e(t)}</option>' for t in teams)
    health = ""
    if healths:
        options = "".join(f'<option value="{_e(h)}">{_e(h)}</option>' for h in healths)
        health = f'<select id="health" aria-label="health"><option value="">any health</option>{options}</select>'
    return (
        '<div id="controls" hidden><input id="q" type="search" placeholder="filter jobs" aria-label="filter jobs">'
        f'<select id="team" aria-label="team"><option value="">all teams</option>{team_options}</select>{health}'
        '<label><input id="alerting" type="checkbox"> alerting only</label></div>'
    )


def _legend() -> str:
    return (
        '<p class="legend">'
        + " ".join(f'<i class="key" data-key="{s.value}"></i> {s.value.replace("_", " ")}' for s in STATUS_COLOURS)
        + " · runs oldest &rarr; newest; hover or tap a cell for its run</p>"
    )


STYLE = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;padding:8px;max-width:1400px;color:#1f2328}"
    "h1{font-size:1.3em;margin:.2em 0}h3{font-size:1.05em;margin:.8em 0 .2em}"
    ".wrap{overflow-x:auto}table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #d8dee4;vertical-align:middle}"
    "tbody th{font-weight:normal;word-break:break-all;min-width:10em}td.n{text-align:right;white-space:nowrap}"
    "tr.team th{background:#f6f8fa;font-weight:bold}.alerting{color:#cf222e}.muted{color:#6e7781}"
    ".runs{white-space:nowrap}"
    "i[data-status],i.key{display:inline-block;width:14px;height:18px;margin:0 1px;border-radius:2px;"
    "position:relative;vertical-align:middle}"
    "i .tip{display:none;position:absolute;right:0;top:20px;z-index:2;background:#fff;"
    "border:1px solid #8c959f;padding:4px 6px;white-space:normal;width:18em;font-style:normal;"
    "box-shadow:0 2px 6px #0003}"
    "i:hover .tip,i:focus .tip,i:focus-within .tip{display:block}"
    + "".join(
        f"[data-status={s.value}],[data-key={s.value}]{{background:{colour}}}" for s, colour in STATUS_COLOURS.items()
    )
    + "#controls{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}#controls[hidden]{display:none}"
    "#q{flex:1 1 12em}.legend{color:#57606a;font-size:.9em}.legend .key{height:12px;width:10px}"
    "section.job{border-top:1px solid #d8dee4}code{background:#f6f8fa}"
    "[hidden]{display:none!important}"
    "@media (max-width:700px){body{font-size:13px}#matrix thead{display:none}"
    "#matrix tr{display:flex;flex-wrap:wrap;align-items:center;gap:0 8px;border-bottom:1px solid #d8dee4;"
    "padding:3px 0}#matrix th,#matrix td{border:0;padding:1px 2px}#matrix tbody th{flex:1 1 100%}"
    "#matrix td.runs{flex:1 1 100%;white-space:normal}#matrix td.streak::before{content:'streak '}"
    "#matrix td.window::before{content:'window '}i .tip{position:fixed;left:8px;right:8px;top:auto;"
    "bottom:8px;width:auto}}"
)

SCRIPT = (
    "(function(){var d=document,q=d.getElementById('q'),t=d.getElementById('team'),"
    "h=d.getElementById('health'),a=d.getElementById('alerting'),"
    "rows=[].slice.call(d.querySelectorAll('#matrix tr[data-job]')),"
    "groups=[].slice.call(d.querySelectorAll('#matrix tbody'));"
    "function apply(){var s=q.value.toLowerCase(),team=t.value,hv=h?h.value:'',al=a.checked;"
    "rows.forEach(function(r){var ok=(!s||r.getAttribute('data-job').toLowerCase().indexOf(s)>=0)"
    "&&(!team||(' '+r.getAttribute('data-teams')+' ').indexOf(' '+team+' ')>=0)"
    "&&(!hv||r.getAttribute('data-health')===hv)&&(!al||r.hasAttribute('data-alerting'));r.hidden=!ok;});"
    "groups.forEach(function(g){g.hidden=!g.querySelector('tr[data-job]:not([hidden])');});}"
    "d.getElementById('controls').hidden=false;"
    "[q,t,h,a].forEach(function(c){if(c){c.addEventListener('input',apply);c.addEventListener('change',apply);}});"
    "})();"
)


def content_security_policy() -> str:
    """What the page allows itself (its `<meta>` policy): nothing but its own inline style and script."""
    return _csp()


def _csp() -> str:
    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    return f"default-src 'none'; style-src {digest(STYLE)}; script-src {digest(SCRIPT)}; img-src data:"


def _shown(views: Sequence[JobView], max_jobs: int) -> Sequence[JobView]:
    """The jobs on the page: all of them, or the `max_jobs` first by alerting, then streak, then name."""
    if len(views) <= max_jobs:
        return views
    return sorted(views, key=lambda v: (v.job.alert is None, -v.job.consecutive_failures, v.job.name))[:max_jobs]


# The renderer's own code (and the views' that build what it shows, views/jobs.py) is part of every row's digest:
# a page kept by other code is never reused.
def _renderer() -> str:
    try:
        here = Path(__file__)
        code = here.read_bytes() + here.with_name("jobs.py").read_bytes()
        return hashlib.sha256(code).hexdigest()[:16]
    except OSError:  # code not kept as files: a digest no kept page has, so nothing is reused
        return base64.b16encode(os.urandom(8)).decode()


_RENDERER = _renderer()
_KEY_ENCODE = msgspec.json.Encoder().encode
_DIGEST = 16  # hex characters (64 bits) of each of a row's two digests, and of an anchor
_TBODY = '<tbody data-team="'
_JOBS = "<h2>Jobs</h2>"
_MATRIX_HEAD = "<th>runs</th></tr></thead>"
_INDEX_MARK = b"<!--i:"


def anchor_of(name: str) -> str:
    """The id of a job's section, which its name in the matrix links to: the same on every page, so that a link
    to a job stays good when other jobs come or go, and a kept row is copied whole."""
    return "job-" + hashlib.sha256(name.encode()).hexdigest()[:_DIGEST]


def content_digest(data: bytes) -> str:
    """A row's first digest: of the job as saved (its JSON as stored)."""
    return hashlib.sha256(data).hexdigest()[:_DIGEST]


def context_digest(*parts: str) -> str:
    """A row's second digest: of everything else its row and section are made from (with the renderer's code)."""
    return hashlib.sha256("\x00".join((_RENDERER, *parts)).encode()).hexdigest()[:_DIGEST]


def _keys(v: JobView) -> tuple[str, str]:
    """The digests of a view built in full: both halves of one digest of everything its row is made from."""
    digest = hashlib.sha256(_KEY_ENCODE((_RENDERER, v.job, v.teams, v.window, v.mute, v.health, v.incidents)))
    key = digest.hexdigest()
    return key[:_DIGEST], key[_DIGEST : 2 * _DIGEST]


class KeptRow(msgspec.Struct, array_like=True, gc=False):
    """A job's entry in a page's index (docs/page.md): its digests, the group and health it is shown with, and
    where its row and section are (byte offsets from the start of the matrix's rows, and lengths)."""

    name: str
    content: str
    context: str
    team: str
    health: str | None
    row: int
    row_length: int
    section: int
    section_length: int


class _Index(msgspec.Struct, gc=False):
    """A page's index, in a comment after its sections: its jobs' entries in order, the digests of the stored
    slices of jobs it was made from, and the length and CRC-32 of the bytes the entries point into."""

    rows: list[KeptRow]
    slices: list[str] | None
    length: int
    crc: int


_INDEX_ENCODE = msgspec.json.Encoder().encode
_INDEX_DECODE = msgspec.json.Decoder(_Index).decode


class Kept(dict[str, KeptRow]):
    """The rows of a kept page by job name; `source`, the page's bytes, and `base`, where its matrix's rows begin,
    which the entries' offsets count from; and the digests of the stored slices of jobs it was made from
    (`slices`, docs/page.md)."""

    source: bytes = b""
    base: int = 0
    slices: frozenset[str] = frozenset()


@dataclass(slots=True)
class Placed:
    """A job as the page places it: its order (`alerting`, `streak`, `name`), its group (`team`, its first) and
    `health` (the health filter), the digests its row is kept under (`content`, `context`), and either its view,
    to render, or its entry in the `kept` page, to copy."""

    name: str
    alerting: bool
    streak: int
    team: str
    health: str | None
    content: str
    context: str
    view: JobView | None = None
    kept: KeptRow | None = None


def fragments_of(page: bytes | str) -> Kept:
    """The jobs' rows and sections of a page (its UTF-8 bytes), by job name, from the page's index: none when the
    page has no index, when the index is not the one written (its CRC-32), or when the bytes its entries point
    into are not those it was written with (their length and CRC-32): a page cut short, damaged anywhere in its
    rows, sections or index, or written by other code is never copied from."""
    data = page.encode("utf-8") if isinstance(page, str) else page
    kept = Kept()
    at = data.rfind(_INDEX_MARK)
    base = data.find(_MATRIX_HEAD.encode())
    finish = data.find(b"-->", at)
    if at < 0 or base < 0 or finish < 0:
        return kept
    base += len(_MATRIX_HEAD)
    checksum, text = data[at + len(_INDEX_MARK) : at + len(_INDEX_MARK) + 8], data[at + len(_INDEX_MARK) + 9 : finish]
    try:
        if int(checksum, 16) != zlib.crc32(text):
            return kept
        index = _INDEX_DECODE(text)
    except (ValueError, msgspec.MsgspecError):
        return kept
    if base + index.length != at or zlib.crc32(memoryview(data)[base:at]) != index.crc:
        return kept
    kept.source, kept.base, kept.slices = data, base, frozenset(index.slices or ())
    for r in index.rows:
        if (
            0 <= r.row <= r.row + r.row_length <= index.length
            and 0 <= r.section <= r.section + r.section_length <= index.length
        ):
            kept[r.name] = r
    return kept


def _placed(views: Sequence[JobView], max_jobs: int, cache: Mapping[str, KeptRow]) -> list[Placed]:
    """The jobs a page shows, each with its kept entry when its digests are those of its row on the kept page."""
    out = []
    for v in _shown(views, max_jobs):
        job = v.job
        content, context = _keys(v)
        kept = cache.get(job.name)
        reuse = kept is not None and kept.content == content and kept.context == context
        out.append(
            Placed(
                job.name,
                job.alert is not None,
                job.consecutive_failures,
                v.teams[0] if v.teams else NO_TEAM,
                v.health,
                content,
                context,
                None if reuse else v,
                kept if reuse else None,
            )
        )
    return out


def _group(placed: Iterable[Placed]) -> list[tuple[str, list[Placed]]]:
    """Teams, those with alerting jobs first (most alerting first), then by name; within a team alerting jobs
    first, then the longest streak, then the name."""
    teams: dict[str, list[Placed]] = {}
    for p in placed:
        teams.setdefault(p.team, []).append(p)
    for members in teams.values():
        members.sort(key=lambda p: (not p.alerting, -p.streak, p.name))
    return sorted(teams.items(), key=lambda kv: (-sum(p.alerting for p in kv[1]), kv[0]))


class _Pieces:
    """A part of a page in order: its own bytes, and runs of the kept page's bytes, each run held as one view
    (rows that follow each other on both pages are copied in one piece)."""

    def __init__(self, source: memoryview) -> None:
        self.parts: list[Chunk] = []
        self.length = 0
        self.source = source
        self._start = self._end = -1

    def add(self, data: bytes) -> None:
        self._flush()
        self.parts.append(data)
        self.length += len(data)

    def copy(self, start: int, length: int) -> None:
        if start != self._end:
            self._flush()
            self._start = self._end = start
        self._end += length
        self.length += length

    def done(self) -> list[Chunk]:
        self._flush()
        return self.parts

    def _flush(self) -> None:
        if self._start >= 0:
            self.parts.append(self.source[self._start : self._end])
            self._start = self._end = -1


@dataclass(frozen=True, slots=True)
class _Body:
    """A page's text before the matrix's rows (`top`), the rows and sections in their pieces, the index after
    them, and how many jobs were rendered."""

    top: str
    pieces: list[Chunk]
    index: bytes
    rendered: int


def _body(
    placed: Sequence[Placed], title: str, max_jobs: int, totals: Totals, slices: Sequence[str] | None, kept: Kept
) -> _Body:
    groups = _group(placed)
    healths = sorted({p.health for p in placed if p.health})
    left_out = totals.jobs - len(placed)
    note = (
        f"<p><b>{left_out} more jobs are not on this page</b>, which shows at most {max_jobs}: the alerting jobs "
        "first, then the longest streaks. <code>failstreak status</code> lists every job.</p>"
        if left_out
        else ""
    )
    top = (
        f"<h1>{_e(title)}</h1><p>{totals.jobs} jobs, {totals.alerting} alerting</p>{note}"
        f"{_filters([t for t, _ in groups], healths)}{_legend()}"
        f'<div class="wrap"><table id="matrix"><thead><tr><th>job</th><th>streak</th><th>window</th><th>state</th>'
        f"{_MATRIX_HEAD}"
    )
    source = memoryview(kept.source)
    rows, sections = _Pieces(source), _Pieces(source)
    entries: list[tuple[Placed, int, int, int, int]] = []
    rendered = 0
    for team, members in groups:
        n_alerting = sum(p.alerting for p in members)
        head = f"{len(members)} jobs" + (f", {n_alerting} alerting" if n_alerting else "")
        group = f'{_TBODY}{_e(team)}"><tr class="team"><th colspan="5">{_e(team)} <small>({head})</small></th></tr>'
        rows.add(group.encode())
        for p in members:
            at, section_at = rows.length, sections.length
            if p.kept is not None:
                k = p.kept
                if k.section + k.section_length > len(source) - kept.base:
                    raise ValueError(f"{p.name}: a row kept from a page not given to compose")
                rows.copy(kept.base + k.row, k.row_length)
                sections.copy(kept.base + k.section, k.section_length)
            else:
                assert p.view is not None
                anchor = anchor_of(p.name)
                rows.add(_row(p.view, anchor).encode())
                sections.add(_section(p.view, anchor).encode())
                rendered += 1
            entries.append((p, at, rows.length - at, section_at, sections.length - section_at))
        rows.add(b"</tbody>")
    rows.add(f"</table></div>{_JOBS}".encode())
    pieces = [*rows.done(), *sections.done()]
    crc = 0
    for piece in pieces:
        crc = zlib.crc32(piece, crc)
    index = _Index(
        [
            KeptRow(p.name, p.content, p.context, p.team, p.health, at, length, rows.length + s_at, s_length)
            for p, at, length, s_at, s_length in entries
        ],
        None if slices is None else list(slices),
        rows.length + sections.length,
        crc,
    )
    # In a comment: its "<" and ">" escaped (a job's name cannot end it), which JSON reads back as they were; after
    # its own CRC-32, so that an index damaged in any way is not followed.
    text = _INDEX_ENCODE(index).replace(b"<", b"\\u003c").replace(b">", b"\\u003e")
    return _Body(top, pieces, b"%08x %s" % (zlib.crc32(text), text), rendered)


def render(
    views: Sequence[JobView],
    generated_at: int,
    title: str = "failstreak",
    max_jobs: int = MAX_JOBS,
    *,
    totals: Totals | None = None,
    inputs: str | None = None,
    cache: Kept | None = None,
) -> Page:
    """The page for `views`, stamped with `generated_at` (epoch ms); its fingerprint ignores the stamp.

    At most `max_jobs` jobs are shown (the page says how many are left out), which bounds its size and the memory
    a pass spends on it. `totals`: the estate's counts, when `views` are only the jobs to show. `inputs` is
    written in the page's head (`inputs_of`). `cache`: the rows of the page this one replaces (`fragments_of`),
    reused where their digests (of the whole view) match.
    """
    totals = totals or Totals(len(views), sum(v.job.alert is not None for v in views))
    placed = _placed(views, max_jobs, cache or {})
    return compose(placed, generated_at, title, max_jobs, totals=totals, inputs=inputs, kept=cache)


def compose(
    placed: Sequence[Placed],
    generated_at: int,
    title: str = "failstreak",
    max_jobs: int = MAX_JOBS,
    *,
    totals: Totals,
    inputs: str | None = None,
    slices: Sequence[str] | None = None,
    kept: Kept | None = None,
) -> Page:
    """The page of the jobs `placed` (at most `max_jobs`, picked by the caller: a pass picks them from the
    state's index, `views/jobs.page_rows`), each rendered from its view or copied from the `kept` page.
    `slices`: the digests of the stored slices of jobs the page is made from, written in its index for the next
    pass (docs/page.md)."""
    body = _body(placed, title, max_jobs, totals, slices, kept if kept is not None else Kept())
    # The index stands for the rows and sections: their digests, places and checksum.
    fingerprint = hashlib.sha256(body.top.encode() + body.index).hexdigest()
    inputs_meta = f'<meta name="{INPUTS_META}" content="{_e(inputs)}">' if inputs is not None else ""
    head = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp()}">'
        f'<meta name="{FINGERPRINT_META}" content="{fingerprint}">{inputs_meta}'
        f"<title>{_e(title)}: {totals.jobs} jobs, {totals.alerting} alerting</title>"
        f"<style>{STYLE}</style></head><body>{body.top}"
    )
    tail = (
        f'--><p class="legend">rendered {_e(iso(generated_at))} by failstreak</p>'
        f"<script>{SCRIPT}</script></body></html>\n"
    )
    parts = (head.encode(), *body.pieces, _INDEX_MARK + body.index + tail.encode())
    return Page(parts, fingerprint, inputs, body.rendered)


def fingerprint_of(head: str) -> str | None:
    """The fingerprint written in a page's head (its first kilobyte is enough), None when there is none."""
    return _meta(head, FINGERPRINT_META)


def inputs_of(head: str) -> str | None:
    """The digest of a pass's page's inputs written in its head, None when there is none."""
    return _meta(head, INPUTS_META)


def _meta(head: str, name: str) -> str | None:
    marker = f'<meta name="{name}" content="'
    start = head.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = head.find('"', start)
    return head[start:end] if end > start else None
