"""The command line (docs/cli.md): `run`, `status`, `html`, `check`, `demo`, `import`, `mute`, `unmute`, `mutes`,
`report`, `backtest`, `schema`, `completion`. Problems of a pass go to stderr, data to stdout."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from failstreak import __version__, lightreport
from failstreak.app.config import Config, MuteConfig, load_config
from failstreak.app.problems import Problem
from failstreak.app.terminal import label, make_safe
from failstreak.app.text import for_terminal
from failstreak.core.model import DeadLetter, Mute, State, iso, now_ms
from failstreak.core.mutes import active_acks, live
from failstreak.errors import ConfigError, FailstreakError
from failstreak.state.codec import decode_document

EXIT_FAILED = 1


def _fail(message: str) -> int:
    print(f"failstreak: {message}", file=sys.stderr)
    return EXIT_FAILED


def warn(problem: Problem) -> None:
    """One problem of a pass on stderr: `failstreak: warning: ...` or `failstreak: error: ...`."""
    print(f"failstreak: {label(problem.level_name)} {for_terminal(problem.message)}", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from failstreak.app import problems, wiring  # noqa: PLC0415
    from failstreak.app.preflight import inbox_warnings  # noqa: PLC0415
    from failstreak.pipeline.run import run_pass  # noqa: PLC0415
    from failstreak.pipeline.summary import summary_text  # noqa: PLC0415

    cfg = load_config(args.config)
    for message in inbox_warnings(cfg):
        warn(Problem(problems.WARNING, message))
    console = sys.stderr if args.json else sys.stdout
    summary = run_pass(wiring.pass_settings(cfg), wiring.ports(cfg, console=console))
    for problem in problems.of_summary(summary):
        warn(problem)
    if args.json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
    else:
        print(summary_text(summary.to_dict(), details=False))
    return 0


def _load_state(cfg: Config, *, must_exist: bool = True) -> Any:
    """The store, its loaded document and the state, whose jobs are decoded as they are read (`status JOB` decodes
    one slice of jobs: docs/state.md). `must_exist`: a state that does not exist yet is an error naming where it
    was looked for, so a command run with the wrong config says so instead of showing (or muting in) an empty
    state nobody reads."""
    from failstreak.app import wiring  # noqa: PLC0415

    store = wiring.state_store(cfg.state)
    loaded = store.load()
    if loaded.data is None and must_exist:
        raise ConfigError(
            f"no state at {store.location} (config: {cfg.source}); no pass has saved one there. "
            "Check --config or $FAILSTREAK_CONFIG, run a pass first, or give --create to start a new state"
        )
    return store, loaded, decode_document(loaded.data, store.location)[0]


def _pending_row(e: Any) -> dict[str, Any]:
    return {
        # A daily digest is about no job (docs/digest.md).
        "job": e.notification.job or None,
        "event": e.notification.event.value,
        "destination": e.destination,
        "attempts": e.attempts,
        "last_error": e.last_error,
    }


def _dead_row(d: DeadLetter) -> dict[str, Any]:
    return {
        "job": d.job or None,
        "event": d.event,
        "destination": d.destination,
        "error": d.error,
        "attempts": d.attempts,
        "at": iso(d.at),
    }


def cmd_backtest(args: argparse.Namespace) -> int:
    from failstreak.app.backtest import command  # noqa: PLC0415

    return command(args)


def cmd_status(args: argparse.Namespace) -> int:
    from failstreak.app.status import Selection, Status, job_detail, status_table, write_json  # noqa: PLC0415
    from failstreak.gcpause import gc_paused  # noqa: PLC0415

    cfg = load_config(args.config)
    store, _, state = _load_state(cfg)
    now = now_ms()
    one = state.jobs.get(args.job) if args.job else None
    if one is not None:
        if args.json:
            print(json.dumps({"state": store.location, "job": one.name, **Status(cfg, state, now).row(one)}))
        else:
            print(job_detail(cfg, state, one, now))
        return 0
    selection = Selection(
        pattern=args.job,
        alerting=args.alerting,
        teams=tuple(t.lstrip("@") for t in args.team),
        health=tuple(args.health),
    )
    pending = [_pending_row(e) for e in state.outbox]
    dead = [_dead_row(d) for d in state.dead_letters]
    if args.json:
        view = Status(cfg, state, now)
        tail = {
            "pending_notifications": len(state.outbox),
            "pending": pending,
            "dead_letters": dead,
            "updated_at": iso(state.updated_at),
        }
        # Bytes straight to stdout's buffer (after what its text layer holds), else as text to a text-only stream.
        sys.stdout.flush()
        raw = getattr(sys.stdout, "buffer", None)
        write = raw.write if raw is not None else lambda data: sys.stdout.write(data.decode())
        with gc_paused():
            jobs = sorted(view.matching(selection), key=lambda j: j.name)
            write_json(view, jobs, {"state": store.location}, tail, write)
        sys.stdout.flush()
        return 0
    print(f"state: {store.location} (updated {iso(state.updated_at)})")
    print(status_table(cfg, state, now, selection))
    if pending:
        print(f"{len(pending)} notifications pending:")
        for p in pending:
            print(f"  {_what(p)} to {p['destination']}: {p['attempts']} attempts, {p['last_error']}")
    if dead:
        print(f"{len(dead)} dead letters (given up, not retried):")
        for d in dead:
            print(f"  {d['at']}  {_what(d)} to {d['destination']}: {d['error']}")
    return 0


def _what(row: dict[str, Any]) -> str:
    """`triggered of ci/a`, or `digest` for a daily digest (about no job)."""
    return f"{row['event']} of {row['job']}" if row["job"] else row["event"]


def cmd_html(args: argparse.Namespace) -> int:
    from failstreak.app.page import page_of, parse_lifetime, url_note  # noqa: PLC0415
    from failstreak.views import store as pages  # noqa: PLC0415

    cfg = load_config(args.config)
    if args.link:
        return _print_link(cfg, args.expires)
    _, _, state = _load_state(cfg)
    now = now_ms()
    page = page_of(cfg, state, now)
    if args.url:
        if not (cfg.page or "").startswith("s3://"):
            raise ConfigError(f"--url needs `page:` set to an s3:// URI in the config ({cfg.source})")
        pages.write_page(str(cfg.page), page)
        signed = pages.presigned_url(str(cfg.page), parse_lifetime(args.expires or "7d"))
        print(signed.url)
        print(f"failstreak: {url_note(signed, now)}", file=sys.stderr)
        return 0
    out = args.out or cfg.page
    if not out:
        raise ConfigError(f"give --out FILE (or --out - for stdout), or set `page:` in the config ({cfg.source})")
    if out == "-":
        sys.stdout.write(page.html)
        return 0
    written = pages.write_page(out, page, force=args.out is not None)
    size = page.size
    print(f"{for_terminal(out)}: {'written' if written else 'unchanged'}, {len(state.jobs)} jobs, {size} bytes")
    return 0


def _print_link(cfg: Config, expires: str | None) -> int:
    """`failstreak html --link`: a run-history link to the front's `GET /page` (docs/page.md)."""
    from failstreak.app.page import MAX_LINK_SECONDS, link_note, parse_lifetime  # noqa: PLC0415
    from failstreak.app.pagelink import make_link  # noqa: PLC0415

    now = now_ms()
    lifetime = parse_lifetime(expires, MAX_LINK_SECONDS) if expires else None
    link = make_link(cfg, now, lifetime)
    print(link.url)
    print(f"failstreak: {link_note(link.expires_at, now)}", file=sys.stderr)
    return 0


