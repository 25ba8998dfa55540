"""Builds the adapters a pass needs from the config. Imports each backend only when the config uses it, so a
local pass never loads boto3 and a pass without Slack never loads slack-sdk.
"""

from __future__ import annotations

import sys
from typing import TextIO

from failstreak.config import Config, resolve_secret
from failstreak.monitor import Ports
from failstreak.notifiers.base import Notifier
from failstreak.notifiers.console import ConsoleNotifier
from failstreak.routing import Router
from failstreak.sources.base import Source
from failstreak.stores.base import Inbox, StateStore


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def state_store(location: str) -> StateStore:
    if is_s3(location):
        from failstreak.stores.s3 import S3StateStore  # noqa: PLC0415

        return S3StateStore.from_uri(location)
    from failstreak.stores.local import LocalStateStore  # noqa: PLC0415

    return LocalStateStore(location)


def inbox(location: str) -> Inbox:
    if is_s3(location):
        from failstreak.stores.s3 import S3Inbox  # noqa: PLC0415

        return S3Inbox.from_uri(location)
    from failstreak.stores.local import LocalInbox  # noqa: PLC0415

    return LocalInbox(location)


def notifiers(cfg: Config, console: TextIO | None = None) -> dict[str, Notifier]:
    out: dict[str, Notifier] = {}
    if cfg.notify.console_enabled:
        out["console"] = ConsoleNotifier(console or sys.stdout)
    if cfg.notify.slack is not None:
        from failstreak.notifiers.slack import SlackNotifier  # noqa: PLC0415 - slack-sdk only when configured

        out["slack"] = SlackNotifier.from_config(cfg.notify.slack, resolve_secret)
    if cfg.notify.email is not None:
        from failstreak.notifiers.email import EmailNotifier  # noqa: PLC0415 - boto3 only when configured

        out["email"] = EmailNotifier.from_config(cfg.notify.email, resolve_secret)
    return out


def sources(cfg: Config) -> list[Source]:
    if not cfg.sources:
        return []
    from failstreak.sources import build  # noqa: PLC0415

    built: list[Source] = build(cfg)
    return built


def ports(cfg: Config, console: TextIO | None = None) -> Ports:
    """Every adapter for one pass of `cfg`."""
    return Ports(
        store=state_store(cfg.state),
        inbox=inbox(cfg.inbox) if cfg.inbox else None,
        sources=sources(cfg),
        notifiers=notifiers(cfg, console),
        router=Router(cfg),
    )
