"""The Slack notifier: Block Kit digests through slack-sdk, with a bot token or an incoming webhook.

Bot mode (`chat:write`):
- a pass's `triggered` events for one channel go out as one digest message (split when too long); each job's
  `ref` is `CHANNEL_ID|TS` of the message that announced it, kept in the state per job and destination;
- a `reminder` or `resolved` is a reply in the thread of that message (one reply per thread per pass), and a
  `resolved` also rewrites the original message (`chat.update`) so the channel shows which of its jobs are fixed;
- events without a thread (the triggered message predates this notifier, or went out by webhook) are posted
  as a new digest;
- a daily digest (docs/digest.md) is a message of its own, after the pass's alerts;
- every message is posted as its header, then filled in with `chat.update`: chat.postMessage has no idempotency
  key, so a post whose answer is lost is posted again, and what repeats is then one header line, never a job
  (docs/notifications.md, "Sent twice?").

Webhook mode: every digest is posted to the webhook's channel; there is no `ts`, so no threads and no updates.

Errors are translated: rate limiting that outlasts the retries, HTTP 5xx, timeouts and connection errors are
retryable (the entry stays pending for the next pass); a wrong channel, a revoked token or a rejected payload
is permanent (dead-lettered at once). A transport failure or a 5xx is `Unreachable`: the base notifier then
fails the rest of the pass's Slack deliveries fast rather than waiting out a timeout per message.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from failstreak.core.model import Event, Notification
from failstreak.core.outbox import Delivery, DeliveryError, DeliveryResult
from failstreak.notifiers.base import BaseNotifier, Batch, Unreachable
from failstreak.notifiers.slack_render import SlackMessage, board, daily, digest

if TYPE_CHECKING:
    from failstreak.app.config import SlackConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_BASE_URL = "https://slack.com/api/"
# Longest Retry-After worth sleeping through inside a pass; longer waits are left to the next pass.
MAX_RATE_LIMIT_WAIT = 10

# Errors a later attempt cannot fix: the destination or the credentials are wrong, or the payload is refused.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "team_access_not_granted",
        "ekm_access_denied",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_arguments",
        "msg_too_long",
        "too_many_attachments",
        "no_text",
        # incoming webhooks
        "invalid_payload",
        "invalid_token",
        "action_prohibited",
        "no_service",
        "no_active_hooks",
        "user_not_found",
    }
)
# A reply whose parent is gone: `cannot_reply_to_message` is what chat.postMessage documents for a message that
# cannot take thread replies (a deleted original); the other two are not documented for it, and kept as synonyms.
_THREAD_GONE = frozenset({"cannot_reply_to_message", "thread_not_found", "message_not_found"})
_HINTS = {
    "channel_not_found": "no such channel, or the app cannot see it (invite it, or add chat:write.public)",
    "not_in_channel": "the app is not a member of the channel: invite it, or add the chat:write.public scope",
    "invalid_auth": "the token is not valid",
    "not_authed": "no token was sent",
    "account_inactive": "the token belongs to a deactivated user or workspace",
    "token_revoked": "the token was revoked",
    "missing_scope": "the app lacks the chat:write scope",
    "is_archived": "the channel is archived",
}


def classify(status: int | None, error: str | None) -> DeliveryError:
    """Translate an HTTP status and Slack `error` code into a DeliveryError (no vendor types); `Unreachable`
    when Slack itself is failing."""
    code = error or (f"HTTP {status}" if status else "unknown error")
    if status == 429 or code == "ratelimited":
        # Slack limits chat.postMessage per channel: other channels may still take messages this pass.
        return DeliveryError("ratelimited (still rate limited after retrying)", retryable=True)
    if status is not None and status >= 500:
        return Unreachable(f"Slack unavailable (HTTP {status})")
    if code in PERMANENT_ERRORS:
        hint = _HINTS.get(code)
        return DeliveryError(f"{code}: {hint}" if hint else code, retryable=False)
    if status is not None and 400 <= status < 500 and status != 408:
        return DeliveryError(code, retryable=False)
    # Unknown errors are retried: the outbox's max_attempts bounds how long.
    return DeliveryError(code, retryable=True)


def _from_api_error(e: SlackApiError) -> DeliveryError:
    response = e.response
    status = getattr(response, "status_code", None)
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str) and error.startswith("Received a response in a non-JSON format"):
        error = None
    return classify(status, error if isinstance(error, str) else None)


def _from_exception(e: Exception) -> Unreachable:
    # Timeouts, refused connections, DNS and TLS failures: the request may not have reached Slack.
    kind = "timed out" if isinstance(e, TimeoutError) or "timed out" in str(e) else "unreachable"
    return Unreachable(f"Slack {kind} ({type(e).__name__})")


def _calling(fn: Callable[[], T]) -> T:
    """Run slack-sdk calls, translating whatever they raise into a DeliveryError."""
    try:
        return fn()
    except SlackApiError as e:
        raise _from_api_error(e) from None
    except _WebhookError as e:
        raise classify(e.status, e.body.strip() or None) from None
    except Exception as e:  # any transport failure is a delivery failure, never a crash
        raise _from_exception(e) from None


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's rate-limit retry, but only when Slack asks to wait no longer than `max_wait` seconds."""

    def __init__(self, max_retry_count: int = 2, max_wait: int = MAX_RATE_LIMIT_WAIT) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None
        for key, values in response.headers.items():
            if key.lower() == "retry-after" and values:
                try:
                    return int(values[0]) <= self.max_wait
                except ValueError:
                    return False
        return True


