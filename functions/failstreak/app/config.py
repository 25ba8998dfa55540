"""The one validated configuration model, read in one place (docs/configuration.md).

This module is the only one that reads the process environment. Secrets are never values in the file: a
`SecretRef` names an environment variable, a Secrets Manager secret or an SSM parameter.

Each section is a frozen msgspec Struct (`failstreak.section`); `config_from` converts the YAML-loaded mapping
and words an error in the config file's terms (`app/config_errors.py`).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Collection, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import yaml
from msgspec import Meta, field

from failstreak.core import categories as cats
from failstreak.core import digest, silence
from failstreak.core.health import DEFAULT_MIN_FLIPS, FlakyRoute
from failstreak.core.jobnames import JobKeyRules
from failstreak.core.model import DEFAULT_OUTCOMES, Outcome, Status, parse_status
from failstreak.core.policy import Cadence, JobPolicy, PolicyFor, PolicyTable
from failstreak.errors import ConfigError
from failstreak.secretref import SecretRef
from failstreak.section import Section, check_fields
from failstreak.sources.settings import SourceConfig

S = TypeVar("S", bound=msgspec.Struct)

CONFIG_ENV = "FAILSTREAK_CONFIG"
DEFAULT_STATE = ".failstreak/state.json"
DEFAULT_INBOX = ".failstreak/inbox/"


def check_pattern(pattern: str) -> str:
    """A job-name glob as written, or ValueError saying what is wrong with it (empty, an unclosed `[`)."""
    if not pattern.strip():
        raise ValueError("the pattern is empty; write a job name or a glob such as 'nightly-*'")
    i = pattern.find("[")
    while i != -1:
        # fnmatch reads an unclosed `[` as a literal, so 'ci/[web' would silently never match what was meant.
        close = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
        if close == -1:
            raise ValueError(f"unclosed '[' in pattern {pattern!r}; write '[[]' for a literal '['")
        i = pattern.find("[", close + 1)
    return pattern


def check_location(value: str) -> str:
    """A local path or an `s3://` URI as written, or ValueError for a mistyped URI that would be read as a path."""
    if re.match(r"(?i)^s3:/*", value) and not value.startswith("s3://"):
        fixed = "s3://" + re.sub(r"(?i)^s3:/*", "", value)
        raise ValueError(f"{value!r} is not an S3 URI (it would be read as a local path); write {fixed!r}")
    return value


class Outcomes(dict[Status, Outcome]):
    """`outcomes:` as written: a status (or an alias of one, `parse_status`) to success, failure or ignored, in
    any case; read by `parse_outcomes` when the config is converted."""


def parse_outcomes(value: Any) -> Outcomes:
    """The outcome table a config writes, or ValueError naming the status or outcome that is not one."""
    if value is None:
        return Outcomes()
    if not isinstance(value, Mapping):
        raise ValueError("outcomes must map a status to success, failure or ignored")
    out = Outcomes()
    for raw_status, raw_outcome in value.items():
        status = parse_status(str(raw_status))
        if status is None:
            raise ValueError(f"unknown status {raw_status!r}")
        try:
            out[status] = Outcome(str(raw_outcome).lower())
        except ValueError:
            raise ValueError(
                f"outcome for {raw_status!r} must be success, failure or ignored, not {raw_outcome!r}"
            ) from None
    return out


Positive = Annotated[float, Meta(gt=0)]


class Reminder(Section, frozen=True):
    """Reminder cadence while a job stays alerting. Either or both; None switches that cadence off."""

    every_hours: Positive | None = 24.0
    every_runs: Annotated[int, Meta(ge=1)] | None = None

    def cadence(self) -> Cadence:
        return Cadence(self.every_hours, self.every_runs)


class Thresholds(Section, frozen=True):
    """`consecutive` and `cumulative` are failure counts; 0 or null switches a threshold off. A cumulative written
    above the window is refused (it could never fire); the default (5) above a smaller window is a warning of
    `failstreak check`."""

    consecutive: Annotated[int, Meta(ge=0)] | None = 3
    cumulative: Annotated[int, Meta(ge=0)] | None = 5
    window: Annotated[int, Meta(ge=1, le=1000)] = 10


def _cadence(v: str | None) -> str | None:
    if v is not None:
        silence.parse_cadence(v)
    return v


class Override(Section, frozen=True):
    """Per-job settings, selected by glob on the job name; the first matching override wins."""

    match: str
    consecutive: Annotated[int, Meta(ge=0)] | None = None
    cumulative: Annotated[int, Meta(ge=0)] | None = None
    window: Annotated[int, Meta(ge=1, le=1000)] | None = None
    outcomes: Outcomes = field(default_factory=Outcomes)
    reminder: Reminder | None = None
    flaky: FlakyRoute | None = None
    expect_every: str | None = None

    def __post_init__(self) -> None:
        check_fields(self, {"match": check_pattern, "expect_every": _cadence})


def _category_name(v: str) -> str:
    if not cats.valid_name(v):
        raise ValueError(
            f"{v!r} is not a category name: lower-case letters, digits, '_' and '-', starting with a letter, "
            f"at most {cats.MAX_NAME} characters"
        )
    return v


def _compiles(v: str, wrong: str) -> str:
    """`v` when it is a regular expression, else ValueError saying `wrong` and why."""
    try:
        re.compile(v)
    except re.error as e:
        raise ValueError(f"{wrong}: {e}") from None
    return v


def _regex(v: str) -> str:
    return _compiles(v, f"{v!r} is not a regular expression")


class CategoryRule(Section, frozen=True):
    """`categories.rules[]`: a regular expression on a failed run's reason, and the category it gives."""

    match_reason: str
    category: str

    def __post_init__(self) -> None:
        check_fields(self, {"match_reason": _regex, "category": _category_name})


