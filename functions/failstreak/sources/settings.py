"""The `sources:` blocks of the config file (docs/sources.md): one settings section per platform, and the union of
them, told apart by `type`, that the config validates each block against when it is loaded.

Only the settings live here, so the config can validate every block without importing the adapters (each
platform's module is imported when a config uses it: `failstreak.sources.build`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from failstreak.secretref import SecretRef
from failstreak.section import check_fields

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")

_RUN_HOURS = Annotated[float, Meta(gt=0, le=24 * 30)]


def _http_url(v: str) -> str:
    if not v.startswith(("http://", "https://")) or len(v) < 10:
        raise ValueError("must be an http(s):// URL")
    return v.rstrip("/")


def _plain_name(v: str | None) -> str | None:
    if v is not None and (not v.strip() or v.startswith("_")):
        raise ValueError("must be non-empty and not start with '_' (reserved for the monitor's own cursors)")
    return v


def _project_keys(v: list[str]) -> list[str]:
    for key in v:
        if not key or "/" in key or key.strip() != key:
            raise ValueError(f"{key!r} is not a project key")
    return v


def _owner_name(v: str) -> str:
    if not _REPO.match(v):
        raise ValueError("must be owner/name")
    return v


class BaseSourceConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True, tag_field="type"):
    """Fields every source block accepts (see docs/sources.md); `type` is the tag that picks the platform."""

    name: str | None = None
    url: str
    overlap_minutes: Annotated[float, Meta(ge=0, le=7 * 24 * 60)] = 60.0
    initial_lookback_hours: Annotated[float, Meta(gt=0, le=24 * 90)] = 24.0
    max_pages: Annotated[int, Meta(ge=1, le=10_000)] = 20
    timeout_seconds: Annotated[float, Meta(gt=0, le=120)] = 10.0
    time_budget_seconds: Annotated[float, Meta(gt=0, le=900)] = 60.0
    max_retries: Annotated[int, Meta(ge=0, le=20)] = 4
    backoff_seconds: Annotated[float, Meta(ge=0, le=60)] = 1.0
    job_prefix: str = ""

    def __post_init__(self) -> None:
        check_fields(self, {"name": _plain_name, "url": _http_url})

    @property
    def type(self) -> str:
        """The block's `type:` (the platform)."""
        return str(self.__struct_config__.tag)

    @property
    def source_name(self) -> str:
        return self.name or self.type


class DatabricksConfig(BaseSourceConfig, tag="databricks", frozen=True, kw_only=True):
    token: SecretRef
    api_version: Literal["2.1", "2.2"] = "2.1"
    job_id: Annotated[int, Meta(ge=1)] | None = None
    max_run_hours: _RUN_HOURS = 24.0
    repair_lookback_hours: Annotated[float, Meta(ge=0, le=24 * 30)] = 48.0


class DataikuConfig(BaseSourceConfig, tag="dataiku", frozen=True, kw_only=True):
    api_key: SecretRef
    projects: Annotated[list[str], Meta(min_length=1)]
    max_run_hours: _RUN_HOURS = 24.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {"projects": _project_keys})


class GitLabConfig(BaseSourceConfig, tag="gitlab", frozen=True, kw_only=True):
    url: str = "https://gitlab.com"
    token: SecretRef
    project: str | int
    ref: str | None = None


class GitHubConfig(BaseSourceConfig, tag="github", frozen=True, kw_only=True):
    url: str = "https://api.github.com"
    token: SecretRef
    repo: str
    branch: str | None = None
    max_run_hours: _RUN_HOURS = 24.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, {"repo": _owner_name})


SourceConfig = DatabricksConfig | DataikuConfig | GitLabConfig | GitHubConfig
"""One `sources:` block: the settings its `type` names."""

PLATFORMS: dict[str, type[BaseSourceConfig]] = {
    "databricks": DatabricksConfig,
    "dataiku": DataikuConfig,
    "gitlab": GitLabConfig,
    "github": GitHubConfig,
}
"""Each `type` a block may name, and its settings (in the order the docs list them)."""
