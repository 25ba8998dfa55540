"""Moving a version-5 state's mutes into the mutes document (docs/state.md, "Moving the mutes"): the mutes
document is written first, the state without them after, so a pass that dies between the two loses no mute."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from failstreak.app.cli import main
from failstreak.app.config import load_config
from failstreak.app.routing import Router
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Mute, State
from failstreak.errors import StoreUnavailable
from failstreak.inbox.local import LocalInbox
from failstreak.pipeline.run import Ports, run_pass
from failstreak.state import codec
from failstreak.state.local import LocalStateStore
from failstreak.state.mutes import mutes_store
from tests.conftest import HOUR, T0
from tests.fakes import RecordingNotifier

NOW = T0 + 10 * HOUR
# Ends long after the wall clock the commands run by (they drop the mutes that ended).
OLD = Mute.new("ci/*", T0, until=4_000_000_000_000, reason="from version 5")
OTHER = Mute.new("etl/*", T0, runs=3)


class Died(BaseException):
    """The process ending mid-pass (nothing after it runs, as when a Lambda times out)."""


class DiesOnSave(LocalStateStore):
    def save(self, data: bytes, token: str | None) -> str:
        raise Died


def _version_5(mutes: list[Mute]) -> bytes:
    doc = json.loads(codec.encode(State(updated_at=T0, passes=1)))
    doc["version"] = 5
    doc["mutes"] = [msgspec.to_builtins(m) for m in mutes]
    return json.dumps(doc).encode()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "failstreak.yaml").write_text(f"state: {tmp_path / 'state.json'}\ninbox: {tmp_path / 'inbox'}\n")
    (tmp_path / "state.json").write_bytes(_version_5([OLD, OTHER]))
    (tmp_path / "inbox" / "1.jsonl").write_text(
        "".join(
            json.dumps({"job": "ci/a", "run_id": i, "status": "failed", "finished_at": T0 + i}) + "\n" for i in range(3)
        )
    )
    return tmp_path


def _pass(root: Path, store: LocalStateStore | None = None) -> dict[str, object]:
    cfg = load_config(str(root / "failstreak.yaml"))
    ports = Ports(
        store=store or LocalStateStore(cfg.state),
        mutes=mutes_store(cfg.state, clock=lambda: NOW),
        inbox=LocalInbox(cfg.inbox or ""),
        notifiers={"console": RecordingNotifier()},
        router=Router(cfg),
        clock=lambda: NOW,
    )
    return run_pass(pass_settings(cfg), ports).to_dict()


def _stored(root: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads((root / "state.json").read_bytes())
    return doc


def test_a_pass_moves_a_version_5_states_mutes_into_the_mutes_document_and_applies_them(root: Path) -> None:
    # Given a version 5 state holding two mutes, and three failures of ci/a in the inbox
    # When a pass runs
    summary = _pass(root)
    # Then the mutes are in the mutes document, the state is rewritten in the current version without them, the
    # pass says it moved them, and ci/a's incident is muted by the moved mute
    assert mutes_store(str(root / "state.json")).read().mutes == [OLD, OTHER]
    assert _stored(root)["version"] == codec.VERSION
    assert "mutes" not in _stored(root)
    assert summary["mutes_moved"] == 2
    assert [(n["job"], n["event"], n["suppressed"]) for n in summary["notifications"]] == [  # type: ignore[attr-defined]
        ("ci/a", "triggered", True)
    ]


def test_a_pass_that_dies_after_moving_the_mutes_loses_none_and_the_next_adds_none_twice(root: Path) -> None:
    # Given a pass that moved the mutes into the mutes document, then died before saving the state
    with pytest.raises(Died):
        _pass(root, DiesOnSave(root / "state.json"))
    assert mutes_store(str(root / "state.json")).read().mutes == [OLD, OTHER]
    assert _stored(root)["version"] == 5
    # When the next pass runs
    summary = _pass(root)
    # Then each mute is in the mutes document once, the state is in the current version without them, and nothing
    # was moved twice
    assert mutes_store(str(root / "state.json")).read().mutes == [OLD, OTHER]
    assert (_stored(root)["version"], "mutes" in _stored(root)) == (codec.VERSION, False)
    assert "mutes_moved" not in summary


def test_a_pass_that_cannot_write_the_mutes_document_leaves_the_state_as_it_was(root: Path) -> None:
    # Given a mutes document that cannot be written (its path is a folder)
    (root / "mutes.json").mkdir()
    before = (root / "state.json").read_bytes()
    # When a pass runs; Then it fails naming the mutes document, and the state still holds its mutes
    with pytest.raises(StoreUnavailable, match=r"mutes\.json: cannot read mutes document"):
        _pass(root)
    assert (root / "state.json").read_bytes() == before


def test_a_mute_command_moves_the_mutes_first_so_an_unmute_is_not_undone_by_the_next_pass(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a version 5 state with two mutes, no mutes document yet
    config = str(root / "failstreak.yaml")
    # When the on-call unmutes one of them from the command line, then a pass runs
    assert main(["unmute", "ci/*", "--config", config]) == 0
    assert capsys.readouterr().out == f"removed 1 mute(s) from {root / 'mutes.json'}\n"
    moved_by_command = _stored(root)
    summary = _pass(root)
    # Then the command moved the mutes before removing one (the state is in the current version without them), and
    # the pass neither brought the removed mute back nor muted ci/a
    assert (moved_by_command["version"], "mutes" in moved_by_command) == (codec.VERSION, False)
    assert mutes_store(str(root / "state.json")).read().mutes == [OTHER]
    assert [(n["job"], n["suppressed"]) for n in summary["notifications"]] == [("ci/a", False)]  # type: ignore[attr-defined]


def test_mutes_lists_a_version_5_states_mutes_from_the_mutes_document_it_moved_them_to(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a version 5 state with two mutes, no mutes document yet
    config = str(root / "failstreak.yaml")
    # When the mutes are listed; Then both are listed, from the mutes document they were moved to
    assert main(["mutes", "--json", "--config", config]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [m["match"] for m in doc["mutes"]] == ["ci/*", "etl/*"]
    assert doc["mutes_document"] == str(root / "mutes.json")
    assert _stored(root)["version"] == codec.VERSION
