"""What both Slack routes build from the config: the guard rails and the follow-ups, with the bot token.

The bot token is `notify.slack.token` (the notifier's): it lists user groups' members (usergroups:read) and posts
the notes in jobs' threads (chat:write). With an incoming webhook instead, there is no token: no thread notes, and
`allowed_groups` cannot be checked (everyone outside `allowed_users` is then refused).
"""

from __future__ import annotations

import logging

from slack_sdk.web import WebClient

from failstreak.errors import FailstreakError
from failstreak.front.context import Front
from failstreak.front.slackguard import Guard
from failstreak.front.slackreply import DEFAULT_BASE_URL, Budget, Replies

log = logging.getLogger("failstreak.front")


def bot_token(front: Front) -> str | None:
    """The bot token, or None (no `notify.slack.token`, or it cannot be read: logged)."""
    slack = front.config.notify.slack if front.config is not None else None
    if slack is None or slack.token is None:
        return None
    try:
        return front.secret_of(slack.token)
    except FailstreakError as e:
        log.error("slack: the bot token (%s) could not be read: %s", slack.token.describe(), str(e).splitlines()[0])
        return None


def base_url(front: Front) -> str | None:
    slack = front.config.notify.slack if front.config is not None else None
    return slack.base_url if slack is not None else None


def replies(front: Front) -> Replies:
    return Replies(
        Budget(front.slack_budget_s, started=front.started), bot_token(front), base_url(front), skipped=front.dropped
    )


def guard(front: Front, budget: Budget) -> Guard:
    """The guard rails of `http.slack`; group members are asked of Slack only when a group must be checked, each
    call within what is left of `budget`."""
    settings = front.http.slack
    if not settings.allowed_groups:
        return Guard(settings, None)
    token = bot_token(front)
    if token is None:
        log.error("slack: http.slack.allowed_groups needs the bot token (notify.slack.token) to list members")
        return Guard(settings, None)
    client = WebClient(token=token, base_url=base_url(front) or DEFAULT_BASE_URL)

    def members(group: str) -> list[str]:
        # urllib takes fractions of a second; slack-sdk's annotation says int.
        client.timeout = max(budget.left(), 0.05)  # type: ignore[assignment]
        users = client.usergroups_users_list(usergroup=group).get("users")
        return [u for u in users if isinstance(u, str)] if isinstance(users, list) else []

    return Guard(settings, members)
