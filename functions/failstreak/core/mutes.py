"""Which mutes apply: the state's (`failstreak mute`) and the config file's, the latter dated from the first pass
that saw them (docs/configuration.md, docs/state.md `config_mutes`). Pure: the config's mutes come in as plain
values of the `ConfiguredMute` shape, the time as an argument."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from failstreak.core.jobindex import briefs
from failstreak.core.model import Mute, State


class ConfiguredMute(Protocol):
    """A mute as the config file writes it (`mutes:`): no id, no creation time."""

    @property
    def match(self) -> str: ...

    @property
    def until(self) -> datetime | None: ...

    @property
    def runs(self) -> int | None: ...

    @property
    def until_success(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...


def all_mutes(state: State, configured: Iterable[ConfiguredMute], now: int) -> list[Mute]:
    """The state's mutes and the config file's (see `config_mutes`)."""
    return state.mutes + config_mutes(state, configured, now)


def config_mutes(state: State, configured: Iterable[ConfiguredMute], now: int) -> list[Mute]:
    """The config file's mutes as state mutes, each dated from the first pass that saw it (`state.config_mutes`,
    updated here: a mute seen for the first time is dated `now`, one that left the file is forgotten).

    Dated like a mute from the command line: a mute taken out of the file and put back later is a new mute, whose
    `runs` count from then, not from the progress its earlier self left in the jobs. That progress is dropped
    when a mute leaves the file (`forget_progress`).
    """
    first_seen = state.config_mutes
    mutes = []
    live = set()
    for m in configured:
        until = int(m.until.timestamp() * 1000) if m.until else None
        key = Mute.new(m.match, 0, until=until, runs=m.runs, until_success=m.until_success).id
        live.add(key)
        created = first_seen.setdefault(key, now)
        mutes.append(
            Mute.new(m.match, created, until=until, runs=m.runs, until_success=m.until_success, reason=m.reason)
        )
    gone = [key for key in first_seen if key not in live]
    for key in gone:
        del first_seen[key]
    if gone:
        forget_progress(state, {m.id for m in state.mutes} | {m.id for m in mutes})
    return mutes


def forget_progress(state: State, live: set[str]) -> None:
    """Drop the jobs' mute progress (`mute_runs`) of every mute not in `live`: only a live mute reads it, and a
    mute's id is never reused (it includes its creation time)."""
    for job in [state.jobs[b.name] for b in briefs(state.jobs) if b.mute_runs]:
        if not live.issuperset(job.mute_runs):
            job.mute_runs = {key: runs for key, runs in job.mute_runs.items() if key in live}