class CategoryAlertConfig(Section, frozen=True):
    """`categories.alerts.<category>`: the estate-wide alert of one category (docs/triage.md)."""

    team: str
    threshold: Annotated[int, Meta(ge=1)] = 10
    hours: Annotated[float, Meta(gt=0, le=24 * 7)] = 1.0


def _category_names(v: list[str]) -> list[str]:
    return [_category_name(c) for c in v]


def _alert_names(v: dict[str, CategoryAlertConfig]) -> dict[str, CategoryAlertConfig]:
    for name in v:
        _category_name(name)
    return v


class Categories(Section, frozen=True):
    """`categories:` (docs/triage.md): rules on the reason, the categories that touch the counters, the alerts."""

    rules: list[CategoryRule] = field(default_factory=list)
    count: Annotated[list[str], Meta(min_length=1)] = field(default_factory=lambda: [cats.CODE])
    alerts: dict[str, CategoryAlertConfig] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self, {"count": _category_names, "alerts": _alert_names})

    def classifier(self) -> cats.Classifier:
        return cats.Classifier([cats.ReasonRule.of(r.match_reason, r.category) for r in self.rules])

    def estate_alerts(self) -> dict[str, cats.CategoryAlert]:
        return {name: cats.CategoryAlert(a.team, a.threshold, a.hours) for name, a in self.alerts.items()}


class Flaky(Section, frozen=True):
    """`flaky:` (docs/triage.md): how many flips within the window make a job flaky (0: never)."""

    min_flips: Annotated[int, Meta(ge=0)] = DEFAULT_MIN_FLIPS


def _duration(v: str | None) -> str | None:
    if v is not None:
        silence.parse_duration(v)
    return v


class Silence(Section, frozen=True):
    """`silence:` (docs/triage.md): the grace after a missed run, and the opt-in learned cadence."""

    grace: str | None = None
    learn: bool = False

    def __post_init__(self) -> None:
        check_fields(self, {"grace": _duration})

    @property
    def grace_ms(self) -> int | None:
        return silence.parse_duration(self.grace) if self.grace else None


_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_AT = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def _time_of_day(v: str) -> str:
    if not _AT.match(v.strip()):
        raise ValueError(f'{v!r} is not a time of day; write it HH:MM, 24-hour, as "09:00" or "17:30"')
    return v.strip()


def _zone_name(v: str) -> str:
    zone_of(v)
    return v


def _weekdays(v: list[str]) -> list[str]:
    days = []
    for given in v:
        word = given.strip().lower()
        day = next((d for d, full in zip(digest.WEEKDAYS, _FULL_DAYS, strict=True) if word in (d, full)), None)
        if day is None:
            raise ValueError(f"{given!r} is not a weekday; write mon, tue, wed, thu, fri, sat or sun")
        days.append(day)
    return list(dict.fromkeys(days))


