"""Pure wording shared by every notifier: what was crossed, the strip of recent runs, the incident summary.

Renderers for a channel (Slack blocks, email HTML) build on these and do their own escaping.
"""

from __future__ import annotations

from failstreak.model import Event, Notification, Outcome, iso

MARK = {Outcome.SUCCESS: "✅", Outcome.FAILURE: "❌", Outcome.IGNORED: "⚪"}
EVENT_TITLE = {Event.TRIGGERED: "Failing", Event.REMINDER: "Still failing", Event.RESOLVED: "Fixed"}
EVENT_ICON = {Event.TRIGGERED: "🔴", Event.REMINDER: "🟠", Event.RESOLVED: "🟢"}


def crossed_phrases(n: Notification) -> list[str]:
    """Plain phrases for what was crossed: `4 failures in a row`, `6 of the last 10 failed`."""
    phrases = []
    for reason in n.reasons:
        if reason == "consecutive":
            count = n.consecutive_failures
            phrases.append(f"{count} failure{'s' if count != 1 else ''} in a row")
        elif reason == "cumulative":
            phrases.append(f"{n.window_failures} of the last {n.window_size} failed")
    return phrases


def headline(n: Notification) -> str:
    """One line saying what happened to the job (no markup, not escaped)."""
    if n.event is Event.RESOLVED:
        plural = "s" if n.failed_runs != 1 else ""
        since = f" since {iso(n.since)}" if n.since else ""
        return f"{n.job} is fixed after {n.failed_runs} failed run{plural}{since}"
    what = " and ".join(crossed_phrases(n)) or (
        f"{n.consecutive_failures} in a row, {n.window_failures} of the last {n.window_size}"
    )
    return f"{n.job}: {what}"


def strip(n: Notification) -> str:
    """The recent counted runs as marks, oldest first."""
    return "".join(MARK[r.outcome] for r in n.recent)


def failing_links(n: Notification, limit: int = 5) -> list[tuple[str, str]]:
    """(run_id, url) of the most recent failed runs that have a link, newest first."""
    links = [(r.run_id, r.url) for r in reversed(n.recent) if r.outcome is Outcome.FAILURE and r.url]
    return links[:limit]


def details(n: Notification) -> list[str]:
    """Short facts for the body, in display order (no markup, not escaped)."""
    facts = []
    if n.since:
        verb = "had been failing since" if n.event is Event.RESOLVED else "failing since"
        facts.append(f"{verb} {iso(n.since)}")
    if n.first_commit:
        facts.append(f"began at commit {n.first_commit}")
    if n.last_reason:
        facts.append(f"last failure: {n.last_reason}")
    if n.owner:
        facts.append(f"owner: {n.owner}")
    return facts
