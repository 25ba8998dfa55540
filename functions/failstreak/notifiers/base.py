"""The notifier port."""

from __future__ import annotations

from abc import ABC, abstractmethod

from failstreak.core.outbox import Delivery, DeliveryResult


class Notifier(ABC):
    """Sends notifications to targets of one kind.

    Contract: `send` receives every pending delivery for one target (a channel, an address) from one pass and
    may group them into a digest; it returns one result per delivery and never raises for a delivery problem:
    failures come back as results with `delivered=False`, `retryable` set to whether a later pass can succeed.
    """

    kind: str

    @abstractmethod
    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]: ...
