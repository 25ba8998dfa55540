"""Routing: which teams own a job and which destinations a notification goes to.

A destination is a string `kind:target` (`slack:#ci-alerts`, `email:oncall@example.com`) or `console`.

Owners come from a job-owners file in CODEOWNERS syntax (see `parse_owners`) and from the `owner` field of the
job's execution records. Each owning team's Slack channels and email addresses come from `cfg.teams`; a team
with no destination there (or an unknown team, or a job nobody owns) falls back to the defaults
(`notify.slack.default_channel`, `notify.email.default_to`), so an alert never vanishes. The optional
`notify.slack.broadcast_channel` receives every alert. A destination is listed once however many teams share
it, so a channel never gets two copies of one alert.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from failstreak.app.config import read_text
from failstreak.core.model import Notification
from failstreak.core.outbox import NO_DESTINATION
from failstreak.errors import ConfigError, FailstreakError

if TYPE_CHECKING:
    from failstreak.app.config import Config

DEFAULT_TEAM = "default"
# In webhook mode every Slack message goes to the webhook's own channel, whatever the routing says.
WEBHOOK_TARGET = "webhook"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEAM = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9._/-]*$")


@dataclass(frozen=True, slots=True)
class OwnerRule:
    """One line of the owners file: a glob on the job name and its owners (`@team` or `email`)."""

    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str]

    def matches(self, job: str) -> bool:
        return self.regex.match(job) is not None


def _strip_comment(line: str) -> str:
    # `#` starts a comment at the start of a line or after whitespace; `\#` is a literal `#` in a pattern.
    out = []
    prev = " "
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] == "#":
            out.append("#")
            i += 2
            prev = "#"
            continue
        if ch == "#" and prev.isspace():
            break
        out.append(ch)
        prev = ch
        i += 1
    return "".join(out).strip()


def parse_owners(text: str, source: str = "owners") -> list[OwnerRule]:
    """Parse a job-owners file (CODEOWNERS syntax, applied to job names).

    Each non-blank line is `PATTERN OWNER...`: a glob matched against the whole job name, case-sensitively
    (`*` any run of characters, `/` included; `?` one character; `[abc]` a set; `\\#` a literal `#`), then
    owners, each `@team` (or `@org/team`) or an email address. `#` starts a comment. A pattern with no
    owners un-owns the jobs it matches. When several lines match a job, the last one wins.
    Raises ConfigError naming `source:line` for a line that is not of that shape.
    """
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        pattern, *owners = line.split()
        if pattern.startswith("@"):
            raise ConfigError(f"{source}:{number}: the line starts with an owner; it must start with a job pattern")
        for owner in owners:
            if not (_TEAM.match(owner) or _EMAIL.match(owner)):
                raise ConfigError(
                    f"{source}:{number}: owner {owner!r} is neither @team nor an email address "
                    "(a line is `PATTERN @team-a @team-b`)"
                )
        regex = re.compile(fnmatch.translate(pattern))
        rules.append(OwnerRule(pattern, tuple(owners), number, regex))
    return rules


def _team_known(cfg: Config, name: str) -> bool:
    return name in cfg.teams or ("/" in name and name.rsplit("/", 1)[1] in cfg.teams)


def unknown_teams(rules: list[OwnerRule], cfg: Config, source: str) -> list[str]:
    """One warning per team the owners file names that the config's `teams:` does not define."""
    seen: dict[str, int] = {}
    for rule in rules:
        for owner in rule.owners:
            if not _EMAIL.match(owner) and not _team_known(cfg, owner.lstrip("@")):
                seen.setdefault(owner, rule.line)
    return [
        f"{source}:{line}: team {owner} is not in the config's teams: (its jobs' alerts go to the defaults)"
        for owner, line in seen.items()
    ]


def owners_of(rules: list[OwnerRule], job: str) -> tuple[str, ...]:
    """The owners of `job` by the last matching rule; () when no rule matches."""
    for rule in reversed(rules):
        if rule.matches(job):
            return rule.owners
    return ()


def record_owners(owner: str | None) -> tuple[str, ...]:
    """Owners named by an execution record's `owner` field: `team-a`, `@team-a`, `@a @b`, `a, b`, emails."""
    if not owner:
        return ()
    return tuple(t for t in re.split(r"[\s,;]+", owner.strip()) if t)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


