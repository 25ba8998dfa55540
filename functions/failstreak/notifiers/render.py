"""Pure wording shared by every notifier: what was crossed, the strip of recent runs, the incident summary.

Renderers for a channel (Slack blocks, email HTML) build on these and do their own escaping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from failstreak.core.model import Digest, DigestLine, DigestSection, Event, Notification, Outcome, iso
from failstreak.core.silence import silent_since_text

MARK = {Outcome.SUCCESS: "✅", Outcome.FAILURE: "❌", Outcome.IGNORED: "⚪"}
EVENT_TITLE = {
    Event.TRIGGERED: "Failing",
    Event.REMINDER: "Still failing",
    Event.RESOLVED: "Fixed",
    Event.DIGEST: "Daily digest",
}
EVENT_ICON = {Event.TRIGGERED: "🔴", Event.REMINDER: "🟠", Event.RESOLVED: "🟢", Event.DIGEST: "📋"}


def crossed_phrases(n: Notification) -> list[str]:
    """Plain phrases for what was crossed: `4 failures in a row`, `6 of the last 10 failed`."""
    phrases = []
    for reason in n.reasons:
        if reason == "consecutive":
            count = n.consecutive_failures
            phrases.append(f"{count} failure{'s' if count != 1 else ''} in a row")
        elif reason == "cumulative":
            phrases.append(f"{n.window_failures} of the last {n.window_size} failed")
        elif reason == "silent" and n.since is not None:
            phrases.append(silent_since_text(n.since, n.created_at))
    return phrases


def what_happened(n: Notification) -> str:
    """The headline without the job's name: `4 failures in a row`, `fixed after 4 failed runs since …`."""
    if n.scope and n.last_reason:
        return n.last_reason  # an estate-wide notification says it all in one line (core/categories.py)
    if n.event is Event.RESOLVED and n.reasons == ("silent",):
        return f"running again (silent since {iso(n.since)})" if n.since else "running again"
    if n.event is Event.RESOLVED:
        plural = "s" if n.failed_runs != 1 else ""
        since = f" since {iso(n.since)}" if n.since else ""
        return f"fixed after {n.failed_runs} failed run{plural}{since}"
    return " and ".join(crossed_phrases(n)) or (
        f"{n.consecutive_failures} in a row, {n.window_failures} of the last {n.window_size}"
    )


def headline(n: Notification) -> str:
    """One line saying what happened to the job (no markup, not escaped)."""
    if n.event is Event.RESOLVED and not n.scope:
        return f"{n.job} is {what_happened(n)}"
    return f"{n.job}: {what_happened(n)}"


def clip(text: str, limit: int) -> str:
    """`text` on one line and at most `limit` characters, ending in `…` when it was cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)] + "…"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def digest_title(notes: Sequence[Notification]) -> str:
    """What a digest holds, without markup: `3 jobs failing`, `1 job fixed`, `2 failing, 1 fixed`."""
    counts = Counter(n.event for n in notes)
    if len(counts) == 1:
        event = next(iter(counts))
        return f"{plural(counts[event], 'job')} {EVENT_TITLE[event].lower()}"
    return ", ".join(f"{counts[e]} {EVENT_TITLE[e].lower()}" for e in Event if counts[e])


def digest_order(notes: Sequence[Notification]) -> list[Notification]:
    """Notifications in display order: failing, still failing, fixed; by job name within each."""
    rank = {e: i for i, e in enumerate(Event)}
    return sorted(notes, key=lambda n: (rank[n.event], n.job))


def strip(n: Notification, last: int | None = None) -> str:
    """The recent counted runs as marks, oldest first; only the `last` newest (after `…`) when given."""
    runs = n.recent if last is None or len(n.recent) <= last else n.recent[-last:]
    more = "…" if len(runs) < len(n.recent) else ""
    return more + "".join(MARK[r.outcome] for r in runs)


def safe_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL without whitespace or control characters, else None.

    Links in alerts come from execution records, which anyone who can write to the inbox controls.
    """
    if not url or len(url) > 2000:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    return url


def failing_links(n: Notification, limit: int = 5) -> list[tuple[str, str]]:
    """(run_id, url) of the most recent failed runs that have a link, newest first."""
    links = [(r.run_id, r.url) for r in reversed(n.recent) if r.outcome is Outcome.FAILURE and r.url]
    return links[:limit]


