"""Database users and grants: what each user may do is pinned, and the loader's statements
need nothing it is not granted."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from pipeline.aws import dataapi, sql

pytestmark = pytest.mark.unit

SCHEMA = "scraped"
DATABASE = "dev"
ROLE_ARN = "arn:aws:iam::123456789012:role/copy"
ROWS_URL = "s3://telegram-staging/incoming/2026/11/29/b-p0-x.rows.manifest"
PARTS_URL = "s3://telegram-staging/incoming/2026/11/29/b-p0-x.parts.manifest"
ANALYSTS = ("IAM:alice", "IAMR:ci-validate")
OPERATORS = ("IAM:oncall",)
LOADER = sql.LOADER_USER
ROLE = sql.ANALYST_ROLE
OPERATOR = sql.OPERATOR_ROLE


def grants() -> list[str]:
    return sql.render_grants(SCHEMA, DATABASE, ROLE_ARN, ANALYSTS, operators=OPERATORS)


def test_the_grants_are_exactly_these() -> None:
    assert grants() == [
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        "REVOKE TEMP ON DATABASE dev FROM PUBLIC",
        "REVOKE ASSUMEROLE ON ALL FROM PUBLIC FOR ALL",
        f"GRANT USAGE ON SCHEMA scraped TO {LOADER}",
        f"GRANT INSERT ON scraped.telegram_messages TO {LOADER}",
        f"GRANT SELECT, INSERT, UPDATE ON scraped.load_ledger TO {LOADER}",
        f"GRANT SELECT ON scraped.telegram_messages_latest TO {LOADER}",
        f"GRANT TEMP ON DATABASE dev TO {LOADER}",
        f"GRANT ASSUMEROLE ON '{ROLE_ARN}' TO {LOADER} FOR COPY",
        f"GRANT USAGE ON SCHEMA scraped TO ROLE {OPERATOR}",
        f"GRANT INSERT ON scraped.telegram_messages TO ROLE {OPERATOR}",
        f"GRANT SELECT, INSERT, UPDATE ON scraped.load_ledger TO ROLE {OPERATOR}",
        f"GRANT SELECT ON scraped.telegram_messages_latest TO ROLE {OPERATOR}",
        f"GRANT TEMP ON DATABASE dev TO ROLE {OPERATOR}",
        f"GRANT ASSUMEROLE ON '{ROLE_ARN}' TO ROLE {OPERATOR} FOR COPY",
        f"GRANT USAGE ON SCHEMA scraped TO ROLE {ROLE}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA scraped TO ROLE {ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA scraped GRANT SELECT ON TABLES TO ROLE {ROLE}",
        f'GRANT ROLE {ROLE} TO "IAM:alice"',
        f'GRANT ROLE {ROLE} TO "IAMR:ci-validate"',
        f'GRANT ROLE {OPERATOR} TO "IAM:oncall"',
    ]


def test_the_operator_role_holds_exactly_what_the_loader_does() -> None:
    """`pipeline reload` runs the loader's statements, as the operator role: no more."""
    as_loader = {g.removesuffix(" FOR COPY").rsplit(" TO ", 1)[0] for g in grants()
                 if re.search(rf" TO {LOADER}( FOR COPY)?$", g)}
    as_operator = {g.removesuffix(" FOR COPY").rsplit(" TO ", 1)[0] for g in grants()
                   if re.search(rf" TO ROLE {OPERATOR}( FOR COPY)?$", g)}
    assert as_operator == as_loader


def test_the_analyst_role_can_only_read() -> None:
    to_role = [g for g in grants() if f"TO ROLE {ROLE}" in g]
    for grant in to_role:
        privileges = re.search(r"GRANT (.+?) ON", grant)
        assert privileges is not None
        assert privileges.group(1) in ("USAGE", "SELECT"), grant


