"""Slack messages as data: Block Kit blocks plus a plain-text fallback. Pure: no I/O, no clock.

Everything that comes from execution records or config (job names, reasons, commits, owners, URLs) is
escaped for Slack mrkdwn (`&`, `<`, `>`), broadcast words (`@channel`, `@here`, `@everyone`) are defused,
and mrkdwn text objects are sent `verbatim` so Slack does not turn names into mentions or links. A job called
`<!channel> deploy` is shown as text and pings nobody.

Limits kept (Block Kit): at most 50 blocks per message, 3000 characters per section or context text,
150 characters per header; the fallback `text` is kept under 3000 characters. A digest with more jobs than fit
is split into several messages, each naming its part. A failing job's controls (with `actions`) are a row of four
buttons (one actions block; 25 elements are allowed) when every row fits in the 50 blocks, otherwise an overflow
menu of four options beside the job, which adds no block; values stay within 2000 characters (buttons) and 150
(options), and action ids and block ids are unique within a message.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from failstreak.core.model import DigestLine, Event, Notification
from failstreak.notifiers.render import (
    EVENT_ICON,
    EVENT_TITLE,
    DailySection,
    clip,
    daily_counts,
    daily_sections,
    daily_title,
    details,
    digest_order,
    digest_title,
    failing_links,
    plural,
    safe_url,
    strip,
    what_happened,
)

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_FALLBACK = 3000
# Three blocks a job (section, links, divider) plus the header: 15 jobs stay well inside 50 blocks.
JOBS_PER_MESSAGE = 15
STRIP_RUNS = 20
NAME_CHARS = 200
FACT_CHARS = 400
LINKS_PER_JOB = 5
# Block Kit: an option's `value` holds at most 150 characters (a button's 2000).
MAX_OPTION_VALUE = 150
# The controls of a failing job (docs/notifications.md, "Acting from Slack"): the verb goes in each value.
ACTIONS = (("mute-24h", "Mute 24 h"), ("mute-fixed", "Mute until fixed"), ("unmute", "Unmute"), ("ack", "I'm on it"))

Block = dict[str, Any]

_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One Slack message: `text` (fallback, notifications) and `blocks`; `ids` are the notifications it holds."""

    text: str
    blocks: list[Block]
    ids: tuple[str, ...] = field(default=())

    def opening(self) -> SlackMessage:
        """The message reduced to its header: what is posted first, then filled in (see `SlackNotifier`)."""
        return SlackMessage(self.text.split("\n", 1)[0], self.blocks[:1], self.ids)

    def payload(self) -> dict[str, Any]:
        """The fields for `chat.postMessage` / `chat.update` / an incoming webhook (without channel)."""
        return {"text": self.text, "blocks": self.blocks}


def escape(text: str) -> str:
    """Text made safe for mrkdwn: `&`, `<`, `>` escaped and `@channel`-style words defused."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width joiner keeps the word readable but stops Slack from reading it as a broadcast.
    return _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), out)


def link(url: str | None, label: str) -> str:
    """A mrkdwn link `<url|label>`, or the escaped label alone when the URL is not a safe http(s) URL.

    `|`, `<`, `>` and spaces cannot appear inside Slack's link syntax: they are percent-encoded in the URL;
    `&` is escaped as Slack requires for all message text.
    """
    safe = safe_url(url)
    label_text = escape(label).replace("|", "¦")
    if safe is None:
        return label_text
    encoded = safe.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{encoded}|{label_text}>"


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _fit(text: str, limit: int = MAX_TEXT) -> str:
    """Cut already-escaped text to `limit` without splitting an `&…;` entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def job_section(n: Notification) -> str:
    """A job's section text (mrkdwn): what happened, the strip of recent runs, the facts."""
    name = escape(clip(n.job, NAME_CHARS))
    lines = [f"{EVENT_ICON[n.event]} *{name}* — {escape(what_happened(n))}"]
    if n.recent:
        lines.append(f"{strip(n, STRIP_RUNS)}  _oldest → newest_")
    facts = [escape(clip(f, FACT_CHARS)) for f in details(n)]
    if facts:
        lines.append(" · ".join(facts))
    return _fit("\n".join(lines))


