"""Redshift -> DuckDB translation: each rule's input and output; every loader statement."""

from __future__ import annotations

import re

import duckdb
import pytest
import sqlglot

from pipeline.aws import sql
from pipeline.core.errors import TerminalError
from pipeline.offline.warehouse import translate as t
from pipeline.offline.warehouse.translate import (
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
    assert t.reject_unported_super_functions("SELECT is_array(e) FROM t") == (
        "SELECT is_array(e) FROM t"  # ported: left to the tree rules
    )
    with pytest.raises(UnsupportedSqlError, match=r"SUPER function SUBARRAY\(\)") as err:
        t.reject_unported_super_functions("SELECT subarray(entities.tickers, 0, 1) FROM t")
    assert err.value.construct == "SUPER function SUBARRAY()"
    assert not t.UNPORTED_SUPER_FUNCTIONS & t.PORTED_SUPER_FUNCTIONS


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
    (t.reject_unpivot, "SELECT k FROM t AS m, UNPIVOT m.entities AS v AT k", "UNPIVOT (PartiQL)"),
    (t.partiql_unnest, "SELECT x FROM t AS m, UNNEST(m.a, m.b) AS u(x, y)",
     "UNNEST of several arrays at once"),
    (t.partiql_unnest, "SELECT x FROM t AS m, UNNEST(m.a) WITH OFFSET AS x",
     "UNNEST ... WITH OFFSET (use the PartiQL AT form)"),
    (t.json_extract_path_text, "SELECT JSON_EXTRACT_PATH_TEXT(s, k) FROM t",
     "JSON_EXTRACT_PATH_TEXT with a computed path element"),
    (t.convert_timezone_names, "SELECT CONVERT_TIMEZONE('UTC+3', a) FROM t",
     "CONVERT_TIMEZONE time zone 'UTC+3' (use an IANA name such as 'America/New_York' or a "
     "listed abbreviation)"),
    (t.super_dynamic_typing, "SELECT AVG(m.e.price) FROM t AS m",
     "AVG() of a SUPER value (cast it first, e.g. AVG(x::FLOAT))"),
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


# --------------------------------------------------------------------------- SUPER / PartiQL rules

# Pieces of the DuckDB the SUPER rules write, to keep the expectations readable.
INT = "REGEXP_FULL_MATCH(VARIANT_TYPEOF({v}), 'U?INT[0-9]+')"
NUM = "REGEXP_FULL_MATCH(VARIANT_TYPEOF({v}), 'U?INT[0-9]+|DOUBLE|FLOAT|DECIMAL.*')"
NESTED = "REGEXP_FULL_MATCH(VARIANT_TYPEOF({v}), '(ARRAY|OBJECT)\\(.*')"


@pytest.mark.parametrize(("redshift", "duckdb_sql"), [
    ("SELECT tk FROM t AS m, m.e.tickers AS tk",
     "SELECT tk FROM t AS m JOIN UNNEST(TRY_CAST(m.e.tickers AS VARIANT[])) AS _unnest_tk(tk) "
     "ON TRUE"),
    ("SELECT tk, i FROM t AS m, m.e.tickers AS tk AT i",
     "SELECT tk, i FROM t AS m JOIN (SELECT UNNEST(__l) AS tk, UNNEST(RANGE(0, LENGTH(__l))) AS i "
     "FROM (SELECT TRY_CAST(m.e.tickers AS VARIANT[]) AS __l) AS __list) AS _unnest_at_tk ON TRUE"),
    ("SELECT tg FROM t AS m, m.e.signals AS s, s.targets AS tg",
     "SELECT tg FROM t AS m JOIN UNNEST(TRY_CAST(m.e.signals AS VARIANT[])) AS _unnest_s(s) "
     "ON TRUE JOIN UNNEST(TRY_CAST(s.targets AS VARIANT[])) AS _unnest_tg(tg) ON TRUE"),
    ("SELECT x FROM t AS m, m.e AS arr, arr AS x",
     "SELECT x FROM t AS m JOIN UNNEST(TRY_CAST(m.e AS VARIANT[])) AS _unnest_arr(arr) ON TRUE "
     "JOIN UNNEST(TRY_CAST(arr AS VARIANT[])) AS _unnest_x(x) ON TRUE"),
    ("SELECT p FROM t AS o, UNNEST(o.products) AS u(p)",
     "SELECT p FROM t AS o JOIN UNNEST(TRY_CAST(o.products AS VARIANT[])) AS u(p) ON TRUE"),
    ("SELECT x FROM t AS m LEFT JOIN m.e.tickers AS x ON TRUE",
     "SELECT x FROM t AS m LEFT JOIN UNNEST(TRY_CAST(m.e.tickers AS VARIANT[])) AS _unnest_x(x) "
     "ON TRUE"),
])
def test_partiql_unnest_becomes_a_duckdb_unnest_of_variant_elements(redshift, duckdb_sql):
    assert tree_rule(t.partiql_unnest, redshift) == duckdb_sql


def test_partiql_unnest_drops_empty_missing_and_non_arrays_and_counts_at_from_zero():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id INT, e VARIANT)")
    for i, entities in enumerate(['{"a": ["x", "y"]}', '{"a": []}', '{"b": 1}', '{"a": "x"}',
                                  '{"a": {"k": 1}}'], start=1):
        con.execute("INSERT INTO t VALUES (?, ?::JSON)", [i, entities])
    con.execute("INSERT INTO t VALUES (6, NULL)")
    assert con.execute(to_duckdb(
        "SELECT m.id, el::VARCHAR, i FROM t AS m, m.e.a AS el AT i ORDER BY 1, 3"
    )).fetchall() == [(1, "x", 0), (1, "y", 1)]


def test_super_attribute_names_fold_to_lower_case_like_redshift_identifiers():
    assert tree_rule(
        t.super_attribute_names_lower_case,
        "SELECT m.Entities.Signal.SIDE, m.Message_Id, e.A.B, e.x.y.z.W FROM t AS m",
    ) == "SELECT m.Entities.signal.side, m.Message_Id, e.a.b, e.x.y.z.w FROM t AS m"


def test_json_parse_becomes_a_variant():
    assert tree_rule(t.json_parse_to_variant, "SELECT JSON_PARSE('[1, 2]')") == (
        "SELECT CAST(CAST('[1, 2]' AS JSON) AS VARIANT)"
    )


@pytest.mark.parametrize(("redshift", "duckdb_sql"), [
    ("SELECT e.a::FLOAT FROM t", "SELECT TRY_CAST(e.a AS DOUBLE) FROM t"),
    ("SELECT e.a::INT FROM t",
     f"SELECT (CASE WHEN {NUM.format(v='e.a')} AND NOT {INT.format(v='e.a')} "
     "THEN TRY_CAST(ROUND(CAST(e.a AS DOUBLE)) AS INT) ELSE TRY_CAST(e.a AS INT) END) FROM t"),
    ("SELECT e.b::VARCHAR FROM t",
     f"SELECT (CASE WHEN {NESTED.format(v='e.b')} THEN NULL ELSE TRY_CAST(e.b AS TEXT) END) "
     "FROM t"),
    ("SELECT m.a::FLOAT, m.e.a::FLOAT FROM t AS m",  # m.a is a column, m.e.a navigates
     "SELECT CAST(m.a AS DOUBLE), TRY_CAST(m.e.a AS DOUBLE) FROM t AS m"),
    ("SELECT e.side = 'long' FROM t",
     "SELECT (CASE WHEN e.side IS NULL THEN NULL WHEN VARIANT_TYPEOF(e.side) = 'VARCHAR' "
     "THEN CAST(e.side AS TEXT) = 'long' ELSE FALSE END) FROM t"),
    ("SELECT e.lev > 5 FROM t",
     f"SELECT (CASE WHEN e.lev IS NULL THEN NULL WHEN {INT.format(v='e.lev')} "
     f"THEN CAST(e.lev AS INT128) > 5 WHEN {NUM.format(v='e.lev')} "
     "THEN CAST(e.lev AS DOUBLE) > 5 ELSE NULL END) FROM t"),
    ("SELECT e.n + 1 FROM t",
     f"SELECT (CASE WHEN {INT.format(v='e.n')} THEN CAST((CAST(e.n AS BIGINT) + 1) AS VARIANT) "
     f"WHEN {NUM.format(v='e.n')} THEN CAST((CAST(e.n AS DOUBLE) + 1) AS VARIANT) END) FROM t"),
    ("SELECT LEN(e.s) FROM t",
     "SELECT LENGTH((CASE WHEN VARIANT_TYPEOF(e.s) = 'VARCHAR' THEN CAST(e.s AS TEXT) END)) "
     "FROM t"),
    ("SELECT e.s IN ('a', 'b') FROM t",
     "SELECT ((CASE WHEN e.s IS NULL THEN NULL WHEN VARIANT_TYPEOF(e.s) = 'VARCHAR' "
     "THEN CAST(e.s AS TEXT) = 'a' ELSE FALSE END) OR (CASE WHEN e.s IS NULL THEN NULL "
     "WHEN VARIANT_TYPEOF(e.s) = 'VARCHAR' THEN CAST(e.s AS TEXT) = 'b' ELSE FALSE END)) FROM t"),
])
def test_super_dynamic_typing_rewrites(redshift, duckdb_sql):
    assert tree_rule(t.super_dynamic_typing, redshift) == duckdb_sql


