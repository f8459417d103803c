"""Tree rules: Redshift functions and operators rewritten into DuckDB that answers alike."""

from __future__ import annotations

import re

from sqlglot import exp

from pipeline.offline.warehouse.translate.errors import (
    UnsupportedSqlError,
)
from pipeline.offline.warehouse.translate.registry import REGISTRY
from pipeline.offline.warehouse.translate.super_rules import COMPARISONS, Scope
from pipeline.offline.warehouse.translate.trees import call_name, fill, post_order

_VARCHAR_TYPES = frozenset({exp.DType.VARCHAR, exp.DType.NVARCHAR, exp.DType.TEXT})


def varchar_without_length(tree: exp.Expr) -> exp.Expr:
    """`VARCHAR(n)`, `CHARACTER VARYING(n)`, `NVARCHAR(n)`, `TEXT` -> `VARCHAR`.

    DuckDB ignores a length; `column_lengths.py` checks a table column's declared
    length on write, and the loader's long-text policy cuts text before staging.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.DataType) and node.this in _VARCHAR_TYPES:
            return exp.DataType(this=exp.DType.VARCHAR)
        return node

    return tree.transform(rule)


def decimal_default_precision(tree: exp.Expr) -> exp.Expr:
    """A bare `DECIMAL` / `NUMERIC` is DECIMAL(18, 0): r_Numeric_types201.html gives a
    default precision of 18 and a default scale of 0 (DuckDB's default is (18, 3), so
    `'7.5'::DECIMAL` would keep its fraction)."""
    for node in tree.find_all(exp.DataType):
        if node.this == exp.DType.DECIMAL and not node.expressions:
            node.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(18)),
                                     exp.DataTypeParam(this=exp.Literal.number(0))])
    return tree


def bool_aggregates_without_distinct(tree: exp.Expr) -> exp.Expr:
    """`BOOL_AND(DISTINCT x)` / `BOOL_OR(DISTINCT x)` (r_BOOL_AND.html, r_BOOL_OR.html) ->
    without DISTINCT, which cannot change an AND or an OR; sqlglot would write
    `BOOL_OR(CAST(DISTINCT x AS BOOLEAN))`, which DuckDB cannot parse."""
    for node in list(tree.find_all(exp.LogicalAnd, exp.LogicalOr)):
        arg = node.this
        if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1:
            node.set("this", arg.expressions[0])
    return tree


def varchar_casts_truncate(tree: exp.Expr) -> exp.Expr:
    """`CAST(x AS VARCHAR(n))` keeps the first n bytes, as Redshift's explicit cast does
    (r_Examples_with_character_types.html casts 'City of South San Francisco' to fit a
    20-character column); DuckDB ignores the length. Text of single-byte characters is
    cut with LEFT; multibyte text longer than n bytes is refused at run time (where a
    character would be cut is not documented). Runs before `varchar_without_length`.
    """
    scope = Scope.of(tree)
    template = ("CASE WHEN __x__ IS NULL THEN NULL WHEN strlen(__x__) <= __n__ THEN __x__ "
                "WHEN strlen(__x__) = length(__x__) THEN left(__x__, __n__) ELSE error("
                "'unsupported on the embedded warehouse: VARCHAR(n) cast of multibyte text "
                "longer than n bytes') END")
    for cast in list(tree.find_all(exp.Cast)):
        size = cast.to.expressions
        if cast.to.this not in _VARCHAR_TYPES or len(size) != 1 or scope.is_super(cast.this):
            continue
        length = size[0].this
        if not (isinstance(length, exp.Literal) and length.is_int):
            continue
        text = exp.cast(cast.this.copy(), exp.DType.VARCHAR)
        cast.replace(exp.Paren(this=fill(template, x=text, n=exp.Literal.number(length.this))))
    return tree


def getdate_sysdate_to_utc_timestamp(tree: exp.Expr) -> exp.Expr:
    """`GETDATE()` and `SYSDATE` -> `CAST(NOW() AS TIMESTAMP)`.

    Both return a zone-less TIMESTAMP in UTC on Redshift; the embedded session
    runs in UTC, so casting DuckDB's NOW() gives the same value and type.
    CURRENT_TIMESTAMP (TIMESTAMPTZ on both) is left as it is.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        is_getdate = isinstance(node, exp.Anonymous) and node.name.upper() == "GETDATE"
        is_sysdate = isinstance(node, exp.CurrentTimestamp) and node.args.get("sysdate")
        if is_getdate or is_sysdate:
            return exp.cast(exp.Anonymous(this="NOW"), exp.DType.TIMESTAMP)
        return node

    return tree.transform(rule)


_TYPE_OF_SUM = "MAX(__x__) + CAST(0 AS BIGINT)"


