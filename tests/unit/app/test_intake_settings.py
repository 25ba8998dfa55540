"""The collect stage's settings, built from the config: the pipeline never reads the config itself."""

from __future__ import annotations

from failstreak.app.config import parse_config
from failstreak.app.intake_settings import intake_settings
from failstreak.core.model import Status
from tests.conftest import ex


def test_the_inbox_bounds_come_in_bytes_and_an_absent_bound_stays_unbounded() -> None:
    # Given a config with a batch bound in MiB, no file or record bound per pass, and a clock skew of an hour
    cfg = parse_config("inbox_max_mib: 1.5\ninbox_max_files: null\ninbox_max_records: null\nmax_clock_skew: 1h\n")
    # When its intake settings are built
    settings = intake_settings(cfg)
    # Then the MiB are bytes, the absent bounds are None, and the skew is in milliseconds
    assert settings.max_bytes == 1_572_864
    assert settings.file_max_bytes == 256 * 1024 * 1024
    assert (settings.max_files, settings.max_records) == (None, None)
    assert settings.max_clock_skew_ms == 3_600_000


def test_the_defaults_and_the_statuses_that_keep_their_details_come_from_the_config() -> None:
    # Given the default config, and one that counts cancellations as failures
    default = intake_settings(parse_config(""))
    canceled = intake_settings(parse_config("outcomes: {canceled: failure}\n"))
    # Then the default bounds hold, and the failure statuses keep their details
    assert (default.max_files, default.max_records, default.max_bytes) == (5000, 600_000, 256 * 1024 * 1024)
    assert default.details == {Status.FAILED, Status.TIMED_OUT}
    assert canceled.details == {Status.FAILED, Status.TIMED_OUT, Status.CANCELED}


def test_the_job_name_rules_are_the_configs() -> None:
    # Given a config that folds matrix variants and excludes a job
    cfg = parse_config(r"""
job_keys:
  rewrite: [{pattern: ': \[.*\]$', replace: ''}]
  exclude: ['noisy']
""")
    # When its intake settings apply their rules
    kept, filtered = intake_settings(cfg).job_rules.apply([ex("test: [linux]", 1), ex("noisy", 2)])
    # Then the variant is folded and the excluded job dropped
    assert [e.job for e in kept] == ["test"]
    assert filtered == 1
