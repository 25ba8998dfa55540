"""Claiming request ids once (docs/http.md, "Replays"), on a local directory; S3 is tested in tests/integration."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from failstreak.front.replay import LocalReplayGuard, default_location, marker_name


def test_an_id_is_claimed_once_and_can_be_given_back(tmp_path: Path) -> None:
    # Given a guard; When an id is claimed twice; Then only the first claim holds
    guard = LocalReplayGuard(str(tmp_path))
    assert guard.claim("github", "delivery-1")
    assert not guard.claim("github", "delivery-1")
    # And another kind of id with the same value is its own claim
    assert guard.claim("gitlab", "delivery-1")
    # When it is given back; Then it can be claimed again
    guard.release("github", "delivery-1")
    assert guard.claim("github", "delivery-1")


def test_concurrent_claims_of_one_id_let_exactly_one_win(tmp_path: Path) -> None:
    # Given 16 threads claiming the same id at once
    guard = LocalReplayGuard(str(tmp_path))
    with ThreadPoolExecutor(16) as pool:
        won = list(pool.map(lambda _: guard.claim("ingest", "v1=abc"), range(16)))
    # Then exactly one claim succeeded
    assert won.count(True) == 1


def test_markers_are_named_by_a_hash_never_by_what_the_caller_sent() -> None:
    # Given an id with path characters; Then its marker name is the kind and a hex digest
    name = marker_name("github", "../../state.json")
    kind, digest = name.split("/")
    assert kind == "github"
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")


def test_the_default_location_is_beside_the_state() -> None:
    assert default_location("s3://b/failstreak/state.json") == "s3://b/failstreak/replay/"
    assert default_location("/srv/fs/state.json") == "/srv/fs/replay"
