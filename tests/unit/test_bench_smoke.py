"""Smoke test of the benchmark's generator and measuring code on a tiny workload (seconds; no timing asserted)."""

from __future__ import annotations

import argparse
import gc
import gzip
import shutil
import time
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from bench import backtest, estate, generate, measure, memory, run

from failstreak.state import codec

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
    m = run.Measure(2.0, 1.5, 100.0, _floor_detail())
    paused = run.Measure(1.6, 1.2, 100.0, _floor_detail())
    rows = [
        run.Row(
            "1k",
            "local",
            1000,
            100,
            floors=[m],
            floors_gc_paused=[paused],
            passes=[run.Measure(4.0, 3.0, 120.0, {})],
            state_stored=10,
        ),
        run.Row(
            "10k",
            "local",
            10000,
            1000,
            floors=[m],
            floors_gc_paused=[paused],
            passes=[run.Measure(8.0, 6.0, 200.0, {})],
            state_stored=20,
        ),
        run.Row("1k", "s3 (moto)", 1000, 100, skipped="not run: x"),
    ]
    text = run.report(rows, {"boto3": 0.2, "monitor.app (handler)": None}, "make bench")
    # When written twice
    run.write_doc(text)
    run.write_doc(text)
    body = doc.read_text()
    # Then the table has the ratio, the other section is intact, and the block appears once
    assert "| 1k | local | 1 | 1,000 | 4.00 |" in body
    assert "| 2.00× | 2.50× |" in body  # pass / floor, then pass / floor (gc paused)
    assert "pass / floor (gc paused)" in body
    # And the floor's parts name the library each part counted
    assert "| 1k | local | 0.10 | msgspec decode_lines | 0.20 | orjson | 0.30 | msgspec | 2.00 | 1.60 |" in body
    assert "kept as is" in body
    assert body.count(run.BEGIN) == 1
    shutil.rmtree(tmp_path / "nothing", ignore_errors=True)


def _floor_detail() -> dict[str, Any]:
    return {
        "inbox_s": 0.1,
        "state_load_s": 0.2,
        "state_save_s": 0.3,
        "libs": {"inbox": "msgspec decode_lines", "state_parse": "orjson", "serialise": "msgspec"},
        "lib_s": {
            "inbox": {"orjson": 0.09, "msgspec": 0.1, "msgspec decode_lines": 0.07},
            "state_parse": {"orjson": 0.1, "msgspec": 0.12},
            "serialise": {"orjson": 0.05, "msgspec": 0.04},
        },
    }


def test_floor_counts_the_faster_library_of_each_part(workload: Path, tmp_path: Path) -> None:
    # Given a fresh copy of the workload
    run._fresh_local(workload, tmp_path / "run")
    # When the floor runs over it
    floor = measure.floor_local(str(tmp_path / "run" / "state.json"), str(tmp_path / "run" / "inbox"))
    # Then every JSON part was timed with both libraries (and JSON Lines also with msgspec's decode_lines)
    assert set(floor["lib_s"]["inbox"]) == {"orjson", "msgspec", "msgspec decode_lines"}
    assert set(floor["lib_s"]["state_parse"]) == {"orjson", "msgspec"}
    assert set(floor["lib_s"]["serialise"]) == {"orjson", "msgspec"}
    # And each part counts the faster one, on top of the I/O it does once
    for part, total in (("inbox", "inbox_s"), ("state_parse", "state_load_s"), ("serialise", "state_save_s")):
        times = floor["lib_s"][part]
        assert floor["libs"][part] == min(times, key=times.__getitem__)
        assert floor[total] == pytest.approx(floor["io_s"][part] + min(times.values()))
    assert floor["floor_wall_s"] == pytest.approx(floor["inbox_s"] + floor["state_load_s"] + floor["state_save_s"])
    # And the document it wrote back is the state it read
    written = (tmp_path / "run" / "state.json.floor").read_bytes()
    stored = (tmp_path / "run" / "state.json").read_bytes()
    assert codec.decode(written) == codec.decode(stored)


