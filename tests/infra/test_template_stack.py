"""template.yaml, transformed by the SAM translator and created in moto's CloudFormation: resources and wiring."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import boto3
import pytest

from tests.infra.samstack import EXISTING_BUCKET, FUNCTIONS, REGION, Stack, actions_of, resources_of, role_statements

# moto records but does not create alarms, subscriptions, bucket policies and event-invoke configs (see samstack.py).
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning")


def _function_config(stack: Stack) -> dict[str, Any]:
    config: dict[str, Any] = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=stack.physical["MonitorFunction"]
    )
    return config


def _statement(stack: Stack, sid: str) -> dict[str, Any]:
    return next(s for s in role_statements(stack) if s.get("Sid") == sid)


def test_schedule_rule_invokes_the_monitor_function_every_fifteen_minutes(default_stack: Stack) -> None:
    # Given the stack with default parameters
    events = boto3.client("events", region_name=REGION)
    rule = default_stack.physical["MonitorFunctionSchedule"]
    function_arn = _function_config(default_stack)["FunctionArn"]

    # When we read the schedule rule and its targets
    described = events.describe_rule(Name=rule)
    targets = events.list_targets_by_rule(Rule=rule)["Targets"]

    # Then it is enabled, fires every 15 minutes, and targets the monitor function, which lets EventBridge invoke it
    assert described["ScheduleExpression"] == "rate(15 minutes)"
    assert described["State"] == "ENABLED"
    assert [t["Arn"] for t in targets] == [function_arn]
    policy = boto3.client("lambda", region_name=REGION).get_policy(FunctionName=function_arn)["Policy"]
    assert "events.amazonaws.com" in policy
    assert described["Arn"] in policy


def test_disabling_the_schedule_keeps_the_rule_but_switches_it_off(existing_bucket_stack: Stack) -> None:
    # Given the stack deployed with ScheduleEnabled=false
    events = boto3.client("events", region_name=REGION)

    # When we read its schedule rule
    described = events.describe_rule(Name=existing_bucket_stack.physical["MonitorFunctionSchedule"])

    # Then the rule exists but is disabled, and the missed-run alarm (which would fire forever) is not created
    assert described["State"] == "DISABLED"
    assert not existing_bucket_stack.exists("MissedRunsAlarm")


def test_function_runs_the_monitor_handler_with_its_limits(default_stack: Stack) -> None:
    # Given the deployed function and the template it came from
    config = _function_config(default_stack)
    props = default_stack.resource("MonitorFunction")["Properties"]

    # Then it runs monitor.app.lambda_handler on a current Python, arm64, with the memory, timeout and concurrency
    # the design asks for (moto ignores Architectures, so that one is read from the translated template)
    assert config["Handler"] == "monitor.app.lambda_handler"
    assert config["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert (config["MemorySize"], config["Timeout"]) == (1024, 300)
    concurrency = boto3.client("lambda", region_name=REGION).get_function_concurrency(
        FunctionName=config["FunctionArn"]
    )
    assert concurrency["ReservedConcurrentExecutions"] == 1


def test_concurrency_reservation_can_be_switched_off_for_small_accounts(existing_bucket_stack: Stack) -> None:
    # Given the stack deployed with ReserveConcurrency=false (accounts whose limit of 10 allows no reservation)
    function_arn = _function_config(existing_bucket_stack)["FunctionArn"]

    # When we ask Lambda for the function's reserved concurrency
    concurrency = boto3.client("lambda", region_name=REGION).get_function_concurrency(FunctionName=function_arn)

    # Then none is reserved
    assert "ReservedConcurrentExecutions" not in concurrency


def test_handler_module_is_the_monitor_package_inside_code_uri(default_stack: Stack) -> None:
    # Given the handler string of the deployed function
    handler = _function_config(default_stack)["Handler"]

    # When it is split the way the Lambda runtime splits it
    module, _, function = handler.rpartition(".")

    # Then it names functions/monitor/app.py's lambda_handler, in a package that ships with CodeUri: functions/
    assert (module, function) == ("monitor.app", "lambda_handler")
    assert (FUNCTIONS / "monitor" / "__init__.py").is_file()
    assert importlib.util.find_spec("monitor") is not None


def test_handler_path_imports_to_a_callable(default_stack: Stack) -> None:
    # Given the handler string of the deployed function
    module, _, function = _function_config(default_stack)["Handler"].rpartition(".")

    # When the runtime would import it
    sys.modules.pop(module, None)
    handler = getattr(importlib.import_module(module), function)

    # Then it is a function of (event, context)
    assert callable(handler)


def test_function_reads_its_config_from_the_stack_bucket(full_stack: Stack) -> None:
    # Given the deployed function's environment
    env = _function_config(full_stack)["Environment"]["Variables"]
    bucket = full_stack.physical["Bucket"]

    # Then FAILSTREAK_CONFIG names the config object in the stack's bucket, as the ConfigUri output says
    assert env["FAILSTREAK_CONFIG"] == f"s3://{bucket}/failstreak/config.yaml"
    assert full_stack.outputs["ConfigUri"] == env["FAILSTREAK_CONFIG"]
    assert full_stack.outputs["InboxUri"] == f"s3://{bucket}/failstreak/inbox/"
    assert full_stack.outputs["BucketName"] == bucket


def test_function_has_the_powertools_environment_and_no_secret_values(full_stack: Stack) -> None:
    # Given the deployed function's environment, in a stack that names a Slack secret
    env = _function_config(full_stack)["Environment"]["Variables"]

    # Then powertools is configured (service, namespace, log level, tracing off by default) ...
    assert env["POWERTOOLS_SERVICE_NAME"] == "failstreak"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Failstreak"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    # ... and no variable carries a token: the secret is referenced by the config file, not passed in
    assert not any("TOKEN" in k or "SECRET" in k for k in env)


def test_function_logs_to_its_own_log_group_with_retention(default_stack: Stack) -> None:
    # Given the deployed log group and the function's logging configuration
    name = default_stack.physical["LogGroup"]
    groups = boto3.client("logs", region_name=REGION).describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    logging = default_stack.resolve(default_stack.resource("MonitorFunction")["Properties"]["LoggingConfig"])

    # Then the function writes to that group, which keeps logs 30 days by default
    assert [g["retentionInDays"] for g in groups] == [30]
    assert logging == {"LogGroup": name}
    assert name == "/aws/lambda/fs-default-monitor"


def test_created_bucket_is_versioned_encrypted_private_tls_only_and_expires_archives(default_stack: Stack) -> None:
    # Given the created bucket (moto applies only its encryption) and the bucket's translated properties
    s3 = boto3.client("s3", region_name=REGION)
    bucket = default_stack.physical["Bucket"]
    props = default_stack.resolve(default_stack.resource("Bucket")["Properties"])
    policy = default_stack.resolve(default_stack.resource("BucketPolicy")["Properties"])

    # Then it is encrypted at rest, versioned, closed to the public and owned by the bucket owner only ...
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    # ... its policy denies every request not made over TLS ...
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Action"], deny["Condition"]) == (
        "Deny",
        "s3:*",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    assert policy["Bucket"] == bucket
    # ... and archived and quarantined files, and old versions, expire after the parameters' days
    lifecycle = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert (lifecycle["expire-processed"]["Prefix"], lifecycle["expire-processed"]["ExpirationInDays"]) == (
        "failstreak/processed/",
        "90",
    )
    assert (lifecycle["expire-quarantine"]["Prefix"], lifecycle["expire-quarantine"]["ExpirationInDays"]) == (
        "failstreak/quarantine/",
        "30",
    )
    assert lifecycle["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": "30"}


def test_existing_bucket_is_used_and_left_unchanged(existing_bucket_stack: Stack) -> None:
    # Given the stack deployed with ExistingBucketName
    env = _function_config(existing_bucket_stack)["Environment"]["Variables"]
    read = _statement(existing_bucket_stack, "ReadConfigStateAndInbox")

    # Then no bucket or bucket policy is created, and the function and its role point at the existing bucket
    assert not existing_bucket_stack.exists("Bucket")
    assert not existing_bucket_stack.exists("BucketPolicy")
    assert "Bucket" not in existing_bucket_stack.physical
    assert env["FAILSTREAK_CONFIG"] == f"s3://{EXISTING_BUCKET}/failstreak/config.yaml"
    assert existing_bucket_stack.outputs["BucketName"] == EXISTING_BUCKET
    assert resources_of(read) == [f"arn:aws:s3:::{EXISTING_BUCKET}/failstreak/*"]


def test_role_reaches_s3_only_under_the_failstreak_prefix(full_stack: Stack) -> None:
    # Given the monitor role's statements
    arn = f"arn:aws:s3:::{full_stack.physical['Bucket']}"
    s3_statements = [s for s in role_statements(full_stack) if any(a.startswith("s3:") for a in actions_of(s))]

    # Then listing is conditioned on the prefix, reads cover failstreak/, writes only the state, the mutes
    # document (to move a version-5 state's mutes into it), the page, archive and quarantine, and deletes only the
    # inbox
    by_action = {a: s for s in s3_statements for a in actions_of(s)}
    assert set(by_action) == {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert resources_of(by_action["s3:ListBucket"]) == [arn]
    assert by_action["s3:ListBucket"]["Condition"] == {
        "StringLikeIfExists": {"s3:prefix": ["failstreak/", "failstreak/*"]}
    }
    assert resources_of(by_action["s3:GetObject"]) == [f"{arn}/failstreak/*"]
    assert resources_of(by_action["s3:PutObject"]) == [
        f"{arn}/failstreak/state.json",
        f"{arn}/failstreak/mutes.json",
        f"{arn}/failstreak/page.html",
        f"{arn}/failstreak/processed/*",
        f"{arn}/failstreak/quarantine/*",
    ]
    assert resources_of(by_action["s3:DeleteObject"]) == [f"{arn}/failstreak/inbox/*"]


def test_role_reads_only_the_named_slack_secret_and_parameter(full_stack: Stack) -> None:
    # Given a stack that names the Slack token's secret and SSM parameter
    secret = _statement(full_stack, "ReadSlackSecret")
    parameter = _statement(full_stack, "ReadSlackParameter")

    # Then the role may read that secret (any of its version suffixes) and that parameter, and nothing else
    assert actions_of(secret) == ["secretsmanager:GetSecretValue"]
    assert resources_of(secret) == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:failstreak/slack-bot-token-??????"
    ]
    assert actions_of(parameter) == ["ssm:GetParameter"]
    assert resources_of(parameter) == ["arn:aws:ssm:us-east-1:123456789012:parameter/failstreak/slack-bot-token"]


def test_role_reads_other_secrets_only_under_the_given_prefix(full_stack: Stack) -> None:
    # Given a stack with SecretsPrefix=failstreak/ (source tokens such as failstreak/github, /failstreak/gitlab)
    under_prefix = _statement(full_stack, "ReadSecretsUnderPrefix")

    # Then the role may read secrets and parameters whose names start with that prefix, in this account and region
    assert sorted(actions_of(under_prefix)) == ["secretsmanager:GetSecretValue", "ssm:GetParameter"]
    assert resources_of(under_prefix) == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:failstreak/*",
        "arn:aws:ssm:us-east-1:123456789012:parameter/failstreak/*",
    ]


def test_role_sends_email_only_as_the_sender_identity(full_stack: Stack) -> None:
    # Given a stack with EmailSenderIdentity=example.com
    send = _statement(full_stack, "SendAsSenderIdentity")

    # Then the role may send, raw MIME included, as that identity only
    assert actions_of(send) == ["ses:SendEmail", "ses:SendRawEmail"]
    assert resources_of(send) == ["arn:aws:ses:us-east-1:123456789012:identity/example.com"]


def test_no_statement_has_a_wildcard_resource_when_tracing_is_off(full_stack: Stack, default_stack: Stack) -> None:
    # Given both stacks without tracing
    for stack in (full_stack, default_stack):
        # When we collect every resource of every statement
        resources = [r for s in role_statements(stack) for r in resources_of(s)]

        # Then none is "*" and none is a whole-service wildcard
        assert "*" not in resources
        assert all(r.startswith("arn:aws:") and not r.endswith(":*:*") for r in resources)


def test_only_xray_gets_a_wildcard_resource_and_only_with_tracing(existing_bucket_stack: Stack) -> None:
    # Given the stack with TracingEnabled=true
    statements = role_statements(existing_bucket_stack)
    config = _function_config(existing_bucket_stack)
    tracing = existing_bucket_stack.resolve(
        existing_bucket_stack.resource("MonitorFunction")["Properties"]["TracingConfig"]
    )

    # Then the single "*" statement is X-Ray's, which has no narrower resource, and the function traces actively
    # (moto ignores TracingConfig, so the mode is read from the translated template)
    wildcard = [s for s in statements if "*" in resources_of(s)]
    assert [sorted(actions_of(s)) for s in wildcard] == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]
    assert tracing == {"Mode": "Active"}
    assert config["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"


def test_optional_permissions_are_absent_when_no_names_are_given(default_stack: Stack) -> None:
    # Given the stack with no Slack secret, no parameter, no email sender, no tracing
    statements = role_statements(default_stack)
    actions = {a for s in statements if s["Sid"] != "ReadPageSecret" for a in actions_of(s)}

    # Then the role has no secret, parameter, email or X-Ray permission at all
    assert not {a for a in actions if a.split(":")[0] in {"secretsmanager", "ssm", "ses", "xray", "kms"}}
    # But the one page secret under the front's default prefix, which signs run-history links (docs/http.md)
    page = next(s for s in statements if s["Sid"] == "ReadPageSecret")
    assert resources_of(page) == [
        f"arn:aws:secretsmanager:{REGION}:123456789012:secret:failstreak-front/page-??????",
        f"arn:aws:ssm:{REGION}:123456789012:parameter/failstreak-front/page",
    ]


def test_an_empty_front_secrets_prefix_gives_the_monitor_no_page_secret(aws: str) -> None:
    # Given a stack deployed with FrontSecretsPrefix empty
    from tests.infra.samstack import deploy

    stack = deploy("fs-no-front-secrets-monitor", {"FrontSecretsPrefix": ""}, aws)
    # Then the monitor's role may read no secret at all
    actions = {a for s in role_statements(stack) for a in actions_of(s)}
    assert not {a for a in actions if a.split(":")[0] in {"secretsmanager", "ssm"}}


def test_role_writes_only_its_own_log_group(default_stack: Stack) -> None:
    # Given the logging statement of the role
    logs = _statement(default_stack, "WriteOwnLogs")

    # Then it covers the streams of the function's own log group, and cannot create log groups
    assert resources_of(logs) == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:{default_stack.physical['LogGroup']}:*"
    ]
    assert sorted(actions_of(logs)) == ["logs:CreateLogStream", "logs:PutLogEvents"]


def test_role_can_be_assumed_only_by_lambda(default_stack: Stack) -> None:
    # Given the role's trust policy
    role = boto3.client("iam", region_name=REGION).get_role(RoleName=default_stack.physical["MonitorRole"])["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]

    # Then only the Lambda service may assume it
    assert (trust["Effect"], trust["Action"]) == ("Allow", "sts:AssumeRole")
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_alarms_notify_the_topic(full_stack: Stack) -> None:
    # Given the three alarms, resolved against the stack
    topic = full_stack.outputs["AlarmTopicArn"]
    function = full_stack.physical["MonitorFunction"]
    alarms = {
        name: full_stack.resolve(full_stack.resource(name)["Properties"])
        for name in ("ErrorsAlarm", "MissedRunsAlarm", "FailedInvocationsAlarm")
    }

    # Then each one notifies the stack's topic, and the two Lambda alarms watch the monitor function
    assert all(a["AlarmActions"] == [topic] for a in alarms.values())
    assert alarms["ErrorsAlarm"]["Dimensions"] == [{"Name": "FunctionName", "Value": function}]
    assert alarms["MissedRunsAlarm"]["Dimensions"] == [{"Name": "FunctionName", "Value": function}]
    assert topic == full_stack.physical["AlarmTopic"]


def test_errors_alarm_fires_on_one_failed_pass(full_stack: Stack) -> None:
    # Given the errors alarm
    alarm = full_stack.resolve(full_stack.resource("ErrorsAlarm")["Properties"])

    # Then a single error in five minutes sets it off, and quiet periods count as fine
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_missed_run_alarm_fires_after_two_schedule_periods_without_an_invocation(full_stack: Stack) -> None:
    # Given the missed-run alarm of a stack on the default 15-minute schedule
    alarm = full_stack.resolve(full_stack.resource("MissedRunsAlarm")["Properties"])

    # Then fewer than one invocation in each of two 15-minute periods sets it off, and no data at all counts too
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Period"]) == ("Invocations", "Sum", "900")
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 2)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "breaching"


def test_alarm_email_is_subscribed_only_when_given(full_stack: Stack, default_stack: Stack) -> None:
    # Given one stack with AlarmEmail and one without
    subscription = full_stack.resolve(full_stack.resource("AlarmTopicEmail")["Properties"])

    # Then the address is subscribed to the alarm topic by email in the first, and nothing in the second
    assert subscription == {
        "TopicArn": full_stack.outputs["AlarmTopicArn"],
        "Protocol": "email",
        "Endpoint": "ops@example.com",
    }
    assert not default_stack.exists("AlarmTopicEmail")


def test_failed_async_invocations_land_in_the_queue_the_role_may_write(full_stack: Stack) -> None:
    # Given the function's event-invoke configuration, resolved against the stack
    (config_id,) = [
        k for k, v in full_stack.template["Resources"].items() if v["Type"] == "AWS::Lambda::EventInvokeConfig"
    ]
    config = full_stack.resolve(full_stack.resource(config_id)["Properties"])
    queue_arn = full_stack.resolve({"Fn::GetAtt": ["FailedInvocationQueue", "Arn"]})

    # Then failures after one retry go to the queue, the role may send to it, and the queue has an alarm
    assert config["FunctionName"] == full_stack.physical["MonitorFunction"]
    assert config["MaximumRetryAttempts"] == 1
    assert config["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn}}
    assert resources_of(_statement(full_stack, "ReportFailedInvocations")) == [queue_arn]
    alarm = full_stack.resolve(full_stack.resource("FailedInvocationsAlarm")["Properties"])
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": queue_arn.rsplit(":", 1)[-1]}]


def test_outputs_name_the_bucket_inbox_function_and_topic(full_stack: Stack) -> None:
    # Given the stack's outputs
    outputs = full_stack.outputs

    # Then they name what an operator needs after deploying
    assert outputs["FunctionName"] == full_stack.physical["MonitorFunction"]
    assert outputs["AlarmTopicArn"].startswith("arn:aws:sns:us-east-1:123456789012:")
    assert outputs["InboxUri"] == f"s3://{outputs['BucketName']}/failstreak/inbox/"
    assert outputs["LogGroupName"] == full_stack.physical["LogGroup"]
