"""Each signature or delivery id is accepted once: a marker object claimed with a conditional create.

Two Lambdas handling the same request at once both try to create the marker; the store lets exactly one succeed
(S3 `If-None-Match: *`, a local `O_CREAT | O_EXCL`), so a replay is refused however the requests are spread over
instances. Markers are named by a hash of the id, so nothing a caller sends becomes a key as written. On S3 a
lifecycle rule expires them (template.yaml: one day, longer than every window they guard).
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

from failstreak.errors import StoreUnavailable
from failstreak.s3client import CONFLICT_CODES, UsesS3, error_code, parse_uri, unavailable, vendor_errors

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def marker_name(kind: str, ident: str) -> str:
    """`<kind>/<sha256 of the id>`: one folder per route, a fixed-size name whatever the id holds."""
    return f"{kind}/{hashlib.sha256(ident.encode()).hexdigest()}"


class ReplayGuard(ABC):
    """Where ids are claimed. `claim` is true for the first caller of an id only; `release` gives it back (a
    request that could not be written, so that the platform's retry of it is accepted)."""

    location: str

    @abstractmethod
    def claim(self, kind: str, ident: str) -> bool: ...

    @abstractmethod
    def release(self, kind: str, ident: str) -> None: ...


class S3ReplayGuard(UsesS3, ReplayGuard):
    def __init__(self, uri: str, s3: S3Client | None = None) -> None:
        bucket, prefix = parse_uri(uri)
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.location = f"s3://{bucket}/{self.prefix}"
        self._s3 = s3

    def claim(self, kind: str, ident: str) -> bool:
        key = self.prefix + marker_name(kind, ident)
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"", IfNoneMatch="*")
        except vendor_errors() as e:
            if error_code(e) in CONFLICT_CODES:
                return False
            raise unavailable(self.location, "record a request id", e) from None
        return True

    def release(self, kind: str, ident: str) -> None:
        key = self.prefix + marker_name(kind, ident)
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        except vendor_errors() as e:
            raise unavailable(self.location, "release a request id", e) from None


class LocalReplayGuard(ReplayGuard):
    """Markers as files in a directory (a local front, tests). They are never removed."""

    def __init__(self, directory: str) -> None:
        self.root = Path(directory)
        self.location = str(self.root)

    def claim(self, kind: str, ident: str) -> bool:
        path = self.root / marker_name(kind, ident)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        except OSError as e:
            raise StoreUnavailable(f"{path}: cannot record a request id: {e.strerror or e}") from None
        os.close(fd)
        return True

    def release(self, kind: str, ident: str) -> None:
        (self.root / marker_name(kind, ident)).unlink(missing_ok=True)


def default_location(state: str) -> str:
    """`replay/` beside the state: `s3://b/failstreak/state.json` → `s3://b/failstreak/replay/`."""
    if state.startswith("s3://"):
        head, _, _ = state.rpartition("/")
        return head + "/replay/"
    return str(Path(state).parent / "replay")


def guard_for(location: str) -> ReplayGuard:
    return S3ReplayGuard(location) if location.startswith("s3://") else LocalReplayGuard(location)