class DigestConfig(Section, frozen=True):
    """`digest:` (docs/digest.md): the daily digest, at a local time of a time zone, on chosen weekdays."""

    at: str = "09:00"
    timezone: str = "UTC"
    weekdays: Annotated[list[str], Meta(min_length=1)] = field(default_factory=lambda: list(digest.WEEKDAYS))

    def __post_init__(self) -> None:
        check_fields(self, {"at": _time_of_day, "timezone": _zone_name, "weekdays": _weekdays})

    def schedule(self) -> digest.DigestSchedule:
        hour, minute = (int(x) for x in self.at.split(":"))
        return digest.DigestSchedule(
            at=time(hour, minute),
            zone=zone_of(self.timezone),
            zone_name=self.timezone,
            weekdays=frozenset(digest.WEEKDAYS.index(d) for d in self.weekdays),
        )


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone `name` (`Europe/Paris`, `UTC`), from the system's database or the `tzdata` package.
    Raises ValueError naming it when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'{name!r} is not a known time zone; give an IANA name such as "Europe/Paris", "America/New_York" or "UTC"'
        ) from None


class MuteConfig(Section, frozen=True):
    """A mute written in the config file (mutes can also be added with `failstreak mute`)."""

    match: str
    until: datetime | None = None
    runs: Annotated[int, Meta(ge=1)] | None = None
    until_success: bool = False
    reason: str | None = None

    def __post_init__(self) -> None:
        check_fields(self, {"match": check_pattern})
        if self.until is None and self.runs is None and not self.until_success:
            raise ValueError("a mute needs until, runs or until_success")


