"""The pass's last stage when `page:` is set: keep the run-history page current (docs/page.md).

It runs after the state is saved, so a page that cannot be written never costs a run or a notification: the
problem is a warning of the pass, and the next pass tries again. The page is made again only when what it is
made from changed (`page_inputs`: the jobs as stored, the live mutes, the settings, the silent jobs), and then
from the jobs it shows alone, picked from the state's index; it is rewritten only when something on it changed
(views/store.py). A render reuses the rows and sections of the page it replaces whose inputs are unchanged,
known before the jobs are read (views/jobs.py `page_rows`), so only the changed jobs are decoded; a page that
cannot be read or checked only means a render from nothing.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Collection, Iterable

import msgspec

from failstreak.core.model import Mute, State
from failstreak.errors import FailstreakError
from failstreak.gzipped import InflatedTooLarge, inflate
from failstreak.state.codec import Encoded
from failstreak.views.jobs import Viewing, page_rows, page_views
from failstreak.views.page import Kept, compose, fragments_of, render

WRITTEN = "written"
UNCHANGED = "unchanged"
FAILED = "failed"
_ENCODE = msgspec.json.Encoder().encode
# A kept page is at most about 50 MiB (views/page.py MAX_JOBS); one larger is not read for its rows.
MAX_CACHE_BYTES = 64 * 1024 * 1024


def page_inputs(state: State, encoded: Encoded | None, mutes: list[Mute], settings: str, silent: Iterable[str]) -> str:
    """The digest of what the page is made from: the jobs as last saved (`encoded`: the stored members of a large
    state, else the jobs' JSON), the live `mutes`, the `settings` that shape it (a digest of the config and of
    the owners), and the jobs silent now (their health changes with time alone)."""
    digest = hashlib.sha256()
    if encoded is not None and encoded.members is not None:
        for member in encoded.members:
            digest.update(member)
    else:
        digest.update(_ENCODE(list(state.jobs.values())))
    digest.update(_ENCODE(mutes))
    digest.update(_ENCODE([settings, *silent]))
    return digest.hexdigest()


def keep_page(
    location: str,
    state: State,
    viewing: Viewing,
    inputs: str | None = None,
    *,
    settings: str | None = None,
    silent: Collection[str] = (),
    encoded: Encoded | None = None,
) -> tuple[str, str | None]:
    """Render the page of `state`, each job as `viewing` sees it, and keep it at `location`: (`written`,
    `unchanged` or `failed`, a warning).
    With `inputs` (`page_inputs`), a page already made from the same inputs is left as it is, unrendered. With
    `settings` (a digest of everything that shapes every row: the config and the owners) and the jobs `silent`
    now, the rows of the kept page whose job and situation are unchanged are reused without reading their jobs;
    without, every shown job is read and its view compared (views/jobs.py `page_rows`, `page_views`). `encoded`:
    the state as last saved (its stored slices of jobs)."""
    # The store's S3 side is loaded only by a pass that keeps a page (the Lambda's cold start stays lean).
    from failstreak.views.store import stored_inputs, write_page  # noqa: PLC0415

    try:
        if inputs is not None and stored_inputs(location) == inputs:
            return UNCHANGED, None
        kept = kept_fragments(location)
        if settings is None:
            views, totals = page_views(state, viewing)
            page = render(views, viewing.now, totals=totals, inputs=inputs, cache=kept)
        else:
            saved = encoded.jobs if encoded is not None and encoded.names == tuple(state.jobs) else None
            shown = page_rows(state, viewing, settings=settings, silent=silent, kept=kept, stored=saved)
            page = compose(
                shown.placed, viewing.now, totals=shown.totals, inputs=inputs, slices=shown.slices, kept=kept
            )
        written = write_page(location, page)
    except FailstreakError as e:
        return FAILED, f"the run-history page was not written (the next pass tries again): {e}"
    return (WRITTEN if written else UNCHANGED), None


def kept_fragments(location: str) -> Kept:
    """The rows and sections of the page kept at `location`, to reuse; none when there is no page, it is larger
    than `MAX_CACHE_BYTES`, or it cannot be read or checked (the page is then rendered from nothing)."""
    from failstreak.views.store import read_page  # noqa: PLC0415

    try:
        kept = read_page(location, MAX_CACHE_BYTES)
        if kept is None or kept.body is None:
            return Kept()
        # Bounded as a local page is: an S3 object that inflates past it is not read for its rows.
        body = inflate(kept.body, MAX_CACHE_BYTES) if kept.gzipped else kept.body
        return fragments_of(body)
    except (FailstreakError, OSError, EOFError, zlib.error, InflatedTooLarge):
        return Kept()