def test_what_every_user_holds_through_public_is_revoked_before_anything_is_granted() -> None:
    """r_REVOKE.html: by default all users have CREATE on schema public and TEMP on the
    database (through PUBLIC); r_GRANT-usage-notes.html: a superuser runs `revoke assumerole
    on all from public for all` once, else every user may assume the attached roles (the
    COPY role: an analyst could COPY from the staging bucket)."""
    statements = grants()
    revoked = statements[:3]
    assert {r.split(" ON ")[0] for r in revoked} == {
        "REVOKE CREATE", "REVOKE TEMP", "REVOKE ASSUMEROLE"}
    assert all(r.endswith(("FROM PUBLIC", "FROM PUBLIC FOR ALL")) for r in revoked)
    assert not any(s.startswith("REVOKE") for s in statements[3:])
    # Who needs one of them back gets it by name: the loader and the operator role only.
    regranted = [s for s in statements if re.match(r"GRANT (TEMP|ASSUMEROLE|CREATE)\b", s)]
    assert regranted and all(re.search(rf"TO (ROLE {OPERATOR}|{LOADER})( FOR COPY)?$", s)
                             for s in regranted)


def granted_to_loader() -> set[tuple[str, str]]:
    """(privilege, object) pairs the grants give the loader user."""
    out = set()
    for grant in grants():
        match = re.fullmatch(rf"GRANT (.+?) ON (?:SCHEMA |DATABASE )?(\S+) TO {LOADER}( FOR COPY)?",
                             grant)
        if match:
            for privilege in match.group(1).split(", "):
                out.add((privilege, match.group(2).strip("'")))
    return out


def loader_needs() -> set[tuple[str, str]]:
    """What the loader's own statements need, read from the statements themselves.

    The loader runs the cold-start catalog check and `render_load`: its temp stage
    tables are its own (TEMP on the database), COPY assumes the copy role, LOCK takes an
    ACCESS EXCLUSIVE lock (UPDATE, as PostgreSQL rules it), INSERT needs INSERT, and
    any table read (FROM, USING, a subquery) needs SELECT. The schema needs USAGE.
    """
    needs = {("USAGE", SCHEMA)}
    statements = [sql.render_catalog_lookup(), *sql.render_load(SCHEMA, ROWS_URL, PARTS_URL,
                                                                   ROLE_ARN)]
    for statement in statements:
        if statement.startswith("LOCK "):
            needs |= {("UPDATE", t) for t in statement[5:].split(", ")}
            continue
        if statement.startswith("CREATE TEMP TABLE "):
            needs.add(("TEMP", DATABASE))
            continue
        if statement.startswith("COPY "):
            needs.add(("ASSUMEROLE", ROLE_ARN))
            continue
        tree = sqlglot.parse_one(statement, read="redshift")
        written = None
        if isinstance(tree, exp.Insert):
            written = tree.this.find(exp.Table)
            needs.add(("INSERT", _name(written)))
        if isinstance(tree, exp.Delete):
            written = tree.this
        for table in tree.find_all(exp.Table):
            name = _name(table)
            if table is written or "." not in name or name.startswith("information_schema."):
                continue  # its own temp tables; the catalog is readable by everyone
            needs.add(("SELECT", name))
    return needs


def _name(table: exp.Table) -> str:
    return ".".join(part.name for part in table.parts)


def test_the_loader_statements_need_nothing_beyond_its_grants() -> None:
    needs = loader_needs()
    granted = granted_to_loader()
    assert needs <= granted, f"the loader would be refused: {sorted(needs - granted)}"


def test_the_loader_is_granted_nothing_its_statements_do_not_use_but_the_view_for_the_catalog(
) -> None:
    extra = granted_to_loader() - loader_needs()
    # SELECT on the view only lets information_schema list it, so the cold-start check sees
    # all three objects and never tries DDL the loader may not run.
    assert extra == {("SELECT", f"{SCHEMA}.{sql.LATEST_VIEW}")}


