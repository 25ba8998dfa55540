"""The light S3 client (failstreak/s3lite.py) on its own: its signature is botocore's, a signature-checking S3
server accepts it, it retries what botocore's standard mode retries and nothing else, it gives up on a silent
server, and no credential ever shows in what it raises or logs.

The adapters' own S3 tests run through it too (`BOTH_CLIENTS` in tests/integration/s3/conftest.py).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.utils import percent_encode

from failstreak import s3client
from failstreak.errors import ConfigError, ConflictError, StoreUnavailable
from failstreak.inbox.base import InboxItem
from failstreak.inbox.s3 import S3Inbox
from failstreak.s3lite import (
    Credentials,
    Endpoint,
    S3ClientError,
    S3Lite,
    S3Unreachable,
    Settings,
    from_environment,
)
from failstreak.state.s3 import S3StateStore
from tests.integration.s3.loopback import Answer, Loopback, Received
from tests.integration.s3.s3server import SeaweedServer
from tests.integration.smtp_server import certificate

pytestmark = pytest.mark.integration

REGION = "eu-west-3"
ACCESS = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # a fake secret, looked for in every error
TOKEN = "FwoGZXIvYXdzEXAMPLE//session+token=="  # a fake session token
AT = datetime(2026, 12, 5, 3, 4, 5, tzinfo=UTC)
# Keys as producers and passes write them: spaces, unicode, and every character SigV4 encodes specially.
KEYS = [
    "fs/inbox/plain.jsonl",
    "fs/inbox/with space and+plus=equals.jsonl",
    "fs/inbox/ünïcødé/日本語.jsonl",
    "fs/inbox/a~tilde_under-dash.dot!star*(paren)'quote.jsonl",
    "fs/inbox/percent%20literal&amp;semi;colon:comma,at@dollar$.jsonl",
    "fs/processed/2026/12/05/pass-1/nested//double-slash.jsonl",
]
# What SeaweedFS keeps as written (its filer folds `//` in a key into `/`, which S3 does not).
STORED = KEYS[:-1]
LIST_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<KeyCount>0</KeyCount><IsTruncated>false</IsTruncated><Prefix></Prefix></ListBucketResult>"
)
PRECONDITION_FAILED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code>'
    b"<Message>At least one of the pre-conditions you specified did not hold</Message></Error>"
)
SLOW_DOWN = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"


def lite(
    endpoint: str, token: str | None = None, secret: str = SECRET, fixed: bool = True, **settings: float
) -> S3Lite:
    """A light client on `endpoint`, its clock fixed at AT (or the real one, for a server that checks the time)."""
    clock = (lambda: AT) if fixed else (lambda: datetime.now(UTC))
    return S3Lite(
        Endpoint.parse(endpoint), REGION, Credentials(ACCESS, secret, token), Settings(**settings), clock=clock
    )


def botocore_authorization(request: Received, endpoint: str, token: str | None) -> str:
    """The Authorization header botocore's S3 signer gives the same request, at the same time."""
    target = urlsplit(request.path)
    signed = {k: v for k, v in request.headers.items() if k not in ("authorization", "user-agent", "connection")}
    aws = AWSRequest(
        method=request.method,
        url=endpoint + target.path,
        params=parse_qsl(target.query, keep_blank_values=True),
        headers=signed,
        data=request.body,
    )
    auth = S3SigV4Auth(BotoCredentials(ACCESS, SECRET, token), "s3", REGION)
    aws.context["timestamp"] = AT.strftime("%Y%m%dT%H%M%SZ")
    signature = auth.signature(auth.string_to_sign(aws, auth.canonical_request(aws)), aws)
    headers = auth.headers_to_sign(aws)
    scope = f"{ACCESS}/{auth.credential_scope(aws)}"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={auth.signed_headers(headers)}, Signature={signature}"


def botocore_path(bucket: str, key: str) -> str:
    """The path botocore's S3 serializer builds for an object (a path-style endpoint)."""
    return f"/{percent_encode(bucket, safe='/~')}/{percent_encode(key, safe='/~')}"


