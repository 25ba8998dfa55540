"""What the routes share: the settings, the replay guard, the inbox writer, the page, the clock (docs/http.md)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from failstreak import s3client
from failstreak.app.config import Config, HttpConfig, resolve_secret
from failstreak.app.report import write_object
from failstreak.core.model import State
from failstreak.errors import FailstreakError, StoreUnavailable
from failstreak.front.http import HttpError
from failstreak.front.mutes import MuteLedger, StoreLedger
from failstreak.front.replay import ReplayGuard, default_location, guard_for
from failstreak.secretref import SecretRef
from failstreak.state.mutes import mutes_store

log = logging.getLogger("failstreak.front")
# What the front may spend on a Slack interaction before answering: Slack gives up at 3 s, counted from its side
# (docs/http.md, "Answering Slack in time").
SLACK_BUDGET_S = 2.0


@dataclass
class Front:
    """What the routes need: plain settings and the ports, built once per invocation by `front_for`.

    The Slack routes also need the whole config (`config`: the bot token, the state for `status`), the mutes
    document (`mutes`) and the time they may spend on follow-ups (`slack_budget`, from `started`).
    """

    http: HttpConfig
    inbox: str | None
    replay: ReplayGuard
    max_clock_skew_ms: int
    secret_of: Callable[[SecretRef], str] = resolve_secret
    now: Callable[[], float] = time.time
    s3_client: Any = None
    # The run-history page `GET /page` serves (the config's `page:`); None: the route is off.
    page: str | None = None
    config: Config | None = None
    mutes: MuteLedger | None = None
    slack_budget_s: float = SLACK_BUDGET_S
    started: float = field(default_factory=time.monotonic)
    # The Slack follow-ups this invocation gave up (out of time, or refused): the handler counts them.
    dropped: list[str] = field(default_factory=list)

    def secret(self, ref: SecretRef | None, route: str) -> str:
        """The route's secret; 404 when the config names none (the route is off), 500 when it cannot be read."""
        if ref is None:
            raise HttpError(404, f"{route} is not configured")
        try:
            return self.secret_of(ref)
        except FailstreakError as e:
            log.error("%s: its secret (%s) could not be read: %s", route, ref.describe(), str(e).splitlines()[0])
            raise HttpError(500, f"{route}: its secret could not be read (see the front's log)") from None

    def write_claimed(self, kind: str, ident: str, name: str, body: bytes) -> str:
        """Claim `ident` once (401 when it was seen before), then write one inbox object; a failed write gives
        the id back, so the platform's retry of the same request is accepted."""
        if self.inbox is None:
            raise HttpError(404, "no inbox is configured")
        if not self.replay.claim(kind, ident):
            raise HttpError(401, "replayed request: this signature or delivery id was accepted before")
        # The process's shared S3 client (its timeouts, its connections kept across warm invocations).
        s3 = self.s3_client or (s3client.client() if self.inbox.startswith("s3://") else None)
        try:
            where = write_object(self.inbox, name, body, s3_client=s3)
        except StoreUnavailable:
            self.replay.release(kind, ident)
            raise
        return where

    def read_state(self) -> State:
        """The monitor's state, read only (an empty one before the first pass), its jobs decoded as they are
        read (docs/state.md, "The index"): a command reads the index, and decodes only the jobs it shows or
        touches, within the front's memory at any size of estate. Raises StoreUnavailable, StateCorrupt."""
        from failstreak.app.wiring import state_store  # noqa: PLC0415 - only the Slack routes read the state
        from failstreak.state.codec import decode_document  # noqa: PLC0415

        if self.config is None:
            raise HttpError(404, "no state is configured")
        store = state_store(self.config.state)
        return decode_document(store.load().data, store.location)[0]

    def ledger(self) -> MuteLedger:
        """Where mutes are written; 404 when this front has none."""
        if self.mutes is None:
            raise HttpError(404, "no mutes document is configured")
        return self.mutes


def front_for(cfg: Config, **overrides: Any) -> Front:
    """The front a config describes: its `http:` block, its inbox, replay markers beside its state."""
    replay = guard_for(cfg.http.replay or default_location(cfg.state))
    overrides.setdefault("config", cfg)
    if "mutes" not in overrides:
        # The mutes document beside the state (docs/state.md), built now, read and written only by the Slack routes.
        store = mutes_store(cfg.state)
        store.attempts = cfg.save_attempts
        overrides["mutes"] = StoreLedger(store)
    return Front(cfg.http, cfg.inbox, replay, cfg.max_clock_skew_ms, **{"page": cfg.page, **overrides})
