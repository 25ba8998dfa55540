"""Peak memory of a pass over the largest inboxes the bounds let in (part of `make bench`).

Three inboxes, each read by one `failstreak run` in a child process whose own peak RSS (wait4's ru_maxrss, the
kernel's VmHWM) is reported, under the default bounds (5,000 files, 256 MiB of decompressed text and 600,000
records per pass, 256 MiB per file):

- `backlog`: a backlog of gzip files larger than one pass may take, so the pass reads up to its bounds and
  leaves the rest;
- `at the cap`: one gzip file just under the per-file cap (256 MiB once decompressed), alone in the inbox: it
  holds more records than a pass may count, so the pass reads it up to that bound and quarantines it;
- `at the record bound`: one gzip file of just under 600,000 records, the most one pass counts.

Records are realistic (URL, commit, reason on failures; about 230 bytes a line) and the state starts empty, so
the pass also builds every job's counters. By default every record names a job of its own, the most jobs one
pass can be asked to create (600,000 at the record bound); `--jobs N` spreads the records over N jobs instead.
`--scale` shrinks both inboxes (and the bounds with them) to check the code quickly:
`python -m bench.memory --scale 0.05 --no-doc`.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from bench.doc import write_block

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "memory"
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench:memory:begin (written by `make bench`; edit outside this block) -->"
END = "<!-- bench:memory:end -->"
MIB = 1024 * 1024
NOW = 1_790_000_000_000
LAMBDA_MIB = 1024
CHILD_TIMEOUT_S = 1800
RECORDS = 600_000  # inbox_max_records' default


def _lines(count: int, first: int, jobs: int) -> bytes:
    """`count` records, run ids from `first`, a fifth of them failures with a reason; over `jobs` jobs, or (0) each
    record a job of its own."""
    out = []
    for n in range(first, first + count):
        pipeline = n % jobs if jobs else n
        job = f"team-{pipeline % 97:02d}/pipeline-{pipeline:06d}"
        if n % 5 == 0:
            tail = b', "status": "failed", "reason": "AssertionError: expected 200, got 503 in test_checkout_flow"}'
        else:
            tail = b', "status": "success"}'
        out.append(
            b'{"job": "%s", "run_id": %d, "finished_at": %d, "url": "https://ci.example.com/%s/-/jobs/%d", '
            b'"commit": "%010x"%s' % (job.encode(), n, NOW - 3_600_000 + n % 3_600_000, job.encode(), n, n, tail)
        )
    return b"\n".join(out) + b"\n"


def _gzip_file(path: Path, size: int, first: int, jobs: int, max_records: int | None = None) -> int:
    """Write a gzip file of about `size` decompressed bytes (at most `max_records` records), in pieces; the number
    of records written."""
    written = 0
    records = 0
    limit = max_records or size
    with gzip.open(path, "wb", compresslevel=1) as f:
        while written < size and records < limit:
            block = _lines(min(20_000, limit - records, max(1, (size - written) // 230)), first + records, jobs)
            if written + len(block) > size and written:
                break
            f.write(block)
            written += len(block)
            records += block.count(b"\n")
    return records


def _config(directory: Path, scale: float) -> Path:
    cfg = directory / "config.yaml"
    cfg.write_text(
        f"state: {directory / 'state.json'}\ninbox: {directory / 'inbox'}\n"
        f"inbox_file_max_mib: {256 * scale}\ninbox_max_mib: {256 * scale}\n"
        f"inbox_max_records: {int(RECORDS * scale)}\nnotify: {{console: false}}\n"
    )
    return cfg


def _pass(cfg: Path) -> dict[str, Any]:
    """One `failstreak run --json` in a child: its summary, wall time and peak RSS."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join((str(ROOT / "functions"), str(ROOT)))
    env.pop("FAILSTREAK_CONFIG", None)
    out_path = cfg.parent / "summary.json"
    started = time.monotonic()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "failstreak.app.cli", "run", "--json", "--config", str(cfg)], stdout=out, env=env
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > CHILD_TIMEOUT_S:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise SystemExit(f"bench.memory: the pass over {cfg.parent} took more than {CHILD_TIMEOUT_S}s")
            time.sleep(0.05)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench.memory: the pass over {cfg.parent} failed")
    summary = orjson.loads(out_path.read_bytes())
    return {
        "wall_s": time.monotonic() - started,
        "peak_mib": usage.ru_maxrss / 1024,
        "files": summary["files"],
        "backlog": summary["backlog"],
        "ingested": summary["ingested"],
        "quarantined": len(summary["quarantined"]),
    }


