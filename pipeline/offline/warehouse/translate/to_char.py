"""TO_CHAR: Redshift's datetime and number format models, element by element."""

from __future__ import annotations

import re

from sqlglot import exp

from pipeline.offline.warehouse.translate.errors import (
    RedshiftSqlError,
    UnsupportedSqlError,
)
from pipeline.offline.warehouse.translate.trees import call_name, fill, post_order

# Redshift datetime format elements (https://docs.aws.amazon.com/redshift/latest/dg/r_FORMAT_strings.html)
# as DuckDB text over `__t__` (a TIMESTAMP). Names pad to 9 characters as on Redshift
# ('DECEMBER -THU' in the TO_CHAR page's first example); the case of the element is the
# case of the name. Longest elements first.
_DATETIME_ELEMENTS: tuple[tuple[str, str], ...] = (
    ("Y,YYY", "CAST(year(__t__) // 1000 AS VARCHAR) || ',' || "
              "lpad(CAST(year(__t__) % 1000 AS VARCHAR), 3, '0')"),
    ("HH24", "strftime(__t__, '%H')"), ("HH12", "strftime(__t__, '%I')"),
    ("IYYY", "lpad(CAST(isoyear(__t__) AS VARCHAR), 4, '0')"),
    ("IYY", "right(lpad(CAST(isoyear(__t__) AS VARCHAR), 4, '0'), 3)"),
    ("IY", "right(lpad(CAST(isoyear(__t__) AS VARCHAR), 4, '0'), 2)"),
    ("YYYY", "lpad(CAST(year(__t__) AS VARCHAR), 4, '0')"),
    ("MONTH", "rpad(upper(strftime(__t__, '%B')), 9, ' ')"),
    ("Month", "rpad(strftime(__t__, '%B'), 9, ' ')"),
    ("month", "rpad(lower(strftime(__t__, '%B')), 9, ' ')"),
    ("DAY", "rpad(upper(strftime(__t__, '%A')), 9, ' ')"),
    ("Day", "rpad(strftime(__t__, '%A'), 9, ' ')"),
    ("day", "rpad(lower(strftime(__t__, '%A')), 9, ' ')"),
    ("YYY", "right(lpad(CAST(year(__t__) AS VARCHAR), 4, '0'), 3)"),
    ("MON", "upper(strftime(__t__, '%b'))"), ("Mon", "strftime(__t__, '%b')"),
    ("mon", "lower(strftime(__t__, '%b'))"),
    ("DDD", "strftime(__t__, '%j')"),
    ("A.M.", "CASE WHEN hour(__t__) < 12 THEN 'A.M.' ELSE 'P.M.' END"),
    ("P.M.", "CASE WHEN hour(__t__) < 12 THEN 'A.M.' ELSE 'P.M.' END"),
    ("a.m.", "CASE WHEN hour(__t__) < 12 THEN 'a.m.' ELSE 'p.m.' END"),
    ("p.m.", "CASE WHEN hour(__t__) < 12 THEN 'a.m.' ELSE 'p.m.' END"),
    ("DY", "upper(strftime(__t__, '%a'))"), ("Dy", "strftime(__t__, '%a')"),
    ("dy", "lower(strftime(__t__, '%a'))"),
    ("YY", "strftime(__t__, '%y')"), ("MM", "strftime(__t__, '%m')"),
    ("DD", "strftime(__t__, '%d')"), ("HH", "strftime(__t__, '%I')"),
    ("MI", "strftime(__t__, '%M')"), ("SS", "strftime(__t__, '%S')"),
    ("MS", "lpad(CAST(millisecond(__t__) % 1000 AS VARCHAR), 3, '0')"),
    ("US", "lpad(CAST(microsecond(__t__) % 1000000 AS VARCHAR), 6, '0')"),
    ("CC", "lpad(CAST((year(__t__) + 99) // 100 AS VARCHAR), 2, '0')"),
    ("ID", "CAST(isodow(__t__) AS VARCHAR)"),
    ("IW", "lpad(CAST(weekofyear(__t__) AS VARCHAR), 2, '0')"),
    ("WW", "lpad(CAST((dayofyear(__t__) - 1) // 7 + 1 AS VARCHAR), 2, '0')"),
    ("AM", "CASE WHEN hour(__t__) < 12 THEN 'AM' ELSE 'PM' END"),
    ("PM", "CASE WHEN hour(__t__) < 12 THEN 'AM' ELSE 'PM' END"),
    ("am", "CASE WHEN hour(__t__) < 12 THEN 'am' ELSE 'pm' END"),
    ("pm", "CASE WHEN hour(__t__) < 12 THEN 'am' ELSE 'pm' END"),
    ("Y", "right(CAST(year(__t__) AS VARCHAR), 1)"),
    ("Q", "CAST(quarter(__t__) AS VARCHAR)"),
    ("D", "CAST(dayofweek(__t__) + 1 AS VARCHAR)"),
    ("W", "CAST((day(__t__) - 1) // 7 + 1 AS VARCHAR)"),
)
# Elements whose Redshift meaning is not carried: refused by name rather than printed
# as literal text.
_DATETIME_REFUSED = ("FM", "fm", "TM", "TH", "th", "SP", "IDDD", "J",
                     "RM", "rm", "TZ", "tz", "OF", "SSSS", "BC", "AD", "B.C.", "A.D.")
