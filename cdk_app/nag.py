"""cdk-nag 3 acknowledgements: one helper so every exception carries a rule id and a reason.

cdk-nag 3 dropped `NagSuppressions`; a finding is acknowledged with CDK's own
`Validations.of(construct).acknowledge(...)`, which covers the construct and everything
below it. Findings that name a resource (`AwsSolutions-IAM5[Resource::...]`) must be
acknowledged one by one, with the resource spelled the way cdk-nag flattens it.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

MIN_REASON_LENGTH = 40


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge `rule_id` (e.g. `AwsSolutions-L1`) on `scope` and its children."""
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledging {rule_id}: give a specific reason, not {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def wildcard_resource_finding(scope: IConstruct, resource: str) -> str:
    """The IAM5 finding id cdk-nag reports for a policy resource such as `bucket.arn_for_objects()`.

    Mirrors cdk-nag's `flattenCfnReference`: `{"Fn::GetAtt": [id, "Arn"]}` becomes `<id.Arn>`,
    `{"Ref": id}` becomes `<id>`, joins are flattened.
    """
    return f"AwsSolutions-IAM5[Resource::{_flatten(Stack.of(scope).resolve(resource))}]"


def _flatten(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return delimiter.join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