@pytest.mark.parametrize(("expression", "expected"), [
    ("(e.half + 1)::FLOAT", 2.5),  # DuckDB alone: VARIANT 1.5 + 1 = 3
    ("e.half::FLOAT + 1", 2.5),
    ("(e.seven / 2)::INT", 3),
    ("e.half = 1.5", True),  # DuckDB alone: False
    ("e.half < 1.3", False),  # DuckDB alone: True
    ("e.half = '1.5'", False),  # a number is not a string
    ("e.word = 1", False),
    ("e.word < 'zzz'", True),
    ("e.word < 1", None),  # ordering across types is null
    ("e.word::INT", None),  # lax cast
    ("e.half::INT", 2),
    ("(e.half + 1)::INT", 3),  # 2.5 rounds half away from zero, as Redshift's decimals
    ("e.obj::VARCHAR", None),
    ("LEN(e.word)", 4),
    ("LEN(e.half)", None),
    ("e.seven = e.seven_float", True),
    ("e.big = 9007199254740992", False),  # compared as integers (as doubles: equal)
])
def test_super_values_compute_with_their_dynamic_type(expression, expected):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (e VARIANT)")
    con.execute("INSERT INTO t VALUES (?::JSON)", [
        '{"half": 1.5, "seven": 7, "seven_float": 7.0, "word": "long", "obj": {"k": 1},'
        ' "big": 9007199254740993}'
    ])
    assert con.execute(to_duckdb(f"SELECT {expression} FROM t")).fetchone()[0] == expected


@pytest.mark.parametrize(("function", "duckdb_sql"), [
    ("JSON_TYPEOF(e)",
     "(CASE WHEN VARIANT_TYPEOF(e) LIKE 'ARRAY(%' THEN 'array' WHEN VARIANT_TYPEOF(e) LIKE "
     "'OBJECT(%' THEN 'object' WHEN VARIANT_TYPEOF(e) = 'VARCHAR' THEN 'string' WHEN "
     "VARIANT_TYPEOF(e) IN ('BOOL_TRUE', 'BOOL_FALSE') THEN 'boolean' WHEN "
     f"{NUM.format(v='e')} THEN 'number' ELSE 'null' END)"),
    ("IS_ARRAY(e)", "(VARIANT_TYPEOF(e) LIKE 'ARRAY(%')"),
    ("IS_OBJECT(e)", "(VARIANT_TYPEOF(e) LIKE 'OBJECT(%')"),
    ("IS_VARCHAR(e)", "(VARIANT_TYPEOF(e) = 'VARCHAR')"),
    ("IS_BOOLEAN(e)", "(VARIANT_TYPEOF(e) IN ('BOOL_TRUE', 'BOOL_FALSE'))"),
    ("IS_SCALAR(e)", f"(NOT {NESTED.format(v='e')} AND NOT VARIANT_TYPEOF(e) = 'VARIANT_NULL')"),
    ("IS_INTEGER(e)",
     f"(({INT.format(v='e')} AND TRY_CAST(e AS INT128) BETWEEN -2147483648 AND 2147483647))"),
    ("IS_DECIMAL(e)", f"(({NUM.format(v='e')} AND VARIANT_TYPEOF(e) <> 'FLOAT'))"),
    ("IS_FLOAT(e)", "(VARIANT_TYPEOF(e) = 'FLOAT')"),
    ("GET_ARRAY_LENGTH(e)",
     "(CASE WHEN VARIANT_TYPEOF(e) LIKE 'ARRAY(%' THEN CAST(VARIANT_ARRAY_LENGTH(e) AS INT) END)"),
    ("JSON_SERIALIZE(e)", "(CAST(CAST(e AS JSON) AS TEXT))"),
    ("CAN_JSON_PARSE(s)", "(JSON_VALID(s))"),
])
def test_super_functions_map_to_variant_typeof(function, duckdb_sql):
    assert tree_rule(t.super_functions, f"SELECT {function} FROM t") == (
        f"SELECT {duckdb_sql} FROM t"
    )


@pytest.mark.parametrize(("function", "expected"), [
    ("JSON_TYPEOF(JSON_PARSE('[1]'))", "array"),
    ("JSON_TYPEOF(JSON_PARSE('{\"a\": 1}'))", "object"),
    ("JSON_TYPEOF(JSON_PARSE('1.5'))", "number"),
    ("JSON_TYPEOF(JSON_PARSE('null'))", "null"),
    ("IS_INTEGER(JSON_PARSE('3000000000'))", False),
    ("IS_BIGINT(JSON_PARSE('3000000000'))", True),
    ("IS_SMALLINT(JSON_PARSE('40000'))", False),
    ("IS_DECIMAL(JSON_PARSE('1.5'))", True),
    ("IS_ARRAY(NULL::SUPER)", False),  # false, not null, for null input
    ("GET_ARRAY_LENGTH(JSON_PARSE('[1, [2, 3]]'))", 2),
    ("GET_ARRAY_LENGTH(JSON_PARSE('{\"a\": 1}'))", None),
    ("JSON_SERIALIZE(JSON_PARSE('{\"a\": [1, 2.5, null, true], \"b\": \"x\"}'))",
     '{"a":[1,2.5,null,true],"b":"x"}'),
    ("CAN_JSON_PARSE('{\"a\"')", False),
])
def test_super_functions_answer_like_redshift(function, expected):
    assert duckdb.connect().execute(to_duckdb(f"SELECT {function}")).fetchone()[0] == expected


@pytest.mark.parametrize(("function", "expected"), [
    ("SPLIT_TO_ARRAY('12|345|6789', '|')", '["12","345","6789"]'),  # the page's example
    ("SPLIT_TO_ARRAY('a,b')", '["a","b"]'),  # the delimiter defaults to a comma
    ("SPLIT_TO_ARRAY('x||y.z', '||')", '["x","y.z"]'),  # a string, not a pattern
    ("SPLIT_TO_ARRAY('a b', ' ')[1]", '"b"'),  # a SUPER array, subscripts from 0
    ("SPLIT_TO_ARRAY(NULL, ',')", None),
])
def test_split_to_array_answers_a_super_array_of_strings(function, expected):
    sql = f"SELECT JSON_SERIALIZE({function})"  # the value as the Data API shows a SUPER
    assert duckdb.connect().execute(to_duckdb(sql)).fetchone()[0] == expected


def test_split_to_array_counts_words_with_get_array_length():
    sql = to_duckdb("SELECT GET_ARRAY_LENGTH(SPLIT_TO_ARRAY('BUY BTC 100', ' '))")
    assert duckdb.connect().execute(sql).fetchone()[0] == 3


@pytest.mark.parametrize("call", ["SPLIT_TO_ARRAY('', ',')", "SPLIT_TO_ARRAY('a,b', '')"])
def test_split_to_array_refuses_what_its_page_leaves_open(call):
    with pytest.raises(duckdb.Error, match="unsupported on the embedded warehouse: "
                                           "SPLIT_TO_ARRAY of an empty string"):
        duckdb.connect().execute(to_duckdb(f"SELECT {call}")).fetchall()


@pytest.mark.parametrize(("function", "expected"), [
    # the page's two examples (r_array_concat.html), ARRAY() written as JSON_PARSE
    ("ARRAY_CONCAT(JSON_PARSE('[10001,10002]'), JSON_PARSE('[10003,10004]'))",
     "[10001,10002,10003,10004]"),
    ("ARRAY_CONCAT(JSON_PARSE('[10001,10002]'), JSON_PARSE('[\"ab\",\"cd\"]'))",
     '[10001,10002,"ab","cd"]'),
    ("ARRAY_CONCAT(JSON_PARSE('[]'), JSON_PARSE('[[1],{\"a\":null}]'))", '[[1],{"a":null}]'),
    ("ARRAY_CONCAT(NULL::SUPER, JSON_PARSE('[1]'))", None),
    # DuckDB's VARIANT stores a JSON null as it stores NULL: both give NULL
    ("ARRAY_CONCAT(JSON_PARSE('[1]'), JSON_PARSE('null'))", None),
])
def test_array_concat_joins_two_super_arrays(function, expected):
    sql = f"SELECT JSON_SERIALIZE({function})"
    assert duckdb.connect().execute(to_duckdb(sql)).fetchone()[0] == expected


@pytest.mark.parametrize("second", ["JSON_PARSE('{\"a\":1}')", "JSON_PARSE('1')",
                                    "JSON_PARSE('\"s\"')"])
def test_array_concat_refuses_a_value_that_is_not_an_array(second):
    sql = to_duckdb(f"SELECT ARRAY_CONCAT(JSON_PARSE('[1]'), {second})")
    with pytest.raises(duckdb.Error, match="unsupported on the embedded warehouse: "
                                           "ARRAY_CONCAT of a value that is not an array"):
        duckdb.connect().execute(sql).fetchall()


@pytest.mark.parametrize(("redshift", "duckdb_sql"), [
    ("SELECT JSON_EXTRACT_PATH_TEXT(s, 'f4', 'f6') FROM t",
     "SELECT JSON_EXTRACT_STRING(s, '$.\"f4\".\"f6\"') FROM t"),
    ("SELECT JSON_EXTRACT_PATH_TEXT(s, 'a', TRUE) FROM t",
     "SELECT (CASE WHEN JSON_VALID(s) THEN JSON_EXTRACT_STRING(s, '$.\"a\"') END) FROM t"),
])
def test_json_extract_path_text_keeps_every_path_element(redshift, duckdb_sql):
    assert tree_rule(t.json_extract_path_text, redshift) == duckdb_sql