@pytest.mark.parametrize("token", [None, TOKEN], ids=["keys", "session-token"])
@pytest.mark.parametrize("key", KEYS)
def test_every_request_is_signed_exactly_as_botocore_signs_it(key: str, token: str | None) -> None:
    # Given a light client talking to a server that records the requests as sent
    with Loopback(default=Answer(200, LIST_XML, {"ETag": '"e"'})) as server:
        s3 = lite(server.endpoint, token)
        # When it makes each kind of request the adapters make, with the key
        s3.put_object(
            Bucket="my-bucket",
            Key=key,
            Body=b'{"job": "etl"}\n',
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
            CacheControl="private, no-cache",
            Metadata={"fingerprint": "abc123"},
            IfMatch='"0123456789abcdef"',
        )
        s3.put_object(Bucket="my-bucket", Key=key, Body=b"", IfNoneMatch="*")
        s3.head_object(Bucket="my-bucket", Key=key)
        s3.delete_object(Bucket="my-bucket", Key=key, IfMatch='"e"')
        list(s3.get_paginator("list_objects_v2").paginate(Bucket="my-bucket", Prefix=key))
        s3.list_objects_v2(Bucket="my-bucket", Prefix="fs/", ContinuationToken="1/a+b=c==", MaxKeys=1000)
        s3.get_object(Bucket="my-bucket", Key=key)["Body"].read()
    # Then each is addressed as botocore addresses it, and signed with botocore's signature for the same request
    assert len(server.received) == 7
    for request in server.received:
        assert urlsplit(request.path).path == botocore_path("my-bucket", "" if "list-type" in request.path else key)
        assert request.headers["authorization"] == botocore_authorization(request, server.endpoint, token)
        assert ("x-amz-security-token" in request.headers) == (token is not None)
    # And every body is signed by its own SHA-256 (never UNSIGNED-PAYLOAD)
    assert {r.headers["x-amz-content-sha256"] for r in server.received} >= {
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    }
    assert all(r.headers["x-amz-content-sha256"] != "UNSIGNED-PAYLOAD" for r in server.received)


def test_a_copy_names_its_source_encoded_and_is_signed_as_botocore_signs_it() -> None:
    # Given a light client and a recording server
    copied = (
        b'<CopyObjectResult><ETag>"c"</ETag><LastModified>2026-12-05T03:04:05.000Z</LastModified></CopyObjectResult>'
    )
    with Loopback(default=Answer(200, copied)) as server:
        # When it copies an object whose key holds spaces and unicode, conditionally on its ETag
        got = lite(server.endpoint, TOKEN).copy_object(
            Bucket="b",
            Key="fs/processed/ü x.jsonl",
            CopySource={"Bucket": "b", "Key": "fs/inbox/ü x.jsonl"},
            CopySourceIfMatch='"e"',
        )
    # Then the source header is the encoded bucket/key, the condition is sent, and botocore signs it the same
    [request] = server.received
    assert request.headers["x-amz-copy-source"] == "b/fs/inbox/%C3%BC%20x.jsonl"
    assert request.headers["x-amz-copy-source-if-match"] == '"e"'
    assert request.headers["authorization"] == botocore_authorization(request, server.endpoint, TOKEN)
    assert got["CopyObjectResult"]["ETag"] == '"c"'
    assert got["CopyObjectResult"]["LastModified"] == datetime(2026, 12, 5, 3, 4, 5, tzinfo=UTC)


def test_aws_is_addressed_by_virtual_host_at_the_regional_endpoint_and_by_path_for_dotted_buckets() -> None:
    # Given the endpoint of a region (no custom endpoint)
    endpoint = Endpoint.aws(REGION)
    # Then a plain bucket is its own host name, and a dotted one (it would not match the TLS certificate) a path
    assert endpoint.address("my-bucket", "a b/ü") == ("my-bucket.s3.eu-west-3.amazonaws.com", "/a%20b/%C3%BC")
    assert endpoint.address("my.bucket", "k") == ("s3.eu-west-3.amazonaws.com", "/my.bucket/k")
    assert Endpoint.aws("cn-north-1").host == "s3.cn-north-1.amazonaws.com.cn"
    # And a custom endpoint (moto, SeaweedFS, MinIO) is always addressed by path, below its own path if any
    assert Endpoint.parse("http://127.0.0.1:9000/s3/").address("b", "k") == ("127.0.0.1:9000", "/s3/b/k")


