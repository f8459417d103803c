"""Date and timestamp literals in the input formats Redshift reads, written as ISO for DuckDB.

https://docs.aws.amazon.com/redshift/latest/dg/r_Date_and_time_literals.html: with the
default MDY DateStyle, Redshift reads 'Jun 1,2008', '20081231', '1/8/1999' or
'January 8, 1999 04:05 PM' as dates and timestamps; DuckDB reads ISO 8601 only. A
string literal cast to DATE or TIMESTAMP (`'20081231'::DATE`, `TIMESTAMP 'Dec 31,2008
18:20'`, and the literal a date function's argument is converted to, see
`dialect._parse_function_args`) is rewritten to ISO when it has one of these formats;
a format not listed is refused by name rather than guessed.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlglot import exp

from pipeline.offline.warehouse.translate.errors import UnsupportedSqlError

# What DuckDB reads as Redshift does: ISO dates and timestamps, with an offset or UTC.
_ISO = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?"
                  r"\s*([+-]\d{1,2}(:?\d{2})?|Z|UTC|GMT)?", re.IGNORECASE)
# The date forms of the page's table (MDY), as strptime patterns.
_DATES = ("%B %d, %Y", "%B %d,%Y", "%b %d, %Y", "%b %d,%Y", "%b %d %Y", "%m/%d/%Y", "%m/%d/%y",
          "%Y-%b-%d", "%b-%d-%Y", "%d-%b-%Y", "%Y%m%d", "%y%m%d", "%Y.%j")
_TIMES = ("%H:%M:%S.%f", "%H:%M:%S", "%H:%M", "%H%M%S", "%I:%M %p", "%I:%M:%S %p")
_SPECIAL = {"epoch": "1970-01-01 00:00:00"}
_TEMPORAL = (exp.DType.DATE, exp.DType.TIMESTAMP, exp.DType.DATETIME, exp.DType.TIMESTAMPTZ)


def iso_text(text: str) -> str | None:
    """`text` as ISO 8601 when it is a date or timestamp in a listed format, else None."""
    value = " ".join(text.split())
    if _ISO.fullmatch(value) or value.lower() in _SPECIAL:
        return _SPECIAL.get(value.lower(), value)
    for date_format in _DATES:
        for time_format in ("", *_TIMES):
            pattern = f"{date_format} {time_format}" if time_format else date_format
            try:
                parsed = datetime.strptime(value, pattern)
            except ValueError:
                continue
            if not time_format:
                return parsed.date().isoformat()
            return parsed.isoformat(sep=" ")
    return None


def datetime_literals_as_iso(tree: exp.Expr) -> exp.Expr:
    """`CAST('Jun 1,2008' AS DATE)` -> `CAST('2008-06-01' AS DATE)`; see the module docstring."""
    for cast in list(tree.find_all(exp.Cast)):
        literal = cast.this
        if not (isinstance(literal, exp.Literal) and literal.is_string) or \
                cast.to.this not in _TEMPORAL:
            continue
        iso = iso_text(literal.this)
        if iso is None:
            raise UnsupportedSqlError(
                f"{cast.to.sql('redshift')} literal '{literal.this}' (this input format is not "
                "ported; write it as YYYY-MM-DD [HH:MI:SS])")
        if iso != literal.this:
            literal.replace(exp.Literal.string(iso))
    return tree
