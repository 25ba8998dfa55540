"""What a click or a command does to the mutes document, and the line that says so (docs/http.md, "Slack").

Each function writes through the `MuteLedger` and returns the note (mrkdwn, everything a person or a producer
controls escaped) that goes in the job's thread and in the updated message: who did what, and until when.
"""

from __future__ import annotations

from failstreak.core.model import Mute, iso
from failstreak.front.mutes import Acknowledgement, MuteLedger
from failstreak.front.slackguard import HOUR_MS, max_ms
from failstreak.front.slackreq import Person
from failstreak.notifiers.slack_render import escape

MUTE_24H = "mute-24h"
MUTE_FIXED = "mute-fixed"
UNMUTE = "unmute"
ACK = "ack"
VERBS = frozenset({MUTE_24H, MUTE_FIXED, UNMUTE, ACK})
NAME_CHARS = 200


def when(ms: int) -> str:
    """A time as Slack shows it in each reader's own time zone, with the UTC time as the fallback text."""
    return f"<!date^{ms // 1000}^{{date_short_pretty}} at {{time}}|{iso(ms)}>"


def shown(job: str) -> str:
    """A job name or a pattern in a note: escaped, clipped, in code style (so `*` and `_` stay as written)."""
    clipped = job if len(job) <= NAME_CHARS else job[: NAME_CHARS - 1] + "…"
    return "`" + escape(clipped).replace("`", "'") + "`"


def who(person: Person) -> str:
    """How a mute's `reason` names its author (stored; shown by `failstreak mutes`)."""
    return f"muted from Slack by {person.name or person.id} ({person.id})"


def mute(
    ledger: MuteLedger, person: Person, pattern: str, span_ms: int | None, max_days: float, now: int, label: str
) -> str:
    """Mute `pattern` for `span_ms`, or until its next success (`span_ms` None) but at most `max_days`; the note.
    `label` is how the note names what was muted (the job, or the pattern as typed)."""
    longest = max_ms(max_days)
    until = now + min(span_ms, longest) if span_ms is not None else now + longest
    m = Mute.new(pattern, now, until=until, until_success=span_ms is None, reason=who(person))
    ledger.mute(m)
    if span_ms is None:
        return f"🔕 {person.mention()} muted {label} until it succeeds (at the latest {when(until)})."
    return f"🔕 {person.mention()} muted {label} until {when(until)}."


def unmute(ledger: MuteLedger, person: Person, pattern: str, label: str, job: str | None = None) -> str:
    """Take the mutes of `pattern` away (and `job`'s acknowledgement); the note says what is left."""
    done = ledger.unmute(pattern, job)
    if not done.removed and not done.acknowledged:
        text = f"🔔 {person.mention()} unmuted {label}: it had no mute of its own."
    else:
        text = f"🔔 {person.mention()} unmuted {label}."
    if done.still:
        others = ", ".join(
            f"{shown(m.match)}" + (f" (until {when(m.until)})" if m.until else "") for m in done.still[:3]
        )
        text += f" It is still muted by {others}: `/failstreak unmute PATTERN` lifts that."
    return text


def acknowledge(ledger: MuteLedger, person: Person, job: str, hours: float, now: int) -> str:
    """`person` is on `job`: its reminders wait `hours`; the note."""
    until = now + int(hours * HOUR_MS)
    ledger.acknowledge(Acknowledgement(job=job, by=person.name or person.id, at=now, until=until))
    return f"👀 {person.mention()} is on it: reminders for {shown(job)} are paused until {when(until)}."
