"""Crashes inside the production S3 code: the real 8-thread `S3Inbox.read_many` / `finish_many`, killed after any
S3 call, and a real Slack notifier killed between its deliveries to two channels.

The process is "killed" by botocore event handlers on the S3 client the adapters share: after the Nth S3 call
completed (its side effect happened), that call raises, and so does every S3 call after it, before it is sent,
as if the process had died. Calls already in flight on other worker threads may still land, as they could in a
real crash. The next pass, run after the dead pass's outbox lease, must reach the undisturbed result: the same
counters, archive, quarantine and outbox, every notification sent, and one sent twice only when the dead pass had
sent it and not yet saved so.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from failstreak import s3client as s3store
from failstreak.app.config import parse_config
from failstreak.app.routing import Router
from failstreak.app.wiring import pass_settings
from failstreak.core.outbox import LEASE_MS, Delivery, DeliveryResult
from failstreak.inbox.s3 import INBOX_WORKERS, S3Inbox
from failstreak.notifiers.base import Notifier
from failstreak.notifiers.slack import SlackNotifier
from failstreak.pipeline.run import Ports, run_pass
from failstreak.state.s3 import S3StateStore
from tests.integration.s3.backends import S3
from tests.integration.s3.passkit import Clock, Recorder, config, ports
from tests.integration.s3.test_s3_crash import Crash, outcome, upload
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration

# The S3 calls of an undisturbed pass over OBJECTS (asserted below): the state read, the mutes document's read,
# the listing, 5 reads, the state write, c's rejected lines, 4 archive copies and deletes, d's reason, copy and
# delete, the last state write.
S3_CALLS = 22


@dataclass
class Killer:
    """Kills the process after the `after`-th S3 call; counts the calls either way."""

    after: int | None = None
    calls: list[str] = field(default_factory=list)
    dead: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def before(self, model: Any, **_: Any) -> None:
        if self.dead:
            raise Crash(f"dead before {model.name}")

    def after_call(self, model: Any, **_: Any) -> None:
        with self.lock:
            self.calls.append(model.name)
            if self.after is not None and len(self.calls) == self.after:
                self.dead = True
                raise Crash(f"killed after {model.name} (S3 call {self.after})")


@contextmanager
def killing(killer: Killer) -> Iterator[Killer]:
    events = s3store.client().meta.events
    events.register("before-call.s3", killer.before, unique_id="crash-before")
    events.register("after-call.s3", killer.after_call, unique_id="crash-after")
    try:
        yield killer
    finally:
        events.unregister("before-call.s3", unique_id="crash-before")
        events.unregister("after-call.s3", unique_id="crash-after")


def test_the_pass_reads_and_finishes_the_inbox_on_eight_threads(moto_s3: S3) -> None:
    # Given the crash matrix's workload, when a pass runs undisturbed on the production adapters
    upload(moto_s3)
    cfg = config(moto_s3)
    p = ports(cfg, Recorder(), Clock())
    threads: set[str] = set()

    def note_thread(**_: Any) -> None:
        threads.add(threading.current_thread().name)

    events = s3store.client().meta.events
    events.register("after-call.s3.GetObject", note_thread, unique_id="threads")
    events.register("after-call.s3.CopyObject", note_thread, unique_id="threads-copy")
    try:
        with killing(Killer()) as counted:
            run_pass(pass_settings(cfg), p)
    finally:
        events.unregister("after-call.s3.GetObject", unique_id="threads")
        events.unregister("after-call.s3.CopyObject", unique_id="threads-copy")

    # Then the inbox is S3Inbox with its worker pool, its reads and moves ran on the pool's threads, and the pass
    # made the number of S3 calls the matrix below kills after
    assert isinstance(p.inbox, S3Inbox)
    assert p.inbox.workers == INBOX_WORKERS == 8
    assert any(t.startswith("failstreak-inbox") for t in threads)
    assert len(counted.calls) == S3_CALLS, counted.calls


@pytest.fixture
def undisturbed(moto_s3: S3) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    alone = S3(moto_s3.backend, moto_s3.client, moto_s3.new_bucket())
    upload(alone)
    cfg = config(alone)
    recorder = Recorder()
    run_pass(pass_settings(cfg), ports(cfg, recorder, Clock()))
    return outcome(alone), recorder.sent


@pytest.mark.parametrize("after", range(1, S3_CALLS + 1))
def test_a_pass_killed_after_any_s3_call_of_the_threaded_inbox_converges(
    moto_s3: S3, undisturbed: Any, after: int
) -> None:
    result, sent = undisturbed
    upload(moto_s3)
    cfg = config(moto_s3)
    clock = Clock()
    # Given a pass killed right after its Nth S3 call, wherever in the 8-thread reads and moves that falls
    killed = Recorder()
    with killing(Killer(after=after)), pytest.raises(Crash):
        run_pass(pass_settings(cfg), ports(cfg, killed, clock))

    # When the next pass runs, after the dead pass's outbox lease expired
    clock.now += LEASE_MS + 1
    next_pass = Recorder()
    run_pass(pass_settings(cfg), ports(cfg, next_pass, clock))

    # Then counters, archive, quarantine and outbox are as if nothing had happened: no run lost or counted twice
    assert outcome(moto_s3) == result
    # And every notification was sent exactly once: an S3 call killed before the deliveries stops the pass before
    # any is sent, and the last one (the state saved after delivering) has recorded them when it is killed
    assert Counter(killed.sent + next_pass.sent) == Counter(sent)


def test_a_pass_killed_mid_quarantine_has_the_reason_written_and_the_next_pass_moves_the_file(
    moto_s3: S3, undisturbed: Any
) -> None:
    result, _ = undisturbed
    upload(moto_s3)
    cfg = config(moto_s3)
    clock = Clock()
    # Given a pass killed right after it wrote d.jsonl's reason, before the copy that moves d.jsonl
    killer = Killer()

    def remember_key(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["failstreak_key"] = params.get("Key", "")

    def die_after_reason(context: dict[str, Any], **_: Any) -> None:
        if context.get("failstreak_key", "").endswith(".reason.txt"):
            killer.dead = True
            raise Crash("killed after writing the quarantine reason")

    events = s3store.client().meta.events
    events.register("provide-client-params.s3.PutObject", remember_key, unique_id="key")
    events.register("after-call.s3.PutObject", die_after_reason, unique_id="die")
    try:
        with killing(killer), pytest.raises(Crash):
            run_pass(pass_settings(cfg), ports(cfg, Recorder(), clock))
    finally:
        events.unregister("provide-client-params.s3.PutObject", unique_id="key")
        events.unregister("after-call.s3.PutObject", unique_id="die")
    # (under the dead pass's own folder, quarantine/YYYY/MM/DD/<pass id>/)
    quarantined = moto_s3.keys("fs/quarantine/")
    assert [k for k in quarantined if k.endswith("/d.jsonl.reason.txt")] != []
    assert [k for k in quarantined if k.endswith("/d.jsonl")] == []
    assert "fs/inbox/d.jsonl" in moto_s3.keys("fs/inbox/")

    # When the next pass runs
    clock.now += LEASE_MS + 1
    run_pass(pass_settings(cfg), ports(cfg, Recorder(), clock))

    # Then d.jsonl is quarantined beside its reason, once, and everything else is as undisturbed
    assert outcome(moto_s3) == result


# -- a real notifier killed between two destinations --------------------------------------------------------------


class KilledAfterFirstDestination(Notifier):
    """The real Slack notifier; the process dies right after its first destination's send returned."""

    kind = "slack"

    def __init__(self, inner: Notifier) -> None:
        self.inner = inner
        self.sends = 0

    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]:
        results = self.inner.send(target, deliveries)
        self.sends += 1
        if self.sends == 1:
            raise Crash(f"killed after delivering to {target}")
        return results


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


