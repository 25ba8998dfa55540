"""A job's closed incidents: what each was, from `triggered` to `resolved` (docs/state.md, docs/page.md). Pure.

The state keeps the last `KEPT` closed incidents of each job, newest last, so that the run-history page and
`status JOB` can show a job's history of incidents after its runs have scrolled out of memory.
"""

from __future__ import annotations

import msgspec

KEPT = 10


class Incident(msgspec.Struct, omit_defaults=True, gc=False):
    """One closed incident of a job.

    `since` is the first failure of the incident (the streak's, or the window's oldest); `failed_runs` the
    failures counted from `since` to the resolution; `suppressed` how many of its notifications mutes held back.
    """

    triggered_at: int
    resolved_at: int
    reasons: list[str]
    since: int | None = None
    failed_runs: int = 0
    first_commit: str | None = None
    last_reason: str | None = None
    suppressed: int = 0


def closed(history: list[Incident], incident: Incident, keep: int = KEPT) -> list[Incident]:
    """`history` with `incident` appended, only the newest `keep` kept (oldest first)."""
    return [*history, incident][-keep:] if keep > 0 else []
