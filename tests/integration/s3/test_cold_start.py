"""Cold start: importing the Lambda handler loads what a pass needs and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

# Loaded only when the config asks for them (wiring and config import them lazily), or never in a pass.
NOT_AT_IMPORT = (
    "slack_sdk",
    "aws_xray_sdk",
    "boto3",
    "moto",
    "failstreak.sources.databricks",
    "failstreak.sources.dataiku",
    "failstreak.sources.gitlab",
    "failstreak.sources.github",
    "failstreak.notifiers.slack",
    "failstreak.notifiers.email",
    "failstreak.s3client",
    "failstreak.inbox.s3",
    "failstreak.inbox.local",
    "failstreak.state.s3",
    "failstreak.state.local",
    "failstreak.app.secrets",
    "failstreak.app.cli",
    "aws_lambda_powertools.utilities.parameters",
)


def test_importing_the_handler_loads_no_backend_the_pass_may_not_need() -> None:
    # Given a fresh interpreter, when the handler module is imported
    code = "import json, sys, monitor.app; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout))
    # Then it has the handler's own needs and none of the optional backends
    assert {"failstreak.pipeline.run", "failstreak.app.wiring", "aws_lambda_powertools.metrics"} <= loaded
    assert sorted(m for m in loaded if m.startswith(NOT_AT_IMPORT)) == []
