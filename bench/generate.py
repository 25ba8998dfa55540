"""Workload generator: a steady-state state document plus a fresh inbox.

A workload of N jobs and M new executions is built in two steps:

1. History: every job gets `history_runs` older runs, applied by a real monitor pass (no notifier), so the
   state is what earlier passes leave behind: all jobs known, full windows, broken jobs already alerting.
2. Inbox: M fresh execution records spread over F files (JSON Lines, one in ten gzip-compressed), with the
   mix a large CI produces: mostly healthy jobs, some flaky, some broken; retries (a failed attempt then a
   higher one), duplicate deliveries (the same record in two files), late arrivals (older than runs already
   applied, newer than the oldest remembered), some still-running records, times as RFC 3339 or epoch ms.

Everything is derived from a seed: the same parameters give the same bytes.
"""

from __future__ import annotations

import gzip
import os
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

NOW = 1_795_000_000_000  # the measured pass's clock, fixed so runs are reproducible
HOUR = 3_600_000
HISTORY_PASS_AT = NOW - HOUR  # the earlier pass that built the steady state ran an hour before
TEAMS = ("payments", "search", "platform", "data", "mobile", "web", "infra", "ml", "billing", "identity")
STAGES = ("build", "unit", "integration", "e2e", "lint", "deploy", "nightly-etl", "dbt-run")
REASONS = (
    "exit code 1",
    "AssertionError: expected 200, got 503",
    "timeout after 3600s",
    "OOMKilled",
    "dependency resolution failed",
    "Table not found: analytics.events_daily",
)
# share of jobs and per-run failure probability of each kind of job
MIX = (("healthy", 0.80, 0.02), ("flaky", 0.13, 0.30), ("broken", 0.05, 0.92), ("recovering", 0.02, 0.0))


@dataclass(frozen=True)
class Workload:
    name: str
    jobs: int
    executions: int
    files: int
    history_runs: int = 12
    window: int = 10
    seed: int = 7

    def key(self) -> str:
        # The steady state is written by the package's own pass: a change to what it stores makes a new one.
        # The state format's version is named on its own, not only through the codec's source digest, so that
        # a new format regenerates the workload even when the code that writes it lives elsewhere.
        from failstreak.state import codec

        return (
            f"{self.name}-j{self.jobs}-e{self.executions}-f{self.files}-h{self.history_runs}-s{self.seed}"
            f"-v{codec.VERSION}-{_code_digest()}"
        )


SIZES: dict[str, Workload] = {
    "1k": Workload("1k", jobs=1_000, executions=10_000, files=20),
    "10k": Workload("10k", jobs=10_000, executions=100_000, files=100),
    "100k": Workload("100k", jobs=100_000, executions=1_000_000, files=500),
    # The growth row of the estate measurements (bench/estate.py) only: one fresh run per job is plenty, since
    # those rows take the first 1,000 lines; the big pass over ten million records would not fit the Lambda.
    "1m": Workload("1m", jobs=1_000_000, executions=1_000_000, files=500),
}
# The history pass takes the history inbox in passes of at most this many records, so that building the
# steady state of a million jobs needs the memory of a slice of it, not of twelve million records at once.
HISTORY_PASS_RECORDS = 2_000_000


def _code_digest() -> str:
    import hashlib

    import failstreak

    root = Path(failstreak.__file__).parent
    digest = hashlib.sha256()
    for name in ("core/counting.py", "state/codec.py"):
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:8]


