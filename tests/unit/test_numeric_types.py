"""Redshift's numeric result types through the engine's entry point: the Data API's text
and column metadata (typeName, precision, scale) for cases computed by hand from the
pages (tests/unit/numeric_cases.py), and the rule's parts on their own."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlglot import exp

from pipeline.offline.warehouse.engine import DuckDbWarehouse, Session, StatementFailed
from pipeline.offline.warehouse.translate import Catalog, UnsupportedSqlError, to_duckdb
from pipeline.offline.warehouse.translate.numeric_types import (
    arithmetic_type,
    decimal,
    literal_type,
)
from tests.unit import numeric_cases

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    warehouse = DuckDbWarehouse.in_memory()
    session = Session(warehouse, "numeric", threading.Event(), autocommit=True)
    for statement in numeric_cases.SETUP:
        session.run(statement)
    yield session
    session.close()
    warehouse.close()


def check(session: Session, case: numeric_cases.Case) -> None:
    sql, value, column_type = case
    if isinstance(value, tuple):
        with pytest.raises(StatementFailed, match=value[1] or None):
            session.run(sql)
        return
    result = session.run(sql).result
    assert result is not None
    (field,), = result.records
    shown = field.get("stringValue", field.get("longValue", field.get("doubleValue")))
    assert (shown, type(shown)) == (value, type(value)), sql
    meta = result.columns[0]
    assert (meta["typeName"], meta["precision"], meta["scale"]) == column_type, sql


@pytest.mark.parametrize("case", numeric_cases.DEV, ids=[c[0] for c in numeric_cases.DEV])
def test_numeric_results_have_redshifts_type_and_digits(session: Session, case) -> None:
    check(session, case)


@pytest.mark.parametrize("case", numeric_cases.HELD_OUT,
                         ids=[c[0] for c in numeric_cases.HELD_OUT])
def test_held_out_numeric_cases(session: Session, case) -> None:
    check(session, case)


@pytest.mark.parametrize(("operator", "a", "b", "result"), [
    # r_numeric_computations201.html, its own examples: PRICEPAID / COMMISSION is
    # DECIMAL(17,9); COMMISSION * QTYSOLD is DECIMAL(8,2) * DECIMAL(5,0).
    (exp.Div, decimal(8, 2), decimal(8, 2), decimal(17, 9)),
    (exp.Mul, decimal(8, 2), decimal(5, 0), decimal(14, 2)),
    (exp.Add, decimal(7, 2), decimal(15, 3), decimal(16, 3)),
    (exp.Div, decimal(38, 0), decimal(38, 0), decimal(38, 4)),
])
def test_result_types_follow_the_page(operator, a, b, result) -> None:
    assert arithmetic_type(operator, a, b) == result


@pytest.mark.parametrize(("text", "precision", "scale"), [
    ("48.2891", 6, 4),  # r_Numeric_types201.html: "a precision of 6 and a scale of 4"
    ("0.05", 2, 2), ("7.", 1, 0), (".5", 1, 1),
])
def test_a_decimal_literal_has_its_digits_as_precision_and_scale(text, precision, scale):
    assert literal_type(exp.Literal.number(text)) == decimal(precision, scale)


def test_without_the_catalog_a_decimal_quotient_of_columns_is_refused_at_run_time():
    """A column's type unknown to the translator: refused when DuckDB finds a DECIMAL,
    answered when it finds integers (integer division) or a float."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE t (d DECIMAL(8,2), i INTEGER, f DOUBLE)")
    con.execute("INSERT INTO t VALUES (7, 7, 7)")
    assert con.execute(to_duckdb("SELECT i / 2, f / 2 FROM t")).fetchone() == (3, 3.5)
    with pytest.raises(duckdb.Error, match="unsupported on the embedded warehouse: DECIMAL"):
        con.execute(to_duckdb("SELECT d / 2 FROM t")).fetchall()
    catalog = Catalog.of([("main", "t", "d", "DECIMAL(8,2)")])
    assert str(con.execute(to_duckdb("SELECT d / 2 FROM t", catalog)).fetchone()[0]) == \
        "3.5000000000000"


def test_a_temporary_table_shadows_a_table_of_the_same_name():
    catalog = Catalog.of([("main", "t", "d", "DECIMAL(8,2)"), ("temp", "t", "d", "INTEGER")])
    assert "//" in to_duckdb("SELECT d / 2 FROM t", catalog)  # INTEGER / INTEGER


def test_a_scale_past_37_is_refused_before_duckdb_runs():
    with pytest.raises(UnsupportedSqlError, match="maximum scale is 37"):
        to_duckdb("SELECT CAST(1 AS DECIMAL(38,20)) * CAST(1 AS DECIMAL(38,20))")


def test_a_function_of_unknown_type_divided_is_refused_by_name(session: Session):
    with pytest.raises(StatementFailed, match="DECIMAL division of an expression whose"):
        session.run("SELECT ROUND(pricepaid, 1) / 2 FROM sales")


