"""Date parts as Redshift names and counts them, in every function that takes one.

r_Dateparts_for_datetime_functions.html lists the date and time parts DATEADD, DATEDIFF,
DATE_PART and EXTRACT accept, each with its abbreviations; r_DATE_TRUNC.html lists the
ones DATE_TRUNC accepts ("For more information about abbreviations of some formats, see
Date parts"). sqlglot normalises some abbreviations when it parses (DATEADD, DATEDIFF)
and keeps others as written (DATE_PART, EXTRACT, DATE_TRUNC), and its table is not
Redshift's, so the rules after this one saw `dec` where they looked for `decade`.

`dateparts_as_redshift` (one tree rule, before the rules that render date parts) reads
every date part through `DATEPARTS`, writes it as its full name, and applies the page's
calendar where DuckDB's differs:

- a part Redshift does not know is Redshift's error, in every function;
- DATE_TRUNC takes only the parts r_DATE_TRUNC.html lists (no dow, doy, epoch, ...);
- centuries start with year ###1 and millennia with year #001 (2000 is in the 20th
  century and the 2nd millennium): DATE_TRUNC and DATEDIFF count them so, where DuckDB
  starts them at ##00 (DATE_PART / EXTRACT already agree with the page);
- a string literal where DATE_PART / EXTRACT take a timestamp is converted to one
  ("an expression that implicitly converts to a date or timestamp"); DuckDB cannot
  choose between its date and timestamp overloads for it.

`months_between_as_the_page_counts` renders MONTHS_BETWEEN, which counts months by
the same calendar (whole months from year and month, a fraction over a 31-day month).
"""

from __future__ import annotations

from sqlglot import exp

from pipeline.offline.warehouse.translate.errors import RedshiftSqlError
from pipeline.offline.warehouse.translate.trees import fill, post_order

# Each date part's names on r_Dateparts_for_datetime_functions.html, by its full name.
_NAMES = {
    "MILLENNIUM": "MILLENNIUM MILLENNIA MIL MILS",
    "CENTURY": "CENTURY CENTURIES C CENT CENTS",
    "DECADE": "DECADE DECADES DEC DECS",
    "EPOCH": "EPOCH",
    "YEAR": "YEAR YEARS Y YR YRS",
    "QUARTER": "QUARTER QUARTERS QTR QTRS",
    "MONTH": "MONTH MONTHS MON MONS",
    "WEEK": "WEEK WEEKS W",
    "DAYOFWEEK": "DAYOFWEEK DOW DW WEEKDAY",
    "DAYOFYEAR": "DAYOFYEAR DOY DY YEARDAY",
    "DAY": "DAY DAYS D",
    "HOUR": "HOUR HOURS H HR HRS",
    "MINUTE": "MINUTE MINUTES M MIN MINS",
    "SECOND": "SECOND SECONDS S SEC SECS",
    "MILLISECOND": "MILLISECOND MILLISECONDS MS MSEC MSECS MSECOND MSECONDS MILLISEC "
                   "MILLISECS MILLISECON",
    "MICROSECOND": "MICROSECOND MICROSECONDS MICROSEC MICROSECS USECOND USECONDS US USEC USECS",
    "TIMEZONE": "TIMEZONE",
    "TIMEZONE_HOUR": "TIMEZONE_HOUR",
    "TIMEZONE_MINUTE": "TIMEZONE_MINUTE",
}
DATEPARTS: dict[str, str] = {name: full for full, names in _NAMES.items()
                             for name in names.split()}
# The full names DATE_TRUNC takes (r_DATE_TRUNC.html, "Valid formats are as follows").
TRUNCATABLE = frozenset({"MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK",
                         "MONTH", "QUARTER", "YEAR", "DECADE", "CENTURY", "MILLENNIUM"})
# Years in a century and a millennium, which start at year ###1 and #001.
_SPANS = {"CENTURY": 100, "MILLENNIUM": 1000}


def datepart(written: str, function: str) -> str:
    """The full name of the date part written `written` in a call of `function`, or
    Redshift's error when the page lists no such part."""
    full = DATEPARTS.get(written.strip().upper())
    if full is None:
        raise RedshiftSqlError(f'{function} date part "{written.lower()}" is not recognized '
                               "(r_Dateparts_for_datetime_functions.html lists the parts)")
    return full


