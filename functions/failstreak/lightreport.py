"""The light reporter: `failstreak report --inbox https://.../ingest`, with the standard library alone.

`pip install failstreak` installs this and nothing else; it posts one execution record (docs/records.md) to the
HTTP front's `/ingest` route, signed with the secret in `FAILSTREAK_INGEST_SECRET` (docs/http.md). The front
checks the record as a pass would and answers 400 with the reason when it is not valid. Run id, URL, commit and
attempt default to the CI system's variables (failstreak/ci.py), as `app/report.py` does for an S3 or local inbox.
A request that fails on the way (no connection, 429, 5xx) is re-signed and sent again, up to `ATTEMPTS` times.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from failstreak.ci import ci_defaults

SECRET_ENV = "FAILSTREAK_INGEST_SECRET"  # noqa: S105 - the name of the variable, not a secret
VERSION = "v1"
ATTEMPTS = 3
TIMEOUT_S = 10
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ReportError(Exception):
    """The record could not be reported; the message is one line for the CI log."""


def sign_v1(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `X-Failstreak-Signature` value: v1= and the hex HMAC-SHA256 of `v1:<timestamp>:<body>`."""
    message = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def posts_over_http(inbox: str | None) -> bool:
    return bool(inbox) and str(inbox).startswith(("https://", "http://"))


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def light_record(
    job: str,
    status: str,
    *,
    env: Mapping[str, str],
    run_id: str | None = None,
    finished_at: str | None = None,
    attempt: int | None = None,
    url: str | None = None,
    commit: str | None = None,
    reason: str | None = None,
    owner: str | None = None,
    source: str | None = None,
    category: str | None = None,
    now: Callable[[], str] = now_rfc3339,
) -> dict[str, Any]:
    """One record from the given fields, the CI system's defaults filling the gaps, fields left unset omitted
    (the front, or `app/report.build_record`, checks the rest). Raises ReportError without a run id."""
    ci = ci_defaults(env)
    run_id = run_id or ci.run_id
    if not run_id:
        raise ReportError("report: give --run-id (no CI run id found in the environment)")
    fields = {
        "job": job,
        "run_id": run_id,
        "status": status,
        "finished_at": finished_at or now(),
        "attempt": attempt if attempt is not None else ci.attempt,
        "url": url or ci.url,
        "commit": commit or ci.commit,
        "reason": reason,
        "owner": owner,
        "source": source or ci.system,
        "category": category,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _answer(e: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(e.read() or b"{}").get("error") or e.reason)
    except ValueError:
        return str(e.reason)


def post(
    url: str,
    records: Sequence[Mapping[str, Any]],
    secret: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> int:
    """POST the records as JSON Lines to the front's `/ingest`; the HTTP status. ReportError when refused."""
    body = b"".join(json.dumps(dict(r), ensure_ascii=False).encode() + b"\n" for r in records)
    last = ""
    for attempt in range(1, ATTEMPTS + 1):
        stamp = str(int(clock()))
        request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s) by the caller
            url,
            data=body,
            method="POST",
            headers={
                "content-type": "application/x-ndjson",
                "user-agent": "failstreak-report",
                "x-failstreak-timestamp": stamp,
                "x-failstreak-signature": sign_v1(secret, stamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as e:
            last = f"{e.code}: {_answer(e)}"
            if e.code not in RETRY_STATUSES:
                raise ReportError(f"report: {url} refused the record ({last})") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            last = str(getattr(e, "reason", e))
        if attempt < ATTEMPTS:
            sleep(float(attempt))
    raise ReportError(f"report: {url} did not take the record after {ATTEMPTS} attempts ({last})")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="failstreak report",
        description="post one execution record (a CI job's result) to the failstreak HTTP front's /ingest",
    )
    p.add_argument(
        "--inbox", required=True, help="the front's ingest URL: https://<id>.lambda-url.<region>.on.aws/ingest"
    )
    p.add_argument("--job", required=True, help="the job's stable name")
    p.add_argument("--status", required=True, help="success, failed, timed_out, canceled… or a platform's spelling")
    p.add_argument("--run-id", help="unique within the job (default: the CI system's run or job id)")
    p.add_argument("--finished-at", help="RFC 3339 time (default: now)")
    p.add_argument("--attempt", type=int, help="retry number; the highest attempt of a run counts")
    p.add_argument("--url", help="link to the run (default: from the CI system)")
    p.add_argument("--commit", help="commit the run built (default: from the CI system)")
    p.add_argument("--reason", help="failure message or category, shown in alerts")
    p.add_argument("--owner", help="owning team, if not routed by JOBOWNERS")
    p.add_argument("--source", help="what produced the record (default: the CI system's name)")
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print where the record went, and the record, as JSON")
    return p


def report(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, Any]:
    """Build and post the record the arguments describe; what was done, for the output."""
    if not posts_over_http(args.inbox):
        raise ReportError("report: the light reporter posts to an https:// ingest URL (docs/http.md)")
    secret = env.get(SECRET_ENV, "")
    if not secret:
        raise ReportError(f"report: set {SECRET_ENV} to the front's ingest secret (docs/http.md)")
    record = light_record(
        args.job,
        args.status,
        env=env,
        run_id=args.run_id,
        finished_at=args.finished_at,
        attempt=args.attempt,
        url=args.url,
        commit=args.commit,
        reason=args.reason,
        owner=args.owner,
        source=args.source,
    )
    status = post(args.inbox, [record], secret)
    return {"posted": args.inbox, "status": status, "record": record}


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """`failstreak report` over HTTP. Exit 0 when the front took the record, 1 with a one-line reason if not."""
    args = parser().parse_args(argv)
    try:
        done = report(args, os.environ if env is None else env)
    except ReportError as e:
        print(f"failstreak: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(done, ensure_ascii=False))
    else:
        print(f"{done['posted']} ({done['status']})")
    return 0