@pytest.fixture(scope="module")
def signed_seaweed() -> Iterator[SeaweedServer]:
    """SeaweedFS checking every request's SigV4 signature against one identity."""
    server = SeaweedServer(credentials=(ACCESS, SECRET)).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_server_that_checks_signatures_accepts_every_operation_on_keys_of_any_character(
    signed_seaweed: SeaweedServer,
) -> None:
    # Given a light client with the server's credentials, and a bucket
    s3 = lite(signed_seaweed.endpoint, fixed=False)
    bucket = f"signed-{os.getpid()}"
    _create_bucket(signed_seaweed.endpoint, bucket)
    # When it writes, reads, lists (one key a page), copies and deletes objects under every kind of key
    for i, key in enumerate(STORED):
        s3.put_object(Bucket=bucket, Key=key, Body=b"body %d" % i, ContentType="text/plain")
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="fs/", PaginationConfig={"PageSize": 1})
    )
    listed = [o["Key"] for p in pages for o in p.get("Contents", ())]
    bodies = {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in STORED}
    heads = {key: s3.head_object(Bucket=bucket, Key=key)["ContentLength"] for key in STORED}
    s3.copy_object(Bucket=bucket, Key="copies/" + STORED[2], CopySource={"Bucket": bucket, "Key": STORED[2]})
    for key in STORED:
        s3.delete_object(Bucket=bucket, Key=key)
    # Then every request was accepted, and each key came back as written
    assert sorted(listed) == sorted(STORED)
    assert len(pages) == len(STORED)
    assert bodies == {key: b"body %d" % i for i, key in enumerate(STORED)}
    assert heads == dict.fromkeys(STORED, 6)
    remaining = s3.list_objects_v2(Bucket=bucket, Prefix="")
    assert [o["Key"] for o in remaining["Contents"]] == ["copies/" + STORED[2]]
    assert s3.get_object(Bucket=bucket, Key="copies/" + STORED[2])["Body"].read() == b"body 2"


def _create_bucket(endpoint: str, bucket: str) -> None:
    """A bucket, made by boto3 with the signed server's credentials."""
    import boto3

    boto3.session.Session(aws_access_key_id=ACCESS, aws_secret_access_key=SECRET, region_name=REGION).client(
        "s3", endpoint_url=endpoint
    ).create_bucket(Bucket=bucket)


def test_a_wrong_secret_is_refused_by_the_server_and_named_without_any_credential(
    signed_seaweed: SeaweedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a bucket, and a light client whose secret is not the server's, logging everything
    caplog.set_level(logging.DEBUG)
    bucket = f"refused-{os.getpid()}"
    _create_bucket(signed_seaweed.endpoint, bucket)
    wrong = "not-the-secret/" + SECRET[::-1]
    s3 = lite(signed_seaweed.endpoint, secret=wrong, fixed=False)
    # When it reads the state through the state store
    store = S3StateStore(bucket, "fs/state.json", s3)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable) as refused:
        store.load()
    # Then the server refused the signature, and the error says so without the secret anywhere
    assert str(refused.value).startswith(f"s3://{bucket}/fs/state.json: cannot read state: SignatureDoesNotMatch")
    said = f"{refused.value} {refused.value!r} {s3!r} {caplog.text}"
    assert [c for c in (wrong, SECRET) if c in said] == []


def test_a_503_is_retried_and_the_next_answer_returned() -> None:
    # Given a server that answers 503 SlowDown, then 200
    with Loopback([Answer(503, SLOW_DOWN), Answer(200, b"state", {"ETag": '"v1"'})]) as server:
        # When the client reads an object
        got = lite(server.endpoint).get_object(Bucket="b", Key="fs/state.json")
        body = got["Body"].read()
    # Then it asked twice, and returned the second answer
    assert [r.method for r in server.received] == ["GET", "GET"]
    assert (body, got["ETag"], got["ContentLength"]) == (b"state", '"v1"', 5)


def test_a_throttled_client_gives_up_after_four_attempts_with_the_last_error(caplog: pytest.LogCaptureFixture) -> None:
    # Given a server that always answers 503 SlowDown, and a client with a session token, logging everything
    caplog.set_level(logging.DEBUG)
    with Loopback(default=Answer(503, SLOW_DOWN)) as server:
        s3 = lite(server.endpoint, TOKEN)
        # When the client writes, then it fails with S3's error after four attempts, as botocore's standard mode
        with pytest.raises(S3ClientError) as failed:
            s3.put_object(Bucket="b", Key="k", Body=b"x")
    assert len(server.received) == 4
    assert s3client.error_code(failed.value) == "SlowDown"
    assert s3client.describe(failed.value) == "SlowDown: Please reduce your request rate."
    # And neither the secret nor the token is in what it raised or logged
    said = f"{failed.value} {failed.value!r} {failed.value.response} {s3!r} {caplog.text}"
    assert [c for c in (SECRET, TOKEN) if c in said] == []


