"""The run-history link's token (core/pagetoken.py, docs/http.md "The page"): minted with its expiry, refused when
malformed, tampered with, signed with another secret or expired."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from failstreak.core.pagetoken import MAX_TOKEN_CHARS, TokenRejected, mint, verify

SECRET = "page-secret-1"
T = 1_790_000_000


def test_a_minted_token_is_accepted_until_its_expiry_and_gives_it_back() -> None:
    # Given a token expiring at T + 7 days
    token = mint(SECRET, T + 7 * 86400)
    # When verified before its expiry; Then it is accepted and says when it expires
    assert verify(SECRET, token, T) == T + 7 * 86400
    assert verify(SECRET, token, T + 7 * 86400 - 1) == T + 7 * 86400
    # And it is URL-safe, short, and carries its expiry in the clear
    assert re.fullmatch(r"v1\.\d+\.[A-Za-z0-9_-]{43}", token)
    assert len(token) <= MAX_TOKEN_CHARS
    assert token.split(".")[1] == str(T + 7 * 86400)


def test_an_expired_token_is_refused() -> None:
    # Given a token expiring at T; When verified at T and after; Then it is refused as expired
    token = mint(SECRET, T)
    for now in (T, T + 1, T + 86400):
        with pytest.raises(TokenRejected, match="expired link"):
            verify(SECRET, token, now)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    # Given a token signed with the secret before a rotation; When verified with the new one; Then refused
    with pytest.raises(TokenRejected, match="wrong signature"):
        verify("rotated-secret", mint(SECRET, T + 60), T)


def test_a_token_whose_expiry_was_extended_is_refused() -> None:
    # Given a valid token whose expiry a holder moved a year later
    version, expiry, signature = mint(SECRET, T + 60).split(".")
    forged = f"{version}.{int(expiry) + 365 * 86400}.{signature}"
    # When verified; Then the signature no longer matches
    with pytest.raises(TokenRejected, match="wrong signature"):
        verify(SECRET, forged, T)


@pytest.mark.parametrize(
    "token",
    [
        "",
        None,
        "v1",
        "v1..",
        "v2.1790000060." + "A" * 43,
        "v1.-5." + "A" * 43,
        "v1.1790000060." + "A" * 42,
        "v1.1790000060." + "A" * 43 + "=",
        "v1.1790000060." + "A" * 40 + "%2F",
        "v1.١٢٣." + "A" * 43,
        "v1." + "9" * 13 + "." + "A" * 43,
        "x" * 10_000,
    ],
)
def test_a_missing_or_malformed_token_is_refused_before_any_signature_is_computed(token: str | None) -> None:
    # Given a token that is absent or not of the form v1.<digits>.<43 base64url characters>; When verified
    # Then it is refused, saying why
    with pytest.raises(TokenRejected, match=r"^(missing|malformed) token$"):
        verify(SECRET, token, T)


def test_an_empty_secret_neither_mints_nor_accepts() -> None:
    # Given an empty secret; Then no token is minted with it, and none verifies under it
    with pytest.raises(ValueError, match="empty"):
        mint("", T + 60)
    with pytest.raises(TokenRejected, match="wrong signature"):
        verify("", mint(SECRET, T + 60), T)


@given(
    secret=st.text(min_size=1, max_size=64),
    expires_at=st.integers(min_value=1, max_value=10**12 - 1),
    flip=st.integers(min_value=0, max_value=63),
)
def test_any_one_changed_character_of_a_token_makes_it_refused(secret: str, expires_at: int, flip: int) -> None:
    # Given any secret and expiry, a valid token, and the same token with one character changed
    token = mint(secret, expires_at)
    assert verify(secret, token, expires_at - 1) == expires_at
    i = flip % len(token)
    changed = token[:i] + ("B" if token[i] != "B" else "C") + token[i + 1 :]
    # When the changed token is verified; Then it is refused
    with pytest.raises(TokenRejected):
        verify(secret, changed, expires_at - 1)
