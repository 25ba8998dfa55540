"""The one validated configuration model, read in one place (docs/configuration.md).

This module is the only one that reads the process environment. Secrets are never values in the file: a
`SecretRef` names an environment variable, a Secrets Manager secret or an SSM parameter.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Iterable, Mapping
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from failstreak.core import categories as cats
from failstreak.core import digest, silence
from failstreak.core.health import DEFAULT_MIN_FLIPS, FlakyRoute
from failstreak.core.jobnames import JobKeyRules
from failstreak.core.model import DEFAULT_OUTCOMES, Outcome, Status, parse_status
from failstreak.core.policy import Cadence, JobPolicy, PolicyFor, PolicyTable
from failstreak.errors import ConfigError
from failstreak.secretref import SecretRef
from failstreak.sources.settings import PLATFORMS, SourceConfig

CONFIG_ENV = "FAILSTREAK_CONFIG"
DEFAULT_STATE = ".failstreak/state.json"
DEFAULT_INBOX = ".failstreak/inbox/"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


def _parse_outcomes(value: Any) -> dict[Status, Outcome]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("outcomes must map a status to success, failure or ignored")
    out: dict[Status, Outcome] = {}
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


class Reminder(_Model):
    """Reminder cadence while a job stays alerting. Either or both; None switches that cadence off."""

    every_hours: float | None = Field(default=24, gt=0)
    every_runs: int | None = Field(default=None, ge=1)

    def cadence(self) -> Cadence:
        return Cadence(self.every_hours, self.every_runs)


class Thresholds(_Model):
    """`consecutive` and `cumulative` are failure counts; 0 or null switches a threshold off."""

    consecutive: int | None = Field(default=3, ge=0)
    cumulative: int | None = Field(default=5, ge=0)
    window: int = Field(default=10, ge=1, le=1000)

    @model_validator(mode="after")
    def _cumulative_fits(self) -> Thresholds:
        # Only a cumulative written here: the default (5) beside a smaller window is `failstreak check`'s warning.
        if "cumulative" in self.model_fields_set and self.cumulative and self.cumulative > self.window:
            raise ValueError(
                f"cumulative ({self.cumulative}) is greater than window ({self.window}): it could never fire; "
                "lower cumulative or raise window"
            )
        return self


class Override(_Model):
    """Per-job settings, selected by glob on the job name; the first matching override wins."""

    match: str
    consecutive: int | None = Field(default=None, ge=0)
    cumulative: int | None = Field(default=None, ge=0)
    window: int | None = Field(default=None, ge=1, le=1000)
    outcomes: dict[Status, Outcome] = Field(default_factory=dict)
    reminder: Reminder | None = None
    flaky: FlakyRoute | None = None
    expect_every: str | None = None

    _parse = field_validator("outcomes", mode="before")(_parse_outcomes)

    @field_validator("match")
    @classmethod
    def _match(cls, v: str) -> str:
        return check_pattern(v)

    @field_validator("expect_every")
    @classmethod
    def _cadence(cls, v: str | None) -> str | None:
        if v is not None:
            silence.parse_cadence(v)
        return v


def _category_name(v: str) -> str:
    if not cats.valid_name(v):
        raise ValueError(
            f"{v!r} is not a category name: lower-case letters, digits, '_' and '-', starting with a letter, "
            f"at most {cats.MAX_NAME} characters"
        )
    return v


class CategoryRule(_Model):
    """`categories.rules[]`: a regular expression on a failed run's reason, and the category it gives."""

    match_reason: str
    category: str

    @field_validator("match_reason")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"{v!r} is not a regular expression: {e}") from None
        return v

    _name = field_validator("category")(_category_name)


class CategoryAlertConfig(_Model):
    """`categories.alerts.<category>`: the estate-wide alert of one category (docs/triage.md)."""

    team: str
    threshold: int = Field(default=10, ge=1)
    hours: float = Field(default=1, gt=0, le=24 * 7)