@pytest.mark.parametrize(("status", "code"), [(412, "PreconditionFailed"), (409, "ConditionalRequestConflict")])
def test_a_conditional_write_that_lost_is_never_retried(status: int, code: str) -> None:
    # Given a server that refuses a conditional write
    answer = PRECONDITION_FAILED.replace(b"PreconditionFailed", code.encode())
    with Loopback(default=Answer(status, answer)) as server:
        store = S3StateStore("b", "fs/state.json", lite(server.endpoint))  # type: ignore[arg-type]
        # When the state store saves at a version token, then the conflict is the pass's to handle
        with pytest.raises(ConflictError, match=code):
            store.save(b"{}", '"v1"')
    # And the write was sent once
    assert [r.method for r in server.received] == ["PUT"]
    assert server.received[0].headers["if-match"] == '"v1"'


def test_a_server_that_never_answers_fails_after_the_read_timeout_on_every_attempt() -> None:
    # Given a server that holds every request longer than the client's read timeout
    with Loopback(default=Answer(200, b"late", delay_s=3.0)) as server:
        s3 = lite(server.endpoint, TOKEN, read_timeout=0.3, max_attempts=2)
        started = time.monotonic()
        # When the client reads, then it gives up with a connection error naming the host and the timeout
        with pytest.raises(
            S3Unreachable, match=r"http://127\.0\.0\.1:\d+: GetObject got no answer: .*timed out"
        ) as unreachable:
            s3.get_object(Bucket="b", Key="k")
        elapsed = time.monotonic() - started
    # And it tried twice, each cut at the read timeout (plus at most a second of backoff), not the server's delay
    assert len(server.received) == 2
    assert elapsed < 3.0
    # And what it raised carries no credential
    said = f"{s3client.describe(unreachable.value)} {unreachable.value!r}"
    assert said.startswith("S3Unreachable: http://127.0.0.1")
    assert [c for c in (SECRET, TOKEN) if c in said] == []


def test_a_kept_connection_the_server_closed_is_replaced_without_losing_an_attempt() -> None:
    # Given a server that closes each connection after answering, without saying so (as an idle timeout does)
    with Loopback(default=Answer(200, b"body", hang_up=True)) as server:
        s3 = lite(server.endpoint, max_attempts=1)
        # When a client with a single attempt reads twice, the second time through the connection kept from the first
        first = s3.get_object(Bucket="b", Key="k")["Body"].read()
        second = s3.get_object(Bucket="b", Key="k")["Body"].read()
    # Then both reads succeeded: the dead connection was replaced, not counted as the read's one attempt
    assert (first, second) == (b"body", b"body")
    assert len(server.received) == 2


def test_requests_reuse_kept_connections_and_threads_share_a_small_pool() -> None:
    # Given one client, keeping as many idle connections as there will be threads
    with Loopback(default=Answer(200, b"body", {"ETag": '"e"'})) as server:
        s3 = lite(server.endpoint, max_pool=8)
        # When it reads three objects one after the other, then 8 threads read 20 objects each at once
        for key in ("a", "b", "c"):
            assert s3.get_object(Bucket="b", Key=key)["Body"].read() == b"body"
        sequential = {r.peer for r in server.received}
        with ThreadPoolExecutor(max_workers=8) as pool:
            bodies = list(pool.map(lambda i: s3.get_object(Bucket="b", Key=str(i))["Body"].read(), range(160)))
    # Then the sequential reads went over one connection, and every threaded read got its answer
    assert len(sequential) == 1
    assert bodies == [b"body"] * 160
    # And no more connections were ever open than requests at once: each is given back after its answer
    assert len({r.peer for r in server.received}) <= 8


def test_a_body_cut_short_is_an_error_not_a_shorter_object() -> None:
    # Given a server that declares 1,000 bytes of an object and sends 10 before closing the connection
    with Loopback([Answer(200, b"0123456789", declared=1000)]) as server:
        got = lite(server.endpoint).get_object(Bucket="b", Key="fs/inbox/cut.jsonl")
        # When the object is read, then the reader learns the connection broke, rather than getting 10 bytes
        with pytest.raises(S3Unreachable, match="the connection broke while reading an object: IncompleteRead"):
            got["Body"].read()
    # And so does a reader reading it piece by piece
    with Loopback([Answer(200, b"0123456789", declared=1000)]) as server:
        body = lite(server.endpoint).get_object(Bucket="b", Key="fs/inbox/cut.jsonl")["Body"]
        assert body.read(10) == b"0123456789"
        with pytest.raises(S3Unreachable, match="the connection broke while reading an object"):
            body.read(10)


