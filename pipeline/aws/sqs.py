"""The queue port over SQS (or the emulator's SQS): send, receive, delete, release, depth.

The one place that speaks SQS's request and response shapes and its errors:
callers get `QueueMessage` / `EntryFailure` values and the project's error
classes, decided from SQS's error codes (never from message text). The batch
calls take at most ten entries (`SQS_MAX_BATCH_ENTRIES`); `delete` and `release`
take any number and chunk them here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.core.errors import MissingQueueError, QueueError
from pipeline.core.limits import SQS_MAX_BATCH_ENTRIES
from pipeline.core.messages import EntryFailure, QueueDepth, QueueMessage

# The codes SQS (and the emulator) answer for a queue URL that names no queue.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html
_MISSING_QUEUE_CODES = frozenset({
    "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
})


@dataclass
class SqsQueue:
    """One queue. A call that fails as a whole raises `QueueError` (transient) or
    `MissingQueueError` (terminal); entries a batch call did not carry out come back
    as `EntryFailure`s for the caller to decide on."""

    client: Any
    url: str

    def send(self, bodies: Mapping[str, str]) -> list[EntryFailure]:
        """One SendMessageBatch of `{entry id: body}` (at most ten); the entries not sent."""
        response = self._call("send to", self.client.send_message_batch, Entries=[
            {"Id": key, "MessageBody": body} for key, body in bodies.items()])
        return _failures(response)

    def receive(self, *, max_messages: int = SQS_MAX_BATCH_ENTRIES, wait_s: int = 0,
                visibility_timeout_s: int | None = None) -> list[QueueMessage]:
        """Up to `max_messages` (at most ten), long-polling up to `wait_s` seconds."""
        kwargs: dict[str, Any] = {
            "MaxNumberOfMessages": max_messages, "WaitTimeSeconds": wait_s,
            **system_attributes(self.client), "MessageAttributeNames": ["All"],
        }
        if visibility_timeout_s is not None:
            kwargs["VisibilityTimeout"] = visibility_timeout_s
        response = self._call("receive from", self.client.receive_message, **kwargs)
        return [
            QueueMessage(
                message_id=m["MessageId"], body=m["Body"], receipt_handle=m["ReceiptHandle"],
                attributes=m.get("Attributes", {}),
                message_attributes=m.get("MessageAttributes", {}),
                md5_of_body=m.get("MD5OfBody", ""),
            )
            for m in response.get("Messages", [])
        ]

    def delete(self, messages: Sequence[QueueMessage]) -> list[EntryFailure]:
        """Delete every message (in batches of ten); the entries not deleted, ids as positions."""
        return self._batched("delete from", self.client.delete_message_batch, messages,
                             lambda m: {"ReceiptHandle": m.receipt_handle})

    def release(self, messages: Sequence[QueueMessage],
                visibility_timeout_s: int = 0) -> list[EntryFailure]:
        """Make received messages visible again after `visibility_timeout_s` (0: at once).

        Not free: SQS counts every receive toward the redrive policy's maxReceiveCount,
        so each release brings a message one receive closer to the DLQ.
        """
        return self._batched(
            "release to", self.client.change_message_visibility_batch, messages,
            lambda m: {"ReceiptHandle": m.receipt_handle,
                       "VisibilityTimeout": visibility_timeout_s})

    def depth(self) -> QueueDepth:
        """Messages waiting (visible) and received but not yet deleted (in flight)."""
        attrs = self.attribute("ApproximateNumberOfMessages",
                               "ApproximateNumberOfMessagesNotVisible")
        return QueueDepth(visible=int(attrs["ApproximateNumberOfMessages"]),
                          in_flight=int(attrs["ApproximateNumberOfMessagesNotVisible"]))

    def attribute(self, *names: str) -> dict[str, str]:
        """The queue's attributes `names` (QueueArn, ApproximateNumberOfMessages, ...)."""
        response = self._call("read the attributes of", self.client.get_queue_attributes,
                              AttributeNames=list(names))
        return dict(response["Attributes"])

    def _batched(
        self, what: str, call: Callable[..., dict[str, Any]], messages: Sequence[QueueMessage],
        entry: Callable[[QueueMessage], dict[str, Any]],
    ) -> list[EntryFailure]:
        """The one chunked loop of the batch calls: ids are positions in `messages`."""
        failed: list[EntryFailure] = []
        for start in range(0, len(messages), SQS_MAX_BATCH_ENTRIES):
            chunk = messages[start:start + SQS_MAX_BATCH_ENTRIES]
            response = self._call(what, call, Entries=[
                {"Id": str(start + i), **entry(m)} for i, m in enumerate(chunk)])
            failed += _failures(response)
        return failed

    def _call(self, what: str, call: Callable[..., dict[str, Any]],
              **kwargs: Any) -> dict[str, Any]:
        try:
            return call(QueueUrl=self.url, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            cls = MissingQueueError if code in _MISSING_QUEUE_CODES else QueueError
            raise cls(f"cannot {what} {self.url}: {exc}") from exc
        except BotoCoreError as exc:
            raise QueueError(f"cannot {what} {self.url}: {exc}") from exc


def _failures(response: Mapping[str, Any]) -> list[EntryFailure]:
    return [
        EntryFailure(id=f["Id"], code=f.get("Code", ""), message=f.get("Message", ""),
                     sender_fault=bool(f.get("SenderFault")))
        for f in response.get("Failed", [])
    ]



# The system attributes a receive asks for (the receive count, the sent time, ...).
SYSTEM_ATTRIBUTES = ("All",)


def system_attributes(client: Any) -> dict[str, list[str]]:
    """ReceiveMessage's argument naming `SYSTEM_ATTRIBUTES`, in the spelling this botocore knows.

    `MessageSystemAttributeNames` exists only from botocore 1.34.101 (checked in the SQS
    service model of the 1.34.100 and 1.34.101 wheels on PyPI); older releases, which a
    Lambda runtime may bundle, reject it and every drain would fail. `AttributeNames`
    (deprecated, same meaning) is what those accept. The choice is read from the client's
    own service model.
    """
    model = getattr(getattr(client, "meta", None), "service_model", None)
    members = (model.operation_model("ReceiveMessage").input_shape.members
               if model is not None else {"MessageSystemAttributeNames": None})
    return attribute_argument(members, SYSTEM_ATTRIBUTES)


def attribute_argument(members: Any, names: tuple[str, ...]) -> dict[str, list[str]]:
    """`{"MessageSystemAttributeNames": [...]}` where the model has it, else `AttributeNames`."""
    key = ("MessageSystemAttributeNames" if "MessageSystemAttributeNames" in members
           else "AttributeNames")
    return {key: list(names)}
