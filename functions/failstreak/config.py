"""The one validated configuration model, read in one place (SPEC 7).

This module is the only one that reads the process environment. Secrets are never values in the file: a
`SecretRef` names an environment variable, a Secrets Manager secret or an SSM parameter.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

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

from failstreak.errors import ConfigError
from failstreak.model import DEFAULT_OUTCOMES, Outcome, Status, parse_status

CONFIG_ENV = "FAILSTREAK_CONFIG"
DEFAULT_STATE = ".failstreak/state.json"
DEFAULT_INBOX = ".failstreak/inbox/"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Model):
    """A secret by reference: exactly one of `env`, `secret` (Secrets Manager) or `ssm` (Parameter Store)."""

    env: str | None = None
    secret: str | None = None
    ssm: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [k for k in ("env", "secret", "ssm") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of env, secret, ssm")
        return self

    def describe(self) -> str:
        """Where the secret comes from, safe to log (never the value)."""
        if self.env:
            return f"env:{self.env}"
        if self.secret:
            return f"secret:{self.secret}"
        return f"ssm:{self.ssm}"


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

    every_hours: float | None = 24
    every_runs: int | None = Field(default=None, ge=1)


class Thresholds(_Model):
    """`consecutive` and `cumulative` are failure counts; 0 or null switches a threshold off."""

    consecutive: int | None = Field(default=3, ge=0)
    cumulative: int | None = Field(default=5, ge=0)
    window: int = Field(default=10, ge=1, le=1000)


class Override(_Model):
    """Per-job settings, selected by glob on the job name; the first matching override wins."""

    match: str
    consecutive: int | None = Field(default=None, ge=0)
    cumulative: int | None = Field(default=None, ge=0)
    window: int | None = Field(default=None, ge=1, le=1000)
    outcomes: dict[Status, Outcome] = Field(default_factory=dict)
    reminder: Reminder | None = None

    _parse = field_validator("outcomes", mode="before")(_parse_outcomes)


class MuteConfig(_Model):
    """A mute written in the config file (mutes can also be added with `failstreak mute`)."""

    match: str
    until: datetime | None = None
    runs: int | None = Field(default=None, ge=1)
    until_success: bool = False
    reason: str | None = None

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


class SourceConfig(BaseModel):
    """A source block. Each source module validates its own fields (see failstreak.sources)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Literal["databricks", "dataiku", "gitlab", "github"]
    name: str | None = None


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
    job_keys: JobKeys = JobKeys()
    save_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    inbox_max_files: int | None = Field(default=5000, ge=1)
    inbox_max_mib: float | None = Field(default=256, gt=0)
    inbox_file_max_mib: float = Field(default=256, gt=0)
    inbox_max_records: int | None = Field(default=600_000, ge=1)

    _parse = field_validator("outcomes", mode="before")(_parse_outcomes)
    _policy_table: _Policies | None = PrivateAttr(default=None)

    def policy_for(self, job: str) -> JobPolicy:
        """The effective thresholds and outcome table for one job (first matching override wins)."""
        return self._policies().for_job(job)

    def policy_lookup(self) -> Callable[[str], JobPolicy]:
        """`policy_for` as a plain function, for the loops of a pass that ask once per job (one call less each)."""
        return self._policies().for_job

    def failure_statuses(self) -> frozenset[Status]:
        """The statuses that some job's policy counts as failures. Only runs with one of these can be remembered
        with their link, commit and reason (the engine keeps them for failures), so the inbox parser drops
        them from every other record as it reads it (`records.parse_file`'s `details`)."""
        return self._policies().failure_statuses

    def _policies(self) -> _Policies:
        # Read the private attribute directly: pydantic's __getattr__ costs about a microsecond, and a pass asks
        # once or twice per job.
        private = self.__pydantic_private__
        table: _Policies | None = private.get("_policy_table") if private is not None else None
        if table is None:
            table = self._policy_table = _Policies(self)
        return table


class JobPolicy:
    """Everything the engine and the rules need to know about one job's settings."""

    __slots__ = ("consecutive", "cumulative", "history", "outcomes", "reminder", "window")

    def __init__(
        self,
        consecutive: int | None,
        cumulative: int | None,
        window: int,
        history: int,
        outcomes: Mapping[Status, Outcome],
        reminder: Reminder,
    ) -> None:
        self.consecutive = consecutive or None
        self.cumulative = cumulative or None
        self.window = window
        self.history = max(history, window)
        # Complete: every status has its outcome, so the engine looks one up by subscript, without a default.
        self.outcomes: dict[Status, Outcome] = {status: outcomes.get(status, Outcome.IGNORED) for status in Status}
        self.reminder = reminder


class _Policies:
    def __init__(self, cfg: Config) -> None:
        base_outcomes = {**DEFAULT_OUTCOMES, **cfg.outcomes}
        t = cfg.thresholds
        self._default = JobPolicy(
            t.consecutive, t.cumulative, t.window, cfg.history or t.window, base_outcomes, cfg.reminder
        )
        self._overrides: list[tuple[re.Pattern[str], JobPolicy]] = []
        for o in cfg.overrides:
            window = o.window or t.window
            policy = JobPolicy(
                t.consecutive if o.consecutive is None else o.consecutive,
                t.cumulative if o.cumulative is None else o.cumulative,
                window,
                max(cfg.history or window, window),
                {**base_outcomes, **o.outcomes},
                o.reminder or cfg.reminder,
            )
            self._overrides.append((re.compile(fnmatch.translate(o.match)), policy))
        self.failure_statuses = frozenset(
            status
            for p in (self._default, *(policy for _, policy in self._overrides))
            for status, outcome in p.outcomes.items()
            if outcome is Outcome.FAILURE
        )

    def for_job(self, job: str) -> JobPolicy:
        for pattern, policy in self._overrides:
            if pattern.match(job):
                return policy
        return self._default


def _format_validation(e: ValidationError, source: str) -> str:
    first = e.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return f"{source}: {where}: {first['msg']}{more}"


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
    if base_dir is not None:
        for key in ("state", "inbox", "owners"):
            value = raw.get(key)
            if isinstance(value, str) and not value.startswith("s3://") and not Path(value).is_absolute():
                raw[key] = str(base_dir / value)
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_validation(e, source)) from None


def read_text(location: str) -> str:
    """Read a small text file from a local path or an s3:// URI."""
    if location.startswith("s3://"):
        from failstreak.stores.s3 import read_object_text  # noqa: PLC0415 - only S3 users pay for boto3

        return read_object_text(location)
    try:
        return Path(location).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{location}: cannot read: {e.strerror or e}") from None


def load_config(location: str | None = None) -> Config:
    """Load the config from `location`, else from $FAILSTREAK_CONFIG, else the embedded local default."""
    location = location or os.environ.get(CONFIG_ENV)
    if not location:
        return Config()
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
    from failstreak.secrets import fetch  # noqa: PLC0415 - powertools only when a secret is referenced

    return fetch(ref)


def process_environment() -> Mapping[str, str]:
    """A copy of the process environment, for defaults taken from CI variables (`failstreak report`)."""
    return dict(os.environ)
