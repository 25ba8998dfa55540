"""Cold start: importing the Lambda handler, and its first pass over an empty inbox, load what they use and nothing
else (docs/performance.md, "Cold start")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.s3.backends import S3, plain_client

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


# Loaded by no pass over an empty inbox: the page's code (no `page:`), the inbox's parsers (no file to read), the
# notifiers' rendering and slack-sdk (nothing to send), the secrets (no message, so no token fetched).
NOT_IN_AN_EMPTY_PASS = (
    "slack_sdk",
    "failstreak.pipeline.page",
    "failstreak.views",
    "failstreak.inbox.intake",
    "failstreak.inbox.fastpath",
    "failstreak.notifiers.console",
    "failstreak.notifiers.render",
    "failstreak.notifiers.slack",
    "failstreak.app.secrets",
    "aws_lambda_powertools.utilities.parameters",
)

HANDLER_PASS = """
import json, sys
from monitor.app import lambda_handler

class Context:
    function_name = "failstreak-monitor"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:failstreak-monitor"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

summary = lambda_handler({}, Context())
print(json.dumps({"summary": summary, "modules": sorted(sys.modules)}))
"""


def test_a_pass_over_an_empty_inbox_loads_nothing_it_does_not_use(seaweed_s3: S3) -> None:
    # Given a config on S3 with Slack as its channel and no page, and an empty inbox
    seaweed_s3.put(
        "config.yaml",
        (
            f"state: {seaweed_s3.uri('state.json')}\n"
            f"inbox: {seaweed_s3.uri('inbox/')}\n"
            "notify:\n"
            "  slack: {token: {env: SLACK_TOKEN}, default_channel: '#ci-alerts'}\n"
        ).encode(),
    )
    env = {
        **os.environ,
        "FAILSTREAK_CONFIG": seaweed_s3.uri("config.yaml"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "SLACK_TOKEN": "xoxb-not-used",
    }

    # When a fresh interpreter imports the handler and runs one pass
    done = subprocess.run([sys.executable, "-c", HANDLER_PASS], env=env, capture_output=True, check=True, text=True)
    out = json.loads(done.stdout.splitlines()[-1])

    # Then the pass ran over nothing, saving its state, and loaded none of what only reading, sending or a page needs
    assert (out["summary"]["files"], out["summary"]["ingested"], out["summary"]["jobs"]) == (0, 0, 0)
    assert seaweed_s3.keys("state.json") == ["state.json"]
    loaded = set(out["modules"])
    assert {"failstreak.pipeline.run", "failstreak.state.codec", "failstreak.notifiers.base"} <= loaded
    assert sorted(m for m in loaded if m.startswith(NOT_IN_AN_EMPTY_PASS)) == []


def test_a_pass_over_s3_with_plain_credentials_never_imports_boto3(moto_endpoint: str) -> None:
    # Given a state, an inbox with a file and a config on moto's server, and plain credentials in the environment
    boto = plain_client(moto_endpoint)
    boto.create_bucket(Bucket="cold")
    boto.put_object(
        Bucket="cold", Key="failstreak.yaml", Body=b"state: s3://cold/fs/state.json\ninbox: s3://cold/fs/inbox/\n"
    )
    boto.put_object(
        Bucket="cold",
        Key="fs/inbox/one.jsonl",
        Body=b'{"job": "etl", "run_id": "1", "status": "failed", "finished_at": 1790000000000}\n',
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FAILSTREAK_"))},
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "FAILSTREAK_CONFIG": "s3://cold/failstreak.yaml",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "FailstreakTest",
    }
    code = (
        "import json, sys\n"
        "from bench.cold import LambdaContext\n"
        "from monitor.app import lambda_handler\n"
        "imported = set(sys.modules)\n"
        "result = lambda_handler({}, LambdaContext())\n"
        "print(json.dumps({'ingested': result['ingested'], 'modules': sorted(sys.modules),"
        " 'by_the_pass': sorted(set(sys.modules) - imported)}))\n"
    )
    # When the Lambda handler runs a pass in a fresh interpreter
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=Path(__file__).parents[3],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.splitlines()[-1])
    # Then the pass read the config and the inbox and wrote the state on S3 through the light client
    assert out["ingested"] == 1
    assert "failstreak.s3lite" in out["by_the_pass"]
    # And the pass loaded nothing of boto3 or botocore; nothing of them was loaded at all but, at most, the bare
    # `botocore` package (powertools' user-agent module imports its __init__ with the handler: not the client)
    assert [m for m in out["by_the_pass"] if m.split(".")[0] in ("boto3", "botocore", "s3transfer")] == []
    assert [m for m in out["modules"] if m.startswith(("boto3", "s3transfer", "botocore."))] == []
    assert "fs/state.json" in [o["Key"] for o in boto.list_objects_v2(Bucket="cold")["Contents"]]