def retry_handlers() -> list[RetryHandler]:
    return [ConnectionErrorRetryHandler(max_retry_count=1), BoundedRateLimitRetryHandler()]


def parse_ref(ref: str | None) -> tuple[str, str] | None:
    """(channel id, ts) from a stored ref `CHANNEL_ID|TS`; None for anything else."""
    if not ref or "|" not in ref:
        return None
    channel, _, ts = ref.partition("|")
    return (channel, ts) if channel and ts else None


@dataclass(frozen=True, slots=True)
class Announce:
    """A new message announcing jobs: its ref `CHANNEL_ID|TS` becomes theirs, to thread their follow-ups."""

    message: SlackMessage


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply in the thread `thread` (a ref); posted as a new message when that thread is gone."""

    message: SlackMessage
    thread: str


@dataclass(frozen=True, slots=True)
class Loose:
    """A follow-up with no thread to go to (webhook mode, or a thread this state never knew): a new message."""

    message: SlackMessage


@dataclass(frozen=True, slots=True)
class Rewrite:
    """The original message `ref` (channel id, ts) re-rendered, once some of its jobs are fixed."""

    message: SlackMessage
    ref: tuple[str, str]


Outgoing = Announce | Reply | Loose | Rewrite


class SlackNotifier(BaseNotifier[Outgoing]):
    """Posts digests to Slack channels (bot token) or to one incoming webhook. See the module docstring."""

    kind = "slack"

    def __init__(
        self,
        client: WebClient | None = None,
        webhook: WebhookClient | None = None,
        page_link: Callable[[], str | None] | None = None,
        *,
        actions: bool = False,
    ) -> None:
        """`page_link` gives the run-history link messages end with (app/pagelink.py), None for none; `actions`
        puts each failing job's controls in the messages."""
        if (client is None) == (webhook is None):
            raise ValueError("give exactly one of client (bot token) or webhook")
        super().__init__()
        self._client = client
        self._webhook = webhook
        self._page_link = page_link
        # Buttons on alerts only when the front answers them (`http.slack_signing_secret`): no dead buttons.
        self.actions = actions

    @classmethod
    def from_config(
        cls,
        cfg: SlackConfig,
        resolve: Callable[[Any], str],
        page_link: Callable[[], str | None] | None = None,
        *,
        actions: bool = False,
    ) -> SlackNotifier:
        """Build from `notify.slack`; `resolve` turns a SecretRef into its value (never logged)."""
        timeout = max(1, math.ceil(cfg.timeout_seconds))
        if cfg.webhook_url is not None:
            return cls(
                webhook=WebhookClient(resolve(cfg.webhook_url), timeout=timeout, retry_handlers=retry_handlers()),
                page_link=page_link,
                actions=actions,
            )
        client = WebClient(
            token=resolve(cfg.token),
            base_url=cfg.base_url or DEFAULT_BASE_URL,
            timeout=timeout,
            retry_handlers=retry_handlers(),
        )
        return cls(client=client, page_link=page_link, actions=actions)

    # -- which messages: the triggered digest, then replies per thread, then what has no thread ---------------

    def batches(
        self, target: str, deliveries: Sequence[Delivery], sent: Mapping[str, DeliveryResult]
    ) -> Iterator[Batch[Outgoing]]:
        by_id = {d.notification.id: d for d in deliveries}
        # Every message of the pass ends with the same run-history link (minted once, with the pass's clock).
        link = self._page_link() if self._page_link is not None else None
        messages = partial(digest, page_link=link, actions=self.actions)
        announcing = messages([d.notification for d in deliveries if d.notification.event is Event.TRIGGERED])
        for message in announcing:
            yield Batch(Announce(message), _carried(message, by_id))
        # Read only now, once the announcing messages are sent: a follow-up replies in the thread of one of them.
        rosters = _rosters(announcing, by_id, sent)
        threads, loose = self._threads(deliveries, {job: ref for ref, jobs in rosters.items() for job in jobs})
        for thread, group in threads.items():
            for message in messages([d.notification for d in group]):
                yield Batch(Reply(message, thread), _carried(message, by_id))
            rewrite = _rewrite(thread, group, rosters.get(thread, []), sent)
            if rewrite is not None:
                # The reply went out; a stale original message is not worth re-sending the reply for.
                yield Batch(rewrite, follow_up="mark the original message fixed")
        for message in messages(loose):
            yield Batch(Loose(message), _carried(message, by_id))
        for d in deliveries:
            if d.notification.event is Event.DIGEST:
                yield Batch(Loose(daily(d.notification, link)), (d,))

    def _threads(
        self, deliveries: Sequence[Delivery], announced: Mapping[str, str]
    ) -> tuple[dict[str, list[Delivery]], list[Notification]]:
        """The reminders and fixes by the thread they reply in, and those with no thread to go to."""
        threads: dict[str, list[Delivery]] = {}
        loose: list[Notification] = []
        for d in deliveries:
            if d.notification.event in (Event.TRIGGERED, Event.DIGEST):
                continue
            thread = d.thread or announced.get(d.notification.job)
            if self._client is not None and thread is not None and parse_ref(thread) is not None:
                threads.setdefault(thread, []).append(d)
            else:
                loose.append(d.notification)
        return threads, loose

    # -- sending one message ---------------------------------------------------------------------------------

    def deliver(self, target: str, message: Outgoing) -> str | None:
        if isinstance(message, Announce):
            return self._post(target, message.message, None)
        if isinstance(message, Reply):
            return self._reply(target, message)
        if isinstance(message, Loose):
            self._post(target, message.message, None)
            return None
        _calling(partial(self._update, message.ref, message.message))
        return None

    def _reply(self, target: str, reply: Reply) -> str:
        try:
            self._post(target, reply.message, parse_ref(reply.thread))
        except DeliveryError as e:
            if str(e).partition(":")[0] not in _THREAD_GONE:
                raise
            # The original message was deleted: say it at the top level instead.
            self._post(target, reply.message, None)
        return reply.thread

    def _post(self, target: str, message: SlackMessage, thread: tuple[str, str] | None) -> str | None:
        """Post one message; return its ref `CHANNEL_ID|TS` (None for webhooks)."""
        return _calling(partial(self._post_call, target, message, thread))

    def _post_call(self, target: str, message: SlackMessage, thread: tuple[str, str] | None) -> str | None:
        if self._webhook is not None:
            sent = self._webhook.send(text=message.text, blocks=message.blocks, unfurl_links=False)
            if sent.status_code != 200:
                raise _WebhookError(sent.status_code, sent.body)
            return None
        assert self._client is not None
        channel, thread_ts = thread if thread is not None else (target, None)
        # Posted as its header, then filled in: Slack's chat.postMessage has no idempotency key, so a post whose
        # answer is lost is posted again; this way what repeats is one header line, never the jobs. chat.update
        # of a known message is idempotent, so its retries repeat nothing.
        opening = message.opening()
        kwargs: dict[str, Any] = {"channel": channel, "text": opening.text, "blocks": opening.blocks}
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
        response = self._client.chat_postMessage(unfurl_links=False, unfurl_media=False, **kwargs)
        ref = (str(response["channel"]), str(response["ts"]))
        try:
            self._update(ref, message)
        except SlackApiError:
            # Slack answered with an error: take the header back rather than leave it alone in the channel
            # (chat.delete needs only chat:write for the app's own messages: docs.slack.dev/reference/methods/
            # chat.delete). Not when Slack cannot be reached at all: that would only wait out another timeout.
            try:
                self._client.chat_delete(channel=ref[0], ts=ref[1])
            except Exception as e:  # best effort: the refusal is what gets reported
                log.warning("slack %s: could not delete the header of a refused message: %s", target, e)
            raise
        return f"{ref[0]}|{ref[1]}"

    def _update(self, ref: tuple[str, str], message: SlackMessage) -> None:
        assert self._client is not None
        self._client.chat_update(channel=ref[0], ts=ref[1], text=message.text, blocks=message.blocks)


