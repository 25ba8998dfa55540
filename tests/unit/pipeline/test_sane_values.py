"""A bad value a producer sends can neither silence a job nor stop a pass or its notifications."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from failstreak.app.config import parse_config
from failstreak.app.routing import Router
from failstreak.app.text import for_terminal
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Event, Execution, Status, iso
from failstreak.core.outbox import Delivery, DeliveryResult
from failstreak.notifiers import email_render, slack_render
from failstreak.notifiers.base import BaseNotifier, Batch
from failstreak.notifiers.console import ConsoleNotifier, render_text
from failstreak.pipeline.run import Ports, run_pass
from failstreak.sources.base import Pulled, Source
from failstreak.state.codec import decode
from tests.fakes import InMemoryInbox, InMemoryStateStore, RecordingNotifier
from tests.unit.notify_samples import note

NOW = 1_794_996_400_000  # 2026-11-18T10:06:40Z
MINUTE = 60_000
UNSHOWABLE = [2**63 - 1, -(2**63), 253_402_300_800_000, -62_135_596_860_000]  # past 9999, before year 1


def _line(run_id: int, status: str, finished_at: Any) -> str:
    return json.dumps({"job": "etl", "run_id": run_id, "status": status, "finished_at": finished_at})


def _pass(inbox: InMemoryInbox, store: InMemoryStateStore, config: str = "", **ports: Any) -> Any:
    cfg = parse_config(config + "\nnotify: {console: true}\n")
    ports.setdefault("clock", lambda: NOW)
    return run_pass(pass_settings(cfg), Ports(store=store, inbox=inbox, router=Router(cfg), **ports))


def test_a_success_dated_2099_cannot_hide_the_failures_that_follow() -> None:
    # Given a pass that receives a success dated 2099
    store, inbox = InMemoryStateStore(), InMemoryInbox()
    inbox.add("a.jsonl", _line(1, "success", "2099-01-01T00:00:00Z"))
    first = _pass(inbox, store)
    # When 20 real failures arrive in the next pass
    inbox.add("b.jsonl", "\n".join(_line(2 + i, "failed", NOW - (30 - i) * MINUTE) for i in range(20)))
    notifier = RecordingNotifier()
    second = _pass(inbox, store, notifiers={"console": notifier})
    # Then the 2099 record was rejected, naming the field, and the failures count: the job alerts
    assert [r.reason for r in first.rejects] == [
        "field 'finished_at': '2099-01-01T00:00:00Z' is after 2026-11-19T10:06:40Z, the pass's clock plus "
        "max_clock_skew"
    ]
    assert [(n.job, n.event, n.consecutive_failures) for n in second.notifications] == [("etl", Event.TRIGGERED, 20)]
    assert notifier.events() == [("etl", "triggered")]


def test_a_success_sent_in_epoch_microseconds_is_counted_at_its_real_time() -> None:
    # Given a success sent in epoch microseconds, then three later failures
    store, inbox = InMemoryStateStore(), InMemoryInbox()
    lines = [_line(1, "success", (NOW - 10 * MINUTE) * 1000)]
    lines += [_line(2 + i, "failed", NOW - (5 - i) * MINUTE) for i in range(3)]
    inbox.add("a.jsonl", "\n".join(lines))
    # When a pass counts them
    summary = _pass(inbox, store)
    # Then the success is older than the failures: a streak of 3 that triggers
    assert [(n.event, n.consecutive_failures) for n in summary.notifications] == [(Event.TRIGGERED, 3)]


@pytest.mark.parametrize("ms", UNSHOWABLE)
def test_iso_never_raises_on_a_time_no_calendar_can_show(ms: int) -> None:
    # Given a stored time beyond what a date can show; When formatted; Then it is shown as its raw value
    assert iso(ms) == f"epoch-ms:{ms}"


# Every epoch-ms a date can show (0001-01-01 to 9999-12-31), and a margin on each side.
SHOWABLE_MS = st.integers(min_value=-62_135_596_800_000 - 86_400_000, max_value=253_402_300_799_999 + 86_400_000)


@given(SHOWABLE_MS)
def test_iso_writes_what_a_datetime_would_for_every_time(ms: int) -> None:
    # Given any time in epoch milliseconds, near the ends of what a date can show too
    try:
        expected = datetime.fromtimestamp(ms // 1000, UTC).isoformat()[:19] + "Z"
    except (ValueError, OverflowError, OSError):
        expected = f"epoch-ms:{ms}"
    # When it is formatted; Then it is the datetime's RFC 3339 text to the second, or the raw value past the ends
    assert iso(ms) == expected


@pytest.mark.parametrize("ms", UNSHOWABLE)
def test_every_renderer_shows_a_notification_whose_since_no_calendar_can_show(ms: int) -> None:
    # Given a triggered and a resolved notification whose incident began at an unshowable time
    notes = [note(since=ms), note(job="other", event=Event.RESOLVED, marks="fffs", since=ms)]
    # When each renderer renders them; Then none raises, and each shows the raw time
    assert f"epoch-ms:{ms}" in render_text(notes[0])
    assert all(f"epoch-ms:{ms}" in m.text for m in slack_render.digest(notes))
    assert f"epoch-ms:{ms}" in email_render.render(notes).text


class ExplodingNotifier(BaseNotifier[Delivery]):
    """A notifier that breaks its contract: sending raises an unexpected exception, not a DeliveryError."""

    kind = "slack"

    def batches(
        self, target: str, deliveries: Sequence[Delivery], sent: Mapping[str, DeliveryResult]
    ) -> Iterator[Batch[Delivery]]:
        return (Batch(d, (d,)) for d in deliveries)

    def deliver(self, target: str, message: Delivery) -> str | None:
        raise OverflowError("date value out of range")


def test_a_notifier_that_raises_fails_its_deliveries_but_not_the_pass_or_the_other_notifiers() -> None:
    # Given a job that triggers, routed to Slack (whose notifier raises) and to the console
    store, inbox = InMemoryStateStore(), InMemoryInbox()
    inbox.add("a.jsonl", "\n".join(_line(i, "failed", NOW - (5 - i) * MINUTE) for i in range(3)))
    console = RecordingNotifier()
    cfg = parse_config("notify: {console: true, slack: {token: {env: T}, default_channel: '#ci'}}")
    ports = Ports(
        store=store,
        inbox=inbox,
        router=Router(cfg),
        clock=lambda: NOW,
        notifiers={"slack": ExplodingNotifier(), "console": console},
    )
    # When the pass delivers
    summary = run_pass(pass_settings(cfg), ports)
    # Then the console got its notification, and the Slack delivery stays pending with the error, to retry
    assert console.events() == [("etl", "triggered")]
    assert [(f["destination"], f["retrying"]) for f in summary.delivery_failures] == [("slack:#ci", True)]
    assert "OverflowError: date value out of range" in summary.delivery_failures[0]["error"]
    assert summary.pending == 1


class SkewedSource(Source):
    """A platform whose clock is wrong for one run, and whose ids are too long for another."""

    name = "skewed"

    def pull(self, cursor: dict[str, Any], now_ms: int) -> Pulled:
        return Pulled(
            [
                Execution("etl", "1", Status.SUCCESS, 4_070_908_800_000),  # 2099
                Execution("etl", "2", Status.FAILED, now_ms - MINUTE),
                Execution("etl", "r" * 257, Status.SUCCESS, now_ms - MINUTE),
            ],
            {"since": now_ms},
        )


def test_a_source_run_dated_in_the_future_or_with_a_long_id_is_rejected_like_an_inbox_record() -> None:
    # Given a source that returns a run dated 2099, one with a 257-character id, and a good one
    store = InMemoryStateStore()
    cfg = parse_config("inbox: null")
    # When a pass pulls them
    summary = run_pass(pass_settings(cfg), Ports(store=store, sources=[SkewedSource()], clock=lambda: NOW))
    # Then the good one is counted and the other rejected, naming the source, the run and the field
    assert summary.ingested == 1
    assert [(r.file, r.reason) for r in summary.rejects] == [
        (
            "skewed",
            "job 'etl' run '1': field 'finished_at': 2099-01-01T00:00:00Z is outside "
            "2000-01-01T00:00:00Z..2026-11-19T10:06:40Z",
        ),
        ("skewed", f"job 'etl' run {'r' * 100!r}: field 'run_id': not 1 to 256 characters"),
    ]


def test_the_console_notifier_escapes_control_characters_in_what_producers_wrote() -> None:
    # Given a notification for a job whose name and reason hold an ESC sequence and a forged line
    n = note(job="evil\x1b]0;owned\x07\nFAKE LINE", last_reason="boom\r\x1b[2Jcleared")
    stream = io.StringIO()
    # When the console notifier prints it
    ConsoleNotifier(stream).send("", [Delivery("o1", n)])
    printed = stream.getvalue()
    # Then no control character reaches the terminal but the line breaks of the layout itself
    assert not {"\x1b", "\r", "\x07"} & set(printed)
    assert "evil\\x1b]0;owned\\x07\\nFAKE LINE" in printed
    assert not any(line.startswith("FAKE LINE") for line in printed.splitlines())


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain/job-é-🎉", "plain/job-é-🎉"),
        ("a\x1b[31mred", "a\\x1b[31mred"),
        ("two\nlines\r", "two\\nlines\\r"),
        ("c1\x9bcsi\x7f", "c1\\x9bcsi\\x7f"),
        ("rtl\u202eexe.txt", "rtl\\u202eexe.txt"),
        ("sep\u2028x", "sep\\u2028x"),
    ],
)
def test_text_for_a_terminal_shows_controls_as_escapes_and_leaves_the_rest(raw: str, shown: str) -> None:
    # Given text with (or without) control characters; When made safe for a terminal; Then only those are escaped
    assert for_terminal(raw) == shown


def test_a_state_that_already_remembers_a_run_dated_2099_forgets_it_and_counts_again() -> None:
    # Given a state saved by a pass whose clock read 2099 (as a state saved before times were bounded could be):
    # two failures, then a success dated 2099, so the streak is 0
    store, inbox = InMemoryStateStore(), InMemoryInbox()
    future = 4_070_908_800_000  # 2099-01-01
    inbox.add("a.jsonl", "\n".join([_line(1, "failed", NOW - 9 * MINUTE), _line(2, "failed", NOW - 8 * MINUTE)]))
    inbox.add("b.jsonl", _line(3, "success", future))
    _pass(inbox, store, clock=lambda: future + MINUTE)
    # When a pass with a right clock brings one more failure
    inbox.add("c.jsonl", _line(4, "failed", NOW - MINUTE))
    summary = _pass(inbox, store)
    # Then the 2099 run is forgotten and named, and the job counts its three failures in a row: it alerts
    assert summary.future_runs_forgotten == ["etl run 3"]
    assert summary.to_dict()["future_runs_forgotten"] == ["etl run 3"]
    assert [(n.event, n.consecutive_failures) for n in summary.notifications] == [(Event.TRIGGERED, 3)]
    job = decode(store.data).jobs["etl"]
    assert (job.total_runs, job.total_failures, job.last_success) == (3, 3, None)
    assert [r.run_id for r in job.runs] == ["1", "2", "4"]


def test_a_job_alerting_on_a_failure_dated_2099_resolves_once_it_is_forgotten() -> None:
    # Given a job that alerted on three failures, the last dated 2099 (saved by a pass whose clock read 2099)
    store, inbox = InMemoryStateStore(), InMemoryInbox()
    future = 4_070_908_800_000
    lines = [_line(1, "failed", NOW - 9 * MINUTE), _line(2, "failed", NOW - 8 * MINUTE), _line(3, "failed", future)]
    inbox.add("a.jsonl", "\n".join(lines))
    assert [n.event for n in _pass(inbox, store, clock=lambda: future + MINUTE).notifications] == [Event.TRIGGERED]
    # When a pass with a right clock brings a success
    inbox.add("b.jsonl", _line(4, "success", NOW - MINUTE))
    summary = _pass(inbox, store)
    # Then the 2099 failure is forgotten and the success, now the newest run, resolves the job
    assert summary.future_runs_forgotten == ["etl run 3"]
    assert [n.event for n in summary.notifications] == [Event.RESOLVED]
    job = decode(store.data).jobs["etl"]
    assert (job.consecutive_failures, job.total_runs, job.total_failures) == (0, 3, 2)
    assert job.last_failure == NOW - 8 * MINUTE
