"""The daily digest delivered by whole passes through real adapters (docs/digest.md): Slack through slack-sdk
against the local Slack Web API server, down and back; email through moto's SES."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from failstreak.app import problems, wiring
from failstreak.app.config import Config, parse_config
from failstreak.app.wiring import pass_settings
from failstreak.pipeline.run import run_pass
from failstreak.pipeline.summary import Summary
from failstreak.state.codec import decode
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
REGION = "eu-west-1"
SENDER = "failstreak@example.com"
DIGEST = 'digest: {at: "09:00", timezone: Europe/Paris, weekdays: [mon, tue, wed, thu, fri]}'


def paris(d: int, h: int, mi: int = 0) -> int:
    """Epoch ms of a Paris time on December `d`, 2026 (the 7th is a Monday)."""
    return int(datetime(2026, 12, d, h, mi, tzinfo=PARIS).timestamp() * 1000)


class Site:
    """A monitor's working directory, its config with `notify` as given, and passes at chosen times."""

    def __init__(self, root: Path, notify: str) -> None:
        self.root = root
        (root / "inbox").mkdir(exist_ok=True)
        (root / "JOBOWNERS").write_text("etl/*  @data\nweb/*  @web\n")
        self.cfg: Config = parse_config(
            f"""
state: state.json
inbox: inbox/
owners: JOBOWNERS
{DIGEST}
teams:
  data: {{slack: ["#data"], email: [data@example.com]}}
  web: {{slack: ["#web"], email: [web@example.com]}}
notify:
  console: false
  max_attempts: 10
{notify}
""",
            "failstreak.yaml",
            base_dir=root,
        )

    def runs(self, at: int) -> None:
        """An inbox file: etl/load failed three times (the last with a hostile reason), web/deploy succeeded."""
        lines = [
            {"job": "etl/load", "run_id": i, "status": "failed", "finished_at": at - (4 - i) * 60_000,
             "url": f"https://ci.example.com/etl/{i}"}
            for i in (1, 2, 3)
        ] + [{"job": "web/deploy", "run_id": 1, "status": "success", "finished_at": at - 60_000}]  # fmt: skip
        (self.root / "inbox" / "runs.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")

    def run(self, at: int) -> Summary:
        ports = wiring.ports(self.cfg)
        ports.clock = lambda: at
        return run_pass(pass_settings(self.cfg), ports)


# -- Slack, down and back ----------------------------------------------------------------------------------------


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackServer]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("PAGE_SECRET", "a page secret of enough length")
    with running() as server:
        yield server


def slack_site(root: Path, slack: SlackServer) -> Site:
    # With the run-history page and the front's page secret: messages carry a run-history link (app/pagelink.py).
    return Site(
        root,
        f"""  slack:
    token: {{env: SLACK_BOT_TOKEN}}
    base_url: {slack.base_url}
    timeout_seconds: 2
page: page.html
http: {{url: "https://front.example.com", page_secret: {{env: PAGE_SECRET}}}}""",
    )


def digests_posted(slack: SlackServer) -> list[tuple[str, str]]:
    return [(p["channel"], p["text"].split("\n")[0]) for p in slack.posted() if "daily digest" in p["text"]]


