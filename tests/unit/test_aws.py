"""Client construction: the embedded endpoints work without any AWS credentials."""

import pytest

from pipeline.aws import boto
from pipeline.aws.settings import Settings

pytestmark = pytest.mark.unit


def test_a_loopback_endpoint_gets_placeholder_credentials_without_any_in_the_environment(
    monkeypatch,
):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    settings = Settings(aws_endpoint_url="http://127.0.0.1:5000")
    credentials = boto.client(settings, "sqs")._request_signer._credentials
    assert credentials.access_key == "embedded"


def test_a_real_endpoint_never_gets_the_placeholder_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-the-environment")
    credentials = boto.client(Settings(), "sqs")._request_signer._credentials
    assert credentials.access_key == "from-the-environment"
