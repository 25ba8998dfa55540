"""The S3 state store: conditional writes, missing and unreachable stores, compression, lazy client."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading

import orjson
import pytest
from botocore.stub import Stubber

from failstreak import s3client as s3store
from failstreak.core.model import JobState, State
from failstreak.errors import ConfigError, ConflictError, StoreUnavailable
from failstreak.s3client import read_object_text
from failstreak.state.base import Loaded
from failstreak.state.codec import COMPRESS_ABOVE, JOBS_PER_MEMBER, decode, encode
from failstreak.state.s3 import S3StateStore
from tests.integration.s3.backends import S3
from tests.integration.s3.conftest import BOTH_CLIENTS, s3_fixture

pytestmark = pytest.mark.integration

# The adapters work the same through boto3's client and through the light one (s3lite).
s3 = s3_fixture(BOTH_CLIENTS)

DOC = b'{"version": 1, "jobs": {}}'


def test_a_state_that_does_not_exist_yet_loads_as_empty(s3: S3) -> None:
    # Given a bucket with no state object
    store = S3StateStore.from_uri(s3.uri("failstreak/state.json"))
    # When it is loaded
    loaded = store.load()
    # Then there are no bytes and no version token
    assert (loaded.data, loaded.token) == (None, None)


def test_the_first_save_creates_the_document_and_returns_the_etag_a_load_sees(s3: S3) -> None:
    # Given an empty bucket
    store = S3StateStore.from_uri(s3.uri("state.json"))
    # When a first document is saved (no token: If-None-Match: *)
    token = store.save(DOC, None)
    # Then a load returns those bytes at that token
    loaded = store.load()
    assert loaded.data == DOC
    assert loaded.token == token


def test_a_second_first_write_conflicts_instead_of_overwriting(s3: S3) -> None:
    # Given a document another pass created after this one found none
    store = S3StateStore.from_uri(s3.uri("state.json"))
    store.save(DOC, None)
    # When this pass also saves as a first write
    # Then it is told of the conflict and the other document stays
    with pytest.raises(ConflictError, match=r"s3://.*/state.json"):
        store.save(b'{"version": 1, "mine": true}', None)
    assert store.load().data == DOC


def test_a_save_at_a_stale_etag_conflicts_and_leaves_the_newer_document(s3: S3) -> None:
    # Given a document read at one ETag and then rewritten by another pass
    store = S3StateStore.from_uri(s3.uri("state.json"))
    first = store.save(DOC, None)
    store.save(DOC + b" ", first)
    # When the first reader saves at the ETag it read
    # Then the write is refused
    with pytest.raises(ConflictError):
        store.save(b'{"version": 1, "stale": true}', first)
    assert store.load().data == DOC + b" "


def test_a_save_at_the_current_etag_replaces_the_document(s3: S3) -> None:
    # Given a document and the ETag it was read at
    store = S3StateStore.from_uri(s3.uri("state.json"))
    token = store.save(DOC, None)
    # When it is saved at that ETag
    new = store.save(b'{"version": 1, "passes": 2}', token)
    # Then the new content is there at the new ETag
    assert store.load() == Loaded(b'{"version": 1, "passes": 2}', new)


def test_a_document_deleted_since_it_was_read_is_a_conflict(s3: S3) -> None:
    # Given a document read at an ETag and then deleted by someone
    store = S3StateStore.from_uri(s3.uri("state.json"))
    token = store.save(DOC, None)
    s3.client.delete_object(Bucket=s3.bucket, Key="state.json")
    # When the reader saves at that ETag
    # Then it conflicts (S3 answers 404 to If-Match on a missing key, SeaweedFS 412): reload and re-apply
    with pytest.raises(ConflictError):
        store.save(DOC, token)


def test_only_one_of_many_simultaneous_writers_at_the_same_etag_wins(seaweed_s3: S3) -> None:
    # Given a document and eight writers that all read it at the same ETag (a real server, real races)
    store = S3StateStore.from_uri(seaweed_s3.uri("state.json"))
    token = store.save(DOC, None)
    won: list[int] = []
    lost: list[int] = []
    start = threading.Barrier(8)

    def write(i: int) -> None:
        start.wait()
        try:
            store.save(b'{"version": 1, "writer": %d}' % i, token)
            won.append(i)
        except ConflictError:
            lost.append(i)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    # When they all write at once
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly one write landed and it is the one in the store
    assert len(won) == 1
    assert len(lost) == 7
    assert store.load().data == b'{"version": 1, "writer": %d}' % won[0]


def test_a_missing_bucket_is_reported_as_unavailable_naming_the_uri(s3: S3) -> None:
    # Given a state location in a bucket that does not exist
    store = S3StateStore.from_uri("s3://no-such-bucket-failstreak/state.json")
    # When it is loaded, then the error names the location and the S3 error in one line
    with pytest.raises(StoreUnavailable, match=r"^s3://no-such-bucket-failstreak/state.json: cannot read state: "):
        store.load()


def test_saving_into_a_missing_bucket_is_unavailable_not_a_conflict(s3: S3) -> None:
    # Given a state location in a bucket that does not exist
    store = S3StateStore.from_uri("s3://no-such-bucket-failstreak/state.json")
    # When a first document is saved, then the error says the store cannot be written
    with pytest.raises(StoreUnavailable, match=r"^s3://no-such-bucket-failstreak/state.json: cannot write state: "):
        store.save(DOC, None)


def test_the_shared_client_talks_to_the_endpoint_named_by_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given AWS_ENDPOINT_URL in the environment (nothing passed in code)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    s3store.reset_client()
    # When the adapters' client is built, then boto3 took the endpoint from the environment
    assert s3store.client().meta.endpoint_url == "http://127.0.0.1:4599"


def test_an_unreachable_endpoint_is_reported_as_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an endpoint where nothing listens
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    s3store.reset_client()
    store = S3StateStore.from_uri("s3://bucket/state.json")
    # When the state is loaded, then the pass gets a one-line StoreUnavailable naming the location
    with pytest.raises(StoreUnavailable, match=r"^s3://bucket/state.json: cannot read state: EndpointConnectionError"):
        store.load()


def test_access_denied_is_reported_as_unavailable_not_as_a_missing_state(moto_s3: S3) -> None:
    # Given S3 refusing the read (a role without s3:GetObject)
    store = S3StateStore.from_uri(moto_s3.uri("state.json"))
    with Stubber(moto_s3.client) as stub:
        stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
        # When the state is loaded, then it is not mistaken for "no state yet"
        with pytest.raises(StoreUnavailable, match="AccessDenied: Access Denied"):
            store.load()


def test_a_409_conditional_request_conflict_is_a_conflict(moto_s3: S3) -> None:
    # Given S3 answering that a concurrent conditional write is in flight (moto cannot produce this one)
    store = S3StateStore.from_uri(moto_s3.uri("state.json"))
    with Stubber(moto_s3.client) as stub:
        stub.add_client_error("put_object", "ConditionalRequestConflict", "conflict", 409)
        # When the state is saved, then the pass is told to reload and re-apply
        with pytest.raises(ConflictError, match="ConditionalRequestConflict"):
            store.save(DOC, '"etag"')


def test_a_large_state_is_stored_gzipped_and_a_small_one_as_plain_json(s3: S3) -> None:
    # Given a small document and a large state encoded by the codec (which compresses past its threshold)
    small = S3StateStore.from_uri(s3.uri("small.json"))
    large = S3StateStore.from_uri(s3.uri("large.json"))
    state = State(jobs={f"job-{i:05}": JobState(name=f"job-{i:05}", total_runs=7) for i in range(5000)})
    plain = encode(state, compress_above=float("inf"))
    assert len(plain) > COMPRESS_ABOVE
    big = encode(state)
    # When both are saved
    small.save(DOC, None)
    large.save(big, None)
    # Then the small one is readable JSON, the large one gzip (labelled so) that decompresses to the state's JSON
    # (with the index a compressed document adds: docs/state.md)
    assert s3.get("small.json") == DOC
    assert s3.client.head_object(Bucket=s3.bucket, Key="small.json")["ContentType"] == "application/json"
    stored = s3.get("large.json")
    assert stored[:2] == b"\x1f\x8b"
    assert s3.client.head_object(Bucket=s3.bucket, Key="large.json")["ContentType"] == "application/gzip"
    assert len(stored) < len(gzip.decompress(stored)) // 10
    unpacked, fields = orjson.loads(gzip.decompress(stored)), orjson.loads(plain)
    slices = [JOBS_PER_MEMBER] * (5000 // JOBS_PER_MEMBER) + [5000 % JOBS_PER_MEMBER]
    assert (unpacked.pop("index")["counts"], fields.pop("index")) == (slices, None)
    assert unpacked == fields
    assert large.load().data == stored
    assert decode(large.load().data).jobs["job-04999"].total_runs == 7


def test_a_state_uri_that_names_a_prefix_is_a_config_error() -> None:
    # Given a state location ending in "/", when a store is built, then the config is refused
    with pytest.raises(ConfigError, match="must name an object"):
        S3StateStore.from_uri("s3://bucket/failstreak/")


def test_a_uri_without_a_bucket_is_a_config_error() -> None:
    # Given a URI with no bucket; when a store is built from it, then the config is refused
    with pytest.raises(ConfigError, match="no bucket"):
        S3StateStore.from_uri("s3:///state.json")


def test_importing_the_s3_module_builds_no_client_and_imports_no_boto3() -> None:
    # Given a fresh interpreter, when the adapter module is imported
    code = "import sys, failstreak.s3client as m; print(m._client is None, 'boto3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # Then no client exists and boto3 is not loaded yet
    assert out.split() == ["True", "False"]


def test_read_object_text_returns_a_config_object(s3: S3) -> None:
    # Given a config object, when it is read by URI, then its text comes back
    s3.put("cfg/failstreak.yaml", "state: s3://b/state.json\n# é\n".encode())
    assert read_object_text(s3.uri("cfg/failstreak.yaml")) == "state: s3://b/state.json\n# é\n"


def test_read_object_text_of_a_missing_object_is_a_config_error_naming_it(s3: S3) -> None:
    # Given no such config object; when it is read, then the error names its URI
    with pytest.raises(ConfigError, match=r"s3://.*/nope.yaml: no such object"):
        read_object_text(s3.uri("nope.yaml"))


def test_read_object_text_of_binary_content_is_a_config_error(moto_s3: S3) -> None:
    # Given a config object that is not UTF-8; when read, then it is refused as config
    moto_s3.put("cfg.yaml", b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        read_object_text(moto_s3.uri("cfg.yaml"))


def test_read_object_text_of_a_bucket_uri_is_a_config_error() -> None:
    # Given a URI naming only a bucket; when read as a config file, then it is refused
    with pytest.raises(ConfigError, match="names a bucket"):
        read_object_text("s3://bucket")


def test_read_object_text_from_a_missing_bucket_is_unavailable(s3: S3) -> None:
    # Given a config URI in a bucket that does not exist; when read, then the store is reported unavailable
    with pytest.raises(StoreUnavailable, match=r"^s3://no-such-bucket-cfg/cfg.yaml: cannot read: NoSuchBucket"):
        read_object_text("s3://no-such-bucket-cfg/cfg.yaml")
