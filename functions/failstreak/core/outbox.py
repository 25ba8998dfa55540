"""The outbox: notifications wait in the state until delivered. Pure functions over `State`.

Lifecycle of an entry: enqueued (with the pass's lease) and saved → delivered by the pass holding the lease →
removed once delivered, kept with `attempts + 1` when a retryable delivery failed, moved to `dead_letters`
when the failure is permanent or attempts are exhausted. A lease stops two concurrent passes from sending the
same entry; an expired lease (its pass died) lets the next pass take it over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from failstreak.core.model import DeadLetter, Event, Notification, OutboxEntry, State

LEASE_MS = 15 * 60 * 1000
MAX_DEAD_LETTERS = 200


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


class DeliveryError(Exception):
    """A notification could not be delivered: the one failure a notifier raises and a result carries.

    `retryable` says whether a later pass can succeed (a timeout, HTTP 5xx, a rate limit: the entry stays pending)
    or whether retrying cannot help (an unknown channel, bad credentials, a rejected address: the entry is
    dead-lettered at once). The message is what the outbox stores and the pass summary shows.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one delivery: sent (`ref` identifies the message, to thread later events on it), or
    failed with `failure`."""

    outbox_id: str
    ref: str | None = None
    failure: DeliveryError | None = None

    @property
    def delivered(self) -> bool:
        return self.failure is None

    @property
    def error(self) -> str | None:
        return None if self.failure is None else str(self.failure)

    @property
    def retryable(self) -> bool:
        return self.failure is not None and self.failure.retryable


def enqueue(
    state: State, notification: Notification, destinations: Iterable[str], present: set[str] | None = None
) -> int:
    """Add one entry per destination (skipping ids already present); return how many were added.

    `present`, when given, is the caller's set of the outbox's entry ids, kept up to date here: a caller that
    enqueues many notifications builds it once instead of once per notification.
    """
    if present is None:
        present = {e.id for e in state.outbox}
    added = 0
    for dest in destinations:
        entry_id = f"{notification.id}>{dest}"
        if entry_id in present:
            continue
        state.outbox.append(OutboxEntry(id=entry_id, destination=dest, notification=notification))
        present.add(entry_id)
        added += 1
    return added


def lease(state: State, owner: str, now: int, lease_ms: int = LEASE_MS) -> list[str]:
    """Take the lease on every entry that is free or whose lease expired; return the ids now held by `owner`."""
    held = []
    for e in state.outbox:
        if e.lease_owner is None or e.lease_owner == owner or e.lease_until <= now:
            e.lease_owner = owner
            e.lease_until = now + lease_ms
            held.append(e.id)
    return held


@dataclass(slots=True)
class Applied:
    delivered: list[OutboxEntry] = field(default_factory=list)
    retrying: list[OutboxEntry] = field(default_factory=list)
    dead: list[OutboxEntry] = field(default_factory=list)
    threaded: set[str] = field(default_factory=set)  # jobs given a thread reference: the only jobs changed


def apply_results(state: State, results: Iterable[DeliveryResult], now: int, max_attempts: int) -> Applied:
    """Record delivery results in the state. Idempotent: an entry already gone is skipped.

    Changes the outbox, the dead letters and the thread references of the jobs it lists in `threaded`, and
    nothing else: the second save of a pass re-encodes only those jobs (`statecodec.encode_document`).
    """
    out = Applied()
    by_id = {e.id: e for e in state.outbox}
    gone: set[str] = set()
    for r in results:
        entry = by_id.get(r.outbox_id)
        if entry is None or entry.id in gone:
            continue
        n = entry.notification
        if r.failure is None:
            gone.add(entry.id)
            out.delivered.append(entry)
            job = state.jobs.get(n.job)
            if r.ref and n.event is Event.TRIGGERED and job is not None:
                job.threads[entry.destination] = r.ref
                out.threaded.add(job.name)
            continue
        entry.attempts += 1
        entry.last_error = r.error
        entry.lease_owner = None
        entry.lease_until = 0
        if not r.failure.retryable or entry.attempts >= max_attempts:
            gone.add(entry.id)
            out.dead.append(entry)
            state.dead_letters.append(
                DeadLetter(entry.id, entry.destination, n.job, n.event.value, r.error, entry.attempts, now)
            )
        else:
            out.retrying.append(entry)
    if gone:
        state.outbox = [e for e in state.outbox if e.id not in gone]
    del state.dead_letters[:-MAX_DEAD_LETTERS]
    return out
