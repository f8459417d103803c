"""The runtime rehearsal: the synthesized function assets run where only the Lambda runtime is.

From the synthesized cloud assembly, each function's asset directory and handler string are
taken exactly as CloudFormation would deploy them. A virtualenv holds only what a Lambda
Python runtime provides (boto3 / botocore) plus the one declared layer (Powertools). Each
handler is imported there, from the asset alone, and run against the embedded AWS, in the
order a deploy runs them: the database set-up answers CloudFormation's Create, the publisher
ticks, the scheduled drain loads, the publisher ticks again and the per-message SQS handler
(`loadTrigger: queue`) loads that.

Every AWS call a handler makes is recorded from botocore's `before-parameter-build` event on
the process's one boto3 session (`pipeline.aws.boto.session`): service, operation and the
parameters naming resources. tests/cdk/calls.py checks those calls against each function's
role in the template.

Two runtimes are rehearsed (tests/cdk/test_rehearsal.py): the boto3 a current Python runtime
carries (`RUNTIME_BOTO3`, a venv built here from pip's cache), and the oldest one the Lambda
documentation lists (`FLOOR_BOTO3`, the venv `make test` builds: Makefile LAMBDA_FLOOR_*;
docs/deploying.md says where the figure comes from). The interpreter is this machine's
Python, not necessarily 3.12: the rehearsal checks the package's dependencies and the SDK's
API, not the interpreter's version.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from cdk_app.database import RESOURCE_TYPE, SETUP_HANDLER
from cdk_app.functions import LOADER_HANDLER, PUBLISHER_HANDLER
from cdk_app.trigger import DRAIN_HANDLER, loader_handler
from pipeline.aws.dataapi import EMBEDDED_WORKGROUP
from pipeline.aws.settings import (
    ENV_REDSHIFT_CLUSTER,
    ENV_REDSHIFT_WORKGROUP,
    ENV_SEED,
    Settings,
)
from tests.cdk.conftest import Synth

REPO_ROOT = Path(__file__).resolve().parents[2]
# What a current Lambda Python runtime bundles (python3.12 and 3.13 carried 1.38.36 in 2025:
# terricain/aioboto3#381); not the project's own pin (pyproject.toml), which is newer.
RUNTIME_BOTO3 = "1.38.36"
# The oldest SDK the Lambda documentation lists for a Python runtime it still runs
# (docs/deploying.md, "The SDK floor"); the venv is `make test`'s (Makefile LAMBDA_FLOOR_*).
FLOOR_BOTO3 = "1.27.1"
FLOOR_BOTOCORE = "1.30.1"
FLOOR_VENV = REPO_ROOT / ".venv-lambda-floor"
# The declared layer: Powertools at the version the project is developed against.
POWERTOOLS = f"aws-lambda-powertools=={metadata.version('aws-lambda-powertools')}"
# Never in a function package: only the runtime, the layer and the asset may be importable.
FORBIDDEN = ("pandas", "pyarrow", "numpy", "duckdb", "moto", "sqlglot", "pipeline.offline",
             "pipeline.analysis")
# Request parameters that name a resource (the rest, bodies and entries, are not recorded).
RESOURCE_PARAMS = ("QueueUrl", "Bucket", "Key", "CopySource", "WorkgroupName",
                   "ClusterIdentifier", "SecretArn", "SecretId", "Database")

RUNNER = r"""
import importlib, importlib.util, json, sys
asset, handler, event_file, names, forbidden = (sys.argv[1], sys.argv[2], sys.argv[3],
                                                 sys.argv[4].split(","), sys.argv[5:])
sys.path.insert(0, asset)
module_name, function_name = handler.rsplit(".", 1)

# Registered before the handler builds a client: each client copies the session's handlers.
calls = []
def record(params, model, **kwargs):
    service = model.service_model
    calls.append({"service": service.signing_name, "operation": model.name,
                  "params": {k: params[k] for k in names if k in params}})
from pipeline.aws import boto
boto.session().events.register("before-parameter-build", record)

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
import boto3, botocore
print(json.dumps({"result": result, "present": present, "modules": loaded, "calls": calls,
                  "versions": [boto3.__version__, botocore.__version__]}))
