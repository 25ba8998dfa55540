"""The HTTP front's Lambda entry point, behind a Function URL (payload format 2.0). Wiring only.

The config is the monitor's (`FAILSTREAK_CONFIG`), read again at most once a minute by a warm function; the routes
are in failstreak/front/ (docs/http.md). A config that cannot be read answers 500 and logs its one-line reason; the
caller's request and secrets are never logged.
"""

from __future__ import annotations

import time
from typing import Any

from failstreak.app.config_cache import CachedConfig
from failstreak.app.observability import logger, record_front
from failstreak.errors import FailstreakError
from failstreak.front.context import front_for
from failstreak.front.routes import handle

CONFIG = CachedConfig()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Slack's 3 seconds run from the request, so the budget for its follow-ups counts the config's read too.
    started = time.monotonic()
    try:
        front = front_for(CONFIG.get(), started=started)
    except FailstreakError as e:
        logger.error("front: config unusable: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
        record_front(500)
        return {"statusCode": 500, "body": '{"error": "the front is misconfigured (see its log)"}'}
    response = handle(event, front)
    record_front(response["statusCode"], len(front.dropped))
    return response