def test_the_loader_gets_no_ddl_delete_or_ownership() -> None:
    for grant in grants():
        if grant.endswith(f"TO {LOADER}") or grant.endswith(f"TO {LOADER} FOR COPY"):
            assert not re.search(r"\b(CREATE|DELETE|DROP|ALTER|TRUNCATE|ALL)\b", grant), grant


@pytest.mark.parametrize(
    ("arn", "user"),
    [
        ("arn:aws:iam::123456789012:user/alice", "IAM:alice"),
        ("arn:aws:iam::123456789012:user/team/data/bob", "IAM:bob"),
        ("arn:aws:sts::123456789012:assumed-role/ci-validate/gh-run-42", "IAMR:ci-validate"),
        ("arn:aws:iam::123456789012:role/analysts/Analyst", "IAMR:Analyst"),
    ],
)
def test_iam_identities_map_to_redshift_database_users(arn: str, user: str) -> None:
    assert sql.iam_db_user(arn) == user


@pytest.mark.parametrize("bad", ["root", "IAM:", 'IAM:x"; DROP TABLE t; --', "IAMX:a"])
def test_only_iam_user_names_reach_the_sql(bad: str) -> None:
    with pytest.raises(ValueError, match="not an IAM database user"):
        sql.render_grants(SCHEMA, DATABASE, ROLE_ARN, (bad,))


def test_the_loader_password_never_appears_in_sql_text() -> None:
    generated = "Abcdefgh12345678" * 2  # the shape Secrets Manager generates
    hashed = sql.password_hash(LOADER, generated)
    create = sql.render_create_user(LOADER, hashed)
    alter = sql.render_alter_user_password(LOADER, hashed)
    for statement in (create, alter):
        assert generated not in statement
        assert re.fullmatch(rf"(CREATE|ALTER) USER {LOADER} PASSWORD 'md5[0-9a-f]{{32}}'",
                            statement)
    assert sql.render_create_user("IAM:alice", None) == 'CREATE USER "IAM:alice" PASSWORD DISABLE'
    with pytest.raises(ValueError, match="not an md5 hash"):
        sql.render_create_user(LOADER, generated)  # a plain password is refused


# The shapes of the statements the set-up runs, transcribed from the synopses of the Redshift
# docs (r_GRANT.html, r_REVOKE.html, r_ALTER_DEFAULT_PRIVILEGES.html, r_CREATE_USER.html,
# r_ALTER_USER.html, r_CREATE_ROLE.html), each privilege list limited to what the synopsis
# allows on that object kind. sqlglot is no judge here: it falls back to a generic
# `Command` for most of them, so it "parses" `GRANT BANANA !!` too.
_NAME = r'(?:[a-z_][a-z0-9_$]*|"IAMR?:[A-Za-z0-9+=,.@_\-]+")'
_GRANTEE = rf"(?:ROLE [a-z_][a-z0-9_$]*|GROUP [a-z_][a-z0-9_$]*|PUBLIC|{_NAME})"
_TABLE = r"[a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*"


def _privileges(*allowed: str) -> str:
    one = "|".join(allowed)
    return rf"(?:{one})(?:, (?:{one}))*"


_TABLE_PRIVILEGES = _privileges("SELECT", "INSERT", "UPDATE", "DELETE", "DROP", "REFERENCES",
                                "ALTER", "TRUNCATE")
