"""The base notifier's rules, over a notifier that writes its messages to a list: how a raised DeliveryError, an
unexpected exception and an unreachable service become results (docs/notifications.md, "Delivery, retries and
the outbox"). Each concrete notifier's own tests check the same rules against its real service."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from failstreak.core.model import Event, Notification
from failstreak.core.outbox import Delivery, DeliveryError, DeliveryResult
from failstreak.errors import ConfigError
from failstreak.notifiers.base import BaseNotifier, Batch, Deferred, Notifier, Unreachable
from tests.conftest import T0


def delivery(job: str) -> Delivery:
    n = Notification(f"triggered:{job}", job, Event.TRIGGERED, ("consecutive",), 3, 3, 3, 3, 5, 10, T0)
    return Delivery(f"{n.id}>memo:t", n)


@dataclass
class MemoNotifier(BaseNotifier[tuple[str, ...]]):
    """One message per `per_message` deliveries, written to `inbox`; `refuse` maps a job to what sending a message
    that holds it raises; `follow_up` adds a message carrying no delivery after the others."""

    per_message: int = 1
    refuse: dict[str, Exception] = field(default_factory=dict)
    follow_up: Exception | None = None
    inbox: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    kind: str = "memo"

    def __post_init__(self) -> None:
        super().__init__()

    def batches(
        self, target: str, deliveries: Sequence[Delivery], sent: Mapping[str, DeliveryResult]
    ) -> Iterator[Batch[tuple[str, ...]]]:
        for i in range(0, len(deliveries), self.per_message):
            chunk = tuple(deliveries[i : i + self.per_message])
            yield Batch(tuple(d.notification.job for d in chunk), chunk)
        if self.follow_up is not None:
            yield Batch(("follow-up",), follow_up="say something more")

    def deliver(self, target: str, message: tuple[str, ...]) -> str | None:
        if message == ("follow-up",) and self.follow_up is not None:
            raise self.follow_up
        for job in message:
            if job in self.refuse:
                raise self.refuse[job]
        self.inbox.append((target, message))
        return f"{target}/{len(self.inbox)}"


def outcome(results: list[DeliveryResult]) -> list[tuple[bool, str | None, bool]]:
    return [(r.delivered, r.error, r.retryable) for r in results]


def test_a_sent_message_gives_each_of_its_deliveries_the_message_ref() -> None:
    # Given a notifier that puts two deliveries in one message
    notifier = MemoNotifier(per_message=2)
    # When three deliveries are sent
    results = notifier.send("t", [delivery("a"), delivery("b"), delivery("c")])
    # Then each delivery is delivered with the ref of the message that held it
    assert [(r.delivered, r.ref) for r in results] == [(True, "t/1"), (True, "t/1"), (True, "t/2")]


def test_a_retryable_delivery_error_stays_retryable_and_a_permanent_one_does_not() -> None:
    # Given a notifier that refuses a (a timeout: retryable) and b (an unknown address: permanent)
    notifier = MemoNotifier(
        refuse={"a": DeliveryError("timed out", retryable=True), "b": DeliveryError("no such address", retryable=False)}
    )
    # When a, b and c are sent
    results = notifier.send("t", [delivery("a"), delivery("b"), delivery("c")])
    # Then a stays pending, b is dead-lettered at once, both naming the notifier and target; c is delivered
    assert outcome(results) == [
        (False, "memo t: timed out", True),
        (False, "memo t: no such address", False),
        (True, None, False),
    ]


def test_an_unexpected_exception_fails_only_the_deliveries_of_its_own_message_and_is_retried() -> None:
    # Given a notifier whose message for b raises something that is not a DeliveryError
    notifier = MemoNotifier(per_message=2, refuse={"b": OverflowError("date value out of range")})
    # When four deliveries go out in two messages
    results = notifier.send("t", [delivery("a"), delivery("b"), delivery("c"), delivery("d")])
    # Then the message holding a and b fails, retryable, naming the exception; the other message is delivered
    error = "memo notifier failed: OverflowError: date value out of range"
    assert outcome(results) == [(False, error, True), (False, error, True), (True, None, False), (True, None, False)]
    assert notifier.inbox == [("t", ("c", "d"))]


def test_once_a_service_is_unreachable_the_rest_of_the_pass_fails_fast_without_trying() -> None:
    # Given a notifier whose service is unreachable when a is sent
    notifier = MemoNotifier(refuse={"a": Unreachable("service unreachable (ConnectionRefusedError)")})
    # When a and b are sent to one target, then c to another, in the same pass
    first = notifier.send("t", [delivery("a"), delivery("b")])
    second = notifier.send("u", [delivery("c")])
    # Then every delivery stays pending with the first failure, each naming its own target, and nothing was sent
    assert outcome(first) == [
        (False, "memo t: service unreachable (ConnectionRefusedError)", True),
        (False, "memo t: service unreachable (ConnectionRefusedError)", True),
    ]
    assert outcome(second) == [(False, "memo u: service unreachable (ConnectionRefusedError)", True)]
    assert notifier.inbox == []


def test_a_permanent_failure_does_not_stop_the_next_messages() -> None:
    # Given a notifier that refuses a for good (the service answered: it is not down)
    notifier = MemoNotifier(refuse={"a": DeliveryError("channel_not_found", retryable=False)})
    # When a is sent, then b
    notifier.send("t", [delivery("a")])
    [later] = notifier.send("t", [delivery("b")])
    # Then b is still tried, and delivered
    assert later.delivered
    assert notifier.inbox == [("t", ("b",))]


def test_a_failed_follow_up_fails_no_delivery_but_an_unreachable_one_fails_the_rest_fast() -> None:
    # Given a notifier whose follow-up message finds the service unreachable
    notifier = MemoNotifier(follow_up=Unreachable("service unavailable (HTTP 503)"))
    # When a is sent (its follow-up after it), then b
    [first] = notifier.send("t", [delivery("a")])
    [second] = notifier.send("t", [delivery("b")])
    # Then a was delivered, and b failed fast with the follow-up's failure
    assert first.delivered
    assert outcome([second]) == [(False, "memo t: service unavailable (HTTP 503)", True)]


class BrokenBatches(MemoNotifier):
    """Its batching hook raises after the first message (a rendering bug in a digest)."""

    def batches(
        self, target: str, deliveries: Sequence[Delivery], sent: Mapping[str, DeliveryResult]
    ) -> Iterator[Batch[tuple[str, ...]]]:
        yield Batch((deliveries[0].notification.job,), (deliveries[0],))
        raise ValueError("cannot render")


def test_a_batching_hook_that_raises_fails_the_deliveries_not_yet_sent_and_keeps_those_sent() -> None:
    # Given a notifier whose batching breaks after its first message
    notifier = BrokenBatches()
    # When a and b are sent
    results = notifier.send("t", [delivery("a"), delivery("b")])
    # Then a is delivered, and b waits for the next pass with the reason
    assert outcome(results) == [(True, None, False), (False, "memo notifier failed: ValueError: cannot render", True)]


def test_a_notifier_that_cannot_be_set_up_fails_its_deliveries_retryable_and_is_built_once_it_can() -> None:
    # Given a notifier whose secret cannot be fetched on the first pass
    attempts: list[str] = []

    def build() -> Notifier:
        attempts.append("build")
        if len(attempts) == 1:
            raise ConfigError("secret slack-token cannot be read\nmore detail")
        return MemoNotifier()

    deferred = Deferred("memo", build)
    # When it is asked to send three times
    first = deferred.send("t", [delivery("a")])
    second = deferred.send("t", [delivery("b")])
    third = deferred.send("t", [delivery("c")])
    # Then the first send fails retryable with the first line of the reason, and the notifier is built once it can
    assert outcome(first) == [(False, "memo: cannot set up: secret slack-token cannot be read", True)]
    assert [r.delivered for r in second + third] == [True, True]
    assert attempts == ["build", "build"]
