"""In-memory doubles for the ports, for pure-logic tests. They keep the ports' contracts (conditional writes,
idempotent archive) so that tests of the pass exercise the same paths as the real adapters."""

from __future__ import annotations

import fnmatch
import hashlib
import threading
from dataclasses import dataclass, field

from failstreak.core.model import Mute, Rejected
from failstreak.core.outbox import Delivery, DeliveryError, DeliveryResult
from failstreak.errors import ConflictError, StoreUnavailable
from failstreak.front.mutes import Acknowledgement, MuteLedger, Unmuted
from failstreak.inbox.base import Inbox, InboxItem
from failstreak.notifiers.base import Notifier
from failstreak.state.base import Loaded, StateStore


class InMemoryStateStore(StateStore):
    def __init__(self, data: bytes | None = None) -> None:
        self.location = "memory://state"
        self.data = data
        self.saves = 0
        self._lock = threading.Lock()

    def _token(self) -> str | None:
        return None if self.data is None else hashlib.sha256(self.data).hexdigest()

    def load(self) -> Loaded:
        with self._lock:
            return Loaded(self.data, self._token())

    def save(self, data: bytes, token: str | None) -> str:
        with self._lock:
            if token != self._token():
                raise ConflictError("memory://state changed")
            self.data = data
            self.saves += 1
            return hashlib.sha256(data).hexdigest()


@dataclass
class InMemoryInbox(Inbox):
    files: dict[str, bytes] = field(default_factory=dict)
    archived: dict[str, bytes] = field(default_factory=dict)
    quarantined: dict[str, str] = field(default_factory=dict)
    rejected_lines: dict[str, list[Rejected]] = field(default_factory=dict)
    unlisted: dict[str, int] = field(default_factory=dict)
    folders: dict[str, str] = field(default_factory=dict)
    kept: dict[str, bytes] = field(default_factory=dict)
    location: str = "memory://inbox"

    def add(self, key: str, data: bytes | str) -> None:
        self.files[key] = data.encode() if isinstance(data, str) else data

    def pending(self) -> list[InboxItem]:
        return [InboxItem(key=k, size=len(v), modified_ms=i) for i, (k, v) in enumerate(sorted(self.files.items()))]

    def read(self, item: InboxItem) -> bytes:
        return self.files[item.key]

    def archive(self, item: InboxItem, folder: str) -> None:
        if item.key in self.files:
            self.archived[item.key] = self.files.pop(item.key)
            self.folders[item.key] = folder

    def quarantine(self, item: InboxItem, reason: str, folder: str) -> None:
        if item.key in self.files:
            self.files.pop(item.key)
            self.quarantined[item.key] = reason
            self.folders[item.key] = folder

    def keep(self, folder: str, name: str, body: bytes) -> None:
        self.kept[f"{folder}/{name}"] = body

    def reject_lines(self, item: InboxItem, rejected: list[Rejected], folder: str, unlisted: int = 0) -> None:
        if rejected or unlisted:
            self.rejected_lines[item.key] = list(rejected)
            self.unlisted[item.key] = unlisted


class RecordingNotifier(Notifier):
    """Records what it is asked to send. `fail_with` makes every delivery fail (retryable or not)."""

    def __init__(self, kind: str = "console") -> None:
        self.kind = kind
        self.sent: list[tuple[str, Delivery]] = []
        self.fail_with: str | None = None
        self.retryable = True

    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]:
        if self.fail_with is not None:
            return [
                DeliveryResult(d.outbox_id, failure=DeliveryError(self.fail_with, retryable=self.retryable))
                for d in deliveries
            ]
        self.sent.extend((target, d) for d in deliveries)
        return [DeliveryResult(d.outbox_id, ref=f"ref-{d.notification.job}") for d in deliveries]

    def events(self) -> list[tuple[str, str]]:
        return [(d.notification.job, d.notification.event.value) for _, d in self.sent]


class InMemoryMuteLedger(MuteLedger):
    """The mutes document in memory, with the port's semantics (front/mutes.py); `fail` makes writes raise
    StoreUnavailable, as an unreachable store does."""

    def __init__(self) -> None:
        self.location = "memory://mutes"
        self.written: list[Mute] = []
        self.acks: list[Acknowledgement] = []
        self.writes = 0
        self.fail = False

    def _write(self) -> None:
        if self.fail:
            raise StoreUnavailable(f"{self.location}: unreachable")
        self.writes += 1

    def mute(self, mute: Mute) -> list[Mute]:
        self._write()
        replaced = [m for m in self.written if m.match == mute.match]
        self.written = [m for m in self.written if m.match != mute.match] + [mute]
        return replaced

    def unmute(self, what: str, job: str | None = None) -> Unmuted:
        self._write()
        removed = [m for m in self.written if what in (m.id, m.match)]
        self.written = [m for m in self.written if what not in (m.id, m.match)]
        acked = job is not None and any(a.job == job for a in self.acks)
        self.acks = [a for a in self.acks if a.job != job]
        still = [m for m in self.written if job is not None and fnmatch.fnmatchcase(job, m.match)]
        return Unmuted(removed, acked, still)

    def acknowledge(self, ack: Acknowledgement) -> None:
        self._write()
        self.acks = [a for a in self.acks if a.job != ack.job] + [ack]

    def mutes(self) -> list[Mute]:
        return list(self.written)

    def acknowledgements(self) -> list[Acknowledgement]:
        return list(self.acks)