def test_json_extract_path_text_answers_like_redshift():
    con = duckdb.connect()
    doc = "'{\"f2\":{\"f3\":1},\"f4\":{\"f5\":99,\"f6\":\"star\"}}'"
    assert con.execute(to_duckdb(
        f"SELECT JSON_EXTRACT_PATH_TEXT({doc}, 'f4', 'f6'), JSON_EXTRACT_PATH_TEXT({doc}, 'f9'),"
        " JSON_EXTRACT_PATH_TEXT('{\"f2\":', 'f2', TRUE)"
    )).fetchone() == ("star", None, None)


# --------------------------------------------------------------------------- typing rules


@pytest.mark.parametrize(("column_type", "value", "expected"), [
    ("TIMESTAMP", "'2008-02-10 19:30:00'", __import__("datetime").date(2008, 2, 10)),
    ("TIMESTAMPTZ", "'2008-02-10 19:30:00+00'", __import__("datetime").date(2008, 2, 10)),
    ("DATE", "'2008-02-10'", __import__("datetime").date(2008, 2, 10)),
    ("INTEGER", "-7", -7),
    ("DECIMAL(8,2)", "-12.75", -12),
    ("DOUBLE PRECISION", "2.9", 2.0),
])
def test_trunc_of_a_column_takes_the_meaning_of_the_columns_type(column_type, value, expected):
    """A function whose Redshift meaning depends on its argument's type (TRUNC: a
    timestamp's DATE, r_TRUNC_date.html, or a truncated number, r_TRUNC.html) given a
    column, whose type the translator cannot see: the session's typed macro decides
    when DuckDB binds the call, on every session the engine opens."""
    from pipeline.offline.warehouse.engine import DuckDbWarehouse

    cursor = DuckDbWarehouse.in_memory().cursor()
    cursor.execute(to_duckdb(f"CREATE TABLE t (c {column_type})"))
    cursor.execute(f"INSERT INTO t VALUES ({value})")
    assert cursor.execute(to_duckdb("SELECT TRUNC(c) FROM t")).fetchone() == (expected,)
    # where the tree shows the type, plain DuckDB runs it (no session macro needed)
    assert duckdb.connect().execute(to_duckdb(
        "SELECT TRUNC(111.15), TRUNC(-2.9), TRUNC(TIMESTAMP '2011-07-21 10:32:38')"
    )).fetchone() == (111, -2, __import__("datetime").date(2011, 7, 21))


@pytest.mark.parametrize(("call", "expected"), [
    ("REGEXP_INSTR('The Home Depot Center', '[cC]ent(er|re)$')", 16),  # the page's examples
    ("REGEXP_INSTR('the fox', 'FOX', 1, 1, 0, 'i')", 5),
    ("REGEXP_INSTR('the fox', 'FOX', 1, 1, 0, 'ic')", 0),  # the last of c/i wins
    ("REGEXP_INSTR('abcabc', 'b', 3)", 5),
    ("REGEXP_INSTR('abcabc', 'b', 0)", 2),  # "less than 1 ... begins at the first character"
    ("REGEXP_INSTR('abcabc', 'b', 1, 2)", 5),
    ("REGEXP_INSTR('abcabc', 'b', 1, 0)", 0),  # "occurrence is less than 1 ... 0"
    ("REGEXP_INSTR('abcabc', 'b', 1, 3)", 0),
    ("REGEXP_INSTR('abcabc', 'bc', 1, 2, 5)", 7),  # nonzero option: after the match
    ("REGEXP_INSTR(NULL, 'b', 1, 0)", None),
])
def test_regexp_instr_follows_its_page(call, expected):
    assert duckdb.connect().execute(to_duckdb(f"SELECT {call}")).fetchone() == (expected,)


def test_regexp_instr_refuses_what_it_cannot_carry():
    with pytest.raises(UnsupportedSqlError, match="parameter 'e'"):
        to_duckdb("SELECT REGEXP_INSTR('abc', 'a(b)', 1, 1, 0, 'e')")
    with pytest.raises(UnsupportedSqlError, match="parameter 'p'"):
        to_duckdb("SELECT REGEXP_INSTR('abc', 'b', 1, 1, 0, 'p')")


@pytest.mark.parametrize(("redshift", "expected"), [
    ("SELECT NEXT_DAY('2014-08-20', 'Tuesday')", "2014-08-26"),  # the page's example
    ("SELECT NEXT_DAY('2014-08-20', 'WEDNESDAY')", "2014-08-27"),  # same day: a week later
    ("SELECT NEXT_DAY('2008-07-06', 'mon')", "2008-07-07"),
    ("SELECT NEXT_DAY(TIMESTAMP '2008-07-03 23:00:00', 'M')", "2008-07-07"),
    ("SELECT NEXT_DAY(d, n) FROM (SELECT DATE '2008-07-01' AS d, 'Sunday' AS n) s",
     "2008-07-06"),
])
def test_next_day_is_the_first_such_day_after_the_date(redshift, expected):
    """r_NEXT_DAY.html: the first instance of the day later than the given date, a DATE;
    the day a name or abbreviation in any case (one registry entry, sqlglot renders it)."""
    got, = duckdb.connect().execute(to_duckdb(redshift)).fetchone()
    assert got.isoformat() == expected


@pytest.mark.parametrize(("redshift", "expected"), [
    ("SELECT @ -5", (5,)),
    ("SELECT @ 5, @ -2.5", (5, 2.5)),
    ("SELECT @ x + 1 FROM (SELECT -3 AS x) s", (2,)),  # ABS(x + 1), as PostgreSQL binds
    ("SELECT |/ 16 + 9, 2 * ||/ 20 + 7, @ -2 * 3 + 1", (5, 6, 5)),
    ("SELECT 2 ^ 10, |/ 25.0, ||/ 27.0, @ -5", (1024, 5, 3, 5)),
])
def test_at_sign_is_the_absolute_value_operator(redshift, expected):
    """r_OPERATOR_SYMBOLS.html: `@` is Redshift's absolute-value prefix operator, as
    `|/` and `||/` are its square and cube roots (sqlglot reads `@` as a parameter);
    each takes its operand up to an operator binding less tightly than + and -."""
    got = duckdb.connect().execute(to_duckdb(redshift)).fetchone()
    assert tuple(float(v) for v in got) == pytest.approx(expected)
    with pytest.raises(UnsupportedSqlError, match="positional parameters"):
        to_duckdb("SELECT 1 WHERE 1 = $1")  # `$n` stays a parameter



def test_typed_division_divides_integers_as_integers():
    assert tree_rule(t.typed_division, "SELECT 7 / 2 FROM t") == "SELECT 7 // 2 FROM t"
    assert duckdb.connect().execute(to_duckdb("SELECT 7 / 2, -7 / 2, 7 / 2.0, 7.0 / 2")
                                    ).fetchone() == (3, -3, 3.5, 3.5)


def test_a_decimal_quotient_has_the_documented_scale():
    """r_numeric_computations201.html: DECIMAL(p1,s1) / DECIMAL(p2,s2) has scale
    max(4, s1 + p2 - s2 + 1), capped so the precision stays within 38: 7.0 / 3.0 is
    2.3333 on Redshift (DuckDB: 2.3333333333333335); an integer counts as DECIMAL(10,0)
    or (19,0). Integers still divide as integers."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a DECIMAL(8, 2), b DECIMAL(8, 2), i INTEGER, ms BIGINT)")
    con.execute("INSERT INTO t VALUES (7, 3, 7, 12345)")
    catalog = t.Catalog.of(con.execute("SELECT schema_name, table_name, column_name, "
                                       "data_type FROM duckdb_columns()").fetchall())
    assert [str(v) for v in con.execute(to_duckdb(
        "SELECT 7.0 / 3.0, a / b, i / 2, ms / 86400.0, 10.0 / 4 FROM t", catalog)).fetchone()
    ] == ["2.3333", "2.333333333", "3", "0.142882", "2.500000000000"]


@pytest.mark.parametrize(("redshift", "duckdb_sql"), [
    ("SELECT SUM(a) FROM t", "SELECT CAST_TO_TYPE(SUM(a), MAX(a) + CAST(0 AS BIGINT)) FROM t"),
    ("SELECT AVG(DISTINCT a) AS v FROM t",
     "SELECT (CASE WHEN TYPEOF(MAX(a) + CAST(0 AS BIGINT)) LIKE 'DECIMAL%' THEN ERROR("
     "'unsupported on the embedded warehouse: AVG of a DECIMAL (how Redshift rounds it is "
     "not documented; cast it to FLOAT8 or BIGINT)') ELSE CAST_TO_TYPE(SUM(DISTINCT a) // "
     "NULLIF(COUNT(DISTINCT a), 0), MAX(a) + CAST(0 AS BIGINT)) END) AS v FROM t"),
    ("SELECT SUM(a) OVER (ORDER BY b ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t",
     "SELECT CAST_TO_TYPE(SUM(a) OVER (ORDER BY b ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), "
     "MAX(a) OVER (ORDER BY b ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) + CAST(0 AS BIGINT)) "
     "FROM t"),
])
def test_sum_and_avg_are_typed_like_redshift(redshift, duckdb_sql):
    assert tree_rule(t.integer_sum_avg_as_bigint, redshift) == duckdb_sql


def test_sum_and_avg_result_types_match_redshift():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INT, b BIGINT, d DOUBLE, n DECIMAL(5, 2))")
    con.execute("INSERT INTO t VALUES (1, 1, 1.5, 1.25), (2, 2, 2.5, 2.5)")
    relation = con.execute(to_duckdb(
        "SELECT SUM(i), SUM(b), SUM(d), SUM(n), AVG(i), AVG(d) FROM t"
    ))
    assert [str(c[1]) for c in relation.description] == [
        "BIGINT", "BIGINT", "DOUBLE", "DECIMAL(22,2)", "BIGINT", "DOUBLE",
    ]
    assert relation.fetchone()[4] == 1  # AVG(1, 2) of integers truncates, as on Redshift


def test_avg_of_a_decimal_is_refused_because_its_rounding_is_undocumented():
    """https://docs.aws.amazon.com/redshift/latest/dg/r_AVG.html: "the same data type as
    expression" for DECIMAL, without saying how the extra digits go."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (n DECIMAL(5, 2))")
    con.execute("INSERT INTO t VALUES (1.25), (2.5)")
    with pytest.raises(duckdb.Error, match="unsupported on the embedded warehouse: AVG of a"):
        con.execute(to_duckdb("SELECT AVG(n) FROM t")).fetchall()