# Elements whose spelling sets the case of the output; the others match in any case.
_CASED_ELEMENTS = frozenset({"MONTH", "DAY", "MON", "DY", "AM", "PM", "A.M.", "P.M.", "RM"})
_NUMERIC_FORMAT = re.compile(r"^[90.,DGSLPRMIV$ ]*$|RN|rn|EEEE", re.IGNORECASE)


def _quoted_text(fmt: str, start: int) -> tuple[str, int]:
    """The text of a format's `"..."` starting at `start`, and the index after it."""
    end = fmt.find('"', start + 1)
    if end < 0:
        raise RedshiftSqlError("invalid datetime format: unterminated quoted text")
    return fmt[start + 1:end], end + 1


def _datetime_format_pieces(fmt: str) -> list[str]:
    elements = sorted([*_DATETIME_ELEMENTS, *((r, "") for r in _DATETIME_REFUSED)],
                      key=lambda e: -len(e[0]))
    pieces: list[str] = []
    literal: list[str] = []
    i = 0

    def flush() -> None:
        if literal:
            pieces.append("'" + "".join(literal).replace("'", "''") + "'")
            literal.clear()

    while i < len(fmt):
        if fmt[i] == '"':  # quoted literal text
            text, i = _quoted_text(fmt, i)
            literal.append(text)
            continue
        for element, sql in elements:
            written = fmt[i:i + len(element)]
            if written == element or (element.isupper() and element not in _CASED_ELEMENTS
                                      and written.upper() == element):
                if not sql:
                    raise UnsupportedSqlError(f"TO_CHAR datetime format element {element}")
                flush()
                pieces.append(sql)
                i += len(element)
                break
        else:
            literal.append(fmt[i])
            i += 1
    flush()
    return pieces


_NUMBER_ELEMENT = re.compile(r"(MI|PR|[90.DdGgSsLl,$]|.)", re.IGNORECASE)


