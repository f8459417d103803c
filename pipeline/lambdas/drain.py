"""Drain Lambda: the `schedule` load trigger's target (EventBridge every `loadEvery` minutes)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from pipeline.app.drain import DrainOutcome, drain
from pipeline.aws import boto
from pipeline.aws.settings import ENV_QUEUE_URL, Settings
from pipeline.core.errors import ConfigError
from pipeline.lambdas import loader


def handle(settings: Settings, deps: loader.Dependencies, sqs: Any, context: Any) -> DrainOutcome:
    """Drain the settings' queue into the warehouse within the invocation's remaining time."""
    if not settings.queue_url:
        raise ConfigError(f"{ENV_QUEUE_URL} is not set: the drain needs the queue to drain")
    return drain(sqs, settings.queue_url, deps.store, deps.warehouse,
                 remaining_s=lambda: context.get_remaining_time_in_millis() / 1000,
                 clock=lambda: datetime.now(UTC))


@cache
def _env() -> tuple[Settings, Any]:
    settings = Settings.from_env()
    return settings, boto.client(settings, "sqs")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: one scheduled event, one drain; returns what it loaded."""
    settings, sqs = _env()
    return handle(settings, loader.lambda_dependencies(), sqs, context).as_dict()
