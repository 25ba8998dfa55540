"""The S3 state store: the state document as one object, written conditionally.

The state is written with `If-Match: <etag read>` (or `If-None-Match: *` when there was none), so two passes
can never overwrite each other: the loser gets `ConflictError`, reloads and re-applies (pipeline/persist.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from failstreak.errors import ConfigError, ConflictError
from failstreak.s3client import (
    CONFLICT_CODES,
    DENIED_CODES,
    MISSING_CODES,
    UsesS3,
    error_code,
    parse_uri,
    unavailable,
    vendor_errors,
)
from failstreak.state.base import Loaded, StateStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


# The version token of a document whose read was refused (`absent_if_denied`): written only by a create.
DENIED_TOKEN = "denied"  # noqa: S105 - a version token, not a secret


class S3StateStore(UsesS3, StateStore):
    """The state document in one S3 object; the version token is its ETag.

    `save` writes with `If-Match` (or `If-None-Match: *` for the first write) and raises `ConflictError`
    when another writer got there first. It stores the bytes it is given: the state codec gzips large
    documents (statecodec.COMPRESS_ABOVE); the store only labels them `application/gzip`.
    """

    def __init__(
        self, bucket: str, key: str, s3: S3Client | None = None, noun: str = "state", absent_if_denied: bool = False
    ) -> None:
        if not key or key.endswith("/"):
            raise ConfigError(f"s3://{bucket}/{key}: the {noun} location must name an object, not a prefix")
        # What the document is, in error messages (the state, the mutes document).
        self.noun = noun
        # S3 answers a read of a missing object with 403, not 404, to a role that may not list the bucket (the
        # HTTP front's, reading the mutes document before its first write). With this set, such a read counts as
        # "no document yet": the write that follows is a conditional create, which fails if there was one.
        self.absent_if_denied = absent_if_denied
        self.bucket = bucket
        self.key = key
        self.location = f"s3://{bucket}/{key}"
        self._s3 = s3

    @classmethod
    def from_uri(
        cls, uri: str, s3: S3Client | None = None, noun: str = "state", absent_if_denied: bool = False
    ) -> S3StateStore:
        bucket, key = parse_uri(uri)
        return cls(bucket, key, s3, noun, absent_if_denied)

    def load(self) -> Loaded:
        try:
            got = self.s3.get_object(Bucket=self.bucket, Key=self.key)
            data = got["Body"].read()
        except vendor_errors() as e:
            code = error_code(e)
            if code in MISSING_CODES:
                return Loaded(None, None)
            if self.absent_if_denied and code in DENIED_CODES:
                return Loaded(None, DENIED_TOKEN)
            raise unavailable(self.location, f"read {self.noun}", e) from None
        return Loaded(data, got["ETag"])

    def save(self, data: bytes, token: str | None) -> str:
        denied = token == DENIED_TOKEN
        if denied:
            token = None
        content_type = "application/gzip" if data[:2] == b"\x1f\x8b" else "application/json"
        try:
            if token is None:
                put = self.s3.put_object(
                    Bucket=self.bucket, Key=self.key, Body=data, ContentType=content_type, IfNoneMatch="*"
                )
            else:
                put = self.s3.put_object(
                    Bucket=self.bucket, Key=self.key, Body=data, ContentType=content_type, IfMatch=token
                )
        except vendor_errors() as e:
            code = error_code(e)
            if denied and code in CONFLICT_CODES:
                # The create found a document this role was refused to read: not a race, a missing permission.
                raise unavailable(
                    self.location, f"read {self.noun} (it exists, and reading it was refused)", e
                ) from None
            if code in CONFLICT_CODES or (token is not None and code in MISSING_CODES):
                raise ConflictError(f"{self.location}: {self.noun} changed since it was read ({code})") from None
            raise unavailable(self.location, f"write {self.noun}", e) from None
        return put["ETag"]
