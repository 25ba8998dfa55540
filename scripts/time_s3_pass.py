"""Time one monitor pass over an S3 inbox of N objects, on moto's server and on SeaweedFS (both on loopback).

    PYTHONPATH=functions:. python scripts/time_s3_pass.py [--objects 400] [--reps 5] [--workers 1,8] [--latency-ms 20]

Each repetition uploads the objects to a fresh bucket and times `run_pass` alone (state load, reads, parse,
save, archive), with the CPU the pass's process spent in it. Both servers run as processes of their own
(`moto_server`, `weed`), as S3 is to a Lambda. `--workers 1,8` runs, within each repetition, one pass per
value of `S3Inbox.workers` in turn (1 is the one-object-at-a-time pass), so a noisy machine disturbs the
values alike; it prints each run and the medians. Without it the adapter's default is used, so the script also
times another tree's `functions/` put first on PYTHONPATH.

`--latency-ms` adds a wait to every request, standing for the network between a Lambda and S3 that loopback
lacks.

A measurement tool, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.s3.backends import S3
from tests.integration.s3.passkit import Clock, Recorder, Workload, config, ports
from tests.integration.s3.s3server import SeaweedServer

from failstreak import s3client as s3store
from failstreak.app.wiring import pass_settings
from failstreak.inbox.s3 import S3Inbox
from failstreak.pipeline.run import run_pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto_server did not start within 30s")


def _fake_credentials() -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - a local server's fake credentials
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )


def _time_passes(
    backend: str, endpoint: str, objects: int, reps: int, workers: list[int | None], latency_ms: float
) -> None:
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    s3store.reset_client()
    if latency_ms:
        # Loopback answers in well under a millisecond; S3 from a Lambda takes tens. The wait is a sleep,
        # which, like a socket wait, lets the other threads run.
        def network(**_: object) -> None:
            time.sleep(latency_ms / 1000)

        s3store.client().meta.events.register("before-send.s3", network, unique_id="time-s3-pass-latency")
    work = Workload(files=objects, per_file=4, jobs=50)
    seconds: dict[int | None, list[float]] = {w: [] for w in workers}
    cpu: dict[int | None, list[float]] = {w: [] for w in workers}
    for _ in range(reps):
        for w in workers:
            s3 = S3(backend, s3store.client(), "")
            s3.bucket = s3.new_bucket()
            work.upload(s3)
            cfg = config(s3)
            p = ports(cfg, Recorder(), Clock())
            if w is not None:
                assert isinstance(p.inbox, S3Inbox)
                p.inbox.workers = w
            started, started_cpu = time.perf_counter(), time.process_time()
            summary = run_pass(pass_settings(cfg), p)
            seconds[w].append(time.perf_counter() - started)
            cpu[w].append(time.process_time() - started_cpu)
            assert summary.files == objects, summary.files
            assert s3.keys("fs/inbox/") == [], "every object archived"
    for w, runs in seconds.items():
        label = ("default workers" if w is None else f"workers={w}") + (
            f", +{latency_ms:g} ms per request" if latency_ms else ""
        )
        shown = " ".join(f"{s:.2f}" for s in runs)
        print(
            f"{backend}, {objects} objects, {label}: runs {shown} s, median {statistics.median(runs):.2f} s "
            f"(this process's CPU: median {statistics.median(cpu[w]):.2f} s)"
        )
    if len(workers) == 2:
        first, second = (seconds[w] for w in workers)
        ratio = statistics.median(a / b for a, b in zip(first, second, strict=True))
        print(f"{backend}: median per-repetition ratio {workers[0]} / {workers[1]} workers = {ratio:.2f}x")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=400)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--backends", default="moto,seaweedfs")
    parser.add_argument("--workers", help="comma-separated S3Inbox.workers values to compare, e.g. 1,8")
    parser.add_argument("--latency-ms", type=float, default=0, help="a wait added to every S3 request")
    args = parser.parse_args(argv)
    workers: list[int | None] = [int(w) for w in args.workers.split(",")] if args.workers else [None]
    _fake_credentials()
    for backend in args.backends.split(","):
        if backend == "moto":
            port = _free_port()
            exe = str(Path(sys.executable).parent / "moto_server")
            server = subprocess.Popen(  # noqa: S603 - the venv's own moto_server, fixed arguments
                [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                _wait_for(port)
                _time_passes("moto", f"http://127.0.0.1:{port}", args.objects, args.reps, workers, args.latency_ms)
            finally:
                server.terminate()
                server.wait(timeout=10)
        elif backend == "seaweedfs":
            weed = SeaweedServer().start()
            try:
                _time_passes("seaweedfs", weed.endpoint, args.objects, args.reps, workers, args.latency_ms)
            finally:
                weed.stop()
        else:
            parser.error(f"unknown backend {backend!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
