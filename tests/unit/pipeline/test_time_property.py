"""Property: whatever times a producer sends, a pass counts exactly the runs whose time is in range."""

from __future__ import annotations

import json
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.app.config import parse_config
from failstreak.app.wiring import pass_settings
from failstreak.inbox import records
from failstreak.pipeline.run import Ports, run_pass
from tests.fakes import InMemoryInbox, InMemoryStateStore

NOW = 1_794_996_400_000
LATEST = records.latest_time(NOW)
EDGES = [
    records.EARLIEST_MS - 1,
    records.EARLIEST_MS,
    NOW,
    LATEST,
    LATEST + 1,
    (LATEST + 1000) // 1000,
    NOW // 1000,
    NOW * 1000,
    records.MICROS_BELOW,
    2**63 - 1,
    -1,
    0,
]
TIMES = st.one_of(
    st.sampled_from(EDGES),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from(
        ["2099-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "0001-01-01T00:00:00+00:01", "2026-11-18T10:06:40Z"]
    ),
)


def _in_range(value: int | str) -> bool:
    """The rule of docs/configuration.md, written out again independently of the parser."""
    if isinstance(value, str):
        try:
            ms = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except (ValueError, OverflowError):
            return False
    elif value < 10**11:
        ms = value * 1000
    elif value < 10**14:
        ms = value
    elif value < 10**17:
        ms = value // 1000
    else:
        return False
    return 946_684_800_000 <= ms <= NOW + 86_400_000


@settings(max_examples=60, deadline=None)
@given(st.lists(TIMES, min_size=1, max_size=12))
def test_a_pass_counts_exactly_the_runs_whose_time_is_in_range(times: list[int | str]) -> None:
    # Given a file with one run per time, of distinct jobs
    inbox = InMemoryInbox()
    lines = [
        json.dumps({"job": f"j{i}", "run_id": i, "status": "failed", "finished_at": t}) for i, t in enumerate(times)
    ]
    inbox.add("f.jsonl", "\n".join(lines))
    # When a pass reads it
    summary = run_pass(
        pass_settings(parse_config("notify: {console: false}")), Ports(InMemoryStateStore(), inbox, clock=lambda: NOW)
    )
    # Then it counts exactly the runs in range, and rejects each other one naming finished_at
    expected = [i for i, t in enumerate(times) if _in_range(t)]
    assert summary.ingested == len(expected)
    assert summary.jobs == len(expected)
    out_of_range = [r for r in summary.rejects if r.line is not None]
    assert len(out_of_range) == len(times) - len(expected)
    assert all("field 'finished_at'" in r.reason for r in out_of_range)