def _with_window(template: exp.Expr, window: exp.Window | None) -> exp.Expr:
    """Put every aggregate of `template` under a copy of `window`'s OVER clause."""
    if window is None:
        return template
    for aggregate in list(template.find_all(exp.AggFunc)):
        over = window.copy()
        over.set("this", aggregate.copy())
        if aggregate is template:
            return over
        aggregate.replace(over)
    return template


def integer_sum_avg_as_bigint(tree: exp.Expr) -> exp.Expr:
    """SUM and AVG of integers return BIGINT, and AVG of integers truncates, as on Redshift.

    DuckDB's SUM of integers is a HUGEINT (a float in pandas) and its AVG a
    DOUBLE. `cast_to_type(result, MAX(x) + 0::BIGINT)` casts to BIGINT for
    integer x and keeps DOUBLE for floating x and DECIMAL for decimal x; AVG is
    written `SUM(x) // COUNT(x)` so integers divide as integers.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Window) and isinstance(node.this, (exp.Sum, exp.Avg)):
            return _aggregate_as_redshift(node.this, node)
        if isinstance(node, (exp.Sum, exp.Avg)) and not isinstance(node.parent, exp.Window):
            return _aggregate_as_redshift(node, None)
        return node

    return post_order(tree, rule)


def _aggregate_as_redshift(node: exp.Sum | exp.Avg, window: exp.Window | None) -> exp.Expr:
    arg = node.this
    distinct = isinstance(arg, exp.Distinct)
    value = arg.expressions[0] if distinct else arg
    prefix = "DISTINCT " if distinct else ""
    if isinstance(node, exp.Sum):
        result = fill(f"SUM({prefix}__x__)", x=value)
    else:
        result = fill(f"SUM({prefix}__x__) // NULLIF(COUNT({prefix}__x__), 0)", x=value)
    typed = exp.Anonymous(this="cast_to_type", expressions=[
        _with_window(result, window), _with_window(fill(_TYPE_OF_SUM, x=value), window),
    ])
    if isinstance(node, exp.Avg):
        # r_AVG.html: a DECIMAL's average is "the same data type", without saying how the
        # extra digits go (rounded or truncated): refused rather than guessed.
        guard = ("CASE WHEN typeof(__x__) LIKE 'DECIMAL%' THEN error('unsupported on the "
                 "embedded warehouse: AVG of a DECIMAL (how Redshift rounds it is not "
                 "documented; cast it to FLOAT8 or BIGINT)') ELSE __t__ END")
        return exp.Paren(this=fill(guard, x=_with_window(fill(_TYPE_OF_SUM, x=value), window),
                                    t=typed))
    return typed


def listagg_like_redshift(tree: exp.Expr) -> exp.Expr:
    """LISTAGG: no delimiter by default, NULLs and empty strings skipped, DISTINCT kept.

    DuckDB's LISTAGG defaults to ',' and keeps empty strings; sqlglot also
    garbles `LISTAGG(DISTINCT x, ',')`. Rebuilt as `LISTAGG([DISTINCT] x, delim
    [ORDER BY ...]) FILTER (WHERE CAST(x AS VARCHAR) <> '')`.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.GroupConcat):
            return node
        arg, separator = node.this, node.args.get("separator")
        if isinstance(arg, exp.Distinct):
            value, *rest = arg.expressions
            separator = separator or (rest[0] if rest else None)
            arg = exp.Distinct(expressions=[value])
        else:
            value = arg
        rebuilt: exp.Expr = exp.GroupConcat(this=arg,
                                            separator=separator or exp.Literal.string(""))
        outer: exp.Expr = node
        if isinstance(node.parent, exp.WithinGroup):
            outer = node.parent
            rebuilt = exp.WithinGroup(this=rebuilt, expression=outer.expression)
        text = value if value.meta.get("implicit_text") else exp.cast(value, exp.DType.VARCHAR)
        condition = fill("__x__ <> ''", x=text)
        filtered = exp.Filter(this=rebuilt, expression=exp.Where(this=condition))
        if outer is not node:
            outer.replace(filtered)
            return node
        return filtered

    for group_concat in list(tree.find_all(exp.GroupConcat)):
        replaced = rule(group_concat)
        if replaced is not group_concat:
            group_concat.replace(replaced)
    return tree