class Categories(_Model):
    """`categories:` (docs/triage.md): rules on the reason, the categories that touch the counters, the alerts."""

    rules: list[CategoryRule] = Field(default_factory=list)
    count: list[str] = Field(default_factory=lambda: [cats.CODE], min_length=1)
    alerts: dict[str, CategoryAlertConfig] = Field(default_factory=dict)

    @field_validator("count")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        return [_category_name(c) for c in v]

    @field_validator("alerts")
    @classmethod
    def _alert_names(cls, v: dict[str, CategoryAlertConfig]) -> dict[str, CategoryAlertConfig]:
        for name in v:
            _category_name(name)
        return v

    def classifier(self) -> cats.Classifier:
        return cats.Classifier([cats.ReasonRule.of(r.match_reason, r.category) for r in self.rules])

    def estate_alerts(self) -> dict[str, cats.CategoryAlert]:
        return {name: cats.CategoryAlert(a.team, a.threshold, a.hours) for name, a in self.alerts.items()}


class Flaky(_Model):
    """`flaky:` (docs/triage.md): how many flips within the window make a job flaky (0: never)."""

    min_flips: int = Field(default=DEFAULT_MIN_FLIPS, ge=0)


class Silence(_Model):
    """`silence:` (docs/triage.md): the grace after a missed run, and the opt-in learned cadence."""

    grace: str | None = None
    learn: bool = False

    @field_validator("grace")
    @classmethod
    def _grace(cls, v: str | None) -> str | None:
        if v is not None:
            silence.parse_duration(v)
        return v

    @property
    def grace_ms(self) -> int | None:
        return silence.parse_duration(self.grace) if self.grace else None


_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_AT = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


class DigestConfig(_Model):
    """`digest:` (docs/digest.md): the daily digest, at a local time of a time zone, on chosen weekdays."""

    at: str = "09:00"
    timezone: str = "UTC"
    weekdays: list[str] = Field(default_factory=lambda: list(digest.WEEKDAYS), min_length=1)

    @field_validator("at", mode="before")
    @classmethod
    def _at_text(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            # YAML reads an unquoted 17:30 as a number of minutes (base 60).
            raise ValueError(
                f'write the time quoted, as at: "{v // 60:02d}:{v % 60:02d}" (unquoted, YAML reads a number)'
            )
        return v

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        if not _AT.match(v.strip()):
            raise ValueError(f'{v!r} is not a time of day; write it HH:MM, 24-hour, as "09:00" or "17:30"')
        return v.strip()

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        zone_of(v)
        return v

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: list[str]) -> list[str]:
        days = []
        for given in v:
            word = given.strip().lower()
            day = next((d for d, full in zip(digest.WEEKDAYS, _FULL_DAYS, strict=True) if word in (d, full)), None)
            if day is None:
                raise ValueError(f"{given!r} is not a weekday; write mon, tue, wed, thu, fri, sat or sun")
            days.append(day)
        return list(dict.fromkeys(days))

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


class MuteConfig(_Model):
    """A mute written in the config file (mutes can also be added with `failstreak mute`)."""

    match: str
    until: datetime | None = None
    runs: int | None = Field(default=None, ge=1)
    until_success: bool = False
    reason: str | None = None

    @field_validator("match")
    @classmethod
    def _match(cls, v: str) -> str:
        return check_pattern(v)

    @model_validator(mode="after")
    def _some_end(self) -> MuteConfig:
        if self.until is None and self.runs is None and not self.until_success:
            raise ValueError("a mute needs until, runs or until_success")
        return self


class Team(_Model):
    slack: list[str] = Field(default_factory=list)
    email: list[str] = Field(default_factory=list)


class SlackConfig(_Model):
    token: SecretRef | None = None
    webhook_url: SecretRef | None = None
    default_channel: str | None = None
    broadcast_channel: str | None = None
    base_url: str | None = None
    timeout_seconds: float = Field(default=10, gt=0, le=60)

    @model_validator(mode="after")
    def _one_auth(self) -> SlackConfig:
        if (self.token is None) == (self.webhook_url is None):
            raise ValueError("give exactly one of token (bot) or webhook_url (incoming webhook)")
        return self


class SmtpConfig(_Model):
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: SecretRef | None = None


class EmailConfig(_Model):
    sender: str
    default_to: list[str] = Field(default_factory=list)
    transport: Literal["ses", "smtp"] = "ses"
    region: str | None = None
    smtp: SmtpConfig | None = None