def test_a_pass_killed_between_two_slack_channels_delivers_both_and_repeats_only_the_first(
    moto_s3: S3, slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alerts for two channels (the default and the broadcast channel), sent by the real Slack notifier
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-test-token")
    upload(moto_s3)
    cfg = parse_config(
        f"state: {moto_s3.uri('fs/state.json')}\ninbox: {moto_s3.uri('fs/inbox/')}\nhistory: 1000\n"
        f"notify:\n  slack:\n    token: {{env: SLACK_TOKEN}}\n    base_url: {slack.base_url}\n"
        "    default_channel: '#ops'\n    broadcast_channel: '#all'\n",
        source="test-config",
    )
    clock = Clock()

    def slack_ports(notifier: Notifier) -> Ports:
        return Ports(
            store=S3StateStore.from_uri(cfg.state),
            inbox=S3Inbox.from_uri(cfg.inbox or ""),
            notifiers={"slack": notifier},
            router=Router(cfg),
            clock=clock,
        )

    assert cfg.notify.slack is not None
    real = SlackNotifier.from_config(cfg.notify.slack, lambda ref: "xoxb-test-token")

    # When the pass dies after delivering to the first channel, and the next pass runs after its lease
    with pytest.raises(Crash):
        run_pass(pass_settings(cfg), slack_ports(KilledAfterFirstDestination(real)))
    first = [p["channel"] for p in slack.posted()]
    clock.now += LEASE_MS + 1
    run_pass(
        pass_settings(cfg), slack_ports(SlackNotifier.from_config(cfg.notify.slack, lambda ref: "xoxb-test-token"))
    )

    # Then both channels got the digest; the first twice (the dead pass sent it and could not record it), the
    # second once; nothing is pending, and the counts are those of one pass
    posted = Counter(p["channel"] for p in slack.posted())
    assert len(first) == 1
    assert posted == Counter({first[0]: 2, ({"#ops", "#all"} - set(first)).pop(): 1})
    result = outcome(moto_s3)
    assert (result["pending_notifications"], result["inbox"]) == (0, [])
    assert result["counters"]["etl"]["total_runs"] == 3
