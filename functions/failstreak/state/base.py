"""The state store port: where the state document lives, written conditionally."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Loaded:
    """A state document's bytes (None when it does not exist yet) and the version token it was read at."""

    data: bytes | None
    token: str | None


class StateStore(ABC):
    """Where the state document lives.

    Contract: `load` returns the current bytes and an opaque version token; `save` writes only if the
    document is still at `token` (None: only if it does not exist yet) and returns the new token, else
    raises `ConflictError`. A store never overwrites a document it could not read.
    """

    location: str

    @abstractmethod
    def load(self) -> Loaded: ...

    @abstractmethod
    def save(self, data: bytes, token: str | None) -> str: ...