def datediff_week_boundaries(tree: exp.Expr) -> exp.Expr:
    """`DATEDIFF(week, a, b)`: week boundaries (Mondays) crossed, not whole weeks elapsed.

    DuckDB's date_diff('week') counts full 7-day spans; Redshift's DATEDIFF
    counts boundaries for every date part (day, hour, month, ... are already
    boundary counts in DuckDB).
    """
    template = ("DATE_DIFF('day', DATE_TRUNC('week', CAST(__a__ AS TIMESTAMP)), "
                "DATE_TRUNC('week', CAST(__b__ AS TIMESTAMP))) // 7")

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, (exp.DateDiff, exp.TsOrDsDiff, exp.DatetimeDiff, exp.TimestampDiff)):
            unit = node.args.get("unit")
            if unit is not None and unit.name.upper() in {"WEEK", "WEEKS", "W", "WK", "WKS"}:
                return exp.Paren(this=fill(template, a=node.expression, b=node.this))
        return node

    return tree.transform(rule)


# Redshift reads a time zone abbreviation as a fixed UTC offset; DuckDB (ICU) reads
# several as a region with daylight saving ('PST' is Los Angeles time, PDT in summer).
_TZ_ABBREVIATIONS = {
    "UTC": "UTC", "GMT": "UTC", "Z": "UTC", "WET": "Etc/GMT", "BST": "Etc/GMT-1",
    "CET": "Etc/GMT-1", "WEST": "Etc/GMT-1", "CEST": "Etc/GMT-2", "EET": "Etc/GMT-2",
    "EEST": "Etc/GMT-3", "MSK": "Etc/GMT-3", "EST": "Etc/GMT+5", "EDT": "Etc/GMT+4",
    "CST": "Etc/GMT+6", "CDT": "Etc/GMT+5", "MST": "Etc/GMT+7", "MDT": "Etc/GMT+6",
    "PST": "Etc/GMT+8", "PDT": "Etc/GMT+7", "AKST": "Etc/GMT+9", "AKDT": "Etc/GMT+8",
    "HST": "Etc/GMT+10", "JST": "Etc/GMT-9", "KST": "Etc/GMT-9", "SGT": "Etc/GMT-8",
    "HKT": "Etc/GMT-8", "AWST": "Etc/GMT-8", "AEST": "Etc/GMT-10", "AEDT": "Etc/GMT-11",
    "NZST": "Etc/GMT-12", "NZDT": "Etc/GMT-13",
}


_IANA_NAME = re.compile(r"[A-Za-z_]+(/[A-Za-z_\-]+)+|Etc/GMT[+-]\d{1,2}")


def convert_timezone_names(tree: exp.Expr) -> exp.Expr:
    """CONVERT_TIMEZONE: abbreviations as the fixed offsets Redshift gives them.

    sqlglot writes both forms (`CONVERT_TIMEZONE(tz, ts)` from UTC, and
    `CONVERT_TIMEZONE(from, to, ts)`) as `CAST(ts AS TIMESTAMP) AT TIME ZONE from
    AT TIME ZONE to`, a TIMESTAMP as on Redshift. IANA names ('Europe/London')
    pass; 'PST' and friends become 'Etc/GMT+8'; POSIX specs ('EST5EDT') and
    offsets ('UTC+3') are refused, as ICU reads them differently.
    """

    def zone(literal: exp.Expr) -> exp.Expr:
        if not (isinstance(literal, exp.Literal) and literal.is_string):
            return literal
        name = literal.this.strip()
        if name.upper() in _TZ_ABBREVIATIONS:
            return exp.Literal.string(_TZ_ABBREVIATIONS[name.upper()])
        # An IANA name ('America/New_York', 'Etc/GMT+8'); a name followed by an offset
        # ('America/Los_Angeles+2') is a POSIX-style spec, refused below.
        if _IANA_NAME.fullmatch(name) or (re.fullmatch(r"[A-Za-z_]+", name)
                                          and not name.isupper()):
            return literal
        raise UnsupportedSqlError(
            f"CONVERT_TIMEZONE time zone '{name}' (use an IANA name such as 'America/New_York'"
            " or a listed abbreviation)"
        )

    for node in tree.find_all(exp.ConvertTimezone):
        for key in ("source_tz", "target_tz"):
            if node.args.get(key) is not None:
                node.set(key, zone(node.args[key]))
    for at in tree.find_all(exp.AtTimeZone):  # `ts AT TIME ZONE 'MST'` reads zones alike
        if at.args.get("zone") is not None:
            at.set("zone", zone(at.args["zone"]))
    return tree


