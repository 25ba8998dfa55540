"""The page's view of each job from the config (app/page.py): teams, window, mutes; and the URL's lifetime."""

from __future__ import annotations

from pathlib import Path

import pytest

from failstreak.app.config import parse_config
from failstreak.app.page import page_of, parse_lifetime, url_note
from failstreak.core.model import JobState, State
from failstreak.errors import ConfigError
from failstreak.views.store import PresignedUrl
from tests.conftest import T0


def test_the_page_of_a_config_takes_teams_from_records_or_the_owners_file_windows_and_mutes(tmp_path: Path) -> None:
    # Given an owners file giving ci/* to two teams, a job whose records name its owner, an unowned job, a window
    # override on ci/*, and a config mute on etl
    (tmp_path / "JOBOWNERS").write_text("ci/*  @team-ci @team-qa\n")
    cfg = parse_config(
        "owners: JOBOWNERS\noverrides: [{match: 'ci/*', window: 5}]\n"
        "mutes: [{match: etl, until: '2030-01-01T00:00:00Z', reason: migration}]\n",
        base_dir=tmp_path,
    )
    state = State(jobs={n: JobState(name=n, owner=o) for n, o in (("ci/a", None), ("etl", "@data"), ("x", None))})

    # When the page is rendered
    html = page_of(cfg, state, T0).html

    # Then the rows carry the teams, the windows are the config's, and the muted job says until when and why
    assert 'data-job="ci/a" data-teams="team-ci team-qa"' in html
    assert 'data-job="etl" data-teams="data"' in html
    assert 'data-job="x" data-teams="default"' in html
    assert "0/0 <small>of 5</small>" in html
    assert "0/0 <small>of 10</small>" in html
    assert "muted: until 2030-01-01T00:00:00Z (migration)" in html


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
