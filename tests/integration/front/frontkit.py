"""A front over a test bucket, and signed requests to it as producers and platforms send them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from failstreak.app.config import Config
from failstreak.front.context import Front, front_for
from failstreak.front.routes import handle
from failstreak.front.signing import sign_github, sign_v1
from tests.integration.front.conftest import GITHUB_SECRET, GITLAB_TOKEN, INGEST_SECRET
from tests.integration.front.samples import url_event
from tests.integration.s3 import passkit
from tests.integration.s3.backends import S3

HTTP = """
retire_after_days: null
http:
  ingest_secret: {env: FS_TEST_INGEST_SECRET}
  github_secret: {env: FS_TEST_GITHUB_SECRET}
  gitlab_token: {env: FS_TEST_GITLAB_TOKEN}
"""


def front_config(s3: S3, http: str = HTTP) -> Config:
    return passkit.config(s3, extra=http)


def front(s3: S3, http: str = HTTP) -> Front:
    return front_for(front_config(s3, http))


def call(f: Front, event: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    answer = handle(event, f)
    body = answer.get("body")
    return answer["statusCode"], json.loads(body) if body else None


def ingest_event(
    body: bytes, *, secret: str = INGEST_SECRET, at: float | None = None, binary: bool = False
) -> dict[str, Any]:
    stamp = str(int(time.time() if at is None else at))
    return url_event(
        "/ingest",
        body,
        {
            "content-type": "application/x-ndjson",
            "x-failstreak-timestamp": stamp,
            "x-failstreak-signature": sign_v1(secret, stamp, body),
        },
        base64_body=binary,
    )


def github_event(
    payload: dict[str, Any], event: str, *, delivery: str | None = None, secret: str = GITHUB_SECRET
) -> dict[str, Any]:
    """As GitHub delivers a webhook: https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers"""
    body = json.dumps(payload).encode()
    return url_event(
        "/ingest/github",
        body,
        {
            "content-type": "application/json",
            "user-agent": "GitHub-Hookshot/a5788b1",
            "x-github-event": event,
            "x-github-delivery": delivery or str(uuid.uuid4()),
            "x-github-hook-id": "292430182",
            "x-hub-signature-256": sign_github(secret, body),
        },
    )


def gitlab_event(
    payload: dict[str, Any], *, key: str | None = None, token: str = GITLAB_TOKEN, event: str = "Job Hook"
) -> dict[str, Any]:
    """As GitLab delivers a webhook: https://docs.gitlab.com/user/project/integrations/webhooks/ (the headers
    `X-Gitlab-Event`, `X-Gitlab-Token`, `X-Gitlab-Event-UUID`, `Idempotency-Key`)."""
    body = json.dumps(payload).encode()
    return url_event(
        "/ingest/gitlab",
        body,
        {
            "content-type": "application/json",
            "user-agent": "GitLab/17.6.0",
            "x-gitlab-event": event,
            "x-gitlab-token": token,
            "x-gitlab-event-uuid": str(uuid.uuid4()),
            "x-gitlab-instance": "https://gitlab.example.com",
            "idempotency-key": key or str(uuid.uuid4()),
        },
    )


def inbox_records(s3: S3) -> list[dict[str, Any]]:
    out = []
    for key in s3.keys("fs/inbox/"):
        out.extend(json.loads(line) for line in s3.get(key).splitlines() if line.strip())
    return out