def _number_format_sql(fmt: str) -> str:
    """DuckDB text formatting `__x__` with a Redshift number format model (PostgreSQL's
    rules): `9` a digit or a blank, `0` a digit or a leading zero, `.`/`D` the decimal
    point, `,`/`G` a group separator (a blank before the first digit), `S` a sign
    anchored to the number (`+`/`-`) or trailing, `MI` a trailing minus, `PR` angle
    brackets for negatives, `L` the currency symbol ($), other characters literal. With
    no sign element a blank or `-` goes right before the first digit; a number with too
    many digits prints as `#`s. Anything else (RN, EEEE, V, FM, TH) is refused.
    """
    prefix: list[str] = []
    integer: list[str] = []
    fraction: list[str] = []
    suffix: list[str] = []
    sign: str | None = None
    seen_point = False
    for match in _NUMBER_ELEMENT.finditer(fmt):
        element = match.group(1)
        upper = element.upper()
        if upper in ("9", "0"):
            (fraction if seen_point else integer).append(upper)
        elif upper in (".", "D"):
            if seen_point:
                raise UnsupportedSqlError("TO_CHAR number format with two decimal points")
            seen_point = True
        elif upper in (",", "G"):
            if seen_point:
                raise UnsupportedSqlError("TO_CHAR number format with a group separator "
                                          "after the decimal point")
            integer.append(",")
        elif upper in ("S", "MI", "PR"):
            if sign is not None:
                raise UnsupportedSqlError("TO_CHAR number format with two sign elements")
            sign = upper if (upper != "S" or integer or fraction) else "S-leading"
        elif upper == "L":
            (suffix if integer or fraction else prefix).append("$")
        elif upper.isalpha():
            raise UnsupportedSqlError(f"TO_CHAR number format element {element}")
        else:
            (suffix if integer or fraction else prefix).append(element)
    digits = [c for c in integer if c != ","]
    width = len(digits)
    zeros = width - digits.index("0") if "0" in digits else 0
    # the integer and fraction digits of |x| rounded to the format's decimals
    text = (f"CAST(CAST(ABS(CAST(__x__ AS DECIMAL(38, 10))) AS DECIMAL(38, {len(fraction)})) "
            "AS VARCHAR)")
    whole = f"split_part({text}, '.', 1)"
    # A zero integer part prints as a blank only before decimals ('0.5' with 9.9 is ' .5');
    # 0 with 999 is '   0' (PostgreSQL's IS_PREDEC_SPACE, which Redshift keeps).
    int_digits = f"(CASE WHEN {whole} = '0' THEN '' ELSE {whole} END)" if fraction else whole
    if zeros:
        int_digits = f"lpad({int_digits}, {zeros}, '0')"
    slots, k = [], 0
    for char in reversed(integer):
        if char == ",":
            slots.append(f"CASE WHEN length(__d__) > {k} THEN ',' ELSE ' ' END")
        else:
            k += 1
            slots.append(f"CASE WHEN length(__d__) >= {k} THEN substr(__d__, length(__d__) - "
                         f"{k - 1}, 1) ELSE ' ' END")
    body = " || ".join(reversed(slots)) if slots else "''"
    if seen_point:
        body += " || '.'"
        if fraction:
            body += f" || split_part({text}, '.', 2)"
    negative = "CAST(__x__ AS DOUBLE) < 0"
    if sign == "MI":
        signed = f"({body}) || CASE WHEN {negative} THEN '-' ELSE ' ' END"
    elif sign == "S":
        signed = f"({body}) || CASE WHEN {negative} THEN '-' ELSE '+' END"
    elif sign == "PR":
        signed = (f"CASE WHEN {negative} THEN lpad('<' || ltrim({body}, ' '), "
                  f"CAST(length({body}) + 1 AS INTEGER)) || '>' ELSE ' ' || ({body}) || ' ' END")
    else:
        mark = "'+'" if sign == "S-leading" else "' '"
        signed = (f"lpad(CASE WHEN {negative} THEN '-' ELSE {mark} END || ltrim({body}, ' '), "
                  f"CAST(length({body}) + 1 AS INTEGER))")
        if sign == "S-leading":
            signed = f"ltrim({signed}, ' ')" if not width else signed
    overflow = f"length({int_digits}) > {width}"
    total = sum(1 for _ in integer) + (1 + len(fraction) if seen_point else 0) + 1
    result = (f"CASE WHEN __x__ IS NULL THEN NULL WHEN {overflow} THEN repeat('#', {total}) "
              f"ELSE {signed} END")
    result = result.replace("__d__", int_digits)
    literal = lambda parts: "'" + "".join(parts).replace("'", "''") + "'"  # noqa: E731
    return " || ".join(p for p in (literal(prefix) if prefix else "", f"({result})",
                                   literal(suffix) if suffix else "") if p)


def _formatted_call(node: exp.Expr, names: tuple[str, ...]) -> tuple[
        str, exp.Expr, str, list[exp.Expr]] | None:
    """A call of one of `names` (TO_CHAR, TO_DATE, ...) as its name, value, format text and
    the arguments after; None for any other node. The format must be a literal, as the
    pages require, else the call is refused."""
    name = call_name(node)
    if name not in names:
        return None
    value, fmt, *rest = node.expressions
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise UnsupportedSqlError(f"{name} with a computed format")
    return name, value, fmt.this, rest


