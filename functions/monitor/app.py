"""The Lambda entry point: one monitor pass per scheduled invocation. Wiring only.

Configuration comes from the file named by `FAILSTREAK_CONFIG` (a local path or an s3:// URI). The return
value is the pass summary of SPEC 6; a pass that cannot complete logs its one-line reason and raises, so the
invocation is reported as an error (and the function's error alarm fires).
"""

from __future__ import annotations

from typing import Any

from failstreak import wiring
from failstreak.config import load_config
from failstreak.errors import FailstreakError
from failstreak.monitor import new_pass_id, run_pass
from failstreak.observability import logger, metrics, record, record_failure, traced


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    pass_id = new_pass_id()
    logger.set_correlation_id(pass_id)
    try:
        cfg = load_config()
        summary = run_pass(cfg, wiring.ports(cfg), pass_id=pass_id)
    except FailstreakError as e:
        record_failure()
        logger.error("pass failed: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
        raise
    except Exception:
        record_failure()
        logger.exception("pass failed: unexpected error")
        raise
    record(summary)
    result = summary.to_dict()
    logger.info(
        "pass completed",
        extra={k: result[k] for k in ("files", "ingested", "duplicates", "rejected", "jobs", "alerting", "pending")},
    )
    return result
