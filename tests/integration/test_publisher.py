"""The publisher against the real emulator over HTTP."""

import dataclasses
import random
from datetime import UTC, datetime

import pytest

from pipeline.app.publisher import publish_tick
from pipeline.aws import boto
from pipeline.aws.sqs import SqsQueue
from pipeline.core import envelope

pytestmark = pytest.mark.integration


def receive_all(sqs, queue_url):
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        if not messages:
            return bodies
        for m in messages:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_published_sample_reads_back_whole_from_the_queue(emulator, dataset):
    sqs = boto.client(emulator.settings, "sqs")
    queue = SqsQueue(sqs, emulator.settings.queue_url)
    result = publish_tick(dataset, queue, emulator.settings, random.Random(5),
                          datetime(2026, 11, 25, tzinfo=UTC))
    parts = [envelope.decode(b) for b in receive_all(sqs, emulator.settings.queue_url)]
    assert len(parts) == result.messages
    rows = [r for p in sorted(parts, key=lambda p: p.part) for r in p.rows]
    assert len(rows) == result.rows
    ids = {(r["chat_link"], r["message_id"]) for r in rows}
    assert len(ids) == result.rows  # without replacement


def test_a_large_sample_is_split_not_redrawn(emulator, dataset):
    settings = dataclasses.replace(emulator.settings, max_message_bytes=32 * 1024,
                                   sample_min=900, sample_max=1000)
    sqs = boto.client(settings, "sqs")
    queue = SqsQueue(sqs, settings.queue_url)
    result = publish_tick(dataset, queue, settings, random.Random(11), datetime.now(UTC))
    bodies = receive_all(sqs, settings.queue_url)
    assert 900 <= result.rows <= 1000 and result.messages == len(bodies) > 1
    assert all(len(b.encode()) <= 32 * 1024 for b in bodies)
    parts = sorted((envelope.decode(b) for b in bodies), key=lambda p: p.part)
    assert sum(len(p.rows) for p in parts) == result.rows
    assert {p.batch_id for p in parts} == {result.batch_id}
