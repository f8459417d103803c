"""The bench's opt-in moto speed-ups answer exactly as moto's own code does.

Not collected on its own (the name does not start with test_): `speed_up_moto` patches
moto for the whole process, so tests/integration/test_emulator.py runs this file in a
pytest process of its own, and the rest of the suite runs on plain moto.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from pathlib import Path

import moto
import pytest
from moto import backends
from moto.core.utils import unix_time_millis
from moto.sqs.models import SQSBackend, sqs_backends

from pipeline.aws import boto
from pipeline.offline.emulator import SOURCE_RETENTION_S, moto_is_patched, speed_up_moto


@pytest.fixture(autouse=True)
def _sped_up() -> None:
    speed_up_moto()
    assert moto_is_patched()


def _backend_queue(emulator):
    sqs = boto.client(emulator.settings, "sqs")
    account = sqs.get_queue_attributes(
        QueueUrl=emulator.settings.queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"].split(":")[4]
    backend = sqs_backends[account][emulator.settings.region]
    return sqs, backend, backend.get_queue(emulator.settings.queue_url.rsplit("/", 1)[1])


def test_the_retention_check_is_the_constant_time_one(emulator):
    source = inspect.getsource(SQSBackend.is_message_valid_based_on_retention_period)
    assert "get_queue_attributes" not in source
    assert "message_retention_period" in source


def test_a_message_past_the_queues_retention_is_not_delivered(emulator):
    sqs, backend, queue = _backend_queue(emulator)
    sqs.send_message(QueueUrl=emulator.settings.queue_url, MessageBody="old")
    sqs.send_message(QueueUrl=emulator.settings.queue_url, MessageBody="new")
    old, new = queue._messages
    old.sent_timestamp = int(unix_time_millis()) - (SOURCE_RETENTION_S + 5) * 1000

    got = sqs.receive_message(QueueUrl=emulator.settings.queue_url, MaxNumberOfMessages=10)

    # moto stops at the first expired message, as before the patch: nothing from a
    # queue whose head has expired, and the fresh one stays queued.
    assert [m["Body"] for m in got.get("Messages", [])] == []
    assert backend.is_message_valid_based_on_retention_period(queue.name, new)
    assert not backend.is_message_valid_based_on_retention_period(queue.name, old)


@pytest.mark.parametrize(("age_s", "valid"), [(0, True), (SOURCE_RETENTION_S - 60, True),
                                          (SOURCE_RETENTION_S + 1, False)])
def test_the_retention_check_agrees_with_the_queues_attribute(emulator, age_s, valid):
    sqs, backend, queue = _backend_queue(emulator)
    sqs.send_message(QueueUrl=emulator.settings.queue_url, MessageBody="m")
    (message,) = queue._messages
    message.sent_timestamp = int(unix_time_millis()) - age_s * 1000
    retention = int(sqs.get_queue_attributes(
        QueueUrl=emulator.settings.queue_url, AttributeNames=["MessageRetentionPeriod"]
    )["Attributes"]["MessageRetentionPeriod"])

    assert retention == SOURCE_RETENTION_S
    assert backend.is_message_valid_based_on_retention_period(queue.name, message) is valid


def test_request_routing_lists_moto_modules_once_and_the_same(emulator):
    package = Path(moto.__file__).parent
    on_disk = sorted(p.name for p in package.iterdir()
                     if p.is_dir() and not p.name.startswith("__"))
    listed = backends.list_of_moto_modules()
    assert list(listed) == on_disk
    assert backends.list_of_moto_modules() is listed  # cached, not read from disk again
    boto.client(emulator.settings, "s3").list_objects_v2(Bucket=emulator.settings.bucket)


def test_response_request_ids_are_stamped_in_xml_and_other_bodies_pass_untouched(emulator):
    from moto.core.responses import BaseResponse

    assert getattr(BaseResponse._enrich_response, "sped_up", False)
    headers, xml = BaseResponse._enrich_response(
        {"status": 200}, "<R><RequestId>placeholder</RequestId></R>")
    assert headers["status"] == "200"
    assert "placeholder" not in xml and xml.startswith("<R><RequestId>")
    assert headers["x-amzn-requestid"] in xml
    body = '{"Messages": [{"Body": "a JSON body has no RequestId element"}]}'
    headers, same = BaseResponse._enrich_response({}, body)
    assert same is body and len(headers["x-amzn-requestid"]) == 52
    assert BaseResponse._enrich_response({}, b"<RequestId>x</RequestId>")[1] == (
        b"<RequestId>x</RequestId>")  # moto's regex never applied to bytes either


def test_moto_sqs_reads_the_same_clock_without_datetime_arithmetic(emulator):
    from moto.core import utils
    from moto.sqs import models

    assert models.unix_time is not utils.unix_time
    assert abs(models.unix_time() - utils.unix_time()) < 0.05
    assert abs(models.unix_time_millis() - utils.unix_time_millis()) < 50
    moment = datetime(2026, 1, 2, 3, 4, 5, 600000)
    assert models.unix_time(moment) == utils.unix_time(moment)
