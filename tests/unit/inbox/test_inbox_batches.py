"""The Inbox port's sequential batch defaults, which every inbox but S3's uses (local, fakes, wrappers)."""

from __future__ import annotations

from typing import BinaryIO

import pytest

from failstreak.core.model import Rejected
from failstreak.errors import ItemGone, StoreUnavailable
from failstreak.inbox.base import Done, InboxItem
from tests.fakes import InMemoryInbox


class FlakyInbox(InMemoryInbox):
    """An in-memory inbox whose reads or archives fail for the keys given, with the error given."""

    def __init__(self, read_errors: dict[str, Exception], archive_errors: dict[str, Exception]) -> None:
        super().__init__()
        self.read_errors = read_errors
        self.archive_errors = archive_errors

    def read(self, item: InboxItem) -> bytes:
        if item.key in self.read_errors:
            raise self.read_errors[item.key]
        return super().read(item)

    def archive(self, item: InboxItem, folder: str) -> None:
        if item.key in self.archive_errors:
            raise self.archive_errors[item.key]
        super().archive(item, folder)


def inbox_of(keys: str, **errors: dict[str, Exception]) -> FlakyInbox:
    inbox = FlakyInbox(errors.get("read", {}), errors.get("archive", {}))
    for key in keys.split():
        inbox.add(key, key.upper())
    return inbox


def contents(got: BinaryIO | Exception) -> bytes | Exception:
    if isinstance(got, Exception):
        return got
    with got:
        return got.read()


def test_read_many_yields_each_item_with_its_bytes_or_its_read_error_in_order() -> None:
    # Given an inbox where one item is gone and one cannot be read
    gone, down = ItemGone("b gone"), StoreUnavailable("c down")
    inbox = inbox_of("a b c d", read={"b": gone, "c": down})
    # When the batch is read, then every item comes back in order, the failed ones with their error
    assert [(i.key, contents(d)) for i, d in inbox.read_many(inbox.pending())] == [
        ("a", b"A"),
        ("b", gone),
        ("c", down),
        ("d", b"D"),
    ]


def test_read_many_yields_an_unexpected_error_at_its_item_and_goes_on() -> None:
    # Given an item whose read fails in a way the port does not describe
    bug = KeyError("bug")
    inbox = inbox_of("a b c", read={"b": bug})
    # When the batch is read, then that item comes with its error, and the items after it still come
    assert [(i.key, contents(d)) for i, d in inbox.read_many(inbox.pending())] == [
        ("a", b"A"),
        ("b", bug),
        ("c", b"C"),
    ]


def test_finish_many_quarantines_or_stores_rejects_and_archives_each_item() -> None:
    # Given three items read by a pass: one unreadable, one with a rejected line, one clean
    inbox = inbox_of("a b c")
    a, b, c = inbox.pending()
    rejected = [Rejected("b", 2, "no run id")]
    # When the pass finishes them
    inbox.finish_many([Done(a, quarantine="binary"), Done(b, rejected=rejected), Done(c)], "2026/01/01/p1")
    # Then a is quarantined with its reason, b archived with its rejects stored, c archived
    assert inbox.quarantined == {"a": "binary"}
    assert inbox.rejected_lines == {"b": rejected}
    assert sorted(inbox.archived) == ["b", "c"]


def test_finish_many_moves_every_other_item_when_one_fails_then_raises_that_failure() -> None:
    # Given an inbox that refuses to archive one item of four
    refused = StoreUnavailable("memory://inbox/b: cannot copy: AccessDenied")
    inbox = inbox_of("a b c d", archive={"b": refused})
    # When the batch is finished, then the failure is raised unchanged, after the others were archived
    with pytest.raises(StoreUnavailable) as raised:
        inbox.finish_many([Done(i) for i in inbox.pending()], "2026/01/01/p1")
    assert raised.value is refused
    assert sorted(inbox.archived) == ["a", "c", "d"]
    assert list(inbox.files) == ["b"]


def test_finish_many_with_several_failures_names_the_first_and_how_many_more() -> None:
    # Given an inbox that refuses to archive two items
    inbox = inbox_of("a b c", archive={"a": StoreUnavailable("a: denied"), "c": StoreUnavailable("c: denied")})
    # When the batch is finished, then one error names the first and counts the other
    with pytest.raises(StoreUnavailable, match=r"^a: denied \(and 1 more inbox items could not be moved"):
        inbox.finish_many([Done(i) for i in inbox.pending()], "2026/01/01/p1")
    assert list(inbox.archived) == ["b"]