@pytest.mark.parametrize(("sql", "text", "precision", "scale"), [
    # A CASE of integers is an integer; its SUM a BIGINT (r_SUM.html); * 1.0 / COUNT(*)
    # is (22,1) / (19,0): precision 38, scale 17 (r_numeric_computations201.html).
    ("SELECT SUM(CASE WHEN qtysold > 0 THEN 1 ELSE 0 END) * 1.0 / COUNT(*) FROM sales",
     "1.00000000000000000", 38, 17),
    # COALESCE(DECIMAL(8,2), INT4): scale 2, precision min(max(6,10)+2, 19) = 12 (the
    # page's COALESCE/DECODE rule); its SUM is (38,2); / BIGINT: scale max(38+22-58, 4).
    ("SELECT SUM(COALESCE(pricepaid, 0)) / COUNT(*) FROM sales", "2500.0000", 38, 4),
    # A scalar subquery's column: INT4 / MAX(DECIMAL(8,2)): scale max(4, 0+8-2+1) = 7,
    # precision 10+2+7 = 19.
    ("SELECT 1 / (SELECT MAX(commission) FROM sales)", "0.0026667", 19, 7),
])
def test_case_coalesce_and_subqueries_carry_their_types(session, sql, text, precision, scale):
    result = session.run(sql).result
    assert result is not None
    assert result.records[0][0]["stringValue"] == text
    assert (result.columns[0]["precision"], result.columns[0]["scale"]) == (precision, scale)


@pytest.mark.parametrize(("sql", "text"), [
    # r_Numeric_types201.html: "results of explicit casts of values selected from tables
    # are not rounded": 2500.00 / 375.00 is 6.666666667 (DECIMAL(17,9)); cast to two
    # places from the table's column it keeps 6.66.
    ("SELECT (pricepaid / commission)::DECIMAL(10,2) FROM sales", "6.66"),
    ("SELECT CAST(-commission / 7 AS DECIMAL(10,1)) FROM sales", "-53.5"),
    # A literal's cast rounds, as the corpus's CAST cases from r_CAST_function.html show.
    ("SELECT 1.239::DECIMAL(5,2)", "1.24"),
])
def test_explicit_casts_of_table_values_are_not_rounded(session, sql, text):
    result = session.run(sql).result
    assert result is not None
    assert result.records[0][0]["stringValue"] == text


def test_a_value_past_a_casts_precision_is_redshifts_overflow(session):
    """r_numeric_computations201.html: `select pricepaid::decimal(7,3) from sales` fails
    with "Numeric data overflow (result precision)" where a value does not fit."""
    with pytest.raises(StatementFailed, match=r"Numeric data overflow \(result precision\)"):
        session.run("SELECT pricepaid::DECIMAL(5,3) FROM sales")


@pytest.mark.parametrize(("sql", "shown", "column_type"), [
    # r_DATEDIFF_function.html: BIGINT; (19,0) / (5,1): scale max(4, 0+5-1+1) = 5,
    # precision 19+1+5 = 25 (r_numeric_computations201.html).
    ("SELECT DATEDIFF(millisecond, TIMESTAMP '2020-01-01 00:00:00', "
     "TIMESTAMP '2020-01-01 00:00:01.5') / 1000.0", "1.50000", ("numeric", 25, 5)),
    # r_DATE_PART_function.html: DOUBLE, so a quotient of it is a float (DuckDB's
    # date_part is a BIGINT, which `//` would divide as an integer).
    ("SELECT DATE_PART(hour, TIMESTAMP '2020-01-01 07:00:00') / 2", 3.5, ("float8", 0, 0)),
    # r_LEN.html: an integer; INT4 (10,0) / (2,1): scale 4, precision 15.
    ("SELECT LEN('abc') / 2.0", "1.5000", ("numeric", 15, 4)),
    # r_WF_ROW_NUMBER.html: BIGINT, divided by an integer as integers.
    ("SELECT ROW_NUMBER() OVER (ORDER BY salesid) / 2 FROM sales", 0, ("int8", 0, 0)),
])
def test_functions_with_documented_integer_or_double_results(session, sql, shown, column_type):
    check(session, (sql, shown, column_type))


