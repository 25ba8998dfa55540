"""A job's closed incidents (core/incidents.py): appended in order, bounded."""

from __future__ import annotations

from failstreak.core.incidents import KEPT, Incident, closed
from tests.conftest import HOUR, T0


def incident(n: int) -> Incident:
    return Incident(triggered_at=T0 + n * HOUR, resolved_at=T0 + n * HOUR + 1, reasons=["consecutive"])


def test_a_closed_incident_is_appended_after_the_older_ones() -> None:
    # Given a history of two incidents; When a third closes; Then it comes last, the others kept in order
    assert closed([incident(1), incident(2)], incident(3)) == [incident(1), incident(2), incident(3)]


def test_only_the_newest_incidents_are_kept() -> None:
    # Given a full history; When one more closes; Then the oldest is dropped and the bound holds
    history = [incident(n) for n in range(KEPT)]
    after = closed(history, incident(KEPT))
    assert len(after) == KEPT
    assert after[0] == incident(1)
    assert after[-1] == incident(KEPT)
    assert closed(history, incident(99), keep=0) == []
