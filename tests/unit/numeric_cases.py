"""Redshift's numeric result types, computed by hand from the pages before the engine ran.

Each case: the Redshift SQL, then what the Data API shows for its one column: the text
(or a long/double), and the column's `typeName`, `precision` and `scale`; or
`("ERROR", fragment)`. Pages (https://docs.aws.amazon.com/redshift/latest/dg/):

- NC: r_numeric_computations201.html. `+`/`-`: scale max(s1,s2), precision
  max(p1-s1,p2-s2)+1+scale; `*`: scale s1+s2, precision p1+p2+1; `/`: scale
  max(4,s1+p2-s2+1), precision p1-s1+s2+scale, and past 38 digits precision 38 and scale
  max(38+scale-precision, 4); INT2/INT4/INT8 count as DECIMAL(5,0)/(10,0)/(19,0); an
  INTEGER and a DECIMAL give a DECIMAL, a float operand a FLOAT8; the maximum scale is 37.
- NT: r_Numeric_types201.html (default precision 18, default scale 0).
- MAX: r_MAX.html (`max(pricepaid/qtysold)` is 2500.00000000); SUM: r_SUM.html (a
  SUM of a DEC(5,2) column is DEC(38,2)); COUNT: r_COUNT.html (BIGINT).
- A literal `7.0` is DECIMAL(2,1): "48.2891 has a precision of 6 and a scale of 4" (NT).

The quotient's last digit is rounded half away from zero, the assumption
docs/redshift-sql.md states (the page gives the scale, not the rounding).

`DEV` is what the rule was developed against; `HELD_OUT` was run once, at the end.
"""

from __future__ import annotations

# sales: pricepaid DECIMAL(8,2), commission DECIMAL(8,2), qtysold SMALLINT (the TICKIT
# SALES columns the pages use); t3: x INTEGER, one value in three rows.
SETUP = (
    "CREATE TABLE sales (salesid INTEGER, pricepaid DECIMAL(8,2), commission DECIMAL(8,2), "
    "qtysold SMALLINT)",
    "INSERT INTO sales VALUES (1, 2500.00, 375.00, 1)",
    "CREATE TABLE t3 (x INTEGER)",
    "INSERT INTO t3 VALUES (1), (NULL), (NULL)",
)

Case = tuple[str, object, tuple[str, int, int] | None]

DEV: tuple[Case, ...] = (
    # NC: (2,1)/(2,1): scale max(4, 1+2-1+1) = 4, precision 2-1+1+4 = 6.
    ("SELECT 7.0 / 4.0", "1.7500", ("numeric", 6, 4)),
    # NC: the page's DECIMAL(8,2)/DECIMAL(8,2) is DECIMAL(17,9).
    ("SELECT 2.00::DECIMAL(8,2) / 3.00::DECIMAL(8,2)", "0.666666667", ("numeric", 17, 9)),
    # NC: (3,1)/INT4 (10,0): scale max(4, 1+10+1) = 12, precision 3-1+0+12 = 14.
    ("SELECT 10.0 / 4", "2.500000000000", ("numeric", 14, 12)),
    # MAX page example; NC: (8,2)/INT2 (5,0): scale 8, precision 8-2+0+8 = 14.
    ("SELECT pricepaid / qtysold FROM sales", "2500.00000000", ("numeric", 14, 8)),
    # NC: (2,1)*(2,1): precision 2+2+1 = 5, scale 2.
    ("SELECT 9.9::DECIMAL(2,1) * 9.9::DECIMAL(2,1)", "98.01", ("numeric", 5, 2)),
    # NC: (3,1)+(4,2): scale 2, precision max(2,2)+1+2 = 5.
    ("SELECT 1.5::DECIMAL(3,1) + 2.25::DECIMAL(4,2)", "3.75", ("numeric", 5, 2)),
    # NC: (38,0)/(38,0): scale 39, precision 77 > 38: precision 38, scale max(38+39-77, 4).
    ("SELECT CAST(1 AS DECIMAL(38,0)) / CAST(3 AS DECIMAL(38,0))", "0.3333",
     ("numeric", 38, 4)),
    # COUNT is BIGINT (19,0); * (2,1) is (22,1); / (19,0): scale 21, precision 42 > 38:
    # precision 38, scale max(38+21-42, 4) = 17.
    ("SELECT COUNT(x) * 1.0 / COUNT(*) FROM t3", "0.33333333333333333", ("numeric", 38, 17)),
    # NC: INT4 / INT4 is INT4 (integer division).
    ("SELECT 7 / 2", 3, ("int4", 0, 0)),
    # NC: "divide-by-zero conditions return errors".
    ("SELECT 1.0 / 0.0", ("ERROR", "division by zero"), None),
    # A CTE's column keeps its type: (8,2)/INT4: scale max(4, 2+10+1) = 13, precision 19.
    ("WITH c AS (SELECT CAST(7 AS DECIMAL(8,2)) AS a) SELECT a / 4 FROM c",
     "1.7500000000000", ("numeric", 19, 13)),
    # NT: a bare DECIMAL is DECIMAL(18,0).
    ("SELECT 7::DECIMAL", "7", ("numeric", 18, 0)),
    # SUM page: a SUM of a DECIMAL(p,s) is DECIMAL(38,s).
    ("SELECT SUM(pricepaid) FROM sales", "2500.00", ("numeric", 38, 2)),
    # NC: scale 19+19 = 38 passes the maximum scale of 37: an overflow, never digits.
    ("SELECT CAST(1 AS DECIMAL(38,19)) * CAST(2 AS DECIMAL(38,19))", ("ERROR", ""), None),
)

