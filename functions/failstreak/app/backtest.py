"""`failstreak backtest` (docs/triage.md): replay the archive through the engine and the rules with other settings.

The archive is the `processed/` tree the passes leave: every inbox file a pass read, and what the sources pulled
(the pass writes it there as JSON Lines), under `processed/YYYY/MM/DD/<pass id>/`. Pass ids start with the
pass's UTC time, so the keys, sorted, are the passes in order. The replay reads them pass by pass, a stream
(one pass's records in memory at a time), and gives each pass's records to `advance`, the very stage a real
pass runs, once per combination of the settings asked, each on a state of its own that starts empty. It never
writes a state and never sends: no router, no notifier.

Per combination it reports `incidents` (triggered), `notifications` (every event), `median_detect_runs` (the
failed runs behind each triggered), `median_detect_hours` (from the first of them to the pass that triggered)
and `flaps` (incidents of a job opened again within a day of its previous one's resolution).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import re
import statistics
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import yaml

from failstreak.app.config import Config, config_from, load_config
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Event, Notification, State, now_ms
from failstreak.errors import ConfigError, FailstreakError
from failstreak.inbox.base import MIB
from failstreak.inbox.intake import read_file
from failstreak.inbox.records import latest_time
from failstreak.pipeline.advance import advance
from failstreak.pipeline.collect import Collected
from failstreak.pipeline.context import PassContext, PassSettings, Ports
from failstreak.pipeline.summary import Summary
from failstreak.state.base import Loaded, StateStore

PROCESSED = "processed"
DAY_MS = 86_400_000
FLAP_MS = DAY_MS
_PASS_TIME = re.compile(r"^(\d{8}T\d{6})\.(\d{3})Z")
_DAY = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/")


@dataclass(frozen=True, slots=True)
class ArchivedPass:
    """One pass of the archive: its folder (`YYYY/MM/DD/<pass id>`), its time, and the keys of its files."""

    folder: str
    at: int
    keys: list[str]


def pass_time(folder: str) -> int | None:
    """The time of a pass from its folder `YYYY/MM/DD/<pass id>` (ids start `20261204T183005.123Z`); else its
    day at 00:00 UTC (an id a caller chose); None when the folder is not a pass's."""
    day = _DAY.match(folder)
    if day is None:
        return None
    pass_id = folder[day.end() :]
    m = _PASS_TIME.match(pass_id)
    if m:
        at = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return int(at.timestamp() * 1000) + int(m.group(2))
    try:
        start = datetime(int(day.group(1)), int(day.group(2)), int(day.group(3)), tzinfo=UTC)
    except ValueError:
        return None
    return int(start.timestamp() * 1000)


class Archive(ABC):
    """Where the passes archived what they read: its keys (relative to `processed/`) in sorted order, each opened
    as a stream."""

    location: str

    @abstractmethod
    def keys(self) -> Iterator[str]: ...

    @abstractmethod
    def open(self, key: str) -> BinaryIO: ...

    def passes(self, since: int | None = None) -> Iterator[ArchivedPass]:
        """The archived passes, oldest first, each with its keys; those before `since` are skipped."""
        for folder, keys in itertools.groupby(self.keys(), key=_folder):
            at = pass_time(folder) if folder else None
            if at is None or (since is not None and at < since):
                for _ in keys:
                    pass
                continue
            yield ArchivedPass(folder, at, list(keys))


def _folder(key: str) -> str:
    parts = key.split("/", 4)
    return "/".join(parts[:4]) if len(parts) == 5 else ""


class LocalArchive(Archive):
    """A local `processed/` folder, walked in sorted order one directory at a time."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def keys(self) -> Iterator[str]:
        if not self.root.is_dir():
            raise ConfigError(f"{self.location}: no archive there (a processed/ folder the passes write)")
        yield from self._walk(self.root)

    def _walk(self, folder: Path) -> Iterator[str]:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                yield Path(entry.path).relative_to(self.root).as_posix()

    def open(self, key: str) -> BinaryIO:
        return (self.root / key).open("rb")


class S3Archive(Archive):
    """A `processed/` prefix in S3, listed a page at a time (S3 lists keys in sorted order)."""

    def __init__(self, uri: str) -> None:
        from failstreak.s3client import parse_uri  # noqa: PLC0415 - only S3 users pay for boto3

        bucket, prefix = parse_uri(uri)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.bucket = bucket
        self.prefix = prefix
        self.location = f"s3://{bucket}/{prefix}"

    def keys(self) -> Iterator[str]:
        from failstreak.s3client import client, unavailable, vendor_errors  # noqa: PLC0415

        try:
            pages = client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for obj in page.get("Contents", ()):
                    if not obj["Key"].endswith("/"):
                        yield obj["Key"][len(self.prefix) :]
        except vendor_errors() as e:
            raise unavailable(self.location, "list the archive", e) from None

    def open(self, key: str) -> BinaryIO:
        from failstreak.s3client import client, unavailable, vendor_errors  # noqa: PLC0415

        try:
            body = cast(BinaryIO, client().get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"])
        except vendor_errors() as e:
            raise unavailable(self.location + key, "read", e) from None
        return body


def archive_for(cfg: Config, given: str | None) -> Archive:
    """The archive named by `--archive`, else the `processed/` beside the config's inbox."""
    location = given
    if location is None:
        if not cfg.inbox:
            raise ConfigError("no --archive given and the config has no inbox whose processed/ to read")
        location = _processed_of(cfg.inbox)
    if location.startswith("s3://"):
        return S3Archive(location)
    root = Path(location)
    if (root / PROCESSED).is_dir():
        root = root / PROCESSED
    return LocalArchive(root)


