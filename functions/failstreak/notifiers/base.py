"""The notifier port, and the base class that owns every notifier's error handling.

A concrete notifier (Slack, email, console) says how one message is sent (`deliver`, raising `DeliveryError`)
and which messages a target's deliveries make (`batches`). `BaseNotifier.send` does the rest, in one place:
it turns what `deliver` raises into results, keeps an unexpected exception to the deliveries of its own message,
and once a service proved unreachable in a pass, fails the rest of that pass's deliveries through it fast
(docs/notifications.md, "Delivery, retries and the outbox").
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from failstreak.core.outbox import Delivery, DeliveryError, DeliveryResult
from failstreak.errors import FailstreakError

log = logging.getLogger(__name__)

M = TypeVar("M")


class Notifier(ABC):
    """Sends notifications to targets of one kind.

    Contract: `send` receives every pending delivery for one target (a channel, an address) from one pass and
    may group them into a digest; it returns one result per delivery and never raises for a delivery problem:
    failures come back as results carrying a `DeliveryError`, whose `retryable` says whether a later pass can
    succeed.
    """

    kind: str

    @abstractmethod
    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]: ...


class Unreachable(DeliveryError):
    """The service behind a notifier cannot be reached or is failing (a timeout, a refused connection, HTTP 5xx).

    Retryable; and the rest of the pass's deliveries through the same notifier fail fast with it, instead of
    each waiting out its own timeout.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


@dataclass(frozen=True, slots=True)
class Batch(Generic[M]):
    """One message to send: what `deliver` needs to send it, and the deliveries it carries.

    A follow-up (Slack's rewrite of an original message) carries no delivery: its failure fails nothing and is
    logged as `follow_up`, what it was meant to do.
    """

    message: M
    deliveries: tuple[Delivery, ...] = ()
    follow_up: str = ""


def failed(deliveries: Iterable[Delivery], failure: DeliveryError) -> list[DeliveryResult]:
    """The same failure for each delivery."""
    return [DeliveryResult(d.outbox_id, failure=failure) for d in deliveries]


class BaseNotifier(Notifier, Generic[M]):
    """A notifier that sends messages of type `M` (see the module docstring); subclasses fill in two hooks.

    One instance serves one pass: once `deliver` raised `Unreachable`, every later message fails fast with it.
    """

    def __init__(self) -> None:
        self._down: Unreachable | None = None

    @abstractmethod
    def batches(
        self, target: str, deliveries: Sequence[Delivery], sent: Mapping[str, DeliveryResult]
    ) -> Iterable[Batch[M]]:
        """The messages to send to `target`, in order, each with the deliveries it carries.

        Consumed lazily: when a batch is drawn, every batch before it has been sent and `sent` holds the
        results so far (by outbox id), so a later message can depend on an earlier one (a reply in the thread
        of a message posted in this very send).
        """

    @abstractmethod
    def deliver(self, target: str, message: M) -> str | None:
        """Send one message; return a reference to it for threading, or None. Raise `DeliveryError` (or
        `Unreachable`) when it cannot be sent."""

    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]:
        sent: dict[str, DeliveryResult] = {}
        broken: DeliveryError | None = None
        try:
            for batch in self.batches(target, deliveries, sent):
                self._settle(target, batch, sent)
        except Exception as e:  # the batching hook itself broke (a rendering bug): the rest fail, not the pass
            broken = self._broken(e)
        missing = broken or DeliveryError(f"{self.kind} notifier sent no message for it", retryable=True)
        return [sent.get(d.outbox_id) or DeliveryResult(d.outbox_id, failure=missing) for d in deliveries]

    def _settle(self, target: str, batch: Batch[M], sent: dict[str, DeliveryResult]) -> None:
        ref, failure = self._attempt(target, batch.message)
        if failure is None:
            sent.update((d.outbox_id, DeliveryResult(d.outbox_id, ref=ref)) for d in batch.deliveries)
            return
        if not batch.deliveries:
            log.warning("could not %s: %s", batch.follow_up or "send a follow-up", failure)
        sent.update((r.outbox_id, r) for r in failed(batch.deliveries, failure))

    def _attempt(self, target: str, message: M) -> tuple[str | None, DeliveryError | None]:
        down = self._down
        if down is not None:
            return None, DeliveryError(f"{self._where(target)}: {down}", retryable=True)
        try:
            return self.deliver(target, message), None
        except Unreachable as e:
            self._down = e
            return None, DeliveryError(f"{self._where(target)}: {e}", retryable=True)
        except DeliveryError as e:
            return None, DeliveryError(f"{self._where(target)}: {e}", retryable=e.retryable)
        except Exception as e:  # a notifier that breaks its contract fails its own deliveries, never the pass
            return None, self._broken(e)

    def _where(self, target: str) -> str:
        return f"{self.kind} {target}" if target else self.kind

    def _broken(self, e: Exception) -> DeliveryError:
        return DeliveryError(f"{self.kind} notifier failed: {type(e).__name__}: {str(e)[:200]}", retryable=True)


class Deferred(Notifier):
    """Builds its notifier at the first send of a pass.

    A secret that cannot be fetched (Secrets Manager unreachable, an unset variable) then fails the deliveries,
    which stay pending for the next pass, instead of failing the pass before it has counted anything. It also
    keeps slack-sdk out of passes that send nothing.
    """

    def __init__(self, kind: str, build: Callable[[], Notifier]) -> None:
        self.kind = kind
        self._build = build
        self._inner: Notifier | None = None

    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]:
        if self._inner is None:
            try:
                self._inner = self._build()
            except FailstreakError as e:
                error = f"{self.kind}: cannot set up: {str(e).splitlines()[0]}"
                return failed(deliveries, DeliveryError(error, retryable=True))
        return self._inner.send(target, deliveries)