def details(n: Notification) -> list[str]:
    """Short facts for the body, in display order (no markup, not escaped)."""
    facts = []
    if n.health_detail and n.event is not Event.RESOLVED:
        facts.append(n.health_detail)
    if n.scope:
        return facts
    if n.since and n.reasons == ("silent",):
        facts.append(f"a run was expected at {iso(n.since)}")
    elif n.since:
        verb = "had been failing since" if n.event is Event.RESOLVED else "failing since"
        facts.append(f"{verb} {iso(n.since)}")
    if n.first_commit and not (n.health == "broken" and n.event is not Event.RESOLVED):
        facts.append(f"began at commit {n.first_commit}")  # a broken job's health already names it
    if n.last_reason:
        facts.append(f"last failure: {n.last_reason}")
    if n.owner:
        facts.append(f"owner: {n.owner}")
    return facts


# -- the daily digest (docs/digest.md) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DailySection:
    """A section of a daily digest as every renderer shows it: title, lines (each the job's name and what to say
    about it, neither escaped) and how many more jobs it has than it lists."""

    key: str
    icon: str
    title: str
    lines: tuple[tuple[DigestLine, str], ...]
    more: int


def daily_title(d: Digest) -> str:
    """`failstreak daily digest, Mon 7 Dec 2026` (the local date it is the digest of)."""
    try:
        day = date.fromisoformat(d.day)
        shown = f"{day:%a} {day.day} {day:%b %Y}"
    except ValueError:
        shown = d.day
    return f"failstreak daily digest, {shown}"


def daily_counts(d: Digest) -> str:
    """`12 jobs: 2 alerting, 1 flaky, 1 silent; 3 fixed in the last 24 h`, or that all is well."""
    states = [(d.alerting, "alerting"), (d.flaky, "flaky"), (d.silent, "silent")]
    shown = ", ".join(f"{s.total} {word}" for s, word in states if s.total)
    head = f"{plural(d.jobs, 'job')}: {shown or 'none alerting, flaky or silent'}"
    if d.fixed.total:
        head += f"; {d.fixed.total} fixed in the last 24 h"
    if not d.failing.total:
        head += "; no failed run in the last 24 h"
    return head


def _alerting_words(line: DigestLine, now: int) -> str:
    words = [f"{line.streak} failure{'s' if line.streak != 1 else ''} in a row"]
    if line.runs:
        words.append(f"{line.failures} of the last {line.runs} failed")
    if line.since:
        words.append(f"failing since {iso(line.since)}")
    return ", ".join(words)


def _fixed_words(line: DigestLine, now: int) -> str:
    return f"fixed at {iso(line.at)} after {plural(line.failures, 'failed run')}"


def _silent_words(line: DigestLine, now: int) -> str:
    return silent_since_text(line.since, now) if line.since is not None else "silent"


def _failing_words(line: DigestLine, now: int) -> str:
    return plural(line.failures, "failed run")


def _flaky_words(line: DigestLine, now: int) -> str:
    return line.detail or "flaky"


_SECTIONS = (
    ("alerting", "🔴", "Alerting", _alerting_words),
    ("flaky", "🎲", "Flaky", _flaky_words),
    ("silent", "🔕", "Silent", _silent_words),
    ("failing", "📉", "Most failing in the last 24 h", _failing_words),
    ("fixed", "🟢", "Fixed in the last 24 h", _fixed_words),
)


def daily_sections(d: Digest, now: int) -> list[DailySection]:
    """The digest's non-empty sections, in display order, each line with its words."""
    out = []
    for key, icon, title, words in _SECTIONS:
        section: DigestSection = getattr(d, key)
        if section.total:
            lines = tuple((line, words(line, now)) for line in section.lines)
            out.append(DailySection(key, icon, f"{title} ({section.total})", lines, section.more))
    return out


DAILY_NAME_CHARS = 200
DAILY_WORDS_CHARS = 1000


def daily_text(n: Notification, page_link: str | None = None) -> str:
    """The plain-text part of a daily digest (also what the console prints): every listed job, one line each;
    with `page_link`, the run-history link last."""
    d = n.digest
    assert d is not None, "a daily digest notification carries its digest"
    parts = [daily_title(d), daily_counts(d)]
    for section in daily_sections(d, n.created_at):
        parts.extend(["", f"{section.icon} {section.title}"])
        for line, words in section.lines:
            url = safe_url(line.url) if section.key == "failing" else None
            parts.append(
                f"  - {clip(line.job, DAILY_NAME_CHARS)}: {clip(words, DAILY_WORDS_CHARS)}"
                + (f" ({url})" if url else "")
            )
        if section.more:
            parts.append(f"  ...and {plural(section.more, 'more job')}")
    page = safe_url(page_link)
    if page is not None:
        parts.extend(["", f"Run history (all jobs, recent runs): {page}"])
    return "\n".join(parts)
