"""The drain's ReceiveMessage call works on every botocore a Lambda runtime may bundle.

`MessageSystemAttributeNames` exists from botocore 1.34.101 on (the SQS service model of the
1.34.100 wheel has no such member, 1.34.101's has); older releases reject it. The drain
reads the spelling from the client's own service model, so the call is valid on both.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from pipeline.aws.sqs import SYSTEM_ATTRIBUTES, attribute_argument, system_attributes

pytestmark = pytest.mark.unit

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/q"


def _sqs() -> object:
    return boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x")


def test_a_botocore_that_knows_the_new_name_gets_it_and_accepts_the_call() -> None:
    sqs = _sqs()
    arguments = system_attributes(sqs)
    assert arguments == {"MessageSystemAttributeNames": list(SYSTEM_ATTRIBUTES)}
    with Stubber(sqs) as stub:  # the Stubber validates the request against the model
        stub.add_response("receive_message", {"Messages": []},
                          {"QueueUrl": QUEUE_URL, **arguments})
        sqs.receive_message(QueueUrl=QUEUE_URL, **arguments)  # type: ignore[attr-defined]


def test_a_botocore_without_the_new_name_gets_the_legacy_one_which_every_release_accepts(
) -> None:
    sqs = _sqs()
    members = dict(sqs.meta.service_model.operation_model(  # type: ignore[attr-defined]
        "ReceiveMessage").input_shape.members)
    older = {name: shape for name, shape in members.items()
             if name != "MessageSystemAttributeNames"}  # what botocore < 1.34.101 lists
    arguments = attribute_argument(older, SYSTEM_ATTRIBUTES)
    assert arguments == {"AttributeNames": list(SYSTEM_ATTRIBUTES)}
    assert "AttributeNames" in older
    with Stubber(sqs) as stub:
        stub.add_response("receive_message", {"Messages": []},
                          {"QueueUrl": QUEUE_URL, **arguments})
        sqs.receive_message(QueueUrl=QUEUE_URL, **arguments)  # type: ignore[attr-defined]