"""


class FloorMissing(AssertionError):
    """The venv with the floor SDK was not built: `make test` builds it."""


def build_runtime_venv(where: Path) -> Path:
    """A venv with only the current runtime's boto3 and the Powertools layer."""
    # No pip inside (like the runtime): this process's pip installs into it, without
    # compiling byte code, which is most of the time on botocore's thousands of files.
    venv.EnvBuilder(with_pip=False, clear=True).create(where)
    python = where / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--disable-pip-version-check", "--no-compile", f"boto3=={RUNTIME_BOTO3}",
         f"botocore=={RUNTIME_BOTO3}", POWERTOOLS],
        check=True, capture_output=True, timeout=300,
    )
    return python


def floor_python() -> Path:
    """The interpreter of the floor venv `make test` builds (Makefile LAMBDA_FLOOR_VENV)."""
    python = FLOOR_VENV / "bin" / "python"
    if not (FLOOR_VENV / f".installed-{FLOOR_BOTO3}").exists() or not python.exists():
        raise FloorMissing(f"no {FLOOR_VENV.name} with boto3 {FLOOR_BOTO3}: run `make test` "
                           f"(or `make {FLOOR_VENV.name}/.installed-{FLOOR_BOTO3}`)")
    return python


@dataclass
class Run:
    """One handler's invocation: what it returned and every AWS call it made."""

    handler: str
    result: Any
    present: list[str]
    modules: list[str]
    calls: list[dict[str, Any]]
    versions: list[str]
    environment: dict[str, str]
    properties: dict[str, Any] = field(default_factory=dict)


def invoke(python: Path, asset: Path, handler: str, event: dict[str, Any],
           environment: dict[str, str], tmp_path: Path, *, check: bool = True,
           ) -> Run | subprocess.CompletedProcess[str]:
    """Run `handler` on `event` in the runtime venv, isolated from this process's packages.

    With `check=False` a failed invocation is returned (the planted-fault tests read it).
    """
    event_file = tmp_path / f"{handler}.event.json"
    event_file.write_text(json.dumps(event))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **environment}
    # -B: no byte code written into the asset (Lambda's /var/task is read-only; and the
    # session's other tests read the same cdk.out).
    done = subprocess.run(
        [str(python), "-I", "-B", "-c", RUNNER, str(asset), handler, str(event_file),
         ",".join(RESOURCE_PARAMS), *FORBIDDEN],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    if not check and done.returncode != 0:
        return done
    assert done.returncode == 0, f"{handler} failed in the runtime venv:\n{done.stderr[-3000:]}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(handler=handler, environment=environment,
               properties=event.get("ResourceProperties", {}), **out)


def assets(synth: Synth) -> dict[str, tuple[Path, str]]:
    """handler -> (asset directory in cdk.out, handler string), read from the assembly.

    Only the pipeline's functions: CDK adds functions of its own (custom-resource
    providers, `index.handler`) whose code is CDK's, not ours.
    """
    manifest = json.loads(
        (synth.outdir / f"{synth.stack.artifact_id}.assets.json").read_text()
    )
    sources = {f"{digest}.zip": entry["source"] for digest, entry in manifest["files"].items()}
    found: dict[str, tuple[Path, str]] = {}
    for resource in synth.resources("AWS::Lambda::Function").values():
        props = resource["Properties"]
        source = sources.get(props["Code"]["S3Key"])
        if source is None or source.get("packaging") != "zip":
            continue
        directory = synth.outdir / source["path"]
        if (directory / "pipeline").is_dir():
            found[props["Handler"]] = (directory, props["Handler"])
    return found


@dataclass
class Rehearsal:
    """The handlers run in deploy order on one embedded stack, with the ledger after each."""

    python: Path
    runs: dict[str, Run]
    ledger: dict[str, tuple[int, int]]


