"""The embedded AWS: plain moto by default, durable queues, and the bench's opt-in speed-ups.

These run the real server over HTTP. The speed-ups patch moto for a whole process, so
their equivalence checks (moto_speedups_checks.py) run in a pytest process of their own.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import moto
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from pipeline.aws import boto
from pipeline.core.errors import ConfigError
from pipeline.offline import emulator as emulator_module
from pipeline.offline.emulator import (
    SPEED_UPS_WRITTEN_FOR,
    SignedRoutes,
    moto_is_patched,
    queue_state_dir,
    speed_up_moto,
    start_emulator,
)
from pipeline.offline.journal import JOURNAL_FILE, STATE_FILE, QueueFileError, QueueFiles

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent


def test_the_embedded_aws_runs_on_unpatched_moto(emulator):
    from moto.core import utils
    from moto.sqs import models

    assert not moto_is_patched()
    assert models.unix_time is utils.unix_time
    boto.client(emulator.settings, "s3").list_objects_v2(Bucket=emulator.settings.bucket)


def test_the_speed_ups_refuse_a_moto_release_they_were_not_written_for(monkeypatch):
    monkeypatch.setattr(moto, "__version__", "5.9.0")
    with pytest.raises(ConfigError, match=r"written for moto .* and moto 5\.9\.0 is installed"):
        speed_up_moto()
    assert not moto_is_patched()


@pytest.mark.skipif(moto.__version__ not in SPEED_UPS_WRITTEN_FOR,
                    reason=f"the speed-ups are written for moto {SPEED_UPS_WRITTEN_FOR}, "
                           f"not {moto.__version__}: `bench --fast-moto` refuses it")
def test_the_opt_in_speed_ups_answer_as_moto_does_in_a_process_of_their_own():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(HERE / "moto_speedups_checks.py")],
        capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    assert not moto_is_patched()  # this process never was


def test_a_message_is_invisible_for_its_visibility_timeout_then_visible_again(emulator):
    sqs = boto.client(emulator.settings, "sqs")
    url = emulator.settings.queue_url
    sqs.send_message(QueueUrl=url, MessageBody="m")
    assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"]) == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # in flight
    time.sleep(1.2)
    assert len(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]) == 1


def test_one_client_reuses_one_connection_for_every_s3_and_sqs_call(emulator, caplog):
    """werkzeug closes every connection; the emulator keeps them alive (a new TCP connection
    per call cost the loaders and the publisher 5% of their CPU). Bodies over 1 MB go with
    `Expect: 100-continue`, which the kept-alive path answers before reading the body."""
    settings = emulator.settings
    s3, sqs = boto.client(settings, "s3"), boto.client(settings, "sqs")
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    big = b"x" * 1_500_000
    s3.put_object(Bucket=settings.bucket, Key="a/small", Body=b"small")
    s3.put_object(Bucket=settings.bucket, Key="a/big", Body=big)
    assert s3.get_object(Bucket=settings.bucket, Key="a/big")["Body"].read() == big
    s3.head_object(Bucket=settings.bucket, Key="a/small")
    s3.copy_object(Bucket=settings.bucket, Key="b/small",
                   CopySource={"Bucket": settings.bucket, "Key": "a/small"})
    s3.delete_object(Bucket=settings.bucket, Key="a/small")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=settings.bucket)["Contents"]] == [
        "a/big", "b/small"]
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=settings.queue_url, MessageBody=body)
    got = sqs.receive_message(QueueUrl=settings.queue_url, MaxNumberOfMessages=10)
    assert sorted(m["Body"] for m in got["Messages"]) == ["one", "two"]
    opened = [r.getMessage() for r in caplog.records
              if "new HTTP connection" in r.getMessage() or "dropped connection" in r.getMessage()]
    assert len(opened) == 2, opened  # one per client, none dropped


def _environ(path: str, *, service: str | None = None, region: str = "us-east-1",
             host: str = "127.0.0.1:4566", **headers: str) -> dict[str, Any]:
    environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
                               "HTTP_HOST": host, "CONTENT_LENGTH": "0", "CONTENT_TYPE": "",
                               "wsgi.input": io.BytesIO(b"")}
    if service:
        environ["HTTP_AUTHORIZATION"] = (
            f"AWS4-HMAC-SHA256 Credential=embedded/20261203/{region}/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0f")
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return environ


def test_signed_requests_reach_the_backend_motos_dispatcher_picks_asking_it_once_per_scope():
    """moto's dispatcher lists its package directory and tries every backend's URL pattern
    on each request (~3 ms); the emulator asks it once per SigV4 (service, region) and
    leaves every request moto routes by path or host to it."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class Counting(DomainDispatcherApplication):
        asked = 0

        def get_application(self, environ: dict[str, Any]) -> Any:
            Counting.asked += 1
            return super().get_application(environ)

    dispatcher = Counting(create_backend_app)
    routes = SignedRoutes(dispatcher)
    cases = [
        _environ("/bucket/key", service="s3"),
        _environ("/bucket/key", service="s3", x_amz_copy_source="bucket/other"),
        _environ("/", service="sqs", x_amz_target="AmazonSQS.SendMessageBatch"),
        _environ("/bucket/key", service="s3", region="eu-west-1"),
        _environ("/v20180820/accesspoint/a", service="s3"),  # S3 Control, routed by path
        _environ("/v20180820/jobs", service="s3", host="1.s3-control.us-east-1.amazonaws.com"),
        _environ("/moto-api/reset"),  # unsigned, routed by path
        _environ("/", service="sts"),  # a service the emulator's clients never call
    ]
    chosen = [routes.application(environ) for environ in cases]
    for _ in range(10):
        assert routes.application(_environ("/bucket/k2", service="s3")) is chosen[0]
        assert routes.application(_environ("/", service="sqs")) is chosen[2]
    # s3 and sqs in us-east-1, s3 in eu-west-1: three scopes remembered; the other four
    # requests went to moto's dispatcher every time.
    assert Counting.asked == 3 + 4
    assert chosen == [dispatcher.get_application(environ) for environ in cases]
    backend = {id(app): name for name, app in dispatcher.app_instances.items()}
    assert [backend[id(app)] for app in chosen] == [
        "s3", "s3", "sqs", "s3", "s3control", "s3control", "moto_api", "sts"]