def _until(value: Any) -> Any:
    """A mute's `until` as YAML reads it: a bare date (`2026-12-01`) or an ISO text is that instant (midnight of
    a date), as `failstreak mute --until` reads it."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


class Team(Section, frozen=True):
    slack: list[str] = field(default_factory=list)
    email: list[str] = field(default_factory=list)


class SlackConfig(Section, frozen=True):
    token: SecretRef | None = None
    webhook_url: SecretRef | None = None
    default_channel: str | None = None
    broadcast_channel: str | None = None
    base_url: str | None = None
    timeout_seconds: Annotated[float, Meta(gt=0, le=60)] = 10.0

    def __post_init__(self) -> None:
        if (self.token is None) == (self.webhook_url is None):
            raise ValueError("give exactly one of token (bot) or webhook_url (incoming webhook)")


class SmtpConfig(Section, frozen=True):
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: SecretRef | None = None


class EmailConfig(Section, frozen=True):
    sender: str
    default_to: list[str] = field(default_factory=list)
    transport: Literal["ses", "smtp"] = "ses"
    region: str | None = None
    smtp: SmtpConfig | None = None


class NotifyConfig(Section, frozen=True):
    console: bool | None = None
    slack: SlackConfig | None = None
    email: EmailConfig | None = None
    max_attempts: Annotated[int, Meta(ge=1)] = 50

    @property
    def console_enabled(self) -> bool:
        """Console output is on unless switched off, or unless a real channel is configured and it is unset."""
        if self.console is not None:
            return self.console
        return self.slack is None and self.email is None


def _rewrite_pattern(v: str) -> str:
    return _compiles(v, "invalid regular expression")


class Rewrite(Section, frozen=True):
    pattern: str
    replace: str

    def __post_init__(self) -> None:
        check_fields(self, {"pattern": _rewrite_pattern})
        # A replacement naming a group the pattern lacks would otherwise fail in the middle of a pass.
        try:
            probe = re.compile(f"(?:{self.pattern})?")
        except re.error:
            return  # global inline flags cannot be wrapped; such a pattern is used as written
        match = probe.match("")
        try:
            if match is not None:
                match.expand(self.replace)
        except (re.error, IndexError) as e:
            raise ValueError(f"invalid replacement {self.replace!r}: {e}") from None


def _patterns(v: list[str]) -> list[str]:
    return [check_pattern(p) for p in v]


class JobKeys(Section, frozen=True):
    """Job-name rules applied to every execution, from the inbox and from sources alike."""

    rewrite: list[Rewrite] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_fields(self, {"include": _patterns, "exclude": _patterns})

    def rules(self) -> JobKeyRules:
        """These rules, ready to apply (`keys.JobKeyRules`)."""
        return JobKeyRules([(r.pattern, r.replace) for r in self.rewrite], self.include, self.exclude)


_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_SLACK_GROUP = re.compile(r"S[A-Z0-9]{2,20}")


def _user_ids(v: list[str]) -> list[str]:
    return [_slack_id(x, _SLACK_USER, "a member id such as U0123ABCD (profile > ⋮ > Copy member ID)") for x in v]


def _group_ids(v: list[str]) -> list[str]:
    return [_slack_id(x, _SLACK_GROUP, "a user group id such as S0123ABCD") for x in v]


class SlackFrontConfig(Section, frozen=True):
    """Who may act from Slack, and how far (docs/http.md, "Slack"). With neither list, everyone in the workspace
    may mute, unmute and acknowledge."""

    # Slack member ids (`U0123ABCD`, `W…` in Enterprise Grid): names can change, ids cannot.
    allowed_users: list[str] = field(default_factory=list)
    # User group ids (`S0123ABCD`); membership is read with usergroups.users.list (the bot's usergroups:read).
    allowed_groups: list[str] = field(default_factory=list)
    max_mute_days: Annotated[float, Meta(gt=0, le=365)] = 7.0
    # How long "I'm on it" pauses a job's reminders.
    ack_hours: Annotated[float, Meta(gt=0, le=24 * 30)] = 24.0

    def __post_init__(self) -> None:
        check_fields(self, {"allowed_users": _user_ids, "allowed_groups": _group_ids})


def _slack_id(value: str, shape: re.Pattern[str], what: str) -> str:
    if not shape.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


def _front_url(v: str | None) -> str | None:
    if v is not None and not v.startswith(("https://", "http://")):
        raise ValueError(f"{v!r} is not an http(s) URL; give the front's function URL, as https://….on.aws/")
    return v


def _replay_location(v: str | None) -> str | None:
    if v is None:
        return v
    if not v.strip():
        raise ValueError("empty; give a local directory or an s3:// prefix")
    return check_location(v)


class HttpConfig(Section, frozen=True):
    """The HTTP front (docs/http.md): one secret per route, none of which is required. A route whose secret is not
    configured answers 404, so a front with no `http:` block serves nothing."""

    ingest_secret: SecretRef | None = None
    github_secret: SecretRef | None = None
    gitlab_token: SecretRef | None = None
    # /slack/actions and /slack/commands: the Slack app's signing secret; alert messages carry buttons only with it.
    slack_signing_secret: SecretRef | None = None
    slack: SlackFrontConfig = field(default_factory=SlackFrontConfig)
    # Lambda Function URLs accept request payloads up to 6 MB; a smaller bound keeps a producer's mistake small.
    max_body_kib: Annotated[int, Meta(ge=1, le=6144)] = 1024
    # Where the front claims each signature and delivery id once (docs/http.md, "Replays"); by default the folder
    # `replay/` beside the state.
    replay: str | None = None
    github_job_prefix: str = ""
    gitlab_job_prefix: str = ""
    # `GET /page` (docs/http.md, "The page"): the key that signs run-history links, how long a link lives, and the
    # front's base URL the monitor puts in links (the template sets FAILSTREAK_FRONT_URL instead).
    page_secret: SecretRef | None = None
    page_link_days: Annotated[float, Meta(gt=0, le=366)] = 7.0
    url: str | None = None

    def __post_init__(self) -> None:
        check_fields(self, {"url": _front_url, "replay": _replay_location})


_SKEW = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
MAX_CLOCK_SKEW_DAYS = 365


def _skew_ms(text: str) -> int:
    """`30m`, `6h`, `1d` (at most a year) in milliseconds; ValueError otherwise."""
    found = _SKEW.fullmatch(text.strip())
    if found is None:
        raise ValueError("expected a duration such as 30m, 6h or 1d")
    ms = int(float(found[1]) * _UNIT_MS[found[2]])
    if ms > MAX_CLOCK_SKEW_DAYS * _UNIT_MS["d"]:
        raise ValueError(f"at most {MAX_CLOCK_SKEW_DAYS}d")
    return ms


def _skew(v: str) -> str:
    _skew_ms(v)
    return v


def _location(v: str | None) -> str | None:
    if v is None:
        return v
    if not v.strip():
        raise ValueError("empty; give a local path or an s3:// URI")
    return check_location(v)


def _page_file(v: str | None) -> str | None:
    v = _location(v)
    if v is not None and v.endswith("/"):
        raise ValueError(f"{v!r} names a folder; name the page's file, as s3://bucket/failstreak/page.html")
    return v


class Config(Section, frozen=True, dict=True):
    """The whole configuration. Paths are local paths or s3:// URIs."""

    state: str = DEFAULT_STATE
    inbox: str | None = DEFAULT_INBOX
    thresholds: Thresholds = field(default_factory=Thresholds)
    history: Annotated[int, Meta(ge=1, le=10000)] | None = None
    outcomes: Outcomes = field(default_factory=Outcomes)
    overrides: list[Override] = field(default_factory=list)
    reminder: Reminder = field(default_factory=Reminder)
    retire_after_days: Positive | None = 30.0
    mutes: list[MuteConfig] = field(default_factory=list)
    owners: str | None = None
    teams: dict[str, Team] = field(default_factory=dict)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    sources: list[SourceConfig] = field(default_factory=list)
    http: HttpConfig = field(default_factory=HttpConfig)
    job_keys: JobKeys = field(default_factory=JobKeys)
    save_attempts: Annotated[int, Meta(ge=1, le=50)] = 8
    inbox_max_files: Annotated[int, Meta(ge=1)] | None = 5000
    inbox_max_mib: Annotated[float, Meta(gt=0)] | None = 256.0
    inbox_file_max_mib: Annotated[float, Meta(gt=0)] = 256.0
    inbox_max_records: Annotated[int, Meta(ge=1)] | None = 600_000
    max_clock_skew: str = "1d"
    categories: Categories = field(default_factory=Categories)
    flaky: Flaky = field(default_factory=Flaky)
    silence: Silence = field(default_factory=Silence)
    # The run-history page each pass keeps current (docs/page.md): a local path or an s3:// URI of an object.
    page: str | None = None
    # The daily digest (docs/digest.md); None: no digest.
    digest: DigestConfig | None = None

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "max_clock_skew": _skew,
                "state": _location,
                "inbox": _location,
                "owners": _location,
                "page": _page_file,
            },
        )
        self._category_teams()
        self._overrides_can_fire()
        self._source_names_differ()
        # Derived once: the fields they derive from never change (the config is frozen).
        self.__dict__["_policies"] = policy_table(self)
        self.__dict__.setdefault("_source", "(default config)")
        self.__dict__.setdefault("_written", {})

    def _category_teams(self) -> None:
        for name, alert in self.categories.alerts.items():
            team = alert.team.lstrip("@")
            if team not in self.teams:
                known = ", ".join(sorted(self.teams)) or "none"
                raise ValueError(
                    f"categories.alerts.{name}.team: {alert.team!r} is not a team of `teams:` (known: {known}); "
                    "an estate-wide alert goes to its team's destinations"
                )

    def _overrides_can_fire(self) -> None:
        t = self.thresholds
        for i, o in enumerate(self.overrides):
            cumulative = o.cumulative
            window = o.window or t.window
            if cumulative and cumulative > window:
                raise ValueError(
                    f"overrides[{i}] ({o.match}): cumulative ({cumulative}) is greater than window ({window}): "
                    "it could never fire; lower cumulative or raise window"
                )

    def _source_names_differ(self) -> None:
        seen: dict[str, int] = {}
        for i, block in enumerate(self.sources):
            name = block.source_name
            if name in seen:
                raise ValueError(
                    f"sources[{i}] ({block.type}): name: {name!r} is already used by sources[{seen[name]}]; "
                    "give each source a distinct name (its cursor is kept under it)"
                )
            seen[name] = i

    @property
    def max_clock_skew_ms(self) -> int:
        """How far past the pass's clock a record's `finished_at` may lie (docs/configuration.md)."""
        return _skew_ms(self.max_clock_skew)

    def flaky_digest_unsent(self) -> list[str]:
        """The overrides that route flaky jobs to the daily digest when no `digest:` is configured: their flaky
        jobs are then silenced as with `off` (docs/digest.md)."""
        if self.digest is not None:
            return []
        return [
            f"overrides[{i}] ({o.match}): flaky: digest, but no digest: is configured; its flaky jobs are silenced"
            for i, o in enumerate(self.overrides)
            if o.flaky is FlakyRoute.DIGEST
        ]

    def unreachable_cumulative(self) -> list[str]:
        """Where an inherited cumulative threshold exceeds its window, so it can never fire (a warning: the
        window was written smaller than a cumulative nobody wrote there)."""
        t = self.thresholds
        out = []
        if t.cumulative and t.cumulative > t.window:
            out.append(f"thresholds: cumulative ({t.cumulative}, the default) is greater than window ({t.window})")
        for i, o in enumerate(self.overrides):
            window = o.window or t.window
            if o.cumulative is None and t.cumulative and t.cumulative > window:
                out.append(
                    f"overrides[{i}] ({o.match}): cumulative ({t.cumulative}, inherited) is greater than "
                    f"window ({window})"
                )
        return out

    @property
    def source(self) -> str:
        """Where the config was read from (its path or URI), for messages that name the file."""
        source: str = self.__dict__["_source"]
        return source

    def written(self) -> dict[str, Any]:
        """A copy of the mapping the config was converted from (relative paths resolved): the keys written, not
        the defaults; empty for a config built in code (`failstreak backtest --set` edits it)."""
        return copy.deepcopy(self.__dict__["_written"])

    def json_of(self, keys: Collection[str]) -> bytes:
        """These keys of the config as compact JSON, in the order the model declares them, nested sections whole
        (`PassSettings.config_digest` hashes it, so it stays stable across releases that keep the model)."""
        return msgspec.json.encode({k: getattr(self, k) for k in self.__struct_fields__ if k in keys})

    @property
    def policies(self) -> PolicyTable:
        """The job policies this config defines, built once when the config is validated (it is frozen)."""
        policies: PolicyTable = self.__dict__["_policies"]
        return policies

    @property
    def expects_runs(self) -> bool:
        """Whether some job has a declared cadence (`overrides[].expect_every`), so that silence is watched."""
        return any(o.expect_every for o in self.overrides)

    def policy_for(self, job: str) -> JobPolicy:
        """The effective thresholds and outcome table for one job (first matching override wins)."""
        return self.policies.for_job(job)

    def policy_lookup(self) -> PolicyFor:
        """`policy_for` as a plain function, for the loops of a pass that ask once per job (one call less each)."""
        return self.policies.for_job

    def failure_statuses(self) -> frozenset[Status]:
        """The statuses that some job's policy counts as failures. Only runs with one of these can be remembered
        with their link, commit and reason (the engine keeps them for failures), so the inbox parser drops
        them from every other record as it reads it (`records.parse_file`'s `details`)."""
        return self.policies.failure_statuses


