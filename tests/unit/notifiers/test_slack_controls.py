"""The controls of alert messages (notifiers/slack_render.py): buttons or overflow menus within Block Kit's limits."""

from __future__ import annotations

import hashlib
from typing import Any

from failstreak.core.model import Event
from failstreak.notifiers.slack_render import (
    ACTIONS,
    MAX_BLOCKS,
    MAX_OPTION_VALUE,
    NOTE_MARK,
    digest,
    option_value,
    with_note,
)
from tests.unit.notify_samples import note

VERBS = [verb for verb, _ in ACTIONS]


def _elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for b in blocks:
        out.extend(b.get("elements", []) if b["type"] == "actions" else [])
        if "accessory" in b:
            out.append(b["accessory"])
    return out


def test_a_message_of_a_few_jobs_gets_a_row_of_four_buttons_per_failing_job() -> None:
    # Given two failing jobs
    notes = [note("ci/build"), note("ci/test")]
    # When rendered with actions
    [message] = digest(notes, actions=True)
    # Then each job has an actions block of four buttons whose values name the verb and the job
    rows = [b for b in message.blocks if b["type"] == "actions"]
    assert len(rows) == 2
    for row, job in zip(rows, ["ci/build", "ci/test"], strict=True):
        assert [e["value"] for e in row["elements"]] == [f"{verb}|{job}" for verb in VERBS]
        assert all(e["type"] == "button" for e in row["elements"])
    assert [e["text"]["text"] for e in rows[0]["elements"]] == ["Mute 24 h", "Mute until fixed", "Unmute", "I'm on it"]


def test_without_actions_the_message_has_no_controls() -> None:
    # Given failing jobs; When rendered without actions (no front configured)
    [message] = digest([note("ci/build"), note("ci/test")])
    # Then there is no button and no menu anywhere
    assert _elements(message.blocks) == []
    assert all("block_id" not in b for b in message.blocks)


def test_a_full_message_gets_an_overflow_menu_per_job_and_stays_within_50_blocks() -> None:
    # Given 15 failing jobs with links (three blocks each: rows of buttons would pass 50 blocks)
    notes = [note(f"etl/job-{i:02d}") for i in range(15)]
    # When rendered with actions
    [message] = digest(notes, actions=True)
    # Then each job's section carries an overflow menu of the four verbs, and the message is within the limit
    assert len(message.blocks) <= MAX_BLOCKS
    menus = [b["accessory"] for b in message.blocks if "accessory" in b]
    assert len(menus) == 15
    assert all(m["type"] == "overflow" and len(m["options"]) == 4 for m in menus)
    assert [o["value"] for o in menus[0]["options"]] == [f"{verb}|etl/job-00" for verb in VERBS]


def test_action_ids_and_block_ids_are_unique_within_a_message() -> None:
    # Given a message of buttons and one of menus
    for notes in ([note(f"a{i}") for i in range(3)], [note(f"b{i}") for i in range(15)]):
        [message] = digest(notes, actions=True)
        # Then no two controls share an action id and no two blocks a block id
        ids = [e["action_id"] for e in _elements(message.blocks)]
        assert len(ids) == len(set(ids))
        blocks = [b["block_id"] for b in message.blocks if "block_id" in b]
        assert len(blocks) == len(set(blocks))


def test_values_stay_within_block_kit_limits_for_the_longest_job_names() -> None:
    # Given jobs with the longest name a record may have (512 characters)
    long_name = "x" * 512
    few = digest([note(long_name)], actions=True)[0]
    many = digest([note(f"{long_name[:-2]}{i:02d}") for i in range(15)], actions=True)[0]
    # Then a button carries the name whole (within 2000), an option its sha256 (within 150)
    assert all(len(e["value"]) <= 2000 for e in _elements(few.blocks))
    assert _elements(few.blocks)[0]["value"] == f"mute-24h|{long_name}"
    options = [o["value"] for m in _elements(many.blocks) for o in m["options"]]
    assert all(len(v) <= MAX_OPTION_VALUE for v in options)
    assert options[0] == "mute-24h|#" + hashlib.sha256(f"{long_name[:-2]}00".encode()).hexdigest()


def test_an_option_value_keeps_a_short_name_as_written() -> None:
    # Given a short name; When made an option's value; Then it is verb|name
    assert option_value("ack", "ci/build") == "ack|ci/build"


def test_fixed_jobs_get_no_controls() -> None:
    # Given one job fixed and one failing in the same message
    [message] = digest([note("ci/fixed", Event.RESOLVED, marks="fffs"), note("ci/broken")], actions=True)
    # Then only the failing job has controls
    values = [e["value"] for e in _elements(message.blocks)]
    assert values
    assert all(v.endswith("|ci/broken") for v in values)


def test_a_note_goes_under_the_job_and_replaces_an_earlier_one() -> None:
    # Given a message with two jobs' controls
    [message] = digest([note("ci/build"), note("ci/test")], actions=True)
    # When a note is put under the second job, then another one
    once = with_note(message.blocks, "fs-job-1", "muted by someone")
    assert once is not None
    twice = with_note(once, "fs-job-1", "unmuted by someone")
    assert twice is not None
    # Then the second job's section ends with the last note only, the first job is untouched, no block was added
    section = next(b for b in twice if b.get("block_id") == "fs-job-1")
    assert section["text"]["text"].endswith(f"\n{NOTE_MARK}unmuted by someone")
    assert "muted by someone" not in section["text"]["text"].replace("unmuted by someone", "")
    assert next(b for b in twice if b.get("block_id") == "fs-job-0") == message.blocks[1]
    assert len(twice) == len(message.blocks)


def test_a_note_for_a_section_the_message_does_not_have_is_none() -> None:
    # Given a message without controls; When a note is put under a job; Then there is nothing to update
    [message] = digest([note("ci/build")])
    assert with_note(message.blocks, "fs-job-0", "x") is None
