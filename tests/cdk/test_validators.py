"""External validators on every synthesized template, in both warehouse modes.

cfn-lint (the CloudFormation resource specification and its rules) must report no
error; checkov must report nothing outside `checkov_baseline.json`, where each
accepted finding names its check, the resource type it applies to, and why it is
accepted. A baseline entry no template triggers any more is stale and fails too, so
the baseline never outlives its reasons.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cdk.conftest import MODES, Synth

pytestmark = pytest.mark.cdk

BASELINE = Path(__file__).with_name("checkov_baseline.json")
REPO_ROOT = Path(__file__).resolve().parents[2]
# checkov pins boto3 and packaging below what the project needs: it lives in its own venv,
# which `make install` / `make test` build (Makefile: CHECKOV_VERSION).
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


def template_file(synth: Synth) -> Path:
    path = synth.outdir / f"{synth.stack.artifact_id}.template.json"
    assert path.exists(), f"no synthesized template at {path}"
    return path


def cfn_lint(template: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "json", "--",
         str(template)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    # Exit codes are bit flags (2 error, 4 warning, 8 informational); anything else is a crash.
    assert done.returncode & ~(2 | 4 | 8) == 0, done.stderr[-2000:]
    return json.loads(done.stdout or "[]")


def checkov_failures(template: Path) -> list[tuple[str, str, str]]:
    """(check id, resource type, resource) for every failed checkov check."""
    assert CHECKOV.exists(), f"no checkov at {CHECKOV}: run `make install` (it builds that venv)"
    done = subprocess.run(
        [str(CHECKOV), "--file", str(template), "--framework",
         "cloudformation", "--output", "json", "--quiet", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    reports = report if isinstance(report, list) else [report]
    failures = []
    for entry in reports:
        for check in entry.get("results", {}).get("failed_checks", []):
            resource = check["resource"]
            failures.append((check["check_id"], resource.split(".", 1)[0], resource))
    return failures


def load_baseline() -> dict[tuple[str, str], str]:
    entries = json.loads(BASELINE.read_text())["accepted"]
    baseline = {}
    for entry in entries:
        assert len(entry["reason"]) >= 40, f"give {entry['check']} a real reason"
        baseline[(entry["check"], entry["resource_type"])] = entry["reason"]
    assert len(baseline) == len(entries), "duplicate baseline entries"
    return baseline


@pytest.mark.parametrize("mode", MODES)
def test_cfn_lint_finds_no_error_in_the_synthesized_template(
    mode: str, synth: Callable[..., Synth]
) -> None:
    findings = cfn_lint(template_file(synth(warehouseMode=mode)))
    errors = [f for f in findings if f.get("Level") == "Error"]
    assert errors == [], json.dumps(errors, indent=1)[:4000]


@pytest.fixture(scope="module")
def checkov_results(synth: Callable[..., Synth]) -> dict[str, list[tuple[str, str, str]]]:
    return {mode: checkov_failures(template_file(synth(warehouseMode=mode))) for mode in MODES}


@pytest.mark.parametrize("mode", MODES)
def test_checkov_reports_nothing_outside_the_baseline(
    mode: str, checkov_results: dict[str, list[tuple[str, str, str]]]
) -> None:
    baseline = load_baseline()
    unexpected = sorted({f for f in checkov_results[mode] if (f[0], f[1]) not in baseline})
    assert unexpected == [], "checkov findings not in checkov_baseline.json:\n" + "\n".join(
        f"  {check} {resource}" for check, _, resource in unexpected
    )


def test_every_baseline_entry_is_still_needed(
    checkov_results: dict[str, list[tuple[str, str, str]]],
) -> None:
    hit = {(check, kind) for failures in checkov_results.values() for check, kind, _ in failures}
    stale = sorted(set(load_baseline()) - hit)
    assert stale == [], f"baseline entries no template triggers any more: {stale}"


def test_cfn_lint_reports_an_error_for_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.template.json"
    broken.write_text(json.dumps({"Resources": {"Queue": {
        "Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": "forever"}}}}))
    assert [f["Level"] for f in cfn_lint(broken)] == ["Error"]


def test_checkov_flags_an_unencrypted_queue(tmp_path: Path) -> None:
    plain = tmp_path / "plain.template.json"
    plain.write_text(json.dumps({"Resources": {"Queue": {
        "Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": False}}}}))
    assert ("CKV_AWS_27", "AWS::SQS::Queue", "AWS::SQS::Queue.Queue") in checkov_failures(plain)
