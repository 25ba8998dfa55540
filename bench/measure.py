"""One measured run, in its own process: `python -m bench.measure MODE CONFIG [OPTION...]` prints one JSON line.

MODE `pass` runs a whole monitor pass (the CLI's and the Lambda's `run_pass`) over the workload the config names.
MODE `floor` does only the unavoidable work over the same data: read every inbox file (gunzip the compressed
ones) and parse every line, read and parse the state document, serialise it back and write it. Each of the
three JSON parts runs with every library the project uses (orjson, msgspec) over the same bytes, and the floor
counts the faster one per part: the floor is what the fastest library the project has could do.
MODE `status` runs `failstreak status --json` (output to /dev/null); MODE `state-floor` reads the state document
(gunzip if stored compressed) and parses it with each library, counting the faster: the floor of `status`.
OPTIONs of `floor`: `gc=paused` runs it with the cyclic garbage collector paused, as `run_pass` runs;
`first=msgspec` times msgspec before orjson in the state parts (the runner alternates it across repetitions,
so neither library always runs on a heap the other has just grown).

Timings cover the work only (the interpreter's start and imports are excluded; for the floor, only the counted
library's time of each part); peak memory is the whole process's peak resident set (VmHWM; the parent falls
back on the child's rusage where /proc is missing).
"""

from __future__ import annotations

import gc
import gzip
import importlib
import io
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import orjson


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _peak_rss_kib() -> int | None:
    """This process's peak resident set (VmHWM). Unlike rusage's ru_maxrss, which Linux carries over from the
    forked parent across exec, it counts only this program's own memory."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class _Clock:
    """Wall and CPU seconds summed per named segment."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        w, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c


def _orjson_lines(data: bytes) -> int:
    n = 0
    for line in data.split(b"\n"):
        if line:
            orjson.loads(line)
            n += 1
    return n


def _msgspec_lines(data: bytes) -> int:
    n = 0
    for line in data.split(b"\n"):
        if line:
            msgspec.json.decode(line)
            n += 1
    return n


_LINES_DECODER = msgspec.json.Decoder()


def _msgspec_decode_lines(data: bytes) -> int:
    # One call over the whole file: it parses every line (blank ones skipped) into a list, freed on return.
    return len(_LINES_DECODER.decode_lines(data))


# Generic decoding to Python builtins only: typed decoding would build the package's own objects, which is
# the pass's work, not the floor's.
INBOX_PARSERS: dict[str, Callable[[bytes], int]] = {
    "orjson": _orjson_lines,
    "msgspec": _msgspec_lines,
    "msgspec decode_lines": _msgspec_decode_lines,
}
STATE_PARSERS: dict[str, Callable[[bytes], Any]] = {"orjson": orjson.loads, "msgspec": msgspec.json.decode}
SERIALISERS: dict[str, Callable[[Any], bytes]] = {"orjson": orjson.dumps, "msgspec": msgspec.json.encode}


def gunzip(data: bytes) -> bytes:
    """Every member of gzip data. Not `gzip.decompress`, which copies the rest of its input at each member's end:
    the state is one member per 64 jobs, and that copying alone took 7 s of a 100k-job state's floor (GzipFile
    reads in bounded steps: 0.7 s) and would take hours at a million jobs."""
    return gzip.GzipFile(fileobj=io.BytesIO(data)).read()


def _fastest(clk: _Clock, prefix: str) -> str:
    times = {k.removeprefix(prefix): v for k, v in clk.wall.items() if k.startswith(prefix)}
    return min(times, key=times.__getitem__)


def _floor(
    inbox: Iterable[bytes],
    load: Callable[[], bytes],
    save: Callable[[bytes], None],
    first: str = "orjson",
    gc_paused: bool = False,
) -> dict[str, Any]:
    """The floor over an inbox (its files' bytes, fetched as iterated) and a state document (load, save).

    Reading, gunzip, the state's gzip and the write are timed once; each JSON part is timed with every library
    and only the faster one counts. The libraries take turns going first (per inbox file; per run, by `first`,
    for the state) so that the warm-up of running second does not always favour the same one.
    """
    enabled = gc.isenabled()
    if gc_paused:
        gc.disable()
    try:
        return _floor_parts(inbox, load, save, first)
    finally:
        if enabled:
            gc.enable()


