"""Writing a local file atomically, as the local state store, the local inbox and `failstreak report` do."""

from __future__ import annotations

from pathlib import Path

import pytest

from failstreak.localfs import write_atomic


def test_a_file_is_written_with_its_folders_and_replaced_whole(tmp_path: Path) -> None:
    # Given a path in folders that do not exist yet
    path = tmp_path / "a" / "b" / "state.json"
    # When it is written, then written again
    write_atomic(path, b"first")
    write_atomic(path, b"second, longer")
    # Then it holds the last content whole, and no temporary file is left beside it
    assert path.read_bytes() == b"second, longer"
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]


def test_a_failed_write_leaves_the_old_content_and_no_temporary_file(tmp_path: Path) -> None:
    # Given a file with content, and a folder of the same name as the next target (os.replace must fail)
    path = tmp_path / "state.json"
    write_atomic(path, b"old")
    blocked = tmp_path / "folder"
    (blocked / "inside").mkdir(parents=True)
    # When writing over the folder fails
    with pytest.raises(IsADirectoryError):
        write_atomic(blocked, b"new")
    # Then the other file is untouched and the temporary file was removed
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "state.json"]
