"""`POST /slack/actions`: the buttons of alert messages (docs/http.md, "Slack").

A click on *Mute 24 h*, *Mute until fixed*, *Unmute* or *I'm on it* (a button, or the same in a job's overflow
menu) arrives as a signed `block_actions` payload. In order, within Slack's 3 seconds:

1. the signature (401 when wrong or stale) and the replay claim of that signature (401 when seen before);
2. the guard rails: a person not allowed gets a polite refusal only they see, and nothing changes;
3. the durable write to the mutes document (`MuteLedger`); when the store cannot be written, the person is told
   so and the claim is given back, so that clicking again works;
4. the follow-ups, within what is left of the budget (front/slackreply.py): the message updated through
   `response_url` with a note under the job, and the same note in the job's thread (the bot token's
   chat.postMessage), naming who did it and until when.

Slack gets an empty 200 in every case it should not show as an error.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from failstreak.core.model import now_ms
from failstreak.errors import FailstreakError, StoreUnavailable
from failstreak.front.context import Front
from failstreak.front.http import HttpError, Request, Response
from failstreak.front.slackguard import HOUR_MS, Refused, exact_pattern
from failstreak.front.slackops import ACK, MUTE_24H, MUTE_FIXED, UNMUTE, VERBS, acknowledge, mute, shown, unmute
from failstreak.front.slackreq import Click, check_slack, form, parse_click
from failstreak.front.slackside import guard, replies
from failstreak.notifiers.slack_render import with_note

ROUTE = "/slack/actions"
log = logging.getLogger("failstreak.front")
_HASHED = "#"


def _job(ref: str, front: Front) -> str:
    """The job a control names: as written, or looked up by its sha256 among the state's jobs (an option's value
    is too short for a long name: notifiers/slack_render.option_value)."""
    digest = ref[len(_HASHED) :]
    if not ref.startswith(_HASHED) or len(digest) != 64:
        return ref
    for name in front.read_state().jobs:
        if hashlib.sha256(name.encode()).hexdigest() == digest:
            return name
    raise Refused("That job is no longer in failstreak's state, so there is nothing to change.")


def _act(verb: str, job: str, click: Click, front: Front) -> str:
    settings = front.http.slack
    ledger = front.ledger()
    now = now_ms()
    if verb == MUTE_24H:
        return mute(ledger, click.person, exact_pattern(job), 24 * HOUR_MS, settings.max_mute_days, now, shown(job))
    if verb == MUTE_FIXED:
        return mute(ledger, click.person, exact_pattern(job), None, settings.max_mute_days, now, shown(job))
    if verb == UNMUTE:
        return unmute(ledger, click.person, exact_pattern(job), shown(job), job)
    assert verb == ACK
    return acknowledge(ledger, click.person, job, settings.ack_hours, now)


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def handle(request: Request, front: Front) -> Response:
    secret = front.secret(front.http.slack_signing_secret, ROUTE)
    signature = check_slack(secret, request, front.now)
    click = parse_click(form(request.body))
    verb, _, ref = click.value.partition("|")
    if verb not in VERBS or not ref:
        raise HttpError(400, "block_actions: not one of failstreak's controls")
    say = replies(front)
    try:
        guard(front, say.budget).check(click.person)
        job = _job(ref, front)
        if not front.replay.claim("slack", signature):
            raise HttpError(401, "replayed request: this signature was accepted before")
        try:
            note = _act(verb, job, click, front)
        except FailstreakError:
            front.replay.release("slack", signature)
            raise
    except Refused as no:
        say.respond(click.response_url, _ephemeral(str(no)), "the refusal")
        return Response(200)
    except (StoreUnavailable, FailstreakError) as e:
        log.error("%s: %s", ROUTE, str(e).splitlines()[0] if str(e) else type(e).__name__)
        sorry = "Sorry, failstreak could not save that just now, so nothing changed. Please try again in a moment."
        say.respond(click.response_url, _ephemeral(sorry), "the apology")
        return Response(200)
    section = "fs-job-" + click.block_id.rpartition("-")[2]
    blocks = with_note(click.blocks, section, note)
    if blocks is not None:
        say.respond(click.response_url, {"replace_original": True, "text": click.text, "blocks": blocks}, "update")
    if click.thread is not None:
        say.post(click.thread[0], click.thread[1], note, "thread note")
    return Response(200)