SHAPES = {
    "grant on tables": rf"GRANT {_TABLE_PRIVILEGES} ON (?:TABLE )?{_TABLE} TO {_GRANTEE}",
    "grant on all tables": rf"GRANT {_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {_NAME} "
                           rf"TO {_GRANTEE}",
    "grant on schema": rf"GRANT {_privileges('CREATE', 'USAGE', 'ALTER', 'DROP')} ON SCHEMA "
                       rf"{_NAME} TO {_GRANTEE}",
    "grant on database": rf"GRANT {_privileges('CREATE', 'TEMPORARY', 'TEMP')} ON DATABASE "
                         rf"{_NAME} TO {_GRANTEE}",
    "grant assumerole": rf"GRANT ASSUMEROLE ON 'arn:aws[a-z-]*:iam::\d{{12}}:role/[^']+' "
                        rf"TO {_GRANTEE} FOR (?:ALL|COPY|UNLOAD|EXTERNAL FUNCTION|CREATE MODEL)",
    "grant role": rf"GRANT ROLE [a-z_][a-z0-9_$]* TO {_GRANTEE}",
    "default privileges": rf"ALTER DEFAULT PRIVILEGES IN SCHEMA {_NAME} GRANT "
                          rf"{_TABLE_PRIVILEGES} ON TABLES TO {_GRANTEE}",
    "revoke on schema": rf"REVOKE {_privileges('CREATE', 'USAGE', 'ALTER', 'DROP')} ON SCHEMA "
                        rf"{_NAME} FROM {_GRANTEE}",
    "revoke on database": rf"REVOKE {_privileges('CREATE', 'TEMPORARY', 'TEMP')} ON DATABASE "
                          rf"{_NAME} FROM {_GRANTEE}",
    "revoke assumerole": rf"REVOKE ASSUMEROLE ON (?:ALL|default|'[^']+') FROM {_GRANTEE} "
                         r"FOR (?:ALL|COPY|UNLOAD|EXTERNAL FUNCTION|CREATE MODEL)",
    "create user": rf"CREATE USER {_NAME} PASSWORD (?:DISABLE|'md5[0-9a-f]{{32}}')",
    "alter user password": rf"ALTER USER {_NAME} PASSWORD (?:DISABLE|'md5[0-9a-f]{{32}}')",
    "create role": r"CREATE ROLE [a-z_][a-z0-9_$]*",
}


def shape_of(statement: str) -> str:
    """The one documented shape `statement` has, else AssertionError naming it."""
    matches = [name for name, pattern in SHAPES.items() if re.fullmatch(pattern, statement)]
    assert len(matches) == 1, f"not one documented shape ({matches}): {statement}"
    return matches[0]


SETUP_STATEMENTS = [
    *grants(),
    sql.render_create_user(LOADER, sql.password_hash(LOADER, "Abcdefgh1234")),
    sql.render_alter_user_password(LOADER, sql.password_hash(LOADER, "Abcdefgh1234")),
    sql.render_create_user("IAMR:ci-validate", None),
    sql.render_create_role(),
    sql.render_create_role(sql.OPERATOR_ROLE),
]


@pytest.mark.parametrize("statement", SETUP_STATEMENTS, ids=lambda s: s[:48])
def test_every_user_and_grant_statement_has_a_documented_redshift_shape(statement: str) -> None:
    shape_of(statement)


def test_the_shapes_cover_every_kind_of_statement_the_setup_runs() -> None:
    """No shape is dead weight: each one is what some statement of the set-up needs."""
    assert {shape_of(s) for s in SETUP_STATEMENTS} == set(SHAPES)


@pytest.mark.parametrize("planted", [
    "GRANT BANANA !!",
    "GRANT SELECT ON SCHEMA scraped TO pipeline_loader",  # SELECT is no schema privilege
    "GRANT TEMP ON scraped.load_ledger TO pipeline_loader",  # TEMP is a database privilege
    "GRANT INSERT ON scraped.telegram_messages TO",  # no grantee
    "GRANT ASSUMEROLE ON 'arn:aws:iam::123456789012:role/copy' TO pipeline_loader",  # no FOR
    "REVOKE TEMP ON DATABASE dev TO PUBLIC",  # REVOKE takes FROM
    "GRANT ROLE pipeline_analyst TO IAM:alice",  # an IAM user must be double-quoted
    "CREATE USER pipeline_loader PASSWORD 'Abcdefgh1234'",  # a plain password
], ids=lambda s: s[:40])
def test_a_statement_of_no_documented_shape_is_caught(planted: str) -> None:
    with pytest.raises(AssertionError, match="not one documented shape"):
        shape_of(planted)