def test_a_digest_slack_refused_while_down_is_delivered_once_when_it_is_back(
    tmp_path: Path, slack: SlackServer
) -> None:
    # Given an estate whose alerts went out on Monday morning
    site = slack_site(tmp_path, slack)
    site.runs(paris(7, 7, 0))
    site.run(paris(7, 7, 5))
    alerts = len(slack.posted())
    # And Slack down from 08:55
    slack.down()
    # When the passes of 09:00 and 09:15 run while it is down
    at_nine = site.run(paris(7, 9, 0))
    at_quarter = site.run(paris(7, 9, 15))
    # Then each digest is kept to retry, nothing is posted, and the day is recorded as enqueued
    assert {(f["destination"], f["retrying"]) for f in at_nine.to_dict()["delivery_failures"]} == {
        ("slack:#data", True),
        ("slack:#web", True),
    }
    assert all(f["job"] is None and f["event"] == "digest" for f in at_nine.to_dict()["delivery_failures"])
    assert "delivery of digest to slack:#data failed, will retry: slack #data: Slack unavailable" in [
        p.message[: len("delivery of digest to slack:#data failed, will retry: slack #data: Slack unavailable")]
        for p in problems.of_summary(at_nine)
    ]
    assert at_quarter.pending == 2
    assert len(slack.posted()) == alerts
    state = decode((tmp_path / "state.json").read_bytes())
    assert state.digest_day == "2026-12-07"
    assert sorted(e.id for e in state.outbox) == ["digest:2026-12-07>slack:#data", "digest:2026-12-07>slack:#web"]
    # When Slack is back for the 09:30 pass, and passes go on all day
    slack.up()
    back = site.run(paris(7, 9, 30))
    for minute in range(45, 60 * 14, 15):
        site.run(paris(7, 9) + minute * 60_000)
    # Then each channel got its digest exactly once, by the first pass after Slack came back
    assert back.delivered == 2
    assert sorted(digests_posted(slack)) == [
        ("#data", "📋 failstreak daily digest, Mon 7 Dec 2026"),
        ("#web", "📋 failstreak daily digest, Mon 7 Dec 2026"),
    ]
    # And the #data digest lists etl/load as alerting and as the most failing job, with a link to its last run
    [data] = [p for p in slack.posted() if p["channel"] == "#data" and "daily digest" in p["text"]]
    blocks = json.dumps(data["blocks"], ensure_ascii=False)
    assert "Alerting (1)" in blocks
    assert "*etl/load* — 3 failures in a row" in blocks
    assert "<https://ci.example.com/etl/3|latest>" in blocks
    assert "web/deploy" not in blocks
    # And it ends with a run-history link minted by the pass that sent it (09:30, living 7 days)
    last = data["blocks"][-1]["elements"][0]["text"]
    assert last.startswith("📊 <https://front.example.com/page?token=")
    assert last.endswith("|Run history> (all jobs, recent runs)")
    assert decode((tmp_path / "state.json").read_bytes()).outbox == []


# -- email through SES -------------------------------------------------------------------------------------------


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity=SENDER)
        yield client


def sent() -> list[EmailMessage]:
    out = []
    for m in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages:
        parsed = message_from_string(m.raw_data, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out


def test_each_address_gets_its_digest_by_email_once_a_day_apart_from_its_alerts(ses: Any, tmp_path: Path) -> None:
    # Given an estate whose alerts go by email, first seen on Monday at 08:30 (the alert email goes out then)
    site = Site(tmp_path, f"  email: {{sender: {SENDER}, region: {REGION}}}")
    site.runs(paris(7, 8, 30))
    site.run(paris(7, 8, 30))
    alerts = len(sent())
    # When passes run every 15 minutes from 08:45 to noon on Monday and Tuesday
    for day in (7, 8):
        for minute in range(8 * 60 + 45, 12 * 60, 15):
            site.run(paris(day, 0) + minute * 60_000)
    # Then each address got one digest email a day, of its own jobs, in an email of its own
    digests = [m for m in sent()[alerts:] if "daily digest" in str(m["Subject"])]
    assert sorted((str(m["To"]), " ".join(str(m["Subject"]).split()).split(":")[0]) for m in digests) == [
        ("data@example.com", "[failstreak] daily digest, Mon 7 Dec 2026"),
        ("data@example.com", "[failstreak] daily digest, Tue 8 Dec 2026"),
        ("web@example.com", "[failstreak] daily digest, Mon 7 Dec 2026"),
        ("web@example.com", "[failstreak] daily digest, Tue 8 Dec 2026"),
    ]
    monday_data = next(m for m in digests if m["To"] == "data@example.com")
    html_part = monday_data.get_body(("html",))
    text_part = monday_data.get_body(("plain",))
    assert html_part is not None
    assert text_part is not None
    assert "<strong>etl/load</strong>: 3 failures in a row" in html_part.get_content()
    assert "web/deploy" not in text_part.get_content()
    assert "  - etl/load: 3 failed runs (https://ci.example.com/etl/3)" in text_part.get_content()
