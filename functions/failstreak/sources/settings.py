"""The `sources:` blocks of the config file (docs/sources.md): one settings model per platform, and the union of
them, told apart by `type`, that the config validates each block against when it is loaded.

Only pydantic models live here, so the config can validate every block without importing the adapters (each
platform's module is imported when a config uses it: `failstreak.sources.build`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from failstreak.secretref import SecretRef

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class BaseSourceConfig(BaseModel):
    """Fields every source block accepts (see docs/sources.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    name: str | None = None
    url: str
    overlap_minutes: float = Field(default=60, ge=0, le=7 * 24 * 60)
    initial_lookback_hours: float = Field(default=24, gt=0, le=24 * 90)
    max_pages: int = Field(default=20, ge=1, le=10_000)
    timeout_seconds: float = Field(default=10, gt=0, le=120)
    time_budget_seconds: float = Field(default=60, gt=0, le=900)
    max_retries: int = Field(default=4, ge=0, le=20)
    backoff_seconds: float = Field(default=1, ge=0, le=60)
    job_prefix: str = ""

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")) or len(v) < 10:
            raise ValueError("must be an http(s):// URL")
        return v.rstrip("/")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or v.startswith("_")):
            raise ValueError("must be non-empty and not start with '_' (reserved for the monitor's own cursors)")
        return v

    @property
    def source_name(self) -> str:
        return self.name or self.type


class DatabricksConfig(BaseSourceConfig):
    type: Literal["databricks"]
    token: SecretRef
    api_version: Literal["2.1", "2.2"] = "2.1"
    job_id: int | None = Field(default=None, ge=1)
    max_run_hours: float = Field(default=24, gt=0, le=24 * 30)
    repair_lookback_hours: float = Field(default=48, ge=0, le=24 * 30)


class DataikuConfig(BaseSourceConfig):
    type: Literal["dataiku"]
    api_key: SecretRef
    projects: list[str] = Field(min_length=1)
    max_run_hours: float = Field(default=24, gt=0, le=24 * 30)

    @field_validator("projects")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        for key in v:
            if not key or "/" in key or key.strip() != key:
                raise ValueError(f"{key!r} is not a project key")
        return v


class GitLabConfig(BaseSourceConfig):
    type: Literal["gitlab"]
    url: str = "https://gitlab.com"
    token: SecretRef
    project: str | int
    ref: str | None = None


class GitHubConfig(BaseSourceConfig):
    type: Literal["github"]
    url: str = "https://api.github.com"
    token: SecretRef
    repo: str
    branch: str | None = None
    max_run_hours: float = Field(default=24, gt=0, le=24 * 30)

    @field_validator("repo")
    @classmethod
    def _owner_name(cls, v: str) -> str:
        if not _REPO.match(v):
            raise ValueError("must be owner/name")
        return v


SourceConfig = Annotated[
    DatabricksConfig | DataikuConfig | GitLabConfig | GitHubConfig,
    Field(discriminator="type"),
]
"""One `sources:` block: the model its `type` names."""

PLATFORMS: dict[str, type[BaseSourceConfig]] = {
    "databricks": DatabricksConfig,
    "dataiku": DataikuConfig,
    "gitlab": GitLabConfig,
    "github": GitHubConfig,
}
"""Each `type` a block may name, and its settings model (in the order the docs list them)."""
