"""Loader Lambda: the SQS event source's target, answering with partial batch failures."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from pipeline.app import logs
from pipeline.app.loader import load_batch
from pipeline.app.ports import ObjectStore, Warehouse
from pipeline.aws import boto, dataapi
from pipeline.aws.s3 import ObjectStore as S3ObjectStore
from pipeline.aws.settings import RuntimeSettings
from pipeline.core.envelope import Envelope, decode

GC_YOUNG_THRESHOLD = 20_000  # the default is 700 allocations between young collections


class Dependencies(NamedTuple):
    """What a load needs: the staging store and the warehouse."""

    store: ObjectStore
    warehouse: Warehouse


@lru_cache(maxsize=8)
def dependencies(settings: RuntimeSettings) -> Dependencies:
    """Built once per settings (so once per container); the schema DDL runs on the first build."""
    logs.configure(settings.log_level)
    warehouse = dataapi.build(settings)
    warehouse.ensure_schema()
    store = S3ObjectStore(boto.client(settings, "s3"), settings.bucket)
    return Dependencies(store, warehouse)


@cache
def lambda_dependencies() -> Dependencies:
    """The Lambda entry point's: settings from the function's environment, the GC tuned once."""
    deps = dependencies(RuntimeSettings.from_env())
    tune_gc()
    return deps


@cache
def tune_gc() -> None:
    """Once per Lambda process: keep the cycle collector off the loader's batch of row objects.

    An invocation keeps ~100k small row objects alive until it returns, and they form
    no reference cycles: at the default thresholds the collector walks them, and the
    ~150k objects of the loaded modules and clients, over and over for nothing. The
    latter are frozen (never collected: they live as long as the container anyway).
    Only the Lambda entry points call this; tests and `pipeline run` keep Python's defaults.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def decode_record(record: SQSRecord) -> Envelope:
    """A body that does not decode raises, so this record alone is reported as failed."""
    return decode(record.body)


def handle(event: dict[str, Any], context: Any, deps: Dependencies) -> dict[str, Any]:
    """Decode each record, load the good ones in one transaction, report the rest as failures.

    A warehouse or S3 failure raises out of the handler: the whole batch goes back
    to the queue, and the ledger makes the retry safe.
    """
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    with processor(records=event["Records"], handler=decode_record):
        results = processor.process()
    envelopes = [result for status, result, _ in results if status == "success"]
    if envelopes:
        load_batch(envelopes, deps.store, deps.warehouse, datetime.now(UTC))
    return dict(processor.response())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (`queue` trigger): SQS event in, partial batch failures out."""
    return handle(event, context, lambda_dependencies())
