"""Redshift -> DuckDB translation: each rule's input and output; every loader statement."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot

from pipeline.errors import TerminalError
from pipeline.warehouse import sql
from pipeline.warehouse.embedded import translate as t
from pipeline.warehouse.embedded.translate import (
    Copy,
    Lock,
    NoOp,
    Query,
    RedshiftSqlError,
    SqlSyntaxError,
    Transaction,
    UnsupportedSqlError,
    to_duckdb,
    translate,
)

pytestmark = pytest.mark.unit

BUCKET = "s3://telegram-staging/incoming/2026/11/25"
ROLE = "arn:aws:iam::000000000000:role/embedded-copy"
DDL = sql.render_ddl("scraped")
LOAD = sql.render_load("scraped", f"{BUCKET}/b.rows.manifest", f"{BUCKET}/b.parts.manifest", ROLE)


def tree_rule(rule, redshift: str) -> str:
    """Apply one tree rule alone to parsed Redshift, and write DuckDB."""
    return rule(sqlglot.parse_one(redshift, read=t.EmbeddedRedshift)).sql(dialect="duckdb")


# --------------------------------------------------------------------------- text rules


@pytest.mark.parametrize(("rule", "redshift", "expected"), [
    (t.strip_encode,
     "CREATE TABLE t (a INT ENCODE az64, b VARCHAR(5) ENCODE zstd) ENCODE AUTO",
     "CREATE TABLE t (a INT, b VARCHAR(5))"),
    (t.strip_backup, "CREATE TABLE t (a INT) BACKUP NO", "CREATE TABLE t (a INT)"),
    (t.strip_diststyle, "CREATE TABLE t (a INT)\nDISTSTYLE ALL", "CREATE TABLE t (a INT)"),
    (t.strip_distkey, "CREATE TABLE t (a INT DISTKEY, b INT) DISTKEY (a)",
     "CREATE TABLE t (a INT, b INT)"),
    (t.strip_sortkey, "CREATE TABLE t (a INT SORTKEY, b INT) COMPOUND SORTKEY (a, b)",
     "CREATE TABLE t (a INT, b INT)"),
    (t.strip_sortkey, "CREATE TABLE t (a INT) INTERLEAVED SORTKEY(a)", "CREATE TABLE t (a INT)"),
    (t.strip_sortkey, "CREATE TABLE t (a INT) SORTKEY AUTO", "CREATE TABLE t (a INT)"),
])
def test_text_rule_strips_physical_design_clauses(rule, redshift, expected):
    assert rule(redshift) == expected


@pytest.mark.parametrize("redshift", [
    "SELECT 'DISTKEY (a) ENCODE zstd' AS sortkey FROM t",  # not a CREATE: untouched
    "CREATE TABLE t (encode VARCHAR(3), sortkey INT, backup INT)",  # columns named so
    "CREATE TABLE t (a VARCHAR(20) DEFAULT 'x SORTKEY (a)')",  # inside a string literal
    "CREATE TABLE t AS SELECT a AS distkey FROM u",  # inside the query of a CTAS
])
def test_text_rules_leave_names_strings_and_queries_alone(redshift):
    for rule in (t.strip_encode, t.strip_backup, t.strip_diststyle, t.strip_distkey,
                 t.strip_sortkey):
        assert rule(redshift) == redshift


def test_unported_super_functions_are_named():
    assert t.reject_unported_super_functions("SELECT a FROM t") == "SELECT a FROM t"
    with pytest.raises(UnsupportedSqlError, match=r"SUPER function IS_ARRAY\(\)") as err:
        t.reject_unported_super_functions("SELECT is_array(entities.tickers) FROM t")
    assert err.value.construct == "SUPER function IS_ARRAY()"


# --------------------------------------------------------------------------- tree rules


@pytest.mark.parametrize(("rule", "redshift", "duckdb_sql"), [
    (t.super_to_variant, "CREATE TABLE t (e SUPER, f INT)", "CREATE TABLE t (e VARIANT, f INT)"),
    (t.super_to_variant, "SELECT CAST(x AS SUPER), y::SUPER",
     "SELECT CAST(x AS VARIANT), CAST(y AS VARIANT)"),
    (t.varchar_without_length,
     "CREATE TABLE t (a VARCHAR(65535), b CHARACTER VARYING(20), c NVARCHAR(3), d INT)",
     "CREATE TABLE t (a TEXT, b TEXT, c TEXT, d INT)"),
    (t.getdate_sysdate_to_utc_timestamp, "SELECT GETDATE(), SYSDATE, CURRENT_TIMESTAMP",
     "SELECT CAST(NOW() AS TIMESTAMP), CAST(NOW() AS TIMESTAMP), CURRENT_TIMESTAMP"),
    (t.super_subscript_zero_based,
     "SELECT e.tickers[0], m.e.signal.targets[2], e['key'], e.a[0].b FROM t AS m",
     "SELECT e.tickers[1], m.e.signal.targets[3], e['key'], e.a[1].b FROM t AS m"),
])
def test_tree_rule_rewrites(rule, redshift, duckdb_sql):
    assert tree_rule(rule, redshift) == duckdb_sql


@pytest.mark.parametrize(("rule", "redshift", "construct"), [
    (t.super_subscript_zero_based, "SELECT e.a[i] FROM t", "SUPER subscript with a computed index"),
    (t.super_subscript_zero_based, "SELECT e.a[-1] FROM t", "negative SUPER subscript"),
    (t.reject_partiql_unnest, "SELECT tk FROM t AS m, m.entities.tickers AS tk",
     "SUPER unnesting in FROM (PartiQL)"),
    (t.reject_positional_parameters, "SELECT * FROM t WHERE a = $1",
     "positional parameters (use :name)"),
])
def test_tree_rule_names_what_it_cannot_carry(rule, redshift, construct):
    with pytest.raises(UnsupportedSqlError) as err:
        tree_rule(rule, redshift)
    assert err.value.construct == construct


def test_super_navigation_runs_on_duckdb_variant():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (entities VARIANT)")
    entities = '{"tickers": ["BTC", "ETH"], "s": {"side": "buy"}}'
    con.execute("INSERT INTO t VALUES (?::JSON)", [entities])
    got = con.execute(to_duckdb(
        "SELECT m.entities.tickers[0], m.entities.tickers[1], entities.s.side FROM t AS m"
    )).fetchone()
    assert tuple(map(str, got)) == ("BTC", "ETH", "buy")


# --------------------------------------------------------------------------- statement rules


@pytest.mark.parametrize(("redshift", "tables"), [
    ("LOCK scraped.load_ledger", ("scraped.load_ledger",)),
    ('lock table A, "Mixed".b;', ("a", "Mixed.b")),
])
def test_lock_is_left_to_the_executor(redshift, tables):
    assert translate(redshift) == Lock(tables=tables)


@pytest.mark.parametrize(("redshift", "action"), [
    ("BEGIN", "begin"), ("START TRANSACTION", "begin"), ("BEGIN TRANSACTION", "begin"),
    ("COMMIT", "commit"), ("END", "commit"), ("END TRANSACTION", "commit"),
    ("ROLLBACK", "rollback"), ("ABORT", "rollback"),
])
def test_transaction_control(redshift, action):
    assert translate(redshift) == Transaction(action=action)


@pytest.mark.parametrize("redshift", [
    "VACUUM DELETE ONLY scraped.telegram_messages TO 75 PERCENT",
    "ANALYZE scraped.telegram_messages",
    "GRANT SELECT ON ALL TABLES IN SCHEMA scraped TO GROUP analysts",
    "ALTER TABLE scraped.telegram_messages ALTER DISTKEY chat_link",
    "ALTER TABLE scraped.telegram_messages ALTER COMPOUND SORTKEY (message_timestamp)",
])
def test_maintenance_is_a_no_op(redshift):
    assert isinstance(translate(redshift), NoOp)


def test_loader_copy_is_parsed_for_the_executor():
    copy = translate(LOAD[3])
    assert copy == Copy(
        table="stage_messages", table_sql='"stage_messages"',
        columns=tuple(c.name for c in sql.MESSAGE_COLUMNS),
        source=f"{BUCKET}/b.rows.manifest", manifest=True, gzip=True, iam_role=ROLE,
    )


def test_copy_from_a_prefix_without_gzip():
    copy = translate("COPY scraped.t FROM 's3://bkt/prefix/' IAM_ROLE default JSON 'auto' "
                     "REGION 'us-east-1' COMPUPDATE OFF STATUPDATE OFF")
    assert (copy.table, copy.columns, copy.manifest, copy.gzip) == ("scraped.t", (), False, False)


@pytest.mark.parametrize(("redshift", "construct"), [
    ("COPY t FROM 's3://b/k' IAM_ROLE 'r' CSV", "COPY option CSV"),
    ("COPY t FROM 's3://b/k' IAM_ROLE 'r' FORMAT AS PARQUET", "COPY FORMAT PARQUET"),
    ("COPY t FROM 's3://b/k' IAM_ROLE 'r' JSON 's3://b/paths.json'",
     "COPY JSON 's3://b/paths.json' (only 'auto')"),
    ("COPY t FROM 's3://b/k' CREDENTIALS 'aws_access_key_id=A;aws_secret_access_key=B' JSON 'auto'",
     "COPY with access-key credentials (use IAM_ROLE)"),
    ("COPY t FROM 's3://b/k' IAM_ROLE 'r' JSON 'auto' TIMEFORMAT 'epochsecs'",
     "COPY TIMEFORMAT 'epochsecs' (only 'auto')"),
    ("COPY t FROM 's3://b/k' IAM_ROLE 'r'", "COPY without FORMAT AS JSON 'auto'"),
    ("COPY t FROM 'https://example.com/x' IAM_ROLE 'r' JSON 'auto'",
     "COPY from a source other than S3"),
])
def test_copy_names_unsupported_options(redshift, construct):
    with pytest.raises(UnsupportedSqlError) as err:
        translate(redshift)
    assert err.value.construct == construct


# --------------------------------------------------------------------------- the pipeline


@pytest.mark.parametrize("statement", DDL + LOAD, ids=lambda s: s.split("\n")[0][:60])
def test_every_statement_the_loader_sends_translates(statement):
    assert isinstance(translate(statement), (Query, Lock, Copy))


def test_the_loaders_statements_run_on_duckdb():
    """DDL, then the load transaction with COPY replaced by plain inserts, on in-memory DuckDB."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for statement in DDL + DDL:
        con.execute(to_duckdb(statement))
    con.execute("BEGIN")
    for statement in LOAD:
        translated = translate(statement)
        if isinstance(translated, Query):
            con.execute(translated.sql)
        elif isinstance(translated, Copy) and translated.table == "stage_parts":
            con.execute("INSERT INTO stage_parts VALUES "
                        "('b', 1, 1, 'k', 1, 0, TIMESTAMPTZ '2024-03-01 00:00:00+00')")
        elif isinstance(translated, Copy):
            con.execute("INSERT INTO stage_messages VALUES (1, NULL, 'x', NULL, 2, 3, NULL, "
                        "'{\"tickers\": [\"BTC\"]}'::JSON, NULL, 'b', 1, 0)")
    con.execute("COMMIT")
    assert con.execute(to_duckdb(
        "SELECT entities.tickers[0], loaded_at IS NOT NULL FROM scraped.telegram_messages_latest"
    )).fetchall() == [("BTC", True)]
    assert con.execute("SELECT COUNT(*) FROM scraped.load_ledger").fetchone() == (1,)


