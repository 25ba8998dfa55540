"""The follow-ups of a click, within Slack's 3 seconds (docs/http.md, "Answering Slack in time").

Slack wants the HTTP answer to an interaction within 3 seconds; a Lambda cannot answer first and work after, since
its process is frozen once it answers. So the front does what matters first (the durable write of the mute), then
the follow-ups that only show it (the message updated through `response_url`, the note in the job's thread), each
within what is left of a budget counted from the moment the front got the request (`Budget`, 2 seconds by
default). A follow-up that fails or does not fit is logged and dropped; the mute itself is saved either way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

log = logging.getLogger("failstreak.front")

DEFAULT_BASE_URL = "https://slack.com/api/"
# Less time than this left: a follow-up is not started (it could not finish before Slack gives up on us).
MIN_CALL_S = 0.05


@dataclass
class Budget:
    """Seconds left of `seconds` since `started` (time.monotonic)."""

    seconds: float
    started: float = field(default_factory=time.monotonic)
    clock: Callable[[], float] = time.monotonic

    def left(self) -> float:
        return self.seconds - (self.clock() - self.started)


class Replies:
    """Follow-ups through Slack: `respond` posts to a `response_url`, `post` writes in a channel or thread with
    the bot token (none: no thread notes). Each returns whether Slack took it; none raises."""

    def __init__(
        self, budget: Budget, token: str | None, base_url: str | None, skipped: list[str] | None = None
    ) -> None:
        self.budget = budget
        self.token = token
        self.base_url = base_url
        # What was given up, by name: the caller's list when it counts them (the front's handler does).
        self.skipped: list[str] = [] if skipped is None else skipped

    def _timeout(self, what: str) -> float | None:
        left = self.budget.left()
        if left < MIN_CALL_S:
            self.skipped.append(what)
            log.warning("slack: %s not sent: the %.1f s budget to answer Slack is spent", what, self.budget.seconds)
            return None
        return left

    def respond(self, response_url: str | None, body: dict[str, Any], what: str) -> bool:
        """POST `body` to the interaction's `response_url` (update the message, or say something to one person)."""
        if response_url is None:
            return False
        timeout = self._timeout(what)
        if timeout is None:
            return False
        client = WebhookClient(response_url)
        # slack-sdk hands the timeout to urllib, which takes fractions of a second; its annotation says int.
        client.timeout = timeout  # type: ignore[assignment]
        try:
            sent = client.send_dict(body)
        except Exception as e:  # a follow-up is never worth failing the answer for
            return self._failed(what, type(e).__name__)
        if sent.status_code != 200:
            return self._failed(what, f"HTTP {sent.status_code}")
        return True

    def post(self, channel: str, thread_ts: str | None, text: str, what: str) -> bool:
        """chat.postMessage with the bot token, in the thread `thread_ts` when given."""
        if self.token is None:
            return False
        timeout = self._timeout(what)
        if timeout is None:
            return False
        client = WebClient(token=self.token, base_url=self.base_url or DEFAULT_BASE_URL)
        client.timeout = timeout  # type: ignore[assignment]
        try:
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=text, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as e:
            error = e.response.get("error") if isinstance(e.response.data, dict) else None
            return self._failed(what, str(error or e.response.status_code))
        except Exception as e:
            return self._failed(what, type(e).__name__)
        return True

    def _failed(self, what: str, why: str) -> bool:
        self.skipped.append(what)
        log.warning("slack: %s not sent: %s", what, why)
        return False
