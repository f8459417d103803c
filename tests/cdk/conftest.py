"""Session-scoped synths of the stack (one per warehouse mode) and template helpers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# jsii prints a banner on every start under Node 20; the CLI test still runs on whatever node is
# installed. Must be set before the jsii runtime starts (it starts on first use, below).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# CDK's built-in CloudFormation schema validation costs ~5-10 s per process and only ever warns;
# in-process synths skip it, the CLI test (test_cdk_cli.py) runs it as `make synth` does.
os.environ.setdefault("CDK_VALIDATION", "false")

from aws_cdk import App
from aws_cdk.assertions import Template

from cdk_app.app import build_app
from cdk_app.config import PipelineConfig
from cdk_app.functions import PUBLISHER_HANDLER
from cdk_app.stack import PipelineStack
from cdk_app.trigger import DRAIN_HANDLER, LOADER_HANDLER

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = REPO_ROOT / "cdk.json"
MODES = ("serverless", "provisioned")


@dataclass(frozen=True)
class Synth:
    """One synthesized app: the construct tree, its template, and where the assembly went."""

    app: App
    stack: PipelineStack
    template: Template
    cfn: dict[str, Any]
    outdir: Path

    @property
    def config(self) -> PipelineConfig:
        return self.stack.config

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return dict(self.template.find_resources(resource_type))

    def function(self, *handlers: str) -> tuple[str, dict[str, Any]]:
        """(logical id, resource) of the Lambda with one of these handlers (ids are never
        hard-coded)."""
        matches = [
            (logical_id, resource)
            for logical_id, resource in self.resources("AWS::Lambda::Function").items()
            if resource["Properties"].get("Handler") in handlers
        ]
        assert len(matches) == 1, f"expected one function with a handler in {handlers}"
        return matches[0]

    @property
    def publisher(self) -> tuple[str, dict[str, Any]]:
        return self.function(PUBLISHER_HANDLER)

    @property
    def loader(self) -> tuple[str, dict[str, Any]]:
        """The loader function: the drain handler (`schedule` trigger) or the SQS one (`queue`)."""
        return self.function(LOADER_HANDLER, DRAIN_HANDLER)

    def queues(self) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
        """((source id, source), (dlq id, dlq)): the source queue is the one with a redrive."""
        queues = self.resources("AWS::SQS::Queue")
        sources = [(k, v) for k, v in queues.items() if "RedrivePolicy" in v["Properties"]]
        dlqs = [(k, v) for k, v in queues.items() if "RedrivePolicy" not in v["Properties"]]
        assert len(sources) == 1 and len(dlqs) == 1
        return sources[0], dlqs[0]

    def staging_bucket(self) -> tuple[str, dict[str, Any]]:
        """The bucket that ships its access logs elsewhere (the other one receives them)."""
        buckets = [
            (k, v)
            for k, v in self.resources("AWS::S3::Bucket").items()
            if "LoggingConfiguration" in v["Properties"]
        ]
        assert len(buckets) == 1
        return buckets[0]


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    """The context `cdk synth` gets from cdk.json, so the tests build what the CLI builds."""
    return json.loads(CDK_JSON.read_text())["context"]


@pytest.fixture(scope="session")
def synth(
    cdk_context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Synth]:
    """Synthesize with `pipeline:` context overrides; each distinct override set only once."""
    cache: dict[str, Synth] = {}

    def _synth(**overrides: Any) -> Synth:
        key = json.dumps(overrides, sort_keys=True)
        if key not in cache:
            context = {**cdk_context, **{f"pipeline:{k}": v for k, v in overrides.items()}}
            outdir = tmp_path_factory.mktemp("cdk.out")
            app, stack = build_app(context, outdir=str(outdir))
            template = Template.from_stack(stack)
            cache[key] = Synth(app, stack, template, template.to_json(), outdir)
        return cache[key]

    return _synth


@pytest.fixture(scope="session")
def serverless(synth: Callable[..., Synth]) -> Synth:
    return synth(warehouseMode="serverless")


@pytest.fixture(scope="session")
def provisioned(synth: Callable[..., Synth]) -> Synth:
    return synth(warehouseMode="provisioned")


@pytest.fixture(scope="session", params=MODES)
def any_mode(request: pytest.FixtureRequest, synth: Callable[..., Synth]) -> Synth:
    return synth(warehouseMode=request.param)


# --- the runtime rehearsal (tests/cdk/rehearsal.py): built once, shared by the modules that
# read it (test_rehearsal.py runs the handlers' checks, test_call_grants.py the grants).


@pytest.fixture(scope="session")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with only the current Lambda runtime's boto3 and the Powertools layer."""
    from tests.cdk.rehearsal import build_runtime_venv

    return build_runtime_venv(tmp_path_factory.mktemp("lambda-runtime"))


@pytest.fixture(scope="session")
def floor_python() -> Path:
    """The venv `make test` builds with the oldest SDK the Lambda docs list (and Powertools)."""
    from tests.cdk.rehearsal import floor_python

    return floor_python()


@pytest.fixture(scope="session")
def rehearse_on(serverless: Synth, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """(python, synth: the default one) -> the Rehearsal of that template's handlers on that
    interpreter, each run only once."""
    from tests.cdk.rehearsal import Rehearsal, rehearse

    done: dict[tuple[Path, Path], Rehearsal] = {}

    def _rehearse(python: Path, synth: Synth = serverless) -> Rehearsal:
        key = (python, synth.outdir)
        if key not in done:
            done[key] = rehearse(python, synth, tmp_path_factory.mktemp("rehearsal"))
        return done[key]

    return _rehearse
