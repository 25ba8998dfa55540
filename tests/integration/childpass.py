"""A monitor pass run as a child process (the installed `failstreak run --json`), with its own peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

GIB = 1024**3
MIB = 1024**2
CHILD_TIMEOUT_S = 120


@dataclass
class Ran:
    code: int
    summary: dict[str, Any]
    stderr: str
    peak_rss: int  # bytes: the child's own ru_maxrss (its VmHWM)


def run_child(config: Path, env: dict[str, str] | None = None) -> Ran:
    """One pass of the installed command in a child process: its exit status, summary and peak RSS."""
    exe = Path(sys.executable).with_name("failstreak")
    workdir = config.parent
    with open(workdir / "out.json", "wb") as out, open(workdir / "err.txt", "wb") as err:
        proc = subprocess.Popen(
            [exe, "run", "--json", "--config", config], stdout=out, stderr=err, env={**os.environ, **(env or {})}
        )
        deadline = time.monotonic() + CHILD_TIMEOUT_S
        while True:
            # wait4 reaps this very child and gives its own rusage (RUSAGE_CHILDREN would mix in earlier ones).
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                pytest.fail(f"the pass did not end within {CHILD_TIMEOUT_S} s")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = (workdir / "out.json").read_bytes()
    return Ran(
        proc.returncode,
        json.loads(stdout) if stdout else {},
        (workdir / "err.txt").read_text(),
        usage.ru_maxrss * 1024,
    )