def test_an_https_endpoint_is_trusted_through_aws_ca_bundle(tmp_path: Path) -> None:
    # Given an HTTPS server whose certificate only AWS_CA_BUNDLE vouches for
    cert, key = certificate(tmp_path)
    with Loopback(default=Answer(200, b"over tls", {"ETag": '"t"'}), tls=(cert, key)) as server:
        env = {"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": REGION}
        env["AWS_ENDPOINT_URL_S3"] = server.endpoint
        trusting = from_environment(Settings(max_attempts=1), {**env, "AWS_CA_BUNDLE": str(cert)})
        doubting = from_environment(Settings(max_attempts=1), env)
        assert trusting is not None
        assert doubting is not None
        # When each client reads an object, then the one given the bundle reads it, the other refuses the server
        assert trusting.get_object(Bucket="b", Key="k")["Body"].read() == b"over tls"
        with pytest.raises(S3Unreachable, match="CERTIFICATE_VERIFY_FAILED"):
            doubting.get_object(Bucket="b", Key="k")
    assert [r.path for r in server.received] == ["/b/k"]


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"AWS_PROFILE": "dev"}, "a profile for boto3 to resolve"),
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, "no region"),
        ({"AWS_SECRET_ACCESS_KEY": ""}, "no secret: credentials come from elsewhere"),
        ({"AWS_USE_FIPS_ENDPOINT": "true"}, "a FIPS endpoint"),
        ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, "a dual-stack endpoint"),
        ({"AWS_ENDPOINT_URL": "127.0.0.1:9000"}, "an endpoint that is not a URL, for boto3 to name"),
    ],
)
def test_the_light_client_is_not_built_when_boto3_has_something_to_resolve(extra: dict[str, str], why: str) -> None:
    # Given plain credentials and a region, and then something only boto3 resolves (or nothing to sign with)
    env = {"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": REGION, **extra}
    # Then there is no light client: the shared one is boto3's
    assert from_environment(Settings(), env) is None, why


