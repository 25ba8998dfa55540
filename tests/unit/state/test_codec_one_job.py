"""Reading one job of a state document (`failstreak status JOB`) without decoding the others."""

from __future__ import annotations

import gzip

import msgspec
import orjson
import pytest

from failstreak.core.model import JobState, Run, State, Status
from failstreak.errors import StateCorrupt
from failstreak.state import codec


def _state(jobs: int) -> State:
    return State(
        jobs={
            f"job-{i}": JobState(
                name=f"job-{i}",
                runs=[Run(10**12 + k, str(k), 0, Status.FAILED, f"u{k}") for k in range(3)],
                total_runs=3 + i,
                threads={"name": "x"} if i == 2 else {},
            )
            for i in range(jobs)
        },
        updated_at=7,
    )


@pytest.mark.parametrize("compress_above", [10, float("inf")], ids=["gzip members", "plain JSON"])
def test_each_job_reads_as_the_whole_document_has_it(compress_above: float, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a document of nine jobs, three to a gzip member, or plain
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state = _state(9)
    stored = codec.encode(state, compress_above=compress_above)
    # When each job is read alone; Then it is the job the whole document holds
    for name, job in state.jobs.items():
        assert codec.decode_job(stored, name) == job


def test_a_job_not_in_the_document_is_none() -> None:
    # Given a document; When a name it does not list is read; Then there is no job
    stored = codec.encode(_state(3), compress_above=10)
    assert codec.decode_job(stored, "job-9") is None
    assert codec.decode_job(None, "job-0") is None


def test_only_the_job_asked_for_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a large document, and every decoding of a job counted
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    stored = codec.encode(_state(300), compress_above=10)
    decoded: list[str] = []
    real = codec.JOB_DECODER

    class Counting:
        def decode(self, raw: msgspec.Raw) -> JobState:
            job = real.decode(raw)
            decoded.append(job.name)
            return job

    monkeypatch.setattr(codec, "JOB_DECODER", Counting())
    # When one job is read
    job = codec.decode_job(stored, "job-250")
    # Then that job alone was decoded into a job, runs and all
    assert job is not None
    assert decoded == ["job-250"]
    assert job.total_runs == 253


def test_a_document_written_with_other_field_orders_still_gives_its_job() -> None:
    # Given a document as a person might write it: the name after the other fields, spaces after colons
    doc = {"version": codec.VERSION, "jobs": [{"total_runs": 2, "name": "job-a"}, {"total_runs": 5, "name": "job-b"}]}
    stored = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    # When a job is read; Then it is found by its name
    job = codec.decode_job(stored, "job-b")
    assert job is not None
    assert job.total_runs == 5


def test_an_older_version_gives_its_job_as_the_whole_document_reads_it() -> None:
    # Given a version 1 document (jobs in a map by name)
    stored = orjson.dumps({"version": 1, "jobs": {"job-a": {"total_runs": 4}}})
    # When a job is read; Then it is the job as `decode` brings the document forward
    assert codec.decode_job(stored, "job-a") == codec.decode(stored).jobs["job-a"]


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        pytest.param(b"\x1f\x8b\x08garbage", "not readable gzip", id="damaged gzip"),
        pytest.param(b'{"version": 3, "jobs": [', "not valid JSON", id="cut short"),
        pytest.param(b'{"version": 3, "jobs": [{"name": "job-a", "total_runs": "x"}]}', "malformed", id="bad job"),
        pytest.param(
            b'{"version": 3, "jobs": [{"name": "job-a"}, {"name": "job-a"}]}', "listed 2 times", id="listed twice"
        ),
    ],
)
def test_a_document_that_cannot_give_the_job_is_corrupt_and_named(stored: bytes, message: str) -> None:
    # Given a document that is damaged, or whose job is; When the job is read; Then it is refused, named
    with pytest.raises(StateCorrupt, match=message) as got:
        codec.decode_job(stored, "job-a", "s3://b/state.json")
    assert str(got.value).startswith("s3://b/state.json: ")


def test_a_gzip_member_holding_the_name_elsewhere_does_not_mislead(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a job whose thread map has a key "name" (the bytes {"name":"x" inside another job's text)
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state = _state(6)
    stored = codec.encode(state, compress_above=10)
    assert b'{"name":"x"' in gzip.decompress(stored)
    # When a job named "x" is read; Then there is none
    assert codec.decode_job(stored, "x") is None
