"""A Lambda cold start, timed from inside a fresh interpreter: `python -m bench.cold` (run by `bench/estate.py`).

It imports the handler and invokes it once (the cold start), then again (warm), and prints one JSON line with
the in-process seconds of each step. It imports nothing of its own beyond the standard library's `time`, `os`
and `sys` before the handler, so the runner's wall time of this child is the cold start's own.
"""

import os
import sys
import time


class LambdaContext:
    function_name = "failstreak-monitor"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:failstreak-monitor"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def main() -> None:
    t0 = time.perf_counter()
    from monitor.app import lambda_handler

    t1 = time.perf_counter()
    with open(os.devnull, "w") as sink:
        saved, sys.stdout = sys.stdout, sink  # the handler's logs and metrics
        try:
            lambda_handler({}, LambdaContext())
            t2 = time.perf_counter()
            lambda_handler({}, LambdaContext())
            t3 = time.perf_counter()
        finally:
            sys.stdout = saved
    print(f'{{"import_s": {t1 - t0}, "first_s": {t2 - t1}, "warm_s": {t3 - t2}}}')


if __name__ == "__main__":
    main()
