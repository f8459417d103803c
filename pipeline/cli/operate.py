"""The operator's commands: `pipeline status`, `pipeline redrive`, `pipeline reload`.

The composition root of `pipeline.app.operate`: which pipeline to talk to (a deployed
stack's outputs, the PIPELINE_* settings, or the embedded stack of a running
`pipeline run --follow`), and the SQS, S3 and Data API adapters for it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.app import operate
from pipeline.aws import boto, dataapi
from pipeline.aws.dataapi import DataApiWarehouse
from pipeline.aws.s3 import ObjectStore
from pipeline.aws.settings import ENV_QUEUE_URL, Settings
from pipeline.aws.sqs import SqsQueue
from pipeline.cli.common import at_least, stderr, table, warehouse_option
from pipeline.core.errors import ConfigError, PipelineError

TARGETS = """

Which pipeline: --stack-outputs FILE (a deployed stack), else the PIPELINE_*
settings, else the embedded stack of a running `pipeline run --follow`."""


def deployed(settings: Settings, stack_outputs: Path) -> Settings:
    """Settings for a deployed stack, from the JSON `cdk deploy --outputs-file` writes."""
    stack = settings.with_stack_outputs(stack_outputs)
    if not stack.queue_url:
        raise ConfigError(f"{stack_outputs} has no QueueUrl output: is it "
                          "`cdk deploy --outputs-file`?")
    return stack


def resolve(settings: Settings, stack_outputs: Path | None) -> Settings:
    """Which pipeline to operate on: stack outputs, PIPELINE_* settings, a running embedded one."""
    from pipeline.offline.stack import running_stack, stack_file

    if stack_outputs:
        return deployed(settings, stack_outputs)
    if settings.queue_url:
        return settings
    running = running_stack(settings)
    if running is None:
        raise PipelineError(
            "no pipeline to talk to: pass --stack-outputs FILE for a deployed stack, set "
            f"{ENV_QUEUE_URL}, or start `pipeline run --follow` (it writes "
            f"{stack_file(settings)})"
        )
    return running


class Parts(NamedTuple):
    """A pipeline's adapters, as the operator's procedures see it."""

    source: SqsQueue
    dlq: SqsQueue
    store: ObjectStore
    warehouse: DataApiWarehouse


def parts(settings: Settings) -> Parts:
    """The adapters of the pipeline `settings` name (both queues are required)."""
    if not (settings.queue_url and settings.dlq_url):
        raise ConfigError("the operator commands need the queue and DLQ URLs (stack outputs "
                          "QueueUrl, DlqUrl)")
    sqs = boto.client(settings, "sqs")
    return Parts(SqsQueue(sqs, settings.queue_url), SqsQueue(sqs, settings.dlq_url),
                 ObjectStore(boto.client(settings, "s3"), settings.bucket),
                 dataapi.build(settings))


def oldest_message_age_s(settings: Settings, queue_url: str) -> float | None:
    """SQS reports the oldest message's age only as a CloudWatch metric (None offline)."""
    cloudwatch = boto.client(settings, "cloudwatch")
    now = datetime.now(UTC)
    stats = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": queue_url.rsplit("/", 1)[-1]}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return max(p["Maximum"] for p in stats) if stats else None


def status(settings: Settings) -> dict[str, Any]:
    """Queue, DLQ, staging and warehouse figures of the pipeline `settings` name."""
    p = parts(settings)
    return operate.status(p.source, p.dlq, p.store, p.warehouse,
                          oldest_message_age_s=oldest_message_age_s(settings, p.source.url),
                          now=datetime.now(UTC))


def redrive(settings: Settings, limit: int | None = None,
            progress: Any = lambda _: None) -> operate.RedriveResult:
    """`pipeline redrive` on the pipeline `settings` name."""
    p = parts(settings)
    return operate.redrive(p.dlq, p.source, operate.loaded_parts(p.warehouse), limit=limit,
                           progress=progress)


def reload(settings: Settings, key: str) -> dict[str, Any]:
    """`pipeline reload` on the pipeline `settings` name."""
    p = parts(settings)
    return operate.reload(p.store, p.warehouse, key)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.offline.postmortem import stopped_status
    from pipeline.offline.stack import running_stack

    figures = None
    if not (args.stack_outputs or settings.queue_url or running_stack(settings)):
        figures = stopped_status(settings)  # None: nothing ever ran here either
    if figures is None:
        figures = status(resolve(settings, args.stack_outputs))
    if args.json:
        print(json.dumps(figures, default=str))
    else:
        print(table(["figure", "value"], [[k, v] for k, v in figures.items()]))
    return 0


def cmd_redrive(args: argparse.Namespace, settings: Settings) -> int:
    result = redrive(resolve(settings, args.stack_outputs), limit=args.limit, progress=stderr)
    print(json.dumps(dataclasses.asdict(result)) if args.json
          else f"moved {result.moved} message(s) from the DLQ; {result.remaining} remain")
    return 0


def cmd_reload(args: argparse.Namespace, settings: Settings) -> int:
    result = reload(resolve(settings, args.stack_outputs), args.key)
    print(json.dumps(result) if args.json else table(
        ["figure", "value"], [[k, v] for k, v in result.items()]))
    return 0


def add_parsers(sub: Any) -> None:
    """`status`, `redrive` and `reload`."""

    def command(name: str, help_: str, description: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=description + TARGETS,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--stack-outputs", type=Path, metavar="FILE",
                       help="a deployed stack: the JSON written by `cdk deploy --outputs-file`")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        warehouse_option(p)
        return p

    status_ = command("status", "queue and DLQ depth, staged and rejected objects, last load",
                      "Show queue depth, DLQ depth, the oldest message's age, staged objects "
                      "not yet loaded, rejected counts and the last load time.")
    status_.set_defaults(func=cmd_status)
    redrive_ = command("redrive", "move DLQ messages back to the source queue",
                       "Move dead-lettered messages back to the source queue unchanged, and "
                       "report how many moved. Safe to repeat: loads are exactly-once per part.")
    redrive_.add_argument("--limit", type=at_least(1), metavar="N",
                          help="move at most N messages")
    redrive_.set_defaults(func=cmd_redrive)
    reload_ = command("reload", "load one staged or processed object again (idempotent)",
                      "Load a staged object (incoming/...) or an archived one (processed/...) "
                      "again. Parts already in the ledger are skipped, so this never "
                      "duplicates.")
    reload_.add_argument("--key", required=True,
                         help="the object key, e.g. incoming/2026/11/25/<name>.rows.ndjson.gz")
    reload_.set_defaults(func=cmd_reload)
