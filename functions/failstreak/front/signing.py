"""The signatures the front accepts, checked in constant time. Pure: bytes and secrets in, a verdict out.

- failstreak's own (`/ingest`): `X-Failstreak-Signature: v1=<hex HMAC-SHA256 of "v1:<timestamp>:<body>">` with
  `X-Failstreak-Timestamp: <unix seconds>`, within `WINDOW_S` of the front's clock either way.
- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
  (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
- GitLab: `X-Gitlab-Token` is the secret token itself, compared as a whole
  (https://docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook).
"""

from __future__ import annotations

import hashlib
import hmac

from failstreak.front.http import HttpError
from failstreak.lightreport import sign_v1

WINDOW_S = 300
__all__ = ["check_github", "check_gitlab", "check_v1", "sign_github", "sign_v1"]


def check_v1(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> None:
    """Raise HttpError(401) unless the signature is the body's at a timestamp within the window of `now`."""
    if timestamp is None or signature is None:
        raise HttpError(401, "missing X-Failstreak-Timestamp or X-Failstreak-Signature")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise HttpError(401, "X-Failstreak-Timestamp is not unix seconds")
    if abs(now - int(timestamp)) > WINDOW_S:
        raise HttpError(401, f"stale request: X-Failstreak-Timestamp is more than {WINDOW_S // 60} minutes away")
    if not hmac.compare_digest(sign_v1(secret, timestamp, body).encode(), signature.encode()):
        raise HttpError(401, "wrong signature")


def sign_github(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_github(secret: str, signature: str | None, body: bytes) -> None:
    if signature is None:
        raise HttpError(401, "missing X-Hub-Signature-256")
    if not hmac.compare_digest(sign_github(secret, body).encode(), signature.encode()):
        raise HttpError(401, "wrong signature")


def check_gitlab(token: str, given: str | None) -> None:
    if given is None:
        raise HttpError(401, "missing X-Gitlab-Token")
    if not hmac.compare_digest(token.encode(), given.encode()):
        raise HttpError(401, "wrong token")
