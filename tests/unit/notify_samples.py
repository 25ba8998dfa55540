"""Realistic notifications for the notifier tests."""

from __future__ import annotations

from typing import Any

from failstreak.core.model import Event, Notification, Outcome, RunBrief, Status

T0 = 1_763_884_800_000  # 2025-11-23T08:00:00Z
HOUR = 3_600_000


def runs(
    marks: str, url: str = "https://ci.example.com/jobs/{job}/runs/{run}", job: str = "job"
) -> tuple[RunBrief, ...]:
    """Runs from a mark string, oldest first: `s` success, `f` failure, `i` ignored (canceled)."""
    out = []
    for i, mark in enumerate(marks):
        run_id = str(1000 + i)
        status, outcome = {
            "s": (Status.SUCCESS, Outcome.SUCCESS),
            "f": (Status.FAILED, Outcome.FAILURE),
            "i": (Status.CANCELED, Outcome.IGNORED),
        }[mark]
        out.append(
            RunBrief(
                run_id=run_id,
                status=status,
                outcome=outcome,
                finished_at=T0 + i * HOUR,
                url=url.format(job=job, run=run_id) if url else None,
                commit=f"{0xABC1230 + i:x}",
                reason="AssertionError: expected 200, got 503" if mark == "f" else None,
            )
        )
    return tuple(out)


def note(job: str = "nightly-etl", event: Event = Event.TRIGGERED, marks: str = "sssffff", **kw: Any) -> Notification:
    recent = kw.pop("recent", None) or runs(marks, job=job)
    streak = len(marks) - len(marks.rstrip("f"))
    fields: dict[str, Any] = {
        "id": f"{event.value}:{T0}:{T0 + 10 * HOUR}:{job}",
        "job": job,
        "event": event,
        "reasons": ("consecutive",),
        "consecutive_failures": streak,
        "window_failures": marks.count("f"),
        "window_size": len(marks.replace("i", "")),
        "consecutive_threshold": 3,
        "cumulative_threshold": 5,
        "window": 10,
        "created_at": T0 + 10 * HOUR,
        "since": T0 + 3 * HOUR,
        "failed_runs": marks.count("f"),
        "last_reason": "AssertionError: expected 200, got 503",
        "first_commit": "abc1233",
        "recent": recent,
        "owner": None,
    }
    fields.update(kw)
    return Notification(**fields)