class Router:
    """Routes notifications to the destinations of the teams that own their jobs.

    The owners file is read at most once per Router (one Router is built per pass), on first use, so a pass
    that sends nothing never reads it. An owner named by the job's execution records (`owner` field) takes
    precedence over the owners file, as the most specific statement of ownership.

    Counting never depends on routing: an owners file that cannot be read or parsed routes every alert to the
    defaults, and the problem is reported in `warnings()`, as is each team it names that `teams:` lacks.
    """

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._rules: list[OwnerRule] | None = None
        self._warnings: list[str] = []
        notify = cfg.notify
        slack = notify.slack
        self._slack = slack is not None
        self._webhook = slack is not None and slack.webhook_url is not None
        self._email = notify.email is not None
        self._console = notify.console_enabled
        self._default_slack = [slack.default_channel] if slack is not None and slack.default_channel else []
        self._broadcast = slack.broadcast_channel if slack is not None else None
        self._default_email = list(notify.email.default_to) if notify.email is not None else []

    def _owner_rules(self) -> list[OwnerRule]:
        if self._rules is None:
            location = self._cfg.owners
            self._rules = []
            if location:
                try:
                    self._rules = parse_owners(read_text(location), location)
                except FailstreakError as e:
                    self._warnings.append(
                        f"owners file not used, alerts go to the default destinations: {str(e).splitlines()[0]}"
                    )
                self._warnings.extend(unknown_teams(self._rules, self._cfg, location))
        return self._rules

    def owners_digest(self) -> str:
        """A digest of the owners file's rules (reading it, once per pass)."""
        rules = [(r.pattern, r.owners) for r in self._owner_rules()]
        return hashlib.sha256(repr(rules).encode()).hexdigest()

    def warnings(self) -> list[str]:
        """The routing problems met so far: an owners file that could not be used, teams it names without a
        `teams:` entry (their jobs' alerts go to the defaults)."""
        return list(self._warnings)

    def owners(self, n: Notification) -> tuple[str, ...]:
        """The owners of the notification's job: the record's `owner` if it names any, else the owners file."""
        return record_owners(n.owner) or owners_of(self._owner_rules(), n.job)

    def teams(self, n: Notification) -> list[str]:
        """The teams that own the job (for per-team metrics), without `@`; `default` when no team does."""
        return self.job_teams(n.job, n.owner)

    def job_teams(self, job: str, owner: str | None) -> list[str]:
        """The teams that own `job` (its records' `owner`, else the owners file), without `@`; `default` when no
        team does (the run-history page groups jobs by the first)."""
        owners = record_owners(owner) or owners_of(self._owner_rules(), job)
        teams = [o.lstrip("@") for o in owners if not _EMAIL.match(o)]
        return _dedupe(teams) or [DEFAULT_TEAM]

    def _team_destinations(self, owner: str) -> tuple[list[str], list[str]]:
        """(slack channels, email addresses) for one owner; empty when it has none."""
        if _EMAIL.match(owner):
            return [], [owner]
        name = owner.lstrip("@")
        team = self._cfg.teams.get(name)
        if team is None and "/" in name:
            team = self._cfg.teams.get(name.rsplit("/", 1)[1])
        if team is None:
            return [], []
        return list(team.slack), list(team.email)

    def destinations(self, n: Notification) -> list[str]:
        """Every destination for `n`, each once, in a stable order: console, Slack, email."""
        channels, emails, unconfigured = self._owner_destinations(self.owners(n))
        if self._broadcast:
            channels.append(self._broadcast)
        out = ["console"] if self._console else []
        out.extend(self._configured(channels, emails))
        # No default to fall back on: the owners' own destinations, whose notifier is not configured, or, when
        # nobody owns the job, NO_DESTINATION, so that the alert is dead-lettered with that reason
        # (docs/notifications.md, "Destinations") instead of vanishing.
        return out or _dedupe(unconfigured) or [NO_DESTINATION]

    def digest_destinations(self, job: str, owner: str | None) -> list[str]:
        """The destinations whose daily digest lists `job` (docs/digest.md): those its alerts go to, as
        `destinations` routes them, but only through configured notifiers (a digest is never dead-lettered for
        want of a destination: the job's alerts already say so)."""
        channels, emails, _ = self._owner_destinations(record_owners(owner) or owners_of(self._owner_rules(), job))
        if self._broadcast:
            channels.append(self._broadcast)
        return (["console"] if self._console else []) + self._configured(channels, emails)

    def _owner_destinations(self, owners: tuple[str, ...]) -> tuple[list[str], list[str], list[str]]:
        """The Slack channels and email addresses of the owners (the defaults for an owner with none usable),
        and the owners' destinations whose notifier is not configured."""
        channels: list[str] = []
        emails: list[str] = []
        unconfigured: list[str] = []
        for owner in owners or ("",):
            team_channels, team_emails = self._team_destinations(owner) if owner else ([], [])
            usable = (self._slack and team_channels) or (self._email and team_emails)
            if not usable:
                unconfigured += [f"slack:{c}" for c in team_channels] + [f"email:{e.lower()}" for e in team_emails]
                team_channels = self._default_slack if self._slack else []
                team_emails = self._default_email if self._email else []
            channels.extend(team_channels)
            emails.extend(team_emails)
        return channels, emails, unconfigured

    def _configured(self, channels: list[str], emails: list[str]) -> list[str]:
        """The destinations of the configured notifiers: one `slack:` per channel (or the webhook's one target),
        one `email:` per address."""
        out: list[str] = []
        if self._slack:
            if self._webhook:
                out.extend([f"slack:{WEBHOOK_TARGET}"] if channels else [])
            else:
                out.extend(f"slack:{c}" for c in _dedupe(channels))
        if self._email:
            out.extend(f"email:{a}" for a in _dedupe([e.lower() for e in emails]))
        return out