def test_the_endpoint_variables_name_the_server_unless_told_to_be_ignored() -> None:
    # Given plain credentials, a region and both endpoint variables
    env = {"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": REGION}
    env |= {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:2"}
    # Then the S3 one wins, and with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS the region's endpoint is used
    named = from_environment(Settings(), env)
    ignored = from_environment(Settings(), {**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})
    assert named is not None
    assert ignored is not None
    assert (named.endpoint.port, named.endpoint.custom) == (2, True)
    assert (ignored.endpoint.host, ignored.endpoint.custom) == ("s3.eu-west-3.amazonaws.com", False)


def test_the_shared_client_is_the_light_one_with_plain_credentials_and_boto3_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given plain credentials and a region in the environment
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv(s3client.CLIENT_VARIABLE, "auto")
    s3client.reset_client()
    # Then the shared client is the light one, at the region's endpoint
    shared = s3client.client()
    assert isinstance(shared, S3Lite)
    assert (shared.endpoint.host, shared.region) == ("s3.eu-west-3.amazonaws.com", REGION)
    assert SECRET not in repr(shared)
    # And with FAILSTREAK_S3_CLIENT=boto3, or a profile to resolve, it is boto3's
    profiles = tmp_path / "config"
    profiles.write_text("[profile dev]\nregion = eu-west-3\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(profiles))
    for name, value in ((s3client.CLIENT_VARIABLE, "boto3"), ("AWS_PROFILE", "dev")):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            s3client.reset_client()
            assert type(s3client.client()).__module__ == "botocore.client"
    # And a value it does not know is refused, naming the variable
    monkeypatch.setenv(s3client.CLIENT_VARIABLE, "fast")
    s3client.reset_client()
    with pytest.raises(ConfigError, match=r"FAILSTREAK_S3_CLIENT='fast': expected one of auto, boto3"):
        s3client.client()
    s3client.reset_client()


def test_the_vendor_errors_name_botocore_only_once_it_is_loaded() -> None:
    # Given a fresh interpreter, when it asks what S3 errors to catch before and after botocore is loaded
    code = (
        "import sys\n"
        "from failstreak import s3client\n"
        "before = [e.__name__ for e in s3client.vendor_errors()]\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('botocore', 'boto3')))\n"
        "import botocore.exceptions\n"
        "after = [e.__name__ for e in s3client.vendor_errors()]\n"
        "print(before, loaded, after)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    # Then before, only the light client's errors, without importing botocore; after, botocore's too
    assert done.stdout.strip() == "['S3LiteError'] [] ['S3LiteError', 'ClientError', 'BotoCoreError']"


def test_a_copy_that_fails_after_s3_answered_200_is_retried_as_botocore_retries_it() -> None:
    # Given a server that answers a copy 200 with an error document (the copy failed after it started), then
    # succeeds
    error = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>oops</Message></Error>'
    done = b"<CopyObjectResult><ETag>&quot;c&quot;</ETag></CopyObjectResult>"
    with Loopback([Answer(200, error), Answer(200, done)]) as server:
        s3 = lite(server.endpoint)
        # When the client copies an object, then it was asked twice and the second answer is the result
        got = s3.copy_object(Bucket="b", Key="dst", CopySource={"Bucket": "b", "Key": "src"})
    assert got["CopyObjectResult"]["ETag"] == '"c"'
    assert len(server.received) == 2
    # And a copy that keeps failing so ends with the error S3 wrote
    with Loopback(default=Answer(200, error)) as server, pytest.raises(S3ClientError, match="oops") as failed:
        lite(server.endpoint).copy_object(Bucket="b", Key="dst", CopySource={"Bucket": "b", "Key": "src"})
    assert s3client.error_code(failed.value) == "InternalError"
    assert len(server.received) == 4


def test_an_error_without_an_s3_document_is_named_by_its_status_and_not_retried() -> None:
    # Given a proxy in front of S3 that refuses with an HTML page
    proxy = Loopback(default=Answer(403, b"<html><body>Forbidden by policy</body></html>"))
    # When the client reads, then the error's code is the status, with its reason, and it asked once
    with proxy as server, pytest.raises(S3ClientError) as refused:
        lite(server.endpoint).get_object(Bucket="b", Key="k")
    assert s3client.describe(refused.value) == "403: Forbidden"
    assert s3client.error_code(refused.value) in s3client.DENIED_CODES
    assert len(server.received) == 1


def test_a_body_closed_before_its_end_drops_its_connection_and_the_next_request_opens_another() -> None:
    # Given a client that opened an object and read only its first bytes
    with Loopback(default=Answer(200, b"x" * 100_000)) as server:
        s3 = lite(server.endpoint)
        body = s3.get_object(Bucket="b", Key="big")["Body"]
        assert body.read(10) == b"x" * 10
        # When the reader closes it, and the client reads another object
        body.close()
        again = s3.get_object(Bucket="b", Key="small")["Body"].read()
    # Then the second read got its whole object over a new connection (the first still held the rest of the body)
    assert again == b"x" * 100_000
    assert body.closed
    assert server.received[0].peer != server.received[1].peer


def test_a_copy_in_parts_that_loses_its_condition_is_abandoned_and_the_object_left_in_the_inbox() -> None:
    # Given an inbox object over the single-copy limit, whose copy in parts is refused at its first part (the
    # object was replaced since it was read)
    head = Answer(200, b"", {"Content-Length": str(12 * 1024 * 1024), "ETag": '"e"'})
    upload = Answer(200, b"<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>")
    with Loopback([head, upload, Answer(412, PRECONDITION_FAILED), Answer(204)]) as server:
        inbox = S3Inbox("b", "fs/inbox/", lite(server.endpoint))  # type: ignore[arg-type]
        inbox.single_copy_max = inbox.copy_part = 5 * 1024 * 1024
        item = InboxItem(key="big.jsonl", size=12 * 1024 * 1024, modified_ms=0)
        # When the pass archives it
        inbox.archive(item, "2026/12/05/pass-1")
    # Then the upload was abandoned (its part freed), nothing was completed, and the object was not deleted
    assert [(r.method, urlsplit(r.path).query) for r in server.received] == [
        ("HEAD", ""),
        ("POST", "uploads="),
        ("PUT", "partNumber=1&uploadId=up-1"),
        ("DELETE", "uploadId=up-1"),
    ]
    assert server.received[2].headers["x-amz-copy-source-range"] == "bytes=0-5242879"
