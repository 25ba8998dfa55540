"""Replay markers on S3 (docs/http.md, "Replays"): a conditional create lets exactly one of many concurrent claims
of an id win, on moto and on a real S3 server (SeaweedFS), as concurrent front instances would race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from failstreak.front.replay import S3ReplayGuard
from tests.integration.s3.backends import S3
from tests.integration.s3.conftest import BOTH_CLIENTS, s3_fixture

pytestmark = pytest.mark.integration

# The adapters work the same through boto3's client and through the light one (s3lite).
s3 = s3_fixture(BOTH_CLIENTS)


def test_concurrent_claims_of_one_id_let_exactly_one_win(s3: S3) -> None:
    # Given 12 front instances (each its own guard) claiming the same delivery id at once
    guards = [S3ReplayGuard(s3.uri("fs/replay/")) for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        won = list(pool.map(lambda g: g.claim("github", "72d3162e-cc78-11e3-81ab-4c9367dc0958"), guards))
    # Then exactly one wins, and one marker exists
    assert won.count(True) == 1
    assert len(s3.keys("fs/replay/github/")) == 1


def test_a_released_id_can_be_claimed_again(s3: S3) -> None:
    # Given an id claimed, then given back (its inbox write failed)
    guard = S3ReplayGuard(s3.uri("fs/replay"))
    assert guard.claim("gitlab", "key-1")
    guard.release("gitlab", "key-1")
    # When claimed again; Then it is won, and a further claim is refused
    assert guard.claim("gitlab", "key-1")
    assert not guard.claim("gitlab", "key-1")
