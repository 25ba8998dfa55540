"""The problems of a pass as log records: each with its reason, errors first, a flood of rejects capped."""

from __future__ import annotations

import logging

from failstreak.app.problems import MAX_REJECTS_LOGGED, of_summary
from failstreak.core.model import Rejected
from failstreak.pipeline.summary import Summary


def _failure(job: str, retrying: bool) -> dict[str, object]:
    return {"job": job, "event": "triggered", "destination": "slack:#x", "error": "boom", "retrying": retrying}


def test_dead_letters_and_source_errors_are_errors_and_come_first() -> None:
    # Given a pass with a retrying failure, a dead letter, a failed source, a rejected line and a routing warning
    summary = Summary(pass_id="p", started_at=0)
    summary.delivery_failures = [_failure("a", True), _failure("b", False)]
    summary.sources = {"gh": {"ok": False, "error": "HTTP 500", "pulled": 0}, "db": {"ok": True, "pulled": 3}}
    summary.rejects = [Rejected("f.jsonl", 2, "not valid JSON")]
    summary.warnings = ["JOBOWNERS:2: team @x is not in the config's teams:"]
    # When its problems are listed
    problems = list(of_summary(summary))
    # Then errors come first, each message carries its reason, and the healthy source is not a problem
    assert [(logging.getLevelName(p.level), p.message) for p in problems] == [
        ("ERROR", "dead letter: triggered of b to slack:#x was given up: boom"),
        ("ERROR", "source gh failed: HTTP 500"),
        ("WARNING", "delivery of triggered of a to slack:#x failed, will retry: boom"),
        ("WARNING", "rejected f.jsonl:2: not valid JSON"),
        ("WARNING", "JOBOWNERS:2: team @x is not in the config's teams:"),
    ]
    assert problems[0].fields["kind"] == "dead_letter"
    assert problems[1].fields == {"kind": "source_error", "source": "gh", "ok": False, "error": "HTTP 500", "pulled": 0}


def test_a_flood_of_rejects_is_capped_and_counted() -> None:
    # Given a pass that rejected 25 lines
    summary = Summary(pass_id="p", started_at=0)
    summary.rejects = [Rejected("f.jsonl", i, "bad") for i in range(1, 26)]
    # When its problems are listed, then the first 20 are named and the rest counted in one line
    messages = [p.message for p in of_summary(summary)]
    assert len(messages) == MAX_REJECTS_LOGGED + 1
    assert messages[-1] == "and 5 more rejected (see the pass summary)"


def test_a_clean_pass_has_no_problems() -> None:
    assert list(of_summary(Summary(pass_id="p", started_at=0))) == []