HELD_OUT: tuple[Case, ...] = (
    # NC: (2,1)/(2,1) is (6,4).
    ("SELECT 7.0 / 3.0", "2.3333", ("numeric", 6, 4)),
    # NC: INT4 (10,0)/(2,1): scale max(4, 0+2-1+1) = 4, precision 10+1+4 = 15.
    ("SELECT 1 / 3.0", "0.3333", ("numeric", 15, 4)),
    # NC: INT8 (19,0)/(6,1): scale max(4, 0+6-1+1) = 6, precision 19+1+6 = 26.
    ("SELECT 12345::BIGINT / 86400.0", "0.142882", ("numeric", 26, 6)),
    ("SELECT -7.0 / 4.0", "-1.7500", ("numeric", 6, 4)),
    # NC: (2,1)/INT4 (10,0): scale max(4, 1+10+1) = 12, precision 2-1+12 = 13.
    ("SELECT 1.0 / 3", "0.333333333333", ("numeric", 13, 12)),
    # NC: (6,4) * INT4 (10,0): precision 6+10+1 = 17, scale 4.
    ("SELECT (1.0 / 3.0) * 3", "0.9999", ("numeric", 17, 4)),
    # NC: (4,1)-(3,2): scale 2, precision max(3,1)+1+2 = 6.
    ("SELECT 10.5::DECIMAL(4,1) - 0.25::DECIMAL(3,2)", "10.25", ("numeric", 6, 2)),
    # NC: INT2 (5,0) * (3,2): precision 9, scale 2.
    ("SELECT 2::SMALLINT * 1.50::DECIMAL(3,2)", "3.00", ("numeric", 9, 2)),
    # NC: DECIMAL with FLOAT8 is FLOAT8.
    ("SELECT 1.0 / 4::FLOAT8", 0.25, ("float8", 0, 0)),
    # A subquery's columns keep their types: (5,2)/INT2 (5,0): scale 8, precision 11.
    ("SELECT a / b FROM (SELECT 1.00::DECIMAL(5,2) AS a, 3::SMALLINT AS b) s",
     "0.33333333", ("numeric", 11, 8)),
    # NC's example: PRICEPAID / COMMISSION, both DECIMAL(8,2), is DECIMAL(17,9).
    ("SELECT pricepaid / commission FROM sales", "6.666666667", ("numeric", 17, 9)),
    # MAX page: max(pricepaid/qtysold) is 2500.00000000; MAX keeps its argument's type.
    ("SELECT MAX(pricepaid / qtysold) FROM sales", "2500.00000000", ("numeric", 14, 8)),
    # COUNT is BIGINT; BIGINT / INT4 divides as integers (NC: INT8).
    ("SELECT COUNT(*) / 2 FROM t3", 1, ("int8", 0, 0)),
    # NC: INT2 (5,0) * (8,2): precision 14, scale 2.
    ("SELECT s.qtysold * s.pricepaid FROM sales s", "2500.00", ("numeric", 14, 2)),
)
