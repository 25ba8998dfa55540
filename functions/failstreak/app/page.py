"""The run-history page from a config and a state (docs/page.md), for `failstreak html`.

What the config says about each job (its window, its owning teams, the mutes) is looked up here and handed to
the pure `views.jobs` and `views.page`; `views.store` writes the page.
"""

from __future__ import annotations

import re

from failstreak.app.config import Config
from failstreak.app.routing import Router
from failstreak.app.status import read_book
from failstreak.core.model import State, iso
from failstreak.core.mutes import all_mutes
from failstreak.core.triage import TriageSettings
from failstreak.errors import ConfigError
from failstreak.views.jobs import Viewing, job_views
from failstreak.views.page import Kept, Page, render
from failstreak.views.store import MAX_URL_SECONDS, PresignedUrl


def page_of(cfg: Config, state: State, now: int, router: Router | None = None, cache: Kept | None = None) -> Page:
    """The run-history page of `state` under `cfg` (windows, owners, mutes), rendered at `now`; `cache`: the
    rows of a kept page to reuse (views/page.py `fragments_of`)."""
    teams_of = (router or Router(cfg)).job_teams
    judge = TriageSettings(learn=cfg.silence.learn, grace_ms=cfg.silence.grace_ms).judge(cfg.policy_lookup(), now)
    mutes = all_mutes(state, read_book(cfg, state), cfg.mutes, now)
    views = job_views(state, Viewing(mutes, cfg.policy_lookup(), teams_of, now, lambda j: judge(j).health.value))
    return render(views, now, cache=cache)


_LIFETIME = re.compile(r"(\d+(?:\.\d+)?)([mhd])")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


# A run-history link (`--link`) may live as long as `http.page_link_days` may be set.
MAX_LINK_SECONDS = 366 * 86400


def parse_lifetime(text: str, max_seconds: int = MAX_URL_SECONDS) -> int:
    """`30m`, `12h`, `7d` in seconds, at most `max_seconds` (by default 7 days, a presigned URL's limit);
    ConfigError otherwise."""
    found = _LIFETIME.fullmatch(text.strip())
    seconds = int(float(found[1]) * _UNIT_S[found[2]]) if found else 0
    if not 1 <= seconds <= max_seconds:
        most = f"{max_seconds // 86400}d"
        raise ConfigError(f"--expires {text!r}: give a duration from 1m to {most}, such as 30m, 12h or 7d")
    return seconds


def link_note(expires_at: int, now: int) -> str:
    """How long a run-history link lives, as `failstreak html --link` says it."""
    days, rest = divmod(expires_at - now // 1000, 86400)
    return (
        f"the link works until {iso(expires_at * 1000)} ({days} d {rest // 3600} h from now), for anyone who has it; "
        "rotating http.page_secret ends every link at once"
    )


def url_note(signed: PresignedUrl, now: int) -> str:
    """How long a presigned URL lives, as the command says it."""
    hours, minutes = divmod(signed.seconds // 60, 60)
    note = f"the URL works until {iso(now + signed.seconds * 1000)} ({hours} h {minutes} min from now)"
    if signed.temporary_credentials:
        note += (
            "; it was signed with temporary credentials (a role's or an SSO session's), and stops working when they "
            "expire, which may be sooner: sign it with a long-lived IAM user's keys for a link that lasts"
        )
    return note
