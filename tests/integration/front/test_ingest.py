"""`POST /ingest` (docs/http.md): signed records in, one inbox object per accepted request, nothing else."""

from __future__ import annotations

import base64
import gzip
import json
import time

import pytest

from failstreak.front.ingest import MAX_INFLATED
from tests.integration.front.frontkit import call, front, inbox_records, ingest_event
from tests.integration.front.samples import url_event
from tests.integration.s3.backends import S3

pytestmark = pytest.mark.integration

RECORDS = (
    b'{"job": "ci/build", "run_id": 41, "status": "failed", "finished_at": "2026-09-20T10:00:00Z"}\n'
    b'{"job": "ci/build", "run_id": 42, "status": "success", "finished_at": "2026-09-20T11:00:00Z"}\n'
)


def test_a_signed_request_is_written_to_the_inbox_as_one_object(moto_s3: S3) -> None:
    # Given a front and two records signed with the ingest secret
    f = front(moto_s3)
    # When they are posted
    status, body = call(f, ingest_event(RECORDS))
    # Then they are accepted, in one inbox object holding exactly what was sent
    assert (status, body) == (202, {"accepted": 2})
    keys = moto_s3.keys("fs/inbox/")
    assert len(keys) == 1
    assert moto_s3.get(keys[0]) == RECORDS


