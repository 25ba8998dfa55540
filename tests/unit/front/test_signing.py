"""The signatures the front accepts (docs/http.md), checked on known values."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from failstreak.front.http import HttpError
from failstreak.front.signing import check_github, check_gitlab, check_v1, sign_github, sign_v1


def test_the_v1_signature_is_the_hmac_of_version_timestamp_and_body() -> None:
    # Given a secret, a timestamp and a body
    expected = hmac.new(b"s3cret", b"v1:1790000000:{}", hashlib.sha256).hexdigest()
    # Then the signature is v1= and the HMAC-SHA256 of "v1:<timestamp>:<body>"
    assert sign_v1("s3cret", 1790000000, b"{}") == f"v1={expected}"


def test_a_v1_signature_within_the_window_is_accepted() -> None:
    # Given a body signed 299 seconds before the front's clock; When checked; Then nothing is raised
    check_v1("s", "1790000000", sign_v1("s", 1790000000, b"x"), b"x", now=1790000299)


@pytest.mark.parametrize(
    ("timestamp", "signature", "now", "reason"),
    [
        (None, "v1=00", 1790000000, "missing X-Failstreak-Timestamp or X-Failstreak-Signature"),
        ("1790000000", None, 1790000000, "missing X-Failstreak-Timestamp or X-Failstreak-Signature"),
        ("yesterday", "v1=00", 1790000000, "X-Failstreak-Timestamp is not unix seconds"),
        ("1790000000", "v1=00", 1790000301, "stale request"),
        ("1790000000", "v1=00", 1789999699, "stale request"),
        ("1790000000", "v1=00", 1790000000, "wrong signature"),
    ],
)
def test_a_v1_request_that_is_missing_stale_or_wrong_is_401(
    timestamp: str | None, signature: str | None, now: int, reason: str
) -> None:
    # Given a request missing a header, with a bad or distant timestamp, or signed wrongly
    # When checked; Then 401 with the reason
    with pytest.raises(HttpError) as e:
        check_v1("s", timestamp, signature, b"x", now=now)
    assert e.value.status == 401
    assert e.value.reason.startswith(reason)


def test_the_github_signature_is_githubs_published_example() -> None:
    # Given GitHub's documented example (docs.github.com, "Validating webhook deliveries": secret "It's a Secret to
    # Everybody", payload "Hello, World!")
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    # Then our signature is GitHub's, and checking it passes while another body fails
    assert sign_github("It's a Secret to Everybody", b"Hello, World!") == signature
    check_github("It's a Secret to Everybody", signature, b"Hello, World!")
    with pytest.raises(HttpError, match="wrong signature"):
        check_github("It's a Secret to Everybody", signature, b"Hello, World?")


def test_a_gitlab_token_must_match_whole() -> None:
    # Given the configured token; Then the same token passes, a prefix of it or none is 401
    check_gitlab("token-123", "token-123")
    for given, reason in (("token-12", "wrong token"), (None, "missing X-Gitlab-Token")):
        with pytest.raises(HttpError, match=reason):
            check_gitlab("token-123", given)
