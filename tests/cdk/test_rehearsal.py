"""Runtime rehearsal: the synthesized function assets run where only the Lambda runtime is.

tests/cdk/rehearsal.py runs each handler from its synthesized asset in a venv holding only
a Lambda runtime's boto3 and the declared Powertools layer, in deploy order: set-up, tick,
drain, tick, per-message load. A dependency missing from the function package (pandas,
pyarrow, the offline twin...) fails here, not in a deploy; so does a call the runtime's SDK
does not know, on the current runtime's boto3 and on the oldest the Lambda docs list.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cdk_app.database import SETUP_HANDLER
from cdk_app.functions import LOADER_HANDLER, POWERTOOLS_LAYER_PARAMETER, PUBLISHER_HANDLER
from cdk_app.trigger import DRAIN_HANDLER, loader_handler
from tests.cdk import rehearsal
from tests.cdk.conftest import Synth

pytestmark = pytest.mark.cdk

RUNTIMES = {"runtime": [rehearsal.RUNTIME_BOTO3] * 2,
            "floor": [rehearsal.FLOOR_BOTO3, rehearsal.FLOOR_BOTOCORE]}


@pytest.fixture(params=list(RUNTIMES))
def rehearsed(request: pytest.FixtureRequest, rehearse_on: Any) -> rehearsal.Rehearsal:
    """The rehearsal on the current runtime's SDK, and on the floor's."""
    python = request.getfixturevalue(f"{request.param}_python")
    done: rehearsal.Rehearsal = rehearse_on(python)
    for run in done.runs.values():
        assert run.versions == RUNTIMES[request.param]
    return done


def test_the_assembly_ships_every_pipeline_handler_in_one_asset(serverless: Synth) -> None:
    found = rehearsal.assets(serverless)
    assert set(found) == {PUBLISHER_HANDLER, loader_handler(serverless.config), SETUP_HANDLER}
    # The one declared layer is the Powertools parameter: that is what the venv adds.
    for handler in found:
        _, function = serverless.function(handler)
        (layer,) = function["Properties"]["Layers"]
        parameter = serverless.cfn["Parameters"][layer["Ref"]]
        assert parameter["Default"] == POWERTOOLS_LAYER_PARAMETER


def test_function_assets_import_and_run_on_the_lambda_runtime_with_only_the_declared_layer(
    rehearsed: rehearsal.Rehearsal,
) -> None:
    runs = rehearsed.runs
    for run in runs.values():
        assert run.present == [] and run.modules == []
    first, second = runs[PUBLISHER_HANDLER].result
    assert first["rows"] == second["rows"] == 40
    # The drain loaded the first tick, the SQS handler the second, both into the ledger.
    assert rehearsed.ledger[DRAIN_HANDLER] == (first["messages"], 40)
    assert runs[LOADER_HANDLER].result == {"batchItemFailures": []}
    assert rehearsed.ledger[LOADER_HANDLER] == (first["messages"] + second["messages"], 80)


def test_the_database_setup_runs_from_its_asset_on_the_lambda_runtime(
    rehearsed: rehearsal.Rehearsal,
) -> None:
    """The set-up resource's handler answers CloudFormation's Create (a real HTTP PUT) and
    leaves the schema the loader needs."""
    answered, received = rehearsed.runs[SETUP_HANDLER].result
    assert answered == "SUCCESS" and received == ["SUCCESS"]
    assert rehearsed.ledger[SETUP_HANDLER] == (0, 0)  # the ledger exists, empty


def test_rehearsal_venv_really_lacks_what_the_function_must_not_need(
    runtime_python: Path, floor_python: Path,
) -> None:
    for python, version in ((runtime_python, rehearsal.RUNTIME_BOTO3),
                            (floor_python, rehearsal.FLOOR_BOTO3)):
        done = subprocess.run(
            [str(python), "-I", "-c",
             "import importlib.util, boto3, aws_lambda_powertools; "
             "print(boto3.__version__, [m for m in ('pandas', 'pyarrow', 'duckdb', 'moto') "
             "if importlib.util.find_spec(m)])"],
            capture_output=True, text=True, check=True,
        )
        assert done.stdout.split(" ", 1) == [version, "[]\n"]
        assert sys.executable != str(python)


# The drain before issue 22's fix: it always passed MessageSystemAttributeNames, which
# botocore knows only from 1.34.101 (pipeline/aws/sqs.py, `system_attributes`).
PLANTED_NEWER_PARAMETER = '''
def system_attributes(client):
    return {"MessageSystemAttributeNames": list(SYSTEM_ATTRIBUTES)}
'''


def test_the_floor_rehearsal_fails_a_parameter_newer_than_its_botocore(
    serverless: Synth, runtime_python: Path, floor_python: Path, tmp_path: Path,
) -> None:
    from pipeline.aws.settings import Settings
    from pipeline.offline.runtime import scheduled_event, start_local

    asset, _ = rehearsal.assets(serverless)[loader_handler(serverless.config)]
    planted = rehearsal.planted_asset(asset, tmp_path, "pipeline.aws.sqs",
                                      PLANTED_NEWER_PARAMETER)
    settings = Settings(warehouse_path=tmp_path / "warehouse.duckdb")
    with start_local(settings) as stack:
        environment = {**stack.settings.to_env(), "AWS_ACCESS_KEY_ID": "embedded",
                       "AWS_SECRET_ACCESS_KEY": "embedded",
                       "AWS_DEFAULT_REGION": stack.settings.region}
        event = scheduled_event(stack.settings, datetime.now(UTC))
        failed = rehearsal.invoke(floor_python, planted, DRAIN_HANDLER, event, environment,
                                  tmp_path, check=False)
        # The same planted asset runs on the current runtime, whose botocore knows it.
        passed = rehearsal.invoke(runtime_python, planted, DRAIN_HANDLER, event, environment,
                                  tmp_path, check=False)
    assert isinstance(failed, subprocess.CompletedProcess), "the floor accepted the parameter"
    assert 'Unknown parameter in input: "MessageSystemAttributeNames"' in failed.stderr
    assert isinstance(passed, rehearsal.Run)
