"""The command line (SPEC 6): `failstreak run`, `status`, `demo`, `import`, `mute`, `unmute`, `report`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from failstreak import __version__
from failstreak.config import Config, load_config
from failstreak.errors import ConfigError, FailstreakError
from failstreak.model import JobState, Mute, State, iso, now_ms
from failstreak.statecodec import decode, encode

EXIT_FAILED = 1


def _fail(message: str) -> int:
    print(f"failstreak: {message}", file=sys.stderr)
    return EXIT_FAILED


def _job_row(job: JobState) -> dict[str, Any]:
    return {
        "consecutive_failures": job.consecutive_failures,
        "window_failures": job.window_failures,
        "window_size": job.window_size,
        "total_runs": job.total_runs,
        "total_failures": job.total_failures,
        "alerting": job.alert is not None,
        "alerting_since": iso(job.alert.triggered_at) if job.alert else None,
        "reasons": list(job.alert.reasons) if job.alert else [],
        "first_seen": iso(job.first_seen),
        "last_seen": iso(job.last_seen),
        "last_success": iso(job.last_success),
        "last_failure": iso(job.last_failure),
        "owner": job.owner,
    }


def status_table(cfg: Config, state: State, now: int) -> str:
    """Jobs as a text table: alerting first, then longest streak, then name."""
    from failstreak.monitor import all_mutes  # noqa: PLC0415
    from failstreak.rules import mute_covering  # noqa: PLC0415

    mutes = all_mutes(cfg, state, now)
    ordered = sorted(state.jobs.values(), key=lambda j: (j.alert is None, -j.consecutive_failures, j.name))
    width = max([len("JOB"), *(len(j.name) for j in ordered)])
    width = min(width, 60)
    lines = [f"{'JOB':<{width}}  STREAK  WINDOW  TOTAL (FAILED)  STATE"]
    for j in ordered:
        policy = cfg.policy_for(j.name)
        label = f"ALERTING ({', '.join(j.alert.reasons)})" if j.alert else "ok"
        mute = mute_covering(j, mutes, now)
        if mute is not None:
            label += f", muted{': ' + mute.reason if mute.reason else ''}"
        if policy.window != cfg.thresholds.window:
            label += f"  [window {policy.window}]"
        window = f"{j.window_failures}/{j.window_size}"
        name = j.name if len(j.name) <= width else j.name[: width - 1] + "…"
        lines.append(
            f"{name:<{width}}  {j.consecutive_failures:>6}  {window:>6}  "
            f"{j.total_runs:>5} ({j.total_failures:>5})  {label}"
        )
    alerting = sum(1 for j in ordered if j.alert)
    lines.append(f"{len(ordered)} jobs, {alerting} alerting")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from failstreak import wiring  # noqa: PLC0415
    from failstreak.monitor import run_pass  # noqa: PLC0415

    cfg = load_config(args.config)
    console = sys.stderr if args.json else sys.stdout
    summary = run_pass(cfg, wiring.ports(cfg, console=console))
    if args.json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
    else:
        print(_summary_text(summary.to_dict()))
    return 0


def _summary_text(s: dict[str, Any]) -> str:
    events: dict[str, int] = {}
    for n in s["notifications"]:
        key = n["event"] + (" (muted)" if n["suppressed"] else "")
        events[key] = events.get(key, 0) + 1
    parts = [
        f"{s['files']} files",
        f"{s['ingested']} runs ingested",
        f"{s['duplicates']} duplicates",
        f"{s['rejected']} rejected",
        f"{s['jobs']} jobs, {s['alerting']} alerting",
    ]
    if events:
        parts.append(", ".join(f"{v} {k}" for k, v in sorted(events.items())))
    lines = ["pass " + s["pass_id"] + ": " + "; ".join(parts)]
    if s["backlog"]:
        bounds = "inbox_max_files / inbox_max_mib / inbox_max_records"
        lines.append(f"  {s['backlog']} inbox files left for the next pass ({bounds})")
    lines.extend(f"  rejected {r['file']}:{r['line'] or '-'}: {r['reason']}" for r in s["rejects"][:10])
    lines.extend(f"  retired {name}" for name in s["retired"][:10])
    lines.extend(
        f"  delivery to {f['destination']} failed ({'will retry' if f['retrying'] else 'gave up'}): {f['error']}"
        for f in s["delivery_failures"]
    )
    for name, src in s["sources"].items():
        if not src["ok"]:
            lines.append(f"  source {name} failed: {src['error']}")
    return "\n".join(lines)


def _load_state(cfg: Config) -> Any:
    from failstreak import wiring  # noqa: PLC0415

    store = wiring.state_store(cfg.state)
    loaded = store.load()
    return store, loaded, decode(loaded.data, store.location)


def cmd_status(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    _, _, state = _load_state(cfg)
    if args.json:
        doc = {
            "jobs": {name: _job_row(j) for name, j in sorted(state.jobs.items())},
            "pending_notifications": len(state.outbox),
            "updated_at": iso(state.updated_at),
        }
        print(json.dumps(doc, ensure_ascii=False))
    else:
        print(status_table(cfg, state, now_ms()))
    return 0


def _parse_when(text: str) -> int:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--until: {text!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _update_state(cfg: Config, change: Any) -> Any:
    """Apply `change(state)` with a conditional write, retrying on conflict."""
    from failstreak.errors import ConflictError  # noqa: PLC0415

    store, loaded, state = _load_state(cfg)
    for _ in range(cfg.save_attempts):
        result = change(state)
        try:
            store.save(encode(state), loaded.token)
            return result
        except ConflictError:
            loaded = store.load()
            state = decode(loaded.data, store.location)
    raise FailstreakError(f"{store.location}: state kept changing; mute not saved")


def cmd_mute(args: argparse.Namespace) -> int:
    from failstreak.rules import mute_id  # noqa: PLC0415

    cfg = load_config(args.config)
    now = now_ms()
    until = _parse_when(args.until) if args.until else None
    if args.hours is not None:
        until = now + int(timedelta(hours=args.hours).total_seconds() * 1000)
    if until is None and args.runs is None and not args.until_success:
        return _fail("mute: give --until, --hours, --runs or --until-success")
    mute = Mute(
        id=mute_id(args.pattern, until, args.runs, args.until_success, now),
        match=args.pattern,
        created_at=now,
        until=until,
        runs=args.runs,
        until_success=args.until_success,
        reason=args.reason,
    )
    _update_state(cfg, lambda state: state.mutes.append(mute))
    print(f"muted {args.pattern} (id {mute.id})")
    return 0


def cmd_unmute(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)

    def change(state: Any) -> int:
        before = len(state.mutes)
        state.mutes = [m for m in state.mutes if args.what not in (m.id, m.match)]
        return int(before - len(state.mutes))

    removed = _update_state(cfg, change)
    if not removed:
        return _fail(f"unmute: no mute with id or pattern {args.what!r}")
    print(f"removed {removed} mute(s)")
    return 0


def cmd_mutes(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    _, _, state = _load_state(cfg)
    for m in state.mutes:
        ends = [f"until {iso(m.until)}" if m.until else "", f"for {m.runs} runs" if m.runs else ""]
        ends.append("until next success" if m.until_success else "")
        print(f"{m.id}  {m.match}  {' '.join(e for e in ends if e)}  {m.reason or ''}".rstrip())
    for cm in cfg.mutes:
        print(f"(config)  {cm.match}  {cm.reason or ''}".rstrip())
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from failstreak.importer import import_reference  # noqa: PLC0415

    cfg = load_config(args.config)
    text = Path(args.path).read_text(encoding="utf-8")
    imported = _update_state(cfg, lambda state: import_reference(state, text, args.path, cfg, now_ms()))
    print(
        f"imported {imported.jobs} jobs ({imported.alerting} already alerting, imported without notifying) "
        f"into {cfg.state}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from failstreak.demo import run_demo  # noqa: PLC0415

    return run_demo(Path(args.dir), passes=args.passes)


def cmd_report(args: argparse.Namespace) -> int:
    from failstreak.config import process_environment  # noqa: PLC0415
    from failstreak.report import build_record, write_record  # noqa: PLC0415

    inbox = args.inbox or load_config(args.config).inbox
    if not inbox:
        return _fail("report: no inbox: give --inbox, or a config that names one")
    record = build_record(
        args.job,
        args.status,
        run_id=args.run_id,
        finished_at=args.finished_at,
        url=args.url,
        commit=args.commit,
        reason=args.reason,
        attempt=args.attempt,
        owner=args.owner,
        source=args.source,
        env=process_environment(),
    )
    print(write_record(inbox, record))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="failstreak", description="Find the jobs that keep failing.")
    parser.add_argument("--version", action="version", version=f"failstreak {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help="config file: a local path or s3:// URI (default: $FAILSTREAK_CONFIG)")

    p = sub.add_parser("run", help="one monitor pass: ingest → count → alert → notify → save")
    with_config(p)
    p.add_argument("--json", action="store_true", help="print the pass summary as one JSON object")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="the jobs and their counters")
    with_config(p)
    p.add_argument("--json", action="store_true", help="print {'jobs': {...}} as JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("demo", help="write a realistic sample inbox and run passes over it")
    p.add_argument("--dir", default="demo", help="where to put the demo's config, inbox and state")
    p.add_argument("--passes", type=int, default=4, help="how many days (one pass each) to simulate")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("import", help="import the reference script's job_executions(.v2).json")
    with_config(p)
    p.add_argument("--from", dest="origin", choices=["datadog"], required=True)
    p.add_argument("path")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("mute", help="mute jobs matching a glob: counted, but notifications suppressed")
    with_config(p)
    p.add_argument("pattern", help="job name glob, e.g. 'nightly-*'")
    p.add_argument("--until", help="ISO 8601 time the mute ends")
    p.add_argument("--hours", type=float, help="mute for this many hours")
    p.add_argument("--runs", type=int, help="mute for the next N counted runs of each job")
    p.add_argument("--until-success", action="store_true", help="mute until the job's next success")
    p.add_argument("--reason", help="why (shown in status and in the summary)")
    p.set_defaults(func=cmd_mute)

    p = sub.add_parser("unmute", help="remove a mute by id or pattern")
    with_config(p)
    p.add_argument("what")
    p.set_defaults(func=cmd_unmute)

    p = sub.add_parser("mutes", help="list mutes")
    with_config(p)
    p.set_defaults(func=cmd_mutes)

    p = sub.add_parser("report", help="write one execution record (a CI job's result) into the inbox")
    with_config(p)
    p.add_argument("--inbox", help="s3://bucket/failstreak/inbox/ or a local directory (default: the config's inbox)")
    p.add_argument("--job", required=True, help="the job's stable name")
    p.add_argument("--status", required=True, help="success, failed, timed_out, canceled… or a platform's spelling")
    p.add_argument("--run-id", help="unique within the job (default: the CI system's run or job id)")
    p.add_argument("--finished-at", help="RFC 3339 time (default: now)")
    p.add_argument("--attempt", type=int, help="retry number; the highest attempt of a run counts")
    p.add_argument("--url", help="link to the run (default: from the CI system)")
    p.add_argument("--commit", help="commit the run built (default: from the CI system)")
    p.add_argument("--reason", help="failure message or category, shown in alerts")
    p.add_argument("--owner", help="owning team, if not routed by JOBOWNERS")
    p.add_argument("--source", help="what produced the record (default: the CI system's name)")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except FailstreakError as e:
        return _fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    except OSError as e:
        return _fail(f"{getattr(e, 'filename', '') or ''}: {e.strerror or e}".lstrip(": "))
    except KeyboardInterrupt:
        return _fail("interrupted")
    return code


if __name__ == "__main__":
    sys.exit(main())
