"""`Execution`, the record type built for speed, keeps the behaviour of the dataclass it replaced."""

from __future__ import annotations

import gc
import pickle

import msgspec
import pytest

from failstreak.core.model import Execution, Status


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
    assert msgspec.structs.astuple(a) == ("j", "1", Status.FAILED, 1, 2, "u", "c", "r", "o", "s")
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
