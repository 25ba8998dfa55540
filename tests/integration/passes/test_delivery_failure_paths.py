"""Delivery failure paths over whole passes: SMTP with STARTTLS and login (a real TLS server), a refused login,
an untrusted certificate, SES unreachable, and alerts routed to a notifier the config does not set up.

Each asserts what the operator sees (the pass summary's `delivery_failures`, `pending`, the dead letters) and that
nothing is lost: what can be retried is delivered by a later pass.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_string
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from failstreak.app import wiring
from failstreak.app.config import EmailConfig, load_config, section_from
from failstreak.app.wiring import pass_settings
from failstreak.notifiers.email import EmailNotifier
from failstreak.pipeline.run import run_pass
from failstreak.state.codec import decode
from tests.conftest import T0
from tests.integration import slack_server
from tests.integration.smtp_server import SmtpServer, certificate, running

pytestmark = pytest.mark.integration

USER, PASSWORD = "failstreak", "correct horse battery staple"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A local state and inbox with one job failing three times."""
    (tmp_path / "inbox").mkdir()
    lines = [
        json.dumps({"job": "ci/a", "run_id": n, "status": "failed", "finished_at": T0 + n * 60_000}) for n in (1, 2, 3)
    ]
    (tmp_path / "inbox" / "runs.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def configure(site: Path, notify: dict[str, Any], **extra: Any) -> None:
    doc = {"state": str(site / "state.json"), "inbox": str(site / "inbox"), "notify": notify, **extra}
    (site / "failstreak.yaml").write_text(json.dumps(doc))


def a_pass(site: Path) -> dict[str, Any]:
    cfg = load_config(str(site / "failstreak.yaml"))
    summary: dict[str, Any] = run_pass(pass_settings(cfg), wiring.ports(cfg)).to_dict()
    return summary


def failures(summary: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(f["destination"], f["error"], f["retrying"]) for f in summary["delivery_failures"]]


# -- SMTP with STARTTLS and login ----------------------------------------------------------------------------------


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Path, Path]:
    return certificate(tmp_path)


@pytest.fixture
def smtp(tls: tuple[Path, Path]) -> Iterator[SmtpServer]:
    with running(*tls, USER, PASSWORD) as server:
        yield server


def smtp_notify(server: SmtpServer) -> dict[str, Any]:
    return {
        "email": {
            "sender": "alerts@example.com",
            "default_to": ["oncall@example.com"],
            "transport": "smtp",
            "smtp": {"host": "127.0.0.1", "port": server.port, "username": USER, "password": {"env": "SMTP_PASSWORD"}},
        }
    }


def test_smtp_mail_goes_out_over_starttls_after_logging_in(
    site: Path, smtp: SmtpServer, tls: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a submission server with STARTTLS and AUTH, whose certificate the host trusts, and the password in
    # the environment variable the config names (notify.email.smtp.starttls left at its default: on)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[0]))
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    configure(site, smtp_notify(smtp))

    # When a pass alerts
    summary = a_pass(site)

    # Then the digest was accepted over TLS from the logged-in user, and the login came only after STARTTLS
    assert failures(summary) == []
    (received,) = smtp.state.messages
    assert (received.tls, received.user, received.recipients) == (True, USER, ["oncall@example.com"])
    assert message_from_string(received.data, policy=default_policy)["Subject"] == "[failstreak] 1 job failing: ci/a"
    assert [verb for verb, on in smtp.state.commands if not on] == ["EHLO", "STARTTLS"]
    assert ("AUTH", True) in smtp.state.commands


def test_a_refused_smtp_login_dead_letters_the_alert_at_once(
    site: Path, smtp: SmtpServer, tls: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the trusted server, and a wrong password
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[0]))
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    configure(site, smtp_notify(smtp))

    # When a pass alerts
    summary = a_pass(site)

    # Then nothing is sent, the pass says why, and the alert is dead-lettered, not retried pass after pass
    assert smtp.state.messages == []
    assert failures(summary) == [
        ("email:oncall@example.com", "email oncall@example.com: SMTP login refused (535)", False)
    ]
    assert summary["pending"] == 0
    state = decode((site / "state.json").read_bytes())
    assert [(d.destination, d.error) for d in state.dead_letters] == [
        ("email:oncall@example.com", "email oncall@example.com: SMTP login refused (535)")
    ]
    assert "wrong" not in json.dumps(summary)