def ratio_to_report(tree: exp.Expr) -> exp.Expr:
    """`RATIO_TO_REPORT(x) OVER (PARTITION BY p)` -> `x / SUM(x) OVER (PARTITION BY p)` as FLOAT8.

    https://docs.aws.amazon.com/redshift/latest/dg/r_WF_RATIO_TO_REPORT.html (the registry
    entry refuses an ORDER BY or frame in its OVER clause).
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.Window) and call_name(node.this) == "RATIO_TO_REPORT"):
            return node
        (value,) = node.this.expressions
        total = node.copy()
        total.set("this", exp.Sum(this=value.copy()))
        return exp.Paren(this=fill("CAST(__x__ AS DOUBLE) / CAST(__t__ AS DOUBLE)",
                                    x=value, t=total))

    return post_order(tree, rule)


# DuckDB's JSON reader accepts a trailing comma ('[1,2,]'), which Redshift's rejects
# (JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html's invalid example); strings are blanked first so
# a comma inside one does not count.
_KIND_TYPES = {"date": exp.DType.DATE, "timestamp": exp.DType.TIMESTAMP,
               "timestamptz": exp.DType.TIMESTAMPTZ}


def cmp_functions(tree: exp.Expr) -> exp.Expr:
    """DATE_CMP, TIMESTAMP_CMP_DATE, TIMESTAMPTZ_CMP ... (r_DATE_CMP.html and its
    siblings): 0 when the values are equal, 1 when the first is greater, -1 when it is
    less, NULL with a NULL. Each argument is cast to the type its registry entry gives
    (a DATE compares as midnight; a TIMESTAMP as a TIMESTAMPTZ in the UTC session)."""
    template = "CASE WHEN __a__ > __b__ THEN 1 WHEN __a__ < __b__ THEN -1 WHEN __a__ = __b__ " \
               "THEN 0 END"

    def rule(node: exp.Expr) -> exp.Expr:
        name = call_name(node)
        entries = REGISTRY.by_name.get(name, ())
        kinds = entries[0].kinds if entries and entries[0].rendering == "cmp_functions" else ()
        if len(kinds) != 2 or len(node.expressions) != 2:
            return node
        a, b = (exp.cast(arg, _KIND_TYPES[kind]) for arg, kind in zip(node.expressions, kinds,
                                                                       strict=True))
        return exp.Paren(this=fill(template, a=a, b=b))

    return post_order(tree, rule)


def split_part_position_above_zero(tree: exp.Expr) -> exp.Expr:
    """`SPLIT_PART(s, d, part)`: SPLIT_PART.html says part "must be an integer greater
    than 0"; DuckDB answers '' for 0 and counts a negative part from the end. A part
    below 1 fails, with PostgreSQL's words; a literal part of 1 or more is left as is."""
    template = ("CASE WHEN __p__ < 1 THEN error('field position must be greater than zero') "
                "ELSE __c__ END")

    def rule(node: exp.Expr) -> exp.Expr:
        part = node.args.get("part_index") if isinstance(node, exp.SplitPart) else None
        if part is None or (isinstance(part, exp.Literal) and part.is_int
                            and int(part.this) >= 1):
            return node
        return exp.Paren(this=fill(template, p=part, c=node))

    return post_order(tree, rule)


def redshift_spellings(tree: exp.Expr) -> exp.Expr:
    """Redshift names some sqlglot versions keep as plain calls: `BTRIM(s[, chars])` ->
    DuckDB's `TRIM(s[, chars])`, `TEXTLEN(s)` -> `LENGTH(s)`, `FUNC_SHA1(s)` -> `SHA1(s)`
    (https://docs.aws.amazon.com/redshift/latest/dg/r_BTRIM.html, r_TEXTLEN.html,
    FUNC_SHA1.html)."""

    def rule(node: exp.Expr) -> exp.Expr:
        name = call_name(node)
        if name == "BTRIM":
            return exp.Anonymous(this="TRIM", expressions=node.expressions)
        if name == "TEXTLEN":
            return exp.Anonymous(this="LENGTH", expressions=node.expressions)
        if name == "FUNC_SHA1":
            return exp.Anonymous(this="SHA1", expressions=node.expressions)
        return node

    return post_order(tree, rule)


# Functions whose Redshift meaning depends on an argument's type, which a column hides
# from the translator: DuckDB macros overloaded by parameter type pick the meaning when
# DuckDB binds the call, where the type is known. Every engine session defines them
# (engine.SESSION_SETUP); a rule renders a call as the macro only when the argument's
# type is not visible in the tree, so plain DuckDB still runs the rest.
SESSION_MACROS = (
    # r_TRUNC_date.html: TRUNC(timestamp) is the timestamp's DATE; r_TRUNC.html: TRUNC
    # of a number truncates it, keeping its type.
    "CREATE OR REPLACE TEMP MACRO redshift_trunc(a TIMESTAMP) AS CAST(a AS DATE), "
    "(a TIMESTAMPTZ) AS CAST(a AS DATE), (a DATE) AS a, (a) AS trunc(a)",
)


