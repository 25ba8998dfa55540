"""Job policies: the thresholds, window, history, outcome table and reminder cadence that apply to one job, and
the lookup that finds a job's policy (first matching override glob, else the default). Pure.

The config builds a `PolicyTable` from what the file says once, when it is validated (`app/config.policy_table`);
the engine and the rules only see `JobPolicy` values and a `PolicyFor` lookup.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from failstreak.core.model import Outcome, Status


@dataclass(frozen=True, slots=True)
class Cadence:
    """Reminder cadence while a job stays alerting: hours and/or counted runs since the last notice (None: off)."""

    every_hours: float | None = 24
    every_runs: int | None = None


class JobPolicy:
    """Everything the engine and the rules need to know about one job's settings."""

    __slots__ = ("consecutive", "cumulative", "history", "outcomes", "reminder", "window")

    def __init__(
        self,
        consecutive: int | None,
        cumulative: int | None,
        window: int,
        history: int,
        outcomes: Mapping[Status, Outcome],
        reminder: Cadence,
    ) -> None:
        self.consecutive = consecutive or None
        self.cumulative = cumulative or None
        self.window = window
        self.history = max(history, window)
        # Complete: every status has its outcome, so the engine looks one up by subscript, without a default.
        self.outcomes: dict[Status, Outcome] = {status: outcomes.get(status, Outcome.IGNORED) for status in Status}
        self.reminder = reminder


PolicyFor = Callable[[str], JobPolicy]


class PolicyTable:
    """The default policy and the overrides, each selected by a glob on the job name; the first match wins."""

    def __init__(self, default: JobPolicy, overrides: Sequence[tuple[str, JobPolicy]] = ()) -> None:
        self._default = default
        self._overrides = [(re.compile(fnmatch.translate(glob)), policy) for glob, policy in overrides]
        self.failure_statuses: frozenset[Status] = frozenset(
            status
            for p in (default, *(policy for _, policy in overrides))
            for status, outcome in p.outcomes.items()
            if outcome is Outcome.FAILURE
        )
        """The statuses that some job's policy counts as failures."""

    def for_job(self, job: str) -> JobPolicy:
        """The job's policy: the first override whose glob matches its name, else the default."""
        for pattern, policy in self._overrides:
            if pattern.match(job):
                return policy
        return self._default