def _fresh(name: str) -> Path:
    directory = OUT / name
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "inbox").mkdir(parents=True)
    return directory


def backlog(scale: float, jobs: int) -> dict[str, Any]:
    """More gzip files than a pass may take: 1.5 times the batch bound, in files of about 128 KiB of text."""
    bound = 256 * scale
    directory = _fresh("backlog")
    per_file = 128 * 1024
    files = int(bound * 1.5 * MIB // per_file)
    records = 0
    for n in range(files):
        path = directory / "inbox" / f"batch-{n:05d}.jsonl.gz"
        records += _gzip_file(path, per_file, records, jobs)
        stamp = (NOW - 7_200_000) / 1000 + n
        os.utime(path, (stamp, stamp))
    stored = sum(p.stat().st_size for p in (directory / "inbox").iterdir())
    result = _pass(_config(directory, scale))
    return {"inbox": f"{files} gzip files, {stored / MIB:.0f} MiB stored, {records:,} records", **result}


def at_cap(scale: float, jobs: int) -> dict[str, Any]:
    """One gzip file of text just under the per-file cap."""
    cap = 256 * scale
    directory = _fresh("at-cap")
    path = directory / "inbox" / "big.jsonl.gz"
    records = _gzip_file(path, int(cap * MIB) - 4096, 0, jobs)
    stored = path.stat().st_size
    result = _pass(_config(directory, scale))
    return {"inbox": f"1 gzip file, {stored / MIB:.0f} MiB stored, {records:,} records", **result}


def at_record_bound(scale: float, jobs: int) -> dict[str, Any]:
    """One gzip file of just under the most records a pass counts."""
    directory = _fresh("at-record-bound")
    path = directory / "inbox" / "big.jsonl.gz"
    records = _gzip_file(path, int(256 * scale * MIB), 0, jobs, max_records=int(RECORDS * scale) - 1)
    stored = path.stat().st_size
    result = _pass(_config(directory, scale))
    return {"inbox": f"1 gzip file, {stored / MIB:.0f} MiB stored, {records:,} records", **result}


def report(rows: dict[str, dict[str, Any]], scale: float, jobs: int) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"Measured {when} by `python -m bench.memory --scale {scale:g}{f' --jobs {jobs}' if jobs else ''}` (bounds: "
        f"{256 * scale:g} MiB per file and per pass, {int(RECORDS * scale):,} records per pass), from an empty "
        f"state, {f'the records spread over {jobs:,} jobs' if jobs else 'each record a job of its own'}. Peak RSS "
        f"is the child pass's own (ru_maxrss); the Lambda has {LAMBDA_MIB} MB.",
        "",
        "| inbox | what it holds | files read | left | runs counted | quarantined | pass | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['inbox']} | {r['files']} | {r['backlog']} | {r['ingested']:,} | {r['quarantined']} "
            f"| {r['wall_s']:.1f} s | {r['peak_mib']:.0f} MiB |"
        )
    return "\n".join(lines)


def write_doc(text: str) -> None:
    write_block(DOC, BEGIN, END, text, "Peak memory at the inbox bounds")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="shrink the inboxes and bounds (1: the defaults)")
    p.add_argument(
        "--jobs", type=int, default=0, help="distinct jobs the records are spread over (0: each record its own job)"
    )
    p.add_argument("--no-doc", action="store_true", help="print the table only; leave docs/performance.md alone")
    args = p.parse_args(argv)
    rows = {}
    for name, measure in (("backlog", backlog), ("at the cap", at_cap), ("at the record bound", at_record_bound)):
        t = time.monotonic()
        rows[name] = measure(args.scale, args.jobs)
        print(f"{name}: {rows[name]} ({time.monotonic() - t:.0f}s with generation)", flush=True)
    text = report(rows, args.scale, args.jobs)
    print()
    print(text)
    if not args.no_doc:
        write_doc(text)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    shutil.rmtree(OUT, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