def rehearse(python: Path, synth: Synth, tmp_path: Path) -> Rehearsal:
    """Set-up, tick, drain, tick, per-message load: each handler from its synthesized asset."""
    from pipeline.aws import boto, dataapi, sql
    from pipeline.aws.sqs import SqsQueue
    from pipeline.offline.runtime import queue_arn, scheduled_event, sqs_record, start_local
    from tests.integration.helpers import cloudformation_listener

    found = assets(synth)
    settings = Settings(warehouse_path=tmp_path / "warehouse.duckdb", visibility_timeout_s=30,
                        batching_window_s=0, batch_size=10, sample_min=40, sample_max=40, seed=5)
    runs: dict[str, Run] = {}
    ledger: dict[str, tuple[int, int]] = {}
    with start_local(settings) as stack:
        settings = stack.settings
        # The template names the workgroup (or cluster) for every function that reaches the
        # warehouse: so does the rehearsal (the embedded Data API takes any name), so that
        # each call's WorkgroupName or ClusterIdentifier is the value of that variable.
        warehouse = ENV_REDSHIFT_WORKGROUP if synth.config.serverless else ENV_REDSHIFT_CLUSTER
        base = {**settings.to_env(), warehouse: EMBEDDED_WORKGROUP,
                "AWS_ACCESS_KEY_ID": "embedded", "AWS_SECRET_ACCESS_KEY": "embedded",
                "AWS_DEFAULT_REGION": settings.region}

        def count() -> tuple[int, int]:
            result = dataapi.build(settings).query(sql.render_ledger_lookup(settings.schema))
            assert result is not None
            return int(result.rows[0][0]), int(result.rows[0][1] or 0)

        def run(handler: str, event: dict[str, Any], environment: dict[str, str]) -> None:
            # Both loader handlers ship in the one asset the deployed loader function uses.
            asset, _ = found.get(handler, found[loader_handler(synth.config)])
            outcome = invoke(python, asset, handler, event, environment, tmp_path)
            assert isinstance(outcome, Run)
            runs[handler] = outcome
            ledger[handler] = count()

        secret = boto.client(settings, "secretsmanager").create_secret(
            Name="loader", SecretString=json.dumps({"username": "pipeline_loader",
                                                    "password": "Abcdefgh12345678"}))["ARN"]
        (resource,) = synth.resources(RESOURCE_TYPE).values()
        properties = {**resource["Properties"], "LoaderSecretArn": secret}
        properties.pop("ServiceToken")
        with cloudformation_listener() as (url, received):
            event = {"RequestType": "Create", "ResponseURL": url, "RequestId": "r1",
                     "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/s/1",
                     "LogicalResourceId": "DatabaseSetup", "ResourceType": RESOURCE_TYPE,
                     "ResourceProperties": properties}
            run(SETUP_HANDLER, event, base)
        runs[SETUP_HANDLER].result = [runs[SETUP_HANDLER].result,
                                      [r["Status"] for r in received]]

        publisher_asset, _ = found[PUBLISHER_HANDLER]
        dataset = next((publisher_asset / "data").glob("*.zip"))
        publish = {**base, "PIPELINE_DATASET_PATH": str(dataset)}
        run(PUBLISHER_HANDLER, scheduled_event(settings, datetime.now(UTC)), publish)
        first_tick = runs[PUBLISHER_HANDLER]
        run(DRAIN_HANDLER, scheduled_event(settings, datetime.now(UTC)), base)

        # Another container, another seed: the same seed would publish the same batch again,
        # which the ledger rightly loads only once.
        run(PUBLISHER_HANDLER, scheduled_event(settings, datetime.now(UTC)),
            {**publish, ENV_SEED: str(settings.seed + 1)})
        runs[PUBLISHER_HANDLER].calls = first_tick.calls + runs[PUBLISHER_HANDLER].calls
        runs[PUBLISHER_HANDLER].result = [first_tick.result, runs[PUBLISHER_HANDLER].result]
        sqs = boto.client(settings, "sqs")
        messages = SqsQueue(sqs, settings.queue_url).receive()
        arn = queue_arn(sqs, settings.queue_url)
        run(LOADER_HANDLER, {"Records": [sqs_record(m, arn, settings.region) for m in messages]},
            base)
    return Rehearsal(python=python, runs=runs, ledger=ledger)


def planted_asset(asset: Path, where: Path, module: str, code: str) -> Path:
    """A copy of `asset` whose `module` ends with `code` (a later definition wins)."""
    copy = where / "planted-asset"
    shutil.copytree(asset, copy, ignore=shutil.ignore_patterns("data"))
    path = copy / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + "\n\n# Planted by the rehearsal's fault test.\n" + code)
    return copy