def job_links(n: Notification) -> str | None:
    """The links to the job's most recent failing runs (mrkdwn), or None when it has none."""
    links = [link(url, f"#{clip(run_id, 40)}") for run_id, url in failing_links(n, LINKS_PER_JOB)]
    links = [x for x in links if x.startswith("<")]
    if not links:
        return None
    text = "Failing runs: "
    for i, item in enumerate(links):
        piece = item if i == 0 else " · " + item
        if len(text) + len(piece) > MAX_TEXT:
            break
        text += piece
    return text


def job_blocks(n: Notification) -> list[Block]:
    """Two blocks or one: the section, then the links to failing runs when there are any."""
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(job_section(n))}]
    links = job_links(n)
    if links is not None:
        blocks.append({"type": "context", "elements": [mrkdwn(links)]})
    return blocks


def job_controls(index: int, n: Notification, layout: str) -> Block | None:
    """The job's controls (docs/notifications.md, "Acting from Slack"): a row of buttons (`layout` "buttons", an
    actions block) or an overflow menu (`layout` "menu", the section's accessory). None for a fixed job.

    Each control's `value` is `<verb>|<job>`; the menu's options hold at most 150 characters, so a longer job name
    is carried as `<verb>|#<sha256 of the name>`, which the front looks up among the state's jobs. Action ids
    and block ids carry the job's place in the message, so they are unique within it.
    """
    if n.event is Event.RESOLVED:
        return None
    if layout == "buttons":
        buttons = [
            {
                "type": "button",
                "action_id": f"fs-{verb}-{index}",
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": f"{verb}|{n.job}",
            }
            for verb, label in ACTIONS
        ]
        return {"type": "actions", "block_id": f"fs-act-{index}", "elements": buttons}
    options = [
        {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": option_value(verb, n.job)}
        for verb, label in ACTIONS
    ]
    return {"type": "overflow", "action_id": f"fs-menu-{index}", "options": options}


def option_value(verb: str, job: str) -> str:
    """`<verb>|<job>`, or `<verb>|#<sha256 hex of the job>` when that is over an option's 150 characters."""
    value = f"{verb}|{job}"
    if len(value) <= MAX_OPTION_VALUE:
        return value
    return f"{verb}|#{hashlib.sha256(job.encode()).hexdigest()}"


def job_fallback(n: Notification) -> str:
    """A job in the plain-text fallback: one or two lines."""
    line = f"{EVENT_ICON[n.event]} {escape(clip(n.job, NAME_CHARS))}: {escape(what_happened(n))}"
    if n.recent:
        line += f" {strip(n, STRIP_RUNS)}"
    facts = [escape(clip(f, 120)) for f in details(n)]
    return line + ("\n    " + " · ".join(facts) if facts else "")


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER), "emoji": True}}


def _title(notes: Sequence[Notification]) -> str:
    icon = EVENT_ICON[min((n.event for n in notes), key=list(Event).index)]
    return f"{icon} failstreak: {digest_title(notes)}"


def _fallback(title: str, notes: Sequence[Notification]) -> str:
    text = title
    for i, n in enumerate(notes):
        piece = "\n" + job_fallback(n)
        if len(text) + len(piece) > MAX_FALLBACK - 40:
            text += f"\n…and {plural(len(notes) - i, 'more job')}"
            break
        text += piece
    return text


def history_block(page_link: str) -> Block | None:
    """The context block linking to the run-history page (docs/http.md, "The page"); None for an unsafe URL."""
    shown = link(page_link, "Run history")
    return {"type": "context", "elements": [mrkdwn(f"📊 {shown} (all jobs, recent runs)")]} if shown[0] == "<" else None


