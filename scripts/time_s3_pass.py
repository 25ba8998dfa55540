"""Time one monitor pass over an S3 inbox of N objects, on moto's HTTP server and on SeaweedFS (both on loopback).

    PYTHONPATH=functions:. python scripts/time_s3_pass.py [--objects 400] [--reps 5] [--backends moto,seaweedfs]

Each repetition uploads the objects to a fresh bucket and times `run_pass` alone (state load, reads, parse,
save, archive). It prints the per-run seconds and the median per backend. The same script, run with another
tree's `functions/` first on PYTHONPATH, gives the figure to compare against: it only uses `run_pass` and the
S3 adapters' public constructors. A measurement tool, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import sys
import time

from tests.integration.s3.backends import S3
from tests.integration.s3.passkit import Clock, Recorder, Workload, config, ports
from tests.integration.s3.s3server import SeaweedServer

from failstreak.monitor import run_pass
from failstreak.stores import s3 as s3store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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


def _time_passes(backend: str, endpoint: str, objects: int, reps: int) -> list[float]:
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    s3store.reset_client()
    work = Workload(files=objects, per_file=4, jobs=50)
    seconds = []
    for _ in range(reps):
        s3 = S3(backend, s3store.client(), "")
        s3.bucket = s3.new_bucket()
        work.upload(s3)
        cfg = config(s3)
        started = time.perf_counter()
        summary = run_pass(cfg, ports(cfg, Recorder(), Clock()))
        seconds.append(time.perf_counter() - started)
        assert summary.files == objects, summary.files
        assert s3.keys("fs/inbox/") == [], "every object archived"
    return seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=400)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--backends", default="moto,seaweedfs")
    args = parser.parse_args(argv)
    _fake_credentials()
    for backend in args.backends.split(","):
        if backend == "moto":
            from moto.server import ThreadedMotoServer  # noqa: PLC0415 - only when asked for

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
            port = _free_port()
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            try:
                runs = _time_passes("moto", f"http://127.0.0.1:{port}", args.objects, args.reps)
            finally:
                server.stop()
        elif backend == "seaweedfs":
            weed = SeaweedServer().start()
            try:
                runs = _time_passes("seaweedfs", weed.endpoint, args.objects, args.reps)
            finally:
                weed.stop()
        else:
            parser.error(f"unknown backend {backend!r}")
        shown = " ".join(f"{s:.2f}" for s in runs)
        print(f"{backend}: {args.objects} objects, runs {shown} s, median {statistics.median(runs):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
