"""The run-history page from a config and a state (docs/page.md): `failstreak html`, and the page a pass keeps.

What the config says about each job (its window, its owning teams, the mute covering it now) is looked up here;
the page itself is rendered by the pure `views.page.render` and written by `views.store`.
"""

from __future__ import annotations

import re

from failstreak.app.config import Config
from failstreak.app.routing import Router
from failstreak.core.alerting import mute_covering
from failstreak.core.model import JobState, Mute, State, iso
from failstreak.errors import ConfigError
from failstreak.views.page import JobView, Page, render
from failstreak.views.store import MAX_URL_SECONDS, PresignedUrl


def describe_mute(mute: Mute, job: JobState) -> str:
    """A mute as a person reads it: until when, or for how many more runs, and why."""
    parts = []
    if mute.until is not None:
        parts.append(f"until {iso(mute.until)}")
    if mute.runs is not None:
        parts.append(f"for {max(mute.runs - job.mute_runs.get(mute.id, 0), 0)} more runs")
    if mute.until_success:
        parts.append("until the next success")
    text = ", ".join(parts) or "until unmuted"
    return f"{text} ({mute.reason})" if mute.reason else text


def job_views(cfg: Config, state: State, now: int, router: Router | None = None) -> list[JobView]:
    """Every job of the state as the page shows it, with its window, teams and current mute."""
    from failstreak.pipeline.advance import all_mutes  # noqa: PLC0415 - the pass imports this module

    router = router or Router(cfg)
    mutes = all_mutes(cfg, state, now)
    policy_for = cfg.policy_lookup()
    views = []
    for job in state.jobs.values():
        mute = mute_covering(job, mutes, now)
        views.append(
            JobView(
                job=job,
                teams=tuple(router.job_teams(job.name, job.owner)),
                window=policy_for(job.name).window,
                mute=describe_mute(mute, job) if mute is not None else None,
            )
        )
    return views


def page_of(cfg: Config, state: State, now: int, router: Router | None = None) -> Page:
    """The run-history page of `state`, rendered at `now`."""
    return render(job_views(cfg, state, now, router), now)


_LIFETIME = re.compile(r"(\d+(?:\.\d+)?)([mhd])")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


def parse_lifetime(text: str) -> int:
    """`30m`, `12h`, `7d` in seconds, at most 7 days (a presigned URL's limit); ConfigError otherwise."""
    found = _LIFETIME.fullmatch(text.strip())
    seconds = int(float(found[1]) * _UNIT_S[found[2]]) if found else 0
    if not 1 <= seconds <= MAX_URL_SECONDS:
        raise ConfigError(f"--expires {text!r}: give a duration from 1m to 7d, such as 30m, 12h or 7d")
    return seconds


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
