"""Recovery and inspection: `pipeline status`, `pipeline redrive`, `pipeline reload`.

They work against AWS (settings from the stack outputs) and against a running
embedded stack (`pipeline run --follow` records its endpoints in a stack file
next to the warehouse, since moto and the embedded Data API live in that process).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.aws import boto, dataapi, sql
from pipeline.aws.s3 import ObjectStore
from pipeline.aws.settings import ENV_FIELDS, STACK_OUTPUTS, Settings, read_stack_outputs
from pipeline.core import staging
from pipeline.core.errors import ConfigError, PipelineError, WarehouseError
from pipeline.core.limits import SQS_MAX_BATCH_ENTRIES
from pipeline.offline.journal import part_of

STACK_FILE = "embedded-stack.json"

log = logging.getLogger(__name__)


def stack_file(settings: Settings) -> Path:
    return Path(settings.warehouse_path).parent / STACK_FILE


def write_stack_file(settings: Settings) -> Path:
    """Record a running embedded stack's endpoints for other `pipeline` processes."""
    path = stack_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "env": settings.to_env()}, indent=2))
    return path


def remove_stack_file(settings: Settings) -> None:
    stack_file(settings).unlink(missing_ok=True)


def from_stack_outputs(path: Path, base: Settings) -> Settings:
    """Settings for a deployed stack, from the JSON `cdk deploy --outputs-file` writes."""
    outputs = read_stack_outputs(path)
    overrides: dict[str, Any] = {
        field: outputs[key] for key, field in STACK_OUTPUTS.items() if key in outputs
    }
    if "queue_url" not in overrides:
        raise ConfigError(f"{path} has no QueueUrl output: is it `cdk deploy --outputs-file`?")
    return dataclasses.replace(base, **overrides)


def resolve(settings: Settings, stack_outputs: Path | None) -> Settings:
    """Which pipeline to operate on: stack outputs, PIPELINE_* settings, a running embedded one."""
    if stack_outputs:
        return from_stack_outputs(stack_outputs, settings)
    if settings.queue_url:
        return settings
    running = running_stack(settings)
    if running is None:
        path = stack_file(settings)
        raise PipelineError(
            "no pipeline to talk to: pass --stack-outputs FILE for a deployed stack, set "
            f"PIPELINE_QUEUE_URL, or start `pipeline run --follow` (it writes {path})"
        )
    return running


def stack_owner(settings: Settings) -> int | None:
    """The pid of another live process serving an embedded stack on this warehouse, if any."""
    path = stack_file(settings)
    if running_stack(settings) is None:
        return None
    try:
        pid = int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None if pid == os.getpid() else pid