def trunc_of_a_timestamp(tree: exp.Expr) -> exp.Expr:
    """`TRUNC(timestamp)` -> the DATE of the timestamp
    (https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNC_date.html); TRUNC of a
    number stays DuckDB's TRUNC. A timestamp is recognised when it is a cast, a
    timestamp literal or a date/time function; a number when it is a numeric literal;
    any other argument (a column, an expression) goes to `redshift_trunc`
    (SESSION_MACROS), which chooses by the type DuckDB binds.
    """
    temporal = (exp.TimestampTrunc, exp.TsOrDsAdd, exp.CurrentTimestamp, exp.CurrentDate,
                exp.ConvertTimezone, exp.AtTimeZone)

    def is_temporal(node: exp.Expr) -> bool:
        if isinstance(node, exp.Cast):
            return node.to.is_type(exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ, exp.DType.DATE)
        return isinstance(node, temporal) or call_name(node) == "GETDATE"

    def is_number(node: exp.Expr) -> bool:
        if isinstance(node, exp.Neg):
            return is_number(node.this)
        if isinstance(node, exp.Cast):
            return node.to.is_type(*exp.DataType.NUMERIC_TYPES)
        return isinstance(node, exp.Literal) and not node.is_string

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Trunc):
            return node
        if node.args.get("decimals") is not None:  # TRUNC(number, places), as DuckDB spells it
            return exp.Anonymous(this="TRUNC", expressions=[node.this, node.args["decimals"]])
        if is_temporal(node.this):
            return exp.cast(node.this, exp.DType.DATE)
        if is_number(node.this):
            return node
        return exp.Anonymous(this="redshift_trunc", expressions=[node.this])

    return post_order(tree, rule)


def _is_string_literal(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


# The numbers c_Supported_data_types.html converts to text when compared with a string:
# "all other numeric values" than DECIMAL (integers, REAL, DOUBLE PRECISION).
_NUMBER_AS_TEXT_TYPEOF = ("regexp_full_match(typeof(__o__), "
                          "'U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE')")


def implicit_comparisons_spelled_out(tree: exp.Expr) -> exp.Expr:
    """`x IN ('a', 'b')`, `x BETWEEN 'a' AND 'b'`, `CASE x WHEN 'a' ...` and `DECODE(x, 'a',
    ...)` compare `x` with string literals as `=`, `>=` and `<=` do, so each is written as
    those comparisons, which `comparisons_ignore_trailing_blanks` (the next rule) then
    gives Redshift's meaning: trailing blanks are insignificant
    (https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html), and an
    integer meets a string as text (c_Supported_data_types.html). Only a construct with a
    string-literal operand is rewritten; a SUPER operand keeps its own rules.

    The three-valued logic is the construct's own: `x IN (a, b)` is `x = a OR x = b` (NULL
    when nothing matches and a side is NULL; r_in_condition.html), `x BETWEEN a AND b` is
    `x >= a AND x <= b` (r_range_condition.html), a simple CASE compares with `=`
    (r_CASE_function.html), and DECODE matches a NULL search value to a NULL expression
    (r_DECODE_expression.html).
    """
    scope = Scope.of(tree)

    def literal(node: exp.Expr | None) -> bool:
        return node is not None and _is_string_literal(node)

    def eq(x: exp.Expr, value: exp.Expr) -> exp.Expr:
        return exp.EQ(this=x.copy(), expression=value.copy())

    def rule(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.In) and node.expressions and not node.args.get("query") \
                and any(literal(v) for v in node.expressions) and not scope.is_super(node.this):
            return exp.Paren(this=exp.or_(*(eq(node.this, v) for v in node.expressions),
                                          copy=False))
        if isinstance(node, exp.Between) and (literal(node.args.get("low")) or literal(
                node.args.get("high"))) and not scope.is_super(node.this):
            return exp.Paren(this=exp.and_(
                exp.GTE(this=node.this.copy(), expression=node.args["low"].copy()),
                exp.LTE(this=node.this.copy(), expression=node.args["high"].copy()),
                copy=False))
        if isinstance(node, exp.Case) and node.this is not None and any(
                literal(branch.this) for branch in node.args.get("ifs") or []) \
                and not scope.is_super(node.this):
            return exp.Case(ifs=[exp.If(this=eq(node.this, branch.this), true=branch.args["true"])
                                 for branch in node.args["ifs"]],
                            default=node.args.get("default"))
        if isinstance(node, exp.DecodeCase) and len(node.expressions) >= 3 and any(
                literal(v) for v in node.expressions[1::2]) \
                and not scope.is_super(node.expressions[0]):
            x, *pairs = node.expressions
            default = pairs.pop() if len(pairs) % 2 else None
            ifs = []
            for search, result in zip(pairs[::2], pairs[1::2], strict=True):
                if isinstance(search, exp.Null):
                    test: exp.Expr = exp.Is(this=x.copy(), expression=exp.Null())
                elif literal(search) or isinstance(search, exp.Literal):
                    test = eq(x, search)
                else:
                    test = exp.or_(eq(x, search), exp.and_(
                        exp.Is(this=x.copy(), expression=exp.Null()),
                        exp.Is(this=search.copy(), expression=exp.Null())))
                ifs.append(exp.If(this=test, true=result.copy()))
            return exp.Case(ifs=ifs, default=default.copy() if default is not None else None)
        return node

    return post_order(tree, rule)


def comparisons_ignore_trailing_blanks(tree: exp.Expr) -> exp.Expr:
    """`x = 'abc  '`: trailing blanks are insignificant when Redshift compares strings.

    https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html ("Trailing
    spaces in VARCHAR and CHAR values are treated as semantically insignificant when
    values are compared"); DuckDB compares them. A comparison with a string literal
    side compares both sides without trailing blanks when the other side is text
    (`typeof` decides, so a date compared with '2008-01-01' is untouched). Column-to-
    column comparisons are left alone (a join key would lose its hash join).

    An integer, REAL or DOUBLE PRECISION value compared with a string literal is
    compared as text, as c_Supported_data_types.html says ("If you compare DECIMAL values
    with character strings, Amazon Redshift attempts to convert the character string to a
    DECIMAL value. When comparing all other numeric values with character strings, the
    numeric values are converted to character strings"): `10 < '9'` and `10.5::FLOAT8 <
    '9'` are true, `10.5::FLOAT8 = '10.50'` false (the float's text is
    `float_text_as_redshift`'s). A DECIMAL converts the string instead, as DuckDB does.
    """
    scope = Scope.of(tree)

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, tuple(COMPARISONS)) or isinstance(
                node.parent, (exp.Update, exp.Property, exp.Properties, exp.SetItem)):
            return node  # `SET b = 'x'` of an UPDATE is an assignment, not a comparison
        a, b = node.this, node.expression
        if scope.is_super(a) or scope.is_super(b):
            return node
        if not (_is_string_literal(a) or _is_string_literal(b)):
            return node
        op = COMPARISONS[type(node)]
        if _is_string_literal(a) and _is_string_literal(b):
            return exp.Paren(this=fill(f"rtrim(__a__, ' ') {op} rtrim(__b__, ' ')", a=a, b=b))
        literal, other = (a, b) if _is_string_literal(a) else (b, a)
        trimmed = exp.Literal.string(literal.this.rstrip(" "))
        left, right = ("__l__", "rtrim(CAST(__o__ AS VARCHAR), ' ')") if literal is a else (
            "rtrim(CAST(__o__ AS VARCHAR), ' ')", "__l__")
        plain = f"__r__ {op} __o__" if literal is a else f"__o__ {op} __r__"
        sql = (f"CASE WHEN typeof(__o__) = 'VARCHAR' OR {_NUMBER_AS_TEXT_TYPEOF} THEN "
               f"{left} {op} {right} ELSE {plain} END")
        return exp.Paren(this=fill(sql, o=other, l=trimmed, r=literal))

    return post_order(tree, rule)


