"""Publisher Lambda: the EventBridge schedule's target.

The handler idiom all three functions share: `dependencies(settings)` builds what a
call needs once per settings (so once per container), `handle(event, context, deps)`
does one call, and `handler` is the entry point reading the function's environment.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple

from pipeline.app import logs
from pipeline.app.ports import Queue
from pipeline.app.publisher import publish_tick
from pipeline.aws import boto
from pipeline.aws.settings import ENV_QUEUE_URL, RuntimeSettings
from pipeline.aws.sqs import SqsQueue
from pipeline.core.dataset import Dataset, load_dataset
from pipeline.core.errors import ConfigError


class Dependencies(NamedTuple):
    """What a tick needs: its settings, the dataset, the queue and the sampling rng."""

    settings: RuntimeSettings
    dataset: Dataset
    queue: Queue
    rng: random.Random


@lru_cache(maxsize=8)
def dependencies(settings: RuntimeSettings) -> Dependencies:
    """Built once per settings: the dataset is read on a cold start, not on every tick."""
    logs.configure(settings.log_level)
    if not settings.queue_url:
        raise ConfigError(f"{ENV_QUEUE_URL} is not set: the publisher needs a queue to send to")
    dataset = load_dataset(settings.dataset_path)
    queue = SqsQueue(boto.client(settings, "sqs"), settings.queue_url)
    return Dependencies(settings, dataset, queue, random.Random(settings.seed))


@cache
def lambda_dependencies() -> Dependencies:
    """The Lambda entry point's: settings from the function's environment."""
    return dependencies(RuntimeSettings.from_env())


def handle(event: dict[str, Any], context: Any, deps: Dependencies) -> dict[str, Any]:
    """Publish one sample for one scheduled event; returns what was sent."""
    return publish_tick(deps.dataset, deps.queue, deps.settings, deps.rng,
                        datetime.now(UTC)).as_dict()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: one scheduled event, one tick."""
    return handle(event, context, lambda_dependencies())
