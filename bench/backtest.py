"""The backtest over a generated archive (part of `make bench`): does it agree with the passes, and in what memory.

An archive of `--days` days of hourly passes for `--jobs` jobs is written as the passes write theirs
(`processed/YYYY/MM/DD/<pass id>/batch.jsonl`, one file per pass), each job running about once an hour with
the usual mix of healthy, flaky and broken jobs (broken for a few days, then fixed). Then, each in a child
process whose own peak RSS (wait4's ru_maxrss) is reported:

- `direct`: the same files given to real passes, one `run_pass` per archived pass at that pass's time, on a
  local store and inbox: the notifications they raise are tallied as the backtest tallies its own;
- `backtest`: `failstreak backtest --json` over the archive with three combinations of settings;
- `backtest, a quarter of the history`: the same over the last quarter of the days, to show that memory does
  not grow with the length of the history (only time does).

The table says whether the backtest's numbers for the configured settings equal the direct tally.

    python -m bench.backtest --jobs 1000 --days 30
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.doc import write_block

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "backtest"
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench:backtest:begin (written by `make bench`; edit outside this block) -->"
END = "<!-- bench:backtest:end -->"
HOUR = 3_600_000
START = 1_793_491_200_000  # 2026-11-01T00:00:00Z
CHILD_TIMEOUT_S = 3600
SETS = ["thresholds.consecutive=2,3,4"]


def pass_id(at: int, n: int) -> str:
    moment = datetime.fromtimestamp(at / 1000, UTC)
    return f"{moment:%Y%m%dT%H%M%S}.{moment.microsecond // 1000:03d}Z-{n:08x}"


def folder(at: int, n: int) -> str:
    return f"{datetime.fromtimestamp(at / 1000, UTC):%Y/%m/%d}/{pass_id(at, n)}"


def generate(root: Path, jobs: int, days: int, seed: int = 17) -> int:
    """Write the archive under `root/processed/`; return how many records it holds."""
    rng = random.Random(seed)
    kinds = [rng.choices(("healthy", "flaky", "broken"), (0.85, 0.10, 0.05))[0] for _ in range(jobs)]
    broken_from = [rng.randrange(days * 24) for _ in range(jobs)]
    records = 0
    for hour in range(days * 24):
        at = START + (hour + 1) * HOUR
        lines = []
        for j, kind in enumerate(kinds):
            if rng.random() < 0.1:
                continue  # a job that did not run this hour
            if kind == "flaky":
                fail = 0.35
            elif kind == "broken" and broken_from[j] <= hour < broken_from[j] + 72:
                fail = 0.95
            else:
                fail = 0.02
            status = "failed" if rng.random() < fail else "success"
            finished = at - rng.randrange(1, HOUR)
            lines.append(
                f'{{"job":"team-{j % 20:02d}/job-{j:05d}","run_id":{hour},"status":"{status}",'
                f'"finished_at":{finished},"commit":"{rng.getrandbits(28):07x}"}}'
            )
        target = root / "processed" / folder(at, hour)
        target.mkdir(parents=True)
        (target / "batch.jsonl").write_text("\n".join(lines) + "\n")
        records += len(lines)
    return records


def _child(args: list[str], out_path: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join((str(ROOT / "functions"), str(ROOT)))
    env.pop("FAILSTREAK_CONFIG", None)
    started = time.monotonic()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, *args], stdout=out, env=env, cwd=ROOT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > CHILD_TIMEOUT_S:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise SystemExit(f"bench.backtest: {args} took more than {CHILD_TIMEOUT_S}s")
            time.sleep(0.05)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench.backtest: {args} failed")
    return {
        "wall_s": time.monotonic() - started,
        "peak_mib": usage.ru_maxrss / 1024,
        "doc": json.loads(out_path.read_bytes()),
    }


def direct(archive: Path, config: Path) -> dict[str, Any]:
    """Child process: one real pass per archived pass, over a copy of its files, at its time; the tally."""
    from failstreak.app import backtest
    from failstreak.app.config import load_config
    from failstreak.app.wiring import pass_settings
    from failstreak.inbox.local import LocalInbox
    from failstreak.pipeline.run import Ports, run_pass
    from failstreak.state.local import LocalStateStore

    cfg = load_config(str(config))
    settings = pass_settings(cfg)
    assert cfg.inbox is not None
    inbox = Path(cfg.inbox)
    tally = backtest.Tally({})
    passes = 0
    for p in backtest.LocalArchive(archive).passes():
        for key in p.keys:
            shutil.copyfile(archive / key, inbox / key.rsplit("/", 1)[-1])
        ports = Ports(store=LocalStateStore(cfg.state), inbox=LocalInbox(inbox), clock=lambda at=p.at: at)
        tally.count(run_pass(settings, ports, pass_id=p.folder.rsplit("/", 1)[-1]).notifications)
        passes += 1
    return {"passes": passes, "result": tally.to_dict()}


def measure(jobs: int, days: int) -> dict[str, Any]:
    if OUT.exists():
        shutil.rmtree(OUT)
    source = OUT / "archive"
    records = generate(source, jobs, days)
    work = OUT / "direct"
    (work / "inbox").mkdir(parents=True)
    config = work / "config.yaml"
    config.write_text(f"state: {work / 'state.json'}\ninbox: {work / 'inbox'}\nnotify: {{console: false}}\n")
    archive = source / "processed"
    rows: dict[str, Any] = {"records": records, "jobs": jobs, "days": days}
    rows["direct"] = _child(["-m", "bench.backtest", "--direct", str(archive), str(config)], OUT / "direct.json")
    base = ["-m", "failstreak.app.cli", "backtest", "--json", "--config", str(config), "--archive", str(archive)]
    sets = [arg for s in SETS for arg in ("--set", s)]
    rows["backtest"] = _child([*base, *sets], OUT / "backtest.json")
    quarter = days / 4
    since = (START + days * 24 * HOUR + HOUR) - quarter * 24 * HOUR
    now_days = (time.time() * 1000 - since) / (24 * HOUR)
    rows["quarter"] = _child([*base, *sets, "--since", f"{now_days:.6f}"], OUT / "quarter.json")
    return rows


def agrees(rows: dict[str, Any]) -> bool:
    """Whether the backtest's tally for the configured consecutive threshold (3) is the direct one."""
    direct_result = rows["direct"]["doc"]["result"]
    for result in rows["backtest"]["doc"]["results"]:
        if result["settings"] == {"thresholds.consecutive": 3}:
            return {k: v for k, v in result.items() if k != "settings"} == {
                k: v for k, v in direct_result.items() if k != "settings"
            }
    return False


