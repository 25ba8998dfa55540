"""Where the run-history page is kept (docs/page.md): a local file or a private S3 object.

A page is rewritten only when its fingerprint (views/page.py) differs from the one already there: a local file
carries it in its head, an S3 object in its metadata (one HEAD request, no download). The S3 object is written
gzip-compressed (`Content-Encoding: gzip`) and without any ACL, so it is as private as its bucket; people open it
through a presigned URL (`presigned_url`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from failstreak.errors import ConfigError, StoreUnavailable
from failstreak.views.page import Page, fingerprint_of, inputs_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# A SigV4 presigned URL lives at most 7 days.
MAX_URL_SECONDS = 7 * 24 * 3600
CONTENT_TYPE = "text/html; charset=utf-8"
FINGERPRINT_KEY = "fingerprint"
INPUTS_KEY = "inputs"
HEAD_BYTES = 4096
# The state's level: most of the gain for a fraction of the time (a page of 46 MB in 0.14 s instead of 0.40 s at
# level 6, 4.7 MB instead of 3.6), paid by every pass that changes the page.
GZIP_LEVEL = 1


def write_page(location: str, page: Page, *, force: bool = False) -> bool:
    """Keep `page` at `location` (a local path or an s3:// URI); False when the same page was already there.

    `force` writes even an unchanged page. Raises StoreUnavailable when the location cannot be written.
    """
    if location.startswith("s3://"):
        return _write_s3(location, page, force)
    return _write_local(Path(location), page, force)


def _write_local(path: Path, page: Page, force: bool) -> bool:
    try:
        if not force and path.is_file():
            with path.open("rb") as f:
                head = f.read(HEAD_BYTES).decode("utf-8", "replace")
            if fingerprint_of(head) == page.fingerprint:
                return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.writelines(page.parts)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise StoreUnavailable(f"{path}: cannot write the page: {e.strerror or e}") from None
    return True


def _object(uri: str) -> tuple[str, str]:
    from failstreak import s3client  # noqa: PLC0415 - a local page never loads an S3 client

    bucket, key = s3client.parse_uri(uri)
    if not key or key.endswith("/"):
        raise ConfigError(f"{uri}: name the page's object, as s3://bucket/failstreak/page.html")
    return bucket, key


def _write_s3(uri: str, page: Page, force: bool) -> bool:
    from failstreak import s3client  # noqa: PLC0415 - a local page never loads an S3 client

    bucket, key = _object(uri)
    s3 = s3client.client()
    try:
        if not force and _s3_fingerprint(bucket, key) == page.fingerprint:
            return False
        s3.put_object(
            Bucket=bucket,
            Key=key,
            # Stored compressed (a tenth of the size or less; browsers and curl --compressed undo it themselves).
            Body=_gzipped(page),
            ContentType=CONTENT_TYPE,
            ContentEncoding="gzip",
            CacheControl="private, no-cache",
            Metadata={FINGERPRINT_KEY: page.fingerprint, **({INPUTS_KEY: page.inputs} if page.inputs else {})},
        )
    except s3client.vendor_errors() as e:
        raise s3client.unavailable(uri, "write the page", e) from None
    return True


def _gzipped(page: Page) -> bytes:
    """The page gzip-compressed (with no time in its header: the same page, the same bytes), piece by piece."""
    z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    out = [z.compress(part) for part in page.parts]
    out.append(z.flush())
    return b"".join(out)


def _s3_fingerprint(bucket: str, key: str, name: str = FINGERPRINT_KEY) -> str | None:
    from failstreak import s3client  # noqa: PLC0415 - a local page never loads an S3 client

    try:
        head = s3client.client().head_object(Bucket=bucket, Key=key)
    except s3client.vendor_errors() as e:
        if s3client.error_code(e) in s3client.MISSING_CODES:
            return None
        raise
    return head.get("Metadata", {}).get(name)


def stored_inputs(location: str) -> str | None:
    """The digest of the inputs of the page kept at `location` (`Page.inputs`), None when there is no page or it
    has none. Raises StoreUnavailable when the location cannot be read."""
    if location.startswith("s3://"):
        from failstreak import s3client  # noqa: PLC0415 - a local page never loads an S3 client

        bucket, key = _object(location)
        try:
            return _s3_fingerprint(bucket, key, INPUTS_KEY)
        except s3client.vendor_errors() as e:
            raise s3client.unavailable(location, "read the page", e) from None
    path = Path(location)
    try:
        with path.open("rb") as f:
            return inputs_of(f.read(HEAD_BYTES).decode("utf-8", "replace"))
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreUnavailable(f"{path}: cannot read the page: {e.strerror or e}") from None


@dataclass(frozen=True, slots=True)
class StoredPage:
    """A page as kept: its bytes (None when over the reader's bound: left unread), whether they are gzip (an S3
    page) or the HTML itself (a local one), and their size."""

    body: bytes | None
    gzipped: bool
    size: int


def read_page(location: str, max_bytes: int, s3: S3Client | None = None) -> StoredPage | None:
    """The page kept at `location`, its bytes read only when at most `max_bytes`; None when there is none yet.

    Raises StoreUnavailable when the location cannot be read.
    """
    if location.startswith("s3://"):
        from failstreak import s3client  # noqa: PLC0415 - a local page never loads an S3 client

        return _read_s3(location, max_bytes, s3 or s3client.client())
    path = Path(location)
    try:
        size = path.stat().st_size
        body = path.read_bytes() if size <= max_bytes else None
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreUnavailable(f"{path}: cannot read the page: {e.strerror or e}") from None
    return StoredPage(body, gzipped=False, size=size)


def _read_s3(uri: str, max_bytes: int, s3: S3Client) -> StoredPage | None:
    from failstreak import s3client  # noqa: PLC0415 - a local page never loads an S3 client

    bucket, key = _object(uri)
    try:
        got = s3.get_object(Bucket=bucket, Key=key)
        size = int(got["ContentLength"])
        stream = got["Body"]
        try:
            # A page over the bound is never pulled into the function's memory.
            body = stream.read() if size <= max_bytes else None
        finally:
            stream.close()
    except s3client.vendor_errors() as e:
        if s3client.error_code(e) in s3client.MISSING_CODES:
            return None
        raise s3client.unavailable(uri, "read the page", e) from None
    return StoredPage(body, gzipped=got.get("ContentEncoding") == "gzip", size=size)


@dataclass(frozen=True, slots=True)
class PresignedUrl:
    url: str
    seconds: int
    temporary_credentials: bool


def presigned_url(uri: str, seconds: int) -> PresignedUrl:
    """A URL that opens the page at `uri` for `seconds` (at most 7 days) without AWS credentials.

    Signed with Signature Version 4 by the standard credential chain. `temporary_credentials` is True when those
    credentials carry a session token (a role's, the Lambda's, SSO): the URL stops working when they expire,
    which may be well before `seconds`.
    """
    from failstreak import s3client  # noqa: PLC0415 - a local page never loads an S3 client

    if not 1 <= seconds <= MAX_URL_SECONDS:
        raise ConfigError(f"a presigned URL lives between 1 second and 7 days; {seconds} seconds asked")
    bucket, key = _object(uri)
    try:
        s3client.client().head_object(Bucket=bucket, Key=key)
        signer, temporary = _signer()
        url = signer.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds, HttpMethod="GET"
        )
    except s3client.vendor_errors() as e:
        if s3client.error_code(e) in s3client.MISSING_CODES:
            raise StoreUnavailable(f"{uri}: no page there yet; a pass with `page:` set writes it") from None
        raise s3client.unavailable(uri, "sign a URL for the page", e) from None
    return PresignedUrl(url, seconds, temporary_credentials=temporary)


def _signer() -> tuple[S3Client, bool]:
    """A client that signs with Signature Version 4 (the shared one may pick the older scheme, whose URLs
    have no 7-day bound), and whether its credentials carry a session token."""
    import boto3  # noqa: PLC0415 - only S3 users pay for boto3
    from botocore.config import Config  # noqa: PLC0415

    session = boto3.session.Session()
    credentials = session.get_credentials()
    client = session.client("s3", config=Config(signature_version="s3v4"))
    return client, bool(credentials is not None and credentials.token)
