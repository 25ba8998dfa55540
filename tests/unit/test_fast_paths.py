"""The fast paths added for speed give exactly what the careful paths give (differential tests)."""

from __future__ import annotations

import gc
import pickle
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.core.model import Execution, Status
from failstreak.inbox.records import RecordError, _to_execution_checked, latest_time, to_execution

TEXT = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(),
    st.sampled_from(["x" * 5000, "x" * 256, "x" * 257, "x" * 2049]),
    st.just(" "),
    st.just(""),
)
LATEST = latest_time(1794996400000)
FIELD_VALUES = {
    "job": st.one_of(st.text(max_size=6), st.just(" job"), st.just("j" * 513), st.integers(), st.none()),
    "run_id": st.one_of(
        st.integers(-3, 10**12), st.text(max_size=4), st.just("r" * 257), st.booleans(), st.none(), st.floats()
    ),
    "status": st.one_of(
        st.sampled_from(["success", "FAILED", "Failure", " failed", "running", "TimedOut", "done", "nope"]),
        st.integers(),
        st.lists(st.integers(), max_size=1),
        st.none(),
    ),
    "finished_at": st.one_of(
        st.integers(0, 2 * 10**12),
        st.integers(-(2**64), 2**65),
        st.sampled_from([946684799, 946684800, 946684800000, LATEST, LATEST + 1, 1794996400000000, 2**63 - 1]),
        st.sampled_from(["2026-11-18T10:06:40.000Z", "2026-11-18T10:06:40+02:00", "2026-11-18 10:06", "later", " "]),
        st.sampled_from(["2099-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01", "1999-12-31T23:59:59.999Z"]),
        st.booleans(),
        st.floats(),
        st.none(),
    ),
    "attempt": st.one_of(st.integers(-2, 5), st.booleans(), st.none(), st.text(max_size=2)),
    "url": TEXT,
    "commit": TEXT,
    "reason": TEXT,
    "owner": TEXT,
    "source": TEXT,
    "category": st.one_of(st.sampled_from(["infra", "code", "upstream", "Infra", "", "9x", "x" * 33]), st.none()),
}
RECORDS = st.fixed_dictionaries({}, optional=FIELD_VALUES)


def _outcome(fn: Any, obj: Any) -> Any:
    try:
        return fn(obj, "src", LATEST)
    except RecordError as e:
        return ("error", str(e))


@settings(max_examples=3000, deadline=None)
@given(RECORDS)
def test_fast_record_path_matches_the_checked_path(obj: dict[str, Any]) -> None:
    # Given any record, valid or not; When both paths validate it; Then they agree on the result or the error
    assert _outcome(to_execution, obj) == _outcome(_to_execution_checked, obj)


def test_non_objects_are_rejected_the_same_way() -> None:
    for obj in ([], "x", 3, None):
        assert _outcome(to_execution, obj) == _outcome(_to_execution_checked, obj)


def test_an_execution_is_a_frozen_value_built_by_position_or_keyword() -> None:
    # Given an execution built positionally and one by keyword
    a = Execution("j", "1", Status.FAILED, 1, 2, "u", "c", "r", "o", "s")
    b = Execution(
        job="j", run_id="1", status=Status.FAILED, finished_at=1, attempt=2, url="u", commit="c", reason="r",
        owner="o", source="s",
    )  # fmt: skip
    # Then they are equal and hashable by value, copyable with changes, picklable, and the defaults are as before
    assert a == b
    assert hash(a) == hash(b)
    assert msgspec.structs.astuple(a) == ("j", "1", Status.FAILED, 1, 2, "u", "c", "r", "o", "s", None)
    assert msgspec.structs.replace(a, job="k") == Execution("k", "1", Status.FAILED, 1, 2, "u", "c", "r", "o", "s")
    assert pickle.loads(pickle.dumps(a)) == a
    assert Execution("j", "1", Status.SUCCESS, 5) == Execution("j", "1", Status.SUCCESS, 5, 0, None, None, None)
    assert Execution.__match_args__ == tuple(f.name for f in msgspec.structs.fields(Execution))
    # And it cannot be changed in place
    with pytest.raises(AttributeError):
        a.job = "x"  # type: ignore[misc]


def test_an_execution_stays_out_of_the_cyclic_collector() -> None:
    # Given an execution; Then the cyclic collector does not track it (its fields are atomic, it has no cycles)
    assert not gc.is_tracked(Execution("j", "1", Status.SUCCESS, 5, 0, "u"))


def test_policy_lookup_is_built_once_and_still_honours_overrides() -> None:
    from failstreak.app.config import Config, parse_config

    cfg = Config()
    assert cfg.policy_for("a") is cfg.policy_for("b")
    overridden = parse_config("overrides: [{match: 'nightly-*', window: 3, consecutive: 2}]")
    assert overridden.policy_for("nightly-etl").window == 3
    assert overridden.policy_for("nightly-etl").consecutive == 2
    assert overridden.policy_for("build").window == 10