def _floor_parts(
    inbox: Iterable[bytes], load: Callable[[], bytes], save: Callable[[bytes], None], first: str
) -> dict[str, Any]:
    clk = _Clock()
    lines = 0
    files = iter(inbox)
    n = 0
    while True:
        with clk("inbox read"):
            data = next(files, None)
        if data is None:
            break
        if data[:2] == b"\x1f\x8b":
            with clk("inbox gunzip"):
                data = gunzip(data)
        order = list(INBOX_PARSERS) if n % 2 == 0 else list(reversed(INBOX_PARSERS))
        counts = set()
        for lib in order:
            with clk("inbox parse " + lib):
                counts.add(INBOX_PARSERS[lib](data))
        if len(counts) != 1:
            raise AssertionError(f"the parsers disagree on the number of lines: {counts}")
        lines += counts.pop()
        n += 1
        del data
    with clk("state read"):
        raw = load()
    stored_gzip = raw[:2] == b"\x1f\x8b"
    if stored_gzip:
        with clk("state gunzip"):
            raw = gunzip(raw)
    order = sorted(STATE_PARSERS, key=lambda lib: lib != first)
    doc: Any = None
    for lib in order:
        doc = None  # free the other library's document before this one builds its own
        with clk("state parse " + lib):
            doc = STATE_PARSERS[lib](raw)
    del raw
    body = b""
    for lib in order:
        body = b""
        with clk("serialise " + lib):
            body = SERIALISERS[lib](doc)
    del doc
    if stored_gzip:
        with clk("state gzip"):
            body = _compress(body)
    with clk("state write"):
        save(body)

    def part(fixed: tuple[str, ...], prefix: str) -> tuple[float, float, str, float, dict[str, float]]:
        io = sum(clk.wall.get(k, 0.0) for k in fixed)
        per_lib = {k.removeprefix(prefix): v for k, v in clk.wall.items() if k.startswith(prefix)}
        if not per_lib:  # an empty inbox: nothing to parse
            return io, sum(clk.cpu.get(k, 0.0) for k in fixed), "–", io, per_lib
        lib = _fastest(clk, prefix)
        cpu = sum(clk.cpu.get(k, 0.0) for k in fixed) + clk.cpu[prefix + lib]
        return io + per_lib[lib], cpu, lib, io, per_lib

    inbox_s, inbox_cpu, inbox_lib, inbox_io, inbox_libs = part(("inbox read", "inbox gunzip"), "inbox parse ")
    load_s, load_cpu, load_lib, load_io, load_libs = part(("state read", "state gunzip"), "state parse ")
    save_s, save_cpu, save_lib, save_io, save_libs = part(("state gzip", "state write"), "serialise ")
    return {
        "lines": lines,
        "inbox_s": inbox_s,
        "state_load_s": load_s,
        "state_save_s": save_s,
        # Which library each part counted, and each library's time for that part alone (parse or serialise).
        "libs": {"inbox": inbox_lib, "state_parse": load_lib, "serialise": save_lib},
        "lib_s": {"inbox": inbox_libs, "state_parse": load_libs, "serialise": save_libs},
        # The rest of each part, done once whatever the library: read, gunzip, gzip, write.
        "io_s": {"inbox": inbox_io, "state_parse": load_io, "serialise": save_io},
        "gc": "on" if gc.isenabled() else "paused",
        "floor_wall_s": inbox_s + load_s + save_s,
        "floor_cpu_s": inbox_cpu + load_cpu + save_cpu,
    }


def floor_local(state_path: str, inbox_dir: str, first: str = "orjson", gc_paused: bool = False) -> dict[str, Any]:
    from failstreak.localfs import write_atomic

    def inbox() -> Iterator[bytes]:
        for dirpath, _dirs, names in os.walk(inbox_dir):
            for name in sorted(names):
                with open(os.path.join(dirpath, name), "rb") as f:
                    yield f.read()

    def load() -> bytes:
        with open(state_path, "rb") as f:
            return f.read()

    return _floor(inbox(), load, lambda body: write_atomic(Path(state_path + ".floor"), body), first, gc_paused)


def _compress(body: bytes) -> bytes:
    from failstreak.state import codec

    compress = getattr(codec, "compress", None)
    return compress(body) if compress else gzip.compress(body, compresslevel=1)


