"""Runtime rehearsal: the synthesized function assets run where only the Lambda runtime is.

From the synthesized cloud assembly, each function's asset directory and handler
string are taken exactly as CloudFormation would deploy them. A clean virtualenv
holds only what the Lambda Python runtime provides (boto3 / botocore, pinned below
at a runtime's version, older than the project's own) plus the one declared layer
(Powertools). Each handler is imported there, from the asset alone, and run against
the embedded AWS: one publisher tick, then one load of what it published by each
loader handler (the scheduled drain the default deploys, and the per-message SQS
target of `loadTrigger: queue`; both live in the one shared asset), and the rows
must land in the warehouse. A dependency missing from the function
package (pandas, pyarrow, the offline twin...) fails here, not in a deploy.

The venv is built once per session from pip's cache (PyPI on a cold cache).
The interpreter is this machine's Python, not necessarily 3.12: the rehearsal checks
the package's dependencies, not the interpreter's version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from cdk_app.database import RESOURCE_TYPE, SETUP_HANDLER
from cdk_app.functions import LOADER_HANDLER, POWERTOOLS_LAYER_PARAMETER, PUBLISHER_HANDLER
from cdk_app.trigger import DRAIN_HANDLER, loader_handler
from pipeline.aws import boto
from pipeline.aws.settings import Settings
from pipeline.aws.sqs import SqsQueue
from pipeline.offline.runtime import queue_arn, scheduled_event, sqs_record, start_local
from tests.cdk.conftest import Synth

pytestmark = pytest.mark.cdk

# What a Lambda Python runtime bundles (it varies by region and date; this is an older one
# than the project's own pin, so code that needs a newer botocore fails here first).
RUNTIME_BOTO3 = "1.38.36"
# The declared layer: Powertools at the version the project is developed against.
POWERTOOLS = f"aws-lambda-powertools=={metadata.version('aws-lambda-powertools')}"
# Never in a function package: only the runtime, the layer and the asset may be importable.
FORBIDDEN = ("pandas", "pyarrow", "numpy", "duckdb", "moto", "sqlglot", "pipeline.offline",
             "pipeline.analysis")

RUNNER = r"""
import importlib, importlib.util, json, sys, time
asset, handler, event_file, forbidden = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
sys.path.insert(0, asset)
module_name, function_name = handler.rsplit(".", 1)
function = getattr(importlib.import_module(module_name), function_name)

class Context:
    function_name = module_name
    memory_limit_in_mb = 1024
    aws_request_id = "rehearsal"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:rehearsal"
    def get_remaining_time_in_millis(self):
        return 60_000

with open(event_file) as fh:
    event = json.load(fh)
result = function(event, Context())
present = [name for name in forbidden if importlib.util.find_spec(name.split(".")[0])
           and (name.count(".") == 0 or importlib.util.find_spec(name))]
loaded = sorted(m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in forbidden))
print(json.dumps({"result": result, "present": present, "modules": loaded}))
"""


@pytest.fixture(scope="session")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with only the Lambda runtime's boto3 and the Powertools layer (built once)."""
    where = tmp_path_factory.mktemp("lambda-runtime")
    # No pip inside (like the runtime): this process's pip installs into it, without
    # compiling byte code, which is most of the time on botocore's thousands of files.
    venv.EnvBuilder(with_pip=False, clear=True).create(where)
    python = where / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--disable-pip-version-check", "--no-compile", f"boto3=={RUNTIME_BOTO3}", POWERTOOLS],
        check=True, capture_output=True, timeout=300,
    )
    return python


@pytest.fixture(scope="module")
def assets(serverless: Synth) -> dict[str, tuple[Path, str]]:
    """handler -> (asset directory in cdk.out, handler string), read from the assembly.

    Only the pipeline's functions: CDK adds functions of its own (custom-resource
    providers, `index.handler`) whose code is CDK's, not ours.
    """
    manifest = json.loads(
        (serverless.outdir / f"{serverless.stack.artifact_id}.assets.json").read_text()
    )
    sources = {f"{digest}.zip": entry["source"] for digest, entry in manifest["files"].items()}
    found: dict[str, tuple[Path, str]] = {}
    for resource in serverless.resources("AWS::Lambda::Function").values():
        props = resource["Properties"]
        source = sources.get(props["Code"]["S3Key"])
        if source is None or source.get("packaging") != "zip":
            continue
        directory = serverless.outdir / source["path"]
        if (directory / "pipeline").is_dir():
            found[props["Handler"]] = (directory, props["Handler"])
    assert set(found) == {PUBLISHER_HANDLER, loader_handler(serverless.config), SETUP_HANDLER}
    return found


@pytest.fixture
def rehearsal_stack(tmp_path: Path) -> Iterator[Any]:
    settings = Settings(warehouse_path=tmp_path / "warehouse.duckdb", visibility_timeout_s=30,
                        batching_window_s=0, sample_min=40, sample_max=40, seed=5)
    with start_local(settings) as stack:
        yield stack


