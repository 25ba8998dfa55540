"""The Lambda entry point: one monitor pass per scheduled invocation. Wiring only.

Configuration comes from the file named by `FAILSTREAK_CONFIG` (a local path or an s3:// URI). The return
value is the pass summary (docs/cli.md, `run --json`). Every problem of the pass (a delivery failure, a dead
letter, a source error, a rejected line or file, an owners file not used) is logged at WARNING or ERROR with its
reason in structured fields; a pass that cannot complete logs its one-line reason and raises, so the invocation is
reported as an error (and the function's error alarm fires).
"""

from __future__ import annotations

from typing import Any

from failstreak.app import problems, wiring
from failstreak.app.config import load_config
from failstreak.app.observability import log_problem, logger, metrics, record, record_failure, traced
from failstreak.app.preflight import inbox_warnings
from failstreak.errors import ConfigError, FailstreakError
from failstreak.pipeline.run import new_pass_id, run_pass


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    pass_id = new_pass_id()
    logger.set_correlation_id(pass_id)
    try:
        cfg = load_config()
        for message in inbox_warnings(cfg):
            log_problem(problems.Problem(problems.WARNING, message, {"kind": "config"}))
        summary = run_pass(wiring.pass_settings(cfg), wiring.ports(cfg), pass_id=pass_id)
    except ConfigError as e:
        record_failure()
        # Every mistake of the config, one log line each (the first alone reads as it always did).
        for line in str(e).splitlines() or [type(e).__name__]:
            logger.error("pass failed: %s", line)
        raise
    except FailstreakError as e:
        record_failure()
        logger.error("pass failed: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
        raise
    except Exception:
        record_failure()
        logger.exception("pass failed: unexpected error")
        raise
    record(summary)
    for problem in problems.of_summary(summary):
        log_problem(problem)
    result = summary.to_dict()
    failures = summary.delivery_failures
    logger.info(
        "pass completed",
        extra={
            **{k: result[k] for k in ("files", "ingested", "duplicates", "rejected", "jobs", "alerting", "pending")},
            "delivery_failures": len(failures),
            "dead_letters": sum(1 for f in failures if not f["retrying"]),
            "source_errors": sum(1 for s in summary.sources.values() if not s.get("ok", True)),
        },
    )
    return result