def test_a_stopped_emulator_answers_no_kept_alive_connection(settings):
    """A stop (or what a kill leaves) ends the kept-alive connections too: a client that
    called before gets a connection error, never an answer from the stopped server."""
    em = start_emulator(settings)
    s3 = boto.client(em.settings, "s3", config=Config(retries={"max_attempts": 1}))
    s3.put_object(Bucket=em.settings.bucket, Key="k", Body=b"v")
    em.stop()
    with pytest.raises((EndpointConnectionError, ConnectionClosedError)):
        s3.get_object(Bucket=em.settings.bucket, Key="k")


def test_a_chunked_request_body_is_read_whole_and_its_connection_closed(emulator):
    """A body of unknown length cannot be drained ahead: werkzeug's close stays for it."""
    host, port = emulator.endpoint_url.removeprefix("http://").split(":")
    bucket = emulator.settings.bucket
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("PUT", f"/{bucket}/chunked", body=iter([b"abc", b"def"]), encode_chunked=True)
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    assert response.getheader("Connection") == "close"
    conn.close()
    s3 = boto.client(emulator.settings, "s3")
    assert s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == b"abcdef"


def _bodies(settings, url):
    return sorted(emulator_module.peek_bodies(settings, url))


def test_every_acknowledged_send_is_journaled_before_the_sender_hears_back(settings):
    with start_emulator(settings) as em:
        sqs = boto.client(em.settings, "sqs")
        sqs.send_message(QueueUrl=em.settings.queue_url, MessageBody="one")
        sqs.send_message_batch(QueueUrl=em.settings.queue_url, Entries=[
            {"Id": "a", "MessageBody": "two"}, {"Id": "b", "MessageBody": "three"}])
        sqs.send_message(QueueUrl=em.settings.dlq_url, MessageBody="not the source queue")
        journal = queue_state_dir(settings) / JOURNAL_FILE
        lines = [json.loads(line)["body"] for line in journal.read_text().splitlines()]
        assert lines == ["one", "two", "three"]


def test_a_killed_emulators_messages_are_back_in_the_queue_on_the_next_start(settings):
    em = start_emulator(settings)
    sqs = boto.client(em.settings, "sqs")
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=em.settings.queue_url, MessageBody=body)
    got = sqs.receive_message(QueueUrl=em.settings.queue_url, MaxNumberOfMessages=1)
    sqs.delete_message(QueueUrl=em.settings.queue_url,
                       ReceiptHandle=got["Messages"][0]["ReceiptHandle"])
    em.server.stop()  # what a kill leaves: no clean stop, only the journal on disk

    with start_emulator(settings) as again:
        # at least once: a deleted message may come back (the ledger makes its load a
        # no-op); an acknowledged one never goes missing
        assert _bodies(again.settings, again.settings.queue_url) == ["a", "b", "c"]
        assert again.recovered.from_journal


def test_a_published_index_cut_by_a_power_loss_comes_back_from_the_journal(settings):
    """Only the journal is fsynced per accepted batch; the published index's tail can be
    lost to a power loss, mid-line too. The next start restores it from the journal."""
    bodies = [json.dumps({"batch_id": f"b{i}", "part": 1, "rows": [{}] * (i + 1)})
              for i in range(3)]
    em = start_emulator(settings)
    boto.client(em.settings, "sqs").send_message_batch(
        QueueUrl=em.settings.queue_url,
        Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])
    em.server.stop()  # a kill: no clean stop
    files = QueueFiles(queue_state_dir(settings))
    assert files.published_parts() == {("b0", 1): 1, ("b1", 1): 2, ("b2", 1): 3}
    first, second, _ = files.published.read_bytes().split(b"\n", 2)
    files.published.write_bytes(first + b"\n" + second[:12])  # what the power loss left
    with pytest.raises(QueueFileError):
        files.published_parts()

    with start_emulator(settings) as again:
        assert again.recovered.source_bodies == tuple(bodies)
        assert files.published_parts() == {("b0", 1): 1, ("b1", 1): 2, ("b2", 1): 3}


def test_a_clean_stop_keeps_the_dlq_and_clears_a_drained_queues_journal(settings):
    with start_emulator(settings) as em:
        sqs = boto.client(em.settings, "sqs")
        sqs.send_message(QueueUrl=em.settings.dlq_url, MessageBody="poison")
        sqs.send_message(QueueUrl=em.settings.queue_url, MessageBody="done")
        got = sqs.receive_message(QueueUrl=em.settings.queue_url)
        sqs.delete_message(QueueUrl=em.settings.queue_url,
                           ReceiptHandle=got["Messages"][0]["ReceiptHandle"])
    directory = queue_state_dir(settings)
    assert not (directory / JOURNAL_FILE).exists()
    assert json.loads((directory / STATE_FILE).read_text())["dlq"] == ["poison"]

    with start_emulator(settings) as again:
        assert _bodies(again.settings, again.settings.dlq_url) == ["poison"]
        assert _bodies(again.settings, again.settings.queue_url) == []
        assert not again.recovered.from_journal
