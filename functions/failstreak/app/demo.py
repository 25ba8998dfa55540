"""`failstreak demo`: a realistic sample inbox over a few days, and one real pass per day over it.

Twenty-nine jobs from a CI, Databricks, Dataiku and Airflow: most healthy, some flaky, three that break during
the second day, one that is broken from the start and passes again from the third day (announced fixed by the
fourth day's pass, once its window has fewer than 5 failures), one that fails every other run (cumulative
threshold without a streak), retried runs, a re-delivered file and a file with a bad line (README.md tells the
story). Each day's files are
dropped in the inbox and a pass runs with the clock at the end of that day, so a newcomer sees `triggered`,
`reminder` and `resolved` notifications, the rejected line, and a status table — all with the same code
and config as a real deployment, on local files.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

from failstreak.app import wiring
from failstreak.app.config import load_config
from failstreak.app.status import status_table
from failstreak.core.model import iso, now_ms
from failstreak.pipeline.run import run_pass
from failstreak.pipeline.summary import summary_text

DAY_MS = 86_400_000
RUNS_PER_DAY = 6

HEALTHY = [
    "ci/web/unit-tests",
    "ci/web/lint",
    "ci/web/e2e-chrome",
    "ci/api/unit-tests",
    "ci/api/integration",
    "ci/api/build-image",
    "ci/mobile/ios-build",
    "ci/mobile/android-build",
    "ci/infra/terraform-plan",
    "ci/docs/build",
    "databricks/orders-ingest",
    "databricks/customers-dedupe",
    "databricks/feature-store-refresh",
    "databricks/ml-churn-train",
    "dataiku/FINANCE/build_ledger",
    "dataiku/FINANCE/build_forecast",
    "dataiku/MARKETING/build_segments",
    "airflow/daily_exports",
    "airflow/partner_sync",
    "airflow/backup_verify",
]
FLAKY = ["ci/web/e2e-safari", "ci/api/load-test", "databricks/clickstream-sessionize", "airflow/s3_to_redshift"]
BREAKS_DAY_2 = ["ci/api/contract-tests", "databricks/nightly-orders-etl", "dataiku/MARKETING/build_attribution"]
FIXED_DAY_3 = "ci/web/visual-regression"
EVERY_OTHER = "airflow/vendor_feed_import"

REASONS = [
    "AssertionError: expected 200, got 503",
    "OOMKilled: container exceeded 4 GiB",
    "TimeoutError: step 'integration' exceeded 30m",
    "Spark job aborted: stage 12 failed 4 times",
    "DatasetNotFound: upstream table orders_raw is empty",
]


def _owner(job: str) -> str:
    platform, rest = job.split("/", 1)
    if platform in ("ci", "dataiku"):
        return "team-" + rest.split("/")[0].lower()
    return "team-data" if platform == "databricks" else "team-platform"


def _fails(job: str, day: int, slot: int, rng: random.Random) -> bool:
    if job in BREAKS_DAY_2:
        return day > 1 or (day == 1 and slot >= 3)
    if job == FIXED_DAY_3:
        return day < 2 or (day == 2 and slot < 2)
    if job == EVERY_OTHER:
        return slot % 2 == 1
    if job in FLAKY:
        return rng.random() < 0.3
    return rng.random() < 0.03


def _day_records(day: int, start: int, rng: random.Random) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for job in [*HEALTHY, *FLAKY, *BREAKS_DAY_2, FIXED_DAY_3, EVERY_OTHER]:
        for slot in range(RUNS_PER_DAY):
            finished = start + day * DAY_MS + slot * (DAY_MS // RUNS_PER_DAY) + rng.randrange(0, 600_000)
            run_id = 1000 + day * RUNS_PER_DAY + slot
            failed = _fails(job, day, slot, rng)
            platform = job.split("/")[0]
            record: dict[str, object] = {
                "job": job,
                "run_id": run_id,
                "status": "failed" if failed else "success",
                "finished_at": iso(finished),
                "url": f"https://{platform}.example.com/{job}/runs/{run_id}",
                "commit": f"{rng.getrandbits(28):07x}",
                "owner": _owner(job),
                "source": platform,
            }
            if failed:
                record["reason"] = rng.choice(REASONS)
            if not failed and job in FLAKY and rng.random() < 0.3:
                # A retried run: the first attempt failed, the retry passed. Only the retry counts.
                records.append({**record, "status": "failed", "attempt": 0, "reason": "flaky: connection reset"})
                record["attempt"] = 1
            records.append(record)
    return records


def _write_day(inbox: Path, day: int, records: list[dict[str, object]]) -> None:
    by_platform: dict[str, list[dict[str, object]]] = {}
    for r in records:
        by_platform.setdefault(str(r["source"]), []).append(r)
    for platform, rows in sorted(by_platform.items()):
        lines = [json.dumps(r) for r in rows]
        if platform == "airflow" and day == 1:
            lines.insert(3, '{"job": "airflow/daily_exports", "run_id": 9999, "status": "exploded"}')
        (inbox / f"day{day + 1}-{platform}.jsonl").write_text("\n".join(lines) + "\n")
    if day == 2:
        # A producer that re-sends yesterday's file: every record is a duplicate.
        (inbox / "day3-ci-resent.jsonl").write_text(
            "\n".join(json.dumps(r) for r in by_platform.get("ci", [])[:40]) + "\n"
        )


def _fixed_clock(ms: int) -> Callable[[], int]:
    return lambda: ms


def run_demo(root: Path, passes: int = 4, out: Callable[[str], None] = print) -> int:
    """Write the demo's config, then for each day drop its files in the inbox and run a pass."""
    passes = max(1, min(passes, 7))
    if root.exists():
        for name in ("state.json", "state.json.lock", "inbox"):
            path = root / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    config_path = root / "failstreak.yaml"
    config_path.write_text(
        "# The demo's config: local state and inbox, default thresholds, notifications on the console.\n"
        "state: state.json\n"
        "inbox: inbox/\n"
        "page: page.html\n"
        "# The daily digest (docs/digest.md): due from midnight UTC, so each day's pass sends that day's.\n"
        'digest: {at: "00:00", timezone: UTC}\n'
        "thresholds: {consecutive: 3, cumulative: 5, window: 10}\n"
        "reminder: {every_hours: 24}\n"
        "overrides:\n"
        '  - match: "databricks/nightly-*"\n'
        "    consecutive: 2\n"
    )
    cfg = load_config(str(config_path))
    rng = random.Random(20261123)  # noqa: S311 - a reproducible sample, not a secret
    start = now_ms() - passes * DAY_MS
    for day in range(passes):
        _write_day(inbox, day, _day_records(day, start, rng))
        ports = wiring.ports(cfg)
        end_of_day = start + (day + 1) * DAY_MS
        ports.clock = _fixed_clock(end_of_day)
        out(f"\n── Day {day + 1}: pass at {iso(end_of_day)} ──")
        summary = run_pass(wiring.pass_settings(cfg), ports)
        out(summary_text(summary.to_dict()))
    out("\n── Status ──")
    from failstreak.state.codec import decode  # noqa: PLC0415

    store = wiring.state_store(cfg.state)
    out(status_table(cfg, decode(store.load().data, store.location), start + passes * DAY_MS))
    out(
        f"\nDemo files are in {root}/ — try: failstreak status --config {config_path}"
        f"  (processed files: {inbox}/processed, rejected lines: {inbox}/quarantine;"
        f" the run-history page: {root}/page.html)"
    )
    return 0