def floor_s3(state_uri: str, inbox_uri: str, first: str = "orjson", gc_paused: bool = False) -> dict[str, Any]:
    import boto3

    s3 = boto3.client("s3")
    sb, _, skey = state_uri[5:].partition("/")
    ib, _, iprefix = inbox_uri[5:].partition("/")

    def inbox() -> Iterator[bytes]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=ib, Prefix=iprefix):
            for obj in page.get("Contents", ()):
                yield s3.get_object(Bucket=ib, Key=obj["Key"])["Body"].read()

    def load() -> bytes:
        return bytes(s3.get_object(Bucket=sb, Key=skey)["Body"].read())

    def save(body: bytes) -> None:
        s3.put_object(Bucket=sb, Key=skey + ".floor", Body=body)

    return _floor(inbox(), load, save, first, gc_paused)


def run_pass(config: str, now: int) -> dict[str, Any]:
    from failstreak.app.config import load_config
    from failstreak.app.wiring import pass_settings, ports
    from failstreak.pipeline.run import run_pass as run

    cfg = load_config(config)
    with open(os.devnull, "w") as sink:
        p = ports(cfg, console=sink)
        p.clock = lambda: now
        summary = run(pass_settings(cfg), p)
    s = summary.to_dict()
    return {
        k: s[k]
        for k in (
            "files",
            "ingested",
            "duplicates",
            "superseded",
            "stale",
            "running",
            "rejected",
            "jobs",
            "alerting",
            "conflicts",
            "delivered",
        )
    } | {"notifications": len(s["notifications"])}


def run_status(config: str) -> dict[str, Any]:
    from failstreak.app.cli import main as cli

    saved = sys.stdout
    with open(os.devnull, "w") as sink:
        sys.stdout = sink
        try:
            code = cli(["status", "--json", "--config", config])
        finally:
            sys.stdout = saved
    if code != 0:
        raise SystemExit(f"status exited with {code}")
    return {}


def state_floor(state_path: str) -> dict[str, Any]:
    """Read and parse the state document, each library in turn over the same bytes; the faster one counts."""
    clk = _Clock()
    with clk("read"):
        with open(state_path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gunzip(raw)
    for lib, parse in STATE_PARSERS.items():
        doc = None
        with clk("parse " + lib):
            doc = parse(raw)
        del doc
    lib = _fastest(clk, "parse ")
    return {
        "floor_wall_s": clk.wall["read"] + clk.wall["parse " + lib],
        "floor_cpu_s": clk.cpu["read"] + clk.cpu["parse " + lib],
        "libs": {"state_parse": lib},
    }


def main(argv: list[str]) -> int:
    mode, config = argv[1], argv[2]
    opts = dict(a.split("=", 1) for a in argv[3:])
    from failstreak.app.config import load_config

    cfg = load_config(config)
    now = int(os.environ.get("BENCH_NOW", "0"))
    if mode == "pass":
        # Imported before the clock starts, as the floor's libraries are: importing is not the pass's work (the
        # handler's import cost is measured on its own, against boto3's).
        importlib.import_module("failstreak.pipeline.run")
        importlib.import_module("failstreak.app.wiring")
    if mode == "status":
        # As for the pass: the CLI and the store's wiring are imported before the clock starts.
        importlib.import_module("failstreak.app.cli")
        importlib.import_module("failstreak.app.wiring")
    wall0, cpu0 = time.perf_counter(), _cpu()
    if mode == "pass":
        result = run_pass(config, now)
    elif mode == "floor":
        assert cfg.inbox is not None
        floor = floor_s3 if cfg.state.startswith("s3://") else floor_local
        result = floor(cfg.state, cfg.inbox, opts.get("first", "orjson"), opts.get("gc") == "paused")
    elif mode == "status":
        result = run_status(config)
    elif mode == "state-floor":
        result = state_floor(cfg.state)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    result["wall_s"] = time.perf_counter() - wall0
    result["cpu_s"] = _cpu() - cpu0
    if mode in ("floor", "state-floor"):
        # The floor is the counted library's time of each part; the child also spent time on the slower ones.
        result["child_wall_s"], result["child_cpu_s"] = result["wall_s"], result["cpu_s"]
        result["wall_s"], result["cpu_s"] = result.pop("floor_wall_s"), result.pop("floor_cpu_s")
    result["peak_rss_kib"] = _peak_rss_kib()
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
