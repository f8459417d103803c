"""Security: validated identifiers, no data in SQL, COPY by IAM role, no secrets, structured logs.

No sockets: AWS clients are real boto3 clients answered by botocore's Stubber
at the network boundary, so request shapes are validated against the service
models while nothing leaves the process.
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlglot
from botocore import UNSIGNED
from botocore.config import Config
from botocore.stub import Stubber
from sqlglot import exp

from pipeline.app import logs
from pipeline.app.loader import load_batch, prepare
from pipeline.app.publisher import publish_tick
from pipeline.aws import dataapi, sql
from pipeline.aws.s3 import ObjectStore
from pipeline.aws.settings import ENV_SCHEMA, REPO_ROOT, Settings
from pipeline.aws.sqs import SqsQueue
from pipeline.core import envelope
from pipeline.core.errors import ConfigError

pytestmark = pytest.mark.unit

ROLE = "arn:aws:iam::123456789012:role/redshift-copy"
ROWS_URL = "s3://telegram-staging/incoming/2026/11/25/b-p1-0123456789abcdef.rows.manifest"
PARTS_URL = "s3://telegram-staging/incoming/2026/11/25/b-p1-0123456789abcdef.parts.manifest"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/telegram-messages"
COPY_OPTIONS = ["auto", "auto"]  # FORMAT AS JSON 'auto' ... TIMEFORMAT 'auto'
_LOCK = re.compile(r"LOCK [a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*")


# --------------------------------------------------------------------------- identifiers

BAD_NAMES = ["x; drop", "scraped; DROP SCHEMA scraped CASCADE", "scraped.other", '"scraped"',
             "Scraped", "1scraped", "", "a b", "a-b", "scraped--", "sch\u00e9ma", "x" * 128,
             "scraped\n", "s'q"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_schema_that_is_not_a_plain_identifier_is_refused_naming_the_variable(name):
    with pytest.raises(ConfigError, match=ENV_SCHEMA):
        Settings(schema=name)


def test_a_schema_from_the_environment_is_validated_the_same_way():
    with pytest.raises(ConfigError, match=ENV_SCHEMA):
        Settings.from_env({ENV_SCHEMA: "scraped; DROP TABLE scraped.load_ledger"})
    assert Settings.from_env({ENV_SCHEMA: "scraped_2"}).schema == "scraped_2"


@pytest.mark.parametrize(("schema", "table"), [
    ("scraped", "telegram_messages; DROP TABLE x"), ("x; drop", "t"), ('"s"', "t"),
    ("s", "T"), ("s", ""), ("s", "t.u"), ("s", "t --"), ("scraped", "telegram_messages\n"),
])
def test_qualified_refuses_names_that_are_not_identifiers(schema, table):
    with pytest.raises(ConfigError):
        sql.qualified(schema, table)


# --------------------------------------------------------------------------- SQL text


def every_statement(schema: str = "scraped") -> list[str]:
    """Every statement the renderer produces, plus the Data API client's diagnostics."""
    return [
        *sql.render_ddl(schema),
        *sql.render_load(schema, ROWS_URL, PARTS_URL, ROLE),
        sql.render_ledger_lookup(schema),
        *(query.format(limit=10) for query in dataapi.LOAD_ERROR_QUERIES),
    ]


def string_literals(statement: str) -> list[str]:
    tree = sqlglot.parse_one(statement, read="redshift")
    return [node.this for node in tree.find_all(exp.Literal) if node.is_string]


@pytest.mark.parametrize("statement", every_statement(), ids=lambda s: s.split("(")[0][:40])
def test_every_statement_parses_as_redshift_sql(statement):
    if statement.startswith("LOCK "):  # sqlglot has no LOCK; it must be exactly LOCK schema.table
        assert _LOCK.fullmatch(statement)
        return
    trees = sqlglot.parse(statement, read="redshift")  # raises ParseError on bad SQL
    assert len(trees) == 1 and not isinstance(trees[0], exp.Command), "parsed, not passed through"


def test_only_copy_carries_string_literals_and_only_its_manifest_and_role():
    for statement in every_statement():
        if statement.startswith("LOCK "):
            continue
        literals = string_literals(statement)
        if statement.startswith("COPY "):
            assert sorted(literals) == sorted([statement_url(statement), ROLE, *COPY_OPTIONS])
        else:
            assert literals == [], statement


def statement_url(statement: str) -> str:
    return ROWS_URL if ROWS_URL in statement else PARTS_URL


def test_copy_authenticates_with_an_iam_role_never_keys():
    copies = [s for s in every_statement() if s.startswith("COPY ")]
    assert len(copies) == 2
    for statement in copies:
        assert f"IAM_ROLE '{ROLE}'" in statement
        for word in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN", "CREDENTIALS",
                     "PASSWORD", "MASTER_SYMMETRIC_KEY"):
            assert word not in statement.upper()
    source = "\n".join(p.read_text() for p in (REPO_ROOT / "pipeline").rglob("*.py"))
    assert not re.search(r"(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|CREDENTIALS)\s+'",
                         source), "a COPY with key-based credentials somewhere in pipeline/"