def policy_table(cfg: Config) -> PolicyTable:
    """The job policies a config defines: the default from its thresholds, outcomes and reminder, and one per
    override (unset fields inherit the default's)."""
    base_outcomes = {**DEFAULT_OUTCOMES, **cfg.outcomes}
    t = cfg.thresholds
    reminder = cfg.reminder.cadence()
    # The triage settings (docs/triage.md): the same for every job, but for flaky routing and cadence.
    triage: dict[str, Any] = {
        "counts": frozenset(cfg.categories.count),
        "classifier": cfg.categories.classifier(),
        "min_flips": cfg.flaky.min_flips,
    }
    default = JobPolicy(
        t.consecutive, t.cumulative, t.window, cfg.history or t.window, base_outcomes, reminder, **triage
    )
    overrides = []
    for o in cfg.overrides:
        window = o.window or t.window
        policy = JobPolicy(
            t.consecutive if o.consecutive is None else o.consecutive,
            t.cumulative if o.cumulative is None else o.cumulative,
            window,
            max(cfg.history or window, window),
            {**base_outcomes, **o.outcomes},
            o.reminder.cadence() if o.reminder else reminder,
            flaky=o.flaky or FlakyRoute.ALERT,
            expect_every=silence.parse_cadence(o.expect_every) if o.expect_every else None,
            **triage,
        )
        overrides.append((o.match, policy))
    return PolicyTable(default, overrides)