@pytest.mark.parametrize(("redshift", "duckdb_sql"), [
    ("SELECT LISTAGG(a) FROM t",
     "SELECT LISTAGG(CAST(a AS TEXT), '') FILTER(WHERE CAST(a AS TEXT) <> '') FROM t"),
    ("SELECT LISTAGG(DISTINCT a, ',') WITHIN GROUP (ORDER BY a DESC) FROM t",
     "SELECT LISTAGG(DISTINCT a, ',' ORDER BY a DESC NULLS FIRST) "
     "FILTER(WHERE CAST(a AS TEXT) <> '') FROM t"),
])
def test_listagg_has_redshifts_delimiter_and_skips_empty_strings(redshift, duckdb_sql):
    assert tree_rule(t.listagg_like_redshift, redshift) == duckdb_sql


def test_datediff_week_counts_monday_boundaries():
    assert tree_rule(t.datediff_week_boundaries, "SELECT DATEDIFF(week, a, b) FROM t") == (
        "SELECT (DATE_DIFF('DAY', DATE_TRUNC('WEEK', CAST(a AS TIMESTAMP)), "
        "DATE_TRUNC('WEEK', CAST(b AS TIMESTAMP))) // 7) FROM t"
    )
    assert duckdb.connect().execute(to_duckdb(
        "SELECT DATEDIFF(week, '2024-03-10', '2024-03-11'), DATEDIFF(week, '2024-03-04', "
        "'2024-03-10'), DATEDIFF(week, '2009-01-01', '2009-12-31'), "
        "DATEDIFF(day, '2024-03-01 23:59', '2024-03-02 00:01')"
    )).fetchone() == (1, 0, 52, 1)


@pytest.mark.parametrize(("redshift", "duckdb_sql"), [
    ("SELECT CONVERT_TIMEZONE('PST', a) FROM t",
     "SELECT CAST(a AS TIMESTAMP) AT TIME ZONE 'UTC' AT TIME ZONE 'Etc/GMT+8' FROM t"),
    ("SELECT CONVERT_TIMEZONE('Europe/London', 'EST', a) FROM t",
     "SELECT CAST(a AS TIMESTAMP) AT TIME ZONE 'Europe/London' AT TIME ZONE 'Etc/GMT+5' FROM t"),
])
def test_convert_timezone_reads_abbreviations_as_fixed_offsets(redshift, duckdb_sql):
    assert tree_rule(t.convert_timezone_names, redshift) == duckdb_sql


def test_octet_length_counts_bytes_of_text():
    assert tree_rule(t.octet_length_of_text, "SELECT OCTET_LENGTH(a) FROM t") == (
        "SELECT STRLEN(CAST(a AS TEXT)) FROM t"
    )
    assert duckdb.connect().execute(to_duckdb(
        "SELECT OCTET_LENGTH('français'), LEN('français')"
    )).fetchone() == (9, 8)


@pytest.mark.parametrize(("redshift", "duckdb_sql"), [
    ("SELECT a FROM t ORDER BY a", "SELECT a FROM t ORDER BY a"),  # DuckDB: NULLS LAST too
    ("SELECT a FROM t ORDER BY a DESC", "SELECT a FROM t ORDER BY a DESC NULLS FIRST"),
    ("SELECT RANK() OVER (ORDER BY a DESC) FROM t",
     'SELECT RANK() OVER (ORDER BY a DESC NULLS FIRST) AS "rank" FROM t'),
    ("SELECT a FROM t ORDER BY a NULLS FIRST", "SELECT a FROM t ORDER BY a NULLS FIRST"),
    ("SELECT a FROM t ORDER BY a DESC NULLS LAST", "SELECT a FROM t ORDER BY a DESC"),
])
def test_nulls_sort_as_the_largest_values_like_redshift(redshift, duckdb_sql):
    assert to_duckdb(redshift) == duckdb_sql


@pytest.mark.parametrize(("redshift", "duckdb_sql"), [
    ("SELECT NVL(a, b) AS x, NVL2(a, b, c) AS y FROM t",
     "SELECT COALESCE(a, b) AS x, CASE WHEN NOT a IS NULL THEN b ELSE c END AS y FROM t"),
    ("SELECT DECODE(a, 1, 'x', 'y') AS d FROM t",
     "SELECT CASE WHEN a = 1 THEN 'x' ELSE 'y' END AS d FROM t"),
    ("SELECT APPROXIMATE COUNT(DISTINCT a) AS c, MEDIAN(a) AS m FROM t",
     "SELECT APPROX_COUNT_DISTINCT(a) AS c, MEDIAN(a) AS m FROM t"),
    ("SELECT DATEADD(month, 1, a) AS d FROM t",
     "SELECT CAST(a AS TIMESTAMP) + INTERVAL 1 MONTH AS d FROM t"),
    # (LEN's implicit text is float_text_as_redshift's: tests/unit/test_type_rules.py)
    ("SELECT DATE_TRUNC('week', a) AS w FROM t", "SELECT DATE_TRUNC('WEEK', a) AS w FROM t"),
])
def test_sqlglot_carries_the_rest_of_the_subset(redshift, duckdb_sql):
    assert to_duckdb(redshift) == duckdb_sql


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
            con.execute("INSERT INTO stage_messages VALUES (1, "
                        "TIMESTAMPTZ '2024-03-01 00:00:00+00', 'x', NULL, 2, 3, "
                        "TIMESTAMPTZ '2024-03-01 00:00:40+00', "
                        "'{\"tickers\": [\"BTC\"]}'::JSON, NULL, 'b', 1, 0)")
    con.execute("COMMIT")
    assert con.execute(to_duckdb(
        "SELECT entities.tickers[0], loaded_at IS NOT NULL FROM scraped.telegram_messages_latest"
    )).fetchall() == [("BTC", True)]
    assert con.execute("SELECT COUNT(*) FROM scraped.load_ledger").fetchone() == (1,)


def test_the_loaders_plain_statements_do_on_duckdb_what_they_do_on_redshift():
    """Pinned by their effect on DuckDB, not by the text the translation writes."""
    con = duckdb.connect()
    for _ in range(2):  # IF NOT EXISTS: running the DDL again changes nothing
        con.execute(to_duckdb("CREATE SCHEMA IF NOT EXISTS scraped"))
    con.execute(to_duckdb("CREATE TABLE scraped.l (a INT)"))
    con.execute("INSERT INTO scraped.l VALUES (2)")
    con.execute(to_duckdb("CREATE TEMP TABLE s (a INT)"))
    con.execute("INSERT INTO s VALUES (1), (2), (3)")
    con.execute(to_duckdb("DELETE FROM s USING scraped.l AS l WHERE s.a = l.a"))
    assert con.execute("SELECT a FROM s ORDER BY a").fetchall() == [(1,), (3,)]
    assert con.execute(to_duckdb("SELECT a FROM s WHERE a = :a OR a = :b;"),
                       {"a": 3, "b": 7}).fetchall() == [(3,)]


