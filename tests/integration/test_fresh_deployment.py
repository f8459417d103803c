"""A fresh deployment, played on the embedded AWS: set-up, a deploy-time backlog, the first
load, steady state; then the checks `pipeline validate` runs on it.

The backlog is parts published two hours before the first load (what a deployment whose
loader could not log in yet, or whose first drain came late, leaves behind). The freshness
check must judge the pipeline as it runs now, not that start-up, and validation must wait
for the first load rather than fail on an empty ledger.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.analysis import checks
from pipeline.analysis.validate import ledger_parts, parameters, wait_for_first_load
from pipeline.app.drain import drain
from pipeline.app.publisher import publish_tick
from pipeline.aws import boto, sql
from pipeline.aws.settings import Settings
from pipeline.aws.sqs import SqsQueue
from pipeline.core.dataset import load_dataset
from pipeline.lambdas import loader, setup

pytestmark = pytest.mark.integration

BACKLOG_AGE = timedelta(hours=2)
MAX_FRESHNESS_S = 900.0


class Deployment:
    """The embedded stack with the pipeline's own publish and drain functions."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = SqsQueue(boto.client(settings, "sqs"), settings.queue_url or "")
        self.dataset = load_dataset(settings.dataset_path)
        self.rng = random.Random(7)

    def set_up(self) -> None:
        """What the stack's database set-up resource runs."""
        secrets = boto.client(self.settings, "secretsmanager")
        arn = secrets.create_secret(Name="loader", SecretString=json.dumps(
            {"username": sql.LOADER_USER, "password": "Abcdefgh12345678"}))["ARN"]
        setup.set_up(self.settings, {setup.PROP_LOADER_SECRET_ARN: arn})

    def publish(self, ticks: int, at: datetime) -> None:
        for _ in range(ticks):
            publish_tick(self.dataset, self.queue, self.settings, self.rng, at)

    def drain(self) -> int:
        deps = loader.dependencies(self.settings)
        outcome = drain(self.queue, deps.store, deps.warehouse,
                        remaining_s=lambda: 300.0, clock=lambda: datetime.now(UTC))
        return outcome.messages


@pytest.fixture
def deployment(tmp_path: Path) -> Any:
    from pipeline.offline.runtime import start_local

    settings = Settings(warehouse_path=tmp_path / "warehouse.duckdb", sample_max=50,
                        visibility_timeout_s=30)
    with start_local(settings) as stack:
        yield Deployment(stack.settings)


def _redshift_values(deployment: Deployment) -> dict[str, Any]:
    """The notebooks' parameters for the redshift target, over the embedded Data API."""
    values = parameters(deployment.settings, target="redshift")
    values["workgroup"] = "telegram-ingest-pipeline"
    return values


def test_validation_waits_for_the_first_load_then_freshness_ignores_the_backlog(
        deployment: Deployment) -> None:
    from pipeline.analysis.warehouse import connect

    deployment.set_up()
    deployment.publish(3, datetime.now(UTC) - BACKLOG_AGE)  # the deploy-time backlog
    values = _redshift_values(deployment)
    endpoint = deployment.settings.data_api_endpoint_url  # loopback: placeholder credentials

    # validate's wait: the ledger is empty until the first drain, which comes while it waits.
    waits: list[float] = []

    def first_drain_comes(seconds: float) -> None:
        waits.append(seconds)
        assert deployment.drain() > 0

    parts = wait_for_first_load(lambda: ledger_parts(values, endpoint), timeout_s=660, poll_s=15,
                                sleep=first_drain_comes, clock=lambda: 0.0)
    assert parts >= 3 and waits == [15]

    ledger = sql.qualified(deployment.settings.schema, sql.LEDGER_TABLE)
    remote = Settings(redshift_workgroup=values["workgroup"],
                      data_api_endpoint_url=deployment.settings.data_api_endpoint_url)
    with connect("redshift", remote) as conn:
        # Right after the first load nothing published after it has loaded: not measurable.
        _, line = checks.check_freshness(conn, ledger, MAX_FRESHNESS_S)
        assert line.startswith(checks.SKIPPED_MARK), line

        deployment.publish(3, datetime.now(UTC))  # steady state
        assert deployment.drain() > 0
        frame, line = checks.check_freshness(conn, ledger, MAX_FRESHNESS_S)
        assert line.startswith("freshness check passed"), line
        assert 1 <= int(frame["parts"].iloc[0]) <= 6

        # Over every part ever loaded, the two-hour backlog fails the same threshold.
        with pytest.raises(checks.SmokeCheckError, match="above the threshold"):
            checks.check_freshness(conn, ledger, MAX_FRESHNESS_S, window_s=None,
                                   after_first_load=False)


def test_an_empty_ledger_after_the_wait_is_a_one_line_failure(deployment: Deployment) -> None:
    deployment.set_up()
    values = _redshift_values(deployment)
    endpoint = deployment.settings.data_api_endpoint_url  # loopback: placeholder credentials
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(checks.SmokeCheckError, match="no part loaded after waiting 60 s"):
        wait_for_first_load(lambda: ledger_parts(values, endpoint), timeout_s=60, poll_s=15,
                            sleep=sleep, clock=lambda: now[0])
    assert now[0] == 60
