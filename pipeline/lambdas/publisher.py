"""Publisher Lambda: the EventBridge schedule's target."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pipeline.app import logs
from pipeline.app.publisher import publish_tick
from pipeline.aws import boto
from pipeline.aws.settings import Settings
from pipeline.core.dataset import Dataset, load_dataset


@cache
def dependencies() -> tuple[Settings, Dataset, Any, random.Random]:
    """Built once per container: the dataset is read on a cold start, not on every tick."""
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    dataset = load_dataset(settings.dataset_path)
    return settings, dataset, boto.client(settings, "sqs"), random.Random(settings.seed)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Publish one sample per scheduled event; returns what was sent."""
    settings, dataset, sqs, rng = dependencies()
    return publish_tick(dataset, sqs, settings, rng, datetime.now(UTC)).as_dict()