def _processed_of(inbox: str) -> str:
    if inbox.startswith("s3://"):
        parent = inbox.rstrip("/").rsplit("/", 1)[0]
        return f"{parent}/{PROCESSED}/" if parent != "s3:/" else f"{inbox.rstrip('/')}/{PROCESSED}/"
    return str(Path(inbox) / PROCESSED)


# ------------------------------------------------------------------------------------------------- settings


def parse_sets(items: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """`--set KEY=V1,V2` items as (dotted key, values); each value read as YAML (`3` is a number)."""
    out = []
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ConfigError(f"--set {item!r}: write KEY=V1,V2 (a dotted config path, as thresholds.consecutive=2,3)")
        out.append((key.strip(), [yaml.safe_load(v) for v in values.split(",")]))
    return out


def _put(doc: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    here: Any = doc
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(here, list):
            if not part.isdigit() or int(part) >= len(here):
                raise ConfigError(f"--set {key}: {part!r} is not an index of that list (0 to {len(here) - 1})")
            if last:
                here[int(part)] = value
            else:
                here = here[int(part)]
        elif isinstance(here, dict):
            if last:
                here[part] = value
            else:
                here = here.setdefault(part, {})
        else:
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i])} is not a mapping")


def variants(cfg: Config, sets: Sequence[tuple[str, list[Any]]]) -> list[tuple[dict[str, Any], Config]]:
    """The config once per combination of the values given (one combination, the config itself, without)."""
    base = cfg.written()
    out = []
    for combo in itertools.product(*(values for _, values in sets)):
        settings = {key: value for (key, _), value in zip(sets, combo, strict=True)}
        doc = copy.deepcopy(base)
        for key, value in settings.items():
            _put(doc, key, value)
        try:
            variant = config_from(doc, source=f"--set {_settings_text(settings)}")
        except ConfigError as e:
            raise ConfigError("; ".join(str(e).splitlines())) from None
        out.append((settings, variant))
    return out


# --------------------------------------------------------------------------------------------------- replay


@dataclass
class Tally:
    """What one combination of settings did over the replay."""

    settings: dict[str, Any]
    incidents: int = 0
    notifications: int = 0
    detect_runs: list[int] = field(default_factory=list)
    detect_hours: list[float] = field(default_factory=list)
    flaps: int = 0
    resolved_at: dict[str, int] = field(default_factory=dict)

    def count(self, notes: Sequence[Notification]) -> None:
        for n in notes:
            self.notifications += 1
            key = n.job
            if n.event is Event.TRIGGERED:
                self.incidents += 1
                self.detect_runs.append(n.failed_runs)
                if n.since is not None:
                    self.detect_hours.append(max(n.created_at - n.since, 0) / 3_600_000)
                last = self.resolved_at.get(key)
                if last is not None and n.created_at - last <= FLAP_MS:
                    self.flaps += 1
            elif n.event is Event.RESOLVED:
                self.resolved_at[key] = n.created_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "incidents": self.incidents,
            "notifications": self.notifications,
            "median_detect_runs": statistics.median(self.detect_runs) if self.detect_runs else None,
            "median_detect_hours": round(statistics.median(self.detect_hours), 2) if self.detect_hours else None,
            "flaps": self.flaps,
        }


@dataclass
class Replay:
    """The whole backtest: what was read, and one tally per combination of settings."""

    archive: str
    passes: int = 0
    files: int = 0
    records: int = 0
    unreadable: list[str] = field(default_factory=list)
    tallies: list[Tally] = field(default_factory=list)


def _read_pass(archive: Archive, p: ArchivedPass, cfg: Config, details: frozenset[Any], replay: Replay) -> list[Any]:
    executions = []
    latest = latest_time(p.at, cfg.max_clock_skew_ms)
    for key in p.keys:
        try:
            with archive.open(key) as stream:
                read = read_file(
                    key, stream, cap=int(cfg.inbox_file_max_mib * MIB), room=0, details=details, latest=latest
                )
        except Exception as e:  # an archived file that cannot be read again is reported, never fatal
            replay.unreadable.append(f"{key}: {type(e).__name__}: {e}"[:300])
            continue
        replay.files += 1
        executions.extend(read.executions)
    replay.records += len(executions)
    return executions