@pytest.mark.parametrize(("redshift", "duckdb_sql"), [
    ("CREATE SCHEMA IF NOT EXISTS scraped", "CREATE SCHEMA IF NOT EXISTS scraped"),
    ("CREATE TEMP TABLE s (a INT)", "CREATE TEMPORARY TABLE s (a INT)"),
    ("DELETE FROM s USING scraped.l AS l WHERE s.a = l.a",
     "DELETE FROM s USING scraped.l AS l WHERE s.a = l.a"),
    ("CREATE OR REPLACE VIEW v AS SELECT a FROM t ORDER BY a DESC",
     "CREATE OR REPLACE VIEW v AS SELECT a FROM t ORDER BY a DESC NULLS FIRST"),
    ("SELECT * FROM t WHERE a = :a AND b = :b;", "SELECT * FROM t WHERE a = $a AND b = $b"),
])
def test_translate_writes_duckdb(redshift, duckdb_sql):
    assert to_duckdb(redshift) == duckdb_sql


def test_query_knows_its_parameters_target_and_result_set():
    query = translate("SELECT * FROM t WHERE a = :a AND b = :b OR c = :a")
    assert (query.parameters, query.returns_rows, query.target) == (("a", "b"), True, None)
    insert = translate("INSERT INTO scraped.t (a) VALUES (:v)")
    assert (insert.parameters, insert.returns_rows, insert.target) == (("v",), False, "scraped.t")