def test_a_json_array_body_is_accepted_like_an_inbox_file(moto_s3: S3) -> None:
    # Given a JSON array of one record, base64-encoded by Lambda as a binary body would be
    body = b'[{"job": "ci/deploy", "run_id": "r-7", "status": "FAILED", "finished_at": 1790000000}]'
    event = ingest_event(body)
    event = {**event, "body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    # When it is posted; Then it is accepted and written as sent
    assert call(front(moto_s3), event) == (202, {"accepted": 1})
    assert [moto_s3.get(k) for k in moto_s3.keys("fs/inbox/")] == [body]


def test_a_wrong_signature_is_refused_and_nothing_is_written(moto_s3: S3) -> None:
    # Given records signed with another secret
    event = ingest_event(RECORDS, secret="not-the-secret")
    # When posted; Then 401, and the inbox and replay markers stay empty
    status, body = call(front(moto_s3), event)
    assert (status, body) == (401, {"error": "wrong signature"})
    assert moto_s3.keys("fs/") == []


def test_a_body_changed_after_signing_is_refused(moto_s3: S3) -> None:
    # Given a signed request whose body was altered on the way
    event = ingest_event(RECORDS)
    event["body"] = event["body"].replace("failed", "success")
    # When posted; Then 401 and nothing is written
    assert call(front(moto_s3), event)[0] == 401
    assert moto_s3.keys("fs/") == []


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_a_timestamp_more_than_five_minutes_away_is_refused(moto_s3: S3, age: int) -> None:
    # Given a correctly signed request whose timestamp is more than 5 minutes old (or ahead)
    event = ingest_event(RECORDS, at=time.time() - age)
    # When posted; Then 401 (stale) and nothing is written
    status, body = call(front(moto_s3), event)
    assert status == 401
    assert body is not None
    assert "stale" in body["error"]
    assert moto_s3.keys("fs/") == []


def test_a_timestamp_within_five_minutes_is_accepted(moto_s3: S3) -> None:
    # Given a request signed four minutes ago; When posted; Then accepted
    assert call(front(moto_s3), ingest_event(RECORDS, at=time.time() - 240))[0] == 202


def test_a_replayed_request_is_refused_and_written_once(moto_s3: S3) -> None:
    # Given a signed request accepted once
    f = front(moto_s3)
    event = ingest_event(RECORDS)
    assert call(f, event)[0] == 202
    # When the very same request is sent again (by another Lambda instance: a fresh front)
    status, body = call(front(moto_s3), event)
    # Then it is refused as a replay, and the inbox still holds one object
    assert status == 401
    assert body is not None
    assert "replayed" in body["error"]
    assert len(moto_s3.keys("fs/inbox/")) == 1


@pytest.mark.parametrize("missing", ["x-failstreak-timestamp", "x-failstreak-signature"])
def test_a_missing_signature_header_is_refused(moto_s3: S3, missing: str) -> None:
    # Given a signed request without one of its two headers
    event = ingest_event(RECORDS)
    del event["headers"][missing]
    # When posted; Then 401 naming the headers, nothing written
    status, body = call(front(moto_s3), event)
    assert status == 401
    assert body is not None
    assert "missing X-Failstreak-Timestamp or X-Failstreak-Signature" in body["error"]
    assert moto_s3.keys("fs/") == []


def test_a_body_over_the_limit_is_refused_with_413_before_anything_else(moto_s3: S3) -> None:
    # Given a front limited to 1 KiB and a correctly signed request of 2 KiB
    f = front(moto_s3, "http: {ingest_secret: {env: FS_TEST_INGEST_SECRET}, max_body_kib: 1}")
    line = b'{"job": "ci/big", "run_id": 1, "status": "failed", "finished_at": 1790000000, "reason": "%s"}\n'
    body = line % (b"x" * 2048)
    # When posted; Then 413 and nothing is written
    assert call(f, ingest_event(body)) == (413, {"error": "the body is over 1 KiB"})
    assert moto_s3.keys("fs/") == []


def test_a_body_over_the_limit_is_refused_even_when_its_length_header_lies(moto_s3: S3) -> None:
    # Given a 2 KiB body whose content-length claims 10 bytes
    f = front(moto_s3, "http: {ingest_secret: {env: FS_TEST_INGEST_SECRET}, max_body_kib: 1}")
    event = ingest_event(b"[" + b" " * 2048 + b"]")
    event["headers"]["content-length"] = "10"
    # When posted; Then 413 all the same
    assert call(f, event)[0] == 413
    assert moto_s3.keys("fs/") == []


def test_a_bad_record_refuses_the_whole_request_naming_its_line(moto_s3: S3) -> None:
    # Given a signed body whose second line lacks its status
    body = RECORDS.splitlines(keepends=True)[0] + b'{"job": "ci/build", "run_id": 43, "finished_at": 1790000000}\n'
    # When posted; Then 400 naming line 2 and the field, and nothing is written (not even the replay marker)
    status, answer = call(front(moto_s3), ingest_event(body))
    assert status == 400
    assert answer is not None
    assert answer["error"].startswith("line 2: ")
    assert "status" in answer["error"]
    assert moto_s3.keys("fs/") == []


def test_a_body_that_is_not_records_is_refused_with_a_reason(moto_s3: S3) -> None:
    # Given a signed body that is not JSON at all; When posted; Then 400 with the parser's reason
    status, answer = call(front(moto_s3), ingest_event(b"hello"))
    assert status == 400
    assert answer is not None
    assert answer["error"]
    assert moto_s3.keys("fs/") == []


def test_the_route_answers_404_when_its_secret_is_not_configured(moto_s3: S3) -> None:
    # Given a front whose config names no ingest secret
    f = front(moto_s3, "http: {github_secret: {env: FS_TEST_GITHUB_SECRET}}")
    # When a signed request arrives; Then 404: the route is off
    assert call(f, ingest_event(RECORDS)) == (404, {"error": "/ingest is not configured"})


def test_an_unknown_route_is_404_and_a_wrong_method_405(moto_s3: S3) -> None:
    # Given a front; When a path it does not serve, and a GET of /ingest, arrive
    f = front(moto_s3)
    # Then 404 and 405
    assert call(f, url_event("/admin", b"", {}))[0] == 404
    assert call(f, url_event("/ingest", b"", {}, method="GET"))[0] == 405


def test_a_request_that_could_not_be_written_can_be_retried(moto_s3: S3) -> None:
    # Given a front whose inbox bucket does not exist (the write fails)
    f = front(moto_s3)
    f.inbox = "s3://no-such-bucket-for-failstreak/inbox/"
    event = ingest_event(RECORDS)
    # When a signed request arrives; Then 503 (retry later)
    assert call(f, event) == (503, {"error": "the store is unavailable; retry later"})
    # And the same request, retried once the inbox is back, is accepted: its signature was given back
    assert call(front(moto_s3), event)[0] == 202
    assert len(moto_s3.keys("fs/inbox/")) == 1


def test_each_accepted_request_leaves_its_records_in_the_inbox_as_sent(moto_s3: S3) -> None:
    # Given two accepted requests
    f = front(moto_s3)
    call(f, ingest_event(RECORDS))
    other = b'{"job": "ci/lint", "run_id": 9, "status": "failed", "finished_at": 1790000000}\n'
    call(f, ingest_event(other))
    # Then the inbox holds their records, each as sent
    assert sorted(json.dumps(r, sort_keys=True) for r in inbox_records(moto_s3)) == sorted(
        json.dumps(json.loads(line), sort_keys=True) for line in (RECORDS + other).splitlines()
    )


def test_a_gzipped_body_of_several_members_is_accepted_and_written_as_sent(moto_s3: S3) -> None:
    # Given the two records gzipped as two members (as `cat a.gz b.gz` makes), base64-encoded by Lambda
    lines = RECORDS.splitlines(keepends=True)
    body = gzip.compress(lines[0]) + gzip.compress(lines[1])
    event = ingest_event(body, binary=True)
    # When posted; Then both records are accepted and the object holds the body as it came
    assert call(front(moto_s3), event) == (202, {"accepted": 2})
    assert [moto_s3.get(k) for k in moto_s3.keys("fs/inbox/")] == [body]


def test_a_gzipped_body_that_inflates_past_the_bound_is_refused_with_413(moto_s3: S3) -> None:
    # Given a small signed gzip body that would inflate to more than the front's bound (a gzip bomb)
    body = gzip.compress(RECORDS + b" " * (MAX_INFLATED + 1), compresslevel=9)
    assert len(body) < 64 * 1024
    event = ingest_event(body, binary=True)
    # When posted; Then 413 says how to fix it, and nothing is written
    status, answer = call(front(moto_s3), event)
    assert status == 413
    assert answer == {
        "error": "the gzipped body holds more than 16,777,216 bytes once decompressed: split it into several requests"
    }
    assert moto_s3.keys("fs/") == []


def test_a_damaged_gzip_body_is_refused_with_400(moto_s3: S3) -> None:
    # Given a signed gzip body cut short; When posted; Then 400 with the reason, and nothing is written
    body = gzip.compress(RECORDS * 20)[:-12]
    event = ingest_event(body, binary=True)
    status, answer = call(front(moto_s3), event)
    assert status == 400
    assert answer is not None
    assert answer["error"].startswith("not a readable gzip body (")
    assert moto_s3.keys("fs/") == []
