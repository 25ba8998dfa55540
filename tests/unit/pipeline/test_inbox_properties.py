"""Whatever a producer writes into the inbox, a pass completes, counts exactly the good lines and quarantines
the rest with a reason (docs/s3-and-lambda.md, "What a producer can and cannot do")."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failstreak.app.config import Config
from failstreak.app.wiring import pass_settings
from failstreak.pipeline.run import Ports, run_pass
from tests.conftest import T0
from tests.fakes import InMemoryInbox, InMemoryStateStore

STATUSES = ["success", "failed", "timed_out", "FAILED", "SUCCESS", "canceled"]


@dataclass
class Line:
    data: bytes
    good: bool


_run_ids = iter(range(10**9))


@st.composite
def good_lines(draw: st.DrawFn) -> Line:
    """A valid record with a run id no other line has (so each good line is one counted run)."""
    record = {
        "job": draw(st.sampled_from(["ci/a", "ci/b", "etl/nightly"])),
        "run_id": next(_run_ids),
        "status": draw(st.sampled_from(STATUSES)),
        "finished_at": draw(st.one_of(st.integers(T0, T0 + 10**9), st.integers(T0, T0 + 10**9).map(_iso))),
    }
    if draw(st.booleans()):
        record["extra"] = draw(st.recursive(st.integers() | st.text(), st.lists, max_leaves=5))
    return Line(json.dumps(record).encode(), True)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _nested(depth: int, opener: bytes, closer: bytes, inner: bytes) -> bytes:
    return opener * depth + inner + closer * depth


bad_lines = st.one_of(
    # arbitrary bytes (a NUL first, so that they can never be a record or a blank line)
    st.binary(max_size=200).filter(lambda b: b"\n" not in b).map(lambda b: Line(b"\x00" + b, False)),
    # nesting, shallow to far deeper than any recursion limit, of arrays and of objects without a job
    st.integers(1, 5000).map(lambda d: Line(_nested(d, b"[", b"]", b"1"), False)),
    st.integers(1, 5000).map(lambda d: Line(_nested(d, b'{"a": ', b"}", b"1"), False)),
    # huge values: a job name over the bound, a run id beyond 64 bits, a long unknown field without a job
    st.integers(513, 5000).map(
        lambda n: Line(json.dumps({"job": "j" * n, "run_id": 1, "status": "failed", "finished_at": T0}).encode(), False)
    ),
    st.just(Line(b'{"job": "j", "run_id": 1, "status": "failed", "finished_at": 1e999}', False)),
    st.integers(10_000, 200_000).map(lambda n: Line(b'{"pad": "' + b"x" * n + b'"}', False)),
)


@st.composite
def inbox_files(draw: st.DrawFn) -> list[tuple[list[Line], bool]]:
    """A few files, each a mix of good and bad lines, some gzipped."""
    return draw(
        st.lists(
            st.tuples(st.lists(st.one_of(good_lines(), bad_lines), min_size=1, max_size=12), st.booleans()),
            min_size=1,
            max_size=4,
        )
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(inbox_files())
def test_a_pass_counts_exactly_the_good_lines_and_quarantines_the_rest_with_a_reason(
    files: list[tuple[list[Line], bool]],
) -> None:
    # Given an inbox of files mixing good lines with arbitrary bytes, nesting and huge values
    inbox = InMemoryInbox()
    for number, (lines, zipped) in enumerate(files):
        body = b"\n".join(line.data for line in lines) + b"\n"
        inbox.add(f"f{number}.jsonl", gzip.compress(body) if zipped else body)
    # When a pass runs
    summary = run_pass(pass_settings(Config(inbox=None)), Ports(store=InMemoryStateStore(), inbox=inbox))
    # Then it counts exactly the good lines, and rejects every bad one with a reason
    good = sum(line.good for lines, _ in files for line in lines)
    bad = sum(not line.good for lines, _ in files for line in lines)
    assert summary.ingested == good
    assert summary.rejected == bad
    # And each file with a good line is archived with its bad lines stored by number; the others quarantined
    assert not inbox.files
    for number, (lines, _) in enumerate(files):
        key = f"f{number}.jsonl"
        bad_numbers = [i for i, line in enumerate(lines, start=1) if not line.good]
        if any(line.good for line in lines):
            assert key in inbox.archived
            assert [r.line for r in inbox.rejected_lines.get(key, [])] == bad_numbers
            assert all(r.reason for r in inbox.rejected_lines.get(key, []))
        else:
            assert inbox.quarantined[key]