def digest(
    notes: Sequence[Notification],
    jobs_per_message: int = JOBS_PER_MESSAGE,
    page_link: str | None = None,
    *,
    actions: bool = False,
) -> list[SlackMessage]:
    """One channel's notifications of one pass as one message, or several when they do not fit one.

    Each message has a header (`🔴 failstreak: 3 jobs failing`, with `(part 2 of 3)` when split), a section
    per job with the links to its failing runs, dividers between jobs, and a fallback text naming every job;
    with `page_link`, a last block linking to the run-history page. With `actions`, each failing job gets its
    controls: a row of buttons when every row fits in the message's 50 blocks, otherwise an overflow menu beside
    the job (no extra block).
    """
    history = history_block(page_link) if page_link else None
    ordered = digest_order(notes)
    if not ordered:
        return []
    chunks = [ordered[i : i + jobs_per_message] for i in range(0, len(ordered), jobs_per_message)]
    title = _title(ordered)
    messages = []
    for number, chunk in enumerate(chunks, start=1):
        part = f" (part {number} of {len(chunks)})" if len(chunks) > 1 else ""
        tail = [history] if history is not None else []
        blocks = [_header(title + part), *_jobs_blocks(chunk, actions, 1 + len(tail)), *tail]
        assert len(blocks) <= MAX_BLOCKS
        messages.append(SlackMessage(_fallback(title + part, chunk), blocks, tuple(n.id for n in chunk)))
    return messages


def _jobs_blocks(chunk: Sequence[Notification], actions: bool, others: int) -> list[Block]:
    """The jobs of one message, dividers between them, each with its controls when `actions`; `others` is how
    many blocks the message has besides (its header, the run-history link)."""
    per_job = [job_blocks(n) for n in chunk]
    rows = sum(n.event is not Event.RESOLVED for n in chunk)
    plain = others + sum(len(b) for b in per_job) + len(chunk) - 1
    layout = "buttons" if plain + rows <= MAX_BLOCKS else "menu"
    blocks: list[Block] = []
    for i, (n, job) in enumerate(zip(chunk, per_job, strict=True)):
        if i:
            blocks.append({"type": "divider"})
        control = job_controls(i, n, layout) if actions else None
        if control is not None:
            job[0]["block_id"] = f"fs-job-{i}"
            if layout == "buttons":
                job.append(control)
            else:
                job[0]["accessory"] = control
        blocks.extend(job)
    return blocks


NOTE_MARK = "↳ "


def with_note(blocks: Sequence[Block], block_id: str, note: str) -> list[Block] | None:
    """The message's blocks with `note` (mrkdwn, escaped) as the last line of the section `block_id`, replacing
    an earlier note there; None when the message has no such section. The message keeps its block count."""
    out: list[Block] = []
    found = False
    for block in blocks:
        text = block.get("text")
        if block.get("block_id") == block_id and block.get("type") == "section" and isinstance(text, dict):
            lines = str(text.get("text", "")).split("\n")
            if lines and lines[-1].startswith(NOTE_MARK):
                lines.pop()
            body = _fit("\n".join(lines), MAX_TEXT - len(note) - len(NOTE_MARK) - 1)
            out.append({**block, "text": {**text, "text": f"{body}\n{NOTE_MARK}{note}"}})
            found = True
        else:
            out.append(block)
    return out if found else None


def board(jobs: Sequence[tuple[str, bool]], fixed: Sequence[Notification]) -> SlackMessage:
    """The replacement for a `triggered` message once some of its jobs are fixed.

    `jobs` are the message's jobs with whether each is still alerting (from the state); `fixed` are the
    `resolved` notifications being delivered now, whose summaries are shown. A job in neither is listed as
    fixed when it is no longer alerting. Details of each job's incident stay in the message's thread.
    """
    fixed_by_job = {n.job: n for n in fixed}
    roster = _roster(jobs, fixed)
    # Each job still failing: alerting in the state, and not among the fixes being delivered now.
    failing = [alerting and name not in fixed_by_job for name, alerting in roster]
    title = _board_title(sum(failing), len(roster))
    lines = [_board_line(name, still, fixed_by_job.get(name)) for (name, _), still in zip(roster, failing, strict=True)]
    blocks = [_header(title)] + [{"type": "section", "text": mrkdwn(t)} for t in _sections(lines)[: MAX_BLOCKS - 1]]
    fallback = _fit(title + "\n" + "\n".join(lines), MAX_FALLBACK)
    return SlackMessage(fallback, blocks, tuple(n.id for n in fixed))


def _roster(jobs: Sequence[tuple[str, bool]], fixed: Sequence[Notification]) -> list[tuple[str, bool]]:
    """The message's jobs, and any job fixed now that the state did not list (as no longer alerting)."""
    roster = list(jobs) or [(n.job, False) for n in fixed]
    known = {name for name, _ in roster}
    return roster + [(n.job, False) for n in fixed if n.job not in known]


