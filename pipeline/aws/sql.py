"""Every statement the pipeline sends to the warehouse, rendered as Redshift SQL.

Redshift SQL is the one source of truth: the same text runs on Redshift through
the Data API and, translated, on the embedded DuckDB warehouse. Identifiers come
from configuration and are validated; data values never enter SQL text: rows
arrive through COPY of a staged object named by a manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.aws.settings import validate_identifier
from pipeline.core.columns import STAGED_COLUMNS

MESSAGES_TABLE = "telegram_messages"
LEDGER_TABLE = "load_ledger"
LATEST_VIEW = "telegram_messages_latest"
STAGE_MESSAGES = "stage_messages"
STAGE_PARTS = "stage_parts"

# Redshift reserves these words (RAW is an ENCODE type): such columns are quoted
# everywhere, and analysts write "raw" / m."raw" too.
RESERVED = frozenset({"raw"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True

    @property
    def sql(self) -> str:
        """The column as it appears in SQL text: quoted when Redshift reserves the word."""
        return f'"{self.name}"' if self.name in RESERVED else self.name


# The seven dataset columns, typed, then the JSON and lineage columns: read from the column
# table (`pipeline.core.columns`), which the reader, the validator and the staged line share.
MESSAGE_COLUMNS: tuple[Column, ...] = tuple(
    Column(c.name, c.redshift_type, nullable=c.nullable) for c in STAGED_COLUMNS
)
LOADED_AT = Column("loaded_at", "TIMESTAMPTZ", nullable=False)
# The load transaction's clock, in UTC with microseconds. SYSDATE is the start of the current
# transaction (microsecond resolution); GETDATE() is the statement's start cut to whole
# seconds, which made sub-second publish->queryable latencies read as 0 or 1 s on Redshift.
# https://docs.aws.amazon.com/redshift/latest/dg/r_SYSDATE.html
# https://docs.aws.amazon.com/redshift/latest/dg/r_GETDATE.html
# Offline, SYSDATE translates to DuckDB's NOW(), also the transaction's start: the two
# warehouses measure latency the same way (it excludes the transaction's own seconds).
LOADED_AT_CLOCK = "SYSDATE"

# One ledger row per loaded (batch_id, part); rejected rows are counted, not loaded.
# published_at (from the envelope) against loaded_at gives publish-to-queryable latency.
PART_COLUMNS: tuple[Column, ...] = (
    Column("batch_id", "VARCHAR(36)", nullable=False),
    Column("part", "INTEGER", nullable=False),
    Column("parts", "INTEGER", nullable=False),
    Column("object_key", "VARCHAR(1024)", nullable=False),
    Column("row_count", "INTEGER", nullable=False),
    Column("rejected_count", "INTEGER", nullable=False),
    Column("published_at", "TIMESTAMPTZ"),
)

# \Z, not $: "$" also matches before a final newline.
_S3_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/[A-Za-z0-9/_.\-=]{1,900}\Z")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_\-/]{1,512}\Z")


def qualified(schema: str, name: str) -> str:
    """`schema.name` after validating both parts as identifiers."""
    return f"{validate_identifier(schema, 'schema')}.{validate_identifier(name, 'table')}"


def _column_defs(columns: tuple[Column, ...]) -> str:
    return ",\n    ".join(
        f"{c.sql} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in columns
    )


def _names(columns: tuple[Column, ...], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{c.sql}" for c in columns)


def render_ddl(schema: str) -> list[str]:
    """Schema, tables and view, each safe to run again (`pipeline warehouse init`).

    Distribution and sort keys serve the analysts' queries: `chat_link` as the
    distribution key keeps every observation of a message on one slice, so the
    dedup view's window (partitioned by chat and message id) needs no
    redistribution; sorting on `message_timestamp` lets time-window queries
    skip blocks. The ledger is tiny and joined on every load, so it is copied to
    every node (DISTSTYLE ALL).
    """
    messages = qualified(schema, MESSAGES_TABLE)
    ledger = qualified(schema, LEDGER_TABLE)
    latest = qualified(schema, LATEST_VIEW)
    all_columns = (*MESSAGE_COLUMNS, LOADED_AT)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {validate_identifier(schema, 'schema')}",
        f"CREATE TABLE IF NOT EXISTS {messages} (\n    {_column_defs(all_columns)}\n)\n"
        "DISTSTYLE KEY DISTKEY (chat_link) COMPOUND SORTKEY (message_timestamp)",
        f"CREATE TABLE IF NOT EXISTS {ledger} (\n    "
        f"{_column_defs((*PART_COLUMNS, LOADED_AT))}\n)\nDISTSTYLE ALL SORTKEY (loaded_at)",
        f"CREATE OR REPLACE VIEW {latest} AS\n"
        f"SELECT {_names(all_columns)}\nFROM (\n"
        f"    SELECT {_names(all_columns, 'm.')},\n"
        "        ROW_NUMBER() OVER (\n"
        "            PARTITION BY m.chat_link, m.message_id\n"
        # NULLS LAST: Redshift sorts NULL as the largest value, so a bare DESC would
        # rank an observation without a processing_time as the newest one.
        # https://docs.aws.amazon.com/redshift/latest/dg/r_ORDER_BY_clause.html
        "            ORDER BY m.processing_time DESC NULLS LAST, m.loaded_at DESC NULLS LAST,"
        " m.batch_id DESC, m.part DESC, m.row_no DESC\n"
        "        ) AS observation_rank\n"
        f"    FROM {messages} AS m\n"
        ") AS ranked\nWHERE observation_rank = 1",
    ]


def _literal(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(value):
        raise ValueError(f"refusing to render {what} {value!r}: not of the form {pattern.pattern}")
    return "'" + value + "'"


def render_copy(table: str, columns: tuple[Column, ...], manifest_url: str, iam_role: str) -> str:
    """COPY one staged NDJSON.gz object, named exactly by its manifest (a COPY path is a prefix)."""
    return (
        f"COPY {table} ({_names(columns)})\n"
        f"FROM {_literal(manifest_url, _S3_URL, 'manifest URL')}\n"
        f"IAM_ROLE {_literal(iam_role, _ROLE_ARN, 'IAM role ARN')}\n"
        "FORMAT AS JSON 'auto' GZIP MANIFEST TIMEFORMAT 'auto'"
    )


def render_load(
    schema: str, rows_manifest_url: str, parts_manifest_url: str, iam_role: str
) -> list[str]:
    """The statements of one load transaction (run by BatchExecuteStatement, all or nothing).

    Exactly-once per (batch_id, part) rests on the ledger, not on key
    constraints (Redshift enforces none): the ledger is locked first, so a
    second loader of the same part waits, then sees the first one's ledger rows
    and drops those parts from its stage before inserting anything.
    """
    messages = qualified(schema, MESSAGES_TABLE)
    ledger = qualified(schema, LEDGER_TABLE)
    return [
        f"LOCK {ledger}",
        f"CREATE TEMP TABLE {STAGE_MESSAGES} (\n    {_column_defs(MESSAGE_COLUMNS)}\n)",
        f"CREATE TEMP TABLE {STAGE_PARTS} (\n    {_column_defs(PART_COLUMNS)}\n)",
        render_copy(STAGE_MESSAGES, MESSAGE_COLUMNS, rows_manifest_url, iam_role),
        render_copy(STAGE_PARTS, PART_COLUMNS, parts_manifest_url, iam_role),
        f"DELETE FROM {STAGE_PARTS} USING {ledger} AS l\n"
        f"WHERE {STAGE_PARTS}.batch_id = l.batch_id AND {STAGE_PARTS}.part = l.part",
        f"INSERT INTO {messages} ({_names((*MESSAGE_COLUMNS, LOADED_AT))})\n"
        f"SELECT {_names(MESSAGE_COLUMNS, 's.')}, {LOADED_AT_CLOCK}\n"
        f"FROM {STAGE_MESSAGES} AS s\n"
        f"WHERE EXISTS (SELECT 1 FROM {STAGE_PARTS} AS p "
        "WHERE p.batch_id = s.batch_id AND p.part = s.part)",
        f"INSERT INTO {ledger} ({_names((*PART_COLUMNS, LOADED_AT))})\n"
        f"SELECT {_names(PART_COLUMNS)}, {LOADED_AT_CLOCK} FROM {STAGE_PARTS}",
        f"DROP TABLE {STAGE_MESSAGES}",
        f"DROP TABLE {STAGE_PARTS}",
    ]


CATALOG_OBJECTS = (MESSAGES_TABLE, LEDGER_TABLE, LATEST_VIEW)


def render_catalog_lookup() -> str:
    """How many of the pipeline's tables and view exist in schema `:schema` (a parameter)."""
    names = ", ".join(f"'{name}'" for name in CATALOG_OBJECTS)
    return (
        "SELECT COUNT(*) FROM information_schema.tables "
        f"WHERE table_schema = :schema AND table_name IN ({names})"
    )


