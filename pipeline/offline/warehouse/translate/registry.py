"""The function registry: one entry per Redshift function, read by everything else.

Each `Function` holds what the Amazon Redshift Database Developer Guide's page for it
says: the names it is written as, its synopsis (how many arguments, whether it takes
DISTINCT, WITHIN GROUP, IGNORE NULLS, an OVER clause and what that clause may hold),
its result type, the label Redshift gives an unaliased call, whether it runs only on
compute nodes, and which rule renders it for DuckDB. From the registry come:

- the allow-list: a call whose written name and sqlglot class match no entry is
  refused by name (`shapes.check_call`), so a DuckDB spelling (IFNULL, STRING_AGG) or a
  Redshift function not ported yet (DEXP) never reaches DuckDB;
- the shape check: a call outside its entry's synopsis gets Redshift's error before
  DuckDB runs (`shapes.check_call`);
- the column labels (`labels.py`) and the function table in docs/redshift-sql.md
  (`python -m pipeline.offline.warehouse.translate.registry` prints it);
- the negative cases of tests/unit/test_registry.py, generated from each synopsis.

Adding a function is one entry here (plus a rule in tree_rules.py when DuckDB's own
function answers differently) and its corpus cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

Clause = Literal["forbidden", "allowed", "required"]
# The argument kinds the synopses use, each with an example value (for the generated
# negative cases and the docs): a synopsis says "string length [string]".
ARGUMENT_KINDS = {
    "expression": "a", "number": "a", "integer": "1", "length": "3", "position": "1",
    "offset": "1", "occurrence": "1", "percentile": "0.5", "boolean": "a > 0",
    "string": "'abc'", "characters": "'a'", "pattern": "'b'", "delimiter": "','",
    "format": "'YYYY'", "number_format": "'99D9'", "parameters": "'i'", "datepart": "day",
    "datepart_text": "'day'",
    "timestamp": "'2008-02-28 10:00:00'::TIMESTAMP", "date": "'2008-02-28'::DATE",
    "timestamptz": "'2008-02-28 10:00:00+00'::TIMESTAMPTZ",
    "timezone": "'UTC'", "json": "'[1, 2]'", "path_text": "'a'", "null_if_invalid": "true",
    "super": "JSON_PARSE('[1]')", "weekday": "'Monday'",
    "option": "0",
}
# The kinds that take text: a number, date or timestamp given there is converted to a
# character string, as c_Supported_data_types.html (implicit conversion) says.
TEXT_KINDS = frozenset({"string", "characters", "pattern", "delimiter"})
Kind = Literal["scalar", "aggregate", "window"]
DOCS = "https://docs.aws.amazon.com/redshift/latest/dg/"


@dataclass(frozen=True)
class Function:
    """One Redshift function as its documentation page gives it."""

    names: tuple[str, ...]  # as written (upper case); several for synonyms (NVL, COALESCE)
    page: str  # the guide's page, e.g. "r_WF_LAG.html"
    # The arguments as the synopsis gives them, by kind: "string length [string]" (a
    # bracketed kind is optional, `...` repeats the kind before it). See `ARGUMENT_KINDS`.
    args: str
    kind: Kind = "scalar"
    # sqlglot classes the names parse into; empty: sqlglot keeps the call as written
    # (exp.Anonymous) and a tree rule renders it.
    nodes: tuple[type[exp.Expr], ...] = ()
    over: Clause = "forbidden"  # OVER (...)
    order: Clause = "allowed"  # ORDER BY inside OVER
    frame: Literal["forbidden", "with_order"] = "forbidden"  # with_order: required with ORDER BY
    distinct: Clause = "forbidden"  # DISTINCT inside the parentheses (aggregate use)
    window_distinct: bool = False  # DISTINCT also when used with OVER
    within_group: Clause = "forbidden"
    ignore_nulls: bool = False  # IGNORE NULLS | RESPECT NULLS
    parens: bool = True  # False: written without parentheses (SYSDATE, CURRENT_DATE)
    compute_node_only: bool = False  # c_SQL_functions_compute_node_only.html
    result: str = "see the page"  # the result-type rule, as the page states it
    label: str | None = None  # the unaliased column name; None: the name as written
    rendering: str = "sqlglot"  # the tree rule that writes it for DuckDB, or "sqlglot"

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def kinds(self) -> tuple[str, ...]:
        """The argument kinds in order, optional ones included (`...` and the keyword
        form's separators, FROM / IN, excluded)."""
        return tuple(w.strip("[]") for w in self.args.split() if w.strip("[]").islower())

    @property
    def arity(self) -> tuple[int, int | None]:
        """The least and most arguments (None: any number), read from `args`."""
        words = [w for w in self.args.split() if w == "..." or w.strip("[]").islower()]
        required = sum(1 for w in words if w != "..." and not w.startswith("["))
        return required, None if "..." in words else len(words)

    def example(self, count: int) -> str:
        """A call with `count` arguments of the documented kinds (`ARGUMENT_KINDS`),
        written in the synopsis's form: `EXTRACT(day FROM ...)`, `LPAD('a', 1)`."""
        if not self.parens:
            return self.name
        kinds = list(self.kinds) or ["expression"]
        words = self.args.split()
        separator = next((w.strip("[]") for w in words if w.strip("[]").isupper()), None)
        values = [ARGUMENT_KINDS[kinds[min(i, len(kinds) - 1)]] for i in range(count)]
        if separator and count == len(kinds):
            text = f" {separator} ".join(values)
        else:
            text = ", ".join(values)
        if self.distinct == "required" and text:
            text = "DISTINCT " + text
        return f"{self.name}({text})"

    @property
    def url(self) -> str:
        return DOCS + self.page

    def label_for(self, written: str) -> str:
        return self.label if self.label is not None else written.lower()

    def synopsis(self) -> str:
        """The shape, in the guide's notation (for refusals and the docs table)."""
        distinct = {"allowed": "[DISTINCT] ", "required": "DISTINCT "}.get(self.distinct, "")
        parts = [f"{self.name}({distinct}{', '.join(self.args.split())})" if self.parens
                 else self.name]
        if self.within_group != "forbidden":
            parts.append("WITHIN GROUP (ORDER BY ...)" if self.within_group == "required"
                         else "[WITHIN GROUP (ORDER BY ...)]")
        if self.ignore_nulls:
            parts.append("[IGNORE NULLS]")
        if self.over != "forbidden":
            inside = ["[PARTITION BY ...]"]
            if self.order != "forbidden":
                order = "ORDER BY ..." if self.order == "required" else "[ORDER BY ..."
                frame = " frame]" if self.frame == "with_order" else ("]" if order[0] == "["
                                                                       else "")
                inside.append(order + frame)
            over = f"OVER ({' '.join(inside)})"
            parts.append(over if self.over == "required" else f"[{over}]")
        return " ".join(parts)


def _scalar(names: str, page: str, args: str, *nodes: type[exp.Expr],
            result: str, rendering: str = "sqlglot", label: str | None = None) -> Function:
    return Function(tuple(names.split()), page, args, "scalar", nodes, result=result,
                    rendering=rendering, label=label)


def _aggregate(names: str, page: str, *nodes: type[exp.Expr], result: str,
               rendering: str = "sqlglot") -> Function:
    """An aggregate that is also a window function with an optional ORDER BY and frame
    (c_Window_functions.html: `[ ORDER BY order_list frame_clause ]`), no DISTINCT there."""
    return Function(tuple(names.split()), page, "expression", "aggregate", nodes, over="allowed",
                    order="allowed", frame="with_order", distinct="allowed", result=result,
                    rendering=rendering)


def _ranking(names: str, page: str, args: str, *nodes: type[exp.Expr],
             result: str, order: Clause = "allowed") -> Function:
    """A window-only function whose OVER clause takes no frame."""
    return Function(tuple(names.split()), page, args, "window", nodes, over="required",
                    order=order, result=result)


FUNCTIONS: tuple[Function, ...] = (
    # ---- math (c_Math_functions.html)
    _scalar("ABS", "r_ABS.html", "number", exp.Abs, result="the argument's type"),
    _scalar("ACOS", "r_ACOS.html", "number", exp.Acos, result="FLOAT8"),
    _scalar("ASIN", "r_ASIN.html", "number", exp.Asin, result="FLOAT8"),
    _scalar("ATAN", "r_ATAN.html", "number", exp.Atan, result="FLOAT8"),
    _scalar("ATAN2", "r_ATAN2.html", "number number", exp.Atan2, result="FLOAT8"),
    _scalar("CBRT", "r_CBRT.html", "number", exp.Cbrt, result="FLOAT8"),
    _scalar("CEILING CEIL", "r_CEILING_FLOOR.html", "number", exp.Ceil,
            result="the argument's type"),
    _scalar("FLOOR", "r_FLOOR.html", "number", exp.Floor, result="the argument's type"),
    _scalar("COS", "r_COS.html", "number", exp.Cos, result="FLOAT8"),
    _scalar("COT", "r_COT.html", "number", exp.Cot, result="FLOAT8"),
    _scalar("SIN", "r_SIN.html", "number", exp.Sin, result="FLOAT8"),
    _scalar("TAN", "r_TAN.html", "number", exp.Tan, result="FLOAT8"),
    _scalar("DEGREES", "r_DEGREES.html", "number", exp.Degrees, result="FLOAT8"),
    _scalar("RADIANS", "r_RADIANS.html", "number", exp.Radians, result="FLOAT8"),
    _scalar("EXP", "r_EXP.html", "number", exp.Exp, result="FLOAT8"),
    _scalar("LN", "r_LN.html", "number", exp.Ln, result="FLOAT8"),
    _scalar("LOG", "r_LOG.html", "number", exp.Log, result="FLOAT8 (base 10)"),
    _scalar("PI", "r_PI.html", "", exp.Pi, result="FLOAT8"),
    _scalar("POWER POW", "r_POWER.html", "number number", exp.Pow, result="FLOAT8"),
    _scalar("ROUND", "r_ROUND.html", "number [integer]", exp.Round, result="the argument's type"),
    _scalar("SIGN", "r_SIGN.html", "number", exp.Sign, result="the argument's type"),
    _scalar("SQRT", "r_SQRT.html", "number", exp.Sqrt, result="FLOAT8"),
    _scalar("TRUNC", "r_TRUNC.html", "number [integer]", exp.Trunc,
            result="the number's type; DATE for a timestamp", rendering="trunc_of_a_timestamp"),
    # ---- text (String_functions_header.html)
    _scalar("ASCII", "r_ASCII.html", "string", exp.Ascii, result="INTEGER"),
    _scalar("CHR", "r_CHR.html", "integer", exp.Chr, result="CHAR; NULL outside ASCII",
            rendering="chr_ascii_only"),
    _scalar("CONCAT", "r_CONCAT.html", "string string", exp.Concat,
            result="VARCHAR; NULL when either is",
            rendering="concat_null_is_null"),
    _scalar("INITCAP", "r_INITCAP.html", "string", exp.Initcap, result="VARCHAR"),
    _scalar("LEFT", "r_LEFT.html", "string integer", exp.Left, result="VARCHAR"),
    _scalar("RIGHT", "r_LEFT.html", "string integer", exp.Right, result="VARCHAR"),
    _scalar("LEN", "r_LEN.html", "string", exp.Length, result="INTEGER"),
    _scalar("LENGTH", "r_LENGTH.html", "string", exp.Length, result="INTEGER"),
    _scalar("CHAR_LENGTH", "r_CHAR_LENGTH.html", "string", exp.Length, result="INTEGER"),
    _scalar("CHARACTER_LENGTH", "r_CHARACTER_LENGTH.html", "string", exp.Length,
            result="INTEGER"),
    _scalar("TEXTLEN", "r_TEXTLEN.html", "string", exp.Length, result="INTEGER",
            rendering="redshift_spellings"),
    _scalar("OCTET_LENGTH", "r_OCTET_LENGTH.html", "string", result="INTEGER",
            rendering="octet_length_of_text"),
    _scalar("LOWER", "r_LOWER.html", "string", exp.Lower, result="VARCHAR"),
    _scalar("UPPER", "r_UPPER.html", "string", exp.Upper, result="VARCHAR"),
    _scalar("LPAD", "r_LPAD.html", "string length [string]", exp.Pad, result="VARCHAR"),
    _scalar("RPAD", "r_LPAD.html", "string length [string]", exp.Pad, result="VARCHAR"),
    _scalar("TRIM", "r_TRIM.html", "[characters FROM] string", exp.Trim, result="VARCHAR"),
    _scalar("LTRIM", "r_LTRIM.html", "string [characters]", exp.Trim, result="VARCHAR"),
    _scalar("RTRIM", "r_RTRIM.html", "string [characters]", exp.Trim, result="VARCHAR"),
    _scalar("BTRIM", "r_BTRIM.html", "string [characters]", exp.Trim, result="VARCHAR",
            rendering="redshift_spellings"),
    _scalar("MD5", "r_MD5.html", "string", exp.MD5, result="VARCHAR"),
    _scalar("SHA1 SHA", "SHA1.html", "string", exp.SHA, result="VARCHAR"),  # SHA.html: a synonym
    _scalar("FUNC_SHA1", "FUNC_SHA1.html", "string", result="VARCHAR",
            rendering="redshift_spellings"),
    _scalar("REPEAT", "r_REPEAT.html", "string integer", exp.Repeat, result="VARCHAR"),
    _scalar("REPLICATE", "r_REPLICATE.html", "string integer", exp.Repeat,
            result="VARCHAR"),  # "Synonym for REPEAT function" (parsed as REPEAT)
    _scalar("QUOTE_IDENT", "r_QUOTE_IDENT.html", "string", result="VARCHAR",
            rendering="quote_functions"),
    _scalar("QUOTE_LITERAL", "r_QUOTE_LITERAL.html", "string", result="VARCHAR",
            rendering="quote_functions"),
    _scalar("REPLACE", "r_REPLACE.html", "string string string", exp.Replace, result="VARCHAR"),
    _scalar("REVERSE", "r_REVERSE.html", "string", exp.Reverse, result="VARCHAR"),
    _scalar("SPLIT_PART", "SPLIT_PART.html", "string delimiter position", exp.SplitPart,
            result="VARCHAR", rendering="split_part_position_above_zero"),
    _scalar("STRPOS", "r_STRPOS.html", "string string", exp.StrPosition, result="INTEGER"),
    _scalar("CHARINDEX", "r_CHARINDEX.html", "string string", exp.StrPosition, result="INTEGER"),
    _scalar("POSITION", "r_POSITION.html", "string IN string", exp.StrPosition, result="INTEGER"),
    _scalar("SUBSTRING SUBSTR", "r_SUBSTRING.html", "string position [length]", exp.Substring,
            result="VARCHAR",
            rendering="substring_before_position_one"),
    _scalar("TRANSLATE", "r_TRANSLATE.html", "string string string", exp.Translate,
            result="VARCHAR"),
    _scalar("REGEXP_COUNT", "REGEXP_COUNT.html", "string pattern [position] [parameters]",
            exp.RegexpCount, result="INTEGER"),
    _scalar("REGEXP_REPLACE", "REGEXP_REPLACE.html",
            "string pattern [string] [position] [parameters]", exp.RegexpReplace,
            result="VARCHAR", rendering="regexp_replace_every_match"),
    _scalar("REGEXP_SUBSTR", "REGEXP_SUBSTR.html",
            "string pattern [position] [occurrence] [parameters]", exp.RegexpExtract,
            result="VARCHAR", rendering="regexp_substr_parameters"),
    _scalar("REGEXP_INSTR", "REGEXP_INSTR.html",
            "string pattern [position] [occurrence] [option] [parameters]", exp.RegexpInstr,
            result="INTEGER", rendering="regexp_instr_parameters"),
    _scalar("TO_CHAR", "r_TO_CHAR.html", "timestamp format", result="VARCHAR",
            rendering="to_char_datetime_formats"),
    _scalar("TO_DATE", "r_TO_DATE_function.html", "string format [boolean]", result="DATE",
            rendering="to_date_formats"),
    _scalar("TO_TIMESTAMP", "r_TO_TIMESTAMP.html", "string format [boolean]",
            result="TIMESTAMPTZ", rendering="to_date_formats"),
    _scalar("TO_NUMBER", "r_TO_NUMBER.html", "string number_format", result="DECIMAL",
            rendering="to_number_formats"),
    # ---- conditional expressions (c_conditional_expressions.html)
    _scalar("NVL COALESCE", "r_NVL_function.html", "expression expression ...", exp.Coalesce,
            result="the arguments' common type"),
    _scalar("NVL2", "r_NVL2.html", "expression expression expression", exp.Nvl2,
            result="the results' common type"),
    _scalar("DECODE", "r_DECODE_expression.html", "expression expression expression ...",
            exp.DecodeCase,
            result="the results' common type"),
    _scalar("NULLIF", "r_NULLIF_function.html", "expression expression", exp.Nullif,
            result="the first argument's type", rendering="nullif_ignores_trailing_blanks"),
    _scalar("GREATEST", "r_GREATEST_LEAST.html", "expression ...", exp.Greatest,
            result="the arguments' common type"),
    _scalar("LEAST", "r_GREATEST_LEAST.html", "expression ...", exp.Least,
            result="the arguments' common type"),
    # ---- dates and times (Date_functions_header.html)
    _scalar("DATEADD", "r_DATEADD_function.html", "datepart integer timestamp", exp.TsOrDsAdd,
            result="TIMESTAMP"),
    _scalar("DATEDIFF", "r_DATEDIFF_function.html", "datepart timestamp timestamp", exp.TsOrDsDiff,
            result="BIGINT", rendering="datediff_week_boundaries"),
    _scalar("DATE_TRUNC", "r_DATE_TRUNC.html", "datepart_text timestamp", exp.TimestampTrunc,
            result="TIMESTAMP"),
    _scalar("DATE_PART", "r_DATE_PART_function.html", "datepart timestamp", exp.Extract,
            result="FLOAT8", rendering="subsecond_dateparts", label="pgdate_part"),
    _scalar("EXTRACT", "r_EXTRACT_function.html", "datepart FROM timestamp", exp.Extract,
            result="INTEGER (NUMERIC for seconds)", rendering="subsecond_dateparts",
            label="date_part"),
    _scalar("CONVERT_TIMEZONE", "CONVERT_TIMEZONE.html", "[timezone] timezone timestamp",
            exp.ConvertTimezone,
            result="TIMESTAMP", rendering="convert_timezone_names"),
    Function(("SYSDATE",), "r_SYSDATE.html", "", nodes=(exp.CurrentTimestamp,), parens=False,
             result="TIMESTAMP", rendering="getdate_sysdate_to_utc_timestamp",
             label="timestamp"),
    _scalar("GETDATE", "r_GETDATE.html", "", result="TIMESTAMP",
            rendering="getdate_sysdate_to_utc_timestamp"),
    Function(("CURRENT_DATE",), "r_CURRENT_DATE_function.html", "", nodes=(exp.CurrentDate,),
             parens=False, result="DATE", label="date"),
    _scalar("LAST_DAY", "r_LAST_DAY.html", "date", exp.LastDay, result="DATE"),
    # "the first instance of the specified day that is later than the given date": sqlglot
    # renders a day name or its abbreviation (any case) as days added to the date.
    _scalar("NEXT_DAY", "r_NEXT_DAY.html", "date weekday", exp.NextDay, result="DATE"),
    # The comparison functions: 0 when equal, 1 when the first is greater, -1 when less.
    *(_scalar(name, f"r_{name}.html", args, result="INTEGER", rendering="cmp_functions")
      for name, args in (
          ("DATE_CMP", "date date"), ("DATE_CMP_TIMESTAMP", "date timestamp"),
          ("DATE_CMP_TIMESTAMPTZ", "date timestamptz"), ("TIMESTAMP_CMP", "timestamp timestamp"),
          ("TIMESTAMP_CMP_DATE", "timestamp date"),
          ("TIMESTAMP_CMP_TIMESTAMPTZ", "timestamp timestamptz"),
          ("TIMESTAMPTZ_CMP", "timestamptz timestamptz"),
          ("TIMESTAMPTZ_CMP_DATE", "timestamptz date"),
          ("TIMESTAMPTZ_CMP_TIMESTAMP", "timestamptz timestamp"),
      )),
    _scalar("ADD_MONTHS", "r_ADD_MONTHS.html", "timestamp integer", result="TIMESTAMP",
            rendering="add_months_keeps_month_end"),
    _scalar("MONTHS_BETWEEN", "r_MONTHS_BETWEEN_function.html", "timestamp timestamp",
            result="FLOAT8", rendering="months_between_as_the_page_counts"),
    # ---- SUPER and JSON (c_json_functions.html, c_Type_Info_Functions.html)
    *(_scalar(name, page, "super", result=result, rendering="super_functions")
      for name, page, result in (
          ("JSON_TYPEOF", "r_json_typeof.html", "VARCHAR"),
          ("IS_ARRAY", "r_is_array.html", "BOOLEAN"),
          ("IS_OBJECT", "r_is_object.html", "BOOLEAN"),
          ("IS_VARCHAR", "r_is_varchar.html", "BOOLEAN"),
          ("IS_BOOLEAN", "r_is_boolean.html", "BOOLEAN"),
          ("IS_SCALAR", "r_is_scalar.html", "BOOLEAN"),
          ("IS_FLOAT", "r_is_float.html", "BOOLEAN"),
          ("IS_DECIMAL", "r_is_decimal.html", "BOOLEAN"),
          ("IS_SMALLINT", "r_is_smallint.html", "BOOLEAN"),
          ("IS_INTEGER", "r_is_integer.html", "BOOLEAN"),
          ("IS_BIGINT", "r_is_bigint.html", "BOOLEAN"),
          ("GET_ARRAY_LENGTH", "get_array_length.html", "INTEGER"),
          ("JSON_SERIALIZE", "JSON_SERIALIZE.html", "VARCHAR"),
      )),
    _scalar("CAN_JSON_PARSE", "CAN_JSON_PARSE.html", "json", result="BOOLEAN",
            rendering="super_functions"),
    _scalar("JSON_PARSE", "JSON_PARSE.html", "json", result="SUPER",
            rendering="json_parse_to_variant"),
    _scalar("SPLIT_TO_ARRAY", "split_to_array.html", "string [delimiter]", result="SUPER",
            rendering="split_to_array_as_variant"),
    _scalar("ARRAY_CONCAT", "r_array_concat.html", "super super", result="SUPER",
            rendering="array_concat_of_variants"),
    _scalar("JSON_EXTRACT_PATH_TEXT", "JSON_EXTRACT_PATH_TEXT.html",
            "json path_text ... [null_if_invalid]",
            result="VARCHAR", rendering="json_extract_path_text"),
    _scalar("IS_VALID_JSON", "IS_VALID_JSON.html", "json", result="BOOLEAN",
            rendering="json_text_functions"),
    _scalar("IS_VALID_JSON_ARRAY", "IS_VALID_JSON_ARRAY.html", "json", result="BOOLEAN",
            rendering="json_text_functions"),
    _scalar("JSON_ARRAY_LENGTH", "JSON_ARRAY_LENGTH.html", "json [null_if_invalid]",
            result="INTEGER",
            rendering="json_text_functions"),
    _scalar("JSON_EXTRACT_ARRAY_ELEMENT_TEXT", "JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html",
            "json position [null_if_invalid]",
            result="VARCHAR", rendering="json_text_functions"),
    # ---- aggregates (c_Aggregate_Functions.html), each also a window function
    _aggregate("COUNT", "r_COUNT.html", exp.Count, result="BIGINT"),
    _aggregate("SUM", "r_SUM.html", exp.Sum,
               result="BIGINT for integers, NUMERIC for NUMERIC, FLOAT8 for floats",
               rendering="integer_sum_avg_as_bigint"),
    _aggregate("AVG", "r_AVG.html", exp.Avg,
               result="BIGINT for integers (truncated), FLOAT8 for floats",
               rendering="integer_sum_avg_as_bigint"),
    _aggregate("MIN", "r_MIN.html", exp.Min, result="the argument's type"),
    _aggregate("MAX", "r_MAX.html", exp.Max, result="the argument's type"),
    _aggregate("STDDEV_SAMP STDDEV", "r_STDDEV_functions.html", exp.Stddev, exp.StddevSamp,
               result="FLOAT8 (NUMERIC for NUMERIC)"),
    _aggregate("STDDEV_POP", "r_STDDEV_functions.html", exp.StddevPop,
               result="FLOAT8 (NUMERIC for NUMERIC)"),
    _aggregate("VAR_SAMP VARIANCE", "r_VARIANCE_functions.html", exp.Variance,
               result="FLOAT8 (NUMERIC for NUMERIC)"),
    _aggregate("VAR_POP", "r_VARIANCE_functions.html", exp.VariancePop,
               result="FLOAT8 (NUMERIC for NUMERIC)"),
    # c_bitwise_aggregate_functions.html: INT, INT2 or INT8 in, the same type out; NULLs
    # skipped, NULL when no row qualifies; DISTINCT allowed (and changes nothing).
    # r_GROUP_BY_aggregation-extensions.html: which grouping columns a ROLLUP / CUBE /
    # GROUPING SETS row aggregates over, as a bit mask (the first argument the high bit).
    _scalar("GROUPING GROUPING_ID", "r_GROUP_BY_aggregation-extensions.html",
            "expression ...", exp.Grouping, exp.GroupingId, result="INTEGER"),
    Function(("BIT_AND",), "r_BIT_AND.html", "integer", "aggregate", (exp.BitwiseAndAgg,),
             distinct="allowed", result="the argument's type"),
    Function(("BIT_OR",), "r_BIT_OR.html", "integer", "aggregate", (exp.BitwiseOrAgg,),
             distinct="allowed", result="the argument's type"),
    # r_ANY_VALUE.html: "ANY_VALUE ( [ DISTINCT | ALL ] expression )", any value of the
    # group ("The DISTINCT argument has no effect"); no OVER form is documented.
    Function(("ANY_VALUE",), "r_ANY_VALUE.html", "expression", "aggregate", (exp.AnyValue,),
             distinct="allowed", result="the argument's type"),
    Function(("BOOL_AND",), "r_BOOL_AND.html", "boolean", "aggregate", (exp.LogicalAnd,),
             distinct="allowed", result="BOOLEAN", rendering="bool_aggregates_without_distinct"),
    Function(("BOOL_OR",), "r_BOOL_OR.html", "boolean", "aggregate", (exp.LogicalOr,),
             distinct="allowed", result="BOOLEAN", rendering="bool_aggregates_without_distinct"),
    # APPROXIMATE COUNT(DISTINCT x): sqlglot gives ApproxDistinct the name token COUNT.
    Function(("APPROXIMATE COUNT", "COUNT"), "r_COUNT.html", "expression", "aggregate",
             (exp.ApproxDistinct,), distinct="required", result="BIGINT", label="count"),
    # r_WF_MEDIAN.html: `MEDIAN ( expr ) OVER ( [ PARTITION BY ... ] )`.
    Function(("MEDIAN",), "r_MEDIAN.html", "number", "aggregate", (exp.Median,),
             over="allowed", order="forbidden", compute_node_only=True,
             result="the argument's type (FLOAT8 for integers)"),
    # r_WF_PERCENTILE_CONT.html: `... WITHIN GROUP (ORDER BY expr) OVER ( [PARTITION BY] )`.
    Function(("PERCENTILE_CONT",), "r_PERCENTILE_CONT.html", "percentile", "aggregate",
             (exp.PercentileCont,), over="allowed", order="forbidden", within_group="required",
             compute_node_only=True, result="the ORDER BY expression's type"),
    # r_WF_PERCENTILE_DISC.html: the same shape as PERCENTILE_CONT.
    Function(("PERCENTILE_DISC",), "r_WF_PERCENTILE_DISC.html", "percentile", "aggregate",
             (exp.PercentileDisc,), over="allowed", order="forbidden", within_group="required",
             compute_node_only=True, result="the ORDER BY expression's type"),
    # r_WF_LISTAGG.html: `LISTAGG( [DISTINCT] expr [, 'delimiter'] ) [WITHIN GROUP (...)]
    # OVER ( [PARTITION BY ...] )`.
    Function(("LISTAGG",), "r_LISTAGG.html", "string [delimiter]", "aggregate", (exp.GroupConcat,),
             over="allowed", order="forbidden", distinct="allowed", window_distinct=True,
             within_group="allowed", compute_node_only=True, result="VARCHAR",
             rendering="listagg_like_redshift"),
    # ---- window functions (c_Window_functions.html)
    _ranking("ROW_NUMBER", "r_WF_ROW_NUMBER.html", "", exp.RowNumber, result="BIGINT"),
    _ranking("RANK", "r_WF_RANK.html", "", exp.Rank, result="INTEGER"),
    _ranking("DENSE_RANK", "r_WF_DENSE_RANK.html", "", exp.DenseRank, result="INTEGER"),
    _ranking("NTILE", "r_WF_NTILE.html", "integer", exp.Ntile, result="BIGINT"),
    _ranking("CUME_DIST", "r_WF_CUME_DIST.html", "", exp.CumeDist, result="FLOAT8"),
    _ranking("PERCENT_RANK", "r_WF_PERCENT_RANK.html", "", exp.PercentRank,
             result="FLOAT8"),
    Function(("LAG",), "r_WF_LAG.html", "expression [offset]", "window", (exp.Lag,),
             over="required",
             order="required", ignore_nulls=True, result="the argument's type"),
    Function(("LEAD",), "r_WF_LEAD.html", "expression [offset]", "window", (exp.Lead,),
             over="required",
             order="required", ignore_nulls=True, result="the argument's type"),
    Function(("FIRST_VALUE",), "r_WF_first_value.html", "expression", "window", (exp.FirstValue,),
             over="required", frame="with_order", ignore_nulls=True,
             result="the argument's type"),
    Function(("LAST_VALUE",), "r_WF_first_value.html", "expression", "window", (exp.LastValue,),
             over="required", frame="with_order", ignore_nulls=True,
             result="the argument's type"),
    # r_WF_NTH.html: `NTH_VALUE (expr, offset) [ IGNORE NULLS | RESPECT NULLS ] OVER ( ...
    # [ ORDER BY ... frame_clause ] )`; the offset "must be a positive integer that is
    # greater than 0" (`shapes.check_call`).
    Function(("NTH_VALUE",), "r_WF_NTH.html", "expression offset", "window", (exp.NthValue,),
             over="required", frame="with_order", ignore_nulls=True,
             result="the argument's type"),
    Function(("RATIO_TO_REPORT",), "r_WF_RATIO_TO_REPORT.html", "number", "window",
             over="required", order="forbidden", result="FLOAT8", rendering="ratio_to_report"),
)


class Registry:
    """The entries, indexed by written name; what the shape check and the labels read.

    One module-level `REGISTRY` serves the translation; a test builds its own from
    `FUNCTIONS` plus a new entry to show that an entry is all a function needs.
    """

    def __init__(self, functions: Iterable[Function]) -> None:
        self.functions = tuple(functions)
        by_name: dict[str, list[Function]] = {}
        for function in self.functions:
            for name in function.names:
                by_name.setdefault(name, []).append(function)
        self.by_name = {name: tuple(entries) for name, entries in by_name.items()}
        # The sqlglot classes some entry parses into, and the names kept as plain calls.
        self.node_classes = frozenset(node for f in self.functions for node in f.nodes)
        self.call_names = frozenset(name for f in self.functions if not f.nodes
                                    for name in f.names)
        self.compute_node_only = tuple(sorted({f.name for f in self.functions
                                               if f.compute_node_only}))

    def argument_kinds(self, written: str) -> tuple[str, ...] | None:
        """The argument kinds of `written` by written position (the last one repeats);
        None when no entry has the name or its entries disagree."""
        kinds = {f.kinds for f in self.by_name.get(written.upper(), ())}
        if len(kinds) != 1:
            return None
        (shape,) = kinds
        return shape or None

    def lookup(self, written: str, node: exp.Expr) -> Function | None:
        """The entry for a call written `written` that sqlglot parsed into `node`."""
        for function in self.by_name.get(written.upper(), ()):
            if isinstance(node, exp.Anonymous) and not function.nodes:
                return function
            if type(node) in function.nodes:
                return function
        return None

    def canonical(self, node: exp.Expr) -> Function | None:
        """The entry for a node the parser made without a written name (a rule's output)."""
        for function in self.functions:
            if type(node) in function.nodes:
                return function
        return None

    def markdown_table(self) -> str:
        """The docs/redshift-sql.md table of functions."""
        lines = ["| Function | Synopsis | Result | Label | Compute-node only | Rendering | Page |",
                 "|---|---|---|---|---|---|---|"]
        for f in self.functions:
            names = " / ".join(f.names)
            label = f.label if f.label is not None else "name as written"
            lines.append(f"| {names} | `{f.synopsis()}` | {f.result} | {label} | "
                         f"{'yes' if f.compute_node_only else ''} | `{f.rendering}` | "
                         f"[{f.page}]({f.url}) |")
        return "\n".join(lines)


REGISTRY = Registry(FUNCTIONS)


if __name__ == "__main__":
    print(REGISTRY.markdown_table())
