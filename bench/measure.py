"""One measured run, in its own process: `python -m bench.measure MODE CONFIG` prints one JSON line.

MODE `pass` runs a whole monitor pass (the CLI's and the Lambda's `run_pass`) over the workload the config names.
MODE `floor` does only the unavoidable work over the same data: read every inbox file (gunzip the compressed
ones) and parse every line with orjson, read and parse the state document, serialise it back and write it.

Timings cover the work only (the interpreter's start and imports are excluded); peak memory is the whole
process's peak resident set (VmHWM; the parent falls back on the child's rusage where /proc is missing).
"""

from __future__ import annotations

import gzip
import os
import sys
import time
from typing import Any

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


def floor_local(state_path: str, inbox_dir: str) -> dict[str, Any]:
    from failstreak.stores.local import write_atomic

    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    lines = 0
    for dirpath, _dirs, names in os.walk(inbox_dir):
        for name in sorted(names):
            with open(os.path.join(dirpath, name), "rb") as f:
                data = f.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            for line in data.split(b"\n"):
                if line:
                    orjson.loads(line)
                    lines += 1
    t1 = time.perf_counter()
    with open(state_path, "rb") as f:
        raw = f.read()
    doc = _load_state(raw)
    t2 = time.perf_counter()
    body = orjson.dumps(doc)
    if raw[:2] == b"\x1f\x8b":
        body = _compress(body)
    write_atomic_path = state_path + ".floor"
    from pathlib import Path

    write_atomic(Path(write_atomic_path), body)
    t3 = time.perf_counter()
    out.update(lines=lines, inbox_s=t1 - t0, state_load_s=t2 - t1, state_save_s=t3 - t2)
    return out


def _load_state(raw: bytes) -> Any:
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return orjson.loads(raw)


def _compress(body: bytes) -> bytes:
    from failstreak import statecodec

    compress = getattr(statecodec, "compress", None)
    return compress(body) if compress else gzip.compress(body, compresslevel=1)


def floor_s3(state_uri: str, inbox_uri: str) -> dict[str, Any]:
    import boto3

    s3 = boto3.client("s3")
    sb, _, skey = state_uri[5:].partition("/")
    ib, _, iprefix = inbox_uri[5:].partition("/")
    t0 = time.perf_counter()
    lines = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=ib, Prefix=iprefix):
        for obj in page.get("Contents", ()):
            data = s3.get_object(Bucket=ib, Key=obj["Key"])["Body"].read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            for line in data.split(b"\n"):
                if line:
                    orjson.loads(line)
                    lines += 1
    t1 = time.perf_counter()
    raw = s3.get_object(Bucket=sb, Key=skey)["Body"].read()
    doc = _load_state(raw)
    t2 = time.perf_counter()
    body = orjson.dumps(doc)
    if raw[:2] == b"\x1f\x8b":
        body = _compress(body)
    s3.put_object(Bucket=sb, Key=skey + ".floor", Body=body)
    t3 = time.perf_counter()
    return {"lines": lines, "inbox_s": t1 - t0, "state_load_s": t2 - t1, "state_save_s": t3 - t2}


def run_pass(config: str, now: int) -> dict[str, Any]:
    from failstreak.config import load_config
    from failstreak.monitor import run_pass as run
    from failstreak.wiring import ports

    cfg = load_config(config)
    with open(os.devnull, "w") as sink:
        p = ports(cfg, console=sink)
        p.clock = lambda: now
        summary = run(cfg, p)
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


def main(argv: list[str]) -> int:
    mode, config = argv[1], argv[2]
    from failstreak.config import load_config

    cfg = load_config(config)
    now = int(os.environ.get("BENCH_NOW", "0"))
    wall0, cpu0 = time.perf_counter(), _cpu()
    if mode == "pass":
        result = run_pass(config, now)
    elif mode == "floor":
        assert cfg.inbox is not None
        floor = floor_s3 if cfg.state.startswith("s3://") else floor_local
        result = floor(cfg.state, cfg.inbox)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    result["wall_s"] = time.perf_counter() - wall0
    result["cpu_s"] = _cpu() - cpu0
    result["peak_rss_kib"] = _peak_rss_kib()
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
