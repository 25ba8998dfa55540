"""The console notifier through the base notifier's rules: each notification printed on its own, and a stream
that cannot be written keeps the notifications pending (notifiers/base.py)."""

from __future__ import annotations

import io
from pathlib import Path

from failstreak.core.model import Event, Notification
from failstreak.core.outbox import Delivery
from failstreak.notifiers.console import ConsoleNotifier
from tests.conftest import T0


def delivery(job: str) -> Delivery:
    n = Notification(f"triggered:{job}", job, Event.TRIGGERED, ("consecutive",), 3, 3, 3, 3, 5, 10, T0)
    return Delivery(f"{n.id}>console", n)


def test_each_notification_is_printed_and_delivered_on_its_own() -> None:
    # Given the console notifier on a stream
    stream = io.StringIO()
    # When two notifications are sent
    results = ConsoleNotifier(stream).send("", [delivery("a"), delivery("b")])
    # Then both are printed, one after the other, and delivered without a ref
    assert [(r.delivered, r.ref) for r in results] == [(True, None), (True, None)]
    assert [line.split()[2] for line in stream.getvalue().splitlines()] == ["a:", "b:"]


def test_a_stream_that_refuses_writes_keeps_each_notification_pending(tmp_path: Path) -> None:
    # Given a stream opened for reading only (writing to it raises an OSError)
    (tmp_path / "out.txt").write_text("")
    with (tmp_path / "out.txt").open() as stream:
        # When two notifications are sent
        results = ConsoleNotifier(stream).send("", [delivery("a"), delivery("b")])
    # Then both stay pending (retryable), saying why
    assert [(r.delivered, r.retryable, r.error) for r in results] == [(False, True, "console: not writable")] * 2


def test_a_closed_stream_fails_the_notifications_retryable_as_a_broken_notifier() -> None:
    # Given a stream that was closed (writing raises ValueError, not an OSError: outside the notifier's contract)
    stream = io.StringIO()
    stream.close()
    # When a notification is sent
    [result] = ConsoleNotifier(stream).send("", [delivery("a")])
    # Then it stays pending with the exception named, and the send did not raise
    assert (result.delivered, result.retryable) == (False, True)
    assert result.error == "console notifier failed: ValueError: I/O operation on closed file"
