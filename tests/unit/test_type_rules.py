"""Redshift's type rules on DuckDB, one class a test: each rule's input, run on DuckDB."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from pipeline.offline.warehouse.translate import UnsupportedSqlError, to_duckdb
from pipeline.offline.warehouse.translate.literals import iso_text

pytestmark = pytest.mark.unit


def _one(sql: str, setup: str = "") -> object:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if setup:
        con.execute(setup)
    return con.execute(to_duckdb(sql)).fetchone()


@pytest.mark.parametrize(("sql", "value"), [
    # r_Dateparts_for_datetime_functions.html
    ("SELECT DATE_PART(sec, TIMESTAMP '2009-09-21 11:10:03.189717')", 3.189717),
    ("SELECT EXTRACT(sec FROM TIMESTAMP '2009-09-21 11:10:03.189717')", 3),
    ("SELECT EXTRACT(decade FROM DATE '1999-02-16')", 200),
    ("SELECT DATE_PART(decades, DATE '2000-02-16')", 201),
])
def test_date_parts_follow_redshifts_conventions(sql: str, value: float) -> None:
    assert _one(sql) == (value,)


@pytest.mark.parametrize(("sql", "value"), [
    # c_Supported_data_types.html: numbers become text where a function takes text...
    ("SELECT LEN(i) FROM t", 2),
    ("SELECT SPLIT_PART(ts, '-', 2) FROM t", "03"),
    # ... and an integer, REAL or DOUBLE compared with a string is compared as text (a
    # DECIMAL is not: the string becomes a DECIMAL).
    ("SELECT COUNT(*) FROM t WHERE i < '9'", 1),
    ("SELECT COUNT(*) FROM t WHERE d < '9'", 0),
    ("SELECT COUNT(*) FROM t WHERE f < '9'", 1),
    ("SELECT COUNT(*) FROM t WHERE r < '9'", 1),
    ("SELECT COUNT(*) FROM t WHERE f = '10.50'", 0),
    ("SELECT COUNT(*) FROM t WHERE d = '10.500'", 1),
    # r_extra_float_digits.html: a float's text has DBL_DIG (15) / FLT_DIG (6) digits, in
    # every conversion: a cast, a string function's argument, `||`.
    ("SELECT (0.1::FLOAT8 + 0.2::FLOAT8)::VARCHAR", "0.3"),
    ("SELECT CAST(PI() AS REAL)::VARCHAR", "3.14159"),
    ("SELECT LEN(f * 3) FROM t", 4),
    ("SELECT 'x' || f || r FROM t", "x10.510.5"),
])
def test_implicit_conversions_of_the_type_compatibility_page(sql: str, value: object) -> None:
    setup = ("CREATE TABLE t AS SELECT 10 AS i, CAST(10.5 AS DECIMAL(8, 2)) AS d, "
             "TIMESTAMP '2008-03-05 12:25:29' AS ts, 10.5::DOUBLE AS f, 10.5::FLOAT AS r")
    assert _one(sql, setup) == (value,)


@pytest.mark.parametrize(("text", "iso"), [
    ("Jun 1,2008", "2008-06-01"), ("20081231", "2008-12-31"), ("1/8/1999", "1999-01-08"),
    ("January 8, 1999", "1999-01-08"), ("Dec 31,2008 18:20", "2008-12-31 18:20:00"),
    ("20080305 12:25:29", "2008-03-05 12:25:29"), ("2008-06-01 23:00:00-05", None),
])
def test_date_literals_in_redshifts_input_formats_become_iso(text: str, iso: str | None) -> None:
    assert iso_text(text) == (iso or text)


def test_a_date_literal_in_a_format_not_ported_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedSqlError, match="literal 'Jun 1,2008 09:59:59 EST'"):
        to_duckdb("SELECT CAST('Jun 1,2008 09:59:59 EST' AS TIMESTAMPTZ)")


def test_a_varchar_n_cast_keeps_n_characters_and_refuses_cutting_multibyte_text() -> None:
    assert _one("SELECT CAST('City of South San Francisco' AS VARCHAR(20))") == (
        "City of South San Fr",)
    assert _one("SELECT CAST(NULL AS VARCHAR(3)), 'ab'::VARCHAR(5)") == (None, "ab")
    with pytest.raises(duckdb.Error, match="unsupported on the embedded warehouse: VARCHAR"):
        _one("SELECT CAST('Άμαζον' AS VARCHAR(3))")


def test_bool_aggregates_take_distinct() -> None:
    assert _one("SELECT BOOL_OR(DISTINCT a > 1), BOOL_AND(DISTINCT a > 1) FROM t",
                "CREATE TABLE t AS SELECT * FROM (VALUES (1), (2)) v(a)") == (True, False)


def test_a_bare_decimal_is_decimal_18_0() -> None:
    """r_Numeric_types201.html: default precision 18, default scale 0."""
    assert _one("SELECT CAST('7.4' AS DECIMAL), CAST(7.6 AS NUMERIC), CAST(1.25 AS DECIMAL(5, 2))"
                ) == (7, 8, Decimal("1.25"))


def test_keyword_form_calls_take_numbers_as_text_too() -> None:
    """SUBSTRING, POSITION and TRIM are parsed by sqlglot's own function parsers; the
    implicit text conversion reaches them as well (c_Supported_data_types.html)."""
    assert _one("SELECT SUBSTRING(12345, 2, 2), SUBSTRING(12345 FROM 2 FOR 2), "
                "POSITION(3 IN 12345)") == ("23", "23", 3)


def test_split_part_below_one_fails_as_the_page_says() -> None:
    """SPLIT_PART.html: part "must be an integer greater than 0"."""
    assert _one("SELECT SPLIT_PART('a,b,c', ',', 2)") == ("b",)
    with pytest.raises(duckdb.Error, match="field position must be greater than zero"):
        _one("SELECT SPLIT_PART('a,b,c', ',', 0)")


def test_a_number_column_compared_with_a_text_column_is_refused_not_misreported() -> None:
    """Redshift compares them as text; DuckDB refuses to bind the comparison, and the
    engine reports that as a refusal rather than as DuckDB's own error."""
    from pipeline.offline.warehouse.engine import redshift_error

    with pytest.raises(duckdb.Error) as raised:
        _one("SELECT COUNT(*) FROM t WHERE i > s",
             "CREATE TABLE t AS SELECT 10 AS i, CAST('9' AS VARCHAR) AS s")
    assert redshift_error(raised.value).startswith(
        "ERROR: unsupported on the embedded warehouse: comparing INTEGER with VARCHAR")
