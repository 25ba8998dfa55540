"""A small S3 client over the standard library: the operations the adapters use, signed with Signature Version 4.

Importing boto3 and building its S3 client costs about 0.19 s, more than a whole cold start may (docs/
performance.md, "Cold start"). When the credentials are plainly in the environment, as the Lambda runtime puts
them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), this client does the pass's S3 work
instead (`s3client.client()` chooses; docs/s3-and-lambda.md, "The S3 client"). Its methods take and return what
boto3's do, for the keys the adapters use: `get_object`, `head_object`, `put_object`, `delete_object`,
`copy_object`, `list_objects_v2` and its paginator, and the multipart copy (`create_multipart_upload`,
`upload_part_copy`, `complete_multipart_upload`, `abort_multipart_upload`). Errors are `S3ClientError`, whose
`response` has botocore's `ClientError` shape, or `S3Unreachable`; both are `S3LiteError`.

Like boto3 configured by `s3client`: connect timeout 5 s, read timeout 30 s, 4 attempts with exponential backoff
and full jitter on connection errors, timeouts, 5xx and throttling (never on a 4xx such as 412 or 409), and
connections kept open and shared by the threads of the process (at most `max_pool` idle ones kept).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, cast
from urllib.parse import quote, unquote_plus, urlsplit

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
# botocore's standard retry mode: these statuses and codes are transient, everything else is an answer.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
RETRY_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "InternalError",
    }
)
MAX_BACKOFF_S = 20.0
# The operations S3 may answer 200 and then report an error in the body of.
ERRORS_IN_200 = frozenset({"CopyObject", "UploadPartCopy", "CompleteMultipartUpload"})
# What a kept-alive connection the server closed while it was idle fails with (never a timeout).
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
USER_AGENT = "failstreak-s3lite/1"
# A bucket name that can be a host name's first label (virtual-hosted style); any other is addressed by path.
_DNS_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


class S3LiteError(Exception):
    """What this client raises: an answer from S3 (`S3ClientError`) or no answer (`S3Unreachable`)."""


class S3ClientError(S3LiteError):
    """S3 answered with an error. `response` is shaped as botocore's `ClientError.response`, so the adapters read
    `Error.Code`, `Error.Message` and `ResponseMetadata.HTTPStatusCode` the same way from either client."""

    def __init__(self, operation: str, status: int, code: str, message: str) -> None:
        self.operation = operation
        self.response: dict[str, Any] = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation: {message}")


class S3Unreachable(S3LiteError):
    """No answer: the connection failed or timed out on every attempt. The message names the host and the
    error, never a credential."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Endpoint:
    """Where requests go. `custom` endpoints (moto, SeaweedFS, MinIO) are addressed by path; AWS's regional
    endpoint by virtual host when the bucket name allows it."""

    scheme: str
    host: str
    port: int | None
    base_path: str
    custom: bool

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint URL: {url!r}")
        return cls(parts.scheme, parts.hostname, parts.port, parts.path.rstrip("/"), custom=True)

    @classmethod
    def aws(cls, region: str) -> Endpoint:
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        return cls("https", f"s3.{region}.{suffix}", None, "", custom=False)

    def address(self, bucket: str, key: str) -> tuple[str, str]:
        """(host header, path) of an object (or, with an empty key, of the bucket)."""
        netloc = self.host if self.port is None else f"{self.host}:{self.port}"
        if self.custom or not _virtual_host_ok(bucket):
            return netloc, f"{self.base_path}/{_uri_encode(bucket)}/{_uri_encode(key)}"
        return f"{bucket}.{netloc}", f"{self.base_path}/{_uri_encode(key)}"


def _virtual_host_ok(bucket: str) -> bool:
    # A dotted name would not match AWS's TLS certificate as a host name; path-style still serves it.
    return 3 <= len(bucket) <= 63 and set(bucket) <= _DNS_SAFE and bucket[0] != "-" and bucket[-1] != "-"