def running_stack(settings: Settings) -> Settings | None:
    """The settings of the embedded stack a live `pipeline run` serves, else None.

    A stack file whose process is gone (killed, so it could not remove the file) is
    stale: it is removed here, with a warning naming the process.
    """
    path = stack_file(settings)
    try:
        recorded = json.loads(path.read_text())
        pid, env = int(recorded["pid"]), dict(recorded["env"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        log.warning("removing an unreadable stack file %s", path)
        path.unlink(missing_ok=True)
        return None
    settings_there = Settings.from_env({k: v for k, v in env.items() if k in ENV_FIELDS})
    why = _stale(pid, settings_there)
    if why:
        log.warning("removing a stale stack file %s: %s", path, why)
        path.unlink(missing_ok=True)
        return None
    return settings_there


def _stale(pid: int, recorded: Settings) -> str | None:
    """Why a stack file no longer describes a running pipeline (None: it does).

    A pid alone can be reused by another process after a kill, so the recorded Data
    API endpoint must also answer, for the same warehouse file.
    """
    if not _alive(pid):
        return f"process {pid} is gone"
    if pid == os.getpid() or not recorded.data_api_endpoint_url:
        return None
    import urllib.error
    import urllib.request

    try:  # the loopback endpoint the pipeline recorded: never a user-given scheme
        with urllib.request.urlopen(recorded.data_api_endpoint_url, timeout=5) as answer:  # noqa: S310
            served = json.loads(answer.read()).get("warehouse")
    except TimeoutError:
        return None  # busy, not gone
    except (OSError, ValueError):
        return f"process {pid} is not a pipeline serving {recorded.data_api_endpoint_url}"
    if served and Path(served).resolve() != Path(recorded.warehouse_path).resolve():
        return f"{recorded.data_api_endpoint_url} serves another warehouse ({served})"
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def loaded_parts(settings: Settings) -> set[tuple[str, int]]:
    """The (batch_id, part) keys in the ledger; empty when nothing was loaded yet.

    Also empty, with a warning, when the ledger cannot be read (the warehouse still
    refusing, say): redrive then moves every message, which is safe, since loading a
    part the ledger has is a no-op.
    """
    try:
        ledger = dataapi.build(settings).query(
            f"SELECT batch_id, part FROM {sql.qualified(settings.schema, sql.LEDGER_TABLE)}")
    except WarehouseError as exc:
        if "does not exist" not in str(exc):
            log.warning("cannot read the ledger; redriving every DLQ message: %s", exc)
        return set()
    return {(r[0], int(r[1])) for r in (ledger.rows if ledger else [])}


def queue_depth(sqs: Any, queue_url: str) -> dict[str, int]:
    """Messages waiting (visible) and received but not yet deleted (in flight)."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return {"visible": int(attrs["ApproximateNumberOfMessages"]),
            "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"])}


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
    """Queue, DLQ, staging and warehouse figures in one dictionary."""
    if not (settings.queue_url and settings.dlq_url):
        raise ConfigError("status needs the queue and DLQ URLs (stack outputs QueueUrl, DlqUrl)")
    sqs = boto.client(settings, "sqs")
    store = ObjectStore(boto.client(settings, "s3"), settings.bucket)
    queue, dlq = queue_depth(sqs, settings.queue_url), queue_depth(sqs, settings.dlq_url)
    staged = [o for o in store.list(staging.INCOMING) if o["Key"].endswith(".rows.ndjson.gz")]
    now = datetime.now(UTC)
    try:
        ledger = dataapi.build(settings).query(sql.render_ledger_lookup(settings.schema))
    except WarehouseError as exc:
        if "does not exist" not in str(exc):
            raise
        ledger = None  # nothing loaded yet: the loader creates the schema on its first start
    parts, rows, rejected, last = ledger.rows[0] if ledger else (0, 0, 0, None)
    return {
        "queue_visible": queue["visible"],
        "queue_in_flight": queue["in_flight"],
        "dlq_messages": dlq["visible"] + dlq["in_flight"],
        "oldest_message_age_s": oldest_message_age_s(settings, settings.queue_url),
        "staged_not_loaded": len(staged),
        "oldest_staged_age_s": round(max(((now - o["LastModified"]).total_seconds()
                                          for o in staged), default=0.0), 1),
        "rejected_objects": sum(1 for _ in store.list(staging.REJECTED)),
        "rejected_rows": rejected,
        "loaded_parts": parts,
        "loaded_rows": rows,
        "last_load_at": last,
    }


def stopped_status(settings: Settings) -> dict[str, Any] | None:
    """With no embedded pipeline running: what the last one left on disk, or None if nothing.

    The queue's waiting messages (journaled, put back by the next `pipeline run`), the DLQ
    a clean stop recorded, and the ledger read from the warehouse file.
    """
    from pipeline.offline.emulator import persisted_dlq, queue_state_dir
    from pipeline.offline.journal import QueueFiles

    dlq = persisted_dlq(settings)
    files = QueueFiles(queue_state_dir(settings))
    path = Path(settings.warehouse_path)
    waiting = files.waiting_bodies()
    if dlq is None and not waiting and not path.exists():
        return None
    parts = rows = rejected = 0
    last = None
    if path.exists():
        from pipeline.analysis.warehouse import query_file

        try:
            frame = query_file(path, sql.render_ledger_lookup(settings.schema))
            parts, rows, rejected, last = frame.astype(object).values.tolist()[0]
        except Exception as exc:  # no schema yet: nothing was loaded
            if "does not exist" not in str(exc):
                raise
    return {
        "pipeline": "not running (figures from the last run's files)",
        "queue_waiting_for_next_run": waiting,
        "dlq_messages": len(dlq[0]) if dlq else 0,
        "loaded_parts": parts,
        "loaded_rows": rows,
        "rejected_rows": rejected,
        "last_load_at": last,
    }


@dataclass(frozen=True)
class RedriveResult:
    moved: int
    remaining: int
    # DLQ messages whose parts were all in the ledger already: not moved (loading them again
    # would be a no-op), deleted from the DLQ so they are counted once, as loaded.
    already_loaded: int = 0


def redrive(settings: Settings, limit: int | None = None,
            progress: Callable[[str], None] = lambda _: None) -> RedriveResult:
    """Move DLQ messages back to the source queue, unchanged; delete each only once sent.

    A crash between send and delete duplicates a message, never loses one; the
    ledger makes the duplicate's load a no-op.
    """
    if not (settings.queue_url and settings.dlq_url):
        raise ConfigError("redrive needs the queue and DLQ URLs (stack outputs QueueUrl, DlqUrl)")
    sqs = boto.client(settings, "sqs")
    loaded = loaded_parts(settings)
    moved = dropped = 0
    while limit is None or moved + dropped < limit:
        want = (SQS_MAX_BATCH_ENTRIES if limit is None
                else min(SQS_MAX_BATCH_ENTRIES, limit - moved - dropped))
        messages = sqs.receive_message(QueueUrl=settings.dlq_url, MaxNumberOfMessages=want,
                                       WaitTimeSeconds=0, VisibilityTimeout=30).get("Messages", [])
        if not messages:
            break
        done = [m for m in messages if (part_of(m["Body"]) or ("", -1, 0))[:2] in loaded]
        if done:
            sqs.delete_message_batch(QueueUrl=settings.dlq_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
            dropped += len(done)
            progress(f"dropped {dropped} message(s) already loaded")
        messages = [m for m in messages if m not in done]
        if not messages:
            continue
        sent = sqs.send_message_batch(
            QueueUrl=settings.queue_url,
            Entries=[{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)],
        )
        ok = {int(s["Id"]) for s in sent.get("Successful", [])}
        if ok:
            sqs.delete_message_batch(QueueUrl=settings.dlq_url, Entries=[
                {"Id": str(i), "ReceiptHandle": messages[i]["ReceiptHandle"]} for i in sorted(ok)])
        moved += len(ok)
        progress(f"moved {moved} message(s)")
        if sent.get("Failed"):
            raise PipelineError(f"the source queue refused {len(sent['Failed'])} message(s): "
                                f"{sent['Failed'][0].get('Message')}")
    return RedriveResult(moved=moved, remaining=queue_depth(sqs, settings.dlq_url)["visible"],
                         already_loaded=dropped)


def rows_key(key: str) -> str:
    """Accept the rows object, a sibling (parts, manifest) or the bare name; return the rows key."""
    for suffix in (".rows.ndjson.gz", ".rows.manifest", ".parts.ndjson.gz", ".parts.manifest"):
        if key.endswith(suffix):
            return key[: -len(suffix)] + ".rows.ndjson.gz"
    return key + ".rows.ndjson.gz"


def reload(settings: Settings, key: str) -> dict[str, Any]:
    """Load one staged (incoming/) or processed object again; parts already loaded are no-ops.

    Fresh manifests are written beside the object (the old ones may name a key
    that has since moved); an object still in incoming/ moves to processed/ after.
    """
    store = ObjectStore(boto.client(settings, "s3"), settings.bucket)
    rows = rows_key(key)
    parts = rows[: -len(".rows.ndjson.gz")] + ".parts.ndjson.gz"
    for needed in (rows, parts):
        if not store.exists(needed):
            raise PipelineError(f"s3://{settings.bucket}/{needed} does not exist")
    base = rows[: -len(".rows.ndjson.gz")]
    part_lines = staging.read_ndjson_gz(store.get(parts))
    store.put(base + ".rows.manifest", staging.manifest(store.bucket, rows))
    store.put(base + ".parts.manifest", staging.manifest(store.bucket, parts))
    warehouse = dataapi.build(settings)
    before = warehouse.query(sql.render_ledger_lookup(settings.schema))
    statement_id = warehouse.load(store.url(base + ".rows.manifest"),
                                  store.url(base + ".parts.manifest"))
    after = warehouse.query(sql.render_ledger_lookup(settings.schema))
    if rows.startswith(staging.INCOMING):
        for name in (rows, parts, base + ".rows.manifest", base + ".parts.manifest"):
            store.move(name, staging.processed_key(name))
    added = (after.rows[0][1] if after else 0) - (before.rows[0][1] if before else 0)
    return {"key": rows, "statement_id": statement_id, "parts_in_object": len(part_lines),
            "rows_in_object": sum(p["row_count"] for p in part_lines), "rows_added": added}