# The sections whose keys "did you mean" suggests for a mistyped key (`app/config_errors.py`).
KEYED_SECTIONS: tuple[type[msgspec.Struct], ...] = (
    Config,
    Thresholds,
    Reminder,
    Override,
    MuteConfig,
    Team,
    SlackConfig,
    SmtpConfig,
    EmailConfig,
    NotifyConfig,
    Rewrite,
    JobKeys,
    SecretRef,
    Categories,
    CategoryRule,
    CategoryAlertConfig,
    Flaky,
    Silence,
    HttpConfig,
)


def _decode(kind: type, value: Any) -> Any:
    if kind is Outcomes:
        return parse_outcomes(value)
    raise NotImplementedError(kind)


def _prepared(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`raw` with what YAML reads differently from what the config means put right: a mute's bare `until` date."""
    out = dict(raw)
    mutes = out.get("mutes")
    if isinstance(mutes, list):
        out["mutes"] = [
            {**m, "until": _until(m["until"])} if isinstance(m, Mapping) and "until" in m else m for m in mutes
        ]
    return out


def section_from(kind: type[S], raw: Any, source: str = "config") -> S:
    """The section (the whole `Config`, or one part of it) a YAML-loaded value writes, or ConfigError naming
    `source`, the key path within the section and what is wrong (docs/configuration.md)."""
    try:
        return msgspec.convert(raw, kind, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as e:
        from failstreak.app.config_errors import explain_all  # noqa: PLC0415 - only a config with a mistake pays

        problems = explain_all(
            e, raw, kind, KEYED_SECTIONS, lambda r: msgspec.convert(r, kind, strict=False, dec_hook=_decode)
        )
        # One line per mistake, each naming the file: the first line alone is still the whole first mistake.
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems)) from None


