"""The collect stage's settings, from the config: the pipeline takes plain values, never the config itself."""

from __future__ import annotations

from failstreak.app.config import Config
from failstreak.inbox.base import MIB
from failstreak.pipeline.collect import IntakeSettings


def intake_settings(cfg: Config) -> IntakeSettings:
    """The inbox's bounds (MiB as bytes), the clock skew, the statuses whose records keep their details (see
    `Config.failure_statuses`) and the job-name rules of `cfg`."""
    return IntakeSettings(
        max_files=cfg.inbox_max_files,
        max_bytes=int(cfg.inbox_max_mib * MIB) if cfg.inbox_max_mib else None,
        file_max_bytes=int(cfg.inbox_file_max_mib * MIB),
        max_records=cfg.inbox_max_records,
        max_clock_skew_ms=cfg.max_clock_skew_ms,
        details=cfg.failure_statuses(),
        job_rules=cfg.job_keys.rules(),
    )
