"""Sources: pull job runs from platforms' APIs (Databricks, Dataiku, GitLab, GitHub).

The config validates each `sources:` block against its platform's settings model (`sources/settings.py`) when
it is loaded; `build(blocks, resolve)` turns the validated blocks into adapters. Each platform module is imported
only when the config uses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from failstreak.secretref import ResolveSecret
from failstreak.sources.base import Pulled, Source
from failstreak.sources.settings import BaseSourceConfig

__all__ = ["Pulled", "Source", "build", "build_one"]

_MODULES: dict[str, str] = {
    "databricks": "failstreak.sources.databricks",
    "dataiku": "failstreak.sources.dataiku",
    "gitlab": "failstreak.sources.gitlab",
    "github": "failstreak.sources.github",
}


def build_one(block: BaseSourceConfig, resolve: ResolveSecret) -> Source:
    """The adapter for one validated block; `resolve` reads its credentials at pull time."""
    module = importlib.import_module(_MODULES[block.type])
    source: Source = module.build(block, resolve)
    return source


def build(blocks: Iterable[BaseSourceConfig], resolve: ResolveSecret) -> list[Source]:
    """The adapters for the config's validated `sources:` blocks."""
    return [build_one(block, resolve) for block in blocks]
