"""Each job as the page shows it (views/jobs.py): teams, window and the mute covering it now, from plain lookups."""

from __future__ import annotations

from failstreak.core.model import DEFAULT_OUTCOMES, JobState, Mute, State
from failstreak.core.policy import Cadence, JobPolicy
from failstreak.views.jobs import Viewing, describe_mute, job_views
from tests.conftest import HOUR, T0


def policy(window: int) -> JobPolicy:
    return JobPolicy(3, 5, window, window, DEFAULT_OUTCOMES, Cadence())


def test_each_job_gets_its_teams_window_and_current_mute_from_the_lookups() -> None:
    # Given three jobs, a mute on etl* for 3 runs of which one has gone by, and a mute on ci/* that has ended
    state = State(
        jobs={n: JobState(name=n, owner=o) for n, o in (("ci/a", None), ("etl", "@data"), ("z", None))},
    )
    state.jobs["etl"].mute_runs = {"m1": 1}
    mutes = [
        Mute(id="m1", match="etl*", created_at=T0, runs=3),
        Mute(id="m2", match="ci/*", created_at=T0, until=T0 - HOUR),
    ]

    # When the views are built with lookups
    views = {
        v.job.name: v
        for v in job_views(
            state,
            Viewing(
                mutes,
                lambda name: policy(5 if name.startswith("ci/") else 10),
                lambda name, owner: [owner.lstrip("@")] if owner else ["default"],
                T0,
            ),
        )
    }

    # Then each view carries what the lookups said, and only the live mute shows
    assert (views["ci/a"].teams, views["ci/a"].window, views["ci/a"].mute) == (("default",), 5, None)
    assert (views["etl"].teams, views["etl"].window, views["etl"].mute) == (("data",), 10, "for 2 more runs")
    assert views["z"].mute is None


def test_a_mute_is_described_by_when_it_ends_and_why() -> None:
    # Given mutes of every kind; When each is described; Then the words say when it ends
    job = JobState(name="a")
    until = Mute(id="1", match="a", created_at=T0, until=T0, reason="migration")
    assert describe_mute(until, job) == "until 2025-11-13T02:13:20Z (migration)"
    assert describe_mute(Mute(id="2", match="a", created_at=T0, until_success=True), job) == "until the next success"
    assert describe_mute(Mute(id="3", match="a", created_at=T0, reason="r"), job) == "until unmuted (r)"
