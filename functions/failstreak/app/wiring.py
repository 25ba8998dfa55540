"""Builds the adapters a pass needs from the config. Imports each backend only when the config uses it, so a
local pass never loads boto3 and a pass without Slack never loads slack-sdk.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from typing import TextIO

from failstreak.app.config import Config, EmailConfig, SlackConfig, resolve_secret
from failstreak.app.intake_settings import intake_settings
from failstreak.app.pagelink import once, page_link
from failstreak.app.routing import Router
from failstreak.core.model import now_ms
from failstreak.core.triage import TriageSettings
from failstreak.inbox.base import Inbox
from failstreak.notifiers.base import Deferred, Notifier
from failstreak.pipeline.run import PassSettings, Ports
from failstreak.sources.base import Source
from failstreak.state.base import StateStore
from failstreak.state.mutes import mutes_store

PageLinkMaker = Callable[[], str | None]


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def state_store(location: str) -> StateStore:
    if is_s3(location):
        from failstreak.state.s3 import S3StateStore  # noqa: PLC0415

        return S3StateStore.from_uri(location)
    from failstreak.state.local import LocalStateStore  # noqa: PLC0415

    return LocalStateStore(location)


def inbox(location: str) -> Inbox:
    if is_s3(location):
        from failstreak.inbox.s3 import S3Inbox  # noqa: PLC0415

        return S3Inbox.from_uri(location)
    from failstreak.inbox.local import LocalInbox  # noqa: PLC0415

    return LocalInbox(location)


def _slack(cfg: SlackConfig, link: PageLinkMaker, actions: bool) -> Notifier:
    from failstreak.notifiers.slack import SlackNotifier  # noqa: PLC0415 - slack-sdk only when configured

    return SlackNotifier.from_config(cfg, resolve_secret, page_link=link, actions=actions)


def _email(cfg: EmailConfig, link: PageLinkMaker) -> Notifier:
    from failstreak.notifiers.email import EmailNotifier  # noqa: PLC0415 - boto3 only when configured

    return EmailNotifier.from_config(cfg, resolve_secret, page_link=link)


def notifiers(cfg: Config, console: TextIO | None = None, clock: Callable[[], int] = now_ms) -> dict[str, Notifier]:
    """The pass's notifiers; Slack and email messages carry a run-history link minted with `clock` when the
    config allows one (app/pagelink.py)."""
    out: dict[str, Notifier] = {}
    if cfg.notify.console_enabled:
        from failstreak.notifiers.console import ConsoleNotifier  # noqa: PLC0415 - its rendering only when enabled

        out["console"] = ConsoleNotifier(console or sys.stdout)
    slack, email = cfg.notify.slack, cfg.notify.email
    link = once(lambda: page_link(cfg, clock()))
    if slack is not None:
        # Alerts carry buttons only when the front is there to answer them (docs/http.md, "Slack").
        actions = cfg.http.slack_signing_secret is not None
        out["slack"] = Deferred("slack", lambda: _slack(slack, link, actions))
    if email is not None:
        out["email"] = Deferred("email", lambda: _email(email, link))
    return out


def sources(cfg: Config) -> list[Source]:
    """The adapters for the config's `sources:` blocks (validated with the config); credentials are read at pull
    time through `resolve_secret`."""
    if not cfg.sources:
        return []
    from failstreak.sources import build  # noqa: PLC0415

    return build(cfg.sources, resolve_secret)


def ports(cfg: Config, console: TextIO | None = None) -> Ports:
    """Every adapter for one pass of `cfg`."""
    clock = now_ms
    return Ports(
        store=state_store(cfg.state),
        mutes=mutes_store(cfg.state),
        inbox=inbox(cfg.inbox) if cfg.inbox else None,
        sources=sources(cfg),
        notifiers=notifiers(cfg, console, clock),
        router=Router(cfg),
        clock=clock,
    )


def pass_settings(cfg: Config) -> PassSettings:
    """What a pass needs of `cfg`, as plain values."""
    return PassSettings(
        intake=intake_settings(cfg),
        policy_for=cfg.policy_lookup(),
        max_clock_skew_ms=cfg.max_clock_skew_ms,
        retire_after_ms=int(cfg.retire_after_days * 86_400_000) if cfg.retire_after_days else None,
        save_attempts=cfg.save_attempts,
        notify_max_attempts=cfg.notify.max_attempts,
        config_mutes=tuple(cfg.mutes),
        triage=TriageSettings(
            learn=cfg.silence.learn,
            grace_ms=cfg.silence.grace_ms,
            expects_runs=cfg.expects_runs,
            estate_alerts=cfg.categories.estate_alerts(),
        ),
        page=cfg.page,
        config_digest=hashlib.sha256(cfg.json_of(JUDGING)).hexdigest(),
        digest=cfg.digest.schedule() if cfg.digest is not None else None,
    )


# What of the config a job's alert, health and place on the page depend on (`PassSettings.digest`); not where
# things are kept, nor how notifications are sent.
JUDGING = {
    "thresholds",
    "history",
    "outcomes",
    "overrides",
    "reminder",
    "categories",
    "flaky",
    "silence",
    "job_keys",
    "teams",
    "owners",
}
