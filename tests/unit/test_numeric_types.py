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
