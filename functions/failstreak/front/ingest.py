"""`POST /ingest`: execution records from any producer, signed with the shared ingest secret (docs/http.md).

The body is JSON Lines or a JSON array of records (docs/records.md), checked as the pass checks an inbox file;
one bad record refuses the whole request (400, naming the line), so a producer learns at once and nothing is half
written. A good body is written to the inbox as it came, one object per request; its signature is claimed first,
so the same signed request is accepted once.
"""

from __future__ import annotations

import zlib

from failstreak.app.report import object_name
from failstreak.core.model import now_ms
from failstreak.front.context import Front
from failstreak.front.http import HttpError, Request, Response
from failstreak.front.signing import check_v1
from failstreak.gzipped import InflatedTooLarge, inflate
from failstreak.inbox.intake import parse_file
from failstreak.inbox.records import latest_time

ROUTE = "/ingest"
# What a gzipped body may hold once decompressed (about 70,000 records): the front has 256 MB of memory, and a
# small body can inflate a thousandfold.
MAX_INFLATED = 16 * 1024 * 1024


def handle(request: Request, front: Front) -> Response:
    secret = front.secret(front.http.ingest_secret, ROUTE)
    signature = request.header("x-failstreak-signature")
    check_v1(secret, request.header("x-failstreak-timestamp"), signature, request.body, front.now())
    assert signature is not None  # check_v1 refuses a request without one
    parsed = parse_file("request", _inflated(request.body), latest=latest_time(now_ms(), front.max_clock_skew_ms))
    if parsed.rejected:
        first = parsed.rejected[0]
        more = f" (and {len(parsed.rejected) - 1} more)" if len(parsed.rejected) > 1 else ""
        raise HttpError(400, f"line {first.line}: {first.reason}{more}")
    if parsed.fatal is not None:
        raise HttpError(400, parsed.fatal)
    first_run = parsed.executions[0]
    name = object_name({"job": first_run.job, "run_id": first_run.run_id, "attempt": first_run.attempt})
    front.write_claimed("ingest", signature, name, request.body)
    return Response(202, {"accepted": len(parsed.executions)})


def _inflated(body: bytes) -> bytes:
    """The body as text: gzip inflated within `MAX_INFLATED` (413 past it), anything else as it came."""
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        return inflate(body, MAX_INFLATED)
    except InflatedTooLarge as e:
        raise HttpError(413, f"the gzipped body holds {e}: split it into several requests") from None
    except (OSError, EOFError, zlib.error) as e:
        raise HttpError(400, f"not a readable gzip body ({e})") from None
