"""What the Slack routes write: mutes and acknowledgements, in the mutes document beside the state (docs/state.md).

`MuteLedger` is the port: each method is one conditional change of the document (re-done from a fresh read when
another writer got there first), so a click racing a pass or another click loses nothing. A click never touches
the state itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from failstreak.core.model import Mute


@dataclass(frozen=True, slots=True)
class Unmuted:
    """What an unmute took away, and the mutes that still cover the job (other patterns)."""

    removed: list[Mute] = field(default_factory=list)
    acknowledged: bool = False
    still: list[Mute] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """`by` took `job` in hand at `at`; its reminders wait until `until` (epoch ms)."""

    job: str
    by: str
    at: int
    until: int


class MuteLedger(ABC):
    """The mutes document as the front changes it. Raises StoreUnavailable when it cannot be read or written, and
    FailstreakError when it kept changing under the writer (nothing written then)."""

    location: str

    @abstractmethod
    def mute(self, mute: Mute) -> list[Mute]:
        """Add `mute`, replacing the mutes of exactly its pattern (the last choice wins); the ones replaced."""

    @abstractmethod
    def unmute(self, what: str, job: str | None = None) -> Unmuted:
        """Remove the mutes whose pattern or id is `what`, and `job`'s acknowledgement when a job is given."""

    @abstractmethod
    def acknowledge(self, ack: Acknowledgement) -> None:
        """Record `ack`, replacing the job's earlier one."""

    @abstractmethod
    def mutes(self) -> list[Mute]:
        """The mutes written (by people: the CLI and the front), as stored now."""

    @abstractmethod
    def acknowledgements(self) -> list[Acknowledgement]:
        """The acknowledgements in the document now."""
