"""One inbox file's failure, whatever it is, is that file's alone: quarantined with its reason, or left for the next
pass when the store could not be read; the pass goes on with the others (docs/s3-and-lambda.md)."""

from __future__ import annotations

import io
from typing import BinaryIO

from failstreak.app.config import Config
from failstreak.app.wiring import pass_settings
from failstreak.errors import StoreUnavailable
from failstreak.inbox.base import InboxItem
from failstreak.pipeline.run import Ports, run_pass
from tests.conftest import T0
from tests.fakes import InMemoryInbox, InMemoryStateStore

GOOD = b'{"job": "j", "run_id": %d, "status": "failed", "finished_at": %d}\n'


class FailingStream(io.RawIOBase):
    """A stream that gives `head`, then raises `error` (a read that fails part way through the file)."""

    def __init__(self, head: bytes, error: BaseException) -> None:
        self.head = head
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self.head:
            raise self.error
        n = min(len(buffer), len(self.head))
        buffer[:n] = self.head[:n]
        self.head = self.head[n:]
        return n


class BrokenInbox(InMemoryInbox):
    """An in-memory inbox whose named items fail when opened, or part way through being read."""

    def __init__(self, on_open: dict[str, Exception], midway: dict[str, BaseException]) -> None:
        super().__init__()
        self.on_open = on_open
        self.midway = midway

    def open(self, item: InboxItem) -> BinaryIO:
        if item.key in self.on_open:
            raise self.on_open[item.key]
        if item.key in self.midway:
            return io.BufferedReader(FailingStream(self.files[item.key], self.midway[item.key]))  # type: ignore[return-value]
        return super().open(item)


def inbox_of(keys: str, **errors: dict[str, BaseException]) -> BrokenInbox:
    inbox = BrokenInbox(errors.get("on_open", {}), errors.get("midway", {}))  # type: ignore[arg-type]
    for number, key in enumerate(keys.split()):
        inbox.add(key, b"".join(GOOD % (number * 100 + i, T0 + i) for i in range(3)))
    return inbox


def test_a_file_that_runs_out_of_memory_is_quarantined_and_the_others_counted() -> None:
    # Given three files, the second of which exhausts memory part way through
    inbox = inbox_of("a b c", midway={"b": MemoryError()})
    # When a pass runs
    summary = run_pass(pass_settings(Config(inbox=None)), Ports(store=InMemoryStateStore(), inbox=inbox))
    # Then that file is quarantined with the reason, none of its runs counted, and the others' runs counted
    assert summary.ingested == 6
    assert inbox.quarantined == {"b": "cannot be read: it needs more memory than the pass has"}
    assert sorted(inbox.archived) == ["a", "c"]


def test_a_file_that_fails_in_a_way_nobody_foresaw_is_quarantined_with_the_error_named() -> None:
    # Given a file whose opening fails with an unexpected error, and one whose reading does
    inbox = inbox_of("a b c", on_open={"a": KeyError("bug")}, midway={"c": UnicodeDecodeError("utf-8", b"", 0, 1, "x")})
    # When a pass runs
    summary = run_pass(pass_settings(Config(inbox=None)), Ports(store=InMemoryStateStore(), inbox=inbox))
    # Then each is quarantined naming its error, and the file between them is counted
    assert summary.ingested == 3
    assert inbox.quarantined["a"] == "cannot be read: KeyError: 'bug'"
    assert inbox.quarantined["c"].startswith("cannot be read: UnicodeDecodeError: ")
    assert summary.quarantined == ["a", "c"]


def test_a_file_whose_store_fails_part_way_is_left_for_the_next_pass_and_none_of_its_runs_counted() -> None:
    # Given a file whose store connection is lost part way through reading it
    inbox = inbox_of("a b", midway={"a": StoreUnavailable("memory://inbox/a: cannot read: connection reset")})
    # When a pass runs
    summary = run_pass(pass_settings(Config(inbox=None)), Ports(store=InMemoryStateStore(), inbox=inbox))
    # Then it stays in the inbox, reported, and only the other file's runs are counted
    assert summary.ingested == 3
    assert list(inbox.files) == ["a"]
    assert [r.describe() for r in summary.rejects] == [
        "a: not read this pass: memory://inbox/a: cannot read: connection reset"
    ]


def test_a_pass_counts_at_most_inbox_max_records_and_leaves_the_file_that_would_pass_it() -> None:
    # Given a bound of 5 records per pass, and three files of 3 records each
    inbox = inbox_of("a b c")
    cfg = Config(inbox=None, inbox_max_records=5)
    store = InMemoryStateStore()
    # When passes run
    first = run_pass(pass_settings(cfg), Ports(store=store, inbox=inbox))
    second = run_pass(pass_settings(cfg), Ports(store=store, inbox=inbox))
    third = run_pass(pass_settings(cfg), Ports(store=store, inbox=inbox))
    # Then each counts one file (a second would take it past the bound), oldest first, and nothing is lost
    assert [(s.files, s.backlog, s.ingested) for s in (first, second, third)] == [(1, 2, 3), (1, 1, 3), (1, 0, 3)]
    assert sorted(inbox.archived) == ["a", "b", "c"]


def test_a_file_with_more_records_than_a_pass_may_count_is_quarantined_with_how_to_split_it() -> None:
    # Given a bound of 2 records per pass and a file of 3 records beside a file of 2
    inbox = inbox_of("big")
    inbox.add("small", GOOD % (900, T0) + GOOD % (901, T0))
    # When a pass runs
    summary = run_pass(
        pass_settings(Config(inbox=None, inbox_max_records=2)), Ports(store=InMemoryStateStore(), inbox=inbox)
    )
    # Then the big file is quarantined unread with how to split it, and the small one counted
    assert summary.ingested == 2
    assert inbox.quarantined == {
        "big": "more than 2 records (the per-pass bound, inbox_max_records): split it into several files, "
        "each under the bound"
    }
