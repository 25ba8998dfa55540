"""What a producer can never do to the monitor (docs/s3-and-lambda.md, "What a producer can and cannot do"),
on the local inbox: every pass runs `failstreak run --json` as a child process, whose peak resident memory
(its own VmHWM, as the kernel reports it in the child's rusage) is measured, never limited."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from tests.conftest import T0
from tests.integration.childpass import GIB, MIB, run_child


def record(job: str, run_id: int, status: str = "failed", **extra: object) -> bytes:
    body = {"job": job, "run_id": run_id, "status": status, "finished_at": T0 + run_id * 60_000, **extra}
    return json.dumps(body).encode() + b"\n"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\n")
    return tmp_path


def good_file(workdir: Path, name: str = "good.jsonl", runs: range = range(1, 4)) -> None:
    (workdir / "inbox" / name).write_bytes(b"".join(record("ci/good", i) for i in runs))


def moved(workdir: Path, where: str, key: str) -> Path:
    """The one file a pass moved (or wrote) as `key` under `processed/` or `quarantine/YYYY/MM/DD/<pass id>/`."""
    [path] = (workdir / "inbox" / where).glob(f"*/*/*/*/{key}")
    return path


def reason(workdir: Path, key: str) -> str:
    return moved(workdir, "quarantine", key + ".reason.txt").read_text()


def test_a_line_nested_deeper_than_the_interpreter_recursion_limit_is_counted_and_the_pass_goes_on(
    workdir: Path,
) -> None:
    # Given a legal record with an unknown field nested 1000 levels deep, a line nested 5000 levels deep, and
    # a good file beside them
    deep = record("ci/deep", 1)[:-2] + b', "extra": ' + b"[" * 1000 + b"]" * 1000 + b"}\n"
    deeper = b'{"job": "ci/deep", "run_id": 2, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    (workdir / "inbox" / "deep.jsonl").write_bytes(deep + deeper + record("ci/deep", 3))
    good_file(workdir)
    # When a pass runs
    ran = run_child(workdir / "failstreak.yaml")
    # Then it completes, counts the legal records of both files and rejects the line too deep to read
    assert ran.code == 0, ran.stderr
    assert (ran.summary["ingested"], ran.summary["rejected"]) == (5, 1)
    [rejected] = ran.summary["rejects"]
    assert (rejected["file"], rejected["line"]) == ("deep.jsonl", 2)
    assert "depth" in rejected["reason"]


def test_a_fifo_in_the_inbox_is_quarantined_and_never_blocks_the_pass(workdir: Path) -> None:
    # Given a FIFO nobody writes to, beside a good file
    os.mkfifo(workdir / "inbox" / "pipe.jsonl")
    good_file(workdir)
    # When a pass runs
    ran = run_child(workdir / "failstreak.yaml")
    # Then it completes without waiting for a writer, counts the good file and sets the FIFO aside with a reason
    assert ran.code == 0, ran.stderr
    assert (ran.summary["ingested"], ran.summary["quarantined"]) == (3, ["pipe.jsonl"])
    assert reason(workdir, "pipe.jsonl").startswith("a FIFO: only regular files are read")
    assert not (workdir / "inbox" / "pipe.jsonl").exists()


def test_a_symlink_out_of_the_inbox_is_quarantined_unread(workdir: Path) -> None:
    # Given a link to /dev/zero (which would never end) and a link to a file outside the inbox
    (workdir / "inbox" / "zero.jsonl").symlink_to("/dev/zero")
    (workdir / "outside.jsonl").write_bytes(record("ci/outside", 1))
    (workdir / "inbox" / "outside.jsonl").symlink_to(workdir / "outside.jsonl")
    good_file(workdir)
    # When a pass runs
    ran = run_child(workdir / "failstreak.yaml")
    # Then both links are set aside with their target named, and only the inbox's own file is counted
    assert ran.code == 0, ran.stderr
    assert ran.summary["ingested"] == 3
    assert sorted(ran.summary["quarantined"]) == ["outside.jsonl", "zero.jsonl"]
    assert reason(workdir, "zero.jsonl").startswith("a symbolic link (to /dev/zero): only regular files are read")
    assert (workdir / "outside.jsonl").exists(), "the link is moved, never its target"
    assert moved(workdir, "quarantine", "zero.jsonl").is_symlink()


def test_a_dangling_symlink_is_reported_and_quarantined_not_skipped(workdir: Path) -> None:
    # Given a link to a file that does not exist
    (workdir / "inbox" / "gone.jsonl").symlink_to(workdir / "nowhere.jsonl")
    good_file(workdir)
    # When a pass runs
    ran = run_child(workdir / "failstreak.yaml")
    # Then the summary names it, and it is set aside with a reason saying its target does not exist
    assert ran.code == 0, ran.stderr
    assert ran.summary["quarantined"] == ["gone.jsonl"]
    assert {"file": "gone.jsonl", "line": None, "reason": reason(workdir, "gone.jsonl").strip()} in ran.summary[
        "rejects"
    ]
    assert "which does not exist" in reason(workdir, "gone.jsonl")


def bomb(path: Path, size: int) -> None:
    """A gzip file that inflates to `size` bytes of one repeated 64 KiB line: the same 16 MiB member written
    over and over (gzip readers inflate concatenated members as one stream), so it costs one compression."""
    line = b'{"pad": "' + b"a" * (64 * 1024 - 12) + b'"}\n'
    member = gzip.compress(line * 256, compresslevel=9)
    with open(path, "wb") as f:
        for _ in range(size // (len(line) * 256)):
            f.write(member)


def test_a_gzip_bomb_is_quarantined_within_bounded_memory_and_the_good_files_counted(workdir: Path) -> None:
    # Given a 1 MiB gzip file that inflates to 1 GiB, beside a good file
    bomb(workdir / "inbox" / "bomb.jsonl.gz", GIB)
    assert (workdir / "inbox" / "bomb.jsonl.gz").stat().st_size < 2 * MIB
    good_file(workdir)
    # When a pass runs
    ran = run_child(workdir / "failstreak.yaml")
    # Then it completes within far less than the Lambda's memory, the bomb set aside with how to split it
    assert ran.code == 0, ran.stderr
    assert ran.summary["ingested"] == 3
    assert ran.summary["quarantined"] == ["bomb.jsonl.gz"]
    assert "larger than 256 MiB once decompressed" in reason(workdir, "bomb.jsonl.gz")
    assert "split it" in reason(workdir, "bomb.jsonl.gz")
    assert 0 < ran.peak_rss < GIB


def test_five_million_rejected_lines_are_counted_kept_in_quarantine_within_bounded_memory(workdir: Path) -> None:
    # Given a file of five million `{}` lines and one good line
    (workdir / "inbox" / "noise.jsonl").write_bytes(b"{}\n" * 5_000_000 + record("ci/noise", 1))
    good_file(workdir)
    # When a pass runs
    ran = run_child(workdir / "failstreak.yaml")
    # Then every rejected line is counted, the summary lists a few, and the good lines are counted
    assert ran.code == 0, ran.stderr
    assert (ran.summary["ingested"], ran.summary["rejected"]) == (4, 5_000_000)
    assert len(ran.summary["rejects"]) == 50
    # And the quarantine lists the first rejected lines and keeps the whole file for the rest
    listed = moved(workdir, "quarantine", "noise.jsonl.rejected.jsonl").read_text().splitlines()
    assert json.loads(listed[0]) == {
        "file": "noise.jsonl",
        "line": 1,
        "reason": "missing required field 'job'",
        "raw": "{}",
    }
    assert json.loads(listed[-1])["reason"].startswith(
        f"{5_000_000 - len(listed) + 1} more rejected lines are not listed here: the whole file is kept as "
    )
    kept = moved(workdir, "quarantine", "noise.jsonl").read_bytes()
    assert kept == moved(workdir, "processed", "noise.jsonl").read_bytes()
    assert 0 < ran.peak_rss < GIB


def test_a_file_over_the_per_file_cap_is_quarantined_with_how_to_split_it(workdir: Path) -> None:
    # Given a cap of 1 MiB per file and a file of 2 MiB of good records beside a small one
    (workdir / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\ninbox_file_max_mib: 1\n")
    big = b"".join(record("ci/big", i) for i in range(1, 30_000))
    assert len(big) > 2 * MIB
    (workdir / "inbox" / "big.jsonl").write_bytes(big)
    good_file(workdir)
    # When a pass runs
    ran = run_child(workdir / "failstreak.yaml")
    # Then the big file is set aside whole, none of its runs counted, with how to split it; the small one counted
    assert ran.code == 0, ran.stderr
    assert (ran.summary["ingested"], ran.summary["quarantined"]) == (3, ["big.jsonl"])
    assert reason(workdir, "big.jsonl") == (
        "larger than 1 MiB once decompressed (the per-file cap, inbox_file_max_mib): split it into several files, "
        "each under the cap\n"
    )


def test_the_batch_bound_counts_decompressed_bytes(workdir: Path) -> None:
    # Given a bound of 1 MiB per pass and three gzip files of a few KiB that each inflate to 0.6 MiB
    (workdir / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\ninbox_max_mib: 1\n")
    for f in range(3):
        lines = b"".join(record("ci/gz", f * 10_000 + i, pad="x" * 200) for i in range(2_000))
        assert 0.5 * MIB < len(lines) < 0.7 * MIB
        path = workdir / "inbox" / f"f{f}.jsonl.gz"
        path.write_bytes(gzip.compress(lines))
        assert path.stat().st_size < 64 * 1024
        os.utime(path, ns=(T0 * 10**6 + f, T0 * 10**6 + f))
    # When passes run
    ran = [run_child(workdir / "failstreak.yaml").summary for _ in range(3)]
    # Then each takes what fits the bound once decompressed (one file each), oldest first, and counts every run
    assert [(s["files"], s["backlog"], s["ingested"]) for s in ran] == [(1, 2, 2_000), (1, 1, 2_000), (1, 0, 2_000)]


def test_files_of_the_same_name_quarantined_and_archived_by_two_passes_never_overwrite_each_other(
    workdir: Path,
) -> None:
    # Given a file with a rejected line, passed by a first pass, then another file of the same name
    for run in (1, 2):
        (workdir / "inbox" / "ci.jsonl").write_bytes(record("ci/a", run) + b'{"run_id": %d}\n' % run)
        # When a pass runs for each
        assert run_child(workdir / "failstreak.yaml").code == 0
    # Then both files are archived, and both rejected lines kept, each under its own pass's folder
    archived = sorted((workdir / "inbox" / "processed").glob("*/*/*/*/ci.jsonl"))
    assert [p.read_bytes().count(b"\n") for p in archived] == [2, 2]
    assert archived[0].read_bytes() != archived[1].read_bytes()
    kept = sorted((workdir / "inbox" / "quarantine").glob("*/*/*/*/ci.jsonl.rejected.jsonl"))
    assert [json.loads(p.read_text())["raw"] for p in kept] == ['{"run_id": 1}', '{"run_id": 2}']
    assert archived[0].parent.name < archived[1].parent.name, "pass ids sort in the order the passes ran"
