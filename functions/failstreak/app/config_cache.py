"""The config as a long-lived process reads it: again at most once per `ttl_s` (docs/http.md, "Configuration").

The front answers every request from a warm function; reading and validating the config from S3 each time would
add a round trip to answers Slack wants within 3 seconds. A config that cannot be read is not remembered, so the
next request tries again; a change of `FAILSTREAK_CONFIG` itself is seen at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from failstreak.app.config import CONFIG_ENV, Config, load_config

CONFIG_TTL_S = 60.0


class CachedConfig:
    """`get()` returns the config read at most `ttl_s` seconds ago, or reads it again."""

    def __init__(
        self,
        ttl_s: float = CONFIG_TTL_S,
        load: Callable[[], Config] = load_config,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self._load = load
        self._clock = clock
        self._held: tuple[str | None, float, Config] | None = None

    def get(self) -> Config:
        location = os.environ.get(CONFIG_ENV)
        now = self._clock()
        held = self._held
        if held is not None and held[0] == location and now - held[1] < self.ttl_s:
            return held[2]
        cfg = self._load()
        self._held = (location, now, cfg)
        return cfg
