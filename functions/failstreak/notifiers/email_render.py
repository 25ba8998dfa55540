"""Email messages as data: subject, plain-text and HTML parts, and the MIME message. Pure: no I/O.

The content is the Slack digest's: per job what was crossed, the strip of recent runs, since when, the commit
where it began, the last failure's reason, links to the failing runs. Everything user-controlled is
HTML-escaped in the HTML part; links are only made from http(s) URLs; header values are kept on one line.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from failstreak.core.model import Digest, Event, Notification
from failstreak.notifiers.console import render_text
from failstreak.notifiers.render import (
    EVENT_ICON,
    EVENT_TITLE,
    DailySection,
    clip,
    daily_counts,
    daily_sections,
    daily_text,
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

SUBJECT_CHARS = 180
NAME_CHARS = 200
FACT_CHARS = 1000
STRIP_RUNS = 30


@dataclass(frozen=True, slots=True)
class Email:
    subject: str
    text: str
    html: str


def subject(notes: Sequence[Notification]) -> str:
    """`[failstreak] 2 jobs failing: a, b` — how many jobs, what happened, which (cut to fit, on one line)."""
    ordered = digest_order(notes)
    head = f"[failstreak] {digest_title(ordered)}: "
    names: list[str] = []
    for i, n in enumerate(ordered):
        candidate = [*names, clip(n.job, 60)]
        rest = len(ordered) - i - 1
        tail = f" and {rest} more" if rest else ""
        if names and len(head) + len(", ".join(candidate)) + len(tail) > SUBJECT_CHARS:
            return head + ", ".join(names) + f" and {len(ordered) - i} more"
        names = candidate
    return head + ", ".join(names)


def text_body(notes: Sequence[Notification], page_link: str | None = None) -> str:
    """The plain-text part: a title line, then each job as the console shows it, then the run-history link."""
    ordered = digest_order(notes)
    parts = [f"failstreak: {digest_title(ordered)}", ""]
    parts.extend(render_text(n) + "\n" for n in ordered)
    safe = safe_url(page_link)
    if safe is not None:
        parts.append(f"Run history (all jobs, recent runs): {safe}\n")
    parts.append("-- \nSent by failstreak. Thresholds, owners and mutes are set in its config file.")
    return "\n".join(parts)


def _job_html(n: Notification) -> str:
    e = html.escape
    color = {"triggered": "#c62828", "reminder": "#ef6c00", "resolved": "#2e7d32"}[n.event.value]
    rows = [
        f'<h3 style="margin:0 0 4px 0;color:{color}">{EVENT_ICON[n.event]} {e(EVENT_TITLE[n.event])}: '
        f"{e(clip(n.job, NAME_CHARS))}</h3>",
        f'<p style="margin:0 0 4px 0"><strong>{e(what_happened(n))}</strong></p>',
    ]
    if n.recent:
        rows.append(
            f'<p style="margin:0 0 4px 0;font-size:18px">{strip(n, STRIP_RUNS)} '
            '<span style="font-size:12px;color:#666">oldest → newest</span></p>'
        )
    facts = details(n)
    if facts:
        items = "".join(f"<li>{e(clip(f, FACT_CHARS))}</li>" for f in facts)
        rows.append(f'<ul style="margin:0 0 4px 0;padding-left:20px">{items}</ul>')
    links = []
    for run_id, url in failing_links(n):
        safe = safe_url(url)
        if safe is not None:
            links.append(f'<a href="{e(safe, quote=True)}">run {e(clip(run_id, 40))}</a>')
    if links:
        rows.append(f'<p style="margin:0">Failing runs: {" · ".join(links)}</p>')
    return '<div style="margin:0 0 16px 0">' + "\n".join(rows) + "</div>"


def html_body(notes: Sequence[Notification], page_link: str | None = None) -> str:
    """The HTML part: the same content, every user-controlled value escaped."""
    ordered = digest_order(notes)
    jobs = "\n".join(_job_html(n) for n in ordered)
    safe = safe_url(page_link)
    if safe is not None:
        href = html.escape(safe, quote=True)
        jobs += f'\n<p style="margin:0 0 16px 0">📊 <a href="{href}">Run history</a> (all jobs, recent runs)</p>'
    return (
        '<!doctype html><html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;'
        'font-size:14px;color:#222">\n'
        f'<h2 style="margin:0 0 12px 0">failstreak: {html.escape(digest_title(ordered))}</h2>\n'
        f"{jobs}\n"
        '<p style="color:#666;font-size:12px">Sent by failstreak. Thresholds, owners and mutes are set in its '
        "config file.</p>\n</body></html>"
    )


def render(notes: Sequence[Notification], page_link: str | None = None) -> Email:
    """The email of `notes`, or of one daily digest; with `page_link`, both parts of an alert email end with the
    link to the run-history page (a daily digest carries its own)."""
    if len(notes) == 1 and notes[0].digest is not None:
        return daily(notes[0], page_link)
    return Email(subject(notes), text_body(notes, page_link), html_body(notes, page_link))


# -- the daily digest (docs/digest.md) ------------------------------------------------------------------------

FOOTER = "Sent by failstreak. Thresholds, owners and mutes are set in its config file."


def daily_subject(d: Digest) -> str:
    """`[failstreak] daily digest, Mon 7 Dec 2026: 12 jobs: 2 alerting, ...` on one line, cut to fit."""
    return clip(f"[failstreak] {daily_title(d).removeprefix('failstreak ')}: {daily_counts(d)}", SUBJECT_CHARS)


def _daily_section_html(section: DailySection) -> str:
    e = html.escape
    items = []
    for line, words in section.lines:
        item = f"<strong>{e(clip(line.job, NAME_CHARS))}</strong>: {e(clip(words, FACT_CHARS))}"
        url = safe_url(line.url) if section.key == "failing" else None
        if url is not None:
            item += f' (<a href="{e(url, quote=True)}">latest</a>)'
        items.append(f"<li>{item}</li>")
    if section.more:
        items.append(f"<li><em>…and {e(plural(section.more, 'more job'))}</em></li>")
    return (
        f'<h3 style="margin:12px 0 4px 0">{section.icon} {e(section.title)}</h3>\n'
        f'<ul style="margin:0 0 8px 0;padding-left:20px">{"".join(items)}</ul>'
    )


def daily_html(n: Notification, page_link: str | None = None) -> str:
    """The HTML part of a daily digest: the same content, every user-controlled value escaped."""
    d = n.digest
    assert d is not None, "a daily digest notification carries its digest"
    e = html.escape
    body = [
        f'<h2 style="margin:0 0 4px 0">{EVENT_ICON[Event.DIGEST]} {e(daily_title(d))}</h2>',
        f'<p style="margin:0 0 8px 0;color:#444">{e(daily_counts(d))}</p>',
        *(_daily_section_html(s) for s in daily_sections(d, n.created_at)),
    ]
    page = safe_url(page_link)
    if page is not None:
        body.append(f'<p>📊 <a href="{e(page, quote=True)}">Run history</a> (all jobs, recent runs)</p>')
    return (
        '<!doctype html><html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;'
        'font-size:14px;color:#222">\n' + "\n".join(body) + f'\n<p style="color:#666;font-size:12px">{FOOTER}</p>\n'
        "</body></html>"
    )


def daily(n: Notification, page_link: str | None = None) -> Email:
    """A daily digest as an email of its own; with `page_link`, both parts end with the run-history link."""
    assert n.digest is not None, "a daily digest notification carries its digest"
    return Email(daily_subject(n.digest), daily_text(n, page_link) + f"\n\n-- \n{FOOTER}", daily_html(n, page_link))


def mime(mail: Email, sender: str, to: Sequence[str], now_s: float | None = None) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) ready for SES raw sending or SMTP."""
    msg = EmailMessage()
    msg["Subject"] = " ".join(mail.subject.split())
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(now_s, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg
