"""A pass runs with the cyclic garbage collector paused, and leaves it as it found it."""

from __future__ import annotations

import gc

import pytest

from failstreak.app.config import Config
from failstreak.app.wiring import pass_settings
from failstreak.errors import StoreUnavailable
from failstreak.pipeline.run import Ports, run_pass
from failstreak.state.base import Loaded, StateStore


class _Store(StateStore):
    location = "memory"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.gc_during: list[bool] = []
        self.data: bytes | None = None

    def load(self) -> Loaded:
        self.gc_during.append(gc.isenabled())
        if self.fail:
            raise StoreUnavailable("down")
        return Loaded(self.data, None if self.data is None else "t")

    def save(self, data: bytes, token: str | None) -> str:
        self.data = data
        return "t"


def test_the_collector_is_paused_during_a_pass_and_restored_after() -> None:
    store = _Store()
    run_pass(pass_settings(Config(inbox=None)), Ports(store=store))
    assert store.gc_during == [False]
    assert gc.isenabled()


def test_the_collector_is_restored_when_a_pass_fails() -> None:
    with pytest.raises(StoreUnavailable):
        run_pass(pass_settings(Config(inbox=None)), Ports(store=_Store(fail=True)))
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        run_pass(pass_settings(Config(inbox=None)), Ports(store=_Store()))
        assert not gc.isenabled()
    finally:
        gc.enable()
