"""The daily digest through whole passes (docs/digest.md): once per day per destination, across outages and
conflicts; in-memory ports, the real Router."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from failstreak.app.config import Config, parse_config
from failstreak.app.routing import Router
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Event
from failstreak.pipeline.run import Ports, run_pass
from failstreak.pipeline.summary import Summary
from failstreak.state.codec import decode, encode
from tests.fakes import InMemoryInbox, InMemoryStateStore, RecordingNotifier

PARIS = ZoneInfo("Europe/Paris")
MINUTE = 60_000
HOUR = 60 * MINUTE

CONFIG = """
digest: {at: "09:00", timezone: Europe/Paris, weekdays: [mon, tue, wed, thu, fri]}
teams:
  data: {slack: ["#data"], email: [data@example.com]}
  web: {slack: ["#web"]}
notify:
  slack: {token: {env: SLACK_BOT_TOKEN}, default_channel: "#ops"}
  email: {sender: failstreak@example.com}
"""


def paris(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=PARIS).timestamp() * 1000)


class Monitor:
    """Passes over in-memory ports: records go in the inbox, Slack and email deliveries are recorded."""

    def __init__(self, text: str = CONFIG) -> None:
        self.cfg: Config = parse_config(text)
        self.store = InMemoryStateStore()
        self.slack = RecordingNotifier("slack")
        self.email = RecordingNotifier("email")
        self.files = 0

    def run(self, at: int, records: list[dict[str, object]] = ()) -> Summary:  # type: ignore[assignment]
        inbox = InMemoryInbox()
        if records:
            self.files += 1
            inbox.add(f"f{self.files}.jsonl", "".join(json.dumps(r) + "\n" for r in records))
        ports = Ports(
            store=self.store,
            inbox=inbox,
            notifiers={"slack": self.slack, "email": self.email},
            router=Router(self.cfg),
            clock=lambda: at,
        )
        return run_pass(pass_settings(self.cfg), ports)

    def digests(self) -> list[tuple[str, str]]:
        """(destination, day) of every daily digest delivered, in order."""
        out = []
        for notifier in (self.slack, self.email):
            for target, d in notifier.sent:
                if d.notification.event is Event.DIGEST:
                    assert d.notification.digest is not None
                    out.append((f"{notifier.kind}:{target}", d.notification.digest.day))
        return sorted(out, key=lambda x: (x[1], x[0]))


def rec(job: str, run_id: int, at: int, status: str = "failed", owner: str | None = None) -> dict[str, object]:
    return {"job": job, "run_id": run_id, "status": status, "finished_at": at, **({"owner": owner} if owner else {})}


def estate(at: int, run_id: int = 1) -> list[dict[str, object]]:
    """Three jobs: one of team data, one of team web, one nobody owns (the default channel's)."""
    return [
        rec("etl/load", run_id, at, owner="@data"),
        rec("web/deploy", run_id, at, "success", owner="@web"),
        rec("misc/cleanup", run_id, at, "success"),
    ]


def every_quarter_hour(start: int, end: int) -> list[int]:
    return list(range(start, end, 15 * MINUTE))


def test_passes_every_15_minutes_send_one_digest_per_destination_per_weekday() -> None:
    # Given an estate with jobs of two teams and an unowned one, seen on Monday 7 December 2026
    monitor = Monitor()
    monitor.run(paris(2026, 12, 7, 0, 5), estate(paris(2026, 12, 7, 0, 1)))
    # When a pass runs every 15 minutes from Monday 00:05 to Sunday night (Paris time)
    for at in every_quarter_hour(paris(2026, 12, 7, 0, 20), paris(2026, 12, 13, 23, 59)):
        monitor.run(at)
    # Then each destination that owns jobs got exactly one digest per weekday, none on the weekend
    days = ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11"]
    destinations = ["email:data@example.com", "slack:#data", "slack:#ops", "slack:#web"]
    assert monitor.digests() == [(dest, day) for day in days for dest in destinations]
    # And the first went out at the first pass from 09:00 local, with the team's jobs only
    first = next(d for t, d in monitor.slack.sent if t == "#data" and d.notification.event is Event.DIGEST)
    assert first.notification.created_at == paris(2026, 12, 7, 9, 5)
    assert first.notification.digest is not None
    assert first.notification.digest.jobs == 1


def test_the_pass_that_sends_the_digest_reports_it_about_no_job() -> None:
    # Given an estate seen on Monday morning
    monitor = Monitor()
    monitor.run(paris(2026, 12, 7, 8, 0), estate(paris(2026, 12, 7, 7, 0)))
    # When the 09:00 pass runs
    summary = monitor.run(paris(2026, 12, 7, 9, 0)).to_dict()
    # Then its notifications list one `digest` per destination, with no job and the scope `digest`
    digests = [n for n in summary["notifications"] if n["event"] == "digest"]
    assert len(digests) == 4
    assert all(n["job"] is None and n["scope"] == "digest" for n in digests)
    assert decode(monitor.store.data).digest_day == "2026-12-07"


def test_a_monitor_down_at_nine_sends_the_digest_at_its_next_pass_that_day_and_never_for_yesterday() -> None:
    # Given an estate, and a monitor that does not run on Tuesday 8 December between 07:00 and 15:00, nor at all
    # on Wednesday 9 until 08:30
    monitor = Monitor()
    monitor.run(paris(2026, 12, 7, 8, 0), estate(paris(2026, 12, 7, 7, 0)))
    passes = every_quarter_hour(paris(2026, 12, 7, 8, 15), paris(2026, 12, 8, 7, 0))
    passes += every_quarter_hour(paris(2026, 12, 8, 15, 10), paris(2026, 12, 8, 23, 59))
    passes += every_quarter_hour(paris(2026, 12, 9, 8, 30), paris(2026, 12, 9, 12, 0))
    # When the passes run
    sent_at: dict[str, int] = {}
    for at in passes:
        summary = monitor.run(at)
        if any(n.event is Event.DIGEST for n in summary.notifications):
            sent_at[decode(monitor.store.data).digest_day or ""] = at
    # Then Tuesday's digest went out at the first pass after the outage, Wednesday's at 09:00, once each
    assert sent_at == {
        "2026-12-07": paris(2026, 12, 7, 9, 0),
        "2026-12-08": paris(2026, 12, 8, 15, 10),
        "2026-12-09": paris(2026, 12, 9, 9, 0),
    }
    assert [day for dest, day in monitor.digests() if dest == "slack:#data"] == [
        "2026-12-07",
        "2026-12-08",
        "2026-12-09",
    ]


def test_digests_follow_the_local_clock_across_both_changes_of_daylight_saving_time() -> None:
    # Given a 09:00 Paris digest every day and 02:30 one, passes every 15 minutes over the weekend of each change
    for at_text, first_utc_hour in (("09:00", {"2026-03-29": 7, "2026-10-25": 8}), ("02:30", None)):
        monitor = Monitor(CONFIG.replace('at: "09:00"', f'at: "{at_text}"').replace("fri]", "fri, sat, sun]"))
        sent: dict[str, int] = {}
        weekends = ((paris(2026, 3, 28, 0), paris(2026, 3, 31, 0)), (paris(2026, 10, 24, 0), paris(2026, 10, 27, 0)))
        for run_id, (start, end) in enumerate(weekends, start=1):
            monitor.run(start - HOUR, estate(start - 2 * HOUR, run_id))  # the jobs ran that week (none retired)
            for at in every_quarter_hour(start, end):
                if any(n.event is Event.DIGEST for n in monitor.run(at).notifications):
                    sent[decode(monitor.store.data).digest_day or ""] = at
        # Then each day has one digest, at the local time: 07:00 UTC in summer time, 08:00 in winter time
        assert sorted(sent) == ["2026-03-28", "2026-03-29", "2026-03-30", "2026-10-24", "2026-10-25", "2026-10-26"]
        utc = {day: datetime.fromtimestamp(at / 1000, ZoneInfo("UTC")) for day, at in sent.items()}
        if first_utc_hour is not None:
            assert {day: utc[day].hour for day in first_utc_hour} == first_utc_hour
            assert all(t.minute == 0 for t in utc.values())
        else:
            # 02:30 does not exist on 29 March: its digest goes at the first pass after the jump, 03:00 local
            assert datetime.fromtimestamp(sent["2026-03-29"] / 1000, PARIS).strftime("%H:%M") == "03:00"
            # 02:30 happens twice on 25 October: the digest goes at the first, 00:30 UTC, and only once
            assert (utc["2026-10-25"].hour, utc["2026-10-25"].minute) == (0, 30)
        # And no day had two (the seeding passes at 23:00 on the Fridays also sent the Fridays' 02:30 digests)
        data_days = [day for dest, day in monitor.digests() if dest == "slack:#data"]
        assert len(data_days) == len(set(data_days))
        assert set(sent) <= set(data_days)


def test_a_pass_that_met_a_conflict_enqueues_the_digest_once() -> None:
    # Given an estate, and another pass that saves the state between this pass's load and its save
    monitor = Monitor()
    monitor.run(paris(2026, 12, 7, 8, 0), estate(paris(2026, 12, 7, 7, 0)))

    class Raced(InMemoryStateStore):
        def __init__(self, data: bytes | None) -> None:
            super().__init__(data)
            self.raced = False

        def save(self, data: bytes, token: str | None) -> str:
            if not self.raced:
                self.raced = True
                other = decode(self.data)
                other.passes += 1
                super().save(encode(other), self._token())
            return super().save(data, token)

    monitor.store = Raced(monitor.store.data)
    # When the 09:00 pass meets the conflict, is re-run on the other pass's state, and a second pass follows
    summary = monitor.run(paris(2026, 12, 7, 9, 0))
    monitor.run(paris(2026, 12, 7, 9, 15))
    # Then one digest per destination was enqueued and sent
    assert summary.conflicts == 1
    assert monitor.digests().count(("slack:#data", "2026-12-07")) == 1
    assert len(monitor.digests()) == 4


def test_no_digest_without_the_digest_block() -> None:
    # Given a config without `digest:`
    monitor = Monitor(
        CONFIG.replace('digest: {at: "09:00", timezone: Europe/Paris, weekdays: [mon, tue, wed, thu, fri]}', "")
    )
    monitor.run(paris(2026, 12, 7, 8, 0), estate(paris(2026, 12, 7, 7, 0)))
    # When passes run all day; Then no digest is sent and no day recorded
    for at in every_quarter_hour(paris(2026, 12, 7, 8, 15), paris(2026, 12, 7, 23, 0)):
        monitor.run(at)
    assert monitor.digests() == []
    assert decode(monitor.store.data).digest_day is None