@pytest.mark.parametrize(("order", "expected"), [
    ("DESC", [None, 3, 1]),
    ("ASC", [1, 3, None]),
    ("DESC NULLS LAST", [3, 1, None]),
])
def test_nulls_sort_as_the_largest_value_as_on_redshift(order, expected):
    """r_ORDER_BY_clause.html: NULL sorts as the largest value (first in a DESC order), in a
    window of a view (the dedup view's ranking) as in a query; DuckDB's own default differs."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INT)")
    con.execute("INSERT INTO t VALUES (1), (NULL), (3)")
    con.execute(to_duckdb("CREATE OR REPLACE VIEW v AS SELECT a, "
                          f"ROW_NUMBER() OVER (ORDER BY a {order}) AS rank FROM t"))
    for query in (f"SELECT a FROM t ORDER BY a {order}", "SELECT a FROM v ORDER BY rank"):
        assert [r[0] for r in con.execute(to_duckdb(query)).fetchall()] == expected


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
    ("SELECT json_size(entities) FROM t", "SUPER function JSON_SIZE()"),
    ("SELECT SUM(m.entities.signal.leverage) FROM t AS m",
     "SUM() of a SUPER value (cast it first, e.g. SUM(x::FLOAT))"),
    ("SELECT CONVERT_TIMEZONE('EST5EDT', ts) FROM t",
     "CONVERT_TIMEZONE time zone 'EST5EDT' (use an IANA name such as 'America/New_York' or a"
     " listed abbreviation)"),
    ("SELECT JSON_EXTRACT_PATH_TEXT(s, k) FROM t",
     "JSON_EXTRACT_PATH_TEXT with a computed path element"),
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
    from pipeline.offline.warehouse.engine import redshift_error

    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as err:
        con.execute(duckdb_sql)
    assert redshift_error(err.value, sql=duckdb_sql) == error


def test_duckdb_conflicts_read_as_serializable_isolation_violations():
    from pipeline.offline.warehouse.engine import redshift_error

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


# ----------------------------------------------------------------- issue 15: refuse by default

DG = "https://docs.aws.amazon.com/redshift/latest/dg/"


@pytest.mark.parametrize(("redshift", "construct"), [
    # Redshift has no FILTER clause; DuckDB would run it.
    ("SELECT COUNT(*) FILTER (WHERE a > 1) FROM t", "FILTER (WHERE ...)"),
    # r_Window_function_synopsis.html: frames are ROWS only.
    ("SELECT SUM(a) OVER (ORDER BY b RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t",
     "RANGE window frame"),
    ("SELECT LIST_VALUE(1, 2)", "function LIST_VALUE"),
    ("SELECT STRING_AGG(a, ',') FROM t", "function STRING_AGG"),
    ("SELECT IFNULL(a, 1) FROM t", "function IFNULL"),
    ("SELECT * FROM generate_series(1, 3)", "GENERATE_SERIES"),
    ("SELECT * EXCLUDE (a) FROM t", "SELECT * EXCLUDE"),
    ("SELECT DEXP(1)", "function DEXP"),
    ("SELECT TO_CHAR(125, 'RN')", "TO_CHAR number format element RN"),
    ("SELECT TO_CHAR(ts, 'FMDay') FROM t", "TO_CHAR datetime format element FM"),
    ("SELECT CAST(a AS CHAR(5)) FROM t", "CHAR(n) fixed-length blank-padded strings"),
    ("SET search_path TO public", "SET"),
])
def test_constructs_outside_the_allow_list_are_refused_before_duckdb(redshift, construct):
    with pytest.raises(UnsupportedSqlError, match=re.escape(construct)):
        translate(redshift)


def test_an_unquoted_reserved_word_as_a_name_is_a_syntax_error():
    """r_pg_keywords.html: reserved words are names only when "quoted"."""
    with pytest.raises(SqlSyntaxError, match='"group"'):
        translate("SELECT group FROM t")
    with pytest.raises(SqlSyntaxError, match='"raw"'):
        translate("SELECT raw FROM t")
    translate('SELECT "group", m."raw", m.raw.x FROM t AS m')  # after a dot, a label is fine


def _one(redshift: str):
    return duckdb.connect().execute(to_duckdb(redshift)).fetchone()


@pytest.mark.parametrize(("page", "redshift", "expected"), [
    # Each class of wrong result issue 15 found, pinned by the page that documents it.
    ("r_CONCAT.html", "SELECT CONCAT('abc', NULL)", (None,)),
    ("pattern-matching-conditions-similar-to.html", "SELECT 'abc' SIMILAR TO '%(b|d)%'", (True,)),
    ("pattern-matching-conditions-similar-to.html", "SELECT 'abc' SIMILAR TO '_A_'", (False,)),
    ("pattern-matching-conditions-similar-to.html", "SELECT 'a.c' SIMILAR TO 'a.c', "
     "'abc' SIMILAR TO 'a.c'", (True, False)),
    ("r_Character_types.html", "SELECT 'a' = 'a   ', 'a ' < 'a'", (True, False)),
    ("r_LEN.html", "SELECT LEN('cat'), LEN('cat   ')", (3, 6)),
    ("r_SUBSTRING.html", "SELECT SUBSTRING('caterpillar', -2, 6)", ("cat",)),
    ("r_SUBSTRING.html", "SELECT SUBSTRING('caterpillar', -5, 4)", ("",)),
    ("REGEXP_SUBSTR.html", "SELECT REGEXP_SUBSTR('the fox', 'FOX', 1, 1, 'i')", ("fox",)),
    # the page writes the pattern's backslash doubled, as a Redshift string literal needs
    ("REGEXP_SUBSTR.html",
     "SELECT REGEXP_SUBSTR('This is a test', 'This is a (\\\\w+)', 1, 1, 'e')", ("test",)),
    ("REGEXP_SUBSTR.html", "SELECT REGEXP_SUBSTR('abc1 abc2', 'abc[0-9]', 1, 2)", ("abc2",)),
    ("REGEXP_REPLACE.html", "SELECT REGEXP_REPLACE('aaa', 'a', 'b')", ("bbb",)),
    ("REGEXP_REPLACE.html", "SELECT REGEXP_REPLACE('the fox', 'FOX', 'cat', 1, 'i')",
     ("the cat",)),
    ("r_TO_CHAR.html", "SELECT TO_CHAR(TIMESTAMP '2009-12-31 23:15:59', "
     "'MONTH-DY-DD-YYYY HH12:MIPM')", ("DECEMBER -THU-31-2009 11:15PM",)),
    ("r_TO_CHAR.html", "SELECT TO_CHAR(TIMESTAMP '2009-12-31 23:15:59', 'DDD')", ("365",)),
    ("r_TO_CHAR.html", "SELECT TO_CHAR(TIMESTAMP '2008-02-18 02:36:48', 'Day, Mon D')",
     ("Monday   , Feb 2",)),
    ("r_TO_CHAR.html", "SELECT TO_CHAR(-125.8, '999D99S'), TO_CHAR(-125.88, '$999D99PR')",
     ("125.80-", "$<125.88>")),
    ("r_Numeric_formating.html", "SELECT TO_CHAR(1234.5, '9,999.99'), TO_CHAR(7, '000')",
     (" 1,234.50", " 007")),
    ("r_TRUNC_date.html", "SELECT TRUNC(TIMESTAMP '2011-07-21 10:32:38')",
     (__import__("datetime").date(2011, 7, 21),)),
    ("IS_VALID_JSON.html", "SELECT IS_VALID_JSON('{\"a\":2}'), IS_VALID_JSON('{{}}')",
     (True, False)),
    ("JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html",
     "SELECT JSON_EXTRACT_ARRAY_ELEMENT_TEXT('[111,112,113]', 2), "
     "JSON_EXTRACT_ARRAY_ELEMENT_TEXT('[111,112,113]', 5)", ("113", "")),
    ("JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html",
     "SELECT JSON_EXTRACT_ARRAY_ELEMENT_TEXT('[\"a\",[\"b\",1,null,]]', 1, true)", (None,)),
    ("r_ADD_MONTHS.html", "SELECT ADD_MONTHS('2008-04-30', 1)",
     (__import__("datetime").datetime(2008, 5, 31),)),
    ("r_SUPER_type.html", "WITH c AS (SELECT JSON_PARSE('1.5') AS v) SELECT v = 1.5, v < 1.3 "
     "FROM c", (True, False)),
])
def test_issue_15_classes_answer_as_documented(page, redshift, expected):
    assert _one(redshift) == expected, DG + page


def test_ratio_to_report_is_the_share_of_the_partition():
    """r_WF_RATIO_TO_REPORT.html: qty 10 and 40 of seller 4 are 0.2 and 0.8 (FLOAT8)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE w (s INT, q INT)")
    con.execute("INSERT INTO w VALUES (4, 10), (4, 40), (2, 20)")
    rows = con.execute(to_duckdb(
        "SELECT q, RATIO_TO_REPORT(q) OVER (PARTITION BY s) FROM w ORDER BY q")).fetchall()
    assert rows == [(10, 0.2), (20, 1.0), (40, 0.8)]


@pytest.mark.parametrize(("redshift", "error"), [
    # r_numeric_computations201.html / r_MOD.html: division by zero is an error.
    ("SELECT 1 / 0", "division by zero"),
    ("SELECT MOD(7, 0)", "division by zero"),
    ("SELECT JSON_ARRAY_LENGTH('[1,2')", "invalid json array object"),
    ("SELECT IS_VALID_JSON('[1]')", "IS_VALID_JSON of JSON that is not an object"),
])
def test_errors_read_as_redshift_errors(redshift, error):
    from pipeline.offline.warehouse.engine import redshift_error

    with pytest.raises(duckdb.Error) as raised:
        _one(redshift)
    assert error in redshift_error(raised.value)