def report(rows: dict[str, Any]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"Measured {when} by `python -m bench.backtest --jobs {rows['jobs']} --days {rows['days']}`: "
        f"{rows['records']:,} records in {rows['days'] * 24} hourly passes. The backtest tries "
        f"{' '.join(SETS)}; peak RSS is each child's own (ru_maxrss).",
        "",
        "| run | passes | combinations | wall | peak RSS |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, key in (
        ("direct (run_pass per pass)", "direct"),
        ("backtest", "backtest"),
        ("backtest, last quarter", "quarter"),
    ):
        r = rows[key]
        doc = r["doc"]
        combos = len(doc["results"]) if "results" in doc else 1
        lines.append(f"| {name} | {doc['passes']:,} | {combos} | {r['wall_s']:.1f} s | {r['peak_mib']:.0f} MiB |")
    lines.append("")
    lines.append(
        "The backtest's numbers for `thresholds.consecutive=3` (the configured value) "
        + ("equal" if agrees(rows) else "**differ from**")
        + f" the direct passes': {json.dumps(rows['direct']['doc']['result'])}."
    )
    return "\n".join(lines)


def write_doc(text: str) -> None:
    write_block(DOC, BEGIN, END, text, "The backtest over a month of history")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--no-doc", action="store_true", help="print the table only; leave docs/performance.md alone")
    p.add_argument("--direct", nargs=2, metavar=("ARCHIVE", "CONFIG"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.direct:
        print(json.dumps(direct(Path(args.direct[0]), Path(args.direct[1]))))
        return 0
    rows = measure(args.jobs, args.days)
    text = report(rows)
    print(text)
    if not args.no_doc:
        write_doc(text)
    shutil.rmtree(OUT, ignore_errors=True)
    return 0 if agrees(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
