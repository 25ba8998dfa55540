"""A job's health (docs/triage.md): `healthy`, `flaky`, `broken` or `silent`, and the words that say why. Pure.

- `silent`: the job has not run when its cadence said it would (core/silence.py);
- `broken`: it is at or past its consecutive threshold;
- `flaky`: its outcomes flip (a success then a failure, or the reverse) at least `min_flips` times within its
  window of counted runs;
- `healthy` otherwise. The first that applies wins, in that order.

Health reads the counters only: it never changes them.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MIN_FLIPS = 4
SHORT_COMMIT = 7


class Health(StrEnum):
    HEALTHY = "healthy"
    FLAKY = "flaky"
    BROKEN = "broken"
    SILENT = "silent"


class FlakyRoute(StrEnum):
    """Where a flaky job's notifications go (`overrides[].flaky`)."""

    ALERT = "alert"
    DIGEST = "digest"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Judgement:
    """A job's health and the facts behind it."""

    health: Health
    flips: int = 0
    runs: int = 0
    streak: int = 0
    commit: str | None = None
    silent_since: int | None = None

    def describe(self) -> str:
        """`flaky: 6 flips in the last 10 runs`, `broken since commit 3ab2161, 7 runs ago`, `silent`, `healthy`."""
        if self.health is Health.FLAKY:
            return f"flaky: {self.flips} flip{'s' if self.flips != 1 else ''} in the last {self.runs} runs"
        if self.health is Health.BROKEN:
            ago = f"{self.streak} run{'s' if self.streak != 1 else ''} ago"
            if self.commit:
                return f"broken since commit {self.commit[:SHORT_COMMIT]}, {ago}"
            return f"broken since {ago}"
        return self.health.value


def flips(failed: Sequence[bool]) -> int:
    """How many times consecutive outcomes differ (a failure after a success, or a success after a failure)."""
    return sum(map(operator.ne, failed, itertools.islice(failed, 1, None)))


def judge(
    window: Sequence[bool],
    *,
    broken: bool,
    streak: int = 0,
    commit: str | None = None,
    silent_since: int | None = None,
    min_flips: int = DEFAULT_MIN_FLIPS,
) -> Judgement:
    """The health of a job whose window of counted runs failed as `window` says (oldest first, True = failed).

    `broken` is whether the job is at or past its consecutive threshold, `streak` its consecutive failures and
    `commit` the commit of the first of them; `silent_since` the time its missed run was expected, if any.
    """
    if silent_since is not None:
        return Judgement(Health.SILENT, silent_since=silent_since)
    if broken:
        return Judgement(Health.BROKEN, streak=streak, commit=commit)
    count = flips(window)
    if min_flips > 0 and count >= min_flips:
        return Judgement(Health.FLAKY, flips=count, runs=len(window))
    return Judgement(Health.HEALTHY, flips=count, runs=len(window))