def _board_title(still: int, jobs: int) -> str:
    if still:
        return f"{EVENT_ICON[Event.TRIGGERED]} failstreak: {still} of {plural(jobs, 'job')} still failing"
    return f"{EVENT_ICON[Event.RESOLVED]} failstreak: {'all ' if jobs > 1 else ''}{plural(jobs, 'job')} fixed"


def _board_line(name: str, still: bool, fix: Notification | None) -> str:
    shown = escape(clip(name, NAME_CHARS))
    if still:
        return f"{EVENT_ICON[Event.TRIGGERED]} *{shown}* — still failing (see the thread)"
    if fix is not None:
        return f"✅ ~{shown}~ — {escape(what_happened(fix))}"
    return f"✅ ~{shown}~ — {EVENT_TITLE[Event.RESOLVED].lower()}"


def _sections(lines: Sequence[str]) -> list[str]:
    """Lines joined into as few section texts as fit in Block Kit's limit."""
    sections: list[str] = []
    for line in lines:
        if sections and len(sections[-1]) + 1 + len(line) <= MAX_TEXT:
            sections[-1] += "\n" + line
        else:
            sections.append(_fit(line))
    return sections


# -- the daily digest (docs/digest.md) ------------------------------------------------------------------------

# Lines a section of the daily digest shows in Slack, and blocks it may take; what does not fit is counted in
# its "and N more". Header, counts, five sections of at most 4 blocks and the page link stay within 50 blocks.
DAILY_LINES = 15
DAILY_BLOCKS_PER_SECTION = 4
DAILY_WORDS_CHARS = 300


def _daily_line(line: DigestLine, words: str, key: str) -> str:
    name = f"*{escape(clip(line.job, NAME_CHARS))}*"
    text = f"• {name} — {escape(clip(words, DAILY_WORDS_CHARS))}"
    if key == "failing" and safe_url(line.url) is not None:
        text += f" ({link(line.url, 'latest')})"
    return text


def _more(count: int) -> str:
    return f"_…and {plural(count, 'more job')}_"


def _daily_section(section: DailySection) -> list[str]:
    """A section's texts, each within Block Kit's limit, at most `DAILY_BLOCKS_PER_SECTION` of them; the lines
    that do not fit (past `DAILY_LINES`, or past the blocks) are counted in a last `…and N more` line."""
    lines = [_daily_line(line, words, section.key) for line, words in section.lines[:DAILY_LINES]]
    hidden = section.more + len(section.lines) - len(lines)
    texts = [f"*{section.icon} {escape(section.title)}*"]
    shown = 0
    for line in lines:
        if len(texts[-1]) + 1 + len(line) <= MAX_TEXT - 60:
            texts[-1] += "\n" + line
        elif len(texts) < DAILY_BLOCKS_PER_SECTION:
            texts.append(_fit(line, MAX_TEXT - 60))
        else:
            break
        shown += 1
    hidden += len(lines) - shown
    if hidden:
        texts[-1] += "\n" + _more(hidden)
    return texts


def daily(n: Notification, page_link: str | None = None) -> SlackMessage:
    """A daily digest as one message: a header with its date, the counts, a section block (or a few) per
    non-empty section (alerting, flaky, silent, most failing, fixed), and with `page_link` the run-history
    link, as the alert messages end with it."""
    d = n.digest
    assert d is not None, "a daily digest notification carries its digest"
    title = f"{EVENT_ICON[Event.DIGEST]} {daily_title(d)}"
    counts = escape(daily_counts(d))
    blocks: list[Block] = [_header(title), {"type": "context", "elements": [mrkdwn(counts)]}]
    for section in daily_sections(d, n.created_at):
        blocks.extend({"type": "section", "text": mrkdwn(text)} for text in _daily_section(section))
    history = history_block(page_link) if page_link else None
    if history is not None:
        blocks.append(history)
    assert len(blocks) <= MAX_BLOCKS
    return SlackMessage(_fit(f"{title}\n{counts}", MAX_FALLBACK), blocks, (n.id,))