# A float's text as Redshift writes it: r_extra_float_digits.html gives FLT_DIG (6) digits
# for REAL and DBL_DIG (15) for DOUBLE PRECISION (extra_float_digits is 0 by default), the
# C `%.*g` form of the PostgreSQL float output Redshift keeps (10.0 is '10', 1e20 '1e+20'),
# with NaN and Infinity spelled as PostgreSQL spells them. `__x__` is evaluated once.
_FLOAT_TEXT = ("replace(replace(replace(printf('%.{digits}g', __x__), '-nan', 'nan'), 'nan', "
               "'NaN'), 'inf', 'Infinity')")
_FLOAT_AS_TEXT = ("CASE WHEN typeof(__x__) = 'DOUBLE' THEN {as_type}" + _FLOAT_TEXT.format(
    digits=15) + "{end} WHEN typeof(__x__) = 'FLOAT' THEN {as_type}" + _FLOAT_TEXT.format(
    digits=6) + "{end} ELSE {other} END")
_CAST_AS_TEXT = _FLOAT_AS_TEXT.format(as_type="", end="", other="CAST(__x__ AS VARCHAR)")
# An operand of `||` keeps its own type unless it is a float: every branch is cast to the
# type of `x || x` (text for a number or a string, BLOB for VARBYTE), as DuckDB's CASE wants.
_OPERAND_AS_TEXT = _FLOAT_AS_TEXT.format(as_type="cast_to_type(", end=", __x__ || __x__)",
                                         other="cast_to_type(__x__, __x__ || __x__)")


