"""What the stages of a pass share: its plain settings, its adapters, and one `PassContext` they read and fill."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from failstreak.core.digest import DigestSchedule
from failstreak.core.model import MuteBook, Notification, State, now_ms
from failstreak.core.mutes import ConfiguredMute
from failstreak.core.outbox import DeliveryResult
from failstreak.core.policy import PolicyFor
from failstreak.core.triage import TriageSettings
from failstreak.inbox.base import Inbox
from failstreak.notifiers.base import Notifier
from failstreak.pipeline.collect import Collected, IntakeSettings
from failstreak.pipeline.summary import Summary
from failstreak.sources.base import Source
from failstreak.state.base import Loaded, StateStore
from failstreak.state.codec import Encoded
from failstreak.state.mutes import MutesStore


class Routes(Protocol):
    def destinations(self, n: Notification) -> list[str]: ...

    def teams(self, n: Notification) -> list[str]: ...

    def job_teams(self, job: str, owner: str | None) -> list[str]:
        """The teams that own a job (its records' `owner`, else the owners file); `default` when none does."""
        ...

    def digest_destinations(self, job: str, owner: str | None) -> list[str]:
        """The destinations whose daily digest lists the job (docs/digest.md)."""
        ...

    def warnings(self) -> list[str]:
        """Routing problems met so far (an unreadable owners file, an unknown team): reported, never fatal."""
        ...

    def owners_digest(self) -> str:
        """A digest of who owns which job (the owners file's rules): the page is made again when it changes."""
        ...


@dataclass(frozen=True)
class PassSettings:
    """What a pass needs to know, as plain values (built from the validated config by `app/wiring.pass_settings`).

    `config_mutes` are the config file's mutes; `core.mutes` dates each from the first pass that saw it.
    `triage`: silence and the estate-wide category alerts (docs/triage.md).
    """

    intake: IntakeSettings
    policy_for: PolicyFor
    max_clock_skew_ms: int
    retire_after_ms: int | None
    save_attempts: int
    notify_max_attempts: int
    config_mutes: tuple[ConfiguredMute, ...]
    triage: TriageSettings = field(default_factory=TriageSettings)
    # Where the pass keeps the run-history page (docs/page.md); None: no page.
    page: str | None = None
    # A digest of the config these settings come from: when it is not the one the state was last saved with (or
    # is None), the pass evaluates every alerting job, and the page is made again (docs/state.md, "The index").
    config_digest: str | None = None
    # When the daily digest goes out (docs/digest.md); None: no digest.
    digest: DigestSchedule | None = None


@dataclass
class Ports:
    """The adapters one pass talks to."""

    store: StateStore
    inbox: Inbox | None = None
    # The mutes document (read each pass; written only to move a version-5 state's mutes into it). None: no
    # mutes document (a pass whose state holds no mutes to move).
    mutes: MutesStore | None = None
    sources: list[Source] = field(default_factory=list)
    notifiers: dict[str, Notifier] = field(default_factory=dict)
    router: Routes | None = None
    clock: Callable[[], int] = now_ms


@dataclass
class PassContext:
    """One pass: who and when, its settings and adapters, and what each stage leaves for the next (the state and
    its version token, the document as stored until the first save reuses it, what was collected, the
    deliveries' results, the summary)."""

    pass_id: str
    now: int
    settings: PassSettings
    ports: Ports
    summary: Summary
    started: float = field(default_factory=time.monotonic)
    loaded: Loaded | None = None
    state: State = field(default_factory=State)
    got: Collected = field(default_factory=Collected)
    token: str | None = None
    # The mutes document as the load stage read it: the mutes and acknowledgements this pass applies.
    book: MuteBook = field(default_factory=MuteBook)
    stored: Encoded | None = None
    encoded: Encoded | None = None
    results: list[DeliveryResult] = field(default_factory=list)

    def gave_up(self) -> str:
        """The error of a save that met a conflict at every attempt."""
        return (
            f"{self.ports.store.location}: state kept changing under this pass; gave up after "
            f"{self.settings.save_attempts} conflicting writes (is another monitor running in a loop?)"
        )

    def conflict(self) -> None:
        self.summary.conflicts += 1
