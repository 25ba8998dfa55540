"""Advance: everything a pass does to the state before its first save (counting, mutes, rules, routing, outbox,
retiring, leasing). Deterministic for (state, collected executions, now)."""

from __future__ import annotations

import itertools
import operator
from typing import Protocol

from failstreak.app.config import Config
from failstreak.core import alerting, counting, outbox, repair
from failstreak.core.model import Mute, Notification, State
from failstreak.inbox.records import latest_time
from failstreak.pipeline.collect import Collected
from failstreak.pipeline.summary import Summary

_JOB = operator.attrgetter("job")


class Routes(Protocol):
    def destinations(self, n: Notification) -> list[str]: ...

    def teams(self, n: Notification) -> list[str]: ...

    def job_teams(self, job: str, owner: str | None) -> list[str]: ...

    def warnings(self) -> list[str]:
        """Routing problems met so far (an unreadable owners file, an unknown team): reported, never fatal."""
        ...


def all_mutes(cfg: Config, state: State, now: int) -> list[Mute]:
    """The state's mutes and the config file's, the latter dated from the first pass that saw them."""
    return state.mutes + config_mutes(cfg, state, now)


def config_mutes(cfg: Config, state: State, now: int) -> list[Mute]:
    """The config file's mutes, as state mutes; each is dated from the first pass that saw it."""
    first_seen: dict[str, int] = state.cursors.setdefault("_config_mutes", {})
    mutes = []
    live = set()
    for m in cfg.mutes:
        until = int(m.until.timestamp() * 1000) if m.until else None
        key = alerting.mute_id(m.match, until, m.runs, m.until_success, 0)
        live.add(key)
        created = first_seen.setdefault(key, now)
        mutes.append(
            Mute(
                # Dated like a mute from the command line: a mute taken out of the file and put back later is a
                # new mute, whose `runs` count from then, not from the progress its earlier self left in the jobs.
                id=alerting.mute_id(m.match, until, m.runs, m.until_success, created),
                match=m.match,
                created_at=created,
                until=until,
                runs=m.runs,
                until_success=m.until_success,
                reason=m.reason,
            )
        )
    for key in list(first_seen):
        if key not in live:
            del first_seen[key]
    return mutes


def advance(
    cfg: Config, router: Routes | None, state: State, got: Collected, summary: Summary, pass_id: str, now: int
) -> None:
    """Everything a pass does to the state before its first save. Deterministic for (state, got, now)."""
    policy_for = cfg.policy_lookup()
    # A state saved before times were bounded (or by a pass whose clock was wrong) may remember runs dated after
    # this pass's bound; each would stay its job's newest forever.
    summary.future_runs_forgotten = repair.forget_future_runs(
        state, latest_time(now, cfg.max_clock_skew_ms), policy_for
    )
    stats = counting.apply(state, got.executions, policy_for, now)
    summary.ingested = stats.ingested
    summary.duplicates = stats.duplicates
    summary.superseded = stats.superseded
    summary.stale = stats.stale
    summary.running = stats.running

    state.mutes = [m for m in state.mutes if m.until is None or m.until > now]
    mutes = all_mutes(cfg, state, now)
    # Every job the pass touched, then the alerting jobs it brought nothing for (their reminders are due by time).
    jobs = state.jobs
    touched = stats.touched
    untouched: list[tuple[str, counting.JobDelta | None]] = [
        (n, None) for n, j in jobs.items() if j.alert is not None and n not in touched
    ]
    notes: list[Notification] = []
    for name, delta in itertools.chain(touched.items(), untouched):
        job = jobs[name]
        mute = alerting.active_mute(job, mutes, now, delta) if mutes else None
        note = alerting.evaluate(job, policy_for(name), now, mute)
        if note is not None:
            notes.append(note)
    # Jobs are evaluated independently: sorting the notifications, not the jobs, gives the same order.
    notes.sort(key=_JOB)
    summary.notifications = notes
    summary.team_notifications = {}
    queued = {e.id for e in state.outbox}  # built once: per notification it made the pass quadratic
    for note in notes:
        if note.suppressed or router is None:
            continue
        outbox.enqueue(state, note, router.destinations(note), present=queued)
        for team in router.teams(note):
            per_team = summary.team_notifications.setdefault(team, {})
            per_team[note.event.value] = per_team.get(note.event.value, 0) + 1

    # Alerting jobs retire too: a job nobody has run for a month should stop sending reminders.
    retire_ms = int(cfg.retire_after_days * 86_400_000) if cfg.retire_after_days else None
    summary.retired = counting.retire(state, now, retire_ms, keep=stats.touched)
    state.cursors.update(got.cursors)
    outbox.lease(state, pass_id, now)
    state.updated_at = now
    state.passes += 1
    summary.jobs = len(state.jobs)
    summary.alerting = sum(1 for j in state.jobs.values() if j.alert is not None)