class _Api:
    """Records statements; answers like Redshift for users and roles that already exist."""

    def __init__(self, existing: set[str]) -> None:
        self.existing = existing
        self.executed: list[str] = []
        self.batches: list[list[str]] = []

    def execute(self, statement: str, parameters: object = None) -> None:
        self.executed.append(statement)
        match = re.match(r'CREATE (?:USER|ROLE) "?([^" ]+)"?', statement)
        if match and match.group(1) in self.existing:
            from pipeline.core.errors import TerminalWarehouseError

            raise TerminalWarehouseError(f'ERROR: user "{match.group(1)}" already exists')

    def batch(self, statements: list[str]) -> str:
        self.batches.append(list(statements))
        return "batch-id"


def test_warehouse_init_creates_once_and_on_a_second_run_resets_the_password_and_regrants(
) -> None:
    first = _Api(existing=set())
    warehouse = dataapi.DataApiWarehouse(api=first, schema=SCHEMA,  # type: ignore[arg-type]
                                         copy_role_arn=ROLE_ARN)
    warehouse.ensure_users(DATABASE, "Abcdefgh1234", ["IAM:alice"])
    assert [s.split(" PASSWORD")[0] for s in first.executed] == [
        f"CREATE USER {LOADER}", f"CREATE ROLE {ROLE}", f"CREATE ROLE {OPERATOR}",
        'CREATE USER "IAM:alice"']
    assert first.batches == [sql.render_grants(SCHEMA, DATABASE, ROLE_ARN, ("IAM:alice",))]

    again = _Api(existing={LOADER, ROLE, "IAM:alice"})
    warehouse.api = again  # type: ignore[assignment]
    warehouse.ensure_users(DATABASE, "Abcdefgh1234", ["IAM:alice"])
    assert f"ALTER USER {LOADER} PASSWORD '{sql.password_hash(LOADER, 'Abcdefgh1234')}'" in (
        again.executed)
    assert again.batches == first.batches


@pytest.mark.parametrize(
    "statement",
    [
        *grants(),
        sql.render_create_user(LOADER, sql.password_hash(LOADER, "Abcdefgh1234")),
        sql.render_alter_user_password(LOADER, sql.password_hash(LOADER, "Abcdefgh1234")),
        sql.render_create_user("IAMR:ci-validate", None),
        sql.render_create_role(),
    ],
    ids=lambda s: s[:48],
)
def test_the_embedded_warehouse_accepts_users_and_grants_without_effect(statement: str) -> None:
    from pipeline.offline.warehouse.translate import NoOp, translate

    assert isinstance(translate(statement), NoOp)


def test_a_root_caller_is_a_one_line_config_error() -> None:
    import boto3
    from botocore.stub import Stubber

    from pipeline.aws.settings import Settings
    from pipeline.core.errors import ConfigError

    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="fake",
                       aws_secret_access_key="fake")
    with Stubber(sts) as stub:
        stub.add_response("get_caller_identity", {
            "Arn": "arn:aws:iam::123456789012:root", "Account": "123456789012",
            "UserId": "123456789012"})
        with pytest.raises(ConfigError, match="not the account's root user"):
            dataapi.caller_db_user(Settings(), client=sts)


def test_operator_commands_log_in_as_the_caller_never_with_the_admin_secret(tmp_path) -> None:
    """`status`, `redrive` and `reload` take their settings from the stack outputs: the admin
    secret's output fills nothing, so the Data API maps the caller's IAM identity (granted
    the operator role by `pipeline:operators`)."""
    import json

    from pipeline.aws import settings as names
    from pipeline.aws.settings import Settings
    from pipeline.cli.operate import resolve

    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"Stack": {
        names.OUTPUT_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        names.OUTPUT_WORKGROUP: "wg",
        names.OUTPUT_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin",
    }}))
    operating = resolve(Settings(), outputs)
    assert operating.redshift_workgroup == "wg"
    assert operating.redshift_secret_arn is None
    assert "SecretArn" not in dataapi.DataApi(client=None, settings=operating)._target()