def test_floor_does_not_count_a_slower_library(workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an orjson made slow on the state (a stand-in for whichever library loses)
    def slow_loads(raw: bytes) -> Any:
        time.sleep(0.2)
        return orjson.loads(raw)

    monkeypatch.setitem(measure.STATE_PARSERS, "orjson", slow_loads)
    run._fresh_local(workload, tmp_path / "run")
    # When the floor runs, orjson going first
    floor = measure.floor_local(str(tmp_path / "run" / "state.json"), str(tmp_path / "run" / "inbox"), "orjson")
    # Then the state part counts msgspec, and not the slow library's time
    assert floor["libs"]["state_parse"] == "msgspec"
    assert floor["lib_s"]["state_parse"]["orjson"] >= 0.2
    assert floor["state_load_s"] < 0.2


def test_floor_child_reports_a_gc_paused_floor_of_the_counted_time_only(
    workload: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fresh copy of the workload and the child's environment
    cfg = run._fresh_local(workload, tmp_path / "run")
    monkeypatch.setenv("BENCH_NOW", str(generate.NOW))
    seen: list[bool] = []
    real = measure.SERIALISERS["msgspec"]

    def spy(doc: Any) -> bytes:
        seen.append(gc.isenabled())
        return real(doc)

    monkeypatch.setitem(measure.SERIALISERS, "msgspec", spy)
    # When the floor child runs with the collector paused
    assert measure.main(["measure", "floor", str(cfg), "gc=paused", "first=msgspec"]) == 0
    out = msgspec.json.decode(capsys.readouterr().out.splitlines()[-1])
    # Then the work ran with the collector off, and it is back on afterwards
    assert seen == [False]
    assert gc.isenabled()
    assert out["gc"] == "paused"
    # And the floor's time is its counted parts, not the child's time with the slower libraries too
    assert out["wall_s"] == pytest.approx(out["inbox_s"] + out["state_load_s"] + out["state_save_s"])
    assert out["child_wall_s"] > out["wall_s"]


def test_workload_cache_key_changes_with_the_state_format_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the key of a workload under the current state format
    before = TINY.key()
    # When the state format's version changes
    monkeypatch.setattr(codec, "VERSION", codec.VERSION + 1)
    # Then the workload is cached under another key, which names the version
    assert TINY.key() != before
    assert f"-v{codec.VERSION}-" in TINY.key()


def test_the_memory_bench_measures_a_pass_over_a_backlog_larger_than_one_pass_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the memory bench shrunk to bounds of half a MiB, writing under a temporary directory
    monkeypatch.setattr(memory, "OUT", tmp_path)
    # When it measures a pass over its backlog of gzip files
    result = memory.backlog(scale=0.002, jobs=50)
    # Then the pass read what fits the bound, left the rest, counted every run it read and measured its peak
    assert result["files"] > 0
    assert result["backlog"] > 0
    assert result["ingested"] > 0
    assert result["quarantined"] == 0
    assert result["peak_mib"] > 0


def test_the_backtest_bench_agrees_with_the_direct_passes_on_a_small_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the backtest bench shrunk to 30 jobs over one day, writing under a temporary directory
    monkeypatch.setattr(backtest, "OUT", tmp_path / "backtest")
    # When it replays the archive directly and through the backtest
    rows = backtest.measure(jobs=30, days=1)
    # Then both read the 24 passes, the backtest's numbers for the configured settings are the direct ones,
    # and the report says so
    assert rows["direct"]["doc"]["passes"] == 24
    assert rows["backtest"]["doc"]["passes"] == 24
    assert backtest.agrees(rows)
    assert "equal the direct passes'" in backtest.report(rows)


def test_status_and_its_floor_run_over_a_fresh_copy(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh copy of the workload's steady state, with an empty inbox, as bench/estate.py makes one
    cfg = estate._fresh(workload, tmp_path / "run", [])
    # When `status --json` and the floor of parsing the state run over it (in-process here)
    assert measure.run_status(str(cfg)) == {}
    floor = measure.state_floor(str(tmp_path / "run" / "state.json"))
    # Then the floor counted one library for the parse, and took some time
    assert floor["libs"]["state_parse"] in measure.STATE_PARSERS
    assert floor["floor_wall_s"] > 0
    # And a pass over the first records of the inbox, as the "1,000 records" row runs, ingests them
    few = estate._first_lines(workload, 100)
    assert len(few) == 100
    result = measure.run_pass(str(estate._fresh(workload, tmp_path / "run", few)), generate.NOW)
    assert result["files"] == 1
    assert result["ingested"] > 0


def test_the_estate_report_renders_its_rows_and_rewrites_only_its_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a performance document with the estate's block and a section of someone else's
    doc = tmp_path / "performance.md"
    doc.write_text(
        f"# Performance\n\n{estate.BEGIN}\nthe previous figures\n{estate.END}\n\n## Cold start\n\nkept as is\n"
    )
    monkeypatch.setattr(estate, "DOC", doc)
    row = estate.EstateRow("1k", 1000, 1000)
    for kind, wall in zip(estate.KINDS, (2.0, 0.4, 0.5, 0.1, 0.6, 1.2, 1.0), strict=True):
        row.runs[kind].append(run.Measure(wall, wall, 100.0, {}))
    cold = estate.Cold(boto3_s=0.2, cold_s=0.5, import_s=0.25, first_s=0.27, warm_s=0.02, rounds=15)
    # When written twice
    text = estate.report([row], cold, "make bench")
    estate.write_doc(text)
    estate.write_doc(text)
    body = doc.read_text()
    # Then the ratios are each row's against its floor, the cold start against boto3, and the rest is intact
    assert "| 1,000 | this checkout | 1 | 2.00 | 0.40 | 0.20× | 0.50 | 0.25× |" in body
    assert "| 1.20 | 1.20× |" in body
    assert "| 100 / 100 | 0.10 | 0.05× | 0.60 | 0.30× | 1.00 |" in body
    assert "| 0.200 | 0.500 | 2.50× |" in body
    assert "the previous figures" not in body
    assert "kept as is" in body
    assert body.count(estate.BEGIN) == 1


def test_the_million_job_row_has_its_own_block_and_leaves_the_estate_block_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a performance document with both blocks
    doc = tmp_path / "performance.md"
    million_begin, million_end = estate.markers("estate-1m")
    doc.write_text(
        f"{estate.BEGIN}\nthe 100k rows\n{estate.END}\n\n{million_begin}\nthe previous million row\n{million_end}\n"
    )
    monkeypatch.setattr(estate, "DOC", doc)
    row = estate.EstateRow("1m", 1_000_000, 1000)
    for kind, wall in zip(estate.KINDS, (40.0, 2.0, 4.0, 2.0, 6.0, 80.0, 50.0), strict=True):
        row.runs[kind].append(run.Measure(wall, wall, 100.0, {}))
    # When the growth row is written without a cold start
    estate.write_doc(estate.report([row], None, "python -m bench.estate --sizes 1m --no-cold"), "estate-1m")
    body = doc.read_text()
    # Then only its own block changed, and it holds the row and no cold start table
    assert "the 100k rows" in body
    assert "the previous million row" not in body
    assert "| 1,000,000 | this checkout | 1 | 40.00 | 2.00 | 0.05× | 4.00 | 0.10× |" in body
    assert "cold start" not in body.split(million_begin)[1]


def test_the_estate_bench_measures_only_the_kinds_named_and_refuses_an_unknown_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the estate bench's options
    parser = argparse.ArgumentParser()
    # When measures are named, in any order, and then one it does not have
    chosen = estate._kinds(parser, ["state parse floor", "status --json"])
    with pytest.raises(SystemExit):
        estate._kinds(parser, ["status"])
    # Then the named ones are measured in the bench's order, all of them when none is named, and the unknown one is
    # refused with the known ones listed
    assert chosen == ("status --json", "state parse floor")
    assert estate._kinds(parser, None) == estate.KINDS
    assert "unknown --kind status; known: floor; pass, none" in capsys.readouterr().err


def test_an_estate_table_without_some_measures_shows_them_as_not_measured() -> None:
    # Given a row with only the status and its floor measured
    row = estate.EstateRow("1k", 1000, 1000)
    row.runs["status --json"].append(run.Measure(1.2, 1.2, 100.0, {}))
    row.runs["state parse floor"].append(run.Measure(1.0, 1.0, 100.0, {}))
    # When the table is rendered; Then the status is against its floor, the rest not a number
    table = estate.estate_table([row])
    assert "| 1.00 | 1.20 | 1.20× |" in table
    assert "| nan | nan | nan× |" in table