def test_an_untrusted_smtp_certificate_sends_no_password_and_keeps_the_alert_pending(
    site: Path, smtp: SmtpServer, tls: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a server whose certificate the host does not trust (the system's CAs only)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    configure(site, smtp_notify(smtp))

    # When a pass alerts
    summary = a_pass(site)

    # Then the client gave up at the TLS handshake: no AUTH was sent, nothing delivered, the alert waits
    assert not [verb for verb, _ in smtp.state.commands if verb == "AUTH"]
    assert smtp.state.messages == []
    ((destination, error, retrying),) = failures(summary)
    assert (destination, retrying) == ("email:oncall@example.com", True)
    assert error.startswith("email oncall@example.com: SMTP unreachable (SSLCertVerificationError)")
    assert summary["pending"] == 1

    # And once the certificate is trusted, the next pass delivers it
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[0]))
    assert failures(a_pass(site)) == []
    assert len(smtp.state.messages) == 1


@pytest.mark.parametrize(
    ("verb", "reply", "retrying"),
    [
        ("RCPT", "450 4.2.1 Mailbox busy, try again later", True),
        ("RCPT", "550 5.1.1 No such user", False),
        ("DATA", "452 4.3.1 Insufficient system storage", True),
        ("DATA", "554 5.7.1 Message rejected as spam", False),
    ],
)
def test_an_smtp_refusal_is_retried_when_temporary_and_dead_lettered_when_permanent(
    site: Path,
    smtp: SmtpServer,
    tls: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    verb: str,
    reply: str,
    retrying: bool,
) -> None:
    # Given the trusted server refusing the recipient or the message, temporarily (4xx) or for good (5xx)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[0]))
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    smtp.refuse[verb] = reply
    configure(site, smtp_notify(smtp))

    # When a pass alerts
    summary = a_pass(site)

    # Then the delivery failed with the server's code; a 4xx stays pending, a 5xx is dead-lettered at once
    ((destination, error, retried),) = failures(summary)
    assert (destination, retried) == ("email:oncall@example.com", retrying)
    assert reply[:3] in error
    assert summary["pending"] == (1 if retrying else 0)
    assert smtp.state.messages == []


# -- SES unreachable ---------------------------------------------------------------------------------------------


def _refusing_port() -> int:
    """A loopback port nobody listens on: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_ses_unreachable_keeps_the_alert_pending_and_a_later_pass_sends_it(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SES configured, at an endpoint that refuses connections
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", f"http://127.0.0.1:{_refusing_port()}")
    configure(site, {"email": {"sender": "alerts@example.com", "default_to": ["oncall@example.com"]}})

    # When a pass alerts
    summary = a_pass(site)

    # Then the pass completes, says SES was unreachable, and keeps the alert for the next pass
    assert failures(summary) == [
        ("email:oncall@example.com", "email oncall@example.com: SES unreachable (EndpointConnectionError)", True)
    ]
    assert summary["pending"] == 1

    # And when SES answers again, the next pass sends it, once
    monkeypatch.delenv("AWS_ENDPOINT_URL_SESV2")
    with mock_aws():
        boto3.client("sesv2", region_name="eu-west-1").create_email_identity(EmailIdentity="example.com")
        again = a_pass(site)
        sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
        assert (failures(again), again["pending"], len(sent)) == ([], 0, 1)


class _SesAnswering:
    """An SES v2 endpoint on loopback that answers every request with one error, as the REST-JSON protocol
    does: the code in the `x-amzn-ErrorType` header, the message in the JSON body (botocore/parsers.py,
    RestJSONParser; https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html, "Operation error
    serialization")."""

    def __init__(self, status: int, code: str) -> None:
        answer = json.dumps({"message": f"{code} from the test endpoint"}).encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-ErrorType", f"{code}:http://internal.amazon.com/coral/com.amazonaws.sesv2/")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("status", "code", "retrying"),
    [
        (400, "MessageRejected", False),
        (400, "SomeErrorSesAddsLater", False),
        (429, "SomeErrorSesAddsLater", True),
        (503, "SomeErrorSesAddsLater", True),
    ],
)
def test_an_ses_error_is_retried_only_when_ses_says_to_slow_down_or_is_failing(
    site: Path, monkeypatch: pytest.MonkeyPatch, status: int, code: str, retrying: bool
) -> None:
    # Given SES answering with an error, one the notifier knows or one it has never seen
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    ses = _SesAnswering(status, code)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", ses.url)
        configure(
            site,
            {"email": {"sender": "alerts@example.com", "default_to": ["oncall@example.com"], "region": "eu-west-1"}},
        )

        # When a pass alerts
        summary = a_pass(site)
    finally:
        ses.stop()

    # Then a 4xx it does not know is permanent like a known rejection, and 429 or 5xx waits for the next pass
    ((destination, error, retried),) = failures(summary)
    assert (destination, retried) == ("email:oncall@example.com", retrying)
    assert error.startswith(f"email oncall@example.com: SES {code}:")


