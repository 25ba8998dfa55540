"""The run-history page kept on S3 (docs/page.md): private, rewritten only when it changed, opened by a
presigned URL. Against moto and a real S3 server (SeaweedFS)."""

from __future__ import annotations

import gzip
import json
import re
import urllib.request

import pytest

from failstreak.app import wiring
from failstreak.app.cli import main
from failstreak.app.config import parse_config
from failstreak.core.model import JobState, Run, Status
from failstreak.errors import ConfigError, StoreUnavailable
from failstreak.pipeline import page as page_stage
from failstreak.pipeline.page import kept_fragments
from failstreak.pipeline.run import run_pass
from failstreak.views.page import JobView, Page, render
from failstreak.views.store import CONTENT_TYPE, presigned_url, write_page
from tests.conftest import HOUR, T0
from tests.integration.s3.backends import S3
from tests.integration.s3.conftest import BOTH_CLIENTS, s3_fixture

pytestmark = pytest.mark.integration

# The adapters work the same through boto3's client and through the light one (s3lite).
s3 = s3_fixture(BOTH_CLIENTS)


def page(runs: int, at: int = T0) -> Page:
    job = JobState(name="etl", runs=[Run(T0 + n * HOUR, str(n), 0, Status.FAILED) for n in range(runs)])
    return render([JobView(job=job, teams=("data",), window=10)], at)


def test_the_page_is_written_once_and_again_only_when_what_it_shows_changed(s3: S3) -> None:
    # Given no page yet
    uri = s3.uri("failstreak/page.html")

    # When the page is written, the same page rendered later is written, and then a page with a new run
    first = write_page(uri, page(2))
    same = write_page(uri, page(2, at=T0 + HOUR))
    kept = gzip.decompress(s3.get("failstreak/page.html"))
    changed = write_page(uri, page(3, at=T0 + 2 * HOUR))

    # Then the first and the changed page are written, the unchanged one is left alone
    assert (first, same, changed) == (True, False, True)
    assert kept == page(2).html.encode()
    assert gzip.decompress(s3.get("failstreak/page.html")) == page(3, at=T0 + 2 * HOUR).html.encode()
    head = s3.client.head_object(Bucket=s3.bucket, Key="failstreak/page.html")
    assert head["ContentType"] == CONTENT_TYPE
    assert head["ContentEncoding"] == "gzip"
    assert head["Metadata"]["fingerprint"] == page(3).fingerprint


def test_a_render_reuses_the_fragments_of_the_compressed_page_kept_on_s3(s3: S3) -> None:
    # Given a page kept on S3 (gzip-compressed), and no page at another key
    uri = s3.uri("failstreak/page.html")
    write_page(uri, page(2))

    # When the kept page's fragments are read and a page with the same job is rendered from them
    fragments = kept_fragments(uri)
    job = JobState(name="etl", runs=[Run(T0 + n * HOUR, str(n), 0, Status.FAILED) for n in range(2)])
    again = render([JobView(job=job, teams=("data",), window=10)], T0, cache=fragments)

    # Then the job's row and section are reused, the page the same bytes; a missing page gives none
    assert (len(fragments), again.rendered) == (1, 0)
    assert again.html == page(2).html
    assert kept_fragments(s3.uri("failstreak/none.html")) == {}


