"""A secret by reference, as the config file writes it (docs/configuration.md): a leaf anyone may import.

The config (`app/config.py`) resolves references; adapters that need a credential at pull or send time are handed
a `ResolveSecret` function when they are built, so they never read the environment or a secrets backend
themselves.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec


class SecretRef(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A secret by reference: exactly one of `env`, `secret` (Secrets Manager) or `ssm` (Parameter Store)."""

    env: str | None = None
    secret: str | None = None
    ssm: str | None = None

    def __post_init__(self) -> None:
        given = [k for k in (self.env, self.secret, self.ssm) if k]
        if len(given) != 1:
            raise ValueError("give exactly one of env, secret, ssm")

    def describe(self) -> str:
        """Where the secret comes from, safe to log (never the value)."""
        if self.env:
            return f"env:{self.env}"
        if self.secret:
            return f"secret:{self.secret}"
        return f"ssm:{self.ssm}"


ResolveSecret = Callable[[SecretRef], str]
"""The value a reference points to; raises `FailstreakError` (or a backend's own error) when it cannot be read."""
