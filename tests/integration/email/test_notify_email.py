"""The email notifier through real boto3 against moto's SES (v2), reading the sent messages back."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from failstreak.app import wiring
from failstreak.app.config import SmtpConfig, parse_config
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Event, Notification, Outcome, RunBrief, Status
from failstreak.core.outbox import Delivery
from failstreak.notifiers.email import EmailNotifier, SesTransport, SmtpTransport
from failstreak.pipeline.run import run_pass

pytestmark = pytest.mark.integration

REGION = "eu-west-1"
SENDER = "failstreak@example.com"
T0 = 1_763_884_800_000


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
    """Every message moto's SES accepted, parsed."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    out = []
    for m in backend.sent_messages:
        parsed = message_from_string(m.raw_data, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out


def body(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body((kind,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def note(job: str, event: Event = Event.TRIGGERED) -> Notification:
    recent = tuple(
        RunBrief(str(i), Status.FAILED, Outcome.FAILURE, T0 + i, url=f"https://ci.example.com/{job}/{i}")
        for i in range(3)
    )
    return Notification(
        id=f"{event.value}:{T0}:{job}",
        job=job,
        event=event,
        reasons=("consecutive",),
        consecutive_failures=3,
        window_failures=3,
        window_size=3,
        consecutive_threshold=3,
        cumulative_threshold=5,
        window=10,
        created_at=T0,
        since=T0,
        failed_runs=3,
        last_reason="<b>disk full</b>",
        recent=recent,
    )


def test_a_digest_email_goes_out_through_ses_with_text_and_html_parts(ses: Any) -> None:
    # Given two failing jobs for one address
    notifier = EmailNotifier(SENDER, SesTransport(ses))
    deliveries = [Delivery(f"{j}>email:a@example.com", note(j)) for j in ("nightly-etl", "deploy")]
    # When sent
    results = notifier.send("oncall@example.com", deliveries)
    # Then SES accepted one message, with the subject naming both jobs, and both parts escaped
    assert all(r.delivered for r in results)
    [msg] = sent()
    assert msg["Subject"] == "[failstreak] 2 jobs failing: deploy, nightly-etl"
    assert msg["From"] == SENDER
    assert msg["To"] == "oncall@example.com"
    text = body(msg, "plain")
    html = body(msg, "html")
    assert "nightly-etl: 3 failures in a row" in text
    assert "<b>disk full</b>" in text
    assert "&lt;b&gt;disk full&lt;/b&gt;" in html
    assert '<a href="https://ci.example.com/deploy/2">run 2</a>' in html


def test_an_unverified_sender_is_rejected_permanently(ses: Any) -> None:
    # Given a sender SES does not know
    notifier = EmailNotifier("nobody@unverified.example", SesTransport(ses))
    # When sent / Then it is a permanent failure naming SES's error
    [result] = notifier.send("oncall@example.com", [Delivery("x", note("a"))])
    assert not result.delivered
    assert not result.retryable
    assert (result.error or "").startswith("email oncall@example.com: SES MessageRejected")
    assert sent() == []


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("TooManyRequestsException", 429, True),
        ("LimitExceededException", 400, True),
        ("InternalFailure", 500, True),
        ("MessageRejected", 400, False),
        ("MailFromDomainNotVerifiedException", 400, False),
        ("AccountSuspendedException", 400, False),
    ],
)
def test_ses_errors_are_translated(code: str, status: int, retryable: bool) -> None:
    # Given SES answers with an error moto cannot produce on demand
    client = boto3.client("sesv2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_client_error("send_email", service_error_code=code, service_message="nope", http_status_code=status)
    # When sent / Then the result says whether a later pass can succeed
    with stubber:
        [result] = EmailNotifier(SENDER, SesTransport(client)).send("a@example.com", [Delivery("x", note("a"))])
    assert not result.delivered
    assert result.retryable is retryable
    assert code in (result.error or "")


def test_a_pass_emails_each_address_once_with_its_jobs(
    ses: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given owners with email addresses and two failing jobs
    (tmp_path / "JOBOWNERS").write_text("*  @platform\nbilling-*  @billing\n")
    (tmp_path / "inbox").mkdir()
    lines = [
        {"job": job, "run_id": i, "status": "failed", "finished_at": T0 + i}
        for job in ("billing-nightly", "etl-daily")
        for i in range(3)
    ]
    (tmp_path / "inbox" / "runs.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    cfg = parse_config(
        f"""
state: state.json
inbox: inbox/
owners: JOBOWNERS
teams:
  platform: {{email: [platform@example.com]}}
  billing: {{email: [billing@example.com, platform@example.com]}}
notify:
  email: {{sender: {SENDER}, default_to: [oncall@example.com], region: {REGION}}}
""",
        "failstreak.yaml",
        base_dir=tmp_path,
    )
    # When a pass runs
    summary = run_pass(pass_settings(cfg), wiring.ports(cfg))
    # Then one email per address, each with its own jobs
    assert summary.delivered == 3
    by_to = {m["To"]: m["Subject"] for m in sent()}
    assert by_to == {
        "platform@example.com": "[failstreak] 2 jobs failing: billing-nightly, etl-daily",
        "billing@example.com": "[failstreak] 1 job failing: billing-nightly",
    }


class _SmtpSink:
    """A minimal SMTP server on loopback that accepts one message (no TLS, no auth)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.data = ""
        self.rcpt: list[str] = []

    def serve_one(self, reject_rcpt: int | None = None) -> None:
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rwb") as f:

            def say(line: str) -> None:
                f.write((line + "\r\n").encode())
                f.flush()

            say("220 sink ready")
            while True:
                line = f.readline().decode().rstrip("\r\n")
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    say("250 sink")
                elif verb == "MAIL":
                    say("250 ok")
                elif verb == "RCPT":
                    if reject_rcpt:
                        say(f"{reject_rcpt} no such user")
                    else:
                        self.rcpt.append(line)
                        say("250 ok")
                elif verb == "DATA":
                    say("354 go ahead")
                    chunks = []
                    while (chunk := f.readline().decode()) != ".\r\n":
                        chunks.append(chunk)
                    self.data = "".join(chunks)
                    say("250 queued")
                elif verb == "QUIT" or not line:
                    say("221 bye")
                    return
                else:
                    say("250 ok")


def test_smtp_transport_sends_the_same_message(tmp_path: Path) -> None:
    # Given a local SMTP server
    sink = _SmtpSink()
    server = threading.Thread(target=sink.serve_one, daemon=True)
    server.start()
    transport = SmtpTransport(SmtpConfig(host="127.0.0.1", port=sink.port, starttls=False), None, timeout=5)
    # When a digest is sent over SMTP
    [result] = EmailNotifier(SENDER, transport).send("oncall@example.com", [Delivery("x", note("nightly-etl"))])
    server.join(timeout=5)
    sink.sock.close()
    # Then it arrived with the same subject and parts
    assert result.delivered
    assert [r.lower() for r in sink.rcpt] == ["rcpt to:<oncall@example.com>"]
    msg = message_from_string(sink.data, policy=default_policy)
    assert msg["Subject"] == "[failstreak] 1 job failing: nightly-etl"
    assert isinstance(msg, EmailMessage)
    assert "3 failures in a row" in body(msg, "plain")


def test_smtp_recipient_refused_permanently_is_not_retried() -> None:
    sink = _SmtpSink()
    server = threading.Thread(target=sink.serve_one, kwargs={"reject_rcpt": 550}, daemon=True)
    server.start()
    transport = SmtpTransport(SmtpConfig(host="127.0.0.1", port=sink.port, starttls=False), None, timeout=5)
    [result] = EmailNotifier(SENDER, transport).send("ghost@example.com", [Delivery("x", note("a"))])
    server.join(timeout=5)
    sink.sock.close()
    assert not result.delivered
    assert not result.retryable
    assert "550" in (result.error or "")


def test_smtp_unreachable_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    transport = SmtpTransport(SmtpConfig(host="127.0.0.1", port=port, starttls=False), None, timeout=2)
    [result] = EmailNotifier(SENDER, transport).send("a@example.com", [Delivery("x", note("a"))])
    assert not result.delivered
    assert result.retryable


def test_once_the_mail_service_is_unreachable_the_other_addresses_fail_fast() -> None:
    # Given an SMTP server that refuses connections, and a transport that counts its attempts
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    attempts: list[str] = []

    class Counting(SmtpTransport):
        def send(self, msg: EmailMessage, sender: str, to: Any) -> None:
            attempts.append(to[0])
            super().send(msg, sender, to)

    notifier = EmailNotifier(SENDER, Counting(SmtpConfig(host="127.0.0.1", port=port, starttls=False), None, 2))
    # When two addresses are mailed in the same pass
    [first] = notifier.send("a@example.com", [Delivery("x", note("a"))])
    [second] = notifier.send("b@example.com", [Delivery("y", note("a"))])
    # Then both stay pending, and only the first was attempted
    assert attempts == ["a@example.com"]
    assert first.retryable
    assert second.retryable
    assert (second.error or "").startswith("email b@example.com: SMTP unreachable")


def test_smtp_transport_needs_its_settings() -> None:
    from failstreak.app.config import EmailConfig
    from failstreak.errors import ConfigError

    cfg = EmailConfig(sender=SENDER, transport="smtp")
    with pytest.raises(ConfigError, match=r"notify.email.smtp"):
        EmailNotifier.from_config(cfg, lambda ref: "secret")


def test_smtp_from_config_resolves_the_password_reference() -> None:
    from failstreak.app.config import EmailConfig, section_from

    cfg = section_from(
        EmailConfig,
        {
            "sender": SENDER,
            "transport": "smtp",
            "smtp": {"host": "mail.example.com", "username": "bot", "password": {"env": "SMTP_PASSWORD"}},
        },
    )
    seen: list[str] = []

    def resolve(ref: Any) -> str:
        seen.append(ref.describe())
        return "s3cret"

    notifier = EmailNotifier.from_config(cfg, resolve)
    assert isinstance(notifier._transport, SmtpTransport)
    assert seen == ["env:SMTP_PASSWORD"]


# -- the base notifier's rules, through SES (notifiers/base.py) ------------------------------------------------------


def test_once_ses_is_unreachable_the_other_addresses_fail_fast_without_trying() -> None:
    # Given SES at an endpoint that refuses connections, through a transport that counts its attempts
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    attempts: list[str] = []

    class Counting(SesTransport):
        def send(self, msg: EmailMessage, sender: str, to: Any) -> None:
            attempts.append(to[0])
            super().send(msg, sender, to)

    client = boto3.client(
        "sesv2",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    notifier = EmailNotifier(SENDER, Counting(client))
    # When two addresses are mailed in the same pass
    [first] = notifier.send("a@example.com", [Delivery("x", note("a"))])
    [second] = notifier.send("b@example.com", [Delivery("y", note("a"))])
    # Then both stay pending with the reason, and only the first address was attempted
    assert attempts == ["a@example.com"]
    assert [(r.delivered, r.retryable) for r in (first, second)] == [(False, True), (False, True)]
    assert second.error == "email b@example.com: SES unreachable (EndpointConnectionError)"


def test_a_rejected_address_does_not_stop_the_next_address(ses: Any) -> None:
    # Given SES refusing the first message for good (its sender is not verified), then a verified sender
    unverified = EmailNotifier("nobody@unverified.example", SesTransport(ses))
    [refused] = unverified.send("a@example.com", [Delivery("x", note("a"))])
    # When the same notifier mails another address
    [again] = unverified.send("b@example.com", [Delivery("y", note("b"))])
    # Then each is refused by SES itself (tried, not failed fast): a permanent refusal is not an outage
    assert [(r.delivered, r.retryable) for r in (refused, again)] == [(False, False), (False, False)]
    assert (again.error or "").startswith("email b@example.com: SES MessageRejected")


def test_an_email_that_cannot_be_built_fails_its_delivery_retryable_and_sends_nothing(ses: Any) -> None:
    # Given a sender address with a line break, which no mail header may hold (a contract the notifier breaks)
    notifier = EmailNotifier("alerts@example.com\nBcc: x@example.com", SesTransport(ses))
    # When it mails an address
    [result] = notifier.send("a@example.com", [Delivery("x", note("a"))])
    # Then the delivery waits for the next pass with the reason, and nothing reached SES
    assert not result.delivered
    assert result.retryable
    assert (result.error or "").startswith("email notifier failed: ValueError:")
    assert sent() == []
