"""The loader's object-store port over S3 (or the emulator's S3): put, get, move, list."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.core.errors import TransientError


@dataclass
class ObjectStore:
    """One bucket. Errors surface as TransientError: the message is retried, nothing is lost."""

    client: Any
    bucket: str

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"cannot write s3://{self.bucket}/{key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc

    def move(self, source: str, target: str) -> None:
        """Copy then delete: S3 has no rename. A crash between leaves both; rerunning is safe.

        A source already gone whose target exists was moved by another loader of
        the same batch (SQS delivered the message twice): done, not an error.
        """
        try:
            self.client.copy_object(
                Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source}
            )
        except ClientError as exc:
            if _not_found(exc) and self.exists(target):
                return
            raise TransientError(f"cannot move s3://{self.bucket}/{source}: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"cannot move s3://{self.bucket}/{source}: {exc}") from exc
        try:
            self.client.delete_object(Bucket=self.bucket, Key=source)
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"cannot move s3://{self.bucket}/{source}: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _not_found(exc):
                return False
            raise TransientError(f"cannot check s3://{self.bucket}/{key}: {exc}") from exc
        return True

    def list(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under `prefix` (Key, Size, LastModified), page by page."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])


def _not_found(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")
