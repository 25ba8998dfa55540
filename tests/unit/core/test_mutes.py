"""Which mutes apply: `Mute.new`, and the config file's mutes dated from the first pass that saw them."""

from __future__ import annotations

import hashlib

from failstreak.core.alerting import mute_covering
from failstreak.core.model import JobState, Mute, MuteBook, State
from failstreak.core.mutes import all_mutes, config_mutes
from tests.conftest import HOUR, T0, config

TWO_RUNS = 'mutes:\n  - {match: "ci/*", runs: 2, reason: deploy}\n'


def test_a_new_mute_gets_the_id_its_fields_and_creation_time_give() -> None:
    # Given the same mute created twice at the same time, and once an hour later
    first = Mute.new("ci/*", T0, runs=2, reason="deploy")
    again = Mute.new("ci/*", T0, runs=2, reason="a reason is not part of the id")
    later = Mute.new("ci/*", T0 + HOUR, runs=2, reason="deploy")
    # Then the id is the one every release derived (documented in docs/state.md: progress is filed under it),
    # the same for the same fields and time, and a mute created later is another mute
    expected = hashlib.sha256(f"ci/*|None|2|False|{T0}".encode()).hexdigest()[:12]
    assert first.id == again.id == expected
    assert later.id != first.id
    assert (first.match, first.created_at, first.runs, first.until, first.until_success) == ("ci/*", T0, 2, None, False)


def test_a_config_mute_is_dated_from_the_first_pass_that_saw_it_and_keeps_that_date() -> None:
    # Given a state and a config with one mute
    state = State()
    configured = config(TWO_RUNS).mutes
    # When two passes an hour apart ask for the mutes
    (first,) = config_mutes(state, configured, T0)
    (second,) = config_mutes(state, configured, T0 + HOUR)
    # Then both see the same mute, dated from the first pass, under the id a command-line mute of that time has
    assert first == second == Mute.new("ci/*", T0, runs=2, reason="deploy")
    assert list(state.config_mutes.values()) == [T0]


def test_all_mutes_are_the_mutes_documents_then_the_config_files() -> None:
    # Given a mute from the command line (in the mutes document) and one in the config file
    cli = Mute.new("web/*", T0, until=T0 + HOUR)
    book = MuteBook(mutes=[cli])
    # When the mutes are listed; Then the mutes document's come first
    assert all_mutes(State(), book, config(TWO_RUNS).mutes, T0) == [cli, Mute.new("ci/*", T0, runs=2, reason="deploy")]


def test_a_mute_of_the_mutes_document_that_ended_does_not_apply() -> None:
    # Given a mute that ended an hour ago, one that ends in an hour, in the mutes document
    ended = Mute.new("web/*", T0 - 2 * HOUR, until=T0 - HOUR)
    running = Mute.new("ci/*", T0 - 2 * HOUR, until=T0 + HOUR)
    # When the mutes are listed now; Then only the running one applies
    assert all_mutes(State(), MuteBook(mutes=[ended, running]), [], T0) == [running]


def test_a_config_mute_that_leaves_the_file_takes_its_jobs_progress_with_it() -> None:
    # Given a config mute and a command-line mute, and jobs with progress through each
    state = State()
    written = [Mute.new("ci/*", T0, runs=5)]
    (dated,) = config_mutes(state, config(TWO_RUNS).mutes, T0, written)
    kept = written[0].id
    state.jobs = {
        "ci/a": JobState(name="ci/a", mute_runs={dated.id: 1, kept: 3}),
        "ci/b": JobState(name="ci/b", mute_runs={dated.id: -1}),
    }
    # When the mute is taken out of the file
    assert config_mutes(state, config().mutes, T0 + HOUR, written) == []
    # Then its date and its progress are forgotten, and the command-line mute's progress is kept
    assert state.config_mutes == {}
    assert state.jobs["ci/a"].mute_runs == {kept: 3}
    assert state.jobs["ci/b"].mute_runs == {}


def test_a_config_mute_put_back_later_is_a_new_mute_that_counts_from_zero() -> None:
    # Given a job that used up a config mute for two runs, then the mute was taken out of the file
    state = State()
    (before,) = config_mutes(state, config(TWO_RUNS).mutes, T0)
    state.jobs = {"ci/a": JobState(name="ci/a", mute_runs={before.id: 2})}
    assert mute_covering(state.jobs["ci/a"], [before], T0) is None
    config_mutes(state, config().mutes, T0 + HOUR)
    # When it is put back
    (after,) = config_mutes(state, config(TWO_RUNS).mutes, T0 + 2 * HOUR)
    # Then it is a new mute, dated now, which covers the job again
    assert after.created_at == T0 + 2 * HOUR
    assert after.id != before.id
    assert mute_covering(state.jobs["ci/a"], [after], T0 + 2 * HOUR) == after