def config_from(raw: Mapping[str, Any], source: str = "config") -> Config:
    """The config a YAML-loaded mapping writes, or ConfigError naming `source`, the key path and what is wrong
    (docs/configuration.md)."""
    cfg = section_from(Config, _prepared(raw), source)
    written = raw.get("thresholds")
    t = cfg.thresholds
    if isinstance(written, Mapping) and "cumulative" in written and t.cumulative and t.cumulative > t.window:
        # Only a cumulative written here: the default (5) beside a smaller window is `failstreak check`'s warning.
        raise ConfigError(
            f"{source}: thresholds: cumulative ({t.cumulative}) is greater than window ({t.window}): it could "
            "never fire; lower cumulative or raise window"
        )
    cfg.__dict__["_source"] = source
    cfg.__dict__["_written"] = copy.deepcopy(dict(raw))
    return cfg


def parse_config(text: str, source: str = "config", base_dir: Path | None = None) -> Config:
    """Parse and validate YAML config text. Relative local paths are taken relative to `base_dir`."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys to values")
    for key in ("state", "inbox", "owners", "page"):
        value = raw.get(key)
        if not isinstance(value, str) or value.startswith("s3://") or Path(value).is_absolute():
            continue
        if source.startswith("s3://"):
            # Relative to what? Not to the Lambda's or the shell's working directory, which is never meant.
            raise ConfigError(
                f"{source}: {key}: {value!r} is a relative path in a config read from S3; "
                "give an s3:// URI (or an absolute path)"
            )
        if base_dir is not None:
            raw[key] = str(base_dir / value)
    return config_from(raw, source)


def read_text(location: str) -> str:
    """Read a small text file from a local path or an s3:// URI."""
    if location.startswith("s3://"):
        from failstreak.s3client import read_object_text  # noqa: PLC0415 - only S3 users pay for boto3

        return read_object_text(location)
    try:
        return Path(location).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{location}: cannot read: {e.strerror or e}") from None


def load_config(location: str | None = None) -> Config:
    """Load the config from `location`, else from $FAILSTREAK_CONFIG, else the embedded local default."""
    given = location
    location = location or os.environ.get(CONFIG_ENV)
    if not location:
        return Config()
    try:
        check_location(location)
    except ValueError as e:
        raise ConfigError(f"{'--config' if given else CONFIG_ENV}: {e}") from None
    text = read_text(location)
    base = None if location.startswith("s3://") else Path(location).resolve().parent
    return parse_config(text, source=location, base_dir=base)


def resolve_secret(ref: SecretRef) -> str:
    """The secret's value. Environment variables are read here; Secrets Manager and SSM through powertools."""
    if ref.env:
        value = os.environ.get(ref.env)
        if not value:
            raise ConfigError(f"environment variable {ref.env} is not set (named by the config)")
        return value
    from failstreak.app.secrets import fetch  # noqa: PLC0415 - powertools only when a secret is referenced

    return fetch(ref)


def process_environment() -> Mapping[str, str]:
    """A copy of the process environment, for defaults taken from CI variables (`failstreak report`)."""
    return dict(os.environ)
