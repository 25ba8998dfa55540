"""The examples in docs/notifications.md are what a real pass sends: regenerate them and compare."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from failstreak.app import wiring
from failstreak.app.config import parse_config
from failstreak.app.wiring import pass_settings
from failstreak.notifiers import email_render
from failstreak.pipeline.run import run_pass
from tests.integration.slack_server import running

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[3] / "docs" / "notifications.md"
T0 = 1_763_884_800_000  # 2025-11-23T08:00:00Z
HOUR = 3_600_000
DISK_FULL = "psycopg.errors.DiskFull: could not extend file"


def _records() -> list[dict[str, object]]:
    reasons = ["OOM: container killed (exit 137)", None, "timeout after 3600s", None]
    reasons += ["ConnectionResetError: warehouse", None] + [DISK_FULL] * 4
    out: list[dict[str, object]] = []
    for i, mark in enumerate("fsfsfsffff"):
        out.append(
            {
                "job": "billing-export-nightly",
                "run_id": 8810 + i,
                "status": "failed" if mark == "f" else "success",
                "finished_at": T0 + i * 24 * HOUR,
                "url": f"https://gitlab.example.com/billing/export/-/jobs/{8810 + i}",
                "commit": f"{0x9F3C2A1 + i:x}",
                "reason": reasons[i],
            }
        )
    for i, mark in enumerate("sssfff"):
        out.append(
            {
                "job": "etl-orders-hourly",
                "run_id": f"run-{i}",
                "status": "failed" if mark == "f" else "success",
                "finished_at": T0 + 9 * 24 * HOUR + i * HOUR,
                "url": f"https://dbc.example.cloud.databricks.com/#job/42/run/{700 + i}",
                "commit": "4be1d07",
                "reason": "AnalysisException: Table or view not found: raw.orders_v2" if mark == "f" else None,
            }
        )
    return out


def _fenced(after: str, lang: str = "") -> str:
    """The first fenced block after the line containing `after`."""
    text = DOC.read_text()
    start = text.index(after)
    match = re.compile(rf"```{lang}\n(.*?)\n```", re.DOTALL).search(text, start)
    assert match is not None
    return match.group(1)


def _documented_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, Any]:
    """The documented scenario's two passes: (the digest posted to #data-platform, its rewrite, the summary)."""
    # Given the documented scenario: two jobs owned by @platform failing, with runs as in the example
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "JOBOWNERS").write_text("*  @platform\nbilling-*  @billing @platform\n")
    (tmp_path / "inbox" / "runs.jsonl").write_text("\n".join(json.dumps(r) for r in _records()) + "\n")
    with running() as slack:
        cfg = parse_config(
            f"""
state: state.json
inbox: inbox/
owners: JOBOWNERS
teams:
  platform: {{slack: ["#data-platform"]}}
  billing: {{slack: ["#billing-alerts"], email: [billing-oncall@example.com]}}
notify:
  console: false
  slack: {{token: {{env: SLACK_BOT_TOKEN}}, default_channel: "#ci-alerts", base_url: {slack.base_url}}}
""",
            "failstreak.yaml",
            base_dir=tmp_path,
        )
        # When a pass runs, and a later pass brings a success of etl-orders-hourly
        summary = run_pass(pass_settings(cfg), wiring.ports(cfg))
        [post] = [p for p in slack.posted() if p["channel"] == "#data-platform"]
        (tmp_path / "inbox" / "fixed.jsonl").write_text(
            json.dumps(
                {"job": "etl-orders-hourly", "run_id": "run-9", "status": "success", "finished_at": T0 + 240 * HOUR}
            )
        )
        run_pass(pass_settings(cfg), wiring.ports(cfg))
        update = [c for c in slack.calls("chat.update") if c.body["ts"] == post["ts"]][-1]  # the rewrite
    return post, update, summary


def test_the_documented_slack_digest_email_and_rewrite_are_what_a_real_pass_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    post, update, summary = _documented_passes(tmp_path, monkeypatch)
    # Then the docs show exactly the payload, the fallback text, the rewrite and the email's subject and text
    assert json.loads(_fenced("Example: a real alert message", "json")) == {
        "text": post["text"],
        "blocks": post["blocks"],
    }
    assert _fenced("The fallback `text` as plain lines") == post["text"]
    assert _fenced("the original message is rewritten to") == update.body["text"]
    mail = email_render.render(summary.notifications)
    assert f"`{mail.subject}`" in DOC.read_text()
    assert _fenced("The text part of the example above") == mail.text.rstrip()


README = DOC.parents[1] / "README.md"


def _readme_fenced(after: str, lang: str = "") -> str:
    text = README.read_text()
    match = re.compile(rf"```{lang}\n(.*?)\n```", re.DOTALL).search(text, text.index(after))
    assert match is not None
    return match.group(1)


def test_the_readme_copy_of_the_example_is_what_a_real_pass_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the documented scenario's passes
    post, update, summary = _documented_passes(tmp_path, monkeypatch)

    # Then the README's job block is two consecutive blocks of the payload posted, the fallback text and the
    # rewrite are those sent, and the email's subject and text part are those rendered
    shown = json.loads("[" + _readme_fenced("This is one job's block", "json") + "]")
    blocks = post["blocks"]
    assert any(blocks[i : i + len(shown)] == shown for i in range(len(blocks)))
    assert _readme_fenced("the message's plain-text fallback") == post["text"]
    assert _readme_fenced("the original becomes") == update.body["text"]
    mail = email_render.render(summary.notifications)
    assert f"subject `{mail.subject}`" in README.read_text()
    assert _readme_fenced("an HTML part and this text part") in mail.text