@pytest.mark.parametrize(("redshift", "label"), [
    ("SELECT COUNT(*) FROM t", "count"),
    ("SELECT SUM(a) FROM t", "sum"),
    ("SELECT MAX(a) FROM t", "max"),
    ("SELECT a + 1 FROM t", "?column?"),
    ("SELECT CAST(a AS INTEGER) FROM t", "a"),
    ("SELECT '1'::INT FROM t", "int4"),
    ("SELECT a FROM t", "a"),
    ("SELECT COUNT(*) AS n FROM t", "n"),
    ("SELECT ROW_NUMBER() OVER (ORDER BY a) FROM t", "row_number"),
    ("SELECT CASE WHEN a > 0 THEN 1 END FROM t", "case"),
])
def test_result_columns_are_labelled_as_redshift_labels_them(redshift, label):
    """r_SELECT_list.html: an unaliased expression is named after its function."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INT)")
    assert con.execute(to_duckdb(redshift)).description[0][0] == label


def test_a_view_of_unaliased_aggregates_has_redshifts_column_names():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INT)")
    con.execute(to_duckdb("CREATE VIEW v AS SELECT COUNT(*), MAX(a) FROM t"))
    assert [d[0] for d in con.execute("SELECT * FROM v").description] == ["count", "max"]


def test_translation_never_raises_anything_but_its_own_errors():
    for text in ["SELECT", "SELECT (", "SELECT 1 +", ")", "SELECT 'a' ||", "WITH", "SELECT [",
                 "SELECT 1 FROM t WHERE", "SELECT ((((1", "CREATE TABLE", "\x00", "SELECT $$"]:
        with pytest.raises((SqlSyntaxError, RedshiftSqlError, UnsupportedSqlError)):
            translate(text)


# ------------------------------------------------------------- issue 15: the project's own SQL


def test_the_dedup_view_keeps_an_observation_with_a_processing_time_over_a_null_one():
    """r_ORDER_BY_clause.html: NULLs sort as the largest values, so a bare `DESC` would rank
    an observation without processing_time as the newest."""
    con = duckdb.connect()
    for statement in sql.render_ddl("scraped"):
        if isinstance(translate(statement), Query):
            con.execute(to_duckdb(statement))
    # processing_time is NOT NULL now, but CREATE TABLE IF NOT EXISTS keeps a table made when
    # it was nullable: the view must still rank such a table's null observations last.
    con.execute("ALTER TABLE scraped.telegram_messages ALTER COLUMN processing_time "
                "DROP NOT NULL")
    columns = ", ".join(c.name if c.name != "raw" else '"raw"' for c in (*sql.MESSAGE_COLUMNS,
                                                                         sql.LOADED_AT))
    for processing_time, batch in (("'2024-03-01 10:00:00+00'", "a"), ("NULL", "b")):
        values = {c.name: "NULL" for c in (*sql.MESSAGE_COLUMNS, sql.LOADED_AT)}
        values.update(message_id="1", message_timestamp="'2024-03-01 09:00:00+00'",
                      message_content="''", chat_link="-1", processing_time=processing_time,
                      batch_id=f"'{batch}'", part="1", row_no="0",
                      loaded_at="'2024-03-02 00:00:00+00'" if batch == "a"
                      else "'2024-03-01 00:00:00+00'")
        con.execute(to_duckdb(f"INSERT INTO scraped.telegram_messages ({columns}) VALUES ("
                              + ", ".join(values.values()) + ")"))
    assert con.execute("SELECT batch_id FROM scraped.telegram_messages_latest").fetchall() == [
        ("a",)]


@pytest.mark.parametrize("name", ["group", "user", "select", "table", "raw", "order"])
def test_reserved_words_are_not_valid_schema_names(name):
    from pipeline.aws.settings import validate_identifier
    from pipeline.core.errors import ConfigError

    with pytest.raises(ConfigError, match="reserved word"):
        validate_identifier(name, "PIPELINE_SCHEMA")


def test_ordinary_names_are_still_valid_identifiers():
    from pipeline.aws.settings import validate_identifier

    assert validate_identifier("scraped") == "scraped"
    assert validate_identifier("users") == "users"


def test_is_next_to_an_unparenthesised_comparison_is_refused_where_sqlglot_binds_it_tighter():
    """PostgreSQL (so Redshift) binds `<` tighter than IS: `1 < 2 IS TRUE` is true. Where
    sqlglot parses it as `1 < (2 IS TRUE)` the translation refuses rather than answer
    false; where it parses it as Redshift does, it answers true. (In a WHERE clause: in
    the SELECT list an IS TRUE is Redshift's error, r_Boolean_type.html.)"""
    try:
        answer = _one("SELECT 1 WHERE 1 < 2 IS TRUE")
    except UnsupportedSqlError as err:
        answer = str(err)
    assert answer in ((1,), "unsupported on the embedded warehouse: IS next to a comparison "
                      "or operator without parentheses (write (a < b) IS TRUE)")
    assert _one("SELECT 1 WHERE (1 < 2) IS TRUE") == (1,)
    with pytest.raises(RedshiftSqlError, match="Not implemented"):
        translate("SELECT (1 < 2) IS TRUE")


def test_convert_is_a_strict_cast_and_try_cast_is_not_redshift():
    """r_CONVERT_function.html: CONVERT(type, x) converts like CAST (bad input fails)."""
    assert _one("SELECT CONVERT(INTEGER, '12')") == (12,)
    with pytest.raises(RedshiftSqlError, match="invalid input syntax for integer"):
        _one("SELECT CONVERT(INTEGER, 'x')")
    with pytest.raises(UnsupportedSqlError, match="TRY_CAST"):
        translate("SELECT TRY_CAST('x' AS INTEGER)")


# ------------------------------------------------- classes the second held-out set found


def _run(sql_text: str, setup: tuple[str, ...] = ()) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    for statement in setup:
        con.execute(to_duckdb(statement))
    relation = con.execute(to_duckdb(sql_text))
    return relation.fetchall() if relation.description else []


def test_identifiers_fold_to_lower_case_quoted_or_not():
    """r_enable_case_sensitive_identifier.html: off by default, so "Mixed" is `mixed`."""
    assert tree_rule(t.identifiers_fold_to_lower_case,
                     'SELECT 1 AS "MixedCase", Foo FROM "T"') == \
        'SELECT 1 AS "mixedcase", foo FROM "t"'
    con = duckdb.connect()
    relation = con.execute(to_duckdb('SELECT 1 AS "MixedCasedColumn"'))
    assert [c[0] for c in relation.description] == ["mixedcasedcolumn"]


def test_alter_table_adds_drops_and_renames_columns_and_tables():
    """r_ALTER_TABLE.html: ADD COLUMN (existing rows take the DEFAULT), DROP COLUMN,
    RENAME COLUMN, RENAME TO; other actions stay refused by name."""
    setup = ("CREATE TABLE a_t (a INT)", "INSERT INTO a_t VALUES (1)",
             "ALTER TABLE a_t ADD COLUMN b VARCHAR(10) DEFAULT 'x'",
             "ALTER TABLE a_t RENAME COLUMN a TO c", "ALTER TABLE a_t RENAME TO a_u")
    assert _run("SELECT c, b FROM a_u", setup) == [(1, "x")]
    assert _run("SELECT * FROM a_u", (*setup, "ALTER TABLE a_u DROP COLUMN b")) == [(1,)]
    with pytest.raises(UnsupportedSqlError, match="ALTER COLUMN"):
        translate("ALTER TABLE a_t ALTER COLUMN a TYPE VARCHAR(20)")


def test_update_sets_a_column_to_its_default():
    """r_UPDATE.html: `SET column = DEFAULT` (sqlglot reads DEFAULT as a column name)."""
    assert to_duckdb("UPDATE t SET c = DEFAULT WHERE a = 1") == \
        "UPDATE t SET c = DEFAULT WHERE a = 1"
    setup = ("CREATE TABLE d_t (a INT, c VARCHAR(5) DEFAULT 'def')",
             "INSERT INTO d_t VALUES (1, 'x')", "UPDATE d_t SET c = DEFAULT WHERE a = 1")
    assert _run("SELECT c FROM d_t", setup) == [("def",)]
    with pytest.raises(SqlSyntaxError):
        translate("UPDATE t SET c = 1 WHERE default = 1")


@pytest.mark.parametrize(("sql_text", "value"), [
    # pattern-matching-conditions-posix.html: a case-sensitive match anywhere in the string
    ("SELECT 'abc' ~ 'b'", True),
    ("SELECT 'abc' ~ '^b'", False),
    ("SELECT 'abc' ~ 'B'", False),
    ("SELECT 'abc' !~ 'x'", True),
    ("SELECT 'St. Pete' ~ '.*\\\\..*'", True),  # two backslashes escape the period
    ("SELECT 'St Pete' ~ '.*\\\\..*'", False),
])
def test_posix_match_operators(sql_text: str, value: bool):
    assert _run(sql_text) == [(value,)]


def test_a_regex_operator_not_ported_is_refused_as_written():
    with pytest.raises(UnsupportedSqlError, match=r"operator ~\*"):
        translate("SELECT 'a' ~* 'A'")


@pytest.mark.parametrize(("sql_text", "error"), [
    ("SELECT 'a'::VARBYTE + 'b'::VARBYTE",
     "ERROR: unsupported on the embedded warehouse: operator + on VARBYTE, VARBYTE"),
    ("SELECT 5::SMALLINT::VARBYTE",
     "ERROR: unsupported on the embedded warehouse: cast from SMALLINT to VARBYTE"),
    ("SELECT venueid FROM (SELECT 1 AS venueid) AS v ORDER BY 2",
     "ERROR: ORDER BY position is not in select list"),
])
def test_duckdb_failures_of_a_class_read_as_refusals_or_redshifts_error(sql_text, error):
    from pipeline.offline.warehouse.engine import redshift_error

    with pytest.raises(duckdb.Error) as raised:
        _run(sql_text)
    assert redshift_error(raised.value) == error


def test_bit_aggregates_keep_the_integer_type_and_skip_nulls():
    """c_bitwise_aggregate_functions.html: NULL when no row qualifies; DISTINCT changes
    nothing."""
    setup = ("CREATE TABLE b_t (q INT)", "INSERT INTO b_t VALUES (30), (40), (40), (NULL)")
    assert _run("SELECT BIT_AND(q), BIT_OR(DISTINCT q), BIT_OR(q) FROM b_t", setup) == \
        [(8, 62, 62)]
    assert _run("SELECT BIT_OR(q) FROM b_t WHERE q > 100", setup) == [(None,)]


# ------------------------------------------------- math functions outside their domain


@pytest.mark.parametrize(("sql_text", "what"), [
    ("SELECT SQRT(-4)", "SQRT of a negative number"),
    ("SELECT |/ -4.0", "SQRT of a negative number"),
    ("SELECT LN(0)", "LN of zero"),
    ("SELECT LN(x) FROM (SELECT -1.5 AS x) s", "LN of zero"),
    ("SELECT LOG(-10)", "LOG of zero"),
    ("SELECT ACOS(2)", "ACOS outside"),
    ("SELECT ASIN(-1.5)", "ASIN outside"),
    ("SELECT POWER(-8, 0.5)", "POWER of a negative number"),
    ("SELECT POW(0, -1)", "POWER of a negative number"),
    ("SELECT EXP(1000)", "EXP past the range"),
])
def test_a_math_function_outside_its_domain_is_refused_not_nan(sql_text, what):
    """DuckDB answers NaN or an infinity where PostgreSQL, whose float functions Redshift
    keeps, raises an error; the Redshift pages (r_SQRT, r_LN, r_LOG, r_ACOS, r_ASIN,
    r_POWER, r_EXP) say neither, so the twin refuses rather than guesses."""
    with pytest.raises(duckdb.Error, match=f"unsupported on the embedded warehouse: {what}"):
        _run(sql_text)


def test_math_functions_inside_their_domain_answer_as_before():
    """The same functions on the pages' own kinds of argument, NULL passing through."""
    assert _run("SELECT SQRT(16), LN(1), LOG(100), POWER(2, 10), POWER(-8, 3), POW(4, 0.5), "
                "ACOS(1), ASIN(0), EXP(0), |/ 25.0") == [
        (4.0, 0.0, 2.0, 1024.0, -512.0, 2.0, 0.0, 0.0, 1.0, 5.0)]
    assert _run("SELECT SQRT(x) FROM (SELECT NULL::FLOAT8 AS x) s") == [(None,)]


# ------------------------------------------------- issue 23, round 4: classes it found


@pytest.mark.parametrize(("sql_text", "value"), [
    # r_Dateparts_for_datetime_functions.html: every abbreviation of a part is that part,
    # and decade 201 is 2000-2009, in DATE_PART as in EXTRACT
    ("SELECT DATE_PART(dec, DATE '2000-01-01')", 201),
    ("SELECT DATE_PART(decades, DATE '2009-12-31')", 201),
    ("SELECT EXTRACT(decs FROM TIMESTAMP '2010-01-01 00:00:00')", 202),
    ("SELECT DATE_PART(mils, DATE '2001-01-01')", 3),
    ("SELECT DATE_PART(dw, DATE '2008-01-05'), DATE_PART(yearday, DATE '2008-02-01')", (6, 32)),
    # "an expression that implicitly converts to a date or timestamp"
    ("SELECT DATE_PART(month, '2008-07-15')", 7),
    # centuries start with year ###1 and millennia with #001, in DATE_TRUNC and DATEDIFF
    ("SELECT DATE_TRUNC('cent', TIMESTAMP '2000-06-01 10:00:00')",
     __import__("datetime").datetime(1901, 1, 1)),
    ("SELECT DATE_TRUNC('millennia', DATE '2024-07-04')",
     __import__("datetime").datetime(2001, 1, 1)),
    ("SELECT DATE_TRUNC('c', DATE '2001-01-01')", __import__("datetime").datetime(2001, 1, 1)),
    ("SELECT DATEDIFF(c, '2000-12-31', '2001-01-01')", 1),
    ("SELECT DATEDIFF(century, '1901-01-01', '2000-12-31')", 0),
    ("SELECT DATEDIFF(mil, '2001-06-01', '2000-06-01')", -1),
    ("SELECT DATE_TRUNC('qtrs', DATE '2024-08-04')", __import__("datetime").datetime(2024, 7, 1)),
])
def test_date_parts_are_read_through_redshifts_table_in_every_function(sql_text, value):
    row = _run(sql_text)[0]
    assert (row if len(row) > 1 else row[0]) == value


@pytest.mark.parametrize(("sql_text", "message"), [
    # r_DATE_TRUNC.html lists the valid formats: no day of week, day of year or epoch
    ("SELECT DATE_TRUNC('dow', TIMESTAMP '2008-01-05 10:00:00')", 'timestamp units "dow"'),
    ("SELECT DATE_TRUNC('doy', DATE '2008-01-05')", 'timestamp units "doy"'),
    ("SELECT DATE_TRUNC('epoch', DATE '2008-01-05')", 'timestamp units "epoch"'),
    ("SELECT EXTRACT(fortnight FROM DATE '2008-01-05')", 'date part "fortnight"'),
    ("SELECT DATE_PART(fortnight, DATE '2008-01-05')", 'date part "fortnight"'),
    ("SELECT DATEADD(fortnight, 1, DATE '2008-01-05')", 'date part "fortnight"'),
    ("SELECT DATEDIFF(fortnight, '2008-01-01', '2008-02-01')", 'date part "fortnight"'),
])
def test_a_date_part_a_function_does_not_take_is_redshifts_error(sql_text, message):
    with pytest.raises(t.RedshiftSqlError, match=message):
        to_duckdb(sql_text)


def test_a_frame_without_between_is_bounded_by_the_current_row():
    """c_Window_functions.html: "ROWS UNBOUNDED FOLLOWING is equal to ROWS BETWEEN CURRENT
    ROW AND UNBOUNDED FOLLOWING"; a lone FOLLOWING bound ends the frame too."""
    setup = ("CREATE TABLE f_t (k INT, q INT)",
             "INSERT INTO f_t VALUES (1, 10), (2, 15), (3, 20), (4, 30)")
    assert _run("SELECT k, SUM(q) OVER (ORDER BY k ROWS UNBOUNDED FOLLOWING) FROM f_t "
                "ORDER BY k", setup) == [(1, 75), (2, 65), (3, 50), (4, 30)]
    assert _run("SELECT k, SUM(q) OVER (ORDER BY k ROWS 1 FOLLOWING) FROM f_t ORDER BY k",
                setup) == [(1, 25), (2, 35), (3, 50), (4, 30)]
    assert _run("SELECT k, SUM(q) OVER (ORDER BY k ROWS 1 PRECEDING) FROM f_t ORDER BY k",
                setup) == [(1, 10), (2, 25), (3, 35), (4, 50)]


@pytest.mark.parametrize("sql_text", [
    "SELECT ROW_NUMBER() OVER (ORDER BY 'x') FROM t",
    "SELECT COUNT(*) OVER (PARTITION BY 'x') FROM t",
    "SELECT SUM(a) OVER (PARTITION BY a ORDER BY 'x' ROWS UNBOUNDED PRECEDING) FROM t",
])
def test_a_string_literal_as_a_window_key_is_redshifts_error(sql_text):
    """c_Window_functions.html: "Amazon Redshift doesn't support string literals in
    PARTITION BY clauses" (and in ORDER BY clauses)."""
    with pytest.raises(t.RedshiftSqlError, match="string literal 'x' in a window's"):
        to_duckdb(sql_text)


def test_text_functions_at_their_edges_answer_as_the_pages_say():
    # r_SUBSTRING.html: the length "cannot be negative", wherever the start is
    for sql_text in ("SELECT SUBSTRING('caterpillar', 6, -1)",
                     "SELECT SUBSTRING('caterpillar', -6, -1)",
                     "SELECT SUBSTRING(s, 2, n) FROM (SELECT 'abc' AS s, -2 AS n) q"):
        with pytest.raises(duckdb.Error, match="negative substring length"):
            _run(sql_text)
    assert _run("SELECT SUBSTRING('caterpillar', 6, 0), SUBSTRING('caterpillar', 0, 3)") == \
        [("", "ca")]
    # r_CHR.html: "If the input number has no ASCII match, the function returns null"
    assert _run("SELECT CHR(65), CHR(127), CHR(128), CHR(200), CHR(NULL)") == \
        [("A", "\x7f", None, None, None)]
    # r_NULLIF_function.html: "NULLIF ignores trailing spaces", and keeps the first type
    assert _run("SELECT NULLIF('a', 'a  '), NULLIF('a ', 'a'), NULLIF('a', 'b'), "
                "NULLIF(s, '') FROM (SELECT '' AS s) q") == [(None, None, "a", None)]


def test_number_and_iso_year_formats_of_to_char():
    # a zero integer part prints as 0 unless decimals follow (PostgreSQL's rule)
    assert _run("SELECT TO_CHAR(0, '999'), TO_CHAR(-7, '999'), TO_CHAR(0.5, '9.9')") == \
        [("   0", "  -7", "  .5")]
    # r_FORMAT_strings.html: IYYY is the ISO year, Y,YYY the year with a comma
    assert _run("SELECT TO_CHAR(DATE '2000-01-01', 'IYYY-IW'), "
                "TO_CHAR(DATE '2000-01-01', 'Y,YYY')") == [("1999-52", "2,000")]


@pytest.mark.parametrize("text", ["2.5", "1e3", "abc", "", "12 34"])
def test_text_cast_to_an_integer_type_must_spell_an_integer(text):
    """c_Supported_data_types.html: a string cast to a numeric type must represent one;
    integer input reads digits only (DuckDB rounds '2.5' to 3)."""
    for target in ("SMALLINT", "INTEGER", "BIGINT"):
        with pytest.raises(t.RedshiftSqlError, match="invalid input syntax for integer"):
            to_duckdb(f"SELECT CAST('{text}' AS {target})")
    with pytest.raises(t.RedshiftSqlError, match="invalid input syntax for integer"):
        to_duckdb(f"SELECT CONVERT(INTEGER, '{text}')")


def test_text_that_spells_an_integer_still_casts():
    assert _run("SELECT ' 12 '::BIGINT, '-7'::SMALLINT, CAST('+5' AS INTEGER), "
                "CAST('2.5' AS DECIMAL(3, 1))")[0][:3] == (12, -7, 5)


def test_varchar_columns_hold_at_most_their_length_in_bytes():
    """r_Character_types.html: storing a longer string is an error "unless the extra
    characters are all spaces"; lengths are bytes, so 'café' needs five."""
    setup = ("CREATE TABLE v_t (v VARCHAR(4), w VARCHAR(MAX), x VARCHAR)",
             "INSERT INTO v_t VALUES ('abcd', 'x', 'any length of text'), (NULL, NULL, NULL)",
             "INSERT INTO v_t (v) VALUES ('ab  ')")
    assert _run("SELECT COUNT(*) FROM v_t", setup) == [(3,)]
    for statement in ("INSERT INTO v_t (v) VALUES ('abcde')",
                      "INSERT INTO v_t (v) VALUES ('café')",
                      "UPDATE v_t SET v = 'abcdef'"):
        with pytest.raises(duckdb.Error, match=r"value too long for type character varying\(4\)"):
            _run(statement, setup)
    assert _run("SELECT v FROM v_t WHERE v = 'abc '", (*setup, "UPDATE v_t SET v = 'abc'")) \
        == [("abc",)] * 3


@pytest.mark.parametrize(("sql_text", "message"), [
    ("SELECT catid FROM s_cat UNION SELECT catname FROM s_cat",
     "UNION types smallint and varchar cannot be matched"),
    ("SELECT flag FROM s_cat INTERSECT SELECT catid FROM s_cat",
     "INTERSECT types boolean and smallint cannot be matched"),
    ("SELECT catid, catname FROM s_cat EXCEPT SELECT catid, day FROM s_cat",
     "EXCEPT types varchar and date cannot be matched"),
    ("WITH c AS (SELECT catname FROM s_cat) SELECT catid FROM s_cat UNION ALL SELECT catname "
     "FROM c", "UNION types smallint and varchar cannot be matched"),
    ("SELECT COUNT(*) FROM (SELECT catid FROM s_cat UNION SELECT flag FROM s_cat) t",
     "UNION types smallint and boolean cannot be matched"),
])
def test_set_operations_refuse_columns_of_two_type_categories(sql_text, message):
    """r_UNION.html: "Set operations don't allow implicit conversion between different
    categories of data types"; DuckDB converts (to VARCHAR, or a boolean to an integer)."""
    setup = ("CREATE TABLE s_cat (catid SMALLINT, catname VARCHAR(10), flag BOOLEAN, day DATE)",)
    with pytest.raises(duckdb.Error, match=message):
        _run(sql_text, setup)


def test_set_operations_of_one_category_or_untyped_literals_still_run():
    setup = ("CREATE TABLE s_cat (catid SMALLINT, big BIGINT, x DOUBLE, day DATE, ts TIMESTAMP)",
             "INSERT INTO s_cat VALUES (1, 2, 2.5, DATE '2008-01-01', "
             "TIMESTAMP '2008-01-02 03:00:00')")
    assert _run("SELECT catid FROM s_cat UNION SELECT big FROM s_cat UNION SELECT x FROM s_cat "
                "ORDER BY 1", setup) == [(1.0,), (2.0,), (2.5,)]
    assert len(_run("SELECT day FROM s_cat UNION ALL SELECT ts FROM s_cat", setup)) == 2
    assert _run("SELECT catid FROM s_cat UNION SELECT NULL ORDER BY 1", setup) == [(1,), (None,)]
    assert _run("SELECT 'all' AS k, catid FROM s_cat UNION ALL SELECT 'x', big FROM s_cat "
                "ORDER BY 2", setup) == [("all", 1), ("x", 2)]
    # a correlated set operation is not described alone (it would not bind), and still runs
    assert _run("SELECT catid FROM s_cat o WHERE catid IN (SELECT o.catid UNION SELECT big FROM "
                "s_cat)", setup) == [(1,)]


# ------------------------------------------------- classes the fifth held-out set found


def test_in_between_simple_case_and_decode_compare_strings_as_equality_does():
    """r_Character_types.html: trailing blanks are insignificant in every comparison, not
    only `=`: IN lists, BETWEEN, a simple CASE and DECODE compare as `=`/`>=`/`<=` do, with
    their own NULL logic (r_in_condition.html, r_DECODE_expression.html)."""
    table = "(SELECT 'gamma ' AS s, NULL::VARCHAR AS n, 3 AS i) q"
    assert _run(f"SELECT s IN ('gamma', 'x'), s NOT IN ('gamma'), s IN ('x', NULL), "
                f"s BETWEEN 'gamma' AND 'gamma', s NOT BETWEEN 'gamma' AND 'gamma' "
                f"FROM {table}") == [(True, False, None, True, False)]
    assert _run(f"SELECT CASE s WHEN 'x' THEN 0 WHEN 'gamma' THEN 1 ELSE 2 END, "
                f"CASE n WHEN 'gamma' THEN 1 ELSE 2 END FROM {table}") == [(1, 2)]
    # DECODE: a NULL search value matches a NULL expression; a default when nothing does
    assert _run(f"SELECT DECODE(s, 'gamma', 1, 0), DECODE(n, 'gamma', 1, NULL, 2, 0), "
                f"DECODE(s, 'x', 1), DECODE(s, n, 1, 'gamma  ', 2) FROM {table}") == \
        [(1, 2, None, 2)]
    # an integer meets a string as text (c_Supported_data_types.html), in a list too
    assert _run(f"SELECT i IN ('3', '4'), i BETWEEN '10' AND '4' FROM {table}") == \
        [(True, True)]


def test_select_distinct_orders_only_by_what_it_selects():
    """PostgreSQL's rule, Redshift's too: "for SELECT DISTINCT, ORDER BY expressions must
    appear in select list"; positions, names, aliases and selected expressions pass."""
    with pytest.raises(RedshiftSqlError, match="must appear in select list"):
        translate("SELECT DISTINCT a FROM t ORDER BY b")
    with pytest.raises(RedshiftSqlError, match="must appear in select list"):
        translate("SELECT DISTINCT a FROM t ORDER BY a + 1")
    for ok in ("SELECT DISTINCT a FROM t ORDER BY 1", "SELECT DISTINCT a AS x FROM t ORDER BY x",
               "SELECT DISTINCT t.a FROM t ORDER BY a DESC", "SELECT DISTINCT * FROM t ORDER BY b",
               "SELECT DISTINCT UPPER(a) FROM t ORDER BY upper(a)",
               "SELECT a FROM t ORDER BY b"):
        translate(ok)


def test_a_reserved_word_cannot_name_a_column_being_defined_or_listed():
    """r_pg_keywords.html: RAW is reserved, so CREATE TABLE, ADD COLUMN and an INSERT's
    column list must write "raw"."""
    for statement in ("CREATE TABLE t (id INT, raw SUPER)", "ALTER TABLE t ADD COLUMN raw SUPER",
                      "INSERT INTO t (id, raw) VALUES (1, NULL)"):
        with pytest.raises(SqlSyntaxError, match='"raw"'):
            translate(statement)
    translate('CREATE TABLE t (id INT, "raw" SUPER)')
    translate('INSERT INTO t (id, "raw") VALUES (1, NULL)')


def test_quote_ident_quotes_only_where_needed_and_quote_literal_always():
    """r_QUOTE_IDENT.html: quotes only for non-identifier characters, upper case (which would
    fold) or a reserved word, embedded quotes doubled; r_QUOTE_LITERAL.html: single quotes,
    embedded single quotes and backslashes doubled, a number as its text."""
    assert _run("SELECT QUOTE_IDENT('venue'), QUOTE_IDENT('MLB'), QUOTE_IDENT('my col'), "
                "QUOTE_IDENT('a\"b'), QUOTE_IDENT('group'), QUOTE_IDENT('1a'), "
                "QUOTE_IDENT(NULL)") == \
        [("venue", '"MLB"', '"my col"', '"a""b"', '"group"', '"1a"', None)]
    assert _run("SELECT QUOTE_LITERAL('O''Reilly'), QUOTE_LITERAL(12), "
                "QUOTE_LITERAL('a' || CHR(92) || 'b'), QUOTE_LITERAL(NULL)") == \
        [("'O''Reilly'", "'12'", "'a\\\\b'", None)]