def invoke(python: Path, asset: Path, handler: str, event: dict[str, Any],
           environment: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """Run `handler` on `event` in the runtime venv, isolated from this process's packages."""
    event_file = tmp_path / f"{handler}.event.json"
    event_file.write_text(json.dumps(event))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **environment}
    done = subprocess.run(
        [str(python), "-I", "-c", RUNNER, str(asset), handler, str(event_file), *FORBIDDEN],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 0, f"{handler} failed in the runtime venv:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("loader", [DRAIN_HANDLER, LOADER_HANDLER])
def test_function_assets_import_and_run_on_the_lambda_runtime_with_only_the_declared_layer(
    serverless: Synth, assets: dict[str, tuple[Path, str]], runtime_python: Path,
    rehearsal_stack: Any, tmp_path: Path, loader: str,
) -> None:
    # The one declared layer is the Powertools parameter: that is what the venv adds.
    for handler in assets:
        _, function = serverless.function(handler)
        (layer,) = function["Properties"]["Layers"]
        parameter = serverless.cfn["Parameters"][layer["Ref"]]
        assert parameter["Default"] == POWERTOOLS_LAYER_PARAMETER
    settings = rehearsal_stack.settings
    publisher_asset, publisher_handler = assets[PUBLISHER_HANDLER]
    dataset = next((publisher_asset / "data").glob("*.zip"))
    environment = {**settings.to_env(), "PIPELINE_DATASET_PATH": str(dataset),
                   "AWS_ACCESS_KEY_ID": "embedded", "AWS_SECRET_ACCESS_KEY": "embedded",
                   "AWS_DEFAULT_REGION": settings.region}

    tick = invoke(runtime_python, publisher_asset, publisher_handler,
                  scheduled_event(settings, datetime.now(UTC)), environment, tmp_path)
    assert tick["present"] == [] and tick["modules"] == []
    published = tick["result"]["rows"]
    assert published == 40

    # Both loader handlers ship in the one asset the deployed loader function uses.
    loader_asset, _ = assets[loader_handler(serverless.config)]
    if loader == DRAIN_HANDLER:
        event = scheduled_event(settings, datetime.now(UTC))
    else:
        sqs = boto.client(settings, "sqs")
        messages = SqsQueue(sqs, settings.queue_url).receive()
        arn = queue_arn(sqs, settings.queue_url)
        event = {"Records": [sqs_record(m, arn, settings.region) for m in messages]}
    batch = invoke(runtime_python, loader_asset, loader, event, environment, tmp_path)
    if loader == LOADER_HANDLER:
        assert batch["result"] == {"batchItemFailures": []}
    assert batch["present"] == [] and batch["modules"] == []

    from pipeline.aws import dataapi, sql

    result = dataapi.build(settings).query(sql.render_ledger_lookup(settings.schema))
    assert result is not None
    parts, rows = result.rows[0][0], result.rows[0][1]
    assert (parts, rows) == (tick["result"]["messages"], published)


def test_the_database_setup_runs_from_its_asset_on_the_lambda_runtime(
    serverless: Synth, assets: dict[str, tuple[Path, str]], runtime_python: Path,
    rehearsal_stack: Any, tmp_path: Path,
) -> None:
    """The set-up resource's handler, from the synthesized asset, answers CloudFormation's
    Create (a real HTTP PUT) and leaves the schema the loader needs."""
    from tests.integration.helpers import cloudformation_listener

    settings = rehearsal_stack.settings
    secret = boto.client(settings, "secretsmanager").create_secret(
        Name="loader", SecretString=json.dumps({"username": "pipeline_loader",
                                                "password": "Abcdefgh12345678"}))["ARN"]
    (resource,) = serverless.resources(RESOURCE_TYPE).values()
    properties = {**resource["Properties"], "LoaderSecretArn": secret}
    properties.pop("ServiceToken")
    environment = {**settings.to_env(), "AWS_ACCESS_KEY_ID": "embedded",
                   "AWS_SECRET_ACCESS_KEY": "embedded", "AWS_DEFAULT_REGION": settings.region}
    asset, handler = assets[SETUP_HANDLER]
    with cloudformation_listener() as (url, received):
        event = {"RequestType": "Create", "ResponseURL": url, "RequestId": "r1",
                 "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/s/1",
                 "LogicalResourceId": "DatabaseSetup", "ResourceType": RESOURCE_TYPE,
                 "ResourceProperties": properties}
        ran = invoke(runtime_python, asset, handler, event, environment, tmp_path)
    assert ran["result"] == "SUCCESS" and ran["present"] == [] and ran["modules"] == []
    assert [r["Status"] for r in received] == ["SUCCESS"]
    from pipeline.aws import dataapi, sql

    result = dataapi.build(settings).query(sql.render_ledger_lookup(settings.schema))
    assert result is not None and result.rows[0][0] == 0  # the ledger exists, empty


def test_rehearsal_venv_really_lacks_what_the_function_must_not_need(
    runtime_python: Path,
) -> None:
    done = subprocess.run(
        [str(runtime_python), "-I", "-c",
         "import importlib.util, boto3, aws_lambda_powertools; "
         "print(boto3.__version__, [m for m in ('pandas', 'pyarrow', 'duckdb', 'moto') "
         "if importlib.util.find_spec(m)])"],
        capture_output=True, text=True, check=True,
    )
    assert done.stdout.split(" ", 1) == [RUNTIME_BOTO3, "[]\n"]
    assert sys.executable != str(runtime_python)
