"""The SQS adapter against the emulator's SQS over HTTP: values out, chunks of ten, typed errors."""

from __future__ import annotations

import pytest

from pipeline.aws import boto
from pipeline.aws.sqs import SqsQueue
from pipeline.core.errors import MissingQueueError, QueueError, TerminalError

pytestmark = pytest.mark.integration


def queue_of(emulator) -> SqsQueue:
    return SqsQueue(boto.client(emulator.settings, "sqs"), emulator.settings.queue_url)


def receive_all(queue: SqsQueue) -> list:
    got: list = []
    while batch := queue.receive(wait_s=0, visibility_timeout_s=60):
        got += batch
    return got


def test_delete_and_release_take_any_number_of_messages_in_batches_of_ten(emulator):
    queue = queue_of(emulator)
    for start in range(0, 23, 10):
        assert queue.send({str(i): f"body {i}" for i in range(start, min(start + 10, 23))}) == []
    received = receive_all(queue)
    assert sorted(m.body for m in received) == sorted(f"body {i}" for i in range(23))
    assert all(m.receive_count == 1 and m.sent_ms > 0 for m in received)

    assert queue.release(received[:13]) == []  # visible again at once, 13 > one batch call
    again = receive_all(queue)
    assert len(again) == 13 and all(m.receive_count == 2 for m in again)

    assert queue.delete(again + received[13:]) == []
    assert queue.depth().visible == queue.depth().in_flight == 0


def test_an_entry_the_queue_refuses_comes_back_as_a_failure_with_its_id(emulator):
    queue = queue_of(emulator)
    received = receive_all(queue)
    assert received == []
    queue.send({"a": "one"})
    [message] = receive_all(queue)
    forged = type(message)(message_id="x", body="", receipt_handle="not-a-receipt-handle")
    failures = queue.delete([message, forged])
    assert [f.id for f in failures] == ["1"], "ids are positions in the list given"
    assert failures[0].code


def test_a_queue_that_does_not_exist_is_a_terminal_error_decided_by_its_code(emulator):
    url = emulator.settings.queue_url.rsplit("/", 1)[0] + "/no-such-queue"
    queue = SqsQueue(boto.client(emulator.settings, "sqs"), url)
    with pytest.raises(MissingQueueError) as raised:
        queue.receive()
    assert isinstance(raised.value, TerminalError)


def test_an_unreachable_queue_is_a_transient_error(emulator):
    settings = emulator.settings
    client = boto.client(settings, "sqs", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(QueueError) as raised:
        SqsQueue(client, settings.queue_url).depth()
    assert not isinstance(raised.value, TerminalError)
