"""The collect stage on its own: plain intake settings in (no config), the inbox read within them, the
job-name rules applied."""

from __future__ import annotations

import dataclasses
import io
from typing import BinaryIO

from failstreak.core.jobnames import JobKeyRules
from failstreak.core.model import State, Status
from failstreak.errors import StoreUnavailable
from failstreak.inbox.base import MIB, InboxItem
from failstreak.pipeline.collect import IntakeSettings, collect
from failstreak.pipeline.summary import Summary
from tests.conftest import T0
from tests.fakes import InMemoryInbox

GOOD = b'{"job": "%s", "run_id": %d, "status": "failed", "finished_at": %d}\n'


def _settings(**bounds: int | None) -> IntakeSettings:
    values: dict[str, int | None] = {
        "max_files": None,
        "max_bytes": None,
        "file_max_bytes": MIB,
        "max_records": None,
        "max_clock_skew_ms": 86_400_000,
        **bounds,
    }
    return IntakeSettings(details=frozenset(Status), **values)  # type: ignore[arg-type]


class _LostMidway(io.RawIOBase):
    """A stream whose store connection is lost after its first bytes."""

    def __init__(self, head: bytes) -> None:
        self.head = head

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self.head:
            raise StoreUnavailable("memory://inbox/b: cannot read: connection reset")
        n = min(len(buffer), len(self.head))
        buffer[:n] = self.head[:n]
        self.head = self.head[n:]
        return n


class _UnreachableInbox(InMemoryInbox):
    """`a` cannot be opened, `b` is lost part way through: the store's fault both times, not the files'."""

    def open(self, item: InboxItem) -> BinaryIO:
        if item.key == "a":
            raise StoreUnavailable("memory://inbox/a: cannot open: timed out")
        if item.key == "b":
            return io.BufferedReader(_LostMidway(self.files["b"][:10]))  # type: ignore[return-value]
        return super().open(item)


def test_a_file_the_store_cannot_open_or_finish_reading_is_left_for_the_next_pass_in_the_same_words() -> None:
    # Given a file the store cannot open, one it loses part way through, and a good one
    inbox = _UnreachableInbox()
    for number, key in enumerate(["a", "b", "c"]):
        inbox.add(key, GOOD % (b"j", number, T0))
    summary = Summary("p", T0)
    # When the collect stage reads the inbox
    got = collect(_settings(), inbox, [], State(), summary, T0)
    # Then both are reported as not read this pass, neither is archived nor quarantined, and the good one is read
    assert [r.describe() for r in summary.rejects] == [
        "a: not read this pass: memory://inbox/a: cannot open: timed out",
        "b: not read this pass: memory://inbox/b: cannot read: connection reset",
    ]
    assert [d.item.key for d in got.files] == ["c"]
    assert [e.run_id for e in got.executions] == ["2"]
    assert (summary.files, summary.backlog) == (1, 0)


def test_the_settings_bound_the_batch_and_the_job_name_rules_apply() -> None:
    # Given three files of two records each, a bound of three records per pass, and a rule that drops `skip-*`
    inbox = InMemoryInbox()
    for number, key in enumerate(["a", "b", "c"]):
        inbox.add(key, GOOD % (b"keep", number * 2, T0) + GOOD % (b"skip-me", number * 2 + 1, T0))
    settings = dataclasses.replace(_settings(max_records=3), job_rules=JobKeyRules(exclude=["skip-*"]))
    summary = Summary("p", T0)
    # When the collect stage reads the inbox
    got = collect(settings, inbox, [], State(), summary, T0)
    # Then it reads the first file only (a second would pass the bound), the others wait, and the rule applies
    assert [d.item.key for d in got.files] == ["a"]
    assert (summary.files, summary.backlog, summary.filtered) == (1, 2, 1)
    assert [(e.job, e.run_id) for e in got.executions] == [("keep", "0")]
