"""Smoke test of the benchmark's generator and measuring code on a tiny workload (seconds; no timing asserted)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import orjson
import pytest
from bench import generate, measure, run

TINY = generate.Workload("tiny", jobs=50, executions=2000, files=12, history_runs=12)


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate.prepare(TINY, tmp_path_factory.mktemp("workloads"))


def test_generated_inbox_has_the_realistic_mix(workload: Path) -> None:
    # Given a prepared tiny workload
    meta = orjson.loads((workload / "workload.json").read_bytes())
    files = sorted((workload / "inbox").iterdir())
    # Then it spreads its records over plain and gzip JSON Lines files, with a steady state behind it
    assert len(files) == TINY.files
    assert any(f.name.endswith(".jsonl.gz") for f in files)
    lines = [
        line
        for f in files
        for line in (gzip.decompress(f.read_bytes()) if f.name.endswith(".gz") else f.read_bytes()).splitlines()
    ]
    assert len(lines) == meta["records"]
    assert meta["history_ingested"] == TINY.jobs * TINY.history_runs
    records = [orjson.loads(line) for line in lines]
    assert {r["status"] for r in records} >= {"success", "failed"}
    assert len({(r["job"], r["run_id"], r.get("attempt", 0)) for r in records}) < len(records)  # duplicates
    assert meta["retries"] > 0
    assert any(r.get("attempt") for r in records)  # retries
    # And the generator is deterministic
    again = generate.generate(TINY)
    assert again.fresh == generate.generate(TINY).fresh


def test_floor_and_pass_run_over_a_fresh_copy(workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a fresh copy of the workload, as the runner makes one per repetition
    monkeypatch.setattr(run, "OUT", tmp_path)
    cfg = run._fresh_local(workload, tmp_path / "run")
    meta = orjson.loads((workload / "workload.json").read_bytes())
    # When the floor and the pass run over it (in-process here; the runner uses child processes)
    floor = measure.floor_local(str(tmp_path / "run" / "state.json"), str(tmp_path / "run" / "inbox"))
    result = measure.run_pass(str(cfg), generate.NOW)
    # Then the floor read every line and the pass ingested the inbox and archived it
    assert floor["lines"] == meta["records"]
    assert result["files"] == TINY.files
    assert result["ingested"] > 0
    assert result["duplicates"] > 0
    assert result["rejected"] == 0
    assert not [p for p in (tmp_path / "run" / "inbox").iterdir() if p.is_file()]


def test_report_renders_a_table_and_rewrites_only_its_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a performance document with a section of someone else's
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Cold start\n\nkept as is\n")
    monkeypatch.setattr(run, "DOC", doc)
    m = run.Measure(2.0, 1.5, 100.0, {"inbox_s": 0.1, "state_load_s": 0.2, "state_save_s": 0.3})
    rows = [
        run.Row("1k", "local", 1000, 100, floors=[m], passes=[run.Measure(4.0, 3.0, 120.0, {})], state_stored=10),
        run.Row("10k", "local", 10000, 1000, floors=[m], passes=[run.Measure(8.0, 6.0, 200.0, {})], state_stored=20),
        run.Row("1k", "s3 (moto)", 1000, 100, skipped="not run: x"),
    ]
    text = run.report(rows, {"boto3": 0.2, "monitor.app (handler)": None}, "make bench")
    # When written twice
    run.write_doc(text)
    run.write_doc(text)
    body = doc.read_text()
    # Then the table has the ratio, the other section is intact, and the block appears once
    assert "| 1k | local | 1 | 1,000 | 4.00 |" in body
    assert "2.00×" in body
    assert "kept as is" in body
    assert body.count(run.BEGIN) == 1
    shutil.rmtree(tmp_path / "nothing", ignore_errors=True)
