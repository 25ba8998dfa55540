"""The page's view of each job from the config (app/page.py): teams, window, mutes; and the URL's lifetime."""

from __future__ import annotations

from pathlib import Path

import pytest

from failstreak.app.config import parse_config
from failstreak.app.page import describe_mute, job_views, parse_lifetime, url_note
from failstreak.core.model import JobState, Mute, State
from failstreak.errors import ConfigError
from failstreak.views.store import PresignedUrl
from tests.conftest import T0


def test_each_job_gets_its_teams_from_its_records_owner_else_the_owners_file(tmp_path: Path) -> None:
    # Given an owners file giving ci/* to two teams, and a job whose records name its owner
    (tmp_path / "JOBOWNERS").write_text("ci/*  @team-ci @team-qa\n")
    cfg = parse_config("owners: JOBOWNERS\noverrides: [{match: 'ci/*', window: 5}]\n", base_dir=tmp_path)
    state = State(jobs={n: JobState(name=n, owner=o) for n, o in (("ci/a", None), ("etl", "@data"), ("x", None))})

    # When the page's views are built
    views = {v.job.name: v for v in job_views(cfg, state, T0)}

    # Then the teams and windows are the config's, and an unowned job is the default team's
    assert views["ci/a"].teams == ("team-ci", "team-qa")
    assert views["etl"].teams == ("data",)
    assert views["x"].teams == ("default",)
    assert (views["ci/a"].window, views["x"].window) == (5, 10)


def test_a_job_shows_the_mute_covering_it_now(tmp_path: Path) -> None:
    # Given a state mute on etl* for 3 runs, one of which has gone by, and a config mute on ci/* until a time
    cfg = parse_config("mutes: [{match: 'ci/*', until: '2030-01-01T00:00:00Z', reason: migration}]\n")
    mute = Mute(id="m1", match="etl*", created_at=T0, runs=3)
    state = State(
        jobs={"etl": JobState(name="etl", mute_runs={"m1": 1}), "ci/a": JobState(name="ci/a"), "z": JobState(name="z")},
        mutes=[mute],
    )

    # When the views are built
    views = {v.job.name: v for v in job_views(cfg, state, T0)}

    # Then each muted job says how, and the other says nothing
    assert views["etl"].mute == "for 2 more runs"
    assert views["ci/a"].mute == "until 2030-01-01T00:00:00Z (migration)"
    assert views["z"].mute is None


def test_a_mute_until_the_next_success_says_so() -> None:
    # Given mutes of every kind; When each is described; Then the words say when it ends
    job = JobState(name="a")
    assert describe_mute(Mute(id="1", match="a", created_at=T0, until_success=True), job) == "until the next success"
    assert describe_mute(Mute(id="2", match="a", created_at=T0, reason="r"), job) == "until unmuted (r)"


def test_a_url_lifetime_is_a_duration_of_at_most_seven_days() -> None:
    # Given durations; When each is read; Then minutes, hours and days are seconds, and the rest is refused
    assert (parse_lifetime("30m"), parse_lifetime("12h"), parse_lifetime("7d")) == (1800, 43200, 604800)
    for bad in ("8d", "0m", "soon", "-1h", ""):
        with pytest.raises(ConfigError, match="from 1m to 7d"):
            parse_lifetime(bad)


def test_the_url_note_says_until_when_and_warns_about_temporary_credentials() -> None:
    # Given URLs signed for 12 hours with long-lived and with temporary credentials
    lasting = url_note(PresignedUrl("u", 12 * 3600, temporary_credentials=False), T0)
    session = url_note(PresignedUrl("u", 12 * 3600, temporary_credentials=True), T0)

    # Then both say until when, and only the second warns it may die sooner
    assert lasting == "the URL works until 2025-11-13T14:13:20Z (12 h 0 min from now)"
    assert session.startswith(lasting + "; it was signed with temporary credentials")
