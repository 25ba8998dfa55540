"""`failstreak mute` on the S3 mutes document, racing a real concurrent write: the conditional write loses, and
retries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from failstreak import s3client as s3store
from failstreak.app.cli import main
from failstreak.state.mutes import decode_mutes
from tests.integration.s3.backends import S3

pytestmark = pytest.mark.integration


def test_mute_retries_when_another_writer_saves_the_mutes_document_first(
    s3: S3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a config naming state on S3, and another `failstreak mute` that saves the mutes document between this
    # command's read and its conditional write (run from the first attempt to write, so the race is certain)
    config = tmp_path / "failstreak.yaml"
    config.write_text(f"state: {s3.uri('fs/state.json')}\ninbox: {s3.uri('fs/inbox/')}\n")
    writes: list[str] = []

    def other_writer_first(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") != "fs/mutes.json":
            return
        writes.append("attempt")
        if len(writes) == 1:
            assert main(["mute", "etl/*", "--runs", "2", "--create", "--config", str(config)]) == 0

    events = s3store.client().meta.events
    events.register("provide-client-params.s3.PutObject", other_writer_first)
    try:
        # When this command mutes ci/*
        code = main(["mute", "ci/*", "--hours", "2", "--create", "--config", str(config)])
    finally:
        events.unregister("provide-client-params.s3.PutObject", other_writer_first)

    # Then its first write lost the race (three attempts: its own, the other's, its retry), it read the document
    # again and saved, and both mutes are in it: neither write was lost; the state was never written
    assert code == 0
    assert len(writes) == 3
    assert sorted(m.match for m in decode_mutes(s3.get("fs/mutes.json"), "mutes").mutes) == ["ci/*", "etl/*"]
    assert "fs/state.json" not in s3.keys("fs/")
    assert capsys.readouterr().out.count("muted ") == 2


def test_mute_gives_up_with_a_clear_error_when_the_mutes_document_keeps_changing(
    s3: S3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given save_attempts: 2, and another writer that saves the mutes document before each of this command's writes
    config = tmp_path / "failstreak.yaml"
    config.write_text(f"state: {s3.uri('fs/state.json')}\nsave_attempts: 2\n")
    other_writing = [False]
    other_writes = []

    def other_writer_every_time(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") != "fs/mutes.json" or other_writing[0]:
            return  # the other writer's own write goes through
        other_writing[0] = True
        other_writes.append(
            main(["mute", f"etl/{len(other_writes)}", "--runs", "1", "--create", "--config", str(config)])
        )
        other_writing[0] = False

    events = s3store.client().meta.events
    events.register("provide-client-params.s3.PutObject", other_writer_every_time)
    try:
        # When this command mutes ci/*
        code = main(["mute", "ci/*", "--hours", "2", "--create", "--config", str(config)])
    finally:
        events.unregister("provide-client-params.s3.PutObject", other_writer_every_time)

    # Then it gives up after its two attempts, says why, and the document holds the other writer's mutes only
    assert code == 1
    assert other_writes == [0, 0]
    assert (
        f"{s3.uri('fs/mutes.json')}: mutes document kept changing; gave up after 2 conflicting writes; "
        "nothing saved" in capsys.readouterr().err
    )
    assert "ci/*" not in [m.match for m in decode_mutes(s3.get("fs/mutes.json"), "mutes").mutes]
