"""The local inbox: execution files in a directory, archived to processed/ and quarantine/ beside it."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from failstreak.core.model import Rejected
from failstreak.errors import ItemGone, ItemRefused, StoreUnavailable
from failstreak.inbox.base import Inbox, InboxItem, oldest_of, rejected_body
from failstreak.localfs import write_atomic

PROCESSED = "processed"
QUARANTINE = "quarantine"


def _copy_atomic(src: Path, dest: Path) -> None:
    """Copy a file (never through a link) so that readers see the whole copy or none of it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp, follow_symlinks=False)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# Opening an item never blocks (a FIFO with no writer) and never follows a link (to /dev/zero, or anywhere out of
# the inbox): what was opened is then checked to be a regular file.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symbolic link",
}
ONLY_REGULAR = "only regular files are read: write the file itself into the inbox (write a dot-file, then rename it)"


class LocalInbox(Inbox):
    """Execution files in a directory. A pass moves the files it read to `processed/YYYY/MM/DD/<pass id>/`,
    unreadable ones to `quarantine/YYYY/MM/DD/<pass id>/` with a `.reason.txt` beside them, and the rejected
    lines of the others to `quarantine/YYYY/MM/DD/<pass id>/NAME.rejected.jsonl`.

    Files whose name starts with a dot are being written and are skipped: producers write `.name.tmp`, then
    rename. Anything else that is not a regular file (a FIFO, a device, a symbolic link, dangling or not) is
    listed too, and refused when opened, so that the pass quarantines it with its reason instead of hanging on
    it, reading a device, or skipping it without a word. A subfolder the pass may not list is listed too, and
    reported as not read on every pass until its permissions are fixed.
    """

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path)
        self.location = str(self.root)

    def pending(self) -> list[InboxItem]:
        return self.oldest(None)[0]

    def oldest(self, limit: int | None) -> tuple[list[InboxItem], int]:
        try:
            return oldest_of(self._listing(), limit)
        except OSError as e:
            raise StoreUnavailable(f"{self.location}: cannot list inbox: {e.strerror or e}") from None

    def _listing(self) -> Iterator[InboxItem]:
        """Every item, one directory entry at a time (a directory of millions of files is never held as a list).

        A link to a directory is an item, never entered; `processed/` and `quarantine/` at the root are skipped,
        links or not.
        """
        if not self.root.exists():
            return
        folders = [self.root]
        while folders:
            here = folders.pop()
            try:
                entries = os.scandir(here)
            except FileNotFoundError:
                continue  # removed while we listed
            except OSError:
                if here == self.root:
                    raise
                # A producer's folder the pass may not list must not stop the listing of the others: it is an
                # item of its own, which `open` reports as not read (it stays, as the pass may not move it).
                yield self._item(here)
                continue
            with entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    if here == self.root and name in (PROCESSED, QUARANTINE):
                        # Skipped as they are: a link to a folder on another disk is a usual way to mount them.
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # archived by a concurrent pass while we listed
                    key = Path(entry.path).relative_to(self.root).as_posix()
                    yield InboxItem(key=key, size=st.st_size, modified_ms=st.st_mtime_ns // 1_000_000)

    def _item(self, path: Path) -> InboxItem:
        try:
            st = os.stat(path, follow_symlinks=False)
            size, modified = st.st_size, st.st_mtime_ns // 1_000_000
        except OSError:
            size, modified = 0, 0
        return InboxItem(key=path.relative_to(self.root).as_posix(), size=size, modified_ms=modified)

    def read(self, item: InboxItem) -> bytes:
        with self.open(item) as f:
            return f.read()

    def open(self, item: InboxItem) -> BinaryIO:
        path = self.root / item.key
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            raise ItemGone(f"{self.location}/{item.key}: gone (archived by another pass)") from None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise ItemRefused(f"a symbolic link ({self._target(path)}): {ONLY_REGULAR}") from None
            if path.is_dir() and not path.is_symlink():
                raise StoreUnavailable(
                    f"{self.location}/{item.key}: a folder the monitor may not list ({e.strerror or e}): "
                    "give the monitor's user read and execute permission on it"
                ) from None
            raise ItemRefused(f"cannot be opened: {e.strerror or e}") from None
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
                raise ItemRefused(f"{kind}: {ONLY_REGULAR}")
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    @staticmethod
    def _target(path: Path) -> str:
        try:
            target = os.readlink(path)
        except OSError:
            return "unreadable"
        return f"to {target}" + ("" if path.exists() else ", which does not exist")

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

    def archive(self, item: InboxItem, folder: str) -> None:
        self._move(item, self.root / PROCESSED / folder / item.key)

    def quarantine(self, item: InboxItem, reason: str, folder: str) -> None:
        dest = self.root / QUARANTINE / folder / item.key
        try:
            write_atomic(dest.with_name(dest.name + ".reason.txt"), (reason + "\n").encode())
        except OSError as e:
            raise StoreUnavailable(f"{dest}.reason.txt: cannot write: {e.strerror or e}") from None
        self._move(item, dest)

    def reject_lines(self, item: InboxItem, rejected: list[Rejected], folder: str, unlisted: int = 0) -> None:
        if not rejected and not unlisted:
            return
        dest = self.root / QUARANTINE / folder / item.key
        try:
            if unlisted:
                # Every rejected line is kept: those not listed are in the file itself, copied whole.
                _copy_atomic(self.root / item.key, dest)
            write_atomic(
                dest.with_name(dest.name + ".rejected.jsonl"),
                rejected_body(item.key, rejected, unlisted, str(dest)),
            )
        except FileNotFoundError:
            return  # moved by a concurrent pass, which stores its own copy of these lines
        except OSError as e:
            raise StoreUnavailable(f"{dest}: cannot write rejected lines: {e.strerror or e}") from None
