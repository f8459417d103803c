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


def test_an_embedded_endpoint_from_botocores_own_variable_gets_the_placeholders_too(
    monkeypatch,
):
    """AWS_ENDPOINT_URL_<SERVICE> on loopback is the embedded endpoint as much as a setting
    is: placeholders, so the process-wide session never resolves (and keeps) credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-the-environment")
    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", "http://127.0.0.1:5000")
    data_api = boto.client(Settings(), "redshift-data")._request_signer._credentials
    assert data_api.access_key == "embedded"
    sqs = boto.client(Settings(), "sqs")._request_signer._credentials  # no variable for SQS
    assert sqs.access_key == "from-the-environment"
