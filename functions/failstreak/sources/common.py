"""What every platform adapter shares: the HTTP source, the cursor window, secrets at pull time.

The cursor each source keeps in the state is `{"since": ms}`: the time of the last pass whose pull succeeded.
The next pull asks the platform for runs from `since - overlap` on, so a run that finished late (or a page that
was still being written) is fetched again; the engine's dedupe makes the overlap harmless.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any, ClassVar

from failstreak.core.model import Execution, iso
from failstreak.errors import FailstreakError, SourceError
from failstreak.secretref import ResolveSecret, SecretRef
from failstreak.sources.base import Pulled, Source
from failstreak.sources.http import Session
from failstreak.sources.settings import BaseSourceConfig

log = logging.getLogger("failstreak.sources")

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
MAX_TEXT = 1000
PER_PAGE = 100


class HttpSource(Source):
    """A source that polls an HTTP API. Subclasses implement `fetch(session, start_ms, now_ms)`."""

    permission_hint: ClassVar[str] = ""

    def __init__(self, cfg: BaseSourceConfig, resolve: ResolveSecret) -> None:
        self.cfg = cfg
        self.name = cfg.source_name
        self.resolve = resolve

    def secret(self, ref: SecretRef, field: str) -> str:
        """Resolve a credential at pull time, so a missing one fails this source only, naming where it comes from."""
        try:
            return self.resolve(ref)
        except FailstreakError as e:
            raise SourceError(f"{self.name}: {field} ({ref.describe()}) could not be read: {e}") from None
        except Exception as e:  # a secrets backend's own error: fail this source only, and quote no detail
            raise SourceError(
                f"{self.name}: {field} ({ref.describe()}) could not be read ({type(e).__name__})"
            ) from None

    @abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """The headers carrying this source's credentials (resolved now, at pull time)."""

    def session(self) -> Session:
        c = self.cfg
        return Session(
            self.name,
            c.url,
            self.auth_headers(),
            timeout_seconds=c.timeout_seconds,
            budget_seconds=c.time_budget_seconds,
            max_retries=c.max_retries,
            backoff_seconds=c.backoff_seconds,
            permission_hint=self.permission_hint,
        )

    def window_start(self, cursor: dict[str, Any], now_ms: int) -> int:
        """Where this pull starts: the last successful pull minus the overlap, or the initial lookback."""
        since = cursor.get("since")
        if isinstance(since, int) and not isinstance(since, bool) and 0 < since <= now_ms:
            return since - int(self.cfg.overlap_minutes * MINUTE_MS)
        return now_ms - int(self.cfg.initial_lookback_hours * HOUR_MS)

    def pull(self, cursor: dict[str, Any], now_ms: int) -> Pulled:
        start = self.window_start(cursor, now_ms)
        session = self.session()
        try:
            executions, since = self.fetch(session, start, now_ms)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            # The documented shapes are checked where it matters; this catches the rest of a malformed page.
            raise SourceError(f"{self.name}: malformed page: {type(e).__name__}: {text(str(e), 160)}") from None
        log.info("%s: %d runs since %s in %d requests", self.name, len(executions), iso(start), session.requests)
        return Pulled(executions, {"since": since})

    @abstractmethod
    def fetch(self, session: Session, start_ms: int, now_ms: int) -> tuple[list[Execution], int]:
        """The finished runs since `start_ms`, and the `since` to store when the pass succeeds."""

    def pages(
        self, session: Session, path: str, params: dict[str, Any], items_key: str | None = None
    ) -> tuple[list[Any], bool]:
        """Every item of a paged list (up to max_pages), and whether the listing was cut short.

        Pages are followed through `Link: <...>; rel="next"` (GitHub, GitLab keyset) or `X-Next-Page` (GitLab
        offset). `items_key` names the list inside an object page (GitHub's `workflow_runs`, `jobs`).
        """
        items: list[Any] = []
        first = {**params, "per_page": PER_PAGE}
        response = session.get(path, first)
        for page in range(1, self.cfg.max_pages + 1):
            data = response.data
            if items_key is not None:
                data = data.get(items_key) if isinstance(data, dict) else None
            if not isinstance(data, list):
                raise session.malformed(path, f"expected a list{f' in {items_key!r}' if items_key else ''}")
            items.extend(data)
            link = response.next_link()
            next_page = (response.header("x-next-page") or "").strip()
            if not link and not next_page:
                return items, False
            if page == self.cfg.max_pages:
                return items, True
            if link:
                response = session.get(link)
            elif next_page.isdigit():
                response = session.get(path, {**first, "page": int(next_page)})
            else:
                raise session.malformed(path, f"X-Next-Page is {next_page!r}")
        return items, True  # pragma: no cover - the loop always returns

    def hold_for_unfinished(self, now_ms: int, earliest: int | None, max_run_hours: float) -> int:
        """The cursor to store when runs are still unfinished: the start of the earliest of them.

        Platforms that list by start or creation time would otherwise never list a long run again once it
        finishes. A run unfinished for more than `max_run_hours` stops holding the cursor back.
        """
        if earliest is None:
            return now_ms
        return max(now_ms - int(max_run_hours * HOUR_MS), min(now_ms, earliest))

    def job_key(self, name: str) -> str:
        return f"{self.cfg.job_prefix}{name}"

    def truncated(self, what: str, start_ms: int) -> None:
        log.warning(
            "%s: %s: stopped after max_pages=%d; older runs since %s were not read this pass",
            self.name,
            what,
            self.cfg.max_pages,
            iso(start_ms),
        )


def text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A platform string, trimmed to one readable line; None when absent or empty."""
    if not isinstance(value, str):
        return None
    flat = " ".join(value.split())
    if not flat:
        return None
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
