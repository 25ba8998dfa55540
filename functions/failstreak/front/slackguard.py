"""The guard rails of acting from Slack (docs/http.md, "Who may act from Slack"): who may, how long, on what.

- Who: `http.slack.allowed_users` (member ids) and `allowed_groups` (user group ids, whose members Slack lists
  through usergroups.users.list with the bot token). With neither, everyone in the workspace may act.
- How long: a mute lasts at most `http.slack.max_mute_days` (default 7); "until fixed" ends then too, if the job
  has not succeeded before.
- On what: a pattern that matches every job (`*`, `?*`, or every job the state knows) is refused.

A refusal is a `Refused` whose text is said to the person, politely and only to them; nothing is written.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING

from failstreak.app.config import check_pattern
from failstreak.front.slackreq import Person
from failstreak.notifiers.slack_render import escape

if TYPE_CHECKING:
    from failstreak.app.config import SlackFrontConfig

log = logging.getLogger("failstreak.front")

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
UNTIL_FIXED = "until-fixed"
_DURATION = re.compile(r"(\d{1,7})([mhd])")
_UNIT_MS = {"m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS}
_GLOB = re.compile(r"([*?\[])")


class Refused(Exception):
    """What cannot be done, and why, in words for the person who asked (mrkdwn, escaped)."""


def parse_duration(text: str, max_days: float) -> int | None:
    """`30m`, `4h`, `2d` in milliseconds, or None for `until-fixed`; Refused when it is neither, or is longer than
    `max_days`."""
    word = text.strip().lower()
    if word == UNTIL_FIXED:
        return None
    found = _DURATION.fullmatch(word)
    if found is None or int(found[1]) == 0:
        raise Refused(
            f"I did not understand the duration `{escape(text[:40])}`: write `30m`, `4h`, `2d` or `{UNTIL_FIXED}`."
        )
    ms = int(found[1]) * _UNIT_MS[found[2]]
    if ms > max_ms(max_days):
        raise Refused(f"A mute lasts at most {days(max_days)} here; ask for less, or use `{UNTIL_FIXED}`.")
    return ms


def max_ms(max_days: float) -> int:
    return int(max_days * DAY_MS)


def days(n: float) -> str:
    return f"{n:g} day" + ("" if n == 1 else "s")


def exact_pattern(job: str) -> str:
    """The glob that matches `job` and nothing else (`*`, `?` and `[` written as `[*]`, `[?]`, `[[]`)."""
    return _GLOB.sub(r"[\1]", job)


def matches_everything(pattern: str, jobs: Iterable[str]) -> bool:
    """Whether `pattern` matches any job name at all (`*`, `**`, `?*`: job names are never empty), or every one
    of `jobs` when there are at least two of them."""
    if pattern.replace("*", "") in ("", "?") and "*" in pattern:
        return True
    names = list(jobs)
    return len(names) >= 2 and all(fnmatch.fnmatchcase(name, pattern) for name in names)


def check_mute_pattern(pattern: str, jobs: Collection[str]) -> None:
    """Refused for a pattern that is not a valid glob, or that would mute every job."""
    try:
        check_pattern(pattern)
    except ValueError as e:
        raise Refused(escape(str(e))) from None
    if matches_everything(pattern, jobs):
        raise Refused(
            f"`{escape(pattern)}` matches every job: muting everything from Slack is not allowed. "
            "Name the jobs (a narrower pattern), or use `failstreak mute` from the command line."
        )


Members = Callable[[str], Collection[str]]


class Guard:
    """Whether a person may change mutes from Slack. `members(group_id)` lists a user group's member ids (it may
    raise: the person is then refused, since who they are could not be checked)."""

    def __init__(self, settings: SlackFrontConfig, members: Members | None) -> None:
        self.users = frozenset(settings.allowed_users)
        self.groups = tuple(settings.allowed_groups)
        self.members = members

    @property
    def everyone(self) -> bool:
        return not self.users and not self.groups

    def check(self, person: Person) -> None:
        """Nothing when `person` may act; Refused otherwise."""
        if self.everyone or person.id in self.users:
            return
        if self.groups and self.members is not None:
            for group in self.groups:
                try:
                    if person.id in self.members(group):
                        return
                except Exception as e:  # any failure to ask Slack: refuse, never let through
                    log.warning("slack: could not list the members of user group %s: %s", group, type(e).__name__)
                    raise Refused(
                        "Sorry, I could not check your user groups just now, so nothing was changed. "
                        "Please try again in a moment."
                    ) from None
        raise Refused(
            "Sorry, you are not among the people allowed to mute failstreak's alerts from Slack, so nothing was "
            "changed. Ask whoever runs failstreak to add you (`http.slack.allowed_users` or `allowed_groups`)."
        )