def _carried(message: SlackMessage, by_id: Mapping[str, Delivery]) -> tuple[Delivery, ...]:
    return tuple(by_id[nid] for nid in message.ids)


def _rosters(
    announcing: Sequence[SlackMessage], by_id: Mapping[str, Delivery], sent: Mapping[str, DeliveryResult]
) -> dict[str, list[str]]:
    """The jobs each message announced in this send, by its ref, in the order announced."""
    rosters: dict[str, list[str]] = {}
    for message in announcing:
        for d in _carried(message, by_id):
            result = sent.get(d.outbox_id)
            if result is not None and result.delivered and result.ref is not None:
                rosters.setdefault(result.ref, []).append(d.notification.job)
    return rosters


def _rewrite(
    thread: str, group: Sequence[Delivery], roster: Sequence[str], sent: Mapping[str, DeliveryResult]
) -> Rewrite | None:
    """The original message re-rendered with the jobs just fixed in its thread; None when none was."""
    fixed = [
        d
        for d in group
        if d.notification.event is Event.RESOLVED and (r := sent.get(d.outbox_id)) is not None and r.delivered
    ]
    parent = parse_ref(thread)
    if not fixed or parent is None:
        return None
    fixed_jobs = {d.notification.job for d in fixed}
    # A message posted in this very send is not in the state yet: its roster is known here.
    siblings = next((d.thread_jobs for d in fixed if d.thread_jobs), ()) or tuple(
        (job, job not in fixed_jobs) for job in roster
    )
    return Rewrite(board(siblings, [d.notification for d in fixed]), parent)


class _WebhookError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:100]}")
        self.status = status
        self.body = body
