"""The HTTP front in template.yaml (docs/http.md, docs/deploy.md): its function, public URL, least-privilege role,
secrets by name, reserved concurrency, and the lifecycle of its replay markers."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import boto3
import pytest

from tests.infra.samstack import (
    EXISTING_BUCKET,
    FUNCTIONS,
    REGION,
    Stack,
    actions_of,
    load_template,
    resources_of,
    role_statements,
)

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning")


def _front(stack: Stack) -> dict[str, Any]:
    config: dict[str, Any] = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=stack.physical["FrontFunction"]
    )
    return config


def _statements(stack: Stack) -> list[dict[str, Any]]:
    return role_statements(stack, "FrontRole", "failstreak-front")


def _by_sid(stack: Stack) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in _statements(stack)}


def test_the_front_runs_its_own_handler_with_its_own_role_and_config(full_stack: Stack) -> None:
    # Given the deployed front
    config = _front(full_stack)
    # Then it runs functions/front/app.py's lambda_handler, on the monitor's runtime, with its own role, and
    # reads the monitor's config from the stack's bucket
    assert config["Handler"] == "front.app.lambda_handler"
    assert (FUNCTIONS / "front" / "app.py").is_file()
    assert importlib.util.find_spec("front.app") is not None
    assert config["Runtime"] == "python3.13"
    assert config["Role"].endswith("/" + full_stack.physical["FrontRole"])
    assert config["Role"] != _monitor_role_arn(full_stack)
    bucket = full_stack.physical["Bucket"]
    env = config["Environment"]["Variables"]
    assert env["FAILSTREAK_CONFIG"] == f"s3://{bucket}/failstreak/config.yaml"
    assert env["POWERTOOLS_SERVICE_NAME"] == "failstreak-front"
    assert (config["MemorySize"], config["Timeout"]) == (256, 10)


def _monitor_role_arn(stack: Stack) -> str:
    arn: str = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=stack.physical["MonitorFunction"]
    )["Role"]
    return arn


def test_the_front_is_reached_through_a_public_function_url(full_stack: Stack) -> None:
    # Given the translated template (moto does not create function URLs)
    url = full_stack.resource("FrontFunctionUrl")
    permissions = [
        r["Properties"]
        for r in full_stack.template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["FunctionName"] == {"Ref": "FrontFunction"}
    ]
    # Then the URL targets the front with no IAM auth (each route authenticates its caller), buffered, and anyone
    # may invoke it through the URL and only through it
    assert url["Type"] == "AWS::Lambda::Url"
    assert url["Properties"] == {
        "TargetFunctionArn": {"Ref": "FrontFunction"},
        "AuthType": "NONE",
        "InvokeMode": "BUFFERED",
    }
    assert {(p["Action"], p["Principal"]) for p in permissions} == {
        ("lambda:InvokeFunctionUrl", "*"),
        ("lambda:InvokeFunction", "*"),
    }
    assert all(p.get("FunctionUrlAuthType") == "NONE" or p.get("InvokedViaFunctionUrl") is True for p in permissions)
    # And the stack's outputs name the URL
    assert load_template()["Outputs"]["FrontUrl"]["Value"] == {"Fn::GetAtt": ["FrontFunctionUrl", "FunctionUrl"]}


def test_the_front_has_reserved_concurrency_by_default_and_none_when_zero(
    full_stack: Stack, existing_bucket_stack: Stack, aws: str
) -> None:
    # Given the default stack and one deployed with FrontReservedConcurrency=0
    from tests.infra.samstack import deploy

    lam = boto3.client("lambda", region_name=REGION)
    unreserved = deploy("fs-front-unreserved", {"FrontReservedConcurrency": "0"}, aws)
    # Then the default reserves (and caps) 5, and 0 reserves none
    assert (
        lam.get_function_concurrency(FunctionName=_front(full_stack)["FunctionArn"])["ReservedConcurrentExecutions"]
        == 5
    )
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(
        FunctionName=_front(unreserved)["FunctionArn"]
    )


def test_the_front_role_writes_only_the_inbox_its_replay_markers_and_the_mutes_document(
    full_stack: Stack,
) -> None:
    # Given the front role's S3 statements
    arn = f"arn:aws:s3:::{full_stack.physical['Bucket']}"
    by_sid = _by_sid(full_stack)
    s3_statements = [s for s in _statements(full_stack) if any(a.startswith("s3:") for a in actions_of(s))]
    # Then it reads the config, the run-history page and the mutes document only, writes under inbox/ and replay/
    # and the mutes document only, deletes replay markers only, and lists nothing: the state is out of its reach
    assert {s["Sid"] for s in s3_statements} == {
        "ReadConfig",
        "ReadPage",
        "WriteInbox",
        "ClaimRequestIds",
        "ReadWriteMutes",
    }
    assert (actions_of(by_sid["ReadConfig"]), resources_of(by_sid["ReadConfig"])) == (
        ["s3:GetObject"],
        [f"{arn}/failstreak/config.yaml"],
    )
    assert (actions_of(by_sid["ReadPage"]), resources_of(by_sid["ReadPage"])) == (
        ["s3:GetObject"],
        [f"{arn}/failstreak/page.html"],
    )
    assert (actions_of(by_sid["WriteInbox"]), resources_of(by_sid["WriteInbox"])) == (
        ["s3:PutObject"],
        [f"{arn}/failstreak/inbox/*"],
    )
    assert (actions_of(by_sid["ClaimRequestIds"]), resources_of(by_sid["ClaimRequestIds"])) == (
        ["s3:PutObject", "s3:DeleteObject"],
        [f"{arn}/failstreak/replay/*"],
    )
    assert (actions_of(by_sid["ReadWriteMutes"]), resources_of(by_sid["ReadWriteMutes"])) == (
        ["s3:GetObject", "s3:PutObject"],
        [f"{arn}/failstreak/mutes.json"],
    )
    everything = [r for s in s3_statements for r in resources_of(s)]
    assert not [r for r in everything if "state" in r or r.endswith("failstreak/*")]


def test_the_front_role_reads_secrets_only_under_its_prefix(full_stack: Stack, existing_bucket_stack: Stack) -> None:
    # Given the default FrontSecretsPrefix
    statement = _by_sid(full_stack)["ReadFrontSecrets"]
    # Then only Secrets Manager secrets and SSM parameters under failstreak-front/ may be read
    assert actions_of(statement) == ["secretsmanager:GetSecretValue", "ssm:GetParameter"]
    assert resources_of(statement) == [
        f"arn:aws:secretsmanager:{REGION}:123456789012:secret:failstreak-front/*",
        f"arn:aws:ssm:{REGION}:123456789012:parameter/failstreak-front/*",
    ]
    # And the monitor's role can read none of them but the page secret, which signs the links it sends (unless its
    # own SecretsPrefix says otherwise: the prefixes differ)
    assert [r for s in role_statements(full_stack) for r in resources_of(s) if "failstreak-front" in r] == [
        f"arn:aws:secretsmanager:{REGION}:123456789012:secret:failstreak-front/page-??????",
        f"arn:aws:ssm:{REGION}:123456789012:parameter/failstreak-front/page",
    ]


def test_the_monitor_knows_the_front_url_for_its_run_history_links(full_stack: Stack) -> None:
    # Given the translated template (moto does not create function URLs, so the deployed value is a placeholder)
    monitor = full_stack.resource("MonitorFunction")["Properties"]
    front = full_stack.resource("FrontFunction")
    # Then the monitor's FAILSTREAK_FRONT_URL is the front's function URL (docs/http.md, "The page")
    assert monitor["Environment"]["Variables"]["FAILSTREAK_FRONT_URL"] == {
        "Fn::GetAtt": ["FrontFunctionUrl", "FunctionUrl"]
    }
    # And the front refers to nothing of the monitor's, so the reference makes no dependency cycle
    assert "Monitor" not in json.dumps(front)
    assert "Monitor" not in json.dumps(full_stack.resource("FrontRole"))


def test_an_empty_front_secrets_prefix_grants_no_secret_access(aws: str) -> None:
    # Given a stack deployed with FrontSecretsPrefix empty
    from tests.infra.samstack import deploy

    stack = deploy("fs-front-nosecrets", {"FrontSecretsPrefix": ""}, aws)
    # Then the front role has no secret statement at all
    assert "ReadFrontSecrets" not in _by_sid(stack)


def test_the_front_role_on_an_existing_bucket_stays_under_its_failstreak_prefix(existing_bucket_stack: Stack) -> None:
    # Given the stack pointed at an existing bucket
    resources = [r for s in _statements(existing_bucket_stack) if s["Sid"] != "WriteOwnLogs" for r in resources_of(s)]
    s3 = [r for r in resources if r.startswith("arn:aws:s3")]
    # Then every S3 resource is under that bucket's failstreak/ prefix
    assert s3
    assert all(r.startswith(f"arn:aws:s3:::{EXISTING_BUCKET}/failstreak/") for r in s3)


def test_the_front_logs_to_its_own_log_group_and_only_there(full_stack: Stack) -> None:
    # Given the front's logging config and its role's log statement
    props = full_stack.resolve(full_stack.resource("FrontFunction")["Properties"]["LoggingConfig"])
    logs = _by_sid(full_stack)["WriteOwnLogs"]
    group = full_stack.physical["FrontLogGroup"]
    # Then it writes to /aws/lambda/<stack>-front, and its role may write only there
    assert props == {"LogGroup": group}
    assert group == f"/aws/lambda/{full_stack.name}-front"
    assert resources_of(logs) == [f"arn:aws:logs:{REGION}:123456789012:log-group:{group}:*"]


def test_replay_markers_expire_after_a_day_in_the_created_bucket(default_stack: Stack) -> None:
    # Given the created bucket's lifecycle rules
    props = default_stack.resolve(default_stack.resource("Bucket")["Properties"])
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    # Then the front's markers under failstreak/replay/ expire after one day (every window they guard is shorter)
    assert (rules["expire-replay-markers"]["Prefix"], rules["expire-replay-markers"]["ExpirationInDays"]) == (
        "failstreak/replay/",
        1,
    )
