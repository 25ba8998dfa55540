"""The daily digest's rendering (docs/digest.md): Slack Block Kit within its limits, email, console; escaped."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from failstreak.core import digest
from failstreak.core.model import Digest, DigestLine, DigestSection, Notification
from failstreak.notifiers import email_render, slack_render
from failstreak.notifiers.console import render_text
from failstreak.notifiers.render import daily_text
from failstreak.notifiers.slack_render import MAX_BLOCKS, MAX_FALLBACK, MAX_HEADER, MAX_TEXT, daily

NOW = 1_796_630_400_000  # 2026-12-07T08:00:00Z, 09:00 in Paris
HOUR = 3_600_000
HOSTILE = "<!channel> <script>alert(1)</script> & <https://evil.example|click>"


def note(d: Digest) -> Notification:
    return digest.notification(d, NOW)


def section(*lines: DigestLine, more: int = 0) -> DigestSection:
    return DigestSection(tuple(lines), more)


def sample() -> Digest:
    return Digest(
        day="2026-12-07",
        zone="Europe/Paris",
        jobs=9,
        alerting=section(DigestLine("etl/load", streak=4, failures=6, runs=10, since=NOW - 5 * HOUR)),
        flaky=section(DigestLine("web/e2e", detail="flaky: 6 flips in the last 10 runs")),
        silent=section(DigestLine("backup", since=NOW - 3 * HOUR)),
        failing=section(DigestLine("etl/load", failures=7, url="https://ci.example/runs/7?a=1&b=2")),
        fixed=section(DigestLine("api/build", failures=3, at=NOW - 2 * HOUR)),
    )


LINK = "https://front.example/page?token=abc"


def _texts(blocks: list[dict[str, object]]) -> list[str]:
    out = []
    for b in blocks:
        if b["type"] in ("section", "header"):
            out.append(b["text"]["text"])  # type: ignore[index]
        elif b["type"] == "context":
            out.extend(e["text"] for e in b["elements"])  # type: ignore[attr-defined]
    return out


def test_a_digest_renders_in_slack_as_header_counts_and_one_section_per_part() -> None:
    # Given a digest with a job in each section, sent with the pass's run-history link
    message = daily(note(sample()), LINK)
    # Then Slack gets a header with the date, the counts, each section with its jobs, and the link last
    texts = _texts(message.blocks)
    assert message.blocks[0]["type"] == "header"
    assert texts[0] == "📋 failstreak daily digest, Mon 7 Dec 2026"
    assert texts[1] == "9 jobs: 1 alerting, 1 flaky, 1 silent; 1 fixed in the last 24 h"
    assert texts[2] == (
        "*🔴 Alerting (1)*\n"
        "• *etl/load* — 4 failures in a row, 6 of the last 10 failed, failing since 2026-12-07T03:00:00Z"
    )
    assert texts[3] == "*🎲 Flaky (1)*\n• *web/e2e* — flaky: 6 flips in the last 10 runs"
    assert texts[4] == "*🔕 Silent (1)*\n• *backup* — silent: no run since it was expected 3 h ago"
    assert texts[5] == (
        "*📉 Most failing in the last 24 h (1)*\n"
        "• *etl/load* — 7 failed runs (<https://ci.example/runs/7?a=1&amp;b=2|latest>)"
    )
    assert (
        texts[6] == "*🟢 Fixed in the last 24 h (1)*\n• *api/build* — fixed at 2026-12-07T06:00:00Z after 3 failed runs"
    )
    assert texts[7] == "📊 <https://front.example/page?token=abc|Run history> (all jobs, recent runs)"
    assert len(message.blocks) == 8
    assert message.ids == ("digest:2026-12-07",)
    assert message.text.startswith("📋 failstreak daily digest, Mon 7 Dec 2026\n9 jobs")


def test_a_digest_with_nothing_to_say_says_all_is_well() -> None:
    # Given a digest of 3 jobs, none alerting, flaky or silent, none failed or fixed
    message = daily(note(Digest("2026-12-07", "UTC", 3)))
    # Then it is the header and the counts alone
    assert _texts(message.blocks) == [
        "📋 failstreak daily digest, Mon 7 Dec 2026",
        "3 jobs: none alerting, flaky or silent; no failed run in the last 24 h",
    ]


def test_what_producers_control_is_escaped_in_slack() -> None:
    # Given jobs whose names and details hold mrkdwn, a broadcast and a link, and a link that is not http(s)
    hostile = DigestLine(HOSTILE, streak=2, detail=HOSTILE, url="javascript:alert(1)", failures=2)
    d = Digest(
        "2026-12-07", "UTC", 1, alerting=section(hostile), flaky=section(hostile), failing=section(hostile),
    )  # fmt: skip
    # When rendered for Slack, with a link that is not http(s)
    message = daily(note(d), "javascript:alert(1)")
    texts = _texts(message.blocks)
    # Then no text holds a raw `<`, a live broadcast or the javascript link, and every text is verbatim
    for text in texts[1:]:
        assert "<!channel>" not in text
        assert "<script>" not in text
        assert "<https://evil" not in text
        assert "javascript:" not in text
    assert "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;https://evil.example|click&gt;" in texts[2]
    assert all(
        e.get("verbatim") is True
        for b in message.blocks
        for e in ([b["text"]] if b["type"] == "section" else b.get("elements", []))  # type: ignore[attr-defined]
    )
    assert not any("Run history" in t for t in texts)


def test_a_digest_too_long_for_slack_lists_what_fits_and_says_how_many_more() -> None:
    # Given 60 alerting jobs with names of 190 characters (50 stored, 10 more counted), 12 flaky, 40 fixed
    long = "x" * 180
    lines = [
        digest.JobLines(alerting=DigestLine(f"{long}{i:03d}&<>", streak=i, failures=i, runs=10)) for i in range(60)
    ]
    lines += [
        digest.JobLines(flaky=DigestLine(f"flaky{i:02d}", detail="flaky: 4 flips in the last 10 runs"))
        for i in range(12)
    ]
    lines += [digest.JobLines(fixed=(DigestLine(f"fixed{i:02d}", failures=1, at=NOW - HOUR),)) for i in range(40)]
    d = digest.build("2026-12-07", "UTC", lines)
    # When rendered for Slack
    message = daily(note(d))
    texts = _texts(message.blocks)
    # Then it stays within Block Kit's limits: 50 blocks, 3000 characters a text, 150 a header, 3000 the fallback
    assert len(message.blocks) <= MAX_BLOCKS
    assert all(len(t) <= MAX_TEXT for t in texts)
    assert len(texts[0]) <= MAX_HEADER
    assert len(message.text) <= MAX_FALLBACK
    # And each section lists at most 15 jobs, the last line saying how many more it has
    alerting = [t for t in texts if "Alerting (60)" in t or t.startswith("• *" + "x" * 10)]
    listed = sum(t.count("\n• ") + t.startswith("• ") for t in alerting)
    assert listed <= 15
    assert alerting[-1].endswith(f"_…and {60 - listed} more jobs_")
    flaky = next(t for t in texts if "Flaky (12)" in t)
    assert flaky.count("\n• ") == 12
    assert "more job" not in flaky
    fixed = next(t for t in texts if "Fixed in the last 24 h (40)" in t)
    assert fixed.count("\n• ") == 15
    assert fixed.endswith("_…and 25 more jobs_")


def test_a_digest_email_has_a_subject_text_and_escaped_html() -> None:
    # Given the sample digest, with a hostile job among the alerting ones
    d = sample()
    d = Digest(
        d.day, d.zone, d.jobs, section(*d.alerting.lines, DigestLine(HOSTILE, streak=1), more=3), d.flaky, d.silent,
        d.failing, d.fixed,
    )  # fmt: skip
    # When rendered as an email
    mail = email_render.render([note(d)], LINK)
    # Then the subject says the day and the counts, on one line
    assert mail.subject == (
        "[failstreak] daily digest, Mon 7 Dec 2026: 9 jobs: 5 alerting, 1 flaky, 1 silent; 1 fixed in the last 24 h"
    )
    # And the text lists every job and the count of those not listed
    assert "🔴 Alerting (5)\n  - etl/load: 4 failures in a row, 6 of the last 10 failed" in mail.text
    assert "  ...and 3 more jobs" in mail.text
    assert "  - etl/load: 7 failed runs (https://ci.example/runs/7?a=1&b=2)" in mail.text
    assert "Run history (all jobs, recent runs): https://front.example/page?token=abc" in mail.text
    # And the HTML escapes what producers control, and links only http(s) URLs
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;https://evil.example|click&gt;" in mail.html
    assert '<a href="https://ci.example/runs/7?a=1&amp;b=2">latest</a>' in mail.html
    assert '📊 <a href="https://front.example/page?token=abc">Run history</a> (all jobs, recent runs)' in mail.html
    assert "<li><em>…and 3 more jobs</em></li>" in mail.html
    # And it is a well-formed multipart message
    msg = message_from_bytes(
        email_render.mime(mail, "f@example.com", ["t@example.com"]).as_bytes(), policy=default_policy
    )
    assert isinstance(msg, EmailMessage)
    assert msg.get_content_type() == "multipart/alternative"


def test_the_console_prints_a_digest_with_control_characters_escaped() -> None:
    # Given a digest whose job name carries a terminal escape sequence
    d = Digest("2026-12-07", "UTC", 1, alerting=section(DigestLine("evil\x1b[2Jjob", streak=3)))
    # When printed
    text = render_text(note(d))
    # Then the escape is shown, not interpreted, and the job is listed
    assert "\x1b" not in text
    assert "evil\\x1b[2Jjob: 3 failures in a row" in text
    assert text.splitlines()[0] == "failstreak daily digest, Mon 7 Dec 2026"


def test_a_digest_whose_day_is_not_a_date_is_titled_with_it_as_it_is() -> None:
    # Given a digest whose day cannot be read as a date (renderers never fail on what the state holds)
    message = slack_render.daily(note(Digest("someday", "UTC", 0)))
    # Then the header carries it as written
    assert _texts(message.blocks)[0] == "📋 failstreak daily digest, someday"


def test_the_example_in_the_docs_is_what_the_code_renders() -> None:
    # Given docs/digest.md's example, the first fenced block after its "### Example" heading
    doc = (Path(__file__).resolve().parents[3] / "docs" / "digest.md").read_text()
    block = doc.split("### Example", 1)[1].split("```\n", 2)[1]
    # When the sample digest is rendered as text; Then it is the example, line for line
    assert daily_text(note(sample()), LINK) + "\n" == block
