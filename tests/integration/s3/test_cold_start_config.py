"""Cold start: the config model costs the handler no validation library beyond msgspec (docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

CONFIG = """
state: s3://bucket/state.json
inbox: s3://bucket/inbox/
thresholds: {consecutive: 2, window: 8}
overrides: [{match: 'nightly-*', outcomes: {canceled: failure}, expect_every: 1h}]
notify: {slack: {token: {env: SLACK_BOT_TOKEN}, default_channel: '#ci'}}
sources: [{type: github, token: {env: GH}, repo: o/r}]
digest: {at: '17:30', timezone: Europe/Paris}
"""


def test_importing_the_handler_and_loading_a_config_loads_no_pydantic() -> None:
    # Given a fresh interpreter, when the handler module is imported and a config with every kind of section loads
    code = (
        "import json, sys, monitor.app\n"
        "from failstreak.app.config import parse_config\n"
        f"parse_config({CONFIG!r}, source='s3://bucket/failstreak.yaml')\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout))
    # Then neither pydantic (nor its plugin lookup through importlib.metadata) nor the wording of errors is loaded
    assert "failstreak.app.config" in loaded
    assert sorted(m for m in loaded if m.startswith(("pydantic", "importlib.metadata"))) == []
    assert "failstreak.app.config_errors" not in loaded
