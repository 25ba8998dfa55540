"""Pass ids: sortable by time, unique, and what each pass files its archive and quarantine under."""

from __future__ import annotations

import re

from failstreak.app.config import Config
from failstreak.app.wiring import pass_settings
from failstreak.pipeline.run import Ports, new_pass_id, run_pass
from tests.conftest import T0
from tests.fakes import InMemoryInbox, InMemoryStateStore

LINE = b'{"job": "j", "run_id": 1, "status": "failed", "finished_at": %d}\n' % T0


def test_a_pass_id_is_its_utc_start_to_the_millisecond_then_a_random_suffix() -> None:
    # Given two ids made a millisecond apart, and two made at the same instant
    first, second = new_pass_id(T0), new_pass_id(T0 + 1)
    twins = {new_pass_id(T0) for _ in range(50)}
    # Then they read as the time (2025-11-13T02:13:20.000Z), sort in time order, and never collide
    assert re.fullmatch(r"20251113T021320\.000Z-[0-9a-f]{8}", first)
    assert first < second
    assert len(twins) == 50


def test_a_pass_files_what_it_read_under_its_day_and_id() -> None:
    # Given a waiting file
    inbox = InMemoryInbox()
    inbox.add("a.jsonl", LINE)
    # When a pass runs with its clock on 2025-11-13
    summary = run_pass(
        pass_settings(Config(inbox=None)), Ports(store=InMemoryStateStore(), inbox=inbox, clock=lambda: T0)
    )
    # Then the file is archived in that day's folder under the pass's id
    assert inbox.folders == {"a.jsonl": f"2025/11/13/{summary.pass_id}"}


def test_a_pass_id_given_by_a_caller_becomes_one_safe_path_segment() -> None:
    # Given a caller's pass id with separators and dots
    inbox = InMemoryInbox()
    inbox.add("a.jsonl", LINE)
    # When a pass runs under it
    run_pass(
        pass_settings(Config(inbox=None)), Ports(store=InMemoryStateStore(), inbox=inbox, clock=lambda: T0), "../x/.."
    )
    # Then the folder is one segment below the day, never a way out of the archive
    assert inbox.folders == {"a.jsonl": "2025/11/13/_x_"}