def float_text_as_redshift(tree: exp.Expr) -> exp.Expr:
    """Every conversion of a number to text writes a REAL or DOUBLE PRECISION as Redshift
    does: `PI()::VARCHAR` is '3.14159265358979', `(0.1::FLOAT8 + 0.2)::VARCHAR` '0.3',
    `10.0::FLOAT8::VARCHAR` '10' (DuckDB writes the shortest exact form: '10.0',
    '0.30000000000000004'). Explicit casts, the implicit text of string functions and
    comparisons with a string (`comparisons_ignore_trailing_blanks`) all cast to VARCHAR,
    and `||` converts its operands: one rule covers them, run last, after every rule that
    adds such a cast. The type is DuckDB's `typeof`, folded when the query is bound, so
    any other value keeps its plain cast (or, under `||`, its own type).
    """
    for cast in list(tree.find_all(exp.Cast)):
        if cast.to.this in _VARCHAR_TYPES and not cast.to.expressions and not isinstance(
                cast.this, (exp.Literal, exp.Null)) and not _is_decimal_cast(cast.this):
            cast.replace(exp.Paren(this=fill(_CAST_AS_TEXT, x=cast.this.copy())))
    for pipe in list(tree.find_all(exp.DPipe)):
        for side in ("this", "expression"):
            operand = pipe.args.get(side)
            inner = operand.unnest() if operand is not None else None
            if inner is not None and not isinstance(inner, (exp.Literal, exp.Null, exp.DPipe)):
                pipe.set(side, exp.Paren(this=fill(_OPERAND_AS_TEXT, x=operand.copy())))
    return tree


def _is_decimal_cast(node: exp.Expr) -> bool:
    """A value cast to DECIMAL is no float: its text is DuckDB's plain cast."""
    return isinstance(node, exp.Cast) and node.to.this == exp.DType.DECIMAL


def refuse_fixed_length_char(tree: exp.Expr) -> exp.Expr:
    """`CHAR(n)` / `BPCHAR` columns and casts are refused: Redshift pads them with blanks
    (and returns the padding), DuckDB stores plain VARCHAR
    (https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html)."""
    for node in tree.find_all(exp.DataType):
        if node.this in (exp.DType.CHAR, exp.DType.NCHAR, exp.DType.BPCHAR):
            raise UnsupportedSqlError("CHAR(n) fixed-length blank-padded strings (use VARCHAR)")
    return tree


def add_months_keeps_month_end(tree: exp.Expr) -> exp.Expr:
    """`ADD_MONTHS(d, n)`: a TIMESTAMP n months later; the last day of a month stays the last
    day (`ADD_MONTHS('2008-04-30', 1)` is 2008-05-31), a later day clamps to the month end
    (https://docs.aws.amazon.com/redshift/latest/dg/r_ADD_MONTHS.html). DATEADD(month)
    only clamps.
    """
    template = (
        "CASE WHEN CAST(__d__ AS DATE) = last_day(CAST(__d__ AS DATE)) "
        "THEN CAST(last_day(CAST(__d__ AS TIMESTAMP) + to_months(CAST(__n__ AS INTEGER))) AS "
        "TIMESTAMP) + (CAST(__d__ AS TIMESTAMP) - date_trunc('day', CAST(__d__ AS TIMESTAMP))) "
        "ELSE CAST(__d__ AS TIMESTAMP) + to_months(CAST(__n__ AS INTEGER)) END")

    def rule(node: exp.Expr) -> exp.Expr:
        if call_name(node) != "ADD_MONTHS":
            return node
        date, months = node.expressions
        return exp.Paren(this=fill(template, d=date, n=months))

    return post_order(tree, rule)


# Date parts whose DuckDB value differs from Redshift's: DuckDB's millisecond and
# microsecond count the seconds in (43101 where Redshift documents 101 for 43.101 s).
_SUBSECOND_DATEPARTS = {
    **dict.fromkeys(("MS", "MSEC", "MSECS", "MSECOND", "MSECONDS", "MILLISECOND",
                     "MILLISECONDS", "MILLISECON"), ("MILLISECOND", 1000)),
    **dict.fromkeys(("US", "USEC", "USECS", "USECOND", "USECONDS", "MICROSECOND",
                     "MICROSECONDS"), ("MICROSECOND", 1000000)),
}
_REFUSED_DATEPARTS = frozenset({"TIMEZONE", "TIMEZONE_HOUR", "TIMEZONE_MINUTE"})


_SECOND_DATEPARTS = frozenset({"SECOND", "SECONDS", "SEC", "SECS"})
_DECADE_DATEPARTS = frozenset({"DECADE", "DECADES"})