class NotifyConfig(_Model):
    console: bool | None = None
    slack: SlackConfig | None = None
    email: EmailConfig | None = None
    max_attempts: int = Field(default=50, ge=1)

    @property
    def console_enabled(self) -> bool:
        """Console output is on unless switched off, or unless a real channel is configured and it is unset."""
        if self.console is not None:
            return self.console
        return self.slack is None and self.email is None


class Rewrite(_Model):
    pattern: str
    replace: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"invalid regular expression: {e}") from None
        return v

    @model_validator(mode="after")
    def _template_fits(self) -> Rewrite:
        # A replacement naming a group the pattern lacks would otherwise fail in the middle of a pass.
        try:
            probe = re.compile(f"(?:{self.pattern})?")
        except re.error:
            return self  # global inline flags cannot be wrapped; such a pattern is used as written
        match = probe.match("")
        try:
            if match is not None:
                match.expand(self.replace)
        except (re.error, IndexError) as e:
            raise ValueError(f"invalid replacement {self.replace!r}: {e}") from None
        return self


class JobKeys(_Model):
    """Job-name rules applied to every execution, from the inbox and from sources alike."""

    rewrite: list[Rewrite] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)

    def rules(self) -> JobKeyRules:
        """These rules, ready to apply (`keys.JobKeyRules`)."""
        return JobKeyRules([(r.pattern, r.replace) for r in self.rewrite], self.include, self.exclude)

    @field_validator("include", "exclude")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        return [check_pattern(p) for p in v]


_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_SLACK_GROUP = re.compile(r"S[A-Z0-9]{2,20}")


class SlackFrontConfig(_Model):
    """Who may act from Slack, and how far (docs/http.md, "Slack"). With neither list, everyone in the workspace
    may mute, unmute and acknowledge."""

    # Slack member ids (`U0123ABCD`, `W…` in Enterprise Grid): names can change, ids cannot.
    allowed_users: list[str] = Field(default_factory=list)
    # User group ids (`S0123ABCD`); membership is read with usergroups.users.list (the bot's usergroups:read).
    allowed_groups: list[str] = Field(default_factory=list)
    max_mute_days: float = Field(default=7, gt=0, le=365)
    # How long "I'm on it" pauses a job's reminders.
    ack_hours: float = Field(default=24, gt=0, le=24 * 30)

    @field_validator("allowed_users")
    @classmethod
    def _user_ids(cls, v: list[str]) -> list[str]:
        return [_slack_id(x, _SLACK_USER, "a member id such as U0123ABCD (profile > ⋮ > Copy member ID)") for x in v]

    @field_validator("allowed_groups")
    @classmethod
    def _group_ids(cls, v: list[str]) -> list[str]:
        return [_slack_id(x, _SLACK_GROUP, "a user group id such as S0123ABCD") for x in v]


def _slack_id(value: str, shape: re.Pattern[str], what: str) -> str:
    if not shape.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


