"""Per-phase timings of a pass, in one process, best of N: `python -m bench.phases [SIZE] [N]`.

The whole-pass figures of `bench.run` are medians on a shared machine; to judge one optimisation, this
times each phase on its own (parse the inbox, decode the state, advance = apply + rules, encode, free what the
pass built) and keeps the best of N repetitions, which is far less noisy. Used for the before/after figures of
each change. The cyclic garbage collector is paused throughout, as `run_pass` pauses it.
"""

from __future__ import annotations

import gc
import sys
import time

from bench.generate import NOW, SIZES, prepare
from bench.run import OUT


def main(argv: list[str]) -> int:
    size = argv[1] if len(argv) > 1 else "10k"
    reps = int(argv[2]) if len(argv) > 2 else 3
    from failstreak.app.config import Config
    from failstreak.app.wiring import pass_settings
    from failstreak.inbox.intake import parse_file
    from failstreak.pipeline.advance import advance
    from failstreak.pipeline.collect import Collected
    from failstreak.pipeline.context import PassContext, Ports
    from failstreak.pipeline.summary import Summary
    from failstreak.state import codec
    from failstreak.state.local import LocalStateStore

    src = prepare(SIZES[size], OUT / "workloads")
    files = [(p.name, p.read_bytes()) for p in sorted((src / "inbox").iterdir())]
    raw_state = (src / "state.json").read_bytes()
    cfg = Config()
    settings = pass_settings(cfg)
    ports = Ports(store=LocalStateStore(str(OUT / "phases-state.json")))  # never loaded nor saved
    best: dict[str, float] = {}

    def timed(name: str, t0: float) -> None:
        best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)

    gc.disable()
    for _ in range(reps):
        t = time.perf_counter()
        details = cfg.failure_statuses()
        executions = [ex for name, data in files for ex in parse_file(name, data, details=details).executions]
        timed("parse inbox", t)
        t = time.perf_counter()
        state = codec.decode(raw_state)
        timed("decode state", t)
        got = Collected(executions=executions)
        t = time.perf_counter()
        ctx = PassContext("p", NOW, settings, ports, Summary("p", NOW), got=got)
        advance(ctx, state)
        timed("advance (apply + rules)", t)
        t = time.perf_counter()
        body = codec.encode(state)
        timed("encode state", t)
        t = time.perf_counter()
        del state, executions, got
        timed("free", t)
    total = sum(best.values())
    print(f"{size}: best of {reps}, seconds; encoded state {len(body) / 2**20:.1f} MiB")
    for name, s in best.items():
        print(f"  {name:<26} {s:7.3f}")
    print(f"  {'total':<26} {total:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