def subsecond_dateparts(tree: exp.Expr) -> exp.Expr:
    """DATE_PART / EXTRACT with the date parts whose DuckDB value differs from Redshift's
    (r_Dateparts_for_datetime_functions.html):

    - milliseconds or microseconds: the part within the second (r_EXTRACT_function.html:
      ms of 12:08:43.101 is 101; r_DATE_PART_function.html: microsecond of 04:05:06.789
      is 789000);
    - seconds: DATE_PART keeps the fraction (3.189717), EXTRACT does not (3);
    - decades: counted from year 1, so decade 201 is 2000-2009 (DuckDB: 200);
    - time zone fields are refused.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Extract) or node.this is None:
            return node
        part = node.this.name.upper()
        if part in _REFUSED_DATEPARTS:
            raise UnsupportedSqlError(f"date part {part.lower()} (time zone fields are not "
                                      "ported)")
        if part in _SUBSECOND_DATEPARTS:
            unit, modulus = _SUBSECOND_DATEPARTS[part]
            extract = exp.Extract(this=exp.var(unit), expression=node.expression)
            return exp.Paren(this=exp.Mod(this=extract, expression=exp.Literal.number(modulus)))
        if part in _SECOND_DATEPARTS and node.meta.get("written") == "DATE_PART":
            return exp.Paren(this=fill("EXTRACT(MICROSECOND FROM __x__) / 1000000.0",
                                       x=node.expression))
        if part in _DECADE_DATEPARTS:
            return exp.Paren(this=fill("EXTRACT(DECADE FROM __x__) + 1", x=node.expression))
        return node

    return post_order(tree, rule)


def reject_unpivot(tree: exp.Expr) -> exp.Expr:
    """PartiQL object unpivoting (`UNPIVOT m.entities AS v AT k`) and PIVOT are not ported."""
    pivot = tree.find(exp.Pivot)
    if pivot is not None:
        raise UnsupportedSqlError("UNPIVOT (PartiQL)" if pivot.args.get("unpivot") else "PIVOT")
    return tree


def reject_positional_parameters(tree: exp.Expr) -> exp.Expr:
    """The Data API binds named `:name` parameters only; `?` / `$1` are not Redshift Data API."""
    for node in tree.find_all(exp.Placeholder, exp.Parameter):
        if isinstance(node, exp.Parameter) or node.args.get("jdbc") or not node.args.get("this"):
            raise UnsupportedSqlError("positional parameters (use :name)")
    return tree


# Arguments outside a math function's domain: DuckDB answers NaN or an infinity, PostgreSQL
# (whose float functions Redshift keeps) raises an error, and the Redshift pages (r_SQRT,
# r_LN, r_LOG, r_ACOS, r_ASIN, r_POWER, r_EXP) say neither. A guessed value would be a
# wrong answer, so such a call is refused at run time, naming the function as the guide
# spells it. (DuckDB function, the condition on __x__ / __y__, what it is.)
_OUTSIDE_DOMAIN: dict[type[exp.Expr], tuple[str, str, str]] = {
    exp.Sqrt: ("sqrt", "__x__ < 0", "SQRT of a negative number"),
    exp.Ln: ("ln", "__x__ <= 0", "LN of zero or a negative number"),
    exp.Log: ("log10", "__x__ <= 0", "LOG of zero or a negative number"),
    exp.Acos: ("acos", "abs(__x__) > 1", "ACOS outside -1 to 1"),
    exp.Asin: ("asin", "abs(__x__) > 1", "ASIN outside -1 to 1"),
    exp.Exp: ("exp", "__x__ > 709.782712893384", "EXP past the range of FLOAT8"),
    exp.Pow: ("pow", "(__x__ < 0 AND __y__ <> trunc(__y__)) OR (__x__ = 0 AND __y__ < 0)",
              "POWER of a negative number to a fraction, or of zero to a negative power"),
}


def math_domain_refused(tree: exp.Expr) -> exp.Expr:
    """SQRT(-4), LN(0), ACOS(2), POWER(-8, 0.5), EXP(1000): a clear refusal, not NaN/Infinity.

    The call is rebuilt as DuckDB's function by name (so the rule does not see its own
    output) inside `CASE WHEN <outside> THEN error(...) ELSE f(x) END`.
    """

    def rule(node: exp.Expr) -> exp.Expr:
        spec = _OUTSIDE_DOMAIN.get(type(node))
        if spec is None or (isinstance(node, exp.Log) and node.expression is not None):
            return node
        function, outside, what = spec
        parts = {"x": node.this}
        if isinstance(node, exp.Pow):
            parts["y"] = node.expression
        call = exp.Anonymous(this=function, expressions=[p.copy() for p in parts.values()])
        guard = (f"CASE WHEN {outside} THEN error('unsupported on the embedded warehouse: "
                 f"{what} (Redshift''s result is not documented)') ELSE __call__ END")
        return exp.Paren(this=fill(guard, call=call, **parts))

    return tree.transform(rule)
