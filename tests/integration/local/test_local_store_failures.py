"""The local store when the filesystem says no: unreadable state, unwritable state, a lock that cannot be taken,
and an archive on another filesystem. Each failure is real (no patched calls): the pass stops with one line
naming the file, and nothing in the inbox is lost; the next pass that can run counts everything once.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from failstreak.app.cli import main
from failstreak.errors import ItemGone, StoreUnavailable
from failstreak.inbox.local import LocalInbox
from failstreak.state.codec import decode
from failstreak.state.local import LocalStateStore
from tests.conftest import T0


def record(job: str, run_id: int, status: str = "failed") -> str:
    return json.dumps({"job": job, "run_id": run_id, "status": status, "finished_at": T0 + run_id * 60_000})


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\n")
    (tmp_path / "inbox" / "runs.jsonl").write_text("".join(record("ci/a", n) + "\n" for n in (1, 2, 3)))
    return tmp_path


def run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["run", "--json", "--config", str(workdir / "failstreak.yaml")])
    captured = capsys.readouterr()
    return code, captured.out if code == 0 else captured.err


def test_a_state_that_cannot_be_read_stops_the_pass_and_keeps_the_inbox(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a state path that cannot be read as a file (a directory is in its way)
    (workdir / "state.json").mkdir()

    # When a pass runs
    code, err = run(workdir, capsys)

    # Then it fails with one line naming the state and the reason, and the inbox file is still there
    assert code == 1
    assert err == f"failstreak: {workdir / 'state.json'}: cannot read state: Is a directory\n"
    assert (workdir / "inbox" / "runs.jsonl").exists()


def _limit_file_size() -> None:
    # Writes past 200 bytes fail with EFBIG instead of killing the process (SIGXFSZ ignored), as on a full disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


def test_a_state_that_cannot_be_written_stops_the_pass_and_the_next_pass_counts_the_runs_once(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a process that cannot write files larger than 200 bytes (the state is larger)
    exe = Path(sys.executable).with_name("failstreak")
    config = str(workdir / "failstreak.yaml")

    # When a pass runs in it
    limited = subprocess.run(
        [exe, "run", "--config", config], capture_output=True, text=True, preexec_fn=_limit_file_size, check=False
    )

    # Then it fails naming the state and the reason, leaves no state and keeps the inbox file
    assert limited.returncode == 1
    assert limited.stderr == f"failstreak: {workdir / 'state.json'}: cannot write state: File too large\n"
    assert not (workdir / "state.json").exists()
    assert [p.name for p in (workdir / "inbox").iterdir()] == ["runs.jsonl"]
    assert not [p for p in workdir.iterdir() if p.name.endswith(".tmp")]

    # And the next pass, free to write, counts the three runs once
    code, out = run(workdir, capsys)
    assert code == 0
    assert json.loads(out)["ingested"] == 3
    assert decode((workdir / "state.json").read_bytes()).jobs["ci/a"].total_runs == 3


def test_a_lock_that_cannot_be_taken_stops_the_pass_naming_the_lock_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a lock file that cannot be opened (a directory is in its way)
    (workdir / "state.json.lock").mkdir()

    # When a pass runs
    code, err = run(workdir, capsys)

    # Then it fails naming the lock file, and the inbox file is still there
    assert code == 1
    assert err == f"failstreak: {workdir / 'state.json.lock'}: cannot lock the state: Is a directory\n"
    assert (workdir / "inbox" / "runs.jsonl").exists()


def _other_filesystem(than: Path) -> Path:
    """A writable directory on a different filesystem than `than` (a tmpfs such as /dev/shm on Linux)."""
    here = os.stat(than).st_dev
    for candidate in (Path("/dev/shm"), Path("/run/user") / str(os.getuid()), Path("/run"), Path("/tmp")):
        if candidate.is_dir() and os.access(candidate, os.W_OK) and os.stat(candidate).st_dev != here:
            return candidate
    raise AssertionError(f"no writable directory on another filesystem than {than}: this test needs one")


def test_archive_and_quarantine_on_another_filesystem_are_moved_across(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given processed/ and quarantine/ on another filesystem than the inbox (symlinked, as a mount would be),
    # where a rename cannot reach (EXDEV)
    elsewhere = Path(tempfile.mkdtemp(dir=_other_filesystem(workdir), prefix="failstreak-test-"))
    try:
        (elsewhere / "processed").mkdir()
        (elsewhere / "quarantine").mkdir()
        (workdir / "inbox" / "processed").symlink_to(elsewhere / "processed")
        (workdir / "inbox" / "quarantine").symlink_to(elsewhere / "quarantine")
        (workdir / "inbox" / "unreadable.jsonl").write_bytes(b"\xff\xfe\x00\x01")

        # When a pass runs
        code, out = run(workdir, capsys)

        # Then the good file is archived and the unreadable one quarantined with its reason, across the devices
        assert code == 0
        assert json.loads(out)["ingested"] == 3
        assert [p.name for p in (elsewhere / "processed").rglob("*.jsonl")] == ["runs.jsonl"]
        assert sorted(p.name for p in (elsewhere / "quarantine").rglob("*") if p.is_file()) == [
            "unreadable.jsonl",
            "unreadable.jsonl.reason.txt",
        ]
        assert sorted(p.name for p in (workdir / "inbox").iterdir()) == ["processed", "quarantine"]
        # And the next pass finds nothing left to read
        code, out = run(workdir, capsys)
        assert (json.loads(out)["files"], json.loads(out)["ingested"]) == (0, 0)
    finally:
        shutil.rmtree(elsewhere)


def test_a_state_write_that_fails_leaves_the_old_state_and_no_temporary_file(tmp_path: Path) -> None:
    # Given a saved state, and this process unable to write files past 200 bytes (as on a full disk)
    store = LocalStateStore(tmp_path / "state.json")
    token = store.save(b'{"old": true}', None)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing the process.
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, hard))
    try:
        # When a larger state is saved
        with pytest.raises(StoreUnavailable) as raised:
            store.save(b"x" * 1000, token)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    # Then the error names the state and the reason, the old state is intact, and the temporary file is gone
    assert str(raised.value) == f"{tmp_path / 'state.json'}: cannot write state: File too large"
    assert (tmp_path / "state.json").read_bytes() == b'{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.lock"]


def test_files_still_being_written_and_a_missing_inbox_are_not_read(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a producer still writing a dot-named temporary file beside a finished one
    (workdir / "inbox" / ".runs2.jsonl.tmp").write_text(record("ci/b", 9) + "\n")

    # When a pass runs, then it reads the finished file only, and leaves the temporary one alone
    code, out = run(workdir, capsys)
    assert (code, json.loads(out)["files"]) == (0, 1)
    assert (workdir / "inbox" / ".runs2.jsonl.tmp").exists()

    # And with the inbox directory gone altogether, a pass has nothing to read and still succeeds
    shutil.rmtree(workdir / "inbox")
    code, out = run(workdir, capsys)
    assert (code, json.loads(out)["files"]) == (0, 0)


def test_a_state_that_became_unreadable_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    # Given a store that read no state, and then something unreadable put where the state goes
    store = LocalStateStore(tmp_path / "state.json")
    loaded = store.load()
    (tmp_path / "state.json").mkdir()

    # When the pass saves, then the save is refused naming the state and the reason, and nothing is replaced
    with pytest.raises(StoreUnavailable, match=r"state\.json: cannot read state: Is a directory$"):
        store.save(b"{}", loaded.token)
    assert (tmp_path / "state.json").is_dir()


def test_a_dangling_link_in_the_inbox_is_not_read_and_the_pass_goes_on(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a link in the inbox to a file that no longer exists, beside a good file
    (workdir / "inbox" / "gone.jsonl").symlink_to(workdir / "nowhere.jsonl")

    # When a pass runs, then it counts the good file, and names the link with the reason it was not read
    code, out = run(workdir, capsys)
    summary = json.loads(out)
    assert (code, summary["ingested"]) == (0, 3)
    (reject,) = summary["rejects"]
    assert reject["file"] == "gone.jsonl"
    assert reject["reason"].startswith(f"a symbolic link (to {workdir / 'nowhere.jsonl'}, which does not exist): ")
    # And the link itself is quarantined, so the next pass does not meet it again
    assert not (workdir / "inbox" / "gone.jsonl").is_symlink()


def test_a_link_to_a_file_that_cannot_be_read_is_not_followed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given, beside a good file, a link whose target fails any read (/proc/self/mem refuses to be read from
    # address 0 with EIO)
    (workdir / "inbox" / "broken.jsonl").symlink_to("/proc/self/mem")

    # When a pass runs
    code, out = run(workdir, capsys)

    # Then the good file is counted, and the link is named with the reason, never followed
    summary = json.loads(out)
    assert (code, summary["ingested"]) == (0, 3)
    (reject,) = summary["rejects"]
    assert reject["file"] == "broken.jsonl"
    assert reject["reason"].startswith("a symbolic link (to /proc/self/mem): only regular files are read")


def test_files_in_subfolders_of_the_inbox_are_read_and_archived_under_their_folder(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a producer writing into its own subfolder of the inbox
    (workdir / "inbox" / "team-a").mkdir()
    (workdir / "inbox" / "team-a" / "more.jsonl").write_text(record("ci/b", 7) + "\n")

    # When a pass runs, then both files are read, and the subfolder's file is archived under its folder
    code, out = run(workdir, capsys)
    assert (code, json.loads(out)["files"], json.loads(out)["ingested"]) == (0, 2, 4)
    assert [
        p.relative_to(workdir / "inbox" / "processed").parts[-2:] for p in (workdir / "inbox").rglob("more.jsonl")
    ] == [("team-a", "more.jsonl")]


def test_a_file_archived_by_another_pass_after_listing_is_gone_not_an_error(workdir: Path) -> None:
    # Given this pass's listing of the inbox, and another pass archiving the file right after
    inbox = LocalInbox(workdir / "inbox")
    (item,) = inbox.pending()
    LocalInbox(workdir / "inbox").archive(item, "2026/12/04/other-pass")

    # When this pass reads it, then it learns the file is gone (its runs are the other pass's to count)
    with pytest.raises(ItemGone, match=r"runs\.jsonl: gone"):
        inbox.read(item)
    # And archiving it again is a no-op that leaves one archived copy
    inbox.archive(item, "2026/12/04/other-pass")
    assert [p.name for p in (workdir / "inbox" / "processed").rglob("*.jsonl")] == ["runs.jsonl"]
