"""Every AWS call the functions make is allowed by their roles, and no granted action is unused.

The calls are recorded from botocore's events while the rehearsal runs each handler from its
synthesized asset (tests/cdk/rehearsal.py), and read from the template for CDK's
AwsCustomResource (the usage limit); tests/cdk/calls.py turns them into the permissions
they need and reads the roles' policies. Checked on the default template (scheduled drain),
the queue-trigger one (SQS event source: the loader's role differs) and the provisioned one
(rehearsed with a cluster: the Data API grants name it). Each check is shown to catch a
planted fault in a copy of the real template.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdk_app.database import SETUP_HANDLER
from cdk_app.functions import PUBLISHER_HANDLER
from tests.cdk import calls
from tests.cdk.conftest import Synth
from tests.cdk.rehearsal import Run

pytestmark = pytest.mark.cdk

VARIANTS = {"default": {}, "queue-trigger": {"loadTrigger": "queue"},
            "provisioned": {"warehouseMode": "provisioned"}}


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest, synth: Callable[..., Synth]) -> Synth:
    return synth(**VARIANTS[request.param])


@pytest.fixture(scope="module")
def runs(rehearse_on: Any, runtime_python: Path) -> dict[str, Run]:
    """The default template's rehearsal: its runs (calls, environment, properties) by handler."""
    return dict(rehearse_on(runtime_python).runs)


@pytest.fixture(scope="module")
def variant_runs(variant: Synth, rehearse_on: Any, runtime_python: Path) -> dict[str, Run]:
    """The runs of the variant's own rehearsal where its functions' environment differs
    (provisioned: a cluster, not a workgroup); the queue trigger's is the default's."""
    synth = variant if not variant.config.serverless else None
    return dict(rehearse_on(runtime_python, *([synth] if synth else [])).runs)


def _found(synth: Synth, runs: dict[str, Run]) -> list[calls.Function]:
    return calls.functions(synth.cfn, runs)


def test_every_call_of_every_function_is_allowed_by_its_role(
        variant: Synth, variant_runs: dict[str, Run]) -> None:
    assert calls.missing(variant.cfn, _found(variant, variant_runs)) == []


def test_every_action_a_role_grants_is_called(
        variant: Synth, variant_runs: dict[str, Run]) -> None:
    assert calls.unused(variant.cfn, _found(variant, variant_runs)) == []


def test_every_function_of_the_template_is_checked_with_calls(
        variant: Synth, variant_runs: dict[str, Run]) -> None:
    found = {f.logical_id: f for f in _found(variant, variant_runs)}
    assert set(found) == set(variant.resources("AWS::Lambda::Function"))
    assert all(f.calls for f in found.values())
    # The usage limit's provider is CDK's code: its calls are the ones the template declares.
    declared = {c["operation"] for cs in calls.sdk_calls(variant.cfn).values() for c in cs}
    assert declared == ({"CreateUsageLimit", "UpdateUsageLimit", "DeleteUsageLimit"}
                        if variant.config.serverless else set())


def test_the_operations_the_reference_does_not_name_map_to_actions_it_does() -> None:
    for operation, actions in calls.OPERATION_ACTIONS.items():
        assert calls.reference.expand(operation) == [], operation
        for action, _ in actions:
            assert calls.reference.expand(action) == [action], action
    for action in calls.NOT_REHEARSED:
        assert calls.reference.expand(action) == [action], action


# --- planted faults: each check catches its own ------------------------------------------


def _policy_of(cfn: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The statements of the role's default policy (the one CDK's grants write to)."""
    (policy,) = [r for r in cfn["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
                 and {"Ref": role} in r["Properties"]["Roles"]
                 and "DefaultPolicy" in str(r["Properties"].get("PolicyName", ""))]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _role_of(synth: Synth, handler: str) -> str:
    _, function = synth.function(handler)
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


def _without(cfn: dict[str, Any], role: str, action: str) -> dict[str, Any]:
    """A copy of the template whose `role` is granted `action` nowhere."""
    planted = copy.deepcopy(cfn)
    statements = _policy_of(planted, role)
    for statement in statements:
        statement["Action"] = [a for a in calls._as_list(statement["Action"]) if a != action]
    statements[:] = [s for s in statements if s["Action"]]
    return planted


def test_a_role_missing_an_action_its_code_calls_is_caught(
        serverless: Synth, runs: dict[str, Run]) -> None:
    role = _role_of(serverless, PUBLISHER_HANDLER)
    planted = _without(serverless.cfn, role, "sqs:SendMessage")
    findings = calls.missing(planted, calls.functions(planted, runs))
    assert len(findings) == 1, findings
    assert "sqs:SendMessageBatch, which needs sqs:SendMessage" in findings[0]


def test_a_grant_nobody_calls_is_caught(serverless: Synth, runs: dict[str, Run]) -> None:
    role = _role_of(serverless, PUBLISHER_HANDLER)
    planted = copy.deepcopy(serverless.cfn)
    _policy_of(planted, role)[-1]["Action"] = ["sqs:SendMessage", "sqs:PurgeQueue"]
    findings = calls.unused(planted, calls.functions(planted, runs))
    assert findings == [f"{role} grants sqs:PurgeQueue, which no call of its functions needs"]


def test_a_grant_on_another_resource_is_caught(serverless: Synth, runs: dict[str, Run]) -> None:
    """The publisher allowed to send to the dead-letter queue instead of the queue."""
    role = _role_of(serverless, PUBLISHER_HANDLER)
    (_, _), (dlq, _) = serverless.queues()
    planted = copy.deepcopy(serverless.cfn)
    for statement in _policy_of(planted, role):
        if statement["Action"] == "sqs:SendMessage":
            statement["Resource"] = {"Fn::GetAtt": [dlq, "Arn"]}
    findings = calls.missing(planted, calls.functions(planted, runs))
    assert len(findings) == 1 and "SendMessageBatch" in findings[0], findings


def test_the_data_api_reading_the_admin_secret_is_a_needed_permission(
        serverless: Synth, runs: dict[str, Run]) -> None:
    """The set-up's statements carry the admin secret: the Data API reads it as the caller,
    a call no botocore event shows, derived from the recorded SecretArn."""
    role = _role_of(serverless, SETUP_HANDLER)
    planted = copy.deepcopy(serverless.cfn)
    (_, setup), = [(k, r) for k, r in planted["Resources"].items()
                   if r["Properties"].get("Handler") == SETUP_HANDLER]
    admin = setup["Properties"]["Environment"]["Variables"]["PIPELINE_REDSHIFT_SECRET_ARN"]
    for statement in _policy_of(planted, role):
        resources = calls._as_list(statement["Resource"])
        if admin in resources:
            statement["Resource"] = [r for r in resources if r != admin]
    findings = calls.missing(planted, calls.functions(planted, runs))
    assert findings and all("SecretArn" in f and calls.SECRET_READ in f for f in findings)


def test_a_declared_sdk_call_without_its_grant_is_caught(
        serverless: Synth, runs: dict[str, Run]) -> None:
    planted = copy.deepcopy(serverless.cfn)
    for resource in planted["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = calls._as_list(statement["Action"])
                if "redshift-serverless:DeleteUsageLimit" in actions:
                    statement["Action"] = [a for a in actions
                                           if a != "redshift-serverless:DeleteUsageLimit"]
    findings = calls.missing(planted, calls.functions(planted, runs))
    assert len(findings) == 1 and "redshift-serverless:DeleteUsageLimit" in findings[0]
