"""The run-history link in alert messages (docs/http.md, "The page"): the last block of each Slack message, a line
and a link in each email part; only an http(s) URL is ever made a link."""

from __future__ import annotations

from failstreak.notifiers import email_render
from failstreak.notifiers.slack_render import MAX_BLOCKS, digest
from tests.unit.notify_samples import note

LINK = "https://abc.lambda-url.eu-west-1.on.aws/page?token=v1.1790000000.AbC-_d&x=<y>"


def test_each_slack_message_ends_with_the_run_history_link() -> None:
    # Given 40 failing jobs (three messages) and a run-history link
    notes = [note(f"job-{i:02d}", marks="fffff") for i in range(40)]
    # When rendered with the link
    messages = digest(notes, page_link=LINK)
    # Then each message ends with a context block linking to it (`&`, `<`, `>` made safe for mrkdwn), within limits
    assert len(messages) == 3
    for m in messages:
        last = m.blocks[-1]
        assert last["type"] == "context"
        text = last["elements"][0]["text"]
        assert text.startswith("📊 <https://abc.lambda-url.eu-west-1.on.aws/page?token=v1.1790000000.AbC-_d&amp;x=")
        assert "|Run history>" in text
        assert "<y>" not in text
        assert len(m.blocks) <= MAX_BLOCKS


def test_without_a_link_or_with_a_non_web_url_slack_messages_have_no_history_block() -> None:
    # Given one failing job; When rendered without a link, and with a javascript: URL
    for page_link in (None, "javascript:alert(1)"):
        [m] = digest([note("etl", marks="fff")], page_link=page_link)
        # Then no block mentions the run history
        assert not any("Run history" in str(b) for b in m.blocks)


def test_the_email_carries_the_link_in_both_parts_escaped_in_html() -> None:
    # Given one failing job and a link; When the email is rendered
    mail = email_render.render([note("etl", marks="fff")], LINK)
    # Then the text part names the link as is, and the HTML part links to it with its `&` and `<` escaped
    assert f"Run history (all jobs, recent runs): {LINK}" in mail.text
    assert '<a href="https://abc.lambda-url.eu-west-1.on.aws/page?token=v1.1790000000.AbC-_d&amp;x=&lt;y&gt;">' in (
        mail.html
    )


def test_an_email_without_a_link_or_with_a_non_web_url_has_none() -> None:
    for page_link in (None, "javascript:alert(1)", "file:///etc/passwd"):
        mail = email_render.render([note("etl", marks="fff")], page_link)
        assert "Run history" not in mail.text
        assert "Run history" not in mail.html
