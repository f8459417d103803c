"""`make synth` through the real CDK CLI: no Docker, no credentials, every resource type present."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO_ROOT

pytestmark = pytest.mark.cdk

CDK_BIN = REPO_ROOT / "node_modules" / ".bin" / "cdk"
RESOURCE_TYPES = {
    "AWS::Events::Rule",
    "AWS::Lambda::Function",
    "AWS::Lambda::EventInvokeConfig",  # the scheduled drain's (the default load trigger)
    "Custom::RedshiftServerlessUsageLimit",
    "AWS::SQS::Queue",
    "AWS::S3::Bucket",
    "AWS::EC2::VPC",
    "AWS::EC2::VPCEndpoint",
    "AWS::IAM::Role",
    "AWS::SecretsManager::Secret",
    "AWS::RedshiftServerless::Namespace",
    "AWS::RedshiftServerless::Workgroup",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
}


@pytest.mark.skipif(
    not CDK_BIN.exists() or shutil.which("npx") is None,
    reason="node_modules/.bin/cdk is absent: run `npm install --no-audit --no-fund` (as "
    "`make synth` does) to test the synth through the pinned CDK CLI",
)
def test_cdk_cli_synth_writes_the_whole_template(
    tmp_path: Path, cdk_context: dict[str, Any]
) -> None:
    env = {
        **os.environ,
        "PATH": f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        # No credentials are needed; do not spend time probing for them.
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env.pop("CDK_VALIDATION", None)  # run CDK's built-in template validation, as make synth does
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--no-notices", "-o", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    stack_name = cdk_context["pipeline:stackName"]
    template = json.loads((tmp_path / f"{stack_name}.template.json").read_text())
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert types >= RESOURCE_TYPES, RESOURCE_TYPES - types

    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [p for p in report["pluginReports"] if p.get("violations")] == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("asset.")]
