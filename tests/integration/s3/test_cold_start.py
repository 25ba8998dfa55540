"""Cold start: importing the Lambda handler loads what a pass needs and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.s3.backends import S3

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


def test_a_lambda_pass_against_s3_talks_through_botocore_without_importing_boto3(seaweed_s3: S3) -> None:
    # Given a config, an empty inbox and no state on a real S3 server, named the way the Lambda is configured
    seaweed_s3.put(
        "config.yaml", f"state: {seaweed_s3.uri('state.json')}\ninbox: {seaweed_s3.uri('inbox/')}\n".encode()
    )
    env = {
        **os.environ,
        "FAILSTREAK_CONFIG": seaweed_s3.uri("config.yaml"),
        "POWERTOOLS_SERVICE_NAME": "failstreak-monitor",
        "POWERTOOLS_METRICS_NAMESPACE": "FailstreakTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    # When a fresh interpreter imports the handler and runs one invocation (a cold start)
    code = (
        "import json, sys, monitor.app\n"
        "class Context:\n"
        "    function_name = 'failstreak-monitor'\n"
        "    memory_limit_in_mb = 512\n"
        "    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:failstreak-monitor'\n"
        "    aws_request_id = 'c6af9ac6-7b61-11e6-9a41-93e812345678'\n"
        "summary = monitor.app.lambda_handler({}, Context())\n"
        "print(json.dumps({'jobs': summary['jobs'], 'modules': sorted(sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, env=env)
    result = json.loads(done.stdout.splitlines()[-1])
    # Then the pass saved its state through botocore, and boto3 (about 0.1 s of import) was never loaded
    assert result["jobs"] == 0
    assert seaweed_s3.get("state.json") is not None
    assert "botocore.client" in result["modules"]
    assert sorted(m for m in result["modules"] if m == "boto3" or m.startswith("boto3.")) == []