def test_an_email_notifier_with_nothing_to_send_contacts_no_server(
    smtp: SmtpServer, tls: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the SMTP notifier, and an address with no deliveries
    cfg = section_from(
        EmailConfig,
        {"sender": "alerts@example.com", "transport": "smtp", "smtp": {"host": "127.0.0.1", "port": smtp.port}},
    )
    notifier = EmailNotifier.from_config(cfg, lambda ref: "")
    # When it is asked to send nothing, then it returns no results and opened no connection
    assert notifier.send("oncall@example.com", []) == []
    assert smtp.state.commands == []


# -- routed to a notifier that is not configured ---------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[slack_server.SlackServer]:
    with slack_server.running() as server:
        yield server


def test_alerts_left_pending_for_a_notifier_taken_out_of_the_config_are_dead_lettered_visibly(
    site: Path, slack: slack_server.SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an alert pending for Slack (Slack was down), and then Slack taken out of the config
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-test-token")
    slack_cfg = {"token": {"env": "SLACK_TOKEN"}, "base_url": slack.base_url, "default_channel": "#ops"}
    configure(site, {"slack": slack_cfg})
    slack.down()
    assert a_pass(site)["pending"] == 1
    configure(site, {"console": True})

    # When the next pass runs
    summary = a_pass(site)

    # Then the Slack copy is dead-lettered with the reason, in the summary and in the state
    assert failures(summary) == [("slack:#ops", "no slack notifier is configured", False)]
    assert summary["pending"] == 0
    state = decode((site / "state.json").read_bytes())
    assert [d.error for d in state.dead_letters] == ["no slack notifier is configured"]


def test_a_team_reachable_only_by_an_unconfigured_notifier_dead_letters_visibly(
    site: Path, slack: slack_server.SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job owned by a team that has only an email address, Slack configured without a default channel,
    # and no email at all
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-test-token")
    (site / "JOBOWNERS").write_text("ci/*  @data\n")
    configure(
        site,
        {"slack": {"token": {"env": "SLACK_TOKEN"}, "base_url": slack.base_url}},
        owners=str(site / "JOBOWNERS"),
        teams={"data": {"email": ["data@example.com"]}},
    )

    # When a pass alerts
    summary = a_pass(site)

    # Then the alert does not vanish: it is dead-lettered for the team's address, saying email is not configured
    assert slack.posted() == []
    assert failures(summary) == [("email:data@example.com", "no email notifier is configured", False)]
    state = decode((site / "state.json").read_bytes())
    assert [(d.destination, d.error) for d in state.dead_letters] == [
        ("email:data@example.com", "no email notifier is configured")
    ]


def test_an_alert_nobody_owns_with_no_default_destination_is_dead_lettered_visibly(
    site: Path, slack: slack_server.SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Slack configured for teams only (no default channel), and a job no team owns
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-test-token")
    (site / "JOBOWNERS").write_text("etl/*  @data\n")
    configure(
        site,
        {"slack": {"token": {"env": "SLACK_TOKEN"}, "base_url": slack.base_url}},
        owners=str(site / "JOBOWNERS"),
        teams={"data": {"slack": ["#data"]}},
    )

    # When a pass alerts on it
    summary = a_pass(site)

    # Then the alert does not vanish: it is dead-lettered, saying why nobody received it and what to configure
    assert slack.posted() == []
    reason = (
        "no destination: no team owns this job and no default is configured "
        "(notify.slack.default_channel, notify.email.default_to, or the job in JOBOWNERS)"
    )
    assert failures(summary) == [("none:", reason, False)]
    state = decode((site / "state.json").read_bytes())
    assert [(d.job, d.error) for d in state.dead_letters] == [("ci/a", reason)]
