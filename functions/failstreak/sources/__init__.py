"""Sources: pull job runs from platforms' APIs (Databricks, Dataiku, GitLab, GitHub).

`build(cfg)` validates each `sources:` block with its platform module's own model and returns the adapters.
Each platform module is imported only when the config uses it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from failstreak.errors import ConfigError
from failstreak.sources.base import Pulled, Source

if TYPE_CHECKING:
    from failstreak.app.config import Config

__all__ = ["Pulled", "Source", "build"]

# type -> (module, config model, factory)
_PLATFORMS: dict[str, tuple[str, str]] = {
    "databricks": ("failstreak.sources.databricks", "DatabricksConfig"),
    "dataiku": ("failstreak.sources.dataiku", "DataikuConfig"),
    "gitlab": ("failstreak.sources.gitlab", "GitLabConfig"),
    "github": ("failstreak.sources.github", "GitHubConfig"),
}


def build_one(raw: dict[str, Any], where: str) -> Source:
    """One adapter from one source block; ConfigError names the block and the field."""
    from failstreak.sources.common import validate  # noqa: PLC0415 - pydantic models load with the first source

    kind = raw.get("type")
    if kind not in _PLATFORMS:
        raise ConfigError(f"{where}: type: must be one of {', '.join(_PLATFORMS)}")
    module_name, model_name = _PLATFORMS[kind]
    module = importlib.import_module(module_name)
    cfg = validate(getattr(module, model_name), raw, f"{where} ({kind})")
    source: Source = module.build(cfg)
    return source


def build(cfg: Config) -> list[Source]:
    """The adapters for the config's `sources:` blocks. Raises ConfigError on an invalid block."""
    out: list[Source] = []
    seen: dict[str, int] = {}
    for index, block in enumerate(cfg.sources):
        where = f"sources[{index}]"
        source = build_one(block.model_dump(exclude_none=True), where)
        if source.name in seen:
            raise ConfigError(
                f"{where} ({block.type}): name: {source.name!r} is already used by sources[{seen[source.name]}]; "
                "give each source a distinct name (its cursor is kept under it)"
            )
        seen[source.name] = index
        out.append(source)
    return out
