"""Deploy template.yaml into moto: package the code, transform with the SAM translator, create the stack.

moto's CloudFormation creates the bucket, log group, topic, queue, role, function, rule and permission for real; it
records but does not create alarms, subscriptions, the bucket policy and the EventInvokeConfig. For those, `resolve`
evaluates the transformed template's properties against the stack (Ref, GetAtt, If, conditions), so a test can still
say where an alarm points.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FUNCTIONS = ROOT / "functions"
ARTIFACTS_BUCKET = "failstreak-test-artifacts"
ACCOUNT = "123456789012"
REGION = "us-east-1"

# Every optional name given: the permissions that come with them can be checked.
FULL = {
    "SlackTokenSecretName": "failstreak/slack-bot-token",
    "SlackTokenParameterName": "/failstreak/slack-bot-token",
    "SecretsPrefix": "failstreak/",
    "EmailSenderIdentity": "example.com",
    "AlarmEmail": "ops@example.com",
}
EXISTING_BUCKET = "team-shared-bucket"
FUNCTIONS_IN_TEMPLATE = ("MonitorFunction", "FrontFunction")


class NoManagedPolicies:
    """The translator's managed-policy loader, without IAM: the template names no managed policy by name."""

    def load(self) -> dict[str, str]:
        return {}


def load_template() -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return template


def code_zip() -> bytes:
    """What `sam package` would upload: the packages under CodeUri, without caches."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for package in ("failstreak", "monitor", "front"):
            for path in sorted((FUNCTIONS / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    z.write(path, path.relative_to(FUNCTIONS).as_posix())
    return buf.getvalue()


def transformed(code_uri: str) -> dict[str, Any]:
    """The CloudFormation template SAM produces, with CodeUri pointing at an uploaded zip (as after `sam package`)."""
    template = copy.deepcopy(load_template())
    for function in FUNCTIONS_IN_TEMPLATE:
        template["Resources"][function]["Properties"]["CodeUri"] = code_uri
    result: dict[str, Any] = transform(template, {}, NoManagedPolicies())
    return result


@dataclass
class Stack:
    """A stack created in moto, with what a test needs to look at it."""

    name: str
    template: dict[str, Any]
    parameters: dict[str, str]
    outputs: dict[str, str]
    physical: dict[str, str]
    conditions: dict[str, bool] = field(default_factory=dict)

    def resource(self, logical_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.template["Resources"][logical_id]
        return found

    def exists(self, logical_id: str) -> bool:
        condition = self.resource(logical_id).get("Condition")
        return condition is None or self.conditions[condition]

    def resolve(self, value: Any) -> Any:
        """Evaluate intrinsic functions in `value` as CloudFormation would for this stack."""
        if isinstance(value, list):
            resolved = [self.resolve(v) for v in value]
            return [v for v in resolved if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._get_att(logical, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, then, otherwise = arg
                return self.resolve(then if self.conditions[name] else otherwise)
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        return self.physical[name]

    def _sub(self, arg: str | list[Any]) -> str:
        text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in names:
                return str(names[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return self._get_att(logical, attribute)
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", value, text)

    def _get_att(self, logical: str, attribute: str) -> str:
        kind = self.resource(logical)["Type"]
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{self.physical[logical]}"
        if kind == "AWS::SQS::Queue":
            url = self.physical[logical]
            if attribute == "QueueName":
                return url.rsplit("/", 1)[-1]
            if attribute == "Arn":
                attrs = boto3.client("sqs", region_name=REGION).get_queue_attributes(
                    QueueUrl=url, AttributeNames=["QueueArn"]
                )
                arn: str = attrs["Attributes"]["QueueArn"]
                return arn
        raise NotImplementedError(f"GetAtt {logical}.{attribute}")


_NO_VALUE = object()


def _condition(expr: Any, parameters: dict[str, str], conditions: dict[str, Any]) -> Any:
    if isinstance(expr, dict) and len(expr) == 1:
        ((key, arg),) = expr.items()
        if key == "Ref":
            return parameters[arg]
        if key == "Fn::Equals":
            return _condition(arg[0], parameters, conditions) == _condition(arg[1], parameters, conditions)
        if key == "Fn::Not":
            return not _condition(arg[0], parameters, conditions)
        if key == "Condition":
            return _condition(conditions[arg], parameters, conditions)
    return expr


def upload_code() -> str:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    s3.put_object(Bucket=ARTIFACTS_BUCKET, Key="monitor.zip", Body=code_zip())
    return f"s3://{ARTIFACTS_BUCKET}/monitor.zip"


# Resource types moto's CloudFormation does not create: an output or a property reading one of their attributes
# would fail the stack, so `deploy` gives such values a placeholder (their definition is checked on the template).
NOT_IN_MOTO = frozenset({"AWS::Lambda::Url"})
PLACEHOLDER = "(not created by moto)"


def _for_moto(template: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(template)
    resources = copied["Resources"]

    def replaced(value: Any) -> Any:
        if isinstance(value, dict):
            target = value.get("Fn::GetAtt")
            if target is not None and len(value) == 1:
                logical = (target[0] if isinstance(target, list) else target).split(".")[0]
                if resources.get(logical, {}).get("Type") in NOT_IN_MOTO:
                    return PLACEHOLDER
            return {k: replaced(v) for k, v in value.items()}
        if isinstance(value, list):
            return [replaced(v) for v in value]
        return value

    copied["Outputs"] = replaced(copied.get("Outputs", {}))
    copied["Resources"] = {name: replaced(r) for name, r in resources.items()}
    return copied


def deploy(name: str, parameters: dict[str, str], code_uri: str) -> Stack:
    """Create the stack in moto (inside an active mock) and describe it."""
    template = transformed(code_uri)
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(_for_moto(template)),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    described = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        if r["LogicalResourceId"]
    }
    values = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    values.update(parameters)
    values.update({"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::StackName": name})
    conditions = {k: bool(_condition(v, values, template["Conditions"])) for k, v in template["Conditions"].items()}
    return Stack(
        name=name,
        template=template,
        parameters=values,
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        physical=physical,
        conditions=conditions,
    )


def role_statements(
    stack: Stack, role: str = "MonitorRole", policy: str = "failstreak-monitor"
) -> list[dict[str, Any]]:
    """A role's inline policy statements as IAM holds them (by default the monitor's).

    moto returns the document as a Python literal and keeps `AWS::NoValue` list items as None, where CloudFormation
    drops them; both are normalised here.
    """
    iam = boto3.client("iam", region_name=REGION)
    doc = iam.get_role_policy(RoleName=stack.physical[role], PolicyName=policy)["PolicyDocument"]
    if isinstance(doc, str):
        doc = ast.literal_eval(doc)
    return [s for s in doc["Statement"] if s is not None]


def resources_of(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return [resource] if isinstance(resource, str) else list(resource)


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)
