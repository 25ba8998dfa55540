"""Shared fixtures: a fixed clock and builders for executions, configs and passes."""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

from failstreak.app.config import Config, parse_config
from failstreak.core.model import Execution, Status

# The gate (`make test`) runs the property tests on examples derived from each test itself, the same on every
# machine, so that its verdict is the code's and not the draw's; `HYPOTHESIS_PROFILE=explore make pytest` draws
# fresh examples, as a search for new failures (add each one found as a test of its own).
settings.register_profile("gate", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "explore"))


@pytest.fixture(autouse=True, scope="session")
def s3_client_boto3() -> Iterator[None]:
    """The shared S3 client is boto3's unless a test asks for the light one: moto in-process (`mock_aws`), which
    most S3 tests use, intercepts botocore only (tests/integration/s3/conftest.py, the `*_lite_s3` backends).
    Session-wide, so that module fixtures building clients see it too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAILSTREAK_S3_CLIENT", "boto3")
        yield


T0 = 1_763_000_000_000  # 2025-11-13T02:13:20Z
MINUTE = 60_000
HOUR = 3_600_000


def ex(
    job: str,
    run_id: int | str,
    status: str | Status = Status.FAILED,
    t: int | None = None,
    attempt: int = 0,
    **extra: str,
) -> Execution:
    """An execution finishing `t` ms (default: run_id minutes) after T0."""
    st = status if isinstance(status, Status) else Status(status)
    finished = T0 + (t if t is not None else int(str(run_id).lstrip("r") or 0) * MINUTE)
    return Execution(job=job, run_id=str(run_id), status=st, finished_at=finished, attempt=attempt, **extra)


def config(text: str = "") -> Config:
    return parse_config(text, source="test-config")


@pytest.fixture
def make_config() -> Callable[[str], Config]:
    return config


def document_content(body: bytes) -> dict[str, Any]:
    """A state document's JSON without its index (null in a plain document, the jobs' rows in a compressed one):
    what two encodings of the same state must agree on whatever their slices."""
    doc: dict[str, Any] = json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
    doc.pop("index")
    return doc


def calls_of(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[Any]:
    """The first argument of every call to `owner.name` from now on, in order; each call still goes through."""
    seen: list[Any] = []
    real = getattr(owner, name)

    def spy(first: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(first)
        return real(first, *args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return seen
