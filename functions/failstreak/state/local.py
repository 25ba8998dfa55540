"""The local state store: the state document in a file, replaced atomically."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path

from failstreak.errors import ConflictError, StoreUnavailable
from failstreak.localfs import write_atomic
from failstreak.state.base import Loaded, StateStore


def _token(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalStateStore(StateStore):
    """The state document in a local file, replaced atomically.

    Conditional writes are real: the version token is the SHA-256 of the content, compared under an exclusive
    lock on a sibling `.lock` file, so two local passes cannot overwrite each other's counts.
    """

    def __init__(self, path: str | Path, noun: str = "state") -> None:
        self.path = Path(path)
        self.location = str(self.path)
        # What the document is, in error messages (the state, the mutes document).
        self.noun = noun

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(lock_path, "a+b")  # noqa: SIM115 - closed below, after the body ran under the lock
        except OSError as e:
            raise StoreUnavailable(f"{lock_path}: cannot lock the {self.noun}: {e.strerror or e}") from None
        with lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
            except OSError as e:
                raise StoreUnavailable(f"{lock_path}: cannot lock the {self.noun}: {e.strerror or e}") from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self) -> Loaded:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Loaded(None, None)
        except OSError as e:
            raise StoreUnavailable(f"{self.location}: cannot read {self.noun}: {e.strerror or e}") from None
        return Loaded(data, _token(data))

    def save(self, data: bytes, token: str | None) -> str:
        with self._locked():
            try:
                current = self.path.read_bytes()
            except FileNotFoundError:
                current = None
            except OSError as e:
                raise StoreUnavailable(f"{self.location}: cannot read {self.noun}: {e.strerror or e}") from None
            current_token = None if current is None else _token(current)
            if current_token != token:
                raise ConflictError(f"{self.location}: {self.noun} changed since it was read")
            try:
                write_atomic(self.path, data)
            except OSError as e:
                raise StoreUnavailable(f"{self.location}: cannot write {self.noun}: {e.strerror or e}") from None
        return _token(data)
