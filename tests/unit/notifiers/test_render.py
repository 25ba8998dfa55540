"""The pure renderers: Slack Block Kit payloads and email parts, as data."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from failstreak.core.model import Event
from failstreak.notifiers import email_render, slack_render
from failstreak.notifiers.slack import classify, parse_ref
from failstreak.notifiers.slack_render import MAX_BLOCKS, MAX_HEADER, MAX_TEXT, board, digest, escape, link
from tests.unit.notify_samples import note, runs


def _texts(blocks: list[dict[str, object]]) -> list[str]:
    out = []
    for b in blocks:
        if b["type"] == "section":
            out.append(b["text"]["text"])  # type: ignore[index]
        elif b["type"] == "context":
            out.extend(e["text"] for e in b["elements"])  # type: ignore[attr-defined]
        elif b["type"] == "header":
            out.append(b["text"]["text"])  # type: ignore[index]
    return out


def test_one_triggered_job_renders_header_section_and_failing_run_links() -> None:
    # Given one job that failed four times in a row
    n = note("nightly-etl", marks="sssffff")
    # When rendered for Slack
    [message] = digest([n])
    # Then the payload is a header, a section with what was crossed, the strip and the facts, and the links
    assert message.ids == (n.id,)
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "🔴 failstreak: 1 job failing", "emoji": True},
    }
    assert message.blocks[1] == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "verbatim": True,
            "text": "🔴 *nightly-etl* — 4 failures in a row\n"
            "✅✅✅❌❌❌❌  _oldest → newest_\n"
            "failing since 2025-11-23T11:00:00Z · began at commit abc1233 · "
            "last failure: AssertionError: expected 200, got 503",
        },
    }
    assert message.blocks[2] == {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "verbatim": True,
                "text": "Failing runs: <https://ci.example.com/jobs/nightly-etl/runs/1006|#1006> · "
                "<https://ci.example.com/jobs/nightly-etl/runs/1005|#1005> · "
                "<https://ci.example.com/jobs/nightly-etl/runs/1004|#1004> · "
                "<https://ci.example.com/jobs/nightly-etl/runs/1003|#1003>",
            }
        ],
    }
    assert message.text == (
        "🔴 failstreak: 1 job failing\n"
        "🔴 nightly-etl: 4 failures in a row ✅✅✅❌❌❌❌\n"
        "    failing since 2025-11-23T11:00:00Z · began at commit abc1233 · "
        "last failure: AssertionError: expected 200, got 503"
    )


def test_both_thresholds_are_named_when_both_were_crossed() -> None:
    n = note("flaky", marks="ffsfffsfff", reasons=("consecutive", "cumulative"))
    [message] = digest([n])
    assert "3 failures in a row and 8 of the last 10 failed" in message.blocks[1]["text"]["text"]


def test_a_job_named_like_a_channel_mention_pings_nobody() -> None:
    # Given a job and a reason that try to mention the channel
    n = note("<!channel> deploy", last_reason="boom <!here> @everyone <@U123> & more")
    # When rendered
    [message] = digest([n])
    payload = json.dumps(message.payload())
    # Then no mention syntax survives anywhere in the payload, in blocks or fallback text
    assert "<!channel>" not in payload
    assert "<!here>" not in payload
    assert "<@U123>" not in payload
    assert "&lt;!channel&gt; deploy" in message.text
    assert "&lt;!here&gt;" in message.blocks[1]["text"]["text"]
    assert "@everyone" not in payload  # defused with a word joiner
    assert "&amp; more" in message.blocks[1]["text"]["text"]


def test_escape_handles_ampersand_first_so_entities_are_not_double_escaped_wrongly() -> None:
    assert escape("a & b <c> @here") == "a &amp; b &lt;c&gt; @\u2060here"


def test_links_encode_pipe_and_angle_brackets_and_refuse_non_http_urls() -> None:
    # Given URLs that would break out of Slack's <url|text> syntax, or are not web links
    # When linked / Then the URL is encoded and the label escaped; a javascript: URL is not linked at all
    assert link("https://ci.example.com/a|b>c?x=1&y=2", "run <1>") == (
        "<https://ci.example.com/a%7Cb%3Ec?x=1&amp;y=2|run &lt;1&gt;>"
    )
    assert link("javascript:alert(1)", "run 1") == "run 1"
    assert link("https://ci.example.com/a b", "run 1") == "run 1"
    assert link(None, "run | 1") == "run ¦ 1"


def test_a_long_digest_is_split_into_messages_within_block_kit_limits() -> None:
    # Given 40 failing jobs with long names and long reasons in one channel's pass
    notes = [
        note(f"job-{i:02d}-" + "x" * 600, marks="f" * 30, last_reason="Traceback: " + "y&<" * 2000) for i in range(40)
    ]
    # When rendered
    messages = digest(notes)
    # Then it is split into parts, every job exactly once, each message within Slack's limits
    assert len(messages) == 3
    assert [m.blocks[0]["text"]["text"] for m in messages] == [
        f"🔴 failstreak: 40 jobs failing (part {i} of 3)" for i in (1, 2, 3)
    ]
    assert sorted(i for m in messages for i in m.ids) == sorted(n.id for n in notes)
    for m in messages:
        assert len(m.blocks) <= MAX_BLOCKS
        assert len(m.blocks[0]["text"]["text"]) <= MAX_HEADER
        assert all(len(t) <= MAX_TEXT for t in _texts(m.blocks))
        assert len(m.text) <= 3000
        # a cut never leaves a half entity behind
        assert all(not t.rstrip("…").endswith(("&am", "&l", "&g", "&")) for t in _texts(m.blocks))


def test_a_mixed_digest_orders_failing_then_still_failing_then_fixed() -> None:
    notes = [
        note("zeta", event=Event.RESOLVED, marks="fffs"),
        note("alpha", event=Event.REMINDER),
        note("beta", event=Event.TRIGGERED),
    ]
    [message] = digest(notes)
    assert message.blocks[0]["text"]["text"] == "🔴 failstreak: 1 failing, 1 still failing, 1 fixed"
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert [s.split("*")[1] for s in sections] == ["beta", "alpha", "zeta"]
    assert sections[2].startswith("🟢 *zeta* — fixed after 3 failed runs since")


def test_a_long_strip_shows_the_newest_runs() -> None:
    n = note("long", marks="s" * 100 + "f" * 5)
    [message] = digest([n])
    assert "…" + "✅" * 15 + "❌" * 5 in message.blocks[1]["text"]["text"]


def test_board_marks_fixed_jobs_and_keeps_still_failing_ones() -> None:
    # Given a triggered message that announced three jobs, of which b is fixed now and c earlier
    fixed = note("b", event=Event.RESOLVED, marks="fffs")
    # When the original message is re-rendered
    message = board([("a", True), ("b", False), ("c", False)], [fixed])
    # Then the header counts what is still failing and each job says where it stands
    assert message.blocks[0]["text"]["text"] == "🔴 failstreak: 1 of 3 jobs still failing"
    lines = message.blocks[1]["text"]["text"].split("\n")
    assert lines[0] == "🔴 *a* — still failing (see the thread)"
    assert lines[1].startswith("✅ ~b~ — fixed after 3 failed runs")
    assert lines[2] == "✅ ~c~ — fixed"
    assert message.ids == (fixed.id,)


def test_board_says_all_fixed_when_nothing_is_still_failing() -> None:
    message = board([("a", False), ("b", False)], [note("a", event=Event.RESOLVED, marks="fs")])
    assert message.blocks[0]["text"]["text"] == "🟢 failstreak: all 2 jobs fixed"


def test_slack_errors_are_translated_into_retryable_or_permanent() -> None:
    # Given the errors Slack answers / When classified / Then the outbox knows whether to try again
    assert classify(429, "ratelimited").retryable
    assert classify(503, None).retryable
    assert classify(200, "internal_error").retryable
    for code in ("channel_not_found", "invalid_auth", "not_in_channel", "account_inactive", "token_revoked"):
        failure = classify(200, code)
        assert not failure.retryable, code
        assert str(failure).startswith(code)
    assert not classify(404, "no_service").retryable
    assert not classify(400, "some_new_error").retryable


def test_refs_are_channel_id_and_ts() -> None:
    assert parse_ref("C123|1700000000.000100") == ("C123", "1700000000.000100")
    assert parse_ref("1700000000.000100") is None
    assert parse_ref(None) is None


def test_email_subject_says_how_many_jobs_and_which() -> None:
    assert email_render.subject([note("b"), note("a")]) == "[failstreak] 2 jobs failing: a, b"
    mixed = [note("a"), note("z", event=Event.RESOLVED)]
    assert email_render.subject(mixed) == "[failstreak] 1 failing, 1 fixed: a, z"


def test_email_subject_stays_short_and_on_one_line() -> None:
    # Given many jobs, one with a newline in its name (a header-injection attempt)
    notes = [note("evil\r\nBcc: x@example.com")] + [note(f"job-{i:03d}") for i in range(50)]
    subject = email_render.subject(notes)
    assert "\n" not in subject
    assert "\r" not in subject
    assert len(subject) <= 200
    assert subject.startswith("[failstreak] 51 jobs failing: evil Bcc: x@example.com, job-000")
    assert subject.endswith(" more")


def test_email_html_escapes_everything_user_controlled_and_links_only_web_urls() -> None:
    # Given a job name and a reason with markup, and a javascript: link
    n = note(
        "<script>alert(1)</script>",
        last_reason='<img src=x onerror="boom">',
        recent=runs("sff", url="javascript:alert('{job}{run}')"),
    )
    # When rendered
    mail = email_render.render([n])
    # Then nothing is interpreted as markup and no link is made
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "<img" not in mail.html
    assert "&lt;img src=x onerror=&quot;boom&quot;&gt;" in mail.html
    assert "javascript:" not in mail.html
    assert "href" not in mail.html


def test_email_has_the_same_content_as_slack_in_text_and_html() -> None:
    n = note("nightly-etl")
    mail = email_render.render([n])
    for part in (mail.text, mail.html):
        assert "nightly-etl" in part
        assert "4 failures in a row" in part
        assert "✅✅✅❌❌❌❌" in part
        assert "began at commit abc1233" in part
        assert "AssertionError: expected 200, got 503" in part
        assert "https://ci.example.com/jobs/nightly-etl/runs/1006" in part


def test_email_mime_is_multipart_alternative_with_text_then_html() -> None:
    mail = email_render.render([note("nightly-etl")])
    msg = email_render.mime(mail, "failstreak@example.com", ["oncall@example.com"], now_s=1_763_884_800)
    parsed = message_from_bytes(msg.as_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "[failstreak] 1 job failing: nightly-etl"
    assert parsed["To"] == "oncall@example.com"
    assert parsed.get_content_type() == "multipart/alternative"
    text_part = parsed.get_body(("plain",))
    html_part = parsed.get_body(("html",))
    assert text_part is not None
    assert html_part is not None
    assert "4 failures in a row" in text_part.get_content()
    assert "<h2" in html_part.get_content()


def test_renderer_module_constants_match_block_kit_limits() -> None:
    assert (slack_render.MAX_BLOCKS, slack_render.MAX_TEXT, slack_render.MAX_HEADER) == (50, 3000, 150)
    assert 3 * slack_render.JOBS_PER_MESSAGE + 1 <= slack_render.MAX_BLOCKS
