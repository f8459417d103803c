"""Publisher Lambda: the EventBridge schedule's target."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple

from pipeline.app import logs
from pipeline.app.publisher import publish_tick
from pipeline.aws import boto
from pipeline.aws.settings import Settings
from pipeline.core.dataset import Dataset, load_dataset


class Dependencies(NamedTuple):
    """What a tick needs: its settings, the dataset, an SQS client and the sampling rng."""

    settings: Settings
    dataset: Dataset
    sqs: Any
    rng: random.Random


@lru_cache(maxsize=8)
def dependencies(settings: Settings) -> Dependencies:
    """Built once per settings: the dataset is read on a cold start, not on every tick."""
    logs.configure(settings.log_level)
    dataset = load_dataset(settings.dataset_path)
    return Dependencies(settings, dataset, boto.client(settings, "sqs"),
                        random.Random(settings.seed))


def handle(event: dict[str, Any], deps: Dependencies) -> dict[str, Any]:
    """Publish one sample for one scheduled event; returns what was sent."""
    return publish_tick(deps.dataset, deps.sqs, deps.settings, deps.rng,
                        datetime.now(UTC)).as_dict()


@cache
def _env_settings() -> Settings:
    return Settings.from_env()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: settings from the function's environment."""
    return handle(event, dependencies(_env_settings()))