@pytest.mark.parametrize(("redshift", "message"), [
    ("SELEC 1", 'syntax error at or near "SELEC"'),
    ("FOO BAR", 'syntax error at or near "FOO"'),
    ("SELECT 'unterminated", "unterminated quoted string at or near \"'unterminated\""),
    ("LOCK", "syntax error at end of input"),
    ("SELECT 1; SELECT 2", "cannot insert multiple commands into a prepared statement"),
])
def test_invalid_redshift_fails_like_redshift(redshift, message):
    with pytest.raises(RedshiftSqlError) as err:
        translate(redshift)
    assert str(err.value) == message
    assert isinstance(err.value, TerminalError)


@pytest.mark.parametrize(("redshift", "construct"), [
    ("UNLOAD ('SELECT 1') TO 's3://b/x' IAM_ROLE 'r'", "UNLOAD"),
    ("SHOW TABLES", "SHOW TABLES"),
    ("SELECT json_typeof(entities) FROM t", "SUPER function JSON_TYPEOF()"),
])
def test_unsupported_constructs_are_named(redshift, construct):
    with pytest.raises(UnsupportedSqlError) as err:
        translate(redshift)
    assert err.value.construct == construct
    assert str(err.value) == f"unsupported on the embedded warehouse: {construct}"
    assert isinstance(err.value, TerminalError)


