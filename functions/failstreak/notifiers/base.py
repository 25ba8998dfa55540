"""The notifier port."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from failstreak.model import Notification

# The destination of an alert nobody can receive (no team owns its job, and no default destination is configured):
# delivering to it dead-letters the alert with NO_DESTINATION_ERROR, so the alert is seen in `status` and the logs
# instead of vanishing.
NO_DESTINATION = "none:"
NO_DESTINATION_ERROR = (
    "no destination: no team owns this job and no default is configured "
    "(notify.slack.default_channel, notify.email.default_to, or the job in JOBOWNERS)"
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification to send to one target, with the thread it belongs to if one exists.

    `thread` is whatever the notifier returned as `ref` when it delivered the job's `triggered` event to
    the same destination (a Slack message `ts`, an email Message-ID); None otherwise.

    `thread_jobs` is set for a `resolved` delivery that has a thread: every job whose `triggered` event went
    out in that same message to that destination (a digest holds several), by name, with whether the job is
    still alerting. A notifier that updates the original message re-renders it from this.
    """

    outbox_id: str
    notification: Notification
    thread: str | None = None
    thread_jobs: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one delivery. `ref` identifies the message sent, to thread later events on it."""

    outbox_id: str
    delivered: bool
    ref: str | None = None
    error: str | None = None
    retryable: bool = True


class Notifier(ABC):
    """Sends notifications to targets of one kind.

    Contract: `send` receives every pending delivery for one target (a channel, an address) from one pass and
    may group them into a digest; it returns one result per delivery and never raises for a delivery problem:
    failures come back as results with `delivered=False`, `retryable` set to whether a later pass can succeed.
    """

    kind: str

    @abstractmethod
    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]: ...
