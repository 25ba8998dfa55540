"""Alert messages link to the run-history page (docs/http.md, "The page"): a pass with the front's URL and
`http.page_secret` configured sends Slack and email messages carrying `<front>/page?token=…`, and the front opens
the page for that token. Against the local Slack Web API server and the local SMTP server."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from failstreak.app import wiring
from failstreak.app.config import load_config
from failstreak.app.pagelink import FRONT_URL_ENV
from failstreak.app.wiring import pass_settings
from failstreak.front.context import front_for
from failstreak.front.routes import handle
from failstreak.pipeline.run import run_pass
from tests.conftest import T0
from tests.integration import slack_server
from tests.integration.front.samples import url_event
from tests.integration.smtp_server import SmtpServer, certificate, running

pytestmark = pytest.mark.integration

USER, PASSWORD = "failstreak", "correct horse battery staple"
FRONT = "https://abcdefghij.lambda-url.eu-west-1.on.aws/"
PAGE_SECRET = "page-secret-for-tests"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local state and inbox with one job failing three times, the secrets in the environment."""
    (tmp_path / "inbox").mkdir()
    lines = [
        json.dumps({"job": "ci/a", "run_id": n, "status": "failed", "finished_at": T0 + n * 60_000}) for n in (1, 2, 3)
    ]
    (tmp_path / "inbox" / "runs.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("PAGE_SECRET", PAGE_SECRET)
    monkeypatch.delenv(FRONT_URL_ENV, raising=False)
    return tmp_path


@pytest.fixture
def slack() -> Iterator[slack_server.SlackServer]:
    with slack_server.running() as server:
        yield server


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    cert, key = certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with running(cert, key, USER, PASSWORD) as server:
        yield server


def configure(site: Path, slack: slack_server.SlackServer, smtp: SmtpServer, http: dict[str, Any]) -> None:
    doc = {
        "state": str(site / "state.json"),
        "inbox": str(site / "inbox"),
        "page": str(site / "page.html"),
        "http": http,
        "notify": {
            "slack": {"token": {"env": "SLACK_TOKEN"}, "base_url": slack.base_url, "default_channel": "#ops"},
            "email": {
                "sender": "alerts@example.com",
                "default_to": ["oncall@example.com"],
                "transport": "smtp",
                "smtp": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "username": USER,
                    "password": {"env": "SMTP_PASSWORD"},
                },
            },
        },
    }
    (site / "failstreak.yaml").write_text(json.dumps(doc))


def a_pass(site: Path) -> None:
    cfg = load_config(str(site / "failstreak.yaml"))
    summary = run_pass(pass_settings(cfg), wiring.ports(cfg)).to_dict()
    assert summary["delivery_failures"] == []


def slack_links(slack: slack_server.SlackServer) -> list[str]:
    """The run-history links in the posted messages' blocks (mrkdwn `<url|Run history>`, `&` escaped)."""
    found = []
    for post in slack.posted():
        for block in json.loads(post["blocks"]) if isinstance(post["blocks"], str) else post["blocks"]:
            for element in block.get("elements", []):
                found += [html.unescape(u) for u in re.findall(r"<([^|>]+)\|Run history>", element.get("text", ""))]
    return found


def email_links(smtp: SmtpServer) -> tuple[list[str], list[str]]:
    """The run-history links in the text part and in the HTML part of each mail."""
    texts, hrefs = [], []
    for received in smtp.state.messages:
        msg = message_from_string(received.data, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        text = msg.get_body(("plain",))
        rich = msg.get_body(("html",))
        assert text is not None
        assert rich is not None
        texts += re.findall(r"Run history \(all jobs, recent runs\): (\S+)", text.get_content())
        hrefs += [html.unescape(u) for u in re.findall(r'<a href="([^"]+)">Run history</a>', rich.get_content())]
    return texts, hrefs


def open_link(site: Path, link: str) -> dict[str, Any]:
    """The front's answer to a browser opening `link`, with the monitor's config."""
    parts = urlsplit(link)
    token = parse_qs(parts.query)["token"][0]
    event = url_event(parts.path, b"", {"accept-encoding": "identity"}, method="GET", query={"token": token})
    return handle(event, front_for(load_config(str(site / "failstreak.yaml"))))


def test_alerts_carry_a_run_history_link_that_the_front_opens(
    site: Path, slack: slack_server.SlackServer, smtp: SmtpServer
) -> None:
    # Given the monitor configured with the front's URL, a page secret and a page
    configure(site, slack, smtp, {"url": FRONT, "page_secret": {"env": "PAGE_SECRET"}})
    # When a pass alerts on Slack and by email
    a_pass(site)
    # Then the Slack message and both parts of the email carry the same link to the front's /page
    [link] = slack_links(slack)
    texts, hrefs = email_links(smtp)
    assert texts == hrefs == [link]
    assert link.startswith(FRONT + "page?token=v1.")
    # And the front, with the same config, opens the page the pass wrote for that token
    answer = open_link(site, link)
    assert answer["statusCode"] == 200
    assert answer["body"] == (site / "page.html").read_text()
    assert 'data-job="ci/a"' in answer["body"]


def test_the_front_url_can_come_from_the_environment_the_template_sets(
    site: Path, slack: slack_server.SlackServer, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no http.url, but FAILSTREAK_FRONT_URL as template.yaml gives the monitor
    monkeypatch.setenv(FRONT_URL_ENV, FRONT)
    configure(site, slack, smtp, {"page_secret": {"env": "PAGE_SECRET"}})
    # When a pass alerts; Then its messages link to that front, and the front opens the page
    a_pass(site)
    [link] = slack_links(slack)
    assert link.startswith(FRONT + "page?token=")
    assert open_link(site, link)["statusCode"] == 200


def test_without_a_page_secret_messages_carry_no_link(
    site: Path, slack: slack_server.SlackServer, smtp: SmtpServer
) -> None:
    # Given the front's URL but no page secret
    configure(site, slack, smtp, {"url": FRONT})
    # When a pass alerts; Then its messages go out, without a run-history link
    a_pass(site)
    assert len(slack.posted()) == 1
    assert slack_links(slack) == []
    assert email_links(smtp) == ([], [])


def test_an_unreadable_page_secret_sends_the_alerts_without_the_link(
    site: Path, slack: slack_server.SlackServer, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a page secret naming an environment variable that is not set
    monkeypatch.delenv("PAGE_SECRET")
    configure(site, slack, smtp, {"url": FRONT, "page_secret": {"env": "PAGE_SECRET"}})
    # When a pass alerts; Then the alerts still go out, without the link (the log says why)
    a_pass(site)
    assert len(slack.posted()) == 1
    assert len(smtp.state.messages) == 1
    assert slack_links(slack) == []