def job_name(i: int) -> str:
    team = TEAMS[i % len(TEAMS)]
    stage = STAGES[(i // len(TEAMS)) % len(STAGES)]
    return f"{team}/service-{i:06d}/{stage}"


def _kind(rng: random.Random) -> tuple[str, float]:
    x = rng.random()
    for kind, share, p_fail in MIX:
        if x < share:
            return kind, p_fail
        x -= share
    return MIX[0][0], MIX[0][2]


def _status(rng: random.Random, p_fail: float) -> str:
    x = rng.random()
    if x < 0.03:
        return rng.choice(("skipped", "canceled", "upstream_failed"))
    if rng.random() < p_fail:
        return "timed_out" if rng.random() < 0.1 else "failed"
    return "succeeded_with_failures" if rng.random() < 0.02 else "success"


def _time(rng: random.Random, ms: int) -> str | int:
    if rng.random() < 0.2:
        return ms
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def _record(rng: random.Random, job: str, run_id: int, status: str, at: int, attempt: int = 0) -> dict[str, object]:
    rec: dict[str, object] = {
        "job": job,
        "run_id": run_id,
        "status": status,
        "finished_at": _time(rng, at),
        "url": f"https://ci.example.com/{job}/-/jobs/{run_id}",
        "commit": f"{rng.getrandbits(40):010x}",
    }
    if attempt:
        rec["attempt"] = attempt
    if status in ("failed", "timed_out"):
        rec["reason"] = rng.choice(REASONS)
    return rec


@dataclass
class Generated:
    history: list[bytes]
    fresh: list[bytes]
    stats: dict[str, int]


def generate(w: Workload, history_sink: Callable[[bytes], None] | None = None) -> Generated:
    """The history records (one line each) and the fresh inbox records, as JSON lines. With `history_sink`,
    each history line goes to it as it is made and `history` stays empty (a million jobs' twelve million
    lines would not fit in memory beside the rest)."""
    rng = random.Random(w.seed)
    history: list[bytes] = []
    fresh: list[bytes] = []
    stats = {"duplicates": 0, "retries": 0, "late": 0, "running": 0}
    per_job, extra = divmod(w.executions, w.jobs)
    for i in range(w.jobs):
        job = job_name(i)
        kind, p_fail = _kind(rng)
        period = rng.choice((5, 15, 30, 60)) * 60_000
        n_new = per_job + (1 if i < extra else 0)
        # Runs are numbered per job; the fresh ones end just before the measured pass.
        first_new = NOW - n_new * period
        base_id = 1000 + i * 7
        hist_p = 0.92 if kind == "recovering" else p_fail
        for k in range(w.history_runs):
            at = first_new - (w.history_runs - k) * period
            (history_sink or history.append)(orjson.dumps(_record(rng, job, base_id + k, _status(rng, hist_p), at)))
        for k in range(n_new):
            run_id = base_id + w.history_runs + k
            at = first_new + k * period
            status = _status(rng, p_fail)
            x = rng.random()
            if x < 0.04 and status in ("failed", "timed_out"):
                # a retry: the failed attempt 0 and a later attempt 1 with its own outcome
                fresh.append(orjson.dumps(_record(rng, job, run_id, status, at - 60_000)))
                status = _status(rng, p_fail)
                fresh.append(orjson.dumps(_record(rng, job, run_id, status, at, attempt=1)))
                stats["retries"] += 1
                continue
            line = orjson.dumps(_record(rng, job, run_id, status, at))
            fresh.append(line)
            if x > 0.97:
                fresh.append(line)  # the same record delivered twice
                stats["duplicates"] += 1
        if rng.random() < 0.01:
            fresh.append(orjson.dumps({"job": job, "run_id": base_id + 10_000, "status": "running"}))
            stats["running"] += 1
        if rng.random() < 0.02:
            # a late arrival: a run older than the newest remembered one, newer than the oldest
            at = first_new - 2 * period - period // 2
            fresh.append(orjson.dumps(_record(rng, job, base_id + 5_000, _status(rng, p_fail), at)))
            stats["late"] += 1
    # Deliveries are not grouped by job: a file holds whatever producers wrote in its interval.
    rng.shuffle(fresh)
    return Generated(history, fresh, stats)


def write_inbox(directory: Path, lines: list[bytes], files: int, gzip_every: int = 10) -> list[Path]:
    """Spread the lines over `files` files; every `gzip_every`-th file is `.jsonl.gz`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    files = max(1, min(files, len(lines)))
    chunk = -(-len(lines) // files)
    for n in range(files):
        part = lines[n * chunk : (n + 1) * chunk]
        if not part:
            break
        body = b"\n".join(part) + b"\n"
        if gzip_every and n % gzip_every == gzip_every - 1:
            path = directory / f"batch-{n:05d}.jsonl.gz"
            path.write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
        else:
            path = directory / f"batch-{n:05d}.jsonl"
            path.write_bytes(body)
        stamp = (NOW - HOUR // 2) / 1000 + n
        os.utime(path, (stamp, stamp))
        paths.append(path)
    return paths


class LineFiles:
    """Plain JSON Lines files of `per_file` lines each, named and dated as `write_inbox` names and dates them."""

    def __init__(self, directory: Path, per_file: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.per_file = directory, per_file
        self.lines: list[bytes] = []
        self.n = 0

    def add(self, line: bytes) -> None:
        self.lines.append(line)
        if len(self.lines) == self.per_file:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        path = self.directory / f"batch-{self.n:05d}.jsonl"
        path.write_bytes(b"\n".join(self.lines) + b"\n")
        stamp = (NOW - HOUR // 2) / 1000 + self.n
        os.utime(path, (stamp, stamp))
        self.lines, self.n = [], self.n + 1


def config_text(state: str, inbox: str, window: int, console: bool, max_records: int | None = None) -> str:
    # By default the whole inbox in one pass: the workloads measure a pass over all of their executions (1M at
    # 100k jobs), beyond the default bound on records per pass (bench/memory.py measures the passes at the bounds).
    return (
        f"state: {state}\n"
        f"inbox: {inbox}\n"
        f"inbox_max_records: {'null' if max_records is None else max_records}\n"
        f"thresholds: {{consecutive: 3, cumulative: 5, window: {window}}}\n"
        f"notify: {{console: {'true' if console else 'false'}}}\n"
    )


def prepare(w: Workload, root: Path) -> Path:
    """Build the workload under `root/<key>` (once; reused when already there) and return its directory.

    Layout: `state.json` (after the history pass), `inbox/` (the fresh files), `workload.json`.
    """
    from failstreak.app.config import parse_config
    from failstreak.app.wiring import pass_settings, ports
    from failstreak.pipeline.run import run_pass

    out = root / w.key()
    done = out / "workload.json"
    if done.exists():
        return out
    tmp = root / (w.key() + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    # History files in job order, written as they are made: a bounded pass takes whole files.
    lines = w.jobs * w.history_runs
    history = LineFiles(tmp / "history-inbox", -(-lines // max(1, w.files // 2, lines // 20_000)))
    gen = generate(w, history.add)
    history.flush()
    cfg = parse_config(
        config_text(
            str(tmp / "state.json"),
            str(tmp / "history-inbox"),
            w.window,
            console=False,
            max_records=HISTORY_PASS_RECORDS,
        ),
        "bench",
    )
    p = ports(cfg)
    p.clock = lambda: HISTORY_PASS_AT
    ingested = 0
    while True:
        summary = run_pass(pass_settings(cfg), p)
        ingested += summary.ingested
        if not summary.files:
            break
    write_inbox(tmp / "inbox", gen.fresh, w.files)
    meta = {
        **asdict(w),
        "history_ingested": ingested,
        "history_alerting": summary.alerting,
        "records": len(gen.fresh),
        **gen.stats,
    }
    import shutil

    shutil.rmtree(tmp / "history-inbox")
    (tmp / "workload.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    tmp.rename(out)
    return out
