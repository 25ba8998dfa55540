"""A whole pass does work and holds memory in proportion to its input: counted, not timed.

Work is the number of Python lines a pass executes (`sys.settrace`), which sees every loop iteration, in the
code's own loops and in its comprehensions; memory is the pass's peak of Python allocations (`tracemalloc`).
The workload grows every dimension at once: jobs, runs, inbox files, notifications to enqueue and outbox entries
already pending. Wall-clock time is measured by `make bench` (docs/performance.md), never here.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from collections.abc import Callable
from types import FrameType
from typing import Any

from failstreak.app.config import Config
from failstreak.app.routing import Router
from failstreak.app.wiring import pass_settings
from failstreak.pipeline.run import Ports, run_pass
from tests.conftest import HOUR, MINUTE, T0
from tests.fakes import InMemoryInbox, InMemoryStateStore, RecordingNotifier


def _files(jobs: range, first_run: int) -> dict[str, str]:
    """One inbox file per ten jobs, each job failing three times."""
    out = {}
    for start in range(jobs.start, jobs.stop, 10):
        lines = [
            json.dumps({"job": f"job-{j}", "run_id": first_run + k, "status": "failed", "finished_at": T0 + k * MINUTE})
            for j in range(start, min(start + 10, jobs.stop))
            for k in range(3)
        ]
        out[f"{first_run}-{start:06d}.jsonl"] = "\n".join(lines) + "\n"
    return out


def _second_pass(n: int) -> Callable[[], Any]:
    """A pass over n new failing jobs, with n alerts of an earlier pass still pending (their Slack was down)."""
    cfg = Config()
    store = InMemoryStateStore()
    notifier = RecordingNotifier()
    notifier.fail_with = "down"

    def ports(inbox: InMemoryInbox, now: int) -> Ports:
        return Ports(store=store, inbox=inbox, notifiers={"console": notifier}, router=Router(cfg), clock=lambda: now)

    first = InMemoryInbox()
    for key, body in _files(range(n), 1).items():
        first.add(key, body)
    run_pass(pass_settings(cfg), ports(first, T0 + HOUR))
    notifier.fail_with = None
    second = InMemoryInbox()
    for key, body in _files(range(n, 2 * n), 100).items():
        second.add(key, body)
    return lambda: run_pass(pass_settings(cfg), ports(second, T0 + 2 * HOUR))


def _lines(n: int) -> int:
    run = _second_pass(n)
    count = [0]

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            count[0] += 1
        return tracer

    # Coverage measures through the same hook: put its tracer back afterwards, or every later test goes unmeasured.
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        summary = run()
    finally:
        sys.settrace(previous)
    assert (summary.ingested, len(summary.notifications), summary.pending) == (3 * n, n, 0)
    return count[0]


def _peak_bytes(n: int) -> int:
    run = _second_pass(n)
    tracemalloc.start()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_a_whole_pass_executes_work_in_proportion_to_its_input() -> None:
    # Given the same pass over 100 and over 400 jobs (runs, files, new alerts and pending alerts all ×4)
    # When the lines each executes are counted
    small, big = _lines(100), _lines(400)
    # Then four times the input costs at most four times the work, plus a little: no step walks a growing
    # collection once per item (the outbox walked per notification made this ×16)
    assert big <= 4.3 * small


def test_a_whole_pass_holds_memory_in_proportion_to_its_input() -> None:
    # Given the same pass over 100 and over 400 jobs
    # When its peak of Python allocations is measured
    small, big = _peak_bytes(100), _peak_bytes(400)
    # Then four times the input holds at most four times the memory, plus a little
    assert big <= 4.3 * small


def _new_jobs_peak(n: int) -> tuple[int, int]:
    """A pass over an empty state whose every record names a job of its own (the most jobs one pass can be asked to
    create, as in `bench/memory.py`): what it counted, and its peak of Python allocations."""
    lines = []
    for k in range(n):
        failed = k % 5 == 0
        record: dict[str, Any] = {
            "job": f"team-{k % 97:02d}/pipeline-{k:06d}",
            "run_id": k,
            "status": "failed" if failed else "success",
            "finished_at": T0 + k,
            "url": f"https://ci.example.com/team/-/jobs/{k}",
            "commit": f"{k:010x}",
        }
        if failed:
            record["reason"] = "AssertionError: expected 200, got 503 in test_checkout_flow"
        lines.append(json.dumps(record))
    inbox = InMemoryInbox()
    inbox.add("big.jsonl", "\n".join(lines) + "\n")
    del lines
    ports = Ports(store=InMemoryStateStore(), inbox=inbox, clock=lambda: T0 + HOUR)
    tracemalloc.start()
    try:
        summary = run_pass(pass_settings(Config()), ports)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return summary.ingested, peak


def test_a_pass_creating_many_jobs_holds_a_bounded_amount_per_job_at_its_peak() -> None:
    # Given a pass over an empty state bringing 5,000 records, each of a job of its own
    # When its peak of Python allocations is measured
    ingested, peak = _new_jobs_peak(5_000)
    # Then it holds at most 1.6 KiB a job (1.3 measured): the save neither writes the whole document as plain JSON
    # to find out that it is large, nor keeps each new job's text beside the job. With both (2.0 KiB a job here),
    # a pass at the default bound of 600,000 records, each a new job, peaked at 1.25 GiB, past the Lambda's
    # 1,024 MB (docs/performance.md, "Peak memory at the inbox bounds")
    assert ingested == 5_000
    assert peak <= 1_600 * 5_000
