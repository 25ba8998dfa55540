"""Local filesystem adapters: the state in a JSON file, the inbox in a directory."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from failstreak.errors import ConflictError, ItemGone, StoreUnavailable
from failstreak.model import Rejected
from failstreak.stores.base import Inbox, InboxItem, Loaded, StateStore

PROCESSED = "processed"
QUARANTINE = "quarantine"


def _token(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a mix (rename within the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class LocalStateStore(StateStore):
    """The state document in a local file, replaced atomically.

    Conditional writes are real: the version token is the SHA-256 of the content, compared under an exclusive
    lock on a sibling `.lock` file, so two local passes cannot overwrite each other's counts.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(lock_path, "a+b")  # noqa: SIM115 - closed below, after the body ran under the lock
        except OSError as e:
            raise StoreUnavailable(f"{lock_path}: cannot lock the state: {e.strerror or e}") from None
        with lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
            except OSError as e:
                raise StoreUnavailable(f"{lock_path}: cannot lock the state: {e.strerror or e}") from None
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
            raise StoreUnavailable(f"{self.location}: cannot read state: {e.strerror or e}") from None
        return Loaded(data, _token(data))

    def save(self, data: bytes, token: str | None) -> str:
        with self._locked():
            try:
                current = self.path.read_bytes()
            except FileNotFoundError:
                current = None
            except OSError as e:
                raise StoreUnavailable(f"{self.location}: cannot read state: {e.strerror or e}") from None
            current_token = None if current is None else _token(current)
            if current_token != token:
                raise ConflictError(f"{self.location}: state changed since it was read")
            try:
                write_atomic(self.path, data)
            except OSError as e:
                raise StoreUnavailable(f"{self.location}: cannot write state: {e.strerror or e}") from None
        return _token(data)


class LocalInbox(Inbox):
    """Execution files in a directory. Processed files move to `processed/YYYY/MM/DD/`, unreadable ones to
    `quarantine/` with a `.reason.txt` beside them; rejected lines go to `quarantine/NAME.rejected.jsonl`.

    Files whose name starts with a dot are being written and are skipped: producers write `.name.tmp`, then
    rename.
    """

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path)
        self.location = str(self.root)

    def pending(self) -> list[InboxItem]:
        if not self.root.exists():
            return []
        items = []
        try:
            for dirpath, dirnames, filenames in os.walk(self.root):
                here = Path(dirpath)
                if here == self.root:
                    dirnames[:] = [d for d in dirnames if d not in (PROCESSED, QUARANTINE)]
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in filenames:
                    if name.startswith("."):
                        continue
                    path = here / name
                    try:
                        st = path.stat()
                    except FileNotFoundError:
                        continue  # archived by a concurrent pass while we listed
                    key = path.relative_to(self.root).as_posix()
                    items.append(InboxItem(key=key, size=st.st_size, modified_ms=st.st_mtime_ns // 1_000_000))
        except OSError as e:
            raise StoreUnavailable(f"{self.location}: cannot list inbox: {e.strerror or e}") from None
        items.sort(key=lambda i: (i.modified_ms, i.key))
        return items

    def read(self, item: InboxItem) -> bytes:
        try:
            return (self.root / item.key).read_bytes()
        except FileNotFoundError:
            raise ItemGone(f"{self.location}/{item.key}: gone (archived by another pass)") from None
        except OSError as e:
            raise StoreUnavailable(f"{self.location}/{item.key}: cannot read: {e.strerror or e}") from None

    def _move(self, item: InboxItem, dest: Path) -> None:
        src = self.root / item.key
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, dest)
        except FileNotFoundError:
            return  # already moved by an earlier (or concurrent) pass
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise StoreUnavailable(f"{src}: cannot move to {dest}: {e.strerror or e}") from None
            shutil.move(str(src), str(dest))

    def archive(self, item: InboxItem) -> None:
        day = datetime.fromtimestamp(item.modified_ms / 1000, UTC).strftime("%Y/%m/%d")
        self._move(item, self.root / PROCESSED / day / item.key)

    def quarantine(self, item: InboxItem, reason: str) -> None:
        dest = self.root / QUARANTINE / item.key
        write_atomic(dest.with_name(dest.name + ".reason.txt"), (reason + "\n").encode())
        self._move(item, dest)

    def reject_lines(self, item: InboxItem, rejected: list[Rejected]) -> None:
        if not rejected:
            return
        dest = self.root / QUARANTINE / (item.key + ".rejected.jsonl")
        lines = [
            json.dumps({"file": r.file, "line": r.line, "reason": r.reason, "raw": r.raw}, ensure_ascii=False)
            for r in rejected
        ]
        write_atomic(dest, ("\n".join(lines) + "\n").encode())
