"""The whole pass over in-memory ports: collect, advance, persist, archive, deliver, persist again."""

from __future__ import annotations

from failstreak.app.config import Config
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Event, Notification, State
from failstreak.errors import ConflictError
from failstreak.pipeline.run import Ports, run_pass
from failstreak.state.codec import decode, encode
from tests.conftest import T0
from tests.fakes import InMemoryInbox, InMemoryStateStore, RecordingNotifier

FAILED = b'{"job": "j", "run_id": %d, "status": "failed", "finished_at": %d}\n'


class ToConsole:
    """Routes every notification to the console notifier, with no team."""

    def destinations(self, n: Notification) -> list[str]:
        return ["console:"]

    def teams(self, n: Notification) -> list[str]:
        return []

    def digest_destinations(self, job: str, owner: str | None) -> list[str]:
        return ["console:"]

    def job_teams(self, job: str, owner: str | None) -> list[str]:
        return []

    def owners_digest(self) -> str:
        return ""

    def warnings(self) -> list[str]:
        return []


class RacedStore(InMemoryStateStore):
    """A store another pass writes to (a state of `passes` passes) just before this pass's first save."""

    def __init__(self, passes: int) -> None:
        super().__init__()
        self.other = passes
        self.raced = False

    def save(self, data: bytes, token: str | None) -> str:
        if not self.raced:
            self.raced = True
            self.data = encode(State(passes=self.other))
            raise ConflictError("memory://state changed")
        return super().save(data, token)


def _ports(store: InMemoryStateStore, notifier: RecordingNotifier) -> tuple[Ports, InMemoryInbox]:
    inbox = InMemoryInbox()
    inbox.add("a.jsonl", b"".join(FAILED % (i, T0 + i) for i in range(3)))
    ports = Ports(
        store=store, inbox=inbox, notifiers={"console": notifier}, router=ToConsole(), clock=lambda: T0 + 60_000
    )
    return ports, inbox


def test_a_pass_counts_alerts_saves_archives_and_delivers_over_in_memory_ports() -> None:
    # Given three failed runs of one job in the inbox (the default streak threshold is 3), and an empty state
    store = InMemoryStateStore()
    notifier = RecordingNotifier()
    ports, inbox = _ports(store, notifier)
    # When one pass runs
    summary = run_pass(pass_settings(Config()), ports, pass_id="p1")
    # Then the runs are counted, the job alerts once, the notification is delivered and nothing stays pending
    assert (summary.files, summary.ingested, summary.jobs, summary.alerting) == (1, 3, 1, 1)
    assert [(n.job, n.event) for n in summary.notifications] == [("j", Event.TRIGGERED)]
    assert notifier.events() == [("j", "triggered")]
    assert (summary.delivered, summary.pending, summary.conflicts) == (1, 0, 0)
    # ... the file left the inbox for the archive, and the state was saved twice (pending, then delivered)
    assert inbox.files == {}
    assert list(inbox.archived) == ["a.jsonl"]
    assert store.saves == 2
    state = decode(store.data)
    assert state.jobs["j"].consecutive_failures == 3
    assert state.outbox == []
    assert state.passes == 1


def test_a_conflicting_save_is_redone_on_the_state_another_pass_saved() -> None:
    # Given a store another pass writes to between this pass's load and its first save
    store = RacedStore(passes=5)
    notifier = RecordingNotifier()
    ports, _ = _ports(store, notifier)
    # When the pass runs
    summary = run_pass(pass_settings(Config()), ports, pass_id="p1")
    # Then the conflict is counted, and the pass's work is applied to the other pass's state, not lost nor doubled
    assert summary.conflicts == 1
    state = decode(store.data)
    assert state.passes == 6
    assert state.jobs["j"].consecutive_failures == 3
    assert notifier.events() == [("j", "triggered")]