@pytest.mark.parametrize(("sql", "texts", "precision", "scale"), [
    # r_numeric_computations201.html: DECIMAL(7,2) UNION DECIMAL(15,3) is NUMERIC(15,3)
    # (the page's DEC3 example); / INT4: scale max(4, 3+10+1) = 14, precision 26.
    ("SELECT c / 2 FROM (SELECT 1.25::DECIMAL(7,2) AS c UNION ALL "
     "SELECT 2.125::DECIMAL(15,3)) u ORDER BY 1", ["0.62500000000000", "1.06250000000000"],
     26, 14),
    # A CTE's column list renames by position: b is the DECIMAL(4,2), whatever the
    # projections are called; / INT4: scale max(4, 2+10+1) = 13, precision 15.
    ("WITH c(b, a) AS (SELECT 2.25::DECIMAL(4,2) AS a, 1.5::DECIMAL(3,1) AS b) "
     "SELECT b / 1 FROM c", ["2.2500000000000"], 15, 13),
])
def test_union_and_renamed_columns_carry_their_types(session, sql, texts, precision, scale):
    result = session.run(sql).result
    assert result is not None
    assert [r[0]["stringValue"] for r in result.records] == texts
    assert (result.columns[0]["precision"], result.columns[0]["scale"]) == (precision, scale)


def test_update_and_delete_know_their_tables_columns():
    """UPDATE's and DELETE's target table types its columns as a SELECT's FROM does:
    DECIMAL(8,2) / INT4 has scale 13 (r_numeric_computations201.html), and the value
    stored into a DECIMAL(10,4) column is rounded to 4 places (r_Numeric_types201.html)."""
    warehouse = DuckDbWarehouse.in_memory()
    session = Session(warehouse, "dml", threading.Event(), autocommit=True)
    try:
        session.run("CREATE TABLE t (id INT, a DECIMAL(10,4), b DECIMAL(8,2))")
        session.run("INSERT INTO t VALUES (1, 0, 7.00), (2, 0, 1.00)")
        session.run("UPDATE t SET a = b / 3 WHERE id = 1")
        session.run("DELETE FROM t WHERE b / 3 < 1")
        result = session.run("SELECT id, a FROM t").result
        assert result is not None
        assert result.records == [[{"longValue": 1}, {"stringValue": "2.3333"}]]
    finally:
        session.close()
        warehouse.close()


@pytest.mark.parametrize("sql", [
    "SELECT 1.5::FLOAT8 / 0",
    "SELECT f / 0 FROM (SELECT 2.5::FLOAT8 AS f) s",
    "SELECT 4 / f FROM (SELECT 0::FLOAT4 AS f) s",
    "SELECT DATE_PART(hour, '2024-01-01 07:00'::TIMESTAMP) / 0",
])
def test_a_float_quotient_by_zero_is_redshifts_error_not_infinity(session: Session, sql: str):
    """PostgreSQL's float8div raises "division by zero", and Redshift with it; DuckDB's `/`
    answers Infinity (held-out r4's `SELECT f / 0 FROM r4_t` found it)."""
    with pytest.raises(StatementFailed, match="division by zero"):
        session.run(sql)


def test_a_float_quotient_divides_as_floats(session: Session):
    outcome = session.run("SELECT DATE_PART(hour, '2024-01-01 07:00'::TIMESTAMP) / 2, "
                          "f / 4 FROM (SELECT 7.0::FLOAT8 AS f) s")
    assert outcome.result is not None
    assert outcome.result.records == [[{"doubleValue": 3.5}, {"doubleValue": 1.75}]]


@pytest.mark.parametrize(("sql", "shown", "column_type"), [
    # r_AVG.html: "an AVG of a DEC(5,2) column returns a DEC(38,2)"; 2500.00 and 375.00
    # average to 1437.50, which has no digit past the scale.
    ("SELECT AVG(pricepaid) FROM (SELECT pricepaid FROM sales UNION ALL "
     "SELECT commission FROM sales) q", "1437.50", ("numeric", 38, 2)),
    ("SELECT AVG(DISTINCT pricepaid) FROM sales", "2500.00", ("numeric", 38, 2)),
    ("SELECT AVG(pricepaid) OVER () FROM sales", "2500.00", ("numeric", 38, 2)),
    # an AVG of a DECIMAL is a DECIMAL(38, s) in arithmetic too: (38,2) * (5,0)
    ("SELECT AVG(pricepaid) * 2 FROM sales", "5000.00", ("numeric", 38, 2)),
    # the mean of 2500.00 and 375.00 and 1.00 is 958.666...: how its digits past the
    # scale go is not documented, so it is refused, never guessed
    ("SELECT AVG(v) FROM (SELECT pricepaid AS v FROM sales UNION ALL SELECT commission "
     "FROM sales UNION ALL SELECT CAST(1 AS DECIMAL(8,2))) q",
     (None, "AVG of a DECIMAL whose mean has more digits than its scale"), None),
    ("SELECT AVG(pricepaid) FROM sales WHERE salesid > 1", None, ("numeric", 38, 2)),
])
def test_an_average_of_decimals_is_a_decimal_38_when_exact(session, sql, shown, column_type):
    if shown is None:
        result = session.run(sql).result
        assert result is not None
        assert result.records[0][0].get("isNull") is True
        assert (result.columns[0]["typeName"], result.columns[0]["precision"],
                result.columns[0]["scale"]) == column_type
        return
    check(session, (sql, shown, column_type))
