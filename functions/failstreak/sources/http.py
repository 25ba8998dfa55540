"""The one small HTTP layer every source uses: timeouts, JSON, retries within a time budget, one-line errors.

A `Session` lives for one `pull`. It retries 429, 5xx, connection failures and GitHub's secondary rate limits
(403 with `Retry-After` or an exhausted `X-RateLimit-Remaining`), honouring `Retry-After` / `X-RateLimit-Reset`
and otherwise backing off exponentially, but never past the pull's time budget: a wait that would overrun it
fails the source for this pass instead (its cursor stays where it was, so nothing is lost).

Every failure becomes a `SourceError` whose message names the source and the request path, never a header:
tokens travel only in headers, so they never reach a log line, an error or the summary.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import urllib3

from failstreak.errors import SourceError

log = logging.getLogger("failstreak.sources")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY_IN_ERROR = 160
_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded 2xx answer: the JSON body and the headers (case-insensitive lookup via `header`)."""

    status: int
    data: Any
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def next_link(self) -> str | None:
        """The `rel="next"` URL of an RFC 8288 `Link` header (GitHub, GitLab keyset pagination), if any."""
        link = self.header("link")
        if not link:
            return None
        for target, rels in _LINK_RE.findall(link):
            if "next" in rels.split():
                return str(target)
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


_POOL: urllib3.PoolManager | None = None


def _pool() -> urllib3.PoolManager:
    global _POOL  # noqa: PLW0603 - one connection pool per process, built on first use, never at import
    if _POOL is None:
        _POOL = urllib3.PoolManager(num_pools=8, maxsize=2)
    return _POOL


class Session:
    """HTTP GETs against one platform for one pull.

    `base_url` is the platform's root; relative paths are joined to it, and absolute URLs (from `Link` headers)
    must stay on the same scheme and host, so credentials are never sent anywhere else.
    """

    def __init__(
        self,
        source: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout_seconds: float = 10.0,
        budget_seconds: float = 60.0,
        max_retries: int = 4,
        backoff_seconds: float = 1.0,
        permission_hint: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._origin = (parts.scheme.lower(), parts.netloc.lower())
        self._headers = {"Accept": "application/json", "User-Agent": "failstreak", **headers}
        self._timeout = urllib3.Timeout(connect=min(timeout_seconds, 10.0), read=timeout_seconds)
        self._max_retries = max_retries
        self._backoff = backoff_seconds
        self._hint = permission_hint
        self._sleep = sleep
        self._clock = clock
        self._wall = wall_clock
        self._deadline = clock() + budget_seconds
        self.requests = 0
        self.waited = 0.0

    def _url(self, path_or_url: str, params: Mapping[str, Any] | None) -> str:
        if path_or_url.startswith(("http://", "https://")):
            parts = urlsplit(path_or_url)
            if (parts.scheme.lower(), parts.netloc.lower()) != self._origin:
                raise SourceError(
                    f"{self.source}: the platform pointed a page at another host ({parts.netloc}); not followed"
                )
            url = path_or_url
        else:
            url = self.base_url + "/" + path_or_url.lstrip("/")
        if params:
            query = urlencode({k: _param(v) for k, v in params.items() if v is not None})
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url

    def get(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Response:
        """GET a JSON document. Raises SourceError (one line, naming the source and path) when it cannot."""
        url = self._url(path_or_url, params)
        what = urlsplit(url).path or "/"
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            wait: float | None
            try:
                raw = _pool().request(
                    "GET",
                    url,
                    headers=self._headers,
                    timeout=self._timeout,
                    retries=False,
                    redirect=False,
                )
            except urllib3.exceptions.HTTPError as e:
                problem = _describe_network_error(e)
                wait = None
            else:
                status = raw.status
                headers = dict(raw.headers.items())
                if 200 <= status < 300:
                    return Response(status, self._decode(raw.data, what), headers)
                retryable, wait = self._retry_wait(status, headers)
                if not retryable:
                    raise SourceError(self._refusal(status, what, raw.data))
                problem = f"HTTP {status}"
            if attempt > self._max_retries:
                tries = f"{attempt} attempts" if attempt > 1 else "1 attempt"
                raise SourceError(f"{self.source}: GET {what}: {problem} (gave up after {tries})")
            if wait is None:
                wait = self._backoff * (2 ** (attempt - 1)) * (0.5 + random.random() / 2)  # noqa: S311 - jitter
            delay = wait
            remaining = self._deadline - self._clock()
            if delay > remaining:
                raise SourceError(
                    f"{self.source}: GET {what}: {problem}; waiting {delay:.0f}s more would overrun the "
                    f"{self.source} time budget, retrying next pass"
                )
            log.info("%s: GET %s: %s, retrying in %.2fs", self.source, what, problem, delay)
            self.waited += delay
            self._sleep(delay)

    def _retry_wait(self, status: int, headers: Mapping[str, str]) -> tuple[bool, float | None]:
        """Whether retrying this answer can help, and how long the platform asked us to wait (None: back off)."""
        lower = {k.lower(): v for k, v in headers.items()}
        now = self._wall()
        after = parse_retry_after(lower.get("retry-after"), now)
        limited = lower.get("x-ratelimit-remaining") == "0"
        if status not in RETRYABLE_STATUSES and not (status == 403 and (after is not None or limited)):
            return False, None
        if after is not None:
            return True, after
        reset = lower.get("x-ratelimit-reset", "").strip()
        if limited and reset.isdigit():
            return True, max(0.0, float(reset) - now) + 1.0
        if status == 403:
            # A secondary rate limit without a hint: GitHub asks clients to wait at least a minute.
            return True, 60.0
        return True, None

    def _refusal(self, status: int, what: str, body: bytes) -> str:
        if status in (401, 403):
            hint = f" (needs {self._hint})" if self._hint else ""
            return f"{self.source}: GET {what}: HTTP {status}: the token was refused or lacks permission{hint}"
        if status == 404:
            return f"{self.source}: GET {what}: HTTP 404: not found (check the url and the project/repo names)"
        if 300 <= status < 400:
            return f"{self.source}: GET {what}: HTTP {status}: redirected; set the source's url to the new address"
        return f"{self.source}: GET {what}: HTTP {status}: {_body_message(body)}"

    def _decode(self, data: bytes, what: str) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            raise SourceError(f"{self.source}: GET {what}: malformed page: not JSON") from None

    def malformed(self, what: str, detail: str) -> SourceError:
        """The error for a page that is JSON but not in the platform's documented shape."""
        return SourceError(f"{self.source}: {what}: malformed page: {detail}")


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _describe_network_error(e: Exception) -> str:
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2.x, so it is tested first.
    if isinstance(e, urllib3.exceptions.NewConnectionError):
        return "cannot connect"
    if isinstance(e, urllib3.exceptions.TimeoutError):
        return "timed out"
    return f"connection failed ({type(e).__name__})"


def _body_message(body: bytes) -> str:
    """A short, single-line description of an error body (platforms put their message in JSON)."""
    text = ""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", errors="replace")
    else:
        if isinstance(decoded, dict):
            for key in ("message", "error_description", "error", "detailedMessage"):
                value = decoded.get(key)
                if isinstance(value, str) and value:
                    text = value
                    break
    text = " ".join(text.split())
    if not text:
        return "no message"
    return text if len(text) <= MAX_BODY_IN_ERROR else text[: MAX_BODY_IN_ERROR - 1] + "…"
