"""The email notifier: one digest email per address per pass, through Amazon SES (v2) or SMTP; a daily digest
(docs/digest.md) is an email of its own.

The message is multipart/alternative (plain text and HTML, see `email_render`), sent as a raw MIME message so
SES and SMTP send exactly the same bytes. Email has no threads: reminders and fixes are new messages.

Errors are translated: SES throttling, sending-quota and 5xx errors, timeouts and connection errors are
retryable; a rejected message, an unverified sender domain, a paused or suspended account are permanent.
For SMTP, 4xx replies and connection problems are retryable; 5xx replies and failed logins are permanent.
"""

from __future__ import annotations

import smtplib
import ssl
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from failstreak.core.model import Event, Notification
from failstreak.core.outbox import Delivery, DeliveryError, DeliveryResult
from failstreak.errors import ConfigError
from failstreak.notifiers.base import BaseNotifier, Batch, Unreachable
from failstreak.notifiers.email_render import mime, render

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

    from failstreak.app.config import EmailConfig, SmtpConfig

RETRYABLE_SES = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "LimitExceededException",
        "ServiceUnavailable",
        "InternalFailure",
        "RequestTimeout",
    }
)
PERMANENT_SES = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "SendingPausedException",
        "NotFoundException",
        "BadRequestException",
        "AccessDeniedException",
        "InvalidParameterValue",
        "ValidationException",
    }
)


def classify_ses(code: str, status: int | None) -> bool:
    """Whether an SES error code (and HTTP status) is worth retrying in a later pass."""
    if code in RETRYABLE_SES or (status is not None and status >= 500):
        return True
    if code in PERMANENT_SES:
        return False
    return status is None or status == 429


class Transport:
    """Sends one MIME message. Raises DeliveryError (with `retryable`) when it cannot."""

    @abstractmethod
    def send(self, msg: EmailMessage, sender: str, to: Sequence[str]) -> None: ...


class SesTransport(Transport):
    def __init__(self, client: SESV2Client) -> None:
        self._client = client

    @classmethod
    def from_config(cls, cfg: EmailConfig, timeout: float = 10) -> SesTransport:
        import boto3  # noqa: PLC0415 - only passes that send email pay for boto3
        from botocore.config import Config as BotoConfig  # noqa: PLC0415

        boto_cfg = BotoConfig(
            connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 3, "mode": "standard"}
        )
        return cls(boto3.client("sesv2", region_name=cfg.region, config=boto_cfg))

    def send(self, msg: EmailMessage, sender: str, to: Sequence[str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            self._client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": list(to)},
                Content={"Raw": {"Data": msg.as_bytes()}},
            )
        except ClientError as e:
            err: dict[str, Any] = dict(e.response.get("Error", {}))
            code = str(err.get("Code", "Unknown"))
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            message = str(err.get("Message", ""))[:200]
            raise DeliveryError(f"SES {code}: {message}", retryable=classify_ses(code, status)) from None
        except BotoCoreError as e:
            raise Unreachable(f"SES unreachable ({type(e).__name__})") from None


class SmtpTransport(Transport):
    """SMTP with STARTTLS (unless switched off) and an optional login; the password comes from a SecretRef."""

    def __init__(self, cfg: SmtpConfig, password: str | None, timeout: float = 10) -> None:
        self._cfg = cfg
        self._password = password
        self._timeout = timeout

    def send(self, msg: EmailMessage, sender: str, to: Sequence[str]) -> None:
        cfg = self._cfg
        try:
            with smtplib.SMTP(cfg.host, cfg.port, timeout=self._timeout) as smtp:
                if cfg.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.username:
                    smtp.login(cfg.username, self._password or "")
                smtp.send_message(msg, from_addr=sender, to_addrs=list(to))
        except smtplib.SMTPAuthenticationError as e:
            raise DeliveryError(f"SMTP login refused ({e.smtp_code})", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as e:
            codes = sorted({code for code, _ in e.recipients.values()})
            raise DeliveryError(f"SMTP recipients refused ({codes})", retryable=all(c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as e:
            text = e.smtp_error.decode(errors="replace")[:200] if isinstance(e.smtp_error, bytes) else ""
            raise DeliveryError(f"SMTP {e.smtp_code} {text}", retryable=e.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as e:
            raise Unreachable(f"SMTP unreachable ({type(e).__name__})") from None


class EmailNotifier(BaseNotifier[list[Notification]]):
    """One digest email per address per pass: one message carrying every delivery to the address.

    Once the mail service proved unreachable in a pass, the remaining addresses fail fast (retryable) instead
    of each waiting out its own timeout (`BaseNotifier`).
    """

    kind = "email"

    def __init__(
        self,
        sender: str,
        transport: Transport,
        clock_s: Callable[[], float] | None = None,
        page_link: Callable[[], str | None] | None = None,
    ) -> None:
        """`page_link` gives the run-history link messages end with (app/pagelink.py), None for none."""
        super().__init__()
        self._sender = sender
        self._transport = transport
        self._clock_s = clock_s
        self._page_link = page_link

    @classmethod
    def from_config(
        cls,
        cfg: EmailConfig,
        resolve: Callable[[Any], str],
        timeout: float = 10,
        page_link: Callable[[], str | None] | None = None,
    ) -> EmailNotifier:
        transport: Transport
        if cfg.transport == "smtp":
            if cfg.smtp is None:
                raise ConfigError("notify.email.transport is smtp but notify.email.smtp (host, port…) is not set")
            password = resolve(cfg.smtp.password) if cfg.smtp.password is not None else None
            transport = SmtpTransport(cfg.smtp, password, timeout)
        else:
            transport = SesTransport.from_config(cfg, timeout)
        return cls(cfg.sender, transport, page_link=page_link)

    def batches(
        self, target: str, deliveries: Sequence[Delivery], sent: Mapping[str, DeliveryResult]
    ) -> Iterator[Batch[list[Notification]]]:
        # The pass's alerts in one email, then each daily digest (docs/digest.md) in its own.
        alerts = [d for d in deliveries if d.notification.event is not Event.DIGEST]
        if alerts:
            yield Batch([d.notification for d in alerts], tuple(alerts))
        for d in deliveries:
            if d.notification.event is Event.DIGEST:
                yield Batch([d.notification], (d,))

    def deliver(self, target: str, message: list[Notification]) -> None:
        mail = render(message, self._page_link() if self._page_link is not None else None)
        msg = mime(mail, self._sender, [target], self._clock_s() if self._clock_s else None)
        self._transport.send(msg, self._sender, [target])
