"""The benchmark runner behind `make bench`.

For each workload size it prepares (once, cached under bench/out/workloads) a steady-state state document and
a fresh inbox, then for each repetition, in fresh child processes over fresh copies of the data:

- `floor`: only the unavoidable work (read and parse every inbox line, parse the state document, serialise it
  back and write it), each JSON part counted with the faster of orjson and msgspec;
- `floor` with the cyclic garbage collector paused, as the pass runs (a stricter floor);
- `pass`: a whole monitor pass, as the CLI and the Lambda run it.

It reports medians of wall time, CPU time and peak RSS (the child's own VmHWM), the pass/floor ratios, the state's
size (as stored, and compressed or raw), and executions per second; it prints a table and rewrites its own block
of docs/performance.md. The S3 runs use a moto server on a free loopback port, started and stopped here; they
run when `failstreak.inbox.s3` is importable (else they are reported as skipped).

    python -m bench.run --sizes 1k,10k,100k --reps 3 --stores local,s3
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.doc import write_block
from bench.generate import NOW, SIZES, Workload, config_text, prepare
from bench.measure import gunzip

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench:results:begin (written by `make bench`; edit outside this block) -->"
END = "<!-- bench:results:end -->"
CHILD_TIMEOUT_S = 1200
PRESETS = {"small": "1k,10k", "all": "1k,10k,100k", "large": "100k"}
DEFAULT_REPS = {"1k": 5, "10k": 3, "100k": 3}


@dataclass
class Measure:
    wall_s: float
    cpu_s: float
    rss_mib: float
    detail: dict[str, Any]


@dataclass
class Row:
    size: str
    store: str
    records: int
    jobs: int
    floors: list[Measure] = field(default_factory=list)
    floors_gc_paused: list[Measure] = field(default_factory=list)
    passes: list[Measure] = field(default_factory=list)
    state_stored: int = 0
    state_alt: int = 0
    state_compressed: bool = False
    skipped: str | None = None


def _child(args: list[str], env: dict[str, str]) -> Measure:
    """Run `python -m bench.measure ...` and read its JSON line and its own rusage (peak RSS of that child)."""
    out_path = OUT / "child.out"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bench.measure", *args], stdout=out, cwd=ROOT, env=env)
        deadline = time.monotonic() + CHILD_TIMEOUT_S
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise SystemExit(f"bench: child {args} took more than {CHILD_TIMEOUT_S}s")
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench: child {args} failed with {proc.returncode}")
    detail = orjson.loads(out_path.read_bytes().splitlines()[-1])
    peak_kib = detail.pop("peak_rss_kib", None) or usage.ru_maxrss
    return Measure(detail.pop("wall_s"), detail.pop("cpu_s"), peak_kib / 1024, detail)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fresh_local(src: Path, dest: Path) -> Path:
    """A run directory: the state copied, the inbox files hard-linked (the pass only renames them)."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "inbox").mkdir(parents=True)
    shutil.copyfile(src / "state.json", dest / "state.json")
    for f in sorted((src / "inbox").iterdir()):
        os.link(f, dest / "inbox" / f.name)
        shutil.copystat(f, dest / "inbox" / f.name)
    cfg = dest / "config.yaml"
    cfg.write_text(config_text(str(dest / "state.json"), str(dest / "inbox"), 10, console=True))
    settle()
    return cfg


def settle() -> None:
    """Write the copies just made to the disk before a measured run starts: otherwise the run's own writes wait
    behind their writeback (a 50 MB write here took from 11 ms to 350 ms after a copy), and a run is charged for
    its set-up."""
    if hasattr(os, "sync"):
        os.sync()


def _state_sizes(data: bytes) -> tuple[int, int, bool]:
    """(stored size, the other form's size, stored compressed?)."""
    if data[:2] == b"\x1f\x8b":
        return len(data), len(gunzip(data)), True
    return len(data), len(gzip.compress(data, compresslevel=6)), False


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["BENCH_NOW"] = str(NOW)
    # This checkout's package, not whichever one the virtualenv's editable install points at.
    env["PYTHONPATH"] = os.pathsep.join((str(ROOT / "functions"), str(ROOT)))
    env.pop("FAILSTREAK_CONFIG", None)
    if extra:
        env.update(extra)
    return env


def _floors(row: Row, cfg: Path, env: dict[str, str], rep: int) -> None:
    """The floor with the collector on and paused, in two fresh children over the same data (the floor only
    reads the inbox and writes its state beside the real one). The library that goes first on the state
    alternates with the repetition."""
    first = "first=" + ("orjson" if rep % 2 == 0 else "msgspec")
    row.floors.append(_child(["floor", str(cfg), first], env))
    row.floors_gc_paused.append(_child(["floor", str(cfg), first, "gc=paused"], env))