def to_char_datetime_formats(tree: exp.Expr) -> exp.Expr:
    """`TO_CHAR(timestamp, 'format')` element by element, as Redshift formats it.

    Month and day names pad to nine characters and follow the element's case
    (`MONTH`, `Month`, `month`; `DY`, `Dy`, `dy`); `HH`/`HH12`, `AM`/`PM`, `DDD`, `D`
    (Sunday is 1), `ID`, `Q`, `CC`, `W`, `WW`, `IW`, `MS`, `US` and quoted text are
    rendered; other elements (FM, TH, J, RM, TZ, ...) are refused by name. A number
    format (`9`, `0`, `D`, `G`, `S`, `MI`, `PR`, `L`) is rendered by `_number_format_sql`;
    RN, EEEE, V, FM and TH in it are refused. The format must be a literal.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        call = _formatted_call(node, ("TO_CHAR",))
        if call is None:
            return node
        _, value, fmt, _ = call
        numeric = isinstance(value, (exp.Literal, exp.Neg)) and not (
            isinstance(value, exp.Literal) and value.is_string)
        if numeric or (_NUMERIC_FORMAT.search(fmt) and re.search(r"[09]|RN|rn", fmt)):
            unported = re.search(r"RN|EEEE|FM|TH|V", fmt, re.IGNORECASE)
            if unported:
                raise UnsupportedSqlError(f"TO_CHAR number format element {unported.group(0)}")
            if not re.search(r"[09]", fmt):
                raise UnsupportedSqlError("TO_CHAR of a number with a datetime format")
            return exp.Paren(this=fill(_number_format_sql(fmt), x=value))
        pieces = _datetime_format_pieces(fmt)
        if not pieces:
            return exp.Literal.string("")
        sql = " || ".join(pieces) if len(pieces) > 1 else pieces[0]
        return exp.Paren(this=fill(sql, t=exp.cast(value, exp.DType.TIMESTAMP)))

    return post_order(tree, rule)


# TO_DATE's input elements (r_FORMAT_strings.html) as DuckDB strptime codes: the ones whose
# reading DuckDB shares. YY and the other elements read differently (PostgreSQL, which
# Redshift follows, puts a two-digit 69 in 2069, DuckDB in 1969) and are refused by name.
_TO_DATE_ELEMENTS: tuple[tuple[str, str], ...] = (
    ("HH24", "%H"), ("YYYY", "%Y"), ("MONTH", "%B"), ("MON", "%b"),
    ("MM", "%m"), ("DD", "%d"), ("MI", "%M"), ("SS", "%S"),
)
_TO_DATE_ELEMENT = re.compile(r"[A-Za-z]+")


def _strptime_format(fmt: str, function: str = "TO_DATE") -> str:
    """A Redshift TO_DATE / TO_TIMESTAMP format as a strptime format; any other element
    refused by name."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] == '"':
            text, i = _quoted_text(fmt, i)
            out.append(text.replace("%", "%%"))
            continue
        for element, code in _TO_DATE_ELEMENTS:
            if fmt[i:i + len(element)].upper() == element:
                out.append(code)
                i += len(element)
                break
        else:
            word = _TO_DATE_ELEMENT.match(fmt, i)
            if word:
                raise UnsupportedSqlError(f"{function} format element {word.group(0)}")
            out.append(fmt[i].replace("%", "%%"))
            i += 1
    return "".join(out)