class HttpConfig(_Model):
    """The HTTP front (docs/http.md): one secret per route, none of which is required. A route whose secret is not
    configured answers 404, so a front with no `http:` block serves nothing."""

    ingest_secret: SecretRef | None = None
    github_secret: SecretRef | None = None
    gitlab_token: SecretRef | None = None
    # /slack/actions and /slack/commands: the Slack app's signing secret; alert messages carry buttons only with it.
    slack_signing_secret: SecretRef | None = None
    slack: SlackFrontConfig = SlackFrontConfig()
    # Lambda Function URLs accept request payloads up to 6 MB; a smaller bound keeps a producer's mistake small.
    max_body_kib: int = Field(default=1024, ge=1, le=6144)
    # Where the front claims each signature and delivery id once (docs/http.md, "Replays"); by default the folder
    # `replay/` beside the state.
    replay: str | None = None
    github_job_prefix: str = ""
    gitlab_job_prefix: str = ""
    # `GET /page` (docs/http.md, "The page"): the key that signs run-history links, how long a link lives, and the
    # front's base URL the monitor puts in links (the template sets FAILSTREAK_FRONT_URL instead).
    page_secret: SecretRef | None = None
    page_link_days: float = Field(default=7, gt=0, le=366)
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _front_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("https://", "http://")):
            raise ValueError(f"{v!r} is not an http(s) URL; give the front's function URL, as https://….on.aws/")
        return v

    @field_validator("replay")
    @classmethod
    def _replay_location(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.strip():
            raise ValueError("empty; give a local directory or an s3:// prefix")
        return check_location(v)


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


class Config(_Model):
    """The whole configuration. Paths are local paths or s3:// URIs."""

    state: str = DEFAULT_STATE
    inbox: str | None = DEFAULT_INBOX
    thresholds: Thresholds = Thresholds()
    history: int | None = Field(default=None, ge=1, le=10000)
    outcomes: dict[Status, Outcome] = Field(default_factory=dict)
    overrides: list[Override] = Field(default_factory=list)
    reminder: Reminder = Reminder()
    retire_after_days: float | None = Field(default=30, gt=0)
    mutes: list[MuteConfig] = Field(default_factory=list)
    owners: str | None = None
    teams: dict[str, Team] = Field(default_factory=dict)
    notify: NotifyConfig = NotifyConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    http: HttpConfig = HttpConfig()
    job_keys: JobKeys = JobKeys()
    save_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    inbox_max_files: int | None = Field(default=5000, ge=1)
    inbox_max_mib: float | None = Field(default=256, gt=0)
    inbox_file_max_mib: float = Field(default=256, gt=0)
    inbox_max_records: int | None = Field(default=600_000, ge=1)
    max_clock_skew: str = "1d"
    categories: Categories = Categories()
    flaky: Flaky = Flaky()
    silence: Silence = Silence()
    # The run-history page each pass keeps current (docs/page.md): a local path or an s3:// URI of an object.
    page: str | None = None
    # The daily digest (docs/digest.md); None: no digest.
    digest: DigestConfig | None = None

    _parse = field_validator("outcomes", mode="before")(_parse_outcomes)

    @field_validator("max_clock_skew")
    @classmethod
    def _skew(cls, v: str) -> str:
        _skew_ms(v)
        return v

    @property
    def max_clock_skew_ms(self) -> int:
        """How far past the pass's clock a record's `finished_at` may lie (docs/configuration.md)."""
        return _skew_ms(self.max_clock_skew)

    _source: str = PrivateAttr(default="(default config)")
    _policies: PolicyTable = PrivateAttr()

    @field_validator("state", "inbox", "owners", "page")
    @classmethod
    def _locations(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.strip():
            raise ValueError("empty; give a local path or an s3:// URI")
        return check_location(v)

    @field_validator("page")
    @classmethod
    def _page_is_a_file(cls, v: str | None) -> str | None:
        if v is not None and v.endswith("/"):
            raise ValueError(f"{v!r} names a folder; name the page's file, as s3://bucket/failstreak/page.html")
        return v

    @model_validator(mode="after")
    def _category_teams(self) -> Config:
        for name, alert in self.categories.alerts.items():
            team = alert.team.lstrip("@")
            if team not in self.teams:
                known = ", ".join(sorted(self.teams)) or "none"
                raise ValueError(
                    f"categories.alerts.{name}.team: {alert.team!r} is not a team of `teams:` (known: {known}); "
                    "an estate-wide alert goes to its team's destinations"
                )
        return self

    @model_validator(mode="after")
    def _overrides_can_fire(self) -> Config:
        t = self.thresholds
        for i, o in enumerate(self.overrides):
            cumulative = o.cumulative
            window = o.window or t.window
            if cumulative and cumulative > window:
                raise ValueError(
                    f"overrides[{i}] ({o.match}): cumulative ({cumulative}) is greater than window ({window}): "
                    "it could never fire; lower cumulative or raise window"
                )
        return self

    @model_validator(mode="after")
    def _source_names_differ(self) -> Config:
        seen: dict[str, int] = {}
        for i, block in enumerate(self.sources):
            name = block.source_name
            if name in seen:
                raise ValueError(
                    f"sources[{i}] ({block.type}): name: {name!r} is already used by sources[{seen[name]}]; "
                    "give each source a distinct name (its cursor is kept under it)"
                )
            seen[name] = i
        return self

    @model_validator(mode="after")
    def _build_policies(self) -> Config:
        # Private attributes may be set on a frozen model; the fields they derive from never change after this.
        self._policies = policy_table(self)
        return self

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
        return self._source

    @property
    def policies(self) -> PolicyTable:
        """The job policies this config defines, built once when the config is validated (it is frozen)."""
        return self._policies

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


_SECRET_HINT = "write a reference, never the secret itself: {env: NAME}, {secret: NAME} or {ssm: /PATH}"  # noqa: S105


def _known_keys() -> set[str]:
    """Every key a config model of this module accepts, for "did you mean" on a mistyped one."""
    keys: set[str] = set()
    for model in (
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
    ):
        keys.update(model.model_fields)
    return keys


def _models_in(annotation: Any, suffix: str = "") -> list[tuple[type[BaseModel], str]]:
    """The config sections a field's type holds, each with what its path gains (`[]` in a list, `.<name>` in a map)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [] if annotation is SecretRef else [(annotation, suffix)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (list, tuple):
        return [m for arg in args for m in _models_in(arg, suffix + "[]")]
    if origin is dict and len(args) == 2:
        return _models_in(args[1], suffix + ".<name>")
    return [m for arg in args for m in _models_in(arg, suffix)]


def _homes(key: str, model: type[BaseModel] = Config, prefix: str = "", depth: int = 0) -> list[str]:
    """Where `key` is a key in the config, as paths (`thresholds.window`, `overrides[].window`): for a key written
    in the wrong section, whose closest match would be itself."""
    found = set()
    for name, field in model.model_fields.items():
        if name == key:
            found.add(prefix + name)
        if depth < 3:
            for inner, suffix in _models_in(field.annotation):
                found.update(_homes(key, inner, f"{prefix}{name}{suffix}.", depth + 1))
    return sorted(found)


def _unknown_key(key: str) -> str:
    homes = _homes(key)
    if homes:
        return "unknown key here; did you mean " + " or ".join(repr(h) for h in homes) + "?"
    return "unknown key" + did_you_mean(key, _known_keys())


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """`; did you mean 'X'?` for the known key closest to a mistyped one, or nothing when none is close."""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def explain_error(error: Any) -> str:
    """One pydantic error in the words of the config file: no internal class names, what to write instead."""
    kind = error["type"]
    loc = error["loc"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(str(loc[-1]) if loc else "")
    if kind == "missing":
        return "required key missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if ctx.get("class_name") == "SecretRef":
            return _SECRET_HINT
        return f"should be a mapping of keys to values, not {error.get('input')!r}"
    msg = str(error["msg"])
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        if "exactly one of env, secret, ssm" in msg:
            return f"{msg}: {{env: NAME}}, {{secret: NAME}} or {{ssm: /PATH}}"
        return msg
    msg = msg.removeprefix("Input should be ").removeprefix("input should be ")
    return f"should be {msg} (got {error.get('input')!r})"


def _explain_source_error(error: Any) -> str:
    """One error inside a `sources:` block, located as `sources[i] (type): field` (docs/sources.md)."""
    loc = error["loc"]
    index = loc[1]
    if len(loc) < 3 or error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        if isinstance(error.get("input"), Mapping):
            return f"sources[{index}]: type: must be one of {', '.join(PLATFORMS)}"
        return f"sources[{index}]: should be a mapping of keys to values, not {error.get('input')!r}"
    kind = str(loc[2])
    field = ".".join(str(p) for p in loc[3:]) or "(block)"
    if error["type"] == "missing":
        msg = "field required"
    elif error["type"] == "extra_forbidden":
        msg = "unknown field" + did_you_mean(str(loc[-1]), PLATFORMS[kind].model_fields)
    else:
        msg = explain_error(error)
    return f"sources[{index}] ({kind}): {field}: {msg}"


def _explain_located(error: Any) -> str:
    """One error with where it is: the dotted path of keys, the block of a source, or none for the whole file."""
    loc = error["loc"]
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        return _explain_source_error(error)
    if not loc:
        return explain_error(error)  # a rule across sections names its own place (`overrides[0] (...)`)
    return f"{'.'.join(str(p) for p in loc)}: {explain_error(error)}"


def _format_validation(e: ValidationError, source: str) -> str:
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return f"{source}: {_explain_located(e.errors()[0])}{more}"


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
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_validation(e, source)) from None
    cfg._source = source
    return cfg


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
