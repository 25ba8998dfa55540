"""What a pass did: the summary it returns, as the `run --json` document and as text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from failstreak.app.text import for_terminal
from failstreak.core.model import Notification, Rejected

MAX_REJECTS_LISTED = 50


@dataclass
class Summary:
    """What a pass did. `to_dict` is the `run --json` contract (docs/cli.md) and the Lambda's return value."""

    pass_id: str
    started_at: int
    files: int = 0
    backlog: int = 0
    ingested: int = 0
    duplicates: int = 0
    superseded: int = 0
    stale: int = 0
    running: int = 0
    filtered: int = 0
    rejected: int = 0
    rejects: list[Rejected] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    jobs: int = 0
    alerting: int = 0
    conflicts: int = 0
    delivered: int = 0
    delivery_failures: list[dict[str, Any]] = field(default_factory=list)
    pending: int = 0
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    team_notifications: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    future_runs_forgotten: list[str] = field(default_factory=list)
    page: str | None = None
    duration_ms: int = 0
    # Mutes moved from a version-5 state into the mutes document (docs/state.md, "Moving the mutes").
    mutes_moved: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "pass_id": self.pass_id,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "files": self.files,
            "backlog": self.backlog,
            "ingested": self.ingested,
            "duplicates": self.duplicates,
            "superseded": self.superseded,
            "stale": self.stale,
            "running": self.running,
            "filtered": self.filtered,
            "rejected": self.rejected,
            "rejects": [
                {"file": r.file, "line": r.line, "reason": r.reason} for r in self.rejects[:MAX_REJECTS_LISTED]
            ],
            "quarantined": self.quarantined,
            "jobs": self.jobs,
            "alerting": self.alerting,
            "retired": self.retired,
            "notifications": [
                {
                    # An estate-wide notification is about no job (docs/triage.md): its scope says what.
                    "job": None if n.scope else n.job,
                    "event": n.event.value,
                    "reasons": list(n.reasons),
                    "consecutive_failures": n.consecutive_failures,
                    "window_failures": n.window_failures,
                    "window_size": n.window_size,
                    "suppressed": n.suppressed,
                    "health": n.health,
                    "health_detail": n.health_detail,
                    **({"scope": n.scope} if n.scope else {}),
                }
                for n in self.notifications
            ],
            "delivered": self.delivered,
            "delivery_failures": self.delivery_failures,
            "pending": self.pending,
            "conflicts": self.conflicts,
            "sources": self.sources,
            "team_notifications": self.team_notifications,
            "warnings": self.warnings,
            "future_runs_forgotten": self.future_runs_forgotten[:MAX_REJECTS_LISTED],
            "page": self.page,
            **({"mutes_moved": self.mutes_moved} if self.mutes_moved else {}),
        }


def summary_text(s: dict[str, Any], details: bool = True) -> str:
    """The pass summary as text. `details`: also list rejects, failures and warnings (the demo, which has no
    stderr of its own); `run` writes those to stderr instead."""
    events = _event_counts(s["notifications"])
    parts = [
        f"{s['files']} files",
        f"{s['ingested']} runs ingested",
        f"{s['duplicates']} duplicates",
        f"{s['rejected']} rejected",
        f"{s['jobs']} jobs, {s['alerting']} alerting",
    ]
    if events:
        parts.append(", ".join(f"{v} {k}" for k, v in sorted(events.items())))
    if s["pending"]:
        parts.append(f"{s['pending']} notifications pending")
    lines = ["pass " + s["pass_id"] + ": " + "; ".join(parts)]
    if s["backlog"]:
        bounds = "inbox_max_files / inbox_max_mib / inbox_max_records"
        lines.append(f"  {s['backlog']} inbox files left for the next pass ({bounds})")
    lines.extend(f"  retired {name}" for name in s["retired"][:10])
    if not details:
        return "\n".join(lines)
    lines.extend(_problem_lines(s))
    # File names, job names, reasons and errors come from producers and platforms: one line each, escaped.
    return "\n".join(for_terminal(line) for line in lines)


def _event_counts(notifications: list[dict[str, Any]]) -> dict[str, int]:
    """How many notifications of each event, the muted ones apart."""
    events: dict[str, int] = {}
    for n in notifications:
        key = n["event"] + (" (muted)" if n["suppressed"] else "")
        events[key] = events.get(key, 0) + 1
    return events


def _problem_lines(s: dict[str, Any]) -> list[str]:
    """The pass's rejects (the first ten), delivery failures, failed sources and warnings, one line each."""
    lines = [f"  rejected {r['file']}:{r['line'] or '-'}: {r['reason']}" for r in s["rejects"][:10]]
    lines.extend(
        f"  delivery to {f['destination']} failed ({'will retry' if f['retrying'] else 'gave up'}): {f['error']}"
        for f in s["delivery_failures"]
    )
    lines.extend(f"  source {name} failed: {src['error']}" for name, src in s["sources"].items() if not src["ok"])
    lines.extend(f"  warning: {w}" for w in s.get("warnings", []))
    return lines
