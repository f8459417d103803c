"""cdk-nag 3 (AwsSolutions): no unacknowledged finding, and every acknowledgement is deliberate."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from cdk_app.app import build_app
from cdk_app.nag import MIN_REASON_LENGTH

from .conftest import Synth

pytestmark = pytest.mark.cdk

# Every AwsSolutions rule the stack may acknowledge. A new exception has to be added here,
# which puts it in front of a reviewer.
ALLOWED_RULES = {
    "AwsSolutions-L1",  # Python 3.12 pinned with the Powertools layer parameter and rehearsal
    "AwsSolutions-SMG4",  # admin/loader secret rotation (needs a rotation Lambda in the VPC)
    "AwsSolutions-SNS2",  # the alarm topic: CloudWatch cannot publish under the AWS-managed key
    "AwsSolutions-S1",  # the access-log bucket does not log itself
    "AwsSolutions-IAM5",  # per-prefix object ARNs; Data API statement calls
    "AwsSolutions-RS4",  # provisioned cluster on the default port (no inbound path at all)
}


def _acknowledgements(synth: Synth) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) of every AwsSolutions acknowledgement, as recorded in
    the cloud assembly's metadata (the audit trail `cdk synth` leaves in cdk.out)."""
    metadata = json.loads((synth.outdir / f"{synth.stack.stack_name}.metadata.json").read_text())
    out = []
    for path, entries in metadata.items():
        for entry in entries:
            if entry["type"] != Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                continue
            for rule_id, reason in entry["data"].items():
                rule_id = re.sub(r"^annotation::", "", rule_id, flags=re.IGNORECASE)
                if rule_id.startswith("AwsSolutions-"):
                    out.append((path.lstrip("/"), rule_id, reason))
    return out


def test_aws_solutions_reports_no_unacknowledged_finding(any_mode: Synth) -> None:
    report = AwsSolutionsChecks().validate_scope(any_mode.stack)
    findings = [
        f"{violation.rule_name} ({violation.severity}) at {resource.construct_path}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert findings == []
    assert report.success


def test_every_acknowledgement_is_specific_and_reasoned(any_mode: Synth) -> None:
    acknowledgements = _acknowledgements(any_mode)
    assert acknowledgements, "the stack is expected to carry a few reasoned exceptions"
    stack_path = any_mode.stack.node.path
    for path, rule_id, reason in acknowledgements:
        assert path != stack_path and path.startswith(stack_path + "/"), (
            f"{rule_id} acknowledged for the whole stack instead of on a construct"
        )
        assert re.sub(r"\[.*\]$", "", rule_id) in ALLOWED_RULES, rule_id
        if rule_id.startswith("AwsSolutions-IAM5"):
            assert re.fullmatch(r"AwsSolutions-IAM5\[Resource::.+\]", rule_id), (
                "IAM5 is acknowledged per resource, never for every wildcard"
            )
        assert len(reason) >= MIN_REASON_LENGTH, (rule_id, reason)
        assert not re.fullmatch(r"(?i)\s*(n/?a|todo|tbd|ok|fine|needed|required)\W*", reason)


def test_acknowledged_findings_are_the_expected_ones(serverless: Synth, provisioned: Synth) -> None:
    def rules(synth: Synth) -> set[str]:
        return {re.sub(r"\[.*\]$", "", rule) for _, rule, _ in _acknowledgements(synth)}

    assert rules(serverless) == ALLOWED_RULES - {"AwsSolutions-RS4"}
    assert rules(provisioned) == ALLOWED_RULES


def test_synth_fails_on_an_unacknowledged_finding(
    cdk_context: dict[str, Any], tmp_path: Path
) -> None:
    """The plugin is registered by build_app: a non-compliant bucket stops the synth."""
    app, stack = build_app(cdk_context, outdir=str(tmp_path))
    s3.Bucket(stack, "UnloggedPlainBucket")  # no access logs, no TLS-only policy
    with pytest.raises(Exception, match=r"(?i)validation"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    failed = {
        violation["ruleName"]
        for plugin in report["pluginReports"]
        if plugin["pluginName"] == "AwsSolutions"
        for violation in plugin["violations"]
    }
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= failed
