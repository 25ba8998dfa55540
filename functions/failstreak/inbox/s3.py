"""The S3 inbox: execution files under a prefix, archived to the sibling processed/ and quarantine/ prefixes.

Layout for `inbox: s3://bucket/failstreak/inbox/`:

    s3://bucket/failstreak/inbox/<key>                                        waiting
    s3://bucket/failstreak/processed/YYYY/MM/DD/<pass id>/<key>               archived by that pass
    s3://bucket/failstreak/quarantine/YYYY/MM/DD/<pass id>/<key>              unreadable, with <key>.reason.txt
    s3://bucket/failstreak/quarantine/YYYY/MM/DD/<pass id>/<key>.rejected.jsonl   rejected lines of an ingested one

"""

from __future__ import annotations

import contextlib
import io
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import TYPE_CHECKING, Any, BinaryIO

from failstreak.core.model import Rejected
from failstreak.errors import ItemGone, StoreUnavailable
from failstreak.inbox.base import Done, Inbox, InboxItem, Rejoined, oldest_of, raise_first, rejected_body
from failstreak.s3client import (
    CONFLICT_CODES,
    MISSING_CODES,
    UsesS3,
    describe,
    error_code,
    parse_uri,
    unavailable,
    vendor_errors,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, CopySourceTypeDef


PROCESSED = "processed/"
QUARANTINE = "quarantine/"
# Inbox objects read, or moved, at once by one pass. Each is a round trip (tens of ms from a Lambda to S3)
# that the pass used to wait out one after the other; 8 overlaps most of that wait, and stays within the
# client's connection pool (MAX_POOL), so the workers never make botocore open and discard extra connections.
INBOX_WORKERS = 8
# Bytes of each object the workers read ahead of the pass. A smaller object is read whole; of a larger one the
# pass reads the rest from its open body as it parses, so the objects waiting hold at most this much each.
PREFETCH_BYTES = 2 * 1024 * 1024
# CopyObject copies at most 5 GiB; a larger object is copied in parts of COPY_PART (S3's minimum part: 5 MiB).
SINGLE_COPY_MAX = 5 * 1024**3
COPY_PART = 512 * 1024 * 1024
# S3 says a conditional write lost a race with these codes: 412 (the ETag moved on, or the key appeared),
# 409 (a concurrent conditional write was in flight), 404 on If-Match (the document was deleted meanwhile).
_NDJSON = "application/x-ndjson"


def _parent(prefix: str) -> str:
    """`a/b/inbox/` → `a/b/`; `inbox/` → ``; `` → ``."""
    head, _, _ = prefix.rstrip("/").rpartition("/")
    return head + "/" if head else ""


class _Body(io.RawIOBase):
    """An object's body as a stream; a connection lost while reading it is `StoreUnavailable` (the object stays
    in the inbox for the next pass), never a reason to quarantine it."""

    def __init__(self, body: Any, uri: str) -> None:
        self._body = body
        self._uri = uri

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data: bytes = self._body.read(len(buffer))
        except Exception as e:  # botocore and urllib3 raise many kinds of connection errors
            raise StoreUnavailable(f"{self._uri}: cannot read: {describe(e)}") from None
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._body.close()
        super().close()


class S3Inbox(UsesS3, Inbox):
    """Execution files under an S3 prefix, paged through however many there are.

    Processed objects are copied to the sibling `processed/YYYY/MM/DD/<pass id>/` prefix (the pass's folder)
    and then deleted; archiving an object that is already gone is a no-op, so two passes archiving the same
    object leave one archived copy, and a pass that died between copy and delete leaves its copy under its
    own pass id beside the one the next pass makes (both passes read it; dedupe counted its runs once).
    Keys ending in `/` (folder markers) are skipped, and so are the
    `processed/` and `quarantine/` prefixes when the inbox is the bucket's root and they fall inside it.

    The copy and the delete are conditional on the ETag the object had when this inbox read it: an object a
    producer replaced under the same key after the pass read it is left in the inbox, so the next pass reads
    its new content instead of archiving (and losing) runs nobody counted.
    """

    page_size = 1000  # S3's own maximum per ListObjectsV2 page
    workers = INBOX_WORKERS
    single_copy_max = SINGLE_COPY_MAX
    copy_part = COPY_PART

    def __init__(self, bucket: str, prefix: str, s3: S3Client | None = None) -> None:
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.bucket = bucket
        self.prefix = prefix
        self.location = f"s3://{bucket}/{prefix}"
        parent = _parent(prefix)
        self.processed_prefix = parent + PROCESSED
        self.quarantine_prefix = parent + QUARANTINE
        self._inside = tuple(p for p in (self.processed_prefix, self.quarantine_prefix) if p.startswith(prefix))
        self._s3 = s3
        self._read_etags: dict[str, str] = {}

    @classmethod
    def from_uri(cls, uri: str, s3: S3Client | None = None) -> S3Inbox:
        bucket, prefix = parse_uri(uri)
        return cls(bucket, prefix, s3)

    def _uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def pending(self) -> list[InboxItem]:
        return self.oldest(None)[0]

    def oldest(self, limit: int | None) -> tuple[list[InboxItem], int]:
        try:
            return oldest_of(self._listing(), limit)
        except vendor_errors() as e:
            raise unavailable(self.location, "list inbox", e) from None

    def _listing(self) -> Iterator[InboxItem]:
        """Every object under the prefix, a page at a time."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": self.page_size}
        )
        for page in pages:
            for obj in page.get("Contents", ()):
                key = obj["Key"]
                if key.endswith("/") or key.startswith(self._inside):
                    continue
                yield InboxItem(
                    key=key[len(self.prefix) :],
                    size=obj.get("Size", 0),
                    modified_ms=int(obj["LastModified"].timestamp() * 1000),
                )

    def read(self, item: InboxItem) -> bytes:
        with self.open(item) as body:
            return body.read()

    def open(self, item: InboxItem) -> BinaryIO:
        uri = self._uri(self.prefix + item.key)
        try:
            got = self.s3.get_object(Bucket=self.bucket, Key=self.prefix + item.key)
        except vendor_errors() as e:
            if error_code(e) in MISSING_CODES:
                # Another pass archived it after this one listed it: its runs are that pass's to count.
                raise ItemGone(f"{uri}: gone since it was listed (archived by another pass?)") from None
            raise unavailable(uri, "read", e) from None
        # Called from read_many's workers too: each sets its own key, and a dict item set is atomic in CPython.
        self._read_etags[item.key] = got["ETag"]
        return io.BufferedReader(_Body(got["Body"], uri))

    def _fetch(self, item: InboxItem) -> BinaryIO:
        """`open`, and the first PREFETCH_BYTES read (the whole of a small object, whose connection is then free)."""
        body = self.open(item)
        head = body.read(PREFETCH_BYTES)
        if len(head) < PREFETCH_BYTES:
            body.close()
            return io.BytesIO(head)
        return io.BufferedReader(Rejoined(head, body))

    def read_many(self, items: Sequence[InboxItem]) -> Iterator[tuple[InboxItem, BinaryIO | Exception]]:
        """`open` on `workers` threads, yielded in the order given.

        At most `2 * workers` objects are fetched ahead of the consumer, and at most PREFETCH_BYTES of each:
        enough to keep every worker busy while the pass parses, few enough that what is held is bounded
        whatever the objects' sizes.
        """
        if self.workers <= 1 or len(items) <= 1:
            yield from super().read_many(items)
            return
        _ = self.s3  # the shared client is taken here, once, not raced for by the workers
        todo = iter(items)
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="failstreak-inbox")
        try:
            ahead: deque[tuple[InboxItem, Future[BinaryIO]]] = deque(
                (item, pool.submit(self._fetch, item)) for item in islice(todo, 2 * self.workers)
            )
            while ahead:
                item, reading = ahead.popleft()
                following = next(todo, None)
                if following is not None:
                    ahead.append((following, pool.submit(self._fetch, following)))
                try:
                    data = reading.result()
                except Exception as e:  # one object's failure must not stop the others
                    yield item, e
                    continue
                yield item, data
        finally:
            # The consumer stopped early (the batch's bound was reached): reads not started are dropped, and the
            # bodies read ahead are closed.
            pool.shutdown(wait=True, cancel_futures=True)
            for _, reading in ahead:
                if not reading.cancelled() and reading.exception() is None:
                    reading.result().close()

    def finish_many(self, done: Sequence[Done], folder: str) -> None:
        """`finish` on `workers` threads. Each item's own steps stay in order (reason or rejected lines, then the
        conditional move); items are independent, so their order among themselves does not matter. Failures
        are reported as the port says: the first in the order given, once every item was attempted.
        """
        if self.workers <= 1 or len(done) <= 1:
            super().finish_many(done, folder)
            return
        _ = self.s3
        failed: list[StoreUnavailable] = []
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="failstreak-inbox")
        try:
            for finishing in [pool.submit(self.finish, d, folder) for d in done]:
                try:
                    finishing.result()
                except StoreUnavailable as e:
                    failed.append(e)
        finally:
            # Only an unexpected error gets here with work left: the items not yet started stay in the inbox.
            pool.shutdown(wait=True, cancel_futures=True)
        raise_first(failed)

    def archive_key(self, item: InboxItem, folder: str) -> str:
        """Where `item` goes when the pass whose folder is `folder` archives it."""
        return f"{self.processed_prefix}{folder}/{item.key}"

    def _move(self, item: InboxItem, dest: str) -> None:
        src = self.prefix + item.key
        etag = self._read_etags.get(item.key)
        if not self._copy(item, dest):
            return
        try:
            if etag is None:
                self.s3.delete_object(Bucket=self.bucket, Key=src)
            else:
                self.s3.delete_object(Bucket=self.bucket, Key=src, IfMatch=etag)
        except vendor_errors() as e:
            code = error_code(e)
            if code in MISSING_CODES or code in CONFLICT_CODES:
                return  # deleted by a concurrent pass, or replaced since it was read (left for the next pass)
            raise unavailable(self._uri(src), "delete after copying", e) from None

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except vendor_errors() as e:
            raise unavailable(self._uri(key), "write", e) from None

    def archive(self, item: InboxItem, folder: str) -> None:
        self._move(item, self.archive_key(item, folder))

    def keep(self, folder: str, name: str, body: bytes) -> None:
        self._put(f"{self.processed_prefix}{folder}/{name}", body, _NDJSON)

    def quarantine(self, item: InboxItem, reason: str, folder: str) -> None:
        dest = f"{self.quarantine_prefix}{folder}/{item.key}"
        self._put(dest + ".reason.txt", (reason + "\n").encode(), "text/plain; charset=utf-8")
        self._move(item, dest)

    def reject_lines(self, item: InboxItem, rejected: list[Rejected], folder: str, unlisted: int = 0) -> None:
        if not rejected and not unlisted:
            return
        dest = f"{self.quarantine_prefix}{folder}/{item.key}"
        if unlisted:
            # Every rejected line is kept: those not listed are in the object itself, copied whole.
            self._copy(item, dest)
        self._put(dest + ".rejected.jsonl", rejected_body(item.key, rejected, unlisted, self._uri(dest)), _NDJSON)

    def _copy(self, item: InboxItem, dest: str) -> bool:
        """Copy the object as this pass read it to `dest`; False when it is gone or was replaced since."""
        src = self.prefix + item.key
        etag = self._read_etags.get(item.key)
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": src}
        try:
            if item.size > self.single_copy_max:
                # CopyObject refuses a source over 5 GiB, and a producer may write one: it is copied in parts.
                self._copy_in_parts(source, dest, etag)
            elif etag is None:
                self.s3.copy_object(Bucket=self.bucket, Key=dest, CopySource=source)
            else:
                self.s3.copy_object(Bucket=self.bucket, Key=dest, CopySource=source, CopySourceIfMatch=etag)
        except vendor_errors() as e:
            code = error_code(e)
            if code in MISSING_CODES or code in CONFLICT_CODES:
                return False  # moved by another pass, or replaced since it was read (left for the next pass)
            raise unavailable(self._uri(src), f"copy to {self._uri(dest)}", e) from None
        return True

    def _copy_in_parts(self, source: CopySourceTypeDef, dest: str, etag: str | None) -> None:
        """A multipart copy of `source` to `dest`, each part conditional on the ETag read (as the whole copy is),
        abandoned (and its parts freed) on any failure. The calls are the plain S3 operations both clients have."""
        # boto3 refuses a None argument: the conditions are given only when there is an ETag.
        head_if: dict[str, Any] = {} if etag is None else {"IfMatch": etag}
        copy_if: dict[str, Any] = {} if etag is None else {"CopySourceIfMatch": etag}
        size = int(self.s3.head_object(Bucket=source["Bucket"], Key=source["Key"], **head_if)["ContentLength"])
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key=dest)["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            for number, start in enumerate(range(0, size, self.copy_part), start=1):
                end = min(start + self.copy_part, size) - 1
                part = self.s3.upload_part_copy(
                    Bucket=self.bucket,
                    Key=dest,
                    UploadId=upload,
                    PartNumber=number,
                    CopySource=source,
                    CopySourceRange=f"bytes={start}-{end}",
                    **copy_if,
                )
                parts.append({"ETag": part["CopyPartResult"]["ETag"], "PartNumber": number})
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=dest, UploadId=upload, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(*vendor_errors()):
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=dest, UploadId=upload)
            raise