def bench_local(w: Workload, src: Path, reps: int) -> Row:
    meta = orjson.loads((src / "workload.json").read_bytes())
    row = Row(w.name, "local", meta["records"], w.jobs)
    for i in range(reps):
        cfg = _fresh_local(src, OUT / "runs" / f"{w.name}-local")
        env = _env()
        # Alternate the order so neither side always runs with a warmer cache.
        if i % 2 == 0:
            _floors(row, cfg, env, i)
            row.passes.append(_child(["pass", str(cfg)], env))
        else:
            row.passes.append(_child(["pass", str(cfg)], env))
            _fresh_local(src, OUT / "runs" / f"{w.name}-local")
            _floors(row, cfg, env, i)
        print(
            f"  {w.name} local rep {i + 1}/{reps}: "
            f"pass {row.passes[-1].wall_s:.2f}s, floor {row.floors[-1].wall_s:.2f}s",
            flush=True,
        )
    final = _fresh_local(src, OUT / "runs" / f"{w.name}-local")
    _child(["pass", str(final)], _env())
    row.state_stored, row.state_alt, row.state_compressed = _state_sizes((final.parent / "state.json").read_bytes())
    shutil.rmtree(final.parent)
    return row


class MotoServer:
    """moto's S3 server on a free loopback port; stopped on exit, whatever happens."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
        self.proc = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise SystemExit("bench: moto_server did not start within 30s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


S3_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def s3_available() -> str | None:
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401

        import failstreak.inbox.s3
        import failstreak.state.s3  # noqa: F401
    except ImportError as e:
        return f"not run: {e.name} is not importable"
    return None


def bench_s3(w: Workload, src: Path, reps: int) -> Row:
    import boto3

    meta = orjson.loads((src / "workload.json").read_bytes())
    row = Row(w.name, "s3 (moto)", meta["records"], w.jobs)
    with MotoServer() as server:
        extra = {**S3_ENV, "AWS_ENDPOINT_URL": server.endpoint}
        os.environ.update(extra)
        s3 = boto3.client("s3", endpoint_url=server.endpoint)
        for i in range(reps):
            bucket = f"bench-{w.name}-{i}"
            s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="state.json", Body=(src / "state.json").read_bytes())
            for f in sorted((src / "inbox").iterdir()):
                s3.put_object(Bucket=bucket, Key=f"inbox/{f.name}", Body=f.read_bytes())
            cfg = OUT / "runs" / f"{w.name}-s3-{i}.yaml"
            cfg.parent.mkdir(parents=True, exist_ok=True)
            cfg.write_text(config_text(f"s3://{bucket}/state.json", f"s3://{bucket}/inbox/", 10, console=True))
            env = _env(extra)
            _floors(row, cfg, env, i)
            row.passes.append(_child(["pass", str(cfg)], env))
            print(
                f"  {w.name} s3 rep {i + 1}/{reps}: pass {row.passes[-1].wall_s:.2f}s, "
                f"floor {row.floors[-1].wall_s:.2f}s",
                flush=True,
            )
            if i == reps - 1:
                data = s3.get_object(Bucket=bucket, Key="state.json")["Body"].read()
                row.state_stored, row.state_alt, row.state_compressed = _state_sizes(data)
    return row


IMPORTS = (
    ("boto3", "import boto3"),
    ("monitor.app (handler)", "import monitor.app"),
    ("failstreak.pipeline.run", "import failstreak.pipeline.run"),
)


def import_cost(reps: int = 15) -> dict[str, float | None]:
    """Median wall time of a fresh interpreter importing a module, less that of one importing nothing.

    The statements take turns, round after round, so a busy spell on the machine hits all of them alike. The
    package is found on a plain path, as in the Lambda's bundle (the editable install's finder is slower).
    """
    env = _env({"PYTHONPATH": str(ROOT / "functions")})
    stmts = [("(nothing)", "pass"), *IMPORTS]
    samples: dict[str, list[float]] = {name: [] for name, _ in stmts}
    failed: set[str] = set()
    for _ in range(reps):
        for name, stmt in stmts:
            if name in failed:
                continue
            t = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", stmt], cwd=ROOT, env=env, capture_output=True, check=False, timeout=120
            )
            if done.returncode != 0:
                failed.add(name)
                continue
            samples[name].append(time.perf_counter() - t)
    base = statistics.median(samples["(nothing)"])
    return {name: None if name in failed else max(statistics.median(samples[name]) - base, 0.0) for name, _ in IMPORTS}


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def machine() -> str:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import msgspec
    import orjson as _o

    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem} memory, Python {platform.python_version()} "
        f"({platform.machine()}, {platform.system()} {platform.release()}), orjson {_o.__version__}, "
        f"msgspec {msgspec.__version__}"
    )


def table(rows: list[Row]) -> str:
    head = (
        "| size | store | reps | records | pass wall s | pass CPU s | floor wall s | pass / floor | "
        "pass / floor (gc paused) | peak RSS MiB (pass) | peak RSS MiB (floor) | executions/s | "
        "state stored MiB | state other MiB |"
    )
    lines = [head, "|" + "---|" * 14]
    for r in rows:
        if r.skipped:
            lines.append(f"| {r.size} | {r.store} | – | {r.records:,} | {r.skipped} |" + " |" * 9)
            continue
        ratios = [p.wall_s / f.wall_s for p, f in zip(r.passes, r.floors, strict=True)]
        strict = [p.wall_s / f.wall_s for p, f in zip(r.passes, r.floors_gc_paused, strict=True)]
        pw = _med([p.wall_s for p in r.passes])
        other = "gzip" if not r.state_compressed else "raw"
        stored = "gzip" if r.state_compressed else "raw"
        pc = _med([p.cpu_s for p in r.passes])
        fw = _med([f.wall_s for f in r.floors])
        prss = _med([p.rss_mib for p in r.passes])
        frss = _med([f.rss_mib for f in r.floors])
        lines.append(
            f"| {r.size} | {r.store} | {len(r.passes)} | {r.records:,} | {pw:.2f} | {pc:.2f} | {fw:.2f} | "
            f"{_med(ratios):.2f}× | {_ratio(strict)} | {prss:.0f} | {frss:.0f} | {r.records / pw:,.0f} | "
            f"{r.state_stored / 2**20:.1f} ({stored}) | {r.state_alt / 2**20:.1f} ({other}) |"
        )
    return "\n".join(lines)


def _ratio(xs: list[float]) -> str:
    return f"{_med(xs):.2f}×" if xs else "–"


def _winner(details: list[dict[str, Any]], part: str) -> str:
    """The library the floor counted for a part: the one most repetitions found faster (and how many did)."""
    won = [d["libs"][part] for d in details if "libs" in d]
    if not won:
        return "–"
    best = max(sorted(set(won)), key=won.count)
    return best if won.count(best) == len(won) else f"{best} ({won.count(best)}/{len(won)})"


def floor_parts(rows: list[Row]) -> str:
    lines = [
        "| size | store | inbox read+parse s | inbox parser | state read+parse s | state parser | "
        "state serialise+write s | serialiser | floor wall s | floor wall s (gc paused) |",
        "|" + "---|" * 10,
    ]
    for r in rows:
        if r.skipped:
            continue
        d = [f.detail for f in r.floors]
        paused = _med([f.wall_s for f in r.floors_gc_paused]) if r.floors_gc_paused else None
        lines.append(
            f"| {r.size} | {r.store} | {_med([x['inbox_s'] for x in d]):.2f} | {_winner(d, 'inbox')} | "
            f"{_med([x['state_load_s'] for x in d]):.2f} | {_winner(d, 'state_parse')} | "
            f"{_med([x['state_save_s'] for x in d]):.2f} | {_winner(d, 'serialise')} | "
            f"{_med([f.wall_s for f in r.floors]):.2f} | {'–' if paused is None else f'{paused:.2f}'} |"
        )
    return "\n".join(lines)


LIB_PARTS = (
    ("inbox", "orjson", "inbox: orjson"),
    ("inbox", "msgspec", "inbox: msgspec"),
    ("inbox", "msgspec decode_lines", "inbox: msgspec decode_lines"),
    ("state_parse", "orjson", "state parse: orjson"),
    ("state_parse", "msgspec", "state parse: msgspec"),
    ("serialise", "orjson", "serialise: orjson"),
    ("serialise", "msgspec", "serialise: msgspec"),
)


def floor_libraries(rows: list[Row]) -> str:
    """Each library's time for each JSON part alone (parse or serialise, no I/O), medians of the floor with
    the collector on, then paused."""
    lines = [
        "| size | store | gc | " + " | ".join(h for _, _, h in LIB_PARTS) + " |",
        "|" + "---|" * (3 + len(LIB_PARTS)),
    ]
    for r in rows:
        for gc_mode, floors in (("on", r.floors), ("paused", r.floors_gc_paused)):
            d = [f.detail["lib_s"] for f in floors if "lib_s" in f.detail]
            if r.skipped or not d:
                continue
            cells = [
                f"{_med([x[part][lib] for x in d]):.3f}" if all(lib in x[part] for x in d) else "–"
                for part, lib, _ in LIB_PARTS
            ]
            lines.append(f"| {r.size} | {r.store} | {gc_mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def growth(rows: list[Row]) -> str:
    local = [r for r in rows if r.store == "local" and not r.skipped]
    if len(local) < 2:
        return ""
    lines = ["| from → to | records × | pass wall × | floor wall × | peak RSS × |", "|---|---|---|---|---|"]
    for a, b in itertools.pairwise(local):
        lines.append(
            f"| {a.size} → {b.size} | {b.records / a.records:.1f} | "
            f"{_med([p.wall_s for p in b.passes]) / _med([p.wall_s for p in a.passes]):.1f} | "
            f"{_med([f.wall_s for f in b.floors]) / _med([f.wall_s for f in a.floors]):.1f} | "
            f"{_med([p.rss_mib for p in b.passes]) / _med([p.rss_mib for p in a.passes]):.1f} |"
        )
    return "\n".join(lines)


def report(rows: list[Row], imports: dict[str, float | None], argv: str) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    parts = [
        f"Measured {when} by `{argv}` on: {machine()}.",
        "",
        "Medians over the repetitions (each in fresh processes over a fresh copy of the data); "
        "the ratio is the median of the per-repetition ratios. The machine is shared and noisy: "
        "read the ratios and growth factors, not the third digit.",
        "",
        table(rows),
        "",
        "The floor's parts (medians, collector on) and the library each part counted:",
        "",
        floor_parts(rows),
        "",
        "Each JSON library's time for each part alone (seconds, medians; the floor counts the faster per part):",
        "",
        floor_libraries(rows),
    ]
    g = growth(rows)
    if g:
        parts += ["", "Growth (local store):", "", g]
    parts += [
        "",
        "Import cost (fresh interpreters taking turns, median of 15, less an empty interpreter's start):",
        "",
    ]
    parts += ["| import | seconds |", "|---|---|"]
    for name, t in imports.items():
        parts.append(f"| `{name}` | {'not importable yet' if t is None else f'{t:.3f}'} |")
    boto, handler = imports.get("boto3"), imports.get("monitor.app (handler)")
    if boto and handler is not None:
        parts += ["", f"Handler import / boto3 import: {handler / boto:.2f}× (target ≤ 1.5×)."]
    return "\n".join(parts)


def write_doc(text: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    if not DOC.exists():
        DOC.write_text("# Performance\n")
    write_block(DOC, BEGIN, END, text, "Benchmark results")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--sizes",
        default=os.environ.get("BENCH_SIZES") or "all",
        help="comma-separated of 1k,10k,100k, or small (1k,10k), large (100k), all",
    )
    p.add_argument(
        "--reps",
        type=int,
        default=int(os.environ.get("BENCH_REPS") or 0),
        help="repetitions per size (default: 5 for 1k, 3 for 10k, 2 for 100k)",
    )
    p.add_argument("--stores", default=os.environ.get("BENCH_STORES") or "local,s3")
    p.add_argument("--no-doc", action="store_true", help="print the table only; leave docs/performance.md alone")
    args = p.parse_args(argv)
    sizes = PRESETS.get(args.sizes, args.sizes).split(",")
    stores = args.stores.split(",")
    unknown = [s for s in sizes if s not in DEFAULT_REPS]
    if unknown:
        raise SystemExit(
            f"bench: unknown size(s) {unknown}; choose from {sorted(DEFAULT_REPS)} or {sorted(PRESETS)} "
            "(the 1m workload is the estate rows' alone: python -m bench.estate --sizes 1m --no-cold --block estate-1m)"
        )
    rows: list[Row] = []
    s3_skip = s3_available() if "s3" in stores else None
    for size in sizes:
        w = SIZES[size]
        reps = args.reps or DEFAULT_REPS[size]
        t = time.monotonic()
        src = prepare(w, OUT / "workloads")
        print(f"{size}: workload ready in {time.monotonic() - t:.1f}s ({src.name})", flush=True)
        if "local" in stores:
            rows.append(bench_local(w, src, reps))
        if "s3" in stores:
            if s3_skip:
                meta = orjson.loads((src / "workload.json").read_bytes())
                rows.append(Row(size, "s3 (moto)", meta["records"], w.jobs, skipped=s3_skip))
            else:
                rows.append(bench_s3(w, src, reps))
    imports = import_cost()
    text = report(rows, imports, "make bench BENCH_SIZES=" + args.sizes)
    print()
    print(text)
    if not args.no_doc:
        write_doc(text)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    from bench import estate  # imported here: it imports this module

    estate.run(sizes, args.reps, "make bench BENCH_SIZES=" + args.sizes, not args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