def render_ledger_parts(schema: str) -> str:
    """Every (batch_id, part) the ledger holds: what redrive need not move again."""
    return f"SELECT batch_id, part FROM {qualified(schema, LEDGER_TABLE)}"


def render_ledger_lookup(schema: str) -> str:
    """Count ledger rows and loaded rows: used by the run summary and smoke checks."""
    return (
        "SELECT COUNT(*) AS parts, COALESCE(SUM(row_count), 0) AS row_count, "
        "COALESCE(SUM(rejected_count), 0) AS rejected_count, MAX(loaded_at) AS last_loaded_at "
        f"FROM {qualified(schema, LEDGER_TABLE)}"
    )


# ---------------------------------------------------------------------------
# Database users and grants (`pipeline warehouse init`, run with the admin secret).

# The loader's own login (its password is the stack's loader secret) and the read-only role
# analysts and validation runs get through their IAM identities.
LOADER_USER = "pipeline_loader"
ANALYST_ROLE = "pipeline_analyst"
# The operator commands' role (`pipeline status`, `redrive`, `reload`): what a load needs,
# held by the IAM identities in `pipeline:operators`, so no operator uses the admin secret.
OPERATOR_ROLE = "pipeline_operator"

# What one load (`render_load`) and the loader's cold-start check (`render_catalog_lookup`)
# need, table by table, and nothing more:
# - messages: INSERT (the load never reads it back);
# - ledger: SELECT (DELETE ... USING reads it), INSERT, and UPDATE only because `LOCK`
#   takes an ACCESS EXCLUSIVE lock, which PostgreSQL (Redshift's ancestor) grants only to
#   holders of UPDATE or DELETE; the loader never updates a ledger row;
# - the view: SELECT, so information_schema lists it to the loader and the cold-start check
#   finds all three objects instead of trying to create them.
# Its temp stage tables need TEMP on the database; its COPY needs ASSUMEROLE on the copy role.
LOADER_TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    MESSAGES_TABLE: ("INSERT",),
    LEDGER_TABLE: ("SELECT", "INSERT", "UPDATE"),
    LATEST_VIEW: ("SELECT",),
}

