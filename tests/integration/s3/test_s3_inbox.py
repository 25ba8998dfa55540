"""The S3 inbox: paged listing, archive, quarantine and rejected lines, idempotent moves."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from failstreak.core.model import Rejected
from failstreak.errors import ItemGone, StoreUnavailable
from failstreak.inbox.base import InboxItem
from failstreak.inbox.s3 import S3Inbox
from tests.integration.s3.backends import S3
from tests.integration.s3.conftest import BOTH_CLIENTS, s3_fixture

pytestmark = pytest.mark.integration

# The adapters work the same through boto3's client and through the light one (s3lite).
s3 = s3_fixture(BOTH_CLIENTS)

LINE = b'{"job": "j", "run_id": 1, "status": "failed", "finished_at": "2026-01-01T00:00:00Z"}\n'


def one_waiting(s3: S3, name: str = "a.jsonl", body: bytes = LINE) -> tuple[S3Inbox, InboxItem]:
    """An inbox at fs/inbox/ with one object waiting, and that object as the inbox lists it."""
    s3.put(f"fs/inbox/{name}", body)
    inbox = S3Inbox.from_uri(s3.uri("fs/inbox/"))
    [item] = inbox.pending()
    return inbox, item


# A pass's folder under processed/ and quarantine/ (inbox.base.pass_folder).
FOLDER = "2026/01/02/20260102T030405.678Z-0a1b2c3d"


def test_pending_pages_through_every_object_under_the_prefix(s3: S3) -> None:
    # Given more objects than fit on one listing page
    for i in range(23):
        s3.put(f"fs/inbox/f{i:03d}.jsonl", LINE)
    inbox = S3Inbox.from_uri(s3.uri("fs/inbox/"))
    inbox.page_size = 5
    # When the inbox is listed
    items = inbox.pending()
    # Then every object is there once, keyed relative to the inbox, oldest first
    assert sorted(i.key for i in items) == [f"f{i:03d}.jsonl" for i in range(23)]
    assert [(i.modified_ms, i.key) for i in items] == sorted((i.modified_ms, i.key) for i in items)
    assert all(i.size == len(LINE) for i in items)


def test_oldest_keeps_only_the_oldest_items_of_a_paged_listing_and_counts_them_all(s3: S3) -> None:
    # Given more objects than fit on one listing page
    for i in range(12):
        s3.put(f"fs/inbox/f{i:03d}.jsonl", LINE)
    inbox = S3Inbox.from_uri(s3.uri("fs/inbox/"))
    inbox.page_size = 5
    # When the three oldest are asked for, then they are the first three of the full listing, and all are counted
    oldest, waiting = inbox.oldest(3)
    assert (oldest, waiting) == (inbox.pending()[:3], 12)


def test_pending_skips_folder_markers_and_lists_nested_keys(s3: S3) -> None:
    # Given a folder marker and an object in a sub-folder
    s3.put("fs/inbox/gitlab/", b"")
    s3.put("fs/inbox/gitlab/a.jsonl", LINE)
    # When listed, then only the object is pending, with its sub-folder in its key
    assert [i.key for i in S3Inbox.from_uri(s3.uri("fs/inbox")).pending()] == ["gitlab/a.jsonl"]


def test_an_inbox_at_the_bucket_root_ignores_its_own_processed_and_quarantine_prefixes(s3: S3) -> None:
    # Given an inbox at the root of a bucket, whose archive prefixes therefore fall inside it
    s3.put("new.jsonl", LINE)
    s3.put("processed/2026/01/01/old.jsonl", LINE)
    s3.put("quarantine/bad.jsonl", b"x")
    s3.put("quarantine/bad.jsonl.reason.txt", b"why")
    # When listed, then only the waiting object is pending
    assert [i.key for i in S3Inbox.from_uri(s3.uri()).pending()] == ["new.jsonl"]


def test_archive_moves_an_object_to_the_sibling_processed_prefix_under_the_pass_folder(s3: S3) -> None:
    # Given a waiting object
    s3.put("fs/inbox/gitlab/a.jsonl", LINE)
    inbox = S3Inbox.from_uri(s3.uri("fs/inbox/"))
    [item] = inbox.pending()
    # When a pass archives it
    inbox.archive(item, FOLDER)
    # Then it is under processed/ in that pass's dated folder, and gone from the inbox
    assert s3.keys("fs/") == [f"fs/processed/{FOLDER}/gitlab/a.jsonl"]
    assert s3.get(f"fs/processed/{FOLDER}/gitlab/a.jsonl") == LINE
    assert inbox.pending() == []


def test_archiving_an_object_already_gone_is_a_no_op(s3: S3) -> None:
    # Given an object archived by another pass
    inbox, item = one_waiting(s3)
    inbox.archive(item, FOLDER)
    # When this pass archives it too, then nothing fails and there is still exactly one archived copy
    inbox.archive(item, "2026/01/02/another-pass")
    assert s3.keys("fs/") == [f"fs/processed/{FOLDER}/a.jsonl"]


def test_archiving_again_after_a_failure_between_copy_and_delete_leaves_one_copy(s3: S3) -> None:
    # Given a pass that copied an object to processed/ and died before deleting it
    inbox, item = one_waiting(s3)
    s3.client.copy_object(
        Bucket=s3.bucket,
        Key=inbox.archive_key(item, FOLDER),
        CopySource={"Bucket": s3.bucket, "Key": "fs/inbox/a.jsonl"},
    )
    # When the same pass archives it again, then it lands on the same key and leaves the inbox
    inbox.archive(item, FOLDER)
    assert s3.keys("fs/") == [inbox.archive_key(item, FOLDER)]


def test_quarantine_moves_the_object_aside_with_its_reason(s3: S3) -> None:
    # Given an unreadable object
    s3.put("fs/inbox/gitlab/bad.jsonl", b"\x00\x01")
    inbox = S3Inbox.from_uri(s3.uri("fs/inbox/"))
    [item] = inbox.pending()
    # When it is quarantined
    inbox.quarantine(item, "binary content, not JSON", FOLDER)
    # Then the object and a reason file are under quarantine/ in the pass's folder, and the inbox is empty
    where = f"fs/quarantine/{FOLDER}/gitlab/bad.jsonl"
    assert s3.keys("fs/") == [where, where + ".reason.txt"]
    assert s3.get(where + ".reason.txt") == b"binary content, not JSON\n"
    assert s3.get(where) == b"\x00\x01"


def test_reject_lines_stores_each_rejected_line_with_file_line_and_reason(s3: S3) -> None:
    # Given an object with two rejected lines
    inbox, item = one_waiting(s3)
    rejected = [Rejected("a.jsonl", 2, "missing required field 'job'", '{"run_id": 1}'), Rejected("a.jsonl", 5, "x")]
    # When they are stored
    inbox.reject_lines(item, rejected, FOLDER)
    # Then quarantine/ holds them as JSON Lines next to where the object would be quarantined
    assert s3.get(f"fs/quarantine/{FOLDER}/a.jsonl.rejected.jsonl").decode().splitlines() == [
        '{"file":"a.jsonl","line":2,"reason":"missing required field \'job\'","raw":"{\\"run_id\\": 1}"}',
        '{"file":"a.jsonl","line":5,"reason":"x","raw":null}',
    ]


def test_reject_lines_with_nothing_rejected_writes_nothing(s3: S3) -> None:
    # Given an object whose lines were all good; when its (empty) rejects are stored, then nothing is written
    s3.put("fs/inbox/a.jsonl", LINE)
    inbox = S3Inbox.from_uri(s3.uri("fs/inbox/"))
    inbox.reject_lines(inbox.pending()[0], [], FOLDER)
    assert s3.keys("fs/") == ["fs/inbox/a.jsonl"]


def test_reading_an_object_that_vanished_since_listing_says_so(s3: S3) -> None:
    # Given an object listed by this pass and then archived by another
    inbox, item = one_waiting(s3)
    inbox.archive(item, FOLDER)
    # When this pass reads it, then it learns the object is gone (and leaves it to whoever took it)
    with pytest.raises(ItemGone, match=r"fs/inbox/a.jsonl: gone since it was listed"):
        inbox.read(item)


def test_listing_a_missing_bucket_is_unavailable_naming_the_inbox(s3: S3) -> None:
    # Given an inbox in a bucket that does not exist; when listed, then the error names the inbox
    with pytest.raises(StoreUnavailable, match=r"^s3://no-such-bucket-fs/inbox/: cannot list inbox: NoSuchBucket"):
        S3Inbox.from_uri("s3://no-such-bucket-fs/inbox/").pending()


def test_an_archive_copy_that_s3_refuses_is_unavailable_naming_both_locations(moto_s3: S3) -> None:
    # Given a waiting object and S3 refusing the copy (a role without s3:PutObject on processed/)
    inbox, item = one_waiting(moto_s3)
    with Stubber(moto_s3.client) as stub:
        stub.add_client_error("copy_object", "AccessDenied", "Access Denied", 403)
        # When it is archived, then the error names the object and where it was going
        with pytest.raises(
            StoreUnavailable, match=r"fs/inbox/a.jsonl: cannot copy to s3://.*/fs/processed/.*AccessDenied"
        ):
            inbox.archive(item, FOLDER)


def test_a_delete_that_s3_refuses_after_the_copy_is_unavailable(moto_s3: S3) -> None:
    # Given S3 copying an object and then refusing to delete it
    inbox, item = one_waiting(moto_s3)
    with Stubber(moto_s3.client) as stub:
        stub.add_response("copy_object", {})
        stub.add_client_error("delete_object", "AccessDenied", "Access Denied", 403)
        # When it is archived, then the pass hears of it (the next pass archives it again, idempotently)
        with pytest.raises(StoreUnavailable, match="cannot delete after copying: AccessDenied"):
            inbox.archive(item, FOLDER)


def test_a_quarantine_reason_that_cannot_be_written_is_unavailable(moto_s3: S3) -> None:
    # Given S3 refusing writes to quarantine/; when an object is quarantined, then the error names the key
    inbox, item = one_waiting(moto_s3)
    with Stubber(moto_s3.client) as stub:
        stub.add_client_error("put_object", "AccessDenied", "Access Denied", 403)
        with pytest.raises(StoreUnavailable, match=r"fs/quarantine/.*/a.jsonl.reason.txt: cannot write: AccessDenied"):
            inbox.quarantine(item, "bad", FOLDER)


def test_reading_an_object_that_s3_refuses_is_unavailable(moto_s3: S3) -> None:
    # Given S3 refusing the read; when the object is read, then the error names it (the pass skips it)
    inbox, item = one_waiting(moto_s3)
    with Stubber(moto_s3.client) as stub:
        stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
        with pytest.raises(StoreUnavailable, match=r"fs/inbox/a.jsonl: cannot read: AccessDenied"):
            inbox.read(item)


def test_an_object_replaced_after_it_was_read_stays_in_the_inbox_when_archived(s3: S3) -> None:
    # Given an object read by the pass, then replaced under the same key by a producer
    s3.put("fs/inbox/latest.jsonl", LINE)
    inbox = S3Inbox.from_uri(s3.uri("fs/inbox/"))
    [item] = inbox.pending()
    assert inbox.read(item) == LINE
    newer = LINE.replace(b'"run_id": 1', b'"run_id": 2')
    s3.put("fs/inbox/latest.jsonl", newer)
    # When the pass archives what it read
    inbox.archive(item, FOLDER)
    # Then the new content is still waiting (conditional copy and delete on the ETag read), for the next pass
    assert s3.get("fs/inbox/latest.jsonl") == newer
    [again] = inbox.pending()
    assert inbox.read(again) == newer
    inbox.archive(again, FOLDER)
    assert s3.keys("fs/inbox/") == []
    assert s3.get(inbox.archive_key(again, FOLDER)) == newer


def test_an_object_larger_than_one_copy_may_be_is_archived_in_parts(s3: S3) -> None:
    # Given an inbox whose single-copy limit (5 GiB on S3) is set below the size of a waiting object
    body = b"x" * (6 * 1024 * 1024)
    inbox, item = one_waiting(s3, "big.jsonl", body)
    inbox.single_copy_max = 5 * 1024 * 1024
    assert inbox.read(item) == body
    # When it is archived
    inbox.archive(item, FOLDER)
    # Then it was copied whole, in parts, and left the inbox
    assert s3.keys("fs/") == [f"fs/processed/{FOLDER}/big.jsonl"]
    assert s3.get(f"fs/processed/{FOLDER}/big.jsonl") == body


def test_an_object_copied_in_parts_is_left_in_the_inbox_when_replaced_after_it_was_read(s3: S3) -> None:
    # Given a large object read by the pass, then replaced by a producer
    inbox, item = one_waiting(s3, "big.jsonl", b"x" * (6 * 1024 * 1024))
    inbox.single_copy_max = 5 * 1024 * 1024
    inbox.read(item)
    s3.put("fs/inbox/big.jsonl", b"y" * (6 * 1024 * 1024))
    # When it is quarantined, then the copy in parts is conditional too: the new content stays for the next pass
    inbox.quarantine(item, "too large", FOLDER)
    assert s3.get("fs/inbox/big.jsonl")[:1] == b"y"
    assert f"fs/quarantine/{FOLDER}/big.jsonl" not in s3.keys("fs/")