def _part_of(node: exp.Expr, key: str) -> exp.Expr | None:
    part = node.args.get(key)
    return part if isinstance(part, (exp.Var, exp.Literal)) else None


def _as_timestamp(value: exp.Expr) -> exp.Expr:
    if isinstance(value, exp.Literal) and value.is_string:
        return exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP"))
    return value


def dateparts_as_redshift(tree: exp.Expr) -> exp.Expr:
    """Every date part read through `DATEPARTS`, and the page's calendar (module docstring)."""

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Extract) and isinstance(node.this, (exp.Var, exp.Literal)):
            function = node.meta.get("written", "EXTRACT")
            node.set("this", exp.var(datepart(node.this.name, function)))
            node.set("expression", _as_timestamp(node.expression))
            return node
        if isinstance(node, exp.TimestampTrunc) and _part_of(node, "unit") is not None:
            full = datepart(node.args["unit"].name, "DATE_TRUNC")
            if full not in TRUNCATABLE:
                raise RedshiftSqlError(f'timestamp units "{node.args["unit"].name.lower()}" not '
                                       "supported (r_DATE_TRUNC.html lists the valid formats)")
            if full in _SPANS:
                return exp.Paren(this=fill(
                    f"CAST(make_date(CAST((year(CAST(__x__ AS TIMESTAMP)) - 1) // {_SPANS[full]} "
                    f"* {_SPANS[full]} + 1 AS BIGINT), 1, 1) AS TIMESTAMP)", x=node.this))
            node.set("unit", exp.var(full))
            return node
        if isinstance(node, (exp.TsOrDsAdd, exp.TsOrDsDiff)) and _part_of(node, "unit") \
                is not None:
            function = "DATEADD" if isinstance(node, exp.TsOrDsAdd) else "DATEDIFF"
            full = datepart(node.args["unit"].name, function)
            if isinstance(node, exp.TsOrDsDiff) and full in _SPANS:
                # DATEDIFF counts the boundaries crossed: the difference of the numbers.
                span = _SPANS[full]
                return exp.Paren(this=fill(
                    f"CAST((year(CAST(__b__ AS TIMESTAMP)) - 1) // {span} - "
                    f"(year(CAST(__a__ AS TIMESTAMP)) - 1) // {span} AS BIGINT)",
                    a=node.expression, b=node.this))
            node.set("unit", exp.var(full))
            return node
        return node

    return post_order(tree, rule)


def months_between_as_the_page_counts(tree: exp.Expr) -> exp.Expr:
    """`MONTHS_BETWEEN(date1, date2)` as r_MONTHS_BETWEEN_function.html counts it.

    "The whole number portion of the result is based on the difference between the year
    and month values of the dates. The fractional portion of the result is calculated from
    the day and timestamp values of the dates and assumes a 31-day month. If date1 and
    date2 both contain the same date within a month ... or the last day of the month ...,
    then the result is a whole number ... regardless of whether the timestamp portion
    matches." Positive when date1 is later; NULL when either is. DuckDB has no such
    function. (The page's event example: 2008-12-25 15:00 against 2008-01-21 19:30 is
    11 + (4 - 4.5/24) / 31 = 11.12.)
    """
    whole = "(year(__a__) - year(__b__)) * 12 + month(__a__) - month(__b__)"
    seconds = ("(epoch(__a__) - epoch(date_trunc('day', __a__)) - epoch(__b__) + "
               "epoch(date_trunc('day', __b__)))")
    sql = (f"CAST(CASE WHEN day(__a__) = day(__b__) OR (CAST(__a__ AS DATE) = last_day(__a__) "
           f"AND CAST(__b__ AS DATE) = last_day(__b__)) THEN {whole} "
           f"ELSE {whole} + (day(__a__) - day(__b__) + {seconds} / 86400.0) / 31.0 END "
           "AS DOUBLE)")

    def rule(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.Anonymous) and node.name.upper() == "MONTHS_BETWEEN"):
            return node
        first, second = (exp.Cast(this=a, to=exp.DataType.build("TIMESTAMP"))
                         for a in node.expressions)
        return exp.Paren(this=fill(sql, a=first, b=second))

    return post_order(tree, rule)
