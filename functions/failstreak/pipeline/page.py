"""The pass's last stage when `page:` is set: keep the run-history page current (docs/page.md).

It runs after the state is saved, so a page that cannot be written never costs a run or a notification: the
problem is a warning of the pass, and the next pass tries again. The page is rewritten only when something on
it changed (views/store.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from failstreak.core.model import JobState, Mute, State
from failstreak.core.policy import JobPolicy
from failstreak.errors import FailstreakError
from failstreak.views.jobs import job_views
from failstreak.views.page import render

WRITTEN = "written"
UNCHANGED = "unchanged"
FAILED = "failed"


def keep_page(
    location: str,
    state: State,
    mutes: Iterable[Mute],
    policy_for: Callable[[str], JobPolicy],
    teams_of: Callable[[str, str | None], list[str]],
    now: int,
    health_of: Callable[[JobState], str] | None = None,
) -> tuple[str, str | None]:
    """Render the page of `state` and keep it at `location`: (`written`, `unchanged` or `failed`, a warning)."""
    # The store's S3 side is loaded only by a pass that keeps a page (the Lambda's cold start stays lean).
    from failstreak.views.store import write_page  # noqa: PLC0415

    page = render(job_views(state, mutes, policy_for, teams_of, now, health_of), now)
    try:
        written = write_page(location, page)
    except FailstreakError as e:
        return FAILED, f"the run-history page was not written (the next pass tries again): {e}"
    return (WRITTEN if written else UNCHANGED), None
