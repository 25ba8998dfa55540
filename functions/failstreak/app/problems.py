"""The trouble a pass met, as log records: what the CLI writes to stderr and the Lambda logs at WARNING or ERROR.

A monitor that fails quietly is worse than none, so every delivery failure, dead letter, source error, rejected
line or file, and routing problem of a pass becomes one record here with its reason. The fields are safe to log:
job names, destinations, file keys and the errors adapters raised (which never carry a secret's value).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from failstreak.pipeline.summary import Summary

WARNING = logging.WARNING
ERROR = logging.ERROR
# A pass with a broken file rejects every line of it; listing each would flood the log. The summary keeps them.
MAX_REJECTS_LOGGED = 20


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that went wrong in a pass: a level, a one-line message, and structured fields for the log."""

    level: int
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def level_name(self) -> str:
        return logging.getLevelName(self.level)


def _what(failure: dict[str, Any]) -> str:
    """`triggered of ci/a`, or `digest` for a daily digest (about no job: docs/digest.md)."""
    return f"{failure['event']} of {failure['job']}" if failure["job"] else failure["event"]


def of_summary(summary: Summary) -> Iterator[Problem]:
    """Every problem of one pass, errors (a notification given up, a source that failed) before warnings."""
    for f in summary.delivery_failures:
        if f["retrying"]:
            continue
        yield Problem(
            ERROR,
            f"dead letter: {_what(f)} to {f['destination']} was given up: {f['error']}",
            {"kind": "dead_letter", **f},
        )
    for name, src in summary.sources.items():
        if not src.get("ok", True):
            yield Problem(
                ERROR, f"source {name} failed: {src.get('error')}", {"kind": "source_error", "source": name, **src}
            )
    for f in summary.delivery_failures:
        if f["retrying"]:
            yield Problem(
                WARNING,
                f"delivery of {_what(f)} to {f['destination']} failed, will retry: {f['error']}",
                {"kind": "delivery_failure", **f},
            )
    # A file moved to quarantine is among the rejects (line None) with its reason: one line for it is enough.
    for r in summary.rejects[:MAX_REJECTS_LOGGED]:
        yield Problem(
            WARNING,
            f"rejected {r.describe()}",
            {"kind": "rejected", "file": r.file, "line": r.line, "reason": r.reason},
        )
    if len(summary.rejects) > MAX_REJECTS_LOGGED:
        more = len(summary.rejects) - MAX_REJECTS_LOGGED
        yield Problem(WARNING, f"and {more} more rejected (see the pass summary)", {"kind": "rejected", "more": more})
    for message in summary.warnings:
        yield Problem(WARNING, message, {"kind": "config"})
