"""The source port."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from failstreak.core.model import Execution


@dataclass(slots=True)
class Pulled:
    """What one source returned in one pass: executions and the cursor to store if the pass succeeds."""

    executions: list[Execution] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)


class Source(ABC):
    """A platform the monitor polls for runs.

    Contract: `pull(cursor)` returns the runs that finished since `cursor` (with an overlap, so late-finishing
    runs are not missed: the engine's dedupe makes overlap harmless) and the new cursor. It raises
    `SourceError` when the platform is down, refuses the credentials or answers malformed pages; the pass
    then keeps the old cursor and goes on with the other sources.
    """

    name: str

    @abstractmethod
    def pull(self, cursor: dict[str, Any], now_ms: int) -> Pulled: ...