def _uri_encode(text: str, safe: str = "/~") -> str:
    """SigV4's URI encoding for S3: every byte but the unreserved characters percent-encoded (UTF-8), the path's
    slashes kept, nothing normalised (S3 keys may hold `//`, `.` and `..`)."""
    return quote(text, safe=safe)


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_query(params: Mapping[str, str]) -> str:
    pairs = sorted((_uri_encode(k, "-_.~"), _uri_encode(v, "-_.~")) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def sign(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: dict[str, str],
    payload_hash: str,
    credentials: Credentials,
    region: str,
    amz_date: str,
) -> str:
    """The `Authorization` header of a request whose `headers` (host and x-amz-* included) are all signed.

    `path` is already URI-encoded (as sent); `amz_date` is `YYYYMMDDTHHMMSSZ`.
    """
    names = sorted(headers, key=str.lower)
    canonical_headers = "".join(f"{n.lower()}:{' '.join(headers[n].split())}\n" for n in names)
    signed = ";".join(n.lower() for n in names)
    request = "\n".join((method, path, canonical_query(query), canonical_headers, signed, payload_hash))
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join(("AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()))
    key = signing_key(credentials.secret_key, amz_date[:8], region)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )


@dataclass(frozen=True)
class Settings:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 4
    max_pool: int = 16


def from_environment(settings: Settings, env: Mapping[str, str] | None = None) -> S3Lite | None:
    """This client when the environment plainly holds everything it needs, else None (boto3's whole chain of
    profiles, SSO, container and instance credentials, and config files, is then the one to use)."""
    env = os.environ if env is None else env
    access, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not (access and secret and region) or env.get("AWS_PROFILE"):
        return None
    if any(env.get(v, "").lower() == "true" for v in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT")):
        return None
    endpoint = _endpoint(env, region)
    if endpoint is None:
        return None  # boto3 names a malformed endpoint in its own words
    creds = Credentials(access, secret, env.get("AWS_SESSION_TOKEN") or None)
    return S3Lite(endpoint, region, creds, settings, ca_bundle=env.get("AWS_CA_BUNDLE") or None)


def _endpoint(env: Mapping[str, str], region: str) -> Endpoint | None:
    """The endpoint boto3 would take from the same variables; None when the one named is not a URL."""
    url = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true" or not url:
        return Endpoint.aws(region)
    try:
        return Endpoint.parse(url)
    except ValueError:
        return None


class _Pool:
    """Idle keep-alive connections to one endpoint, shared by the process's threads (each connection is used by
    one request at a time: taken from the pool, given back once its response is read to the end)."""

    def __init__(self, make: Callable[[], http.client.HTTPConnection], size: int) -> None:
        self._make = make
        self._size = size
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def take(self) -> tuple[http.client.HTTPConnection, bool]:
        """A connection, and whether it was used before (a server may have closed an idle one meanwhile)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._make(), False

    def give(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class StreamingBody(io.RawIOBase):
    """An object's body, read from the connection as the caller reads it (as botocore's `StreamingBody`).

    The connection goes back to the pool once the body is read to its end, and is dropped if the body is closed
    before (its unread bytes would otherwise be the next response's start). Fewer bytes than the declared length
    raise `S3Unreachable`.
    """

    def __init__(self, response: http.client.HTTPResponse, conn: http.client.HTTPConnection, pool: _Pool) -> None:
        self._response = response
        self._conn: http.client.HTTPConnection | None = conn
        self._pool = pool

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        owed = self._response.length  # bytes of the declared length not read yet (None: not declared)
        try:
            n = self._response.readinto(buffer)
        except (OSError, http.client.HTTPException) as e:
            self._drop()
            raise S3Unreachable(f"the connection broke while reading an object: {_reason(e)}") from None
        if n == 0 and len(buffer) and owed:
            # http.client reports a connection closed before the declared length as a plain end of the body.
            self._drop()
            raise S3Unreachable(f"the connection broke while reading an object: IncompleteRead ({owed} bytes short)")
        if n == 0 or self._response.isclosed():
            self._finish()
        return n

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            try:
                data = self._response.read()
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                raise S3Unreachable(f"the connection broke while reading an object: {_reason(e)}") from None
            self._finish()
            return data
        return super().read(size) or b""

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._response.will_close:
                conn.close()
            else:
                self._pool.give(conn)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        if self._conn is not None:
            if self._response.isclosed():
                self._finish()
            else:
                self._drop()
        super().close()


@dataclass
class _Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes | StreamingBody


class S3Lite:
    """An S3 client for one endpoint, region and set of credentials; safe to share between threads."""

    def __init__(
        self,
        endpoint: Endpoint,
        region: str,
        credentials: Credentials,
        settings: Settings = Settings(),
        ca_bundle: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.endpoint = endpoint
        self.region = region
        self._credentials = credentials
        self.settings = settings
        self._ca_bundle = ca_bundle
        self._clock = clock
        self._pools: dict[str, _Pool] = {}
        self._pools_lock = threading.Lock()
        self._sleep = time.sleep

    def __repr__(self) -> str:
        return f"S3Lite({self.endpoint.scheme}://{self.endpoint.host}, region={self.region})"

    # The operations, named and shaped as boto3's.

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        answer = self._call("GetObject", "GET", Bucket, Key, stream=True)
        return {**_object_head(answer.headers), "Body": answer.body}

    def head_object(self, *, Bucket: str, Key: str, IfMatch: str | None = None) -> dict[str, Any]:
        answer = self._call("HeadObject", "HEAD", Bucket, Key, headers=_present({"if-match": IfMatch}))
        return _object_head(answer.headers)

    def put_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Body: bytes = b"",
        ContentType: str | None = None,
        ContentEncoding: str | None = None,
        CacheControl: str | None = None,
        Metadata: Mapping[str, str] | None = None,
        IfMatch: str | None = None,
        IfNoneMatch: str | None = None,
    ) -> dict[str, Any]:
        headers = _present(
            {
                "content-type": ContentType,
                "content-encoding": ContentEncoding,
                "cache-control": CacheControl,
                "if-match": IfMatch,
                "if-none-match": IfNoneMatch,
            }
        )
        for name, value in (Metadata or {}).items():
            headers[f"x-amz-meta-{name.lower()}"] = value
        answer = self._call("PutObject", "PUT", Bucket, Key, headers=headers, body=bytes(Body))
        return {"ETag": answer.headers.get("ETag", ""), "ResponseMetadata": {"HTTPStatusCode": answer.status}}

    def delete_object(self, *, Bucket: str, Key: str, IfMatch: str | None = None) -> dict[str, Any]:
        answer = self._call("DeleteObject", "DELETE", Bucket, Key, headers=_present({"if-match": IfMatch}))
        return {"ResponseMetadata": {"HTTPStatusCode": answer.status}}

    def copy_object(
        self,
        *,
        Bucket: str,
        Key: str,
        CopySource: Mapping[str, str],
        CopySourceIfMatch: str | None = None,
    ) -> dict[str, Any]:
        headers = _present(
            {"x-amz-copy-source": _copy_source(CopySource), "x-amz-copy-source-if-match": CopySourceIfMatch}
        )
        root = self._xml(self._call("CopyObject", "PUT", Bucket, Key, headers=headers), "CopyObject")
        return {"CopyObjectResult": {"ETag": _text(root, "ETag"), "LastModified": _iso(_text(root, "LastModified"))}}

    def list_objects_v2(
        self,
        *,
        Bucket: str,
        Prefix: str = "",
        ContinuationToken: str | None = None,
        StartAfter: str | None = None,
        MaxKeys: int | None = None,
    ) -> dict[str, Any]:
        # Keys are asked URL-encoded (as botocore does): XML 1.0 cannot carry every character a key may hold.
        query = {"list-type": "2", "encoding-type": "url", "prefix": Prefix}
        query.update(
            _present(
                {
                    "continuation-token": ContinuationToken,
                    "start-after": StartAfter,
                    "max-keys": None if MaxKeys is None else str(MaxKeys),
                }
            )
        )
        root = self._xml(self._call("ListObjectsV2", "GET", Bucket, "", query=query), "ListObjectsV2")
        contents = [
            {
                "Key": unquote_plus(_text(c, "Key")),
                "Size": int(_text(c, "Size") or 0),
                "LastModified": _iso(_text(c, "LastModified")),
                "ETag": _text(c, "ETag"),
            }
            for c in root.iter(f"{S3_NS}Contents")
        ]
        page: dict[str, Any] = {
            "IsTruncated": _text(root, "IsTruncated") == "true",
            "KeyCount": int(_text(root, "KeyCount") or len(contents)),
            "Prefix": unquote_plus(_text(root, "Prefix")),
        }
        if contents:
            page["Contents"] = contents
        token = _text(root, "NextContinuationToken")
        if token:
            page["NextContinuationToken"] = token
        return page

    def get_paginator(self, operation: str) -> ListPaginator:
        if operation != "list_objects_v2":
            raise ValueError(f"this S3 client pages only list_objects_v2, not {operation}")
        return ListPaginator(self)

    def create_multipart_upload(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        answer = self._call("CreateMultipartUpload", "POST", Bucket, Key, query={"uploads": ""})
        return {"UploadId": _text(self._xml(answer, "CreateMultipartUpload"), "UploadId")}

    def upload_part_copy(
        self,
        *,
        Bucket: str,
        Key: str,
        UploadId: str,
        PartNumber: int,
        CopySource: Mapping[str, str],
        CopySourceRange: str,
        CopySourceIfMatch: str | None = None,
    ) -> dict[str, Any]:
        headers = _present(
            {
                "x-amz-copy-source": _copy_source(CopySource),
                "x-amz-copy-source-range": CopySourceRange,
                "x-amz-copy-source-if-match": CopySourceIfMatch,
            }
        )
        query = {"partNumber": str(PartNumber), "uploadId": UploadId}
        answer = self._call("UploadPartCopy", "PUT", Bucket, Key, query=query, headers=headers)
        return {"CopyPartResult": {"ETag": _text(self._xml(answer, "UploadPartCopy"), "ETag")}}

    def complete_multipart_upload(
        self,
        *,
        Bucket: str,
        Key: str,
        UploadId: str,
        MultipartUpload: Mapping[str, Any],
    ) -> dict[str, Any]:
        from xml.sax.saxutils import escape  # noqa: PLC0415 - only a copy in parts writes XML

        parts = "".join(
            f"<Part><ETag>{escape(p['ETag'])}</ETag><PartNumber>{int(p['PartNumber'])}</PartNumber></Part>"
            for p in MultipartUpload["Parts"]
        )
        body = f'<CompleteMultipartUpload xmlns="{S3_NS[1:-1]}">{parts}</CompleteMultipartUpload>'.encode()
        answer = self._call(
            "CompleteMultipartUpload",
            "POST",
            Bucket,
            Key,
            query={"uploadId": UploadId},
            body=body,
            headers={"content-type": "application/xml"},
        )
        return {"ETag": _text(self._xml(answer, "CompleteMultipartUpload"), "ETag")}

    def abort_multipart_upload(self, *, Bucket: str, Key: str, UploadId: str) -> dict[str, Any]:
        answer = self._call("AbortMultipartUpload", "DELETE", Bucket, Key, query={"uploadId": UploadId})
        return {"ResponseMetadata": {"HTTPStatusCode": answer.status}}

    def close(self) -> None:
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    # The request: address, sign, send, retry.

    def _call(
        self,
        operation: str,
        method: str,
        bucket: str,
        key: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        stream: bool = False,
    ) -> _Answer:
        host, path = self.endpoint.address(bucket, key)
        query = query or {}
        target = path + ("?" + canonical_query(query) if query else "")
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        last: Exception | None = None
        for attempt in range(self.settings.max_attempts):
            if attempt:
                self._sleep(random.random() * min(MAX_BACKOFF_S, 2.0 ** (attempt - 1)))  # noqa: S311 - jitter
            signed = self._signed(method, host, path, query, headers or {}, payload_hash, len(body))
            try:
                answer = self._send(host, method, target, signed, body, stream and method != "HEAD")
            except (OSError, http.client.HTTPException) as e:
                last = S3Unreachable(f"{self.endpoint.scheme}://{host}: {operation} got no answer: {_reason(e)}")
                continue
            error = self._failure(operation, method, answer)
            if error is None:
                return answer
            if not _retryable(error):
                raise error
            last = error
        assert last is not None
        raise last

    def _signed(
        self,
        method: str,
        host: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        payload_hash: str,
        length: int,
    ) -> dict[str, str]:
        amz_date = self._clock().strftime("%Y%m%dT%H%M%SZ")
        signed = {**headers, "host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
        if self._credentials.token:
            signed["x-amz-security-token"] = self._credentials.token
        if length or method in ("PUT", "POST"):
            signed["content-length"] = str(length)
        signed["authorization"] = sign(
            method, path, query, signed, payload_hash, self._credentials, self.region, amz_date
        )
        signed["user-agent"] = USER_AGENT
        return signed

    def _pool(self, host: str) -> _Pool:
        with self._pools_lock:
            pool = self._pools.get(host)
            if pool is None:
                pool = self._pools[host] = _Pool(lambda: self._connect(host), self.settings.max_pool)
            return pool

    def _connect(self, host: str) -> http.client.HTTPConnection:
        name = host.rsplit(":", 1)[0] if self.endpoint.port is not None else host
        timeout = self.settings.connect_timeout
        if self.endpoint.scheme == "https":
            import ssl  # noqa: PLC0415 - only an https endpoint needs it (AWS's; tests talk plain http)

            context = ssl.create_default_context(cafile=self._ca_bundle)
            return http.client.HTTPSConnection(name, self.endpoint.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(name, self.endpoint.port, timeout=timeout)

    def _send(
        self, host: str, method: str, target: str, headers: Mapping[str, str], body: bytes, stream: bool
    ) -> _Answer:
        pool = self._pool(host)
        conn, reused = pool.take()
        try:
            return self._exchange(pool, conn, method, target, headers, body, stream)
        except _STALE:
            conn.close()
            if not reused:
                raise
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        # The server closed an idle connection since its last use: once more, on a new one (not an attempt).
        conn = self._connect(host)
        try:
            return self._exchange(pool, conn, method, target, headers, body, stream)
        except (OSError, http.client.HTTPException):
            conn.close()
            raise

    def _exchange(
        self,
        pool: _Pool,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        stream: bool,
    ) -> _Answer:
        if conn.sock is None:
            conn.connect()  # within the connect timeout
            cast(socket.socket, conn.sock).settimeout(self.settings.read_timeout)
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        if stream and response.status < 300:
            return _Answer(response.status, response.headers, StreamingBody(response, conn, pool))
        data = response.read()
        if response.will_close:
            conn.close()
        else:
            pool.give(conn)
        return _Answer(response.status, response.headers, data)

    def _failure(self, operation: str, method: str, answer: _Answer) -> S3ClientError | None:
        """The error an answer is, if any. A copy or a completion may fail after S3 answered 200 (the status line
        is sent before the work is done): its body is then an error document, taken as botocore takes it, as a
        500 (and so retried)."""
        if answer.status >= 300 and answer.status != 304:
            return self._error(operation, method, answer)
        if operation not in ERRORS_IN_200 or not isinstance(answer.body, bytes):
            return None
        root = _parse(answer.body)
        if root is None or root.tag not in ("Error", f"{S3_NS}Error"):
            return None
        return S3ClientError(operation, 500, _text(root, "Code") or "InternalError", _text(root, "Message"))

    def _error(self, operation: str, method: str, answer: _Answer) -> S3ClientError:
        data = answer.body if isinstance(answer.body, bytes) else answer.body.read()
        code, message = str(answer.status), http.client.responses.get(answer.status, "")
        if data and method != "HEAD":
            root = _parse(data)
            if root is not None:
                code = _text(root, "Code") or code
                message = _text(root, "Message") or message
        return S3ClientError(operation, answer.status, code, message)

    def _xml(self, answer: _Answer, operation: str) -> Any:
        """The XML document of a successful answer."""
        assert isinstance(answer.body, bytes)
        root = _parse(answer.body)
        if root is None:
            raise S3ClientError(operation, answer.status, "MalformedResponse", "S3 answered with no readable XML")
        return root


class ListPaginator:
    """`get_paginator("list_objects_v2")`: `paginate(...)` yields each page, following continuation tokens."""

    def __init__(self, client: S3Lite) -> None:
        self._client = client

    def paginate(
        self,
        *,
        Bucket: str,
        Prefix: str = "",
        PaginationConfig: Mapping[str, int] | None = None,
    ) -> Iterator[dict[str, Any]]:
        size = (PaginationConfig or {}).get("PageSize")
        token: str | None = None
        while True:
            page = self._client.list_objects_v2(Bucket=Bucket, Prefix=Prefix, ContinuationToken=token, MaxKeys=size)
            yield page
            token = page.get("NextContinuationToken")
            if not page["IsTruncated"] or not token:
                return


def _retryable(error: S3ClientError) -> bool:
    status: int = error.response["ResponseMetadata"]["HTTPStatusCode"]
    return status in RETRY_STATUSES or error.response["Error"]["Code"] in RETRY_CODES


def _present(values: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


def _copy_source(source: Mapping[str, str]) -> str:
    return _uri_encode(f"{source['Bucket']}/{source['Key']}")


def _reason(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _parse(data: bytes) -> Any:
    from xml.etree import ElementTree  # noqa: PLC0415 - listings and errors only; a plain get needs no XML

    try:
        return ElementTree.fromstring(data)  # noqa: S314 - S3's own answers, over a signed connection
    except ElementTree.ParseError:
        return None


def _text(element: Any, name: str) -> str:
    """The text of a direct child, with or without S3's namespace (errors have none)."""
    found = element.find(f"{S3_NS}{name}")
    if found is None:
        found = element.find(name)
    return (found.text or "") if found is not None else ""


def _iso(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _object_head(headers: http.client.HTTPMessage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ETag": headers.get("ETag", ""),
        "ContentLength": int(headers.get("Content-Length") or 0),
        "Metadata": {
            k.lower()[len("x-amz-meta-") :]: v for k, v in headers.items() if k.lower().startswith("x-amz-meta-")
        },
    }
    for name, key in (
        ("Content-Type", "ContentType"),
        ("Content-Encoding", "ContentEncoding"),
        ("Content-Range", "ContentRange"),
    ):
        value = headers.get(name)
        if value is not None:
            out[key] = value
    modified = headers.get("Last-Modified")
    if modified:
        out["LastModified"] = parsedate_to_datetime(modified)
    return out
