"""The run-history page at scale (part of `make bench`): 10,000 jobs × 10 remembered runs.

A synthetic estate, the same on every run: every job has 10 remembered runs with a link, a commit and a reason
on its failures (one job in ten fails half its runs, one in fifty is alerting), owned by 40 teams, one in twenty
muted. The page is rendered `--reps` times (median and spread of the wall time, median CPU time; the load average is
printed, since a busy machine stretches the wall time), and its size reported as
written and gzip-compressed as the S3 store compresses it (what a browser fetches from S3, and what a person
downloads). The time covers what a pass does when `page:` is set: building the views from the config
and the state, and rendering.

    python -m bench.page --jobs 10000 --runs 10 --reps 5
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import time
from pathlib import Path

from bench.doc import write_block
from failstreak.app.config import parse_config
from failstreak.app.page import page_of
from failstreak.core.model import Alert, JobState, Run, State, Status
from failstreak.views.page import fragments_of
from failstreak.views.store import GZIP_LEVEL

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench:page:begin (written by `make bench`; edit outside this block) -->"
END = "<!-- bench:page:end -->"
NOW = 1_790_000_000_000
HOUR = 3_600_000


def estate(jobs: int, runs: int) -> State:
    """`jobs` jobs of `runs` remembered runs each, deterministic."""
    state = State()
    for j in range(jobs):
        flaky = j % 10 == 0
        name = f"team-{j % 40}/pipeline-{j:05d}" + ("-muted" if j % 20 == 5 else "")
        remembered = []
        for r in range(runs):
            failed = flaky and r % 2 == 1
            remembered.append(
                Run(
                    NOW - (runs - r) * HOUR,
                    str(1000 + r),
                    r % 3 == 0 and failed,
                    Status.FAILED if failed else Status.SUCCESS,
                    url=f"https://ci.example.com/{name}/runs/{1000 + r}" if failed else None,
                    commit=f"{j * 7919 + r:07x}"[:7] if failed else None,
                    reason="AssertionError: expected 200, got 503 in test_checkout_flow" if failed else None,
                )
            )
        alert = Alert(NOW - 5 * HOUR, ["cumulative"], NOW - 9 * HOUR, 0, NOW - HOUR, 3) if j % 50 == 0 else None
        failures = sum(r.status is Status.FAILED for r in remembered)
        state.jobs[name] = JobState(
            name=name,
            runs=remembered,
            total_runs=runs,
            total_failures=failures,
            window_failures=failures,
            window_size=runs,
            consecutive_failures=1 if flaky else 0,
            first_seen=NOW - 30 * 24 * HOUR,
            last_seen=NOW - HOUR,
            last_success=NOW - 2 * HOUR,
            owner=f"@team-{j % 40}",
            alert=alert,
        )
    return state


def measure(jobs: int, runs: int, reps: int) -> dict[str, float]:
    # The muted jobs' mute comes from the config (mutes live outside the state since version 6).
    cfg = parse_config(
        "thresholds: {window: 10}\nmutes: [{match: '*-muted', until: '2026-09-23T00:00:00Z', reason: x}]\n"
    )
    state = estate(jobs, runs)
    times, cpu = [], []
    data = b""
    for _ in range(reps):
        started, started_cpu = time.perf_counter(), time.process_time()
        data = page_of(cfg, state, NOW).data
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    # Again from the kept page, after a pass that brought a run to one job in a hundred (its fragments parsed out
    # of the page, as a pass does, then only the changed jobs rendered).
    changed = list(state.jobs)[::100]
    for n in changed:
        job = state.jobs[n]
        job.runs = [*job.runs[1:], Run(NOW, "new", 0, Status.FAILED, reason="new failure")]
        job.total_runs += 1
    again, again_cpu, rendered = [], [], 0
    for _ in range(reps):
        started, started_cpu = time.perf_counter(), time.process_time()
        page = page_of(cfg, state, NOW, cache=fragments_of(data))
        again.append(time.perf_counter() - started)
        again_cpu.append(time.process_time() - started_cpu)
        rendered = page.rendered
    return {
        "again_s": statistics.median(again),
        "again_cpu_s": statistics.median(again_cpu),
        "again_min_s": min(again),
        "again_max_s": max(again),
        "again_rendered": rendered,
        "median_s": statistics.median(times),
        "cpu_s": statistics.median(cpu),
        "load": os.getloadavg()[0],
        "min_s": min(times),
        "max_s": max(times),
        "bytes": len(data),
        "gzip_bytes": len(gzip.compress(data, GZIP_LEVEL)),
    }


def table(jobs: int, runs: int, reps: int, m: dict[str, float]) -> str:
    return "\n".join(
        [
            f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs, load average "
            f"{m['load']:.1f} when measured), {reps} renders, medians.",
            "",
            "| jobs × runs | render wall s (median) | render CPU s (median) | min wall s | max wall s | page MiB | "
            "gzip MiB |",
            "|---|---|---|---|---|---|---|",
            f"| {jobs:,} × {runs} | {m['median_s']:.2f} | {m['cpu_s']:.2f} | {m['min_s']:.2f} | {m['max_s']:.2f} | "
            f"{m['bytes'] / 2**20:.1f} | {m['gzip_bytes'] / 2**20:.2f} |",
            f"| again, 1 job in 100 changed ({m['again_rendered']:,} rendered) | {m['again_s']:.2f} | "
            f"{m['again_cpu_s']:.2f} | {m['again_min_s']:.2f} | {m['again_max_s']:.2f} | | |",
        ]
    )


def write_doc(text: str) -> None:
    write_block(DOC, BEGIN, END, text, "The run-history page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args()
    text = table(args.jobs, args.runs, args.reps, measure(args.jobs, args.runs, args.reps))
    print(text)
    if not args.no_doc:
        write_doc(text)


if __name__ == "__main__":
    main()
