"""Crash safety over S3: a pass killed after any I/O step leaves everything so the next pass converges.

The pass is "killed" by an exception raised right after the Nth I/O call completed (so that call's side
effect happened). The next pass runs past the dead pass's outbox lease and must reach the undisturbed result:
the same counters, the same archive and quarantine, every notification sent, and a notification sent twice
only when the pass died between sending it and saving that it was sent (the at-least-once window).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from failstreak.app.config import Config
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Rejected
from failstreak.core.outbox import LEASE_MS, Delivery, DeliveryResult
from failstreak.inbox.base import Inbox, InboxItem
from failstreak.notifiers.base import Notifier
from failstreak.pipeline.run import Ports, run_pass
from failstreak.state.base import Loaded, StateStore
from tests.integration.s3.backends import S3
from tests.integration.s3.passkit import (
    Clock,
    Recorder,
    archived,
    config,
    counters,
    in_pass_folders,
    pending_outbox,
    ports,
)

pytestmark = pytest.mark.integration


def _line(job: str, run: int, status: str) -> bytes:
    return b'{"job": "%s", "run_id": %d, "status": "%s", "finished_at": %d}\n' % (
        job.encode(),
        run,
        status.encode(),
        1790000000000 + run * 1000,
    )


# Uploaded in this order (and named in it), so the pass meets them in it.
OBJECTS = {
    "fs/inbox/a.jsonl": _line("etl", 1, "failed") + _line("api", 2, "success"),
    "fs/inbox/b.jsonl": _line("etl", 3, "failed") + _line("api", 4, "failed"),
    "fs/inbox/c.jsonl": _line("etl", 5, "failed") + b'{"job": "api", "status": "failed"}\n',
    "fs/inbox/d.jsonl": b"\x00\x01\x02 not records",
    "fs/inbox/e.jsonl": _line("api", 6, "failed") + _line("api", 7, "failed"),
}

# What an undisturbed pass does, in order: every I/O step a crash can follow.
STEPS = [
    "store.load",
    "inbox.pending",
    *["inbox.read"] * 5,
    "store.save",  # the counted state, with the notifications enqueued and leased
    *["inbox.reject_lines", "inbox.archive"] * 3,  # a, b, c
    "inbox.quarantine",  # d
    "inbox.reject_lines",
    "inbox.archive",  # e
    "notifier.send",
    "store.save",  # the notifications marked delivered
]
SENT = STEPS.index("notifier.send")


class Crash(BaseException):
    """The process died here: like a real death, no `except Exception` of the code under test can stop it."""


@dataclass
class Tripwire:
    """Counts I/O steps; raises Crash right after step number `after` (1-based) completed."""

    after: int | None = None
    steps: list[str] = field(default_factory=list)

    def step(self, label: str) -> None:
        self.steps.append(label)
        if self.after is not None and len(self.steps) == self.after:
            raise Crash(f"killed after {label} (step {self.after})")


class TrippedStore(StateStore):
    def __init__(self, inner: StateStore, wire: Tripwire) -> None:
        self.inner, self.wire, self.location = inner, wire, inner.location

    def load(self) -> Loaded:
        loaded = self.inner.load()
        self.wire.step("store.load")
        return loaded

    def save(self, data: bytes, token: str | None) -> str:
        new = self.inner.save(data, token)
        self.wire.step("store.save")
        return new


class TrippedInbox(Inbox):
    def __init__(self, inner: Inbox, wire: Tripwire) -> None:
        self.inner, self.wire, self.location = inner, wire, inner.location

    def pending(self) -> list[InboxItem]:
        items = self.inner.pending()
        self.wire.step("inbox.pending")
        return items

    def read(self, item: InboxItem) -> bytes:
        data = self.inner.read(item)
        self.wire.step("inbox.read")
        return data

    def archive(self, item: InboxItem, folder: str) -> None:
        self.inner.archive(item, folder)
        self.wire.step("inbox.archive")

    def quarantine(self, item: InboxItem, reason: str, folder: str) -> None:
        self.inner.quarantine(item, reason, folder)
        self.wire.step("inbox.quarantine")

    def reject_lines(self, item: InboxItem, rejected: list[Rejected], folder: str, unlisted: int = 0) -> None:
        self.inner.reject_lines(item, rejected, folder, unlisted)
        self.wire.step("inbox.reject_lines")


class TrippedNotifier(Notifier):
    kind = "console"

    def __init__(self, inner: Notifier, wire: Tripwire) -> None:
        self.inner, self.wire = inner, wire

    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]:
        results = self.inner.send(target, deliveries)
        self.wire.step("notifier.send")
        return results


def tripped(cfg: Config, recorder: Recorder, clock: Clock, wire: Tripwire) -> Ports:
    p = ports(cfg, recorder, clock)
    assert p.inbox is not None
    p.store = TrippedStore(p.store, wire)
    p.inbox = TrippedInbox(p.inbox, wire)
    p.notifiers = {"console": TrippedNotifier(recorder, wire)}
    return p


def upload(s3: S3) -> None:
    for key, body in OBJECTS.items():
        s3.put(key, body)


def outcome(s3: S3) -> dict[str, Any]:
    return {
        "counters": counters(s3),
        "archived": archived(s3),
        "quarantine": in_pass_folders(s3.keys("fs/quarantine/"), "fs/quarantine/"),
        "inbox": s3.keys("fs/inbox/"),
        "pending_notifications": pending_outbox(s3),
    }


@pytest.fixture
def undisturbed(moto_s3: S3) -> tuple[dict[str, Any], list[tuple[str, str]], list[str]]:
    """The result, the notifications and the I/O steps of a pass nobody killed (in a bucket of its own)."""
    alone = S3(moto_s3.backend, moto_s3.client, moto_s3.new_bucket())
    upload(alone)
    cfg = config(alone)
    recorder, wire = Recorder(), Tripwire()
    run_pass(pass_settings(cfg), tripped(cfg, recorder, Clock(), wire))
    return outcome(alone), recorder.sent, wire.steps


def test_an_undisturbed_pass_makes_exactly_the_io_steps_the_crash_tests_kill(undisturbed: Any) -> None:
    # Given the workload, when a pass runs undisturbed, then these are its I/O steps and its result
    result, sent, steps = undisturbed
    assert steps == STEPS
    assert Counter(sent) == Counter({("etl", "triggered"): 1, ("api", "triggered"): 1})
    assert result["archived"] == ["a.jsonl", "b.jsonl", "c.jsonl", "e.jsonl"]
    assert result["quarantine"] == [
        "fs/quarantine/c.jsonl.rejected.jsonl",
        "fs/quarantine/d.jsonl",
        "fs/quarantine/d.jsonl.reason.txt",
    ]
    assert (result["inbox"], result["pending_notifications"]) == ([], 0)


@pytest.mark.parametrize("after", range(1, len(STEPS) + 1), ids=[f"{i + 1}-{s}" for i, s in enumerate(STEPS)])
def test_the_pass_after_a_crash_converges_to_the_undisturbed_result(moto_s3: S3, undisturbed: Any, after: int) -> None:
    result, sent, _ = undisturbed
    upload(moto_s3)
    cfg = config(moto_s3)
    clock = Clock()
    # Given a pass killed right after its Nth I/O step
    killed = Recorder()
    with pytest.raises(Crash):
        run_pass(pass_settings(cfg), tripped(cfg, killed, clock, Tripwire(after=after)))
    # When the next pass runs, after the dead pass's outbox lease expired
    clock.now += LEASE_MS + 1
    after_crash = Recorder()
    run_pass(pass_settings(cfg), ports(cfg, after_crash, clock))
    # Then counters, archive, quarantine and outbox are as if nothing had happened
    assert outcome(moto_s3) == result
    # And every notification was sent; twice only if the killed pass had sent it and not yet saved so
    delivered = Counter(killed.sent + after_crash.sent)
    in_window = after - 1 >= SENT and STEPS[after - 1] != "store.save"
    expected = Counter(sent) + (Counter(killed.sent) if in_window else Counter())
    assert delivered == expected
    assert not killed.sent or after - 1 >= SENT


def test_a_pass_within_a_dead_pass_lease_leaves_its_notifications_pending(moto_s3: S3) -> None:
    # Given a pass killed after saving the counted state, before sending anything
    upload(moto_s3)
    cfg = config(moto_s3)
    clock = Clock()
    with pytest.raises(Crash):
        run_pass(pass_settings(cfg), tripped(cfg, Recorder(), clock, Tripwire(after=STEPS.index("store.save") + 1)))
    # When the next pass runs while the dead pass's lease still holds
    clock.now += LEASE_MS // 2
    early = Recorder()
    summary = run_pass(pass_settings(cfg), ports(cfg, early, clock))
    # Then it sends nothing, says two notifications are pending, and a pass after the lease sends them once
    assert (early.sent, summary.pending) == ([], 2)
    clock.now += LEASE_MS
    late = Recorder()
    run_pass(pass_settings(cfg), ports(cfg, late, clock))
    assert sorted(late.sent) == [("api", "triggered"), ("etl", "triggered")]
    assert pending_outbox(moto_s3) == 0


def test_a_crash_between_the_archive_copy_and_delete_leaves_one_archived_copy(moto_s3: S3, undisturbed: Any) -> None:
    result, _, _ = undisturbed
    upload(moto_s3)
    cfg = config(moto_s3)
    clock = Clock()

    def die(**_: Any) -> None:
        raise Crash("killed between CopyObject and DeleteObject")

    # Given a pass killed inside S3Inbox.archive, after S3 copied the first object and before the delete
    moto_s3.client.meta.events.register("after-call.s3.CopyObject", die, unique_id="crash-copy")
    try:
        with pytest.raises(Crash):
            run_pass(pass_settings(cfg), ports(cfg, Recorder(), clock))
    finally:
        moto_s3.client.meta.events.unregister("after-call.s3.CopyObject", unique_id="crash-copy")
    assert moto_s3.keys("fs/inbox/") == sorted(OBJECTS)
    # When the next pass runs
    clock.now += LEASE_MS + 1
    run_pass(pass_settings(cfg), ports(cfg, Recorder(), clock))
    # Then the object copied twice is archived once, like every other, and the counters are undisturbed
    assert outcome(moto_s3) == result
