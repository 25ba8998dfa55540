"""A secret by reference, as the config file writes it (docs/configuration.md): a leaf anyone may import.

The config (`app/config.py`) resolves references; adapters that need a credential at pull or send time are handed
a `ResolveSecret` function when they are built, so they never read the environment or a secrets backend
themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, model_validator


class SecretRef(BaseModel):
    """A secret by reference: exactly one of `env`, `secret` (Secrets Manager) or `ssm` (Parameter Store)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    secret: str | None = None
    ssm: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [k for k in ("env", "secret", "ssm") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of env, secret, ssm")
        return self

    def describe(self) -> str:
        """Where the secret comes from, safe to log (never the value)."""
        if self.env:
            return f"env:{self.env}"
        if self.secret:
            return f"secret:{self.secret}"
        return f"ssm:{self.ssm}"


ResolveSecret = Callable[[SecretRef], str]
"""The value a reference points to; raises `FailstreakError` (or a backend's own error) when it cannot be read."""
