"""The local inbox's reading rules: only regular files are opened, never through a link, never waiting on a FIFO."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from failstreak.core.model import Rejected
from failstreak.errors import ItemGone, ItemRefused
from failstreak.inbox.base import InboxItem
from failstreak.inbox.local import LocalInbox

FOLDER = "2026/01/02/20260102T030405.678Z-0a1b2c3d"


@pytest.fixture
def inbox(tmp_path: Path) -> LocalInbox:
    (tmp_path / "inbox").mkdir()
    return LocalInbox(tmp_path / "inbox")


def item(inbox: LocalInbox, key: str) -> InboxItem:
    [found] = [i for i in inbox.pending() if i.key == key]
    return found


def test_special_files_and_links_are_listed_so_that_none_is_skipped_without_a_word(inbox: LocalInbox) -> None:
    # Given a regular file, a FIFO, a link to a file, a dangling link, a link to a directory, and a dot-file
    (inbox.root / "a.jsonl").write_bytes(b"{}\n")
    os.mkfifo(inbox.root / "pipe")
    (inbox.root / "link.jsonl").symlink_to(inbox.root / "a.jsonl")
    (inbox.root / "dangling.jsonl").symlink_to(inbox.root / "nowhere")
    (inbox.root.parent / "elsewhere").mkdir()
    (inbox.root / "dir-link").symlink_to(inbox.root.parent / "elsewhere")
    (inbox.root / ".partial.tmp").write_bytes(b"")
    # When the inbox is listed, then every one but the dot-file is an item
    assert sorted(i.key for i in inbox.pending()) == ["a.jsonl", "dangling.jsonl", "dir-link", "link.jsonl", "pipe"]


def test_a_fifo_is_refused_at_once_without_waiting_for_a_writer(inbox: LocalInbox) -> None:
    # Given a FIFO nobody writes to; when it is opened, then it is refused naming what it is
    os.mkfifo(inbox.root / "pipe")
    with pytest.raises(ItemRefused, match=r"^a FIFO: only regular files are read"):
        inbox.open(item(inbox, "pipe"))


def test_a_link_is_refused_naming_its_target_and_never_followed(inbox: LocalInbox) -> None:
    # Given a link to /dev/zero, a dangling link and a link to a directory
    (inbox.root / "zero").symlink_to("/dev/zero")
    (inbox.root / "gone").symlink_to(inbox.root / "nowhere")
    (inbox.root / "dir").symlink_to(inbox.root.parent)
    # When each is opened, then each is refused with its target
    with pytest.raises(ItemRefused, match=r"^a symbolic link \(to /dev/zero\): only regular files are read"):
        inbox.open(item(inbox, "zero"))
    with pytest.raises(ItemRefused, match=r"^a symbolic link \(to .*nowhere, which does not exist\)"):
        inbox.open(item(inbox, "gone"))
    with pytest.raises(ItemRefused, match=r"^a symbolic link \(to "):
        inbox.open(item(inbox, "dir"))


def test_a_file_gone_since_the_listing_is_gone_not_refused(inbox: LocalInbox) -> None:
    # Given a file listed, then moved by another pass; when it is opened, then it is gone (the pass skips it)
    (inbox.root / "a.jsonl").write_bytes(b"{}\n")
    listed = item(inbox, "a.jsonl")
    inbox.archive(listed, FOLDER)
    with pytest.raises(ItemGone):
        inbox.open(listed)


def test_a_quarantined_link_is_moved_itself_and_its_target_left_alone(inbox: LocalInbox) -> None:
    # Given a link to a file outside the inbox
    target = inbox.root.parent / "outside.jsonl"
    target.write_bytes(b"mine\n")
    (inbox.root / "out.jsonl").symlink_to(target)
    # When it is quarantined
    inbox.quarantine(item(inbox, "out.jsonl"), "a symbolic link", FOLDER)
    # Then the link is in the pass's quarantine folder with its reason, and the target is untouched
    moved = inbox.root / "quarantine" / FOLDER / "out.jsonl"
    assert moved.is_symlink()
    assert (inbox.root / "quarantine" / FOLDER / "out.jsonl.reason.txt").read_text() == "a symbolic link\n"
    assert target.read_bytes() == b"mine\n"


def test_rejected_lines_beyond_those_listed_keep_the_whole_file_in_quarantine(inbox: LocalInbox) -> None:
    # Given a file of whose rejected lines only the first is listed
    (inbox.root / "noise.jsonl").write_bytes(b"{}\n{}\n{}\n")
    noise = item(inbox, "noise.jsonl")
    # When its rejected lines are stored and it is archived
    inbox.reject_lines(noise, [Rejected("noise.jsonl", 1, "missing required field 'job'", "{}")], FOLDER, unlisted=2)
    inbox.archive(noise, FOLDER)
    # Then the quarantine has the listed line, a last line saying how many more, and the whole file
    where = inbox.root / "quarantine" / FOLDER
    listed = (where / "noise.jsonl.rejected.jsonl").read_text().splitlines()
    assert len(listed) == 2
    assert "2 more rejected lines are not listed here: the whole file is kept as " in listed[1]
    assert (where / "noise.jsonl").read_bytes() == b"{}\n{}\n{}\n"
    assert (inbox.root / "processed" / FOLDER / "noise.jsonl").read_bytes() == b"{}\n{}\n{}\n"


def test_the_oldest_items_are_taken_from_a_listing_read_one_entry_at_a_time(inbox: LocalInbox) -> None:
    # Given five files in two folders, written in a known order
    for n, key in enumerate(["b/x.jsonl", "e.jsonl", "a/y.jsonl", "d.jsonl", "c.jsonl"]):
        path = inbox.root / key
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"{}\n")
        os.utime(path, ns=(10**18 + n * 10**6, 10**18 + n * 10**6))
    # When the two oldest are asked for, then they come oldest first, with how many are waiting in all
    oldest, waiting = inbox.oldest(2)
    assert ([i.key for i in oldest], waiting) == (["b/x.jsonl", "e.jsonl"], 5)
    assert [i.key for i in inbox.pending()] == ["b/x.jsonl", "e.jsonl", "a/y.jsonl", "d.jsonl", "c.jsonl"]
