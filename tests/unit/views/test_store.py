"""The page kept in a local file (views/store.py): private, rewritten only when it changed, errors named."""

from __future__ import annotations

from pathlib import Path

import pytest

from failstreak.core.model import JobState
from failstreak.errors import StoreUnavailable
from failstreak.views.page import JobView, Page, render
from failstreak.views.store import write_page
from tests.conftest import HOUR, T0


def page(jobs: int, at: int = T0) -> Page:
    return render([JobView(job=JobState(name=f"j{n}"), teams=(), window=10) for n in range(jobs)], at)


def test_a_local_page_is_written_for_its_owner_only_and_again_only_when_it_changed(tmp_path: Path) -> None:
    # Given no page yet, in a folder that does not exist
    path = tmp_path / "site" / "page.html"

    # When a page is written, then the same page rendered later, then a changed page, then the same forced
    results = [
        write_page(str(path), page(1)),
        write_page(str(path), page(1, at=T0 + HOUR)),
        write_page(str(path), page(2)),
        write_page(str(path), page(2, at=T0 + HOUR), force=True),
    ]

    # Then only the unchanged page was left alone; the file is the last written, readable by its owner only
    assert results == [True, False, True, True]
    assert path.read_text() == page(2, at=T0 + HOUR).html
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["page.html"]


def test_a_page_that_cannot_be_written_names_its_path(tmp_path: Path) -> None:
    # Given a page path under a file
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "page.html"

    # When the page is written there; Then the error names the path
    with pytest.raises(StoreUnavailable, match=f"{target}: cannot write the page"):
        write_page(str(target), page(1))
