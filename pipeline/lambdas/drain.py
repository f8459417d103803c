"""Drain Lambda: the `schedule` load trigger's target (EventBridge every `loadEvery` minutes)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple

from pipeline.app.drain import drain
from pipeline.app.ports import DrainQueue
from pipeline.aws import boto
from pipeline.aws.settings import ENV_QUEUE_URL, RuntimeSettings
from pipeline.aws.sqs import SqsQueue
from pipeline.core.errors import ConfigError
from pipeline.lambdas import loader


class Dependencies(NamedTuple):
    """What a drain needs: the loader's store and warehouse, and the queue it drains."""

    load: loader.Dependencies
    queue: DrainQueue


@lru_cache(maxsize=8)
def dependencies(settings: RuntimeSettings) -> Dependencies:
    """Built once per settings (so once per container), as the loader's are."""
    if not settings.queue_url:
        raise ConfigError(f"{ENV_QUEUE_URL} is not set: the drain needs the queue to drain")
    queue = SqsQueue(boto.client(settings, "sqs"), settings.queue_url)
    return Dependencies(loader.dependencies(settings), queue)


@cache
def lambda_dependencies() -> Dependencies:
    """The Lambda entry point's: settings from the function's environment, the GC tuned once."""
    deps = dependencies(RuntimeSettings.from_env())
    loader.tune_gc()
    return deps


def handle(event: dict[str, Any], context: Any, deps: Dependencies) -> dict[str, Any]:
    """Drain the queue into the warehouse within the invocation's remaining time."""
    return drain(deps.queue, deps.load.store, deps.load.warehouse,
                 remaining_s=lambda: context.get_remaining_time_in_millis() / 1000,
                 clock=lambda: datetime.now(UTC)).as_dict()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: one scheduled event, one drain; returns what it loaded."""
    return handle(event, context, lambda_dependencies())
