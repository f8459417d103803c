"""boto3 clients built from the settings: one place decides the endpoint (emulator or AWS)."""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config

from pipeline.aws.settings import RuntimeSettings

# Adaptive retries absorb throttling from SQS/S3; a pooled connection per client keeps
# the per-object round trips cheap when a warm Lambda or the local runtime reuses it.
_CONFIG = Config(retries={"max_attempts": 5, "mode": "adaptive"}, max_pool_connections=20)


_LOOPBACK = ("http://127.", "http://localhost", "http://[::1]")
# The embedded endpoints sign nothing, but botocore insists on credentials: never real ones.
_EMBEDDED_CREDENTIALS = {"aws_access_key_id": "embedded", "aws_secret_access_key": "embedded"}


def embedded_credentials(endpoint_url: str | None) -> dict[str, str]:
    """Placeholder credentials for an embedded endpoint on loopback; none (the chain) for AWS.

    Passed to each client, never planted in the process environment.
    """
    if endpoint_url and endpoint_url.startswith(_LOOPBACK):
        return dict(_EMBEDDED_CREDENTIALS)
    return {}


# One boto3 session for the process, as `boto3.client()` has: its loader parses each service
# model once (a fresh session per client re-read S3's and SQS's JSON models, ~0.15 s of CPU
# per client). A session is not thread-safe, so clients are created under a lock; the clients
# themselves are.
_SESSION_LOCK = threading.Lock()
_session: Any = None  # Any: the stubs overload client() per service name


def session() -> Any:
    """The process's one boto3 session, created on first use; every client comes from it.

    Handlers registered on its `events` see each call those clients make: the deploy checks
    (tests/cdk/test_call_grants.py) record every AWS call of a rehearsed Lambda that way.
    """
    global _session
    import boto3

    with _SESSION_LOCK:
        if _session is None:
            _session = boto3.session.Session()
        return _session


def client(settings: RuntimeSettings, service: str, endpoint_url: str | None = None,
           config: Config | None = None) -> Any:
    """A boto3 client for `service`, pointed at the emulator when the settings name one."""
    url = endpoint_url or settings.aws_endpoint_url
    # botocore's own per-service endpoint variable (AWS_ENDPOINT_URL_REDSHIFT_DATA, ...) can
    # point a client at an embedded endpoint too: it gets the placeholders as well, so the
    # process-wide session never resolves (and caches) credentials for a loopback endpoint.
    configured = url or _configured_endpoint(service)
    shared = session()
    with _SESSION_LOCK:
        return shared.client(service, region_name=settings.region, endpoint_url=url,
                             config=config or _CONFIG, **embedded_credentials(configured))


def _configured_endpoint(service: str) -> str | None:
    """The endpoint botocore will take from the environment for `service`, if any."""
    import os

    variable = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
    return os.environ.get(variable) or os.environ.get("AWS_ENDPOINT_URL")