def _parse_when(text: str) -> int:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--until: {text!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _update_state(cfg: Config, change: Any, what: str, *, create: bool = False) -> tuple[Any, str]:
    """Apply `change(state)` with a conditional write, retrying on conflict; (its result, the state's location).

    `what` names the change in the error given when the state keeps changing, so the user knows it was not saved.
    """
    from failstreak.pipeline.persist import save_with_retry  # noqa: PLC0415

    store, loaded, state = _load_state(cfg, must_exist=not create)
    result = [change(state)]

    def redo(fresh: State) -> None:
        result[0] = change(fresh)

    gave_up = (
        f"{store.location}: state kept changing; gave up after {cfg.save_attempts} conflicting writes; {what} not saved"
    )
    save_with_retry(store, loaded, state, redo, attempts=cfg.save_attempts, gave_up=gave_up)
    return result[0], store.location


def _mutes_document(cfg: Config, *, create: bool = False) -> Any:
    """The mutes document beside the config's state (docs/state.md, "The mutes document"), once it holds the
    mutes a version-5 state still held.

    While there is no mutes document yet, the state is read: it must exist (unless `create`: a mute may be
    written before the first pass saved a state), and the mutes it still holds are moved, first into the mutes
    document, then out of the state (the one write of the state a mute command makes, once)."""
    from failstreak.pipeline.persist import save_with_retry  # noqa: PLC0415
    from failstreak.state.mutes import mutes_store  # noqa: PLC0415

    book = mutes_store(cfg.state)
    book.attempts = cfg.save_attempts
    if book.store.load().data is not None:
        return book
    store, loaded, state = _load_state(cfg, must_exist=not create)
    if not state.moved_mutes:
        return book
    book.merge_mutes(state.moved_mutes)

    def redo(fresh: State) -> None:
        book.merge_mutes(fresh.moved_mutes)

    gave_up = f"{store.location}: state kept changing; gave up after {cfg.save_attempts} conflicting writes"
    save_with_retry(store, loaded, state, redo, attempts=cfg.save_attempts, gave_up=gave_up)
    return book


def _mute_end(args: argparse.Namespace, now: int) -> int | None:
    """When the mute ends, from --until or --hours (never both); ConfigError for a time already past."""
    if args.until and args.hours is not None:
        raise ConfigError("mute: give --until or --hours, not both")
    if args.hours is not None:
        if not args.hours > 0:
            raise ConfigError(f"mute: --hours must be more than 0, not {args.hours:g}")
        return now + int(timedelta(hours=args.hours).total_seconds() * 1000)
    if args.until:
        until = _parse_when(args.until)
        if until <= now:
            raise ConfigError(f"mute: --until {args.until} is in the past (now is {iso(now)})")
        return until
    return None


def cmd_mute(args: argparse.Namespace) -> int:
    from failstreak.app.config import check_pattern  # noqa: PLC0415

    try:
        check_pattern(args.pattern)
    except ValueError as e:
        raise ConfigError(f"mute: {e}") from None
    if args.runs is not None and args.runs < 1:
        raise ConfigError(f"mute: --runs must be 1 or more, not {args.runs}")
    cfg = load_config(args.config)
    now = now_ms()
    until = _mute_end(args, now)
    if until is None and args.runs is None and not args.until_success:
        return _fail("mute: give --until, --hours, --runs or --until-success")
    mute = Mute.new(
        args.pattern, now, until=until, runs=args.runs, until_success=args.until_success, reason=args.reason
    )
    book = _mutes_document(cfg, create=args.create)
    book.add_mute(mute)
    if args.json:
        print(json.dumps({"mutes_document": book.location, "mute": _mute_row(mute)}, ensure_ascii=False))
    else:
        print(f"muted {for_terminal(args.pattern)} (id {mute.id}) in {book.location}")
    return 0


def cmd_unmute(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    book = _mutes_document(cfg)
    removed = book.remove_mutes(args.what)
    if not removed:
        return _fail(f"unmute: no mute with id or pattern {for_terminal(args.what)!r} in {book.location}")
    print(f"removed {len(removed)} mute(s) from {book.location}")
    return 0


def _mute_row(m: Mute) -> dict[str, Any]:
    return {
        "id": m.id,
        "match": m.match,
        "until": iso(m.until) if m.until else None,
        "runs": m.runs,
        "until_success": m.until_success,
        "reason": m.reason,
    }


def _config_mute_row(cm: MuteConfig) -> dict[str, Any]:
    return {
        "match": cm.match,
        "until": cm.until.isoformat() if cm.until else None,
        "runs": cm.runs,
        "until_success": cm.until_success,
        "reason": cm.reason,
    }


def _mute_line(m: Mute) -> str:
    ends = [f"until {iso(m.until)}" if m.until else "", f"for {m.runs} runs" if m.runs else ""]
    ends.append("until next success" if m.until_success else "")
    return for_terminal(f"{m.id}  {m.match}  {' '.join(e for e in ends if e)}  {m.reason or ''}".rstrip())


def cmd_mutes(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    store = _mutes_document(cfg)
    now = now_ms()
    book = store.read()
    written = [m for m in book.mutes if live(m, now)]
    acks = list(active_acks(book, now).values())
    if args.json:
        rows = [_mute_row(m) for m in written]
        config_rows = [_config_mute_row(cm) for cm in cfg.mutes]
        ack_rows = [{"job": a.job, "by": a.by, "at": iso(a.at), "until": iso(a.until)} for a in acks]
        doc = {"mutes_document": store.location, "mutes": rows, "config_mutes": config_rows, "acks": ack_rows}
        print(json.dumps(doc, ensure_ascii=False))
        return 0
    print(f"mutes document: {store.location}")
    for m in written:
        print(_mute_line(m))
    for cm in cfg.mutes:
        print(for_terminal(f"(config)  {cm.match}  {cm.reason or ''}".rstrip()))
    for a in acks:
        print(for_terminal(f"(acked)  {a.job}  by {a.by} until {iso(a.until)}"))
    if not written and not cfg.mutes and not acks:
        print("no mutes")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from failstreak.app.importer import import_reference  # noqa: PLC0415

    cfg = load_config(args.config)
    text = Path(args.path).read_text(encoding="utf-8")
    imported, where = _update_state(
        cfg, lambda state: import_reference(state, text, args.path, cfg, now_ms()), "import", create=True
    )
    if args.json:
        doc = {"state": where, "jobs": imported.jobs, "alerting": imported.alerting, "skipped": imported.skipped}
        print(json.dumps(doc, ensure_ascii=False))
        return 0
    print(
        f"imported {imported.jobs} jobs ({imported.alerting} already alerting, imported without notifying) into {where}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from failstreak.app.demo import run_demo  # noqa: PLC0415

    return run_demo(Path(args.dir), passes=args.passes)


def _report_argv(args: argparse.Namespace, inbox: str) -> list[str]:
    """The light reporter's arguments for a `report` whose inbox is the HTTP front's /ingest."""
    argv = ["--inbox", inbox, "--job", args.job, "--status", args.status]
    for flag in ("run_id", "finished_at", "attempt", "url", "commit", "reason", "owner", "source"):
        value = getattr(args, flag)
        if value is not None:
            argv += ["--" + flag.replace("_", "-"), str(value)]
    return [*argv, "--json"] if args.json else argv


def cmd_report(args: argparse.Namespace) -> int:
    from failstreak.app.config import process_environment  # noqa: PLC0415
    from failstreak.app.report import build_record, write_record  # noqa: PLC0415

    inbox = args.inbox or load_config(args.config).inbox
    if not inbox:
        return _fail("report: no inbox: give --inbox, or a config that names one")
    if lightreport.posts_over_http(inbox):
        return lightreport.main(_report_argv(args, inbox), env=process_environment())
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
        category=args.category,
        env=process_environment(),
    )
    where = write_record(inbox, record)
    if args.json:
        print(json.dumps({"written": where, "record": record}, ensure_ascii=False, default=str))
    else:
        print(where)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from failstreak.app.check import run_checks  # noqa: PLC0415

    results = run_checks(args.config)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False))
    else:
        for r in results:
            print(r.line())
    failed = sum(1 for r in results if r.status == "fail")
    warned = sum(1 for r in results if r.status == "warn")
    if not args.json:
        print(f"{len(results)} checks, {failed or 'none'} failed ({warned} warnings)")
    return EXIT_FAILED if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    from failstreak.app.schema import schema_text  # noqa: PLC0415

    print(schema_text(), end="")
    return 0


def cmd_completion(args: argparse.Namespace) -> int:
    from failstreak.app.completion import script  # noqa: PLC0415

    print(script(args.shell, build_parser()), end="")
    return 0


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


CONFIG_HELP = "config file: a local path or s3:// URI (default: $FAILSTREAK_CONFIG, else local .failstreak/)"


def build_parser() -> argparse.ArgumentParser:
    """The command line. `--config` is accepted before or after the subcommand."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="failstreak",
        description="Find the jobs that keep failing, and tell their owners once.",
        formatter_class=fmt,
        epilog=_examples(
            "failstreak demo                       # a sample estate, four days of passes, on local files",
            "failstreak check --config prod.yaml   # is everything the config names reachable?",
            "failstreak run --config s3://my-bucket/failstreak/config.yaml",
            "failstreak status",
        )
        + "\n\ndocs: README.md and docs/ in the repository",
    )
    parser.add_argument("--version", action="version", version=f"failstreak {__version__}")
    parser.add_argument("--config", help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str, *examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, formatter_class=fmt, epilog=_examples(*examples))

    def with_config(p: argparse.ArgumentParser) -> None:
        # SUPPRESS: when not given after the subcommand, the value given before it (or None) stays.
        p.add_argument("--config", default=argparse.SUPPRESS, help=CONFIG_HELP)

    def with_json(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("--json", action="store_true", help=f"print {what} as one JSON object")

    p = command(
        "run",
        "one monitor pass: ingest, count, alert, notify, save",
        "failstreak run --config failstreak.yaml",
        "failstreak run --json | jq .notifications",
    )
    with_config(p)
    with_json(p, "the pass summary")
    p.set_defaults(func=cmd_run)

    p = command(
        "status",
        "the jobs and their counters, pending notifications and dead letters; or one job's history and incident",
        "failstreak status --config failstreak.yaml",
        "failstreak status --alerting --team team-data 'databricks/*'",
        "failstreak status ci/api/contract-tests          # one job: its runs, newest first, and its incident",
        "failstreak status --json | jq .dead_letters",
    )
    with_config(p)
    p.add_argument("job", nargs="?", help="a job's name (that job's history), or a glob (the jobs it matches)")
    p.add_argument("--alerting", action="store_true", help="only the alerting jobs")
    p.add_argument("--team", action="append", default=[], help="only the jobs this team owns (repeatable)")
    p.add_argument(
        "--health",
        action="append",
        default=[],
        choices=["healthy", "flaky", "broken", "silent"],
        help="only the jobs of this health (repeatable)",
    )
    with_json(p, "the jobs, pending notifications and dead letters")
    p.set_defaults(func=cmd_status)

    p = command(
        "html",
        "the run-history page: one self-contained HTML file of every job's remembered runs",
        "failstreak html --out page.html",
        "failstreak html --url --expires 12h   # refresh the page at `page:` (S3) and print a presigned URL",
        "failstreak html --link                # print a link to the HTTP front's GET /page",
    )
    with_config(p)
    p.add_argument("--out", help="write the page to this file (- for stdout; default: the config's page:)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--url", action="store_true", help="print a presigned URL of the page at `page:` (an s3:// URI)")
    shown.add_argument(
        "--link",
        action="store_true",
        help="print a run-history link to the HTTP front (GET /page?token=…; needs http.page_secret, the front URL)",
    )
    p.add_argument(
        "--expires",
        help="how long the URL or link lives: 30m, 12h, 7d (--url: at most 7d, default 7d; "
        "--link: default http.page_link_days)",
    )
    p.set_defaults(func=cmd_html)

    p = command(
        "check",
        "check the config and everything it names: secrets, Slack, SES, state, inbox, owners",
        "failstreak check --config s3://my-bucket/failstreak/config.yaml",
    )
    with_config(p)
    with_json(p, "the checks")
    p.set_defaults(func=cmd_check)

    p = command(
        "demo",
        "write a realistic sample inbox and run one pass per simulated day over it",
        "failstreak demo",
        "failstreak demo --dir /tmp/fs-demo --passes 7",
    )
    p.add_argument("--dir", default="demo", help="where to put the demo's config, inbox and state (default: demo)")
    p.add_argument("--passes", type=int, default=4, help="how many days (one pass each) to simulate, 1 to 7")
    p.set_defaults(func=cmd_demo)

    p = command(
        "import",
        "import the reference script's job_executions(.v2).json into the state",
        "failstreak import --from datadog job_executions.v2.json --config failstreak.yaml",
    )
    with_config(p)
    p.add_argument("--from", dest="origin", choices=["datadog"], required=True, help="the format: datadog")
    p.add_argument("path", help="the reference script's statistics file (job_executions.json or .v2.json)")
    with_json(p, "what was imported")
    p.set_defaults(func=cmd_import)

    p = command(
        "mute",
        "mute jobs matching a glob: still counted, but their notifications are suppressed",
        "failstreak mute 'nightly-*' --hours 4 --reason 'warehouse migration'",
        "failstreak mute ci/web/e2e --until-success",
        "failstreak mute 'databricks/*' --until 2026-12-24T08:00:00Z",
    )
    with_config(p)
    p.add_argument("pattern", help="job name glob, e.g. 'nightly-*' (quote it, so the shell does not expand it)")
    p.add_argument("--until", help="ISO 8601 time the mute ends (UTC unless it says otherwise)")
    p.add_argument("--hours", type=float, help="mute for this many hours (not with --until)")
    p.add_argument("--runs", type=int, help="mute for the next N counted runs of each job")
    p.add_argument("--until-success", action="store_true", help="mute until the job's next success")
    p.add_argument("--reason", help="why (shown in status and in the summary)")
    p.add_argument(
        "--create", action="store_true", help="write the mute even if no pass has saved the config's state yet"
    )
    with_json(p, "the mute added")
    p.set_defaults(func=cmd_mute)

    p = command(
        "unmute",
        "remove a mute by its id or its pattern",
        "failstreak unmute 'nightly-*'",
        "failstreak unmute 3f2a9c1b",
    )
    with_config(p)
    p.add_argument("what", help="the mute's id (from `failstreak mutes`) or its exact pattern")
    p.set_defaults(func=cmd_unmute)

    p = command(
        "mutes",
        "list the mutes (the mutes document's and the config file's) and the acknowledgements in force",
        "failstreak mutes --json",
    )
    with_config(p)
    with_json(p, "the mutes")
    p.set_defaults(func=cmd_mutes)

    p = command(
        "report",
        "write one execution record (a CI job's result) into the inbox",
        'failstreak report --inbox s3://my-bucket/failstreak/inbox/ --job "$CI_JOB_NAME" --status "$CI_JOB_STATUS"',
        "failstreak report --job nightly-etl --status failed --reason 'disk full' --run-id 42",
        "failstreak report --job nightly-etl --status failed --category infra --reason 'spot instance lost'",
    )
    with_config(p)
    p.add_argument(
        "--inbox",
        help="s3://bucket/failstreak/inbox/, a local directory, or the HTTP front's https://.../ingest "
        "(default: the config's inbox)",
    )
    p.add_argument("--job", required=True, help="the job's stable name")
    p.add_argument("--status", required=True, help="success, failed, timed_out, canceled… or a platform's spelling")
    p.add_argument("--run-id", help="unique within the job (default: the CI system's run or job id)")
    p.add_argument("--finished-at", help="RFC 3339 time (default: now)")
    p.add_argument("--attempt", type=int, help="retry number; the highest attempt of a run counts")
    p.add_argument("--url", help="link to the run (default: from the CI system)")
    p.add_argument("--commit", help="commit the run built (default: from the CI system)")
    p.add_argument("--reason", help="failure message, shown in alerts")
    p.add_argument("--category", help="why it failed: code, infra, upstream, or a category the config names")
    p.add_argument("--owner", help="owning team, if not routed by JOBOWNERS")
    p.add_argument("--source", help="what produced the record (default: the CI system's name)")
    with_json(p, "where the record was written, and the record")
    p.set_defaults(func=cmd_report)

    p = command(
        "backtest",
        "replay the archive of past passes with other settings: incidents, notifications, detection delay, flaps",
        "failstreak backtest --set thresholds.consecutive=2,3,4",
        "failstreak backtest --since 30 --set thresholds.consecutive=2,3 --set thresholds.window=10,20 --suggest",
    )
    with_config(p)
    p.add_argument("--archive", help="the processed/ folder or s3:// prefix (default: beside the config's inbox)")
    p.add_argument("--since", type=float, metavar="DAYS", help="replay only the passes of the last DAYS days")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="KEY=V1,V2",
        help="a dotted config path and the values to try (repeat it: every combination is replayed)",
    )
    p.add_argument("--suggest", action="store_true", help="name the settings with the fewest flaps")
    p.add_argument("--max-detect-runs", type=float, default=3, metavar="N", help="for --suggest (default 3)")
    with_json(p, "the results")
    p.set_defaults(func=cmd_backtest)

    p = command(
        "schema",
        "print the config file's JSON Schema (for editors: see docs/configuration.md)",
        "failstreak schema > failstreak.schema.json",
    )
    p.set_defaults(func=cmd_schema)

    p = command(
        "completion",
        "print a shell completion script (also committed under completions/)",
        "failstreak completion bash > ~/.local/share/bash-completion/completions/failstreak",
        "failstreak completion zsh > ~/.zfunc/_failstreak",
    )
    p.add_argument("shell", choices=["bash", "zsh"], help="the shell: bash or zsh")
    p.set_defaults(func=cmd_completion)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    make_safe(sys.stdout, sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        code: int = args.func(args)
    except ConfigError as e:
        # A config's mistakes, one line each (docs/configuration.md).
        *before, last = str(e).splitlines() or ["failed"]
        for line in before:
            _fail(line)
        return _fail(last)
    except FailstreakError as e:
        return _fail(str(e).splitlines()[0] if str(e) else "failed")
    except OSError as e:
        return _fail(f"{getattr(e, 'filename', '') or ''}: {e.strerror or e}".lstrip(": "))
    except KeyboardInterrupt:
        return _fail("interrupted")
    return code


if __name__ == "__main__":
    sys.exit(main())