# Redshift's database user for an IAM identity: `IAM:<user>` or `IAMR:<role>`
# (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-iam.html).
_IAM_DB_USER = re.compile(r"^IAMR?:[A-Za-z0-9+=,.@_\-]{1,64}\Z")
_PASSWORD = re.compile(r"^[A-Za-z0-9]{8,64}\Z")


def iam_db_user(arn: str) -> str:
    """The database user Redshift maps an IAM ARN to (`sts get-caller-identity`'s Arn).

    `arn:aws:iam::1:user/alice` -> `IAM:alice`;
    `arn:aws:sts::1:assumed-role/ci-validate/session` or `arn:aws:iam::1:role/ci-validate`
    -> `IAMR:ci-validate`.
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or not parts[0] == "arn" or parts[2] not in ("iam", "sts"):
        raise ValueError(f"{arn!r} is not an IAM user or role ARN")
    kind, _, rest = parts[5].partition("/")
    if kind == "assumed-role":
        name = rest.split("/")[0]
    elif kind in ("user", "role"):
        name = rest.rsplit("/", 1)[-1]  # drop an IAM path
    else:
        raise ValueError(f"{arn!r} is not an IAM user or role ARN")
    return validate_iam_db_user(("IAM:" if kind == "user" else "IAMR:") + name)


def validate_iam_db_user(name: str) -> str:
    """`name` if it is an `IAM:<user>` / `IAMR:<role>` database user name, else ValueError."""
    if not _IAM_DB_USER.match(name):
        raise ValueError(
            f"{name!r} is not an IAM database user: use IAM:<user name> or IAMR:<role name>"
        )
    return name


def password_hash(user: str, password: str) -> str:
    """`md5` + md5(password + user): the form Redshift accepts in CREATE/ALTER USER, so the
    password itself never appears in SQL text or the query log."""
    import hashlib

    if not _PASSWORD.match(password):
        raise ValueError("refusing a password that is not 8-64 letters and digits")
    digest = hashlib.md5((password + user).encode(), usedforsecurity=False).hexdigest()
    return "md5" + digest


def render_create_user(user: str, password_md5: str | None) -> str:
    """CREATE USER with a hashed password, or PASSWORD DISABLE for IAM-only users."""
    return f"CREATE USER {_user(user)} PASSWORD {_password_clause(password_md5)}"


def render_alter_user_password(user: str, password_md5: str) -> str:
    """Reset the password (init run again after the secret was rotated)."""
    return f"ALTER USER {_user(user)} PASSWORD {_password_clause(password_md5)}"


def render_create_role(role: str = ANALYST_ROLE) -> str:
    return f"CREATE ROLE {validate_identifier(role, 'role')}"


def render_revocations(database: str) -> list[str]:
    """Take back what every user holds through PUBLIC, so the analyst role is read-only in fact.

    By default every user may create objects in the `public` schema and temporary tables in
    the database, and (until a superuser revokes it once) assume every IAM role attached to
    the warehouse, the COPY role included: an "analyst" could COPY from the staging bucket.
    The Redshift docs give these revocations; whoever needs one of them gets it explicitly
    (`render_grants`: the loader's TEMP and ASSUMEROLE on the COPY role).
    https://docs.aws.amazon.com/redshift/latest/dg/r_REVOKE.html (CREATE, TEMP, PUBLIC)
    https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT-usage-notes.html#r_GRANT-usage-notes-assumerole
    """
    return [
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"REVOKE TEMP ON DATABASE {validate_identifier(database, 'database')} FROM PUBLIC",
        "REVOKE ASSUMEROLE ON ALL FROM PUBLIC FOR ALL",
    ]


def render_grants(
    schema: str,
    database: str,
    copy_role_arn: str,
    analysts: tuple[str, ...] = (),
    *,
    operators: tuple[str, ...] = (),
    loader: str = LOADER_USER,
    role: str = ANALYST_ROLE,
    operator_role: str = OPERATOR_ROLE,
) -> list[str]:
    """Every GRANT of the pipeline's users, each safe to run again, after PUBLIC's defaults
    are revoked (`render_revocations`).

    The loader gets `LOADER_TABLE_PRIVILEGES` on the schema's objects, TEMP and ASSUMEROLE
    on the copy role for COPY; the analyst role reads the schema (now and, through default
    privileges, tables the admin creates later); each IAM identity in `analysts` gets the role.
    The operator role gets what the loader has (`reload` runs the same load), and each IAM
    identity in `operators` gets it.
    """
    schema_sql = validate_identifier(schema, "schema")
    role_sql = validate_identifier(role, "role")
    operator_sql = validate_identifier(operator_role, "operator role")

    def load_grants(grantee: str) -> list[str]:
        return [
            f"GRANT USAGE ON SCHEMA {schema_sql} TO {grantee}",
            *(
                f"GRANT {', '.join(privileges)} ON {qualified(schema, table)} TO {grantee}"
                for table, privileges in LOADER_TABLE_PRIVILEGES.items()
            ),
            f"GRANT TEMP ON DATABASE {validate_identifier(database, 'database')} TO {grantee}",
            f"GRANT ASSUMEROLE ON {_literal(copy_role_arn, _ROLE_ARN, 'IAM role ARN')} "
            f"TO {grantee} FOR COPY",
        ]

    statements = [
        *render_revocations(database),
        *load_grants(validate_identifier(loader, "loader user")),
        *load_grants(f"ROLE {operator_sql}"),
        f"GRANT USAGE ON SCHEMA {schema_sql} TO ROLE {role_sql}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema_sql} TO ROLE {role_sql}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_sql} GRANT SELECT ON TABLES "
        f"TO ROLE {role_sql}",
    ]
    statements += [
        f'GRANT ROLE {role_sql} TO "{validate_iam_db_user(name)}"' for name in analysts
    ]
    statements += [
        f'GRANT ROLE {operator_sql} TO "{validate_iam_db_user(name)}"' for name in operators
    ]
    return statements


def _user(name: str) -> str:
    """A plain identifier, or an `IAM:`/`IAMR:` user, which must be double-quoted."""
    if name.startswith(("IAM:", "IAMR:")):
        return f'"{validate_iam_db_user(name)}"'
    return validate_identifier(name, "user")


def _password_clause(password_md5: str | None) -> str:
    if password_md5 is None:
        return "DISABLE"
    if not re.fullmatch(r"md5[0-9a-f]{32}", password_md5):
        raise ValueError("refusing a password that is not an md5 hash (see password_hash)")
    return f"'{password_md5}'"