def test_a_page_kept_on_s3_that_inflates_past_the_bound_is_not_read_for_its_rows(
    s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a page kept on S3 whose compressed object is small, and a bound below its size once inflated
    uri = s3.uri("failstreak/page.html")
    write_page(uri, page(2))
    size = len(page(2).data)
    monkeypatch.setattr(page_stage, "MAX_CACHE_BYTES", size - 1)

    # When its rows are read for a render; Then none are: the page is rendered from nothing
    assert kept_fragments(uri) == {}
    monkeypatch.setattr(page_stage, "MAX_CACHE_BYTES", size)
    assert len(kept_fragments(uri)) == 1


def test_the_page_object_is_private_to_the_bucket_owner(moto_s3: S3) -> None:
    # Given a page written to S3
    write_page(moto_s3.uri("page.html"), page(1))

    # When its ACL is read; Then only the owner holds a grant (no public or authenticated-users read)
    acl = moto_s3.client.get_object_acl(Bucket=moto_s3.bucket, Key="page.html")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert all(g["Grantee"].get("Type") == "CanonicalUser" for g in acl["Grants"])


def test_a_presigned_url_opens_the_page_without_credentials(seaweed_s3: S3) -> None:
    # Given a page on a real S3 server
    uri = seaweed_s3.uri("failstreak/page.html")
    write_page(uri, page(2))

    # When a URL is signed for an hour and fetched with no credentials at all
    signed = presigned_url(uri, 3600)
    with urllib.request.urlopen(signed.url, timeout=10) as response:
        body = response.read()
        encoding = response.headers["Content-Encoding"]

    # Then it serves the page compressed, as a browser undoes it, lives an hour, and was signed with long-lived keys
    assert encoding == "gzip"
    assert gzip.decompress(body) == page(2).html.encode()
    assert signed.seconds == 3600
    assert signed.temporary_credentials is False


def test_a_url_signed_with_a_session_token_says_it_dies_with_the_credentials(
    moto_s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a page, and credentials that carry a session token (as a Lambda role's do)
    write_page(moto_s3.uri("page.html"), page(1))
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")

    # When a URL is signed; Then it says so, and the URL carries the token
    signed = presigned_url(moto_s3.uri("page.html"), 600)
    assert signed.temporary_credentials is True
    assert "X-Amz-Security-Token" in signed.url
    assert "X-Amz-Expires=600" in signed.url


def test_signing_a_page_that_is_not_there_or_for_too_long_is_a_clear_error(moto_s3: S3) -> None:
    # Given no page in the bucket
    # When a URL is asked for it, or for more than 7 days, or for a folder; Then each error says why
    with pytest.raises(StoreUnavailable, match="no page there yet"):
        presigned_url(moto_s3.uri("page.html"), 600)
    with pytest.raises(ConfigError, match="between 1 second and 7 days"):
        presigned_url(moto_s3.uri("page.html"), 8 * 86400)
    with pytest.raises(ConfigError, match="name the page's object"):
        write_page(moto_s3.uri("pages/"), page(1))


def test_a_page_that_cannot_be_written_is_a_store_error_naming_the_uri(moto_s3: S3) -> None:
    # Given a bucket that does not exist
    uri = "s3://no-such-bucket-for-the-page/page.html"

    # When the page is written there; Then the error names the URI
    with pytest.raises(StoreUnavailable, match=re.escape(f"{uri}: cannot write the page")):
        write_page(uri, page(1))


def test_a_pass_keeps_the_page_on_s3(s3: S3) -> None:
    # Given a config with its state, inbox and page on S3, and three failed runs in the inbox
    body = "".join(
        json.dumps({"job": "etl", "run_id": n, "status": "failed", "finished_at": 1_790_000_000_000 + n}) + "\n"
        for n in (1, 2, 3)
    )
    s3.put("failstreak/inbox/runs.jsonl", body.encode())
    cfg = parse_config(
        f"state: {s3.uri('failstreak/state.json')}\ninbox: {s3.uri('failstreak/inbox/')}\n"
        f"page: {s3.uri('failstreak/page.html')}\n"
    )

    # When two passes run, the second with nothing new
    first = run_pass(wiring.pass_settings(cfg), wiring.ports(cfg))
    second = run_pass(wiring.pass_settings(cfg), wiring.ports(cfg))

    # Then the first writes the page (compressed), the second leaves it alone
    assert (first.page, second.page) == ("written", "unchanged")
    html = gzip.decompress(s3.get("failstreak/page.html")).decode()
    assert html.count('data-status="failed"') == 3


def test_html_url_refreshes_the_page_and_prints_a_url_that_opens_it(
    seaweed_s3: S3, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a state on a real S3 server after one pass, and `page:` there
    s3 = seaweed_s3
    s3.put(
        "failstreak/inbox/runs.jsonl",
        b'{"job": "etl", "run_id": 1, "status": "failed", "finished_at": 1790000000000}\n',
    )
    config = (
        f"state: {s3.uri('failstreak/state.json')}\ninbox: {s3.uri('failstreak/inbox/')}\n"
        f"page: {s3.uri('failstreak/page.html')}\n"
    )
    s3.put("failstreak/config.yaml", config.encode())
    assert main(["run", "--config", s3.uri("failstreak/config.yaml")]) == 0
    capsys.readouterr()

    # When a URL is asked for 12 hours
    assert main(["html", "--url", "--expires", "12h", "--config", s3.uri("failstreak/config.yaml")]) == 0
    out, err = capsys.readouterr()

    # Then stdout is the URL alone, which opens the page; stderr says how long it works
    url = out.strip()
    with urllib.request.urlopen(url, timeout=10) as response:
        assert b'data-job="etl"' in gzip.decompress(response.read())
    assert "X-Amz-Expires=43200" in url
    assert err.startswith("failstreak: the URL works until ")
    assert "(12 h 0 min from now)" in err