class _NoState(StateStore):
    """The backtest's store: no state to start from, and none ever written."""

    location = "(backtest: no state)"

    def load(self) -> Loaded:
        return Loaded(None, None)

    def save(self, data: bytes, token: str | None) -> str:
        raise FailstreakError("the backtest never writes a state")


def replay(archive: Archive, combos: Sequence[tuple[dict[str, Any], Config]], since: int | None = None) -> Replay:
    """Replay every archived pass (from `since`) through `advance`, once per combination, each on a state of its
    own; only one pass's records are held at a time. No router: nothing is queued, nothing is sent."""
    out = Replay(archive=archive.location)
    states = [State() for _ in combos]
    out.tallies = [Tally(settings) for settings, _ in combos]
    settings: list[PassSettings] = [pass_settings(cfg) for _, cfg in combos]
    ports = Ports(store=_NoState())
    details = frozenset().union(*(cfg.failure_statuses() for _, cfg in combos))
    first = combos[0][1]
    for p in archive.passes(since):
        executions = _read_pass(archive, p, first, details, out)
        out.passes += 1
        pass_id = p.folder.rsplit("/", 1)[-1]
        for plain, state, tally in zip(settings, states, out.tallies, strict=True):
            got = Collected(executions=list(executions))
            got.executions, _ = plain.intake.job_rules.apply(got.executions)
            ctx = PassContext(pass_id, p.at, plain, ports, Summary(pass_id=pass_id, started_at=p.at), got=got)
            advance(ctx, state)
            tally.count(ctx.summary.notifications)
    return out


def suggest(tallies: Sequence[Tally], max_detect_runs: float) -> Tally | None:
    """The combination with the fewest flaps (then the fewest notifications) among those that detect within
    `max_detect_runs` failed runs (median); None if none does."""
    fit = [t for t in tallies if t.detect_runs and statistics.median(t.detect_runs) <= max_detect_runs]
    return min(fit, key=lambda t: (t.flaps, t.notifications), default=None)


# ---------------------------------------------------------------------------------------------- the command


def _settings_text(settings: dict[str, Any]) -> str:
    return " ".join(f"{k}={json.dumps(v)}" for k, v in settings.items()) or "(as configured)"


def table(result: Replay) -> str:
    """The tallies as a text table, one line per combination."""
    rows = [t.to_dict() for t in result.tallies]
    names = [_settings_text(r["settings"]) for r in rows]
    width = min(max([len("SETTINGS"), *(len(n) for n in names)]), 70)
    lines = [f"{'SETTINGS':<{width}}  INCIDENTS  NOTIFICATIONS  DETECT RUNS  DETECT HOURS  FLAPS"]
    for name, r in zip(names, rows, strict=True):
        runs = "-" if r["median_detect_runs"] is None else f"{r['median_detect_runs']:g}"
        hours = "-" if r["median_detect_hours"] is None else f"{r['median_detect_hours']:g}"
        lines.append(
            f"{name[:width]:<{width}}  {r['incidents']:>9}  {r['notifications']:>13}  {runs:>11}  {hours:>12}  "
            f"{r['flaps']:>5}"
        )
    lines.append(f"{result.passes} passes, {result.files} files, {result.records} records from {result.archive}")
    return "\n".join(lines)


def command(args: argparse.Namespace, clock: Any = now_ms) -> int:
    """Run the backtest the arguments describe and print its result; 0 when it completed."""
    try:
        cfg = load_config(getattr(args, "config", None))
        combos = variants(cfg, parse_sets(args.sets))
        archive = archive_for(cfg, args.archive)
        since = int(clock() - args.since * DAY_MS) if args.since is not None else None
        result = replay(archive, combos, since)
    except FailstreakError as e:
        print(f"failstreak: {e}", file=sys.stderr)
        return 1
    best = suggest(result.tallies, args.max_detect_runs) if args.suggest else None
    if args.json:
        doc: dict[str, Any] = {
            "archive": result.archive,
            "passes": result.passes,
            "files": result.files,
            "records": result.records,
            "unreadable": result.unreadable,
            "results": [t.to_dict() for t in result.tallies],
        }
        if args.suggest:
            doc["suggestion"] = best.settings if best else None
        print(json.dumps(doc, ensure_ascii=False))
        return 0
    print(table(result))
    for line in result.unreadable:
        print(f"failstreak: warning: not replayed: {line}", file=sys.stderr)
    if args.suggest:
        if best is None:
            print(f"no combination detects within {args.max_detect_runs:g} failed runs (median)")
        else:
            print(f"suggested: {_settings_text(best.settings)} ({best.flaps} flaps)")
    return 0