def test_translations_are_cached():
    statement = "SELECT 42 AS cached_answer"
    translate(statement)
    hits = translate.cache_info().hits
    assert translate(statement) is translate(statement)
    assert translate.cache_info().hits == hits + 2


def test_to_duckdb_refuses_statements_the_server_runs_itself():
    with pytest.raises(ValueError, match="Lock statements are run by the embedded server"):
        to_duckdb("LOCK scraped.load_ledger")
    assert isinstance(SqlSyntaxError("x"), RedshiftSqlError)


# --------------------------------------------------------------------------- error wording


@pytest.mark.parametrize(("duckdb_sql", "error"), [
    ("SELECT * FROM main.nope", 'ERROR: relation "main.nope" does not exist'),
    ("SELECT nope FROM (SELECT 1 AS a)", 'ERROR: column "nope" does not exist'),
    ("SELEC 1", 'ERROR: syntax error at or near "SELEC"'),
    ("SELECT CAST('abc' AS INTEGER)", 'ERROR: invalid input syntax for integer: "abc"'),
])
def test_duckdb_errors_read_like_redshift(duckdb_sql, error):
    from pipeline.warehouse.embedded.engine import redshift_error

    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as err:
        con.execute(duckdb_sql)
    assert redshift_error(err.value, sql=duckdb_sql) == error


def test_duckdb_conflicts_read_as_serializable_isolation_violations():
    from pipeline.warehouse.embedded.engine import redshift_error

    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INT)")
    con.execute("INSERT INTO t VALUES (1)")
    first, second = con.cursor(), con.cursor()
    first.execute("BEGIN")
    second.execute("BEGIN")
    first.execute("UPDATE t SET a = 2")
    with pytest.raises(duckdb.TransactionException) as err:
        second.execute("UPDATE t SET a = 3")
    assert redshift_error(err.value, target="scraped.t", pid=7).startswith(
        "ERROR: 1023 DETAIL: Serializable isolation violation on table - scraped.t"
    )
