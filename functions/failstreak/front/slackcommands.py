"""`POST /slack/commands`: the `/failstreak` slash command (docs/http.md, "Slack").

    /failstreak status [PATTERN]        the alerting jobs, or the jobs PATTERN matches (read only)
    /failstreak mute PATTERN DURATION   30m, 4h, 2d or until-fixed (at most http.slack.max_mute_days)
    /failstreak unmute PATTERN          a pattern as muted, or a mute's id
    /failstreak help

Signed as the buttons are (401 when wrong, stale or replayed). The answer is the HTTP response itself, seen only
by the person who typed it (`response_type: ephemeral`); a mute or unmute is also noted in the threads of the
alerts about the jobs it matches (a few, within the budget). `mute` and `unmute` pass the guard rails; `status`
and `help` change nothing and are open to everyone in the workspace.
"""

from __future__ import annotations

import fnmatch
import logging

from failstreak.app.status import Selection, Status
from failstreak.core.model import State, now_ms
from failstreak.errors import FailstreakError
from failstreak.front.context import Front
from failstreak.front.http import HttpError, Request, Response
from failstreak.front.slackguard import Refused, check_mute_pattern, days, parse_duration
from failstreak.front.slackops import mute, shown, unmute
from failstreak.front.slackreply import Replies
from failstreak.front.slackreq import Command, check_slack, form, parse_command
from failstreak.front.slackside import guard, replies
from failstreak.notifiers.slack import parse_ref
from failstreak.notifiers.slack_render import MAX_TEXT, escape

ROUTE = "/slack/commands"
log = logging.getLogger("failstreak.front")
STATUS_LINES = 15
THREAD_NOTES = 5


def _help(command: str, max_days: float) -> str:
    c = escape(command)
    return "\n".join(
        [
            f"*{c} status [PATTERN]*: the alerting jobs, or every job PATTERN matches (`nightly-*`)",
            f"*{c} mute PATTERN DURATION*: mute for `30m`, `4h`, `2d` or `until-fixed` (at most {days(max_days)})",
            f"*{c} unmute PATTERN*: lift the mutes of PATTERN (as it was muted), or a mute by its id",
            f"*{c} help*: this",
        ]
    )


def _job_line(view: Status, name: str) -> str:
    job = view.state.jobs[name]
    row = view.row(job)
    icon = "🔴" if row["alerting"] else "🟢"
    parts = [
        f"{job.consecutive_failures} failed in a row" if job.consecutive_failures else "last run passed",
        f"{job.window_failures} of {job.window_size} failed",
        str(row["health"]),
    ]
    if row["muted"]:
        parts.append(f"🔕 {row['muted']}")
    if row.get("acked"):
        parts.append(f"👀 {row['acked']['by']} is on it (reminders wait until {row['acked']['until']})")
    return f"{icon} {shown(name)} — " + escape(" · ".join(parts))


def _status(front: Front, pattern: str | None) -> str:
    assert front.config is not None
    state = front.read_state()
    view = Status(front.config, state, now_ms())
    chosen = view.select(Selection(pattern=pattern, alerting=pattern is None))
    total = len(state.jobs)
    if pattern is None:
        head = f"*{len(chosen)} of {total} jobs alerting*" if chosen else f"No job is alerting (of {total})."
    else:
        head = f"*{len(chosen)} of {total} jobs* match {shown(pattern)}" + (":" if chosen else ".")
    lines = [head]
    for i, job in enumerate(chosen):
        line = _job_line(view, job.name)
        if i >= STATUS_LINES or sum(len(x) + 1 for x in lines) + len(line) > MAX_TEXT - 100:
            lines.append(f"…and {len(chosen) - i} more: `failstreak status` lists them all.")
            break
        lines.append(line)
    return "\n".join(lines)


def _threads(state: State, pattern: str) -> list[tuple[str, str]]:
    """The threads of the alerts about the jobs `pattern` matches: (channel id, ts), a few, no repeats."""
    found: list[tuple[str, str]] = []
    for name in state.jobs:  # by name first: only the jobs the pattern matches are decoded
        if not fnmatch.fnmatchcase(name, pattern):
            continue
        for ref in state.jobs[name].threads.values():
            thread = parse_ref(ref)
            if thread is not None and thread not in found:
                found.append(thread)
            if len(found) >= THREAD_NOTES:
                return found
    return found


def _change(cmd: Command, front: Front, say: Replies, signature: str) -> str:
    settings = front.http.slack
    want = 2 if cmd.verb == "mute" else 1
    if len(cmd.args) != want:
        usage = "mute PATTERN DURATION" if cmd.verb == "mute" else "unmute PATTERN"
        raise Refused(f"Usage: `{escape(cmd.command)} {usage}` (`{escape(cmd.command)} help` for more).")
    guard(front, say.budget).check(cmd.person)
    pattern = cmd.args[0]
    state = front.read_state()
    span: int | None = None
    if cmd.verb == "mute":
        check_mute_pattern(pattern, list(state.jobs))
        span = parse_duration(cmd.args[1], settings.max_mute_days)
    ledger = front.ledger()
    if not front.replay.claim("slack", signature):
        raise HttpError(401, "replayed request: this signature was accepted before")
    try:
        if cmd.verb == "mute":
            note = mute(ledger, cmd.person, pattern, span, settings.max_mute_days, now_ms(), shown(pattern))
        else:
            note = unmute(ledger, cmd.person, pattern, shown(pattern))
    except FailstreakError:
        front.replay.release("slack", signature)
        raise
    matched = sum(fnmatch.fnmatchcase(name, pattern) for name in state.jobs)
    for channel, ts in _threads(state, pattern):
        say.post(channel, ts, note, "thread note")
    return f"{note} ({matched} job{'' if matched == 1 else 's'} match it now.)"


def _run(cmd: Command, front: Front, signature: str) -> str:
    if cmd.verb == "status":
        if len(cmd.args) > 1:
            raise Refused(f"Usage: `{escape(cmd.command)} status [PATTERN]`.")
        return _status(front, cmd.args[0] if cmd.args else None)
    if cmd.verb in ("mute", "unmute"):
        return _change(cmd, front, replies(front), signature)
    help_text = _help(cmd.command, front.http.slack.max_mute_days)
    if cmd.verb == "help":
        return help_text
    return f"I do not know `{escape(cmd.verb[:40])}`. What I can do:\n{help_text}"


def handle(request: Request, front: Front) -> Response:
    secret = front.secret(front.http.slack_signing_secret, ROUTE)
    signature = check_slack(secret, request, front.now)
    cmd = parse_command(form(request.body))
    try:
        text = _run(cmd, front, signature)
    except Refused as no:
        text = str(no)
    except FailstreakError as e:
        log.error("%s: %s", ROUTE, str(e).splitlines()[0] if str(e) else type(e).__name__)
        text = "Sorry, failstreak could not read or save its state just now, so nothing changed. Please try again."
    return Response(200, {"response_type": "ephemeral", "text": text})
