"""Checks of a config's local locations before a pass, so a wrong path speaks instead of reading nothing.

A local inbox that does not exist is a warning (the pass counts what the sources bring and saves the state);
an inbox that is a file, or a directory that cannot be listed, is an error: every file dropped there would be
ignored without a word. S3 locations are checked by the pass itself, whose errors name the URI.
"""

from __future__ import annotations

import os
from pathlib import Path

from failstreak.app.config import Config
from failstreak.errors import ConfigError


def inbox_warnings(cfg: Config) -> list[str]:
    """Warnings about the config's local inbox; raises ConfigError when it cannot be an inbox at all."""
    location = cfg.inbox
    if not location or location.startswith("s3://"):
        return []
    path = Path(location)
    if not path.exists():
        return [f"{cfg.source}: inbox: {location} does not exist; no inbox files were read (create it, or fix inbox:)"]
    if not path.is_dir():
        raise ConfigError(f"{cfg.source}: inbox: {location} is a file, not a directory")
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except OSError as e:
        raise ConfigError(f"{cfg.source}: inbox: {location}: cannot list: {e.strerror or e}") from None
    return []
