"""Helpers for running whole passes over S3: a deterministic workload, a recording notifier, snapshots."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from failstreak.app.config import Config, parse_config
from failstreak.app.routing import Router
from failstreak.core.outbox import Delivery, DeliveryResult
from failstreak.inbox.s3 import S3Inbox
from failstreak.notifiers.base import Notifier
from failstreak.pipeline.run import Ports
from failstreak.state.codec import decode
from failstreak.state.mutes import mutes_store
from failstreak.state.s3 import S3StateStore
from tests.integration.s3.backends import S3

T0 = 1_790_000_000_000  # 2026-09-21


class Recorder(Notifier):
    """A console-kind notifier that records what it was asked to send and delivers it."""

    kind = "console"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, target: str, deliveries: list[Delivery]) -> list[DeliveryResult]:
        self.sent.extend((d.notification.job, d.notification.event.value) for d in deliveries)
        return [DeliveryResult(d.outbox_id) for d in deliveries]


@dataclass
class Clock:
    now: int = T0 + 86_400_000

    def __call__(self) -> int:
        return self.now


def config(s3: S3, *, extra: str = "") -> Config:
    # history: every run stays remembered, so late or concurrent arrivals are never "stale" (docs/configuration.md).
    return parse_config(
        f"state: {s3.uri('fs/state.json')}\ninbox: {s3.uri('fs/inbox/')}\nhistory: 1000\n{extra}",
        source="test-config",
    )


def ports(cfg: Config, notifier: Notifier, clock: Callable[[], int]) -> Ports:
    return Ports(
        store=S3StateStore.from_uri(cfg.state),
        mutes=mutes_store(cfg.state, clock),
        inbox=S3Inbox.from_uri(cfg.inbox or ""),
        notifiers={"console": notifier},
        router=Router(cfg),
        clock=clock,
    )


@dataclass
class Workload:
    """`files` JSON Lines objects of `per_file` runs each, over `jobs` jobs; some jobs fail in streaks."""

    files: int
    per_file: int = 4
    jobs: int = 12
    seed: int = 7
    objects: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        run = 0
        for f in range(self.files):
            lines = []
            for _ in range(self.per_file):
                run += 1
                job = rng.randrange(self.jobs)
                # Jobs 0-3 mostly fail (they alert), the others mostly succeed.
                failing = rng.random() < (0.85 if job < 4 else 0.1)
                record = {
                    "job": f"pipeline-{job:02d}",
                    "run_id": run,
                    "status": "failed" if failing else "success",
                    "finished_at": T0 + run * 60_000,
                    "reason": "exit 1" if failing else None,
                }
                lines.append(json.dumps(record))
            self.objects[f"fs/inbox/batch-{f:04d}.jsonl"] = ("\n".join(lines) + "\n").encode()

    def upload(self, s3: S3) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda kv: s3.put(*kv), self.objects.items()))


def counters(s3: S3) -> dict[str, dict[str, Any]]:
    """Every job's counters and remembered runs, without the pass-dependent times."""
    state = decode(s3.get("fs/state.json"))
    return {
        name: {
            "consecutive_failures": j.consecutive_failures,
            "window_failures": j.window_failures,
            "window_size": j.window_size,
            "total_runs": j.total_runs,
            "total_failures": j.total_failures,
            "alerting": j.alert is not None,
            "last_success": j.last_success,
            "last_failure": j.last_failure,
            "runs": [(r.run_id, r.attempt, r.status.value) for r in j.runs],
        }
        for name, j in state.jobs.items()
    }


def pending_outbox(s3: S3) -> int:
    return len(decode(s3.get("fs/state.json")).outbox)


def archived(s3: S3) -> list[str]:
    """The archived objects' names, each once (the `YYYY/MM/DD/<pass id>/` folders dropped: a pass that died
    between copying an object and deleting it leaves a copy under its own id beside the next pass's)."""
    return sorted({k.rsplit("/", 1)[1] for k in s3.keys("fs/processed/")})


def moved(s3: S3, where: str, name: str) -> str:
    """The one key a pass moved (or wrote) as `name` under `fs/<where>/YYYY/MM/DD/<pass id>/`."""
    prefix = f"fs/{where}/"
    [key] = [k for k in s3.keys(prefix) if k[len(prefix) :].split("/", 4)[4:] == [name]]
    return key


def in_pass_folders(keys: list[str], prefix: str) -> list[str]:
    """`keys` under `prefix` with their `YYYY/MM/DD/<pass id>/` folder dropped, each once."""
    out = set()
    for key in keys:
        rest = key[len(prefix) :].split("/", 4)
        assert len(rest) == 5, f"{key}: not under {prefix}YYYY/MM/DD/<pass id>/"
        out.add(prefix + rest[4])
    return sorted(out)
