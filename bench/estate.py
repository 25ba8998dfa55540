"""What a pass costs against what it brings, `status` against its floor, and a Lambda cold start (issue 20).

Run by `make bench` after the whole-pass rows (`bench/run.py`), on the same workloads' steady states, or alone:

    python -m bench.estate --sizes 100k --reps 3

For each size and package tree, the steady state is the workload's after one more pass of that tree's code with
`page:` set (so in that code's own format, with its page). Each repetition runs in fresh child processes
(`bench/measure.py`) over a fresh copy of it (local store), taking turns in an order that alternates with the
repetition:

- **floor**: read, parse and write back the whole state (`measure.py floor` over an empty inbox);
- **pass, no new runs**: a whole pass over an empty inbox;
- **pass, 1,000 records**: a whole pass over one inbox file of the first 1,000 lines of the workload's fresh inbox
  (shuffled across jobs, so about 1,000 jobs touched; retries, duplicates and running records included);
- **with the page**: the same two passes with `page:` set, the steady state's page already there;
- **status --json**: the CLI's `status --json`, output to /dev/null;
- **state parse floor**: read the state and parse it (the faster of orjson and msgspec): the floor of `status`.

The ratios are medians of per-repetition ratios. The cold start runs against a moto S3 server, the config read
from S3 as the Lambda reads it, the package found on a plain path and compiled as in the Lambda's bundle
(`bundled`; `--cold-sources` for sources only, as a bundle built without Python 3.13 ships it): fresh interpreters
take turns running `import boto3` and the handler's import plus two invocations over an empty inbox
(`bench/cold.py`), each timed from inside (the interpreter's own start and exit are not the code's, and are the
same for both). The cold start's cost is (import + first invocation) − the warm invocation.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench.doc import write_block
from bench.generate import SIZES, config_text, prepare
from bench.measure import gunzip
from bench.run import DOC, OUT, PRESETS, ROOT, S3_ENV, Measure, MotoServer, _child, _env, machine, settle


def markers(block: str) -> tuple[str, str]:
    """The begin and end markers of a generated block of docs/performance.md."""
    return (
        f"<!-- bench:{block}:begin (written by `make bench`; edit outside this block) -->",
        f"<!-- bench:{block}:end -->",
    )


BEGIN, END = markers("estate")
FEW = 1_000
REPS = {"1k": 5, "10k": 5, "100k": 3, "1m": 1}
COLD_ROUNDS = 15
# `import boto3` timed from inside a fresh interpreter, as `bench/cold.py` times the handler.
BOTO3 = "import time; t = time.perf_counter(); import boto3; print(time.perf_counter() - t)"
KINDS = (
    "floor",
    "pass, none",
    "pass, 1,000",
    "page, none",
    "page, 1,000",
    "status --json",
    "state parse floor",
)
# The kinds whose pass keeps the run-history page (`page:` set, the page of the steady state already there).
PAGED = ("page, none", "page, 1,000")


@dataclass
class EstateRow:
    size: str
    jobs: int
    few: int = 0
    code: str = "this checkout"
    runs: dict[str, list[Measure]] = field(default_factory=lambda: {k: [] for k in KINDS})


def _first_lines(src: Path, n: int) -> list[bytes]:
    lines: list[bytes] = []
    for f in sorted((src / "inbox").iterdir()):
        data = f.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gunzip(data)
        lines += [line for line in data.split(b"\n") if line][: n - len(lines)]
        if len(lines) >= n:
            break
    return lines


def _own_state(src: Path, tree: Path, dest: Path) -> Path:
    """The steady state as `tree`'s code stores it, with its page: the version tag set to the one `tree` writes
    (the document's fields are those every version since 5 reads; an index it does not know is skipped), then
    one pass of that code over an empty inbox with `page:` set, which writes the state in its own format and the
    page. Each tree is measured on its own steady state."""
    env = _env({"PYTHONPATH": os.pathsep.join((str(tree), str(ROOT)))})
    version = subprocess.run(
        [sys.executable, "-c", "from failstreak.state.codec import VERSION; print(VERSION)"],
        env=env,
        capture_output=True,
        check=True,
        text=True,
    ).stdout.strip()
    cfg = _fresh(src, dest, [], page=True)
    text = gunzip((dest / "state.json").read_bytes())
    at = text.index(b",")
    (dest / "state.json").write_bytes(gzip.compress(b'{"version":' + version.encode() + text[at:], 1))
    _child(["pass", str(cfg)], env)
    return dest


def _fresh(src: Path, dest: Path, lines: list[bytes], page: bool = False) -> Path:
    """A run directory: the steady state copied (and its page, with `page`), an inbox of `lines` (one file, or
    none), its config."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "inbox").mkdir(parents=True)
    shutil.copyfile(src / "state.json", dest / "state.json")
    if lines:
        (dest / "inbox" / "batch-00000.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    cfg = dest / "config.yaml"
    text = config_text(str(dest / "state.json"), str(dest / "inbox"), 10, console=True)
    if page:
        text += f"page: {dest / 'page.html'}\n"
        if (src / "page.html").exists():
            shutil.copyfile(src / "page.html", dest / "page.html")
    cfg.write_text(text)
    settle()
    return cfg


def bench_estate(
    size: str, reps: int, functions: tuple[Path, ...] = (ROOT / "functions",), kinds: tuple[str, ...] = KINDS
) -> list[EstateRow]:
    """The rows of one size, one per package tree in `functions` (this checkout's by default; another, such as
    an export of an earlier commit, to compare before and after in one run), every step taking turns; only the
    measures of `kinds` (the others left empty)."""
    w = SIZES[size]
    src = prepare(w, OUT / "workloads")
    few = _first_lines(src, FEW)
    rows = [
        EstateRow(size, w.jobs, len(few), "this checkout" if i == 0 else str(tree)) for i, tree in enumerate(functions)
    ]
    runs = OUT / "runs" / f"{size}-estate"
    states = [_own_state(src, tree, OUT / "runs" / f"{size}-own-{i}") for i, tree in enumerate(functions)]
    inboxes = {k: few if k.endswith("1,000") else [] for k in KINDS}
    modes = {"floor": ["floor"], "pass, none": ["pass"], "pass, 1,000": ["pass"], "status --json": ["status"]}
    modes |= {"page, none": ["pass"], "page, 1,000": ["pass"]}
    modes["state parse floor"] = ["state-floor"]
    for i in range(reps):
        order = kinds if i % 2 == 0 else tuple(reversed(kinds))
        for kind in order:
            for row, tree, state in zip(rows, functions, states, strict=True):
                env = _env({"PYTHONPATH": os.pathsep.join((str(tree), str(ROOT)))})
                cfg = _fresh(state, runs, inboxes[kind], page=kind in PAGED)
                extra = ["first=orjson"] if kind == "floor" else []
                row.runs[kind].append(_child([*modes[kind], str(cfg), *extra], env))
        for row in rows:
            print(
                f"  {size} estate rep {i + 1}/{reps} ({row.code}): "
                + ", ".join(f"{k} {row.runs[k][-1].wall_s:.2f}s" for k in kinds),
                flush=True,
            )
    shutil.rmtree(runs)
    for own in states:
        shutil.rmtree(own)
    return rows


@dataclass
class Cold:
    boto3_s: float
    cold_s: float
    import_s: float
    first_s: float
    warm_s: float
    rounds: int


def bundled(tree: Path, into: Path, bytecode: bool = True) -> Path:
    """The handler's packages of `tree` copied to `into` as the Lambda's bundle holds them: compiled as
    functions/Makefile compiles them (hash-based, unchecked), by this interpreter; sources only without
    `bytecode`. The copy keeps the checkout free of bytecode that is never checked against its source."""
    into.mkdir(parents=True)
    for package in ("failstreak", "monitor"):
        shutil.copytree(tree / package, into / package, ignore=shutil.ignore_patterns("__pycache__"))
    if bytecode:
        compiled = [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(into)]
        subprocess.run(compiled, check=True, stdout=subprocess.DEVNULL)
    return into


def cold_start(
    rounds: int = COLD_ROUNDS, functions: tuple[Path, ...] = (ROOT / "functions",), bytecode: bool = True
) -> list[Cold]:
    """The cold start of each package tree in `functions` (this checkout's by default; another, such as an
    export of an earlier commit, to compare before and after in one run), all taking turns with `import boto3`;
    each tree as the Lambda's bundle holds it (`bundled`)."""
    from boto3 import client

    staging = OUT / "cold-bundles"
    shutil.rmtree(staging, ignore_errors=True)
    functions = tuple(bundled(tree, staging / str(i), bytecode) for i, tree in enumerate(functions))

    with MotoServer() as server:
        extra = {
            **S3_ENV,
            "AWS_ENDPOINT_URL": server.endpoint,
            "FAILSTREAK_CONFIG": "s3://bench-cold/config-0.yaml",
            "POWERTOOLS_SERVICE_NAME": "failstreak-monitor",
            "POWERTOOLS_METRICS_NAMESPACE": "FailstreakBench",
            "POWERTOOLS_TRACE_DISABLED": "true",
            # The package on a plain path, as in the Lambda's bundle (the editable install's finder is slower).
            "PYTHONPATH": str(ROOT / "functions"),
        }
        s3 = client(
            "s3",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        s3.create_bucket(Bucket="bench-cold")
        # One config and state per tree: each reads and writes its own format (an older one refuses a newer).
        for i in range(len(functions)):
            s3.put_object(
                Bucket="bench-cold",
                Key=f"config-{i}.yaml",
                Body=config_text(
                    f"s3://bench-cold/state-{i}.json", "s3://bench-cold/inbox/", 10, console=False
                ).encode(),
            )
        env = _env(extra)
        env["PYTHONPATH"] = extra["PYTHONPATH"]
        inner: list[list[dict[str, float]]] = [[] for _ in functions]
        boto3: list[float] = []
        for r in range(rounds + 1):  # the first round writes the state and warms the disk cache; not counted
            done = subprocess.run([sys.executable, "-c", BOTO3], cwd=ROOT, env=env, capture_output=True, check=True)
            if r:
                boto3.append(float(done.stdout.splitlines()[-1]))
            for i, tree in enumerate(functions):
                env_cold = dict(
                    env,
                    PYTHONPATH=os.pathsep.join((str(tree), str(ROOT))),
                    FAILSTREAK_CONFIG=f"s3://bench-cold/config-{i}.yaml",
                )
                done = subprocess.run(
                    [sys.executable, "-m", "bench.cold"], cwd=ROOT, env=env_cold, capture_output=True, check=False
                )
                if done.returncode != 0:
                    raise SystemExit(f"bench: cold start of {tree} failed: {done.stderr.decode()[-2000:]}")
                if r:
                    inner[i].append(orjson.loads(done.stdout.splitlines()[-1]))
    return [
        Cold(
            boto3_s=statistics.median(boto3),
            cold_s=statistics.median(d["import_s"] + d["first_s"] - d["warm_s"] for d in runs),
            import_s=statistics.median(d["import_s"] for d in runs),
            first_s=statistics.median(d["first_s"] for d in runs),
            warm_s=statistics.median(d["warm_s"] for d in runs),
            rounds=rounds,
        )
        for runs in inner
    ]


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _ratio(a: list[Measure], b: list[Measure]) -> float:
    if len(a) != len(b):  # one side not measured (`--kind`)
        return float("nan")
    return _med([x.wall_s / y.wall_s for x, y in zip(a, b, strict=True)])  # nan when neither was


def estate_table(rows: list[EstateRow]) -> str:
    lines = [
        "| jobs | code | reps | floor: read+parse+write state s | pass, no new runs s | / floor (target ≤ 0.2×) | "
        "pass, 1,000 records s | / floor (target ≤ 0.3×) | peak RSS MiB (pass 1,000 / floor) | "
        "with the page: no new runs s | / floor | 1,000 records s | / floor | "
        "state parse floor s | status --json s | / parse floor (target ≤ 1.5×) |",
        "|" + "---|" * 16,
    ]
    for r in rows:
        m = r.runs
        reps = max(len(v) for v in m.values())
        lines.append(
            f"| {r.jobs:,} | {r.code} | {reps} | {_med([x.wall_s for x in m['floor']]):.2f} | "
            f"{_med([x.wall_s for x in m['pass, none']]):.2f} | {_ratio(m['pass, none'], m['floor']):.2f}× | "
            f"{_med([x.wall_s for x in m['pass, 1,000']]):.2f} | {_ratio(m['pass, 1,000'], m['floor']):.2f}× | "
            f"{_med([x.rss_mib for x in m['pass, 1,000']]):.0f} / {_med([x.rss_mib for x in m['floor']]):.0f} | "
            f"{_med([x.wall_s for x in m['page, none']]):.2f} | {_ratio(m['page, none'], m['floor']):.2f}× | "
            f"{_med([x.wall_s for x in m['page, 1,000']]):.2f} | {_ratio(m['page, 1,000'], m['floor']):.2f}× | "
            f"{_med([x.wall_s for x in m['state parse floor']]):.2f} | "
            f"{_med([x.wall_s for x in m['status --json']]):.2f} | "
            f"{_ratio(m['status --json'], m['state parse floor']):.2f}× |"
        )
    return "\n".join(lines)


def cold_table(c: Cold) -> str:
    return "\n".join(
        [
            "| `import boto3` s | cold start s | cold / boto3 (target ≤ 1.0×) | handler import s | "
            "first invocation s | warm invocation s |",
            "|---|---|---|---|---|---|",
            f"| {c.boto3_s:.3f} | {c.cold_s:.3f} | {c.cold_s / c.boto3_s:.2f}× | {c.import_s:.3f} | "
            f"{c.first_s:.3f} | {c.warm_s:.3f} |",
        ]
    )


def report(rows: list[EstateRow], cold: Cold | None, argv: str) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    parts = [f"Measured {when} by `{argv}` on: {machine()}.", ""]
    if rows:
        parts += [
            "A pass against what it brings, on the workloads' steady states (local store; medians, each in fresh "
            "processes over a fresh copy; ratios are medians of per-repetition ratios):",
            "",
            estate_table(rows),
            "",
        ]
    if cold is not None:
        parts += [
            f"Lambda cold start against moto's S3 (fresh interpreters taking turns, median of {cold.rounds}; "
            "cold start = handler import + first invocation over an empty inbox − a warm invocation; "
            "`import boto3` timed the same way):",
            "",
            cold_table(cold),
        ]
    return "\n".join(parts)


def write_doc(text: str, block: str = "estate") -> None:
    """Rewrite the named generated block (`estate` for `make bench`'s sizes, `estate-1m` for the growth row at a
    million jobs, which is run on its own: it takes most of an hour)."""
    write_block(DOC, *markers(block), text, None)


def run(sizes: list[str], reps: int, argv: str, doc: bool, cold: bool = True, block: str = "estate") -> str:
    rows = []
    for size in sizes:
        rows += bench_estate(size, reps or REPS[size])
    text = report(rows, cold_start()[0] if cold else None, argv)
    print()
    print(text)
    if doc:
        write_doc(text, block)
    return text


def _kinds(p: argparse.ArgumentParser, chosen: list[str] | None) -> tuple[str, ...]:
    """The measures `--kind` names, in the order of `KINDS` (all of them when none is named)."""
    unknown = set(chosen or ()) - set(KINDS)
    if unknown:
        p.error(f"unknown --kind {'; '.join(sorted(unknown))}; known: {'; '.join(KINDS)}")
    return tuple(k for k in KINDS if k in chosen) if chosen else KINDS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default=os.environ.get("BENCH_SIZES") or "all")
    p.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS") or 0))
    p.add_argument("--no-doc", action="store_true")
    p.add_argument("--no-cold", action="store_true", help="leave out the cold start (it does not depend on the size)")
    p.add_argument(
        "--block",
        default="estate",
        help="the generated block of docs/performance.md to write (`estate-1m` for `--sizes 1m --no-cold`)",
    )
    p.add_argument("--cold-only", action="store_true", help="only the cold start (this checkout, and --against's)")
    p.add_argument("--cold-sources", action="store_true", help="the cold start of the packages' sources, no bytecode")
    p.add_argument(
        "--against",
        type=Path,
        help="another package tree (e.g. `git archive REV functions | tar -x -C DIR`, then DIR/functions) to "
        "measure in the same run, taking turns; prints the rows, leaves the docs alone",
    )
    p.add_argument(
        "--kind",
        action="append",
        help=f"only this measure (repeat for more; of: {'; '.join(KINDS)}), e.g. --kind 'status --json' --kind "
        "'state parse floor'; prints the rows, leaves the docs alone",
    )
    args = p.parse_args(argv)
    sizes = PRESETS.get(args.sizes, args.sizes).split(",")
    kinds = _kinds(p, args.kind)
    if args.cold_only:
        trees = (ROOT / "functions",) if args.against is None else (ROOT / "functions", args.against.resolve())
        for tree, cold in zip(trees, cold_start(COLD_ROUNDS, trees, not args.cold_sources), strict=True):
            print(f"\ncold start, {tree}:\n{cold_table(cold)}")
        return 0
    if args.against is None and kinds == KINDS:
        argv_text = "python -m bench.estate --sizes " + args.sizes + (" --no-cold" if args.no_cold else "")
        run(sizes, args.reps, argv_text, not args.no_doc, not args.no_cold, args.block)
        return 0
    trees = (ROOT / "functions",) + ((args.against.resolve(),) if args.against is not None else ())
    rows = [row for size in sizes for row in bench_estate(size, args.reps or REPS[size], trees, kinds)]
    print(estate_table(rows))
    if not args.no_cold:
        colds = cold_start(COLD_ROUNDS, trees, not args.cold_sources)
        for tree, cold in zip(("this checkout", *map(str, trees[1:])), colds, strict=True):
            print(f"\ncold start, {tree}:\n{cold_table(cold)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