@pytest.mark.parametrize(("url", "role"), [
    ("s3://telegram-staging/k.manifest' CREDENTIALS 'aws_access_key_id=A", ROLE),
    ("s3://telegram-staging/k.manifest'; DROP TABLE scraped.load_ledger; --", ROLE),
    (ROWS_URL, ROLE + "' ACCESS_KEY_ID 'A"),
    (ROWS_URL, "arn:aws:iam::123456789012:user/someone"),
    (ROWS_URL + "\n", ROLE),
    (ROWS_URL, ROLE + "\n"),
])
def test_copy_refuses_a_manifest_url_or_role_that_is_not_exactly_one(url, role):
    with pytest.raises(ValueError, match="refusing to render"):
        sql.render_copy("stage_messages", sql.MESSAGE_COLUMNS, url, role)


# --------------------------------------------------------------------------- a load's SQL

SENTINELS = ("'; DROP TABLE scraped.telegram_messages; --", "Robert'); DELETE FROM x; --",
             "$$sentinel$$", "sentinel-7f3a")


def stubbed(service: str) -> tuple[Any, Stubber]:
    """A real client whose calls the Stubber answers: unsigned, so no credentials at all."""
    client = boto3.session.Session().client(
        service, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    return client, Stubber(client)


def sent_sql(client: Any) -> list[str]:
    """Collects every SQL text the client is asked to send."""
    seen: list[str] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        seen.extend(params.get("Sqls", [])) if "Sqls" in params else seen.append(params["Sql"])

    client.meta.events.register("provide-client-params.redshift-data.BatchExecuteStatement",
                                capture)
    client.meta.events.register("provide-client-params.redshift-data.ExecuteStatement", capture)
    return seen


def a_row(number: int, text: str) -> dict[str, Any]:
    return {"message_id": 987_654_321_000 + number, "message_timestamp": "2024-03-01T12:34:56Z",
            "message_content": text, "reply_message_id": None, "trader_id": 424_242_424_242,
            "chat_link": -1_001_234_567_890, "processing_time": "2024-03-01T12:35:01Z"}


def stubbed_load(parts: list[envelope.Envelope]) -> list[str]:
    """Run the real loader against stubbed S3 and Data API clients; the SQL it sent."""
    s3, s3_stub = stubbed("s3")
    for _ in range(5 if prepare(parts).rejected else 4):  # [rejected,] rows, parts, manifests
        s3_stub.add_response("put_object", {})
    for _ in range(4):
        s3_stub.add_response("copy_object", {})
        s3_stub.add_response("delete_object", {})
    data_api, api_stub = stubbed("redshift-data")
    statement_id = "7a1e1c1e-1111-4222-8333-444455556666"
    api_stub.add_response("batch_execute_statement", {"Id": statement_id})
    api_stub.add_response("describe_statement", {"Id": statement_id, "Status": "FINISHED",
                                                 "HasResultSet": False})
    seen = sent_sql(data_api)
    warehouse = dataapi.build(Settings(copy_role_arn=ROLE), client=data_api)
    with s3_stub, api_stub:
        load_batch(parts, ObjectStore(s3, "telegram-staging"), warehouse, datetime.now(UTC))
        s3_stub.assert_no_pending_responses()
        api_stub.assert_no_pending_responses()
    return seen


def test_no_data_value_ever_reaches_the_sql_text():
    rows: list[Any] = [a_row(i, text) for i, text in enumerate(SENTINELS)]
    rows.append(a_row(9, "sentinel-bad\x00"))  # rejected, and still not in SQL
    rows.append("sentinel-not-a-row")
    part = envelope.Envelope("0b6f2a52-8d0c-4c4e-9d1e-0f7a0f6b9a11", 1, 1,
                             "2026-11-25T00:00:00Z", "sentinel-source", 0, rows)
    statements = stubbed_load([part])
    assert len(statements) == len(sql.render_load("scraped", ROWS_URL, PARTS_URL, ROLE))
    text = "\n".join(statements)
    for value in (*SENTINELS, "sentinel", "987654321", "424242424242", "1001234567890",
                  "2024-03-01", "sentinel-source"):
        assert value not in text, f"{value!r} was interpolated into SQL"
    for statement in statements:
        if not statement.startswith(("LOCK ", "COPY ")):
            assert string_literals(statement) == [], statement


# --------------------------------------------------------------------------- secrets in files

SECRET_PATTERNS = {
    "AWS access key id": re.compile(rb"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    "password assignment": re.compile(rb"password\s*=\s*['\"][^'\"]+", re.IGNORECASE),
    "AWS secret key assignment": re.compile(
        rb"aws_secret_access_key\s*=\s*['\"]?(?P<value>[^'\"\s;,)]*)", re.IGNORECASE),
    "private key": re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
# Values no one could mistake for a key: the Stubber clients in tests/unit/test_dataapi.py
# (`aws_secret_access_key="x"`) and the COPY-with-credentials case the translator refuses
# in tests/unit/test_translate.py (`...;aws_secret_access_key=B'`).
PLACEHOLDERS = re.compile(rb"[A-Za-z]|testing|test|stub|fake|dummy|embedded", re.IGNORECASE)
CHUNK = 8 * 1024 * 1024
OVERLAP = 4096


def _secret(match: re.Match[bytes]) -> bool:
    value = match.groupdict().get("value")
    return value is None or not PLACEHOLDERS.fullmatch(value)


def scan(path: Path) -> Iterator[str]:
    """The names of the secret patterns found in `path`, read in overlapping chunks."""
    with path.open("rb") as handle:
        tail = b""
        while chunk := handle.read(CHUNK):
            window = tail + chunk
            for name, pattern in SECRET_PATTERNS.items():
                if any(_secret(m) for m in pattern.finditer(window)):
                    yield name
            tail = window[-OVERLAP:]


def files_to_scan() -> list[Path]:
    """Tracked files, files about to be tracked, and the derived reports/ and var/."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout, cannot list tracked files: {exc}")
    files = [REPO_ROOT / name for name in listed.decode().split("\0") if name]
    for derived in ("reports", "var"):
        if (REPO_ROOT / derived).is_dir():
            files += [p for p in (REPO_ROOT / derived).rglob("*") if p.is_file()]
    return [f for f in files if f.is_file() and not f.is_symlink()]


def test_the_scan_finds_planted_secrets_and_lets_placeholders_be(tmp_path):
    planted = [  # built by concatenation, so this file itself stays clean
        ("AWS access key id", b"key = " + b"AKIA" + b"IOSFODNN7EXAMPLE"),
        ("password assignment", b'PASSWORD = "' + b'hunter2"'),
        ("AWS secret key assignment", b"aws_secret_access_key" + b' = "wJalrXUtnFEMI/K7MDENG"'),
        ("AWS secret key assignment", b"aws_secret_access_key" + b"=os.environ['K']"),
        ("private key", b"-----BEGIN RSA " + b"PRIVATE KEY-----\nMIIE"),
    ]
    for number, (name, content) in enumerate(planted):
        path = tmp_path / f"planted-{number}"
        path.write_bytes(b"x" * (CHUNK - 3) + content)  # straddles a chunk boundary
        assert list(scan(path)) == [name]
    placeholder = tmp_path / "placeholder"
    key = b"aws_secret_access_key"
    placeholder.write_bytes(key + b'="x"\n' + key + b"=B'")
    assert list(scan(placeholder)) == []


def test_no_secrets_in_the_repository_reports_or_var():
    files = files_to_scan()
    assert any(f.name == "pyproject.toml" for f in files)
    found = {str(f.relative_to(REPO_ROOT)): sorted(set(scan(f))) for f in files}
    assert {f: names for f, names in found.items() if names} == {}


# --------------------------------------------------------------------------- logs


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The `pipeline` loggers' JSON output, captured from the handler logs.configure() installs."""
    buffer = io.StringIO()
    logs.configure("INFO")
    handlers = [h for h in logging.getLogger("pipeline").handlers
                if isinstance(h, logging.StreamHandler)]
    assert handlers, "logs.configure() gives the pipeline loggers a handler"
    previous = [h.setStream(buffer) for h in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        if stream is not None:
            handler.setStream(stream)


def test_logs_are_json_lines_carrying_the_batch_id_from_publish_to_load(dataset, log_stream):
    sqs, sqs_stub = stubbed("sqs")
    sqs_stub.add_response("send_message_batch", {"Successful": [
        {"Id": "0", "MessageId": "m-0", "MD5OfMessageBody": "0" * 32}], "Failed": []})
    bodies: list[str] = []
    sqs.meta.events.register(
        "provide-client-params.sqs.SendMessageBatch",
        lambda params, **_: bodies.extend(e["MessageBody"] for e in params["Entries"]))
    settings = Settings(queue_url=QUEUE_URL, sample_min=5, sample_max=5,
                        redshift_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:"
                                            "secret:redshift-admin-AbCdEf")
    with sqs_stub:
        tick = publish_tick(dataset, SqsQueue(sqs, QUEUE_URL), settings, random.Random(3),
                            datetime.now(UTC))
    parts = [envelope.decode(body) for body in bodies]
    stubbed_load(parts)

    lines = [line for line in log_stream.getvalue().split("\n") if line]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"level", "message", "timestamp", "service"} <= r.keys() for r in records)
    published = [r for r in records if r["message"] == "published"]
    loaded = [r for r in records if r["message"] == "loaded"]
    assert len(published) == 1 and len(loaded) == 1
    assert published[0]["batch_id"] == tick.batch_id
    assert loaded[0]["batch_ids"] == [tick.batch_id]
    text = log_stream.getvalue()
    assert settings.redshift_secret_arn not in text
    assert not any({"message_content", "raw"} & r.keys() for r in records)
    assert all(isinstance(r.get("rows", 0), int) for r in records), "counts, not rows"
    for row in (r for p in parts for r in p.rows):
        words = row["message_content"].split()
        assert len(words) < 3 or " ".join(words[:3]) not in text, "message text logged"