def to_date_formats(tree: exp.Expr) -> exp.Expr:
    """`TO_DATE(string, 'format' [, is_strict])` and `TO_TIMESTAMP(...)` through DuckDB's
    strptime.

    Text that matches the format exactly and names a real date answers as Redshift does
    (r_TO_DATE_function.html: '02 Oct 2001', 'DD Mon YYYY' is 2001-10-02; month names in any
    case; r_TO_TIMESTAMP.html: '2017', 'YYYY' is 2017-01-01 00:00:00, a TIMESTAMPTZ in the
    session's zone, UTC). Text that does not is refused at run time: Redshift rolls a day
    past the end of its month (or an hour past 24) over into the next unless is_strict is
    true, and reads loosely what strptime reads exactly, so the twin does not guess. The
    format must be a literal.
    """
    results = {"TO_DATE": "DATE", "TO_TIMESTAMP": "TIMESTAMPTZ"}

    def rule(node: exp.Expr) -> exp.Expr:
        call = _formatted_call(node, tuple(results))
        if call is None:
            return node
        name, value, fmt, _ = call
        code = exp.Literal.string(_strptime_format(fmt, name))
        sql = ("CASE WHEN __s__ IS NULL THEN NULL WHEN try_strptime(trim(__s__), __f__) IS NULL "
               f"THEN error('unsupported on the embedded warehouse: {name} of text that does "
               "not match its format exactly or names no real date (Redshift reads it more "
               "loosely and rolls a day past the month end over)') "
               f"ELSE CAST(strptime(trim(__s__), __f__) AS {results[name]}) END")
        return exp.Paren(this=fill(sql, s=exp.cast(value, exp.DType.VARCHAR), f=code))

    return post_order(tree, rule)


def _to_number_sql(fmt: str) -> str:
    """DuckDB text reading `__s__` with a Redshift number format (r_Numeric_formating.html).

    The format's digit slots (`9`, `0`) before and after its decimal point (`.`, `D`)
    bound the digits read; group separators (`,`, `G`), the currency symbol (`L`, `$`),
    blanks and the sign (a leading or trailing `-`, `S`, `MI`, or `PR`'s angle brackets)
    are read where the format has them. Text that does not fit is refused at run time
    rather than read the way PostgreSQL's lenient reader might (which the page does not
    describe).
    """
    integer = fraction = 0
    seen_point = False
    removable = " "
    for match in _NUMBER_ELEMENT.finditer(fmt):
        element = match.group(1).upper()
        if element in ("9", "0"):
            fraction, integer = (fraction + 1, integer) if seen_point else (fraction, integer + 1)
        elif element in (".", "D"):
            if seen_point:
                raise UnsupportedSqlError("TO_NUMBER format with two decimal points")
            seen_point = True
        elif element in (",", "G"):
            removable += ","
        elif element in ("L", "$"):
            removable += "$"
        elif element == "PR":
            removable += "<>"
        elif element in ("S", "MI"):
            removable += "+"
        elif element != " ":
            raise UnsupportedSqlError(f"TO_NUMBER format element {match.group(1)}")
    digits = f"[0-9]{{0,{integer}}}" + (rf"(\.[0-9]{{0,{fraction}}})?" if seen_point else "")
    strip = "[" + re.escape(removable) + "]"
    cleaned = f"regexp_replace(trim(__s__, ' '), '{strip}', '', 'g')"
    unsigned = f"regexp_replace({cleaned}, '^-|-$', '')"
    negative = (f"(starts_with({cleaned}, '-') OR ends_with({cleaned}, '-') OR "
                "starts_with(trim(__s__, ' '), '<'))")
    return (f"CASE WHEN __s__ IS NULL THEN NULL WHEN NOT regexp_full_match({unsigned}, "
            f"'{digits}') OR NOT regexp_matches({unsigned}, '[0-9]') THEN error('unsupported on "
            "the embedded warehouse: TO_NUMBER of text that does not fit its format exactly') "
            f"ELSE CAST({unsigned} AS DECIMAL(38, {fraction})) * CASE WHEN {negative} THEN -1 "
            "ELSE 1 END END")


def to_number_formats(tree: exp.Expr) -> exp.Expr:
    """`TO_NUMBER(string, 'format')` (r_TO_NUMBER.html) as `_to_number_sql` reads it: a
    DECIMAL with the format's decimals ('12,454.8-' with '99G999D9S' is -12454.8). The
    format must be a literal ("The format must be a literal value")."""

    def rule(node: exp.Expr) -> exp.Expr:
        call = _formatted_call(node, ("TO_NUMBER",))
        if call is None:
            return node
        _, value, fmt, _ = call
        return exp.Paren(this=fill(_to_number_sql(fmt), s=exp.cast(value, exp.DType.VARCHAR)))

    return post_order(tree, rule)
