"""The backtest over an S3 archive: real passes on S3 leave their processed/ prefix, the backtest replays it."""

from __future__ import annotations

import json

import pytest

from failstreak.app import backtest
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Execution, Status
from failstreak.errors import StoreUnavailable
from failstreak.inbox.base import pass_folder
from failstreak.inbox.s3 import S3Inbox
from failstreak.pipeline.run import new_pass_id, pulled_lines, run_pass
from tests.integration.s3.backends import S3
from tests.integration.s3.conftest import BOTH_CLIENTS, s3_fixture
from tests.integration.s3.passkit import T0, Recorder, config, ports

pytestmark = pytest.mark.integration

# The adapters work the same through boto3's client and through the light one (s3lite).
s3 = s3_fixture(BOTH_CLIENTS)

HOUR = 3_600_000


def test_the_backtest_of_an_s3_archive_matches_the_passes_that_ran(s3: S3) -> None:
    # Given six passes on S3, an hour apart, over a job that fails four times in a row and recovers
    cfg = config(s3)
    direct = backtest.Tally({})
    statuses = ["success", "failed", "failed", "failed", "failed", "success"]
    for n, status in enumerate(statuses):
        record = {"job": "etl", "run_id": n, "status": status, "finished_at": T0 + n * HOUR + 60_000}
        s3.put(f"fs/inbox/pass-{n}.jsonl", json.dumps(record).encode() + b"\n")
        at = T0 + n * HOUR + 120_000
        summary = run_pass(pass_settings(cfg), ports(cfg, Recorder(), lambda at=at: at), pass_id=new_pass_id(at))
        direct.count(summary.notifications)
    state = s3.get("fs/state.json")
    # When the processed/ prefix beside the inbox is replayed, with the configured settings and a stricter one
    combos = backtest.variants(cfg, backtest.parse_sets(["thresholds.consecutive=3,5"]))
    result = backtest.replay(backtest.archive_for(cfg, None), combos)
    # Then it read the six passes, its numbers at the configured threshold are those of the passes, the stricter
    # threshold opens nothing, and the state is untouched
    assert (result.passes, result.files, result.records) == (6, 6, 6)
    at_three, at_five = (t.to_dict() for t in result.tallies)
    assert {k: v for k, v in at_three.items() if k != "settings"} == {
        k: v for k, v in direct.to_dict().items() if k != "settings"
    }
    assert (at_three["incidents"], at_three["median_detect_runs"]) == (1, 3)
    assert at_five["incidents"] == 0
    assert s3.get("fs/state.json") == state


def test_an_s3_archive_that_cannot_be_listed_is_a_clear_error(s3: S3) -> None:
    # Given an archive in a bucket that does not exist
    archive = backtest.S3Archive(f"s3://{s3.bucket}-gone/fs/processed/")
    # When it is replayed
    # Then the error names the archive
    with pytest.raises(StoreUnavailable, match=f"{s3.bucket}-gone"):
        backtest.replay(archive, backtest.variants(config(s3), []))


def test_what_a_pass_keeps_in_the_s3_archive_is_replayed(s3: S3) -> None:
    # Given the JSON Lines of a source's pull, kept by the S3 inbox in a pass's archive folder
    cfg = config(s3)
    inbox = S3Inbox.from_uri(cfg.inbox or "")
    at = T0 + HOUR
    pulled = [Execution("nightly", str(n), Status.FAILED, T0 + n * 60_000, category="infra") for n in range(3)]
    inbox.keep(pass_folder(new_pass_id(at), at), "_sources/dbx.jsonl", pulled_lines(pulled))
    # When the archive is replayed
    result = backtest.replay(backtest.archive_for(cfg, None), backtest.variants(cfg, []))
    # Then the kept object is under processed/, and its runs are read back with their category
    assert [k for k in s3.keys("fs/processed/") if k.endswith("_sources/dbx.jsonl")]
    assert (result.passes, result.records) == (1, 3)
    assert result.tallies[0].incidents == 0  # infra failures do not touch the streak
