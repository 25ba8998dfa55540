"""The daily digest's part of a pass (docs/digest.md): when the day's digests are due, enqueue one per destination
that owns jobs, and record the day in the state. Runs within `advance`, before the first save: the digests and
the day they are of are saved together, so a pass that dies before saving enqueues nothing and the next pass
does it again, and one whose save meets a conflict does it again on the reloaded state, which may find it done.
"""

from __future__ import annotations

from failstreak.core import digest, outbox
from failstreak.core.model import JobState, Notification, State
from failstreak.pipeline.context import PassContext


def enqueue_digests(ctx: PassContext, state: State) -> list[Notification]:
    """Enqueue today's digests if they are due and not yet enqueued; return them (one per destination)."""
    schedule, router, now = ctx.settings.digest, ctx.ports.router, ctx.now
    if schedule is None or router is None:
        return []
    day = digest.due(schedule, state.digest_day, now)
    if day is None:
        return []
    policy_for = ctx.settings.policy_for
    judge = ctx.settings.triage.judge(policy_for, now)

    def destinations(job: JobState) -> list[str]:
        return router.digest_destinations(job.name, job.owner)

    routed = digest.by_destination(state.jobs, destinations)
    lines = {}
    for names in routed.values():
        for name in names:
            if name not in lines:
                job = state.jobs[name]
                lines[name] = digest.job_lines(job, policy_for(name), judge(job), now)
    queued = {e.id for e in state.outbox}
    notes = []
    for dest, names in routed.items():
        note = digest.notification(digest.build(day, schedule.zone_name, [lines[n] for n in names]), now)
        outbox.enqueue(state, note, [dest], present=queued)
        notes.append(note)
    state.digest_day = day
    return notes
