"""Run-history links: `<front>/page?token=…` for the alert messages, the daily digest and `failstreak html --link`.

A link needs three things from the config (docs/http.md, "The page"): the front's URL (`http.url`, else the
`FAILSTREAK_FRONT_URL` environment variable the template gives the monitor), `http.page_secret`, and `page:`.
Without one of them there is no link. The token (core/pagetoken.py) lives `http.page_link_days` (default 7).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from failstreak.app.config import Config, resolve_secret
from failstreak.core import pagetoken
from failstreak.errors import ConfigError, FailstreakError
from failstreak.secretref import SecretRef

log = logging.getLogger(__name__)
FRONT_URL_ENV = "FAILSTREAK_FRONT_URL"
ROUTE = "page"


@dataclass(frozen=True, slots=True)
class PageLink:
    url: str
    expires_at: int  # unix seconds


def front_url(cfg: Config) -> str | None:
    """The front's base URL: `http.url`, else `FAILSTREAK_FRONT_URL`; None when neither is set."""
    url = cfg.http.url or os.environ.get(FRONT_URL_ENV, "").strip() or None
    return url if url is None or url.startswith(("https://", "http://")) else None


def missing(cfg: Config) -> list[str]:
    """What the config lacks for a link, in words (empty when a link can be made)."""
    lacks = []
    if front_url(cfg) is None:
        lacks.append(f"the front's URL (http.url, or the {FRONT_URL_ENV} environment variable)")
    if cfg.http.page_secret is None:
        lacks.append("http.page_secret")
    if cfg.page is None:
        lacks.append("page:")
    return lacks


def make_link(
    cfg: Config, now_ms: int, lifetime_s: int | None = None, secret_of: Callable[[SecretRef], str] = resolve_secret
) -> PageLink:
    """The link at `now_ms`, living `lifetime_s` (default `http.page_link_days`). ConfigError when the config
    lacks something (naming it) or the secret cannot be read."""
    lacks = missing(cfg)
    if lacks:
        raise ConfigError(f"no run-history link: the config ({cfg.source}) sets no {', '.join(lacks)}")
    assert cfg.http.page_secret is not None
    secret = secret_of(cfg.http.page_secret)
    if not secret:
        raise ConfigError(f"http.page_secret ({cfg.http.page_secret.describe()}) is empty")
    lifetime = lifetime_s if lifetime_s is not None else round(cfg.http.page_link_days * 86_400)
    expires_at = now_ms // 1000 + lifetime
    token = pagetoken.mint(secret, expires_at)
    base = str(front_url(cfg)).rstrip("/")
    return PageLink(f"{base}/{ROUTE}?token={quote(token, safe='')}", expires_at)


def page_link(cfg: Config, now_ms: int, *, secret_of: Callable[[SecretRef], str] = resolve_secret) -> str | None:
    """The run-history link a message carries, minted at `now_ms` (the pass's clock); None when the config sets
    no front URL, page secret or page, or when the secret cannot be read (logged: a message goes out without
    the link rather than not at all)."""
    if missing(cfg):
        return None
    try:
        return make_link(cfg, now_ms, secret_of=secret_of).url
    except FailstreakError as e:
        log.warning("no run-history link in this pass's messages: %s", str(e).splitlines()[0])
        return None


def once(make: Callable[[], str | None]) -> Callable[[], str | None]:
    """`make` called at most once: one link (one secret read) for all of a pass's messages."""
    made: list[str | None] = []

    def get() -> str | None:
        if not made:
            made.append(make())
        return made[0]

    return get
