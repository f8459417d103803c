"""The function registry: every entry's documented shape passes, every shape it forbids fails.

The cases are generated from each entry's synopsis (translate/registry.py), not typed
by hand: a call with one argument too many or too few, a forbidden clause (OVER,
DISTINCT, WITHIN GROUP, IGNORE NULLS, ORDER BY or a frame inside OVER), a missing
required one. Each must get Redshift's error (`RedshiftSqlError`) before DuckDB runs;
the documented shape must translate. The last tests show that a new function is one
registry entry: the allow-list, the shape check, the label and the docs follow.
"""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from pipeline.offline.warehouse.translate import (
    RedshiftSqlError,
    UnsupportedSqlError,
    translate,
)
from pipeline.offline.warehouse.translate.dialect import EmbeddedRedshift
from pipeline.offline.warehouse.translate.labels import redshift_column_labels
from pipeline.offline.warehouse.translate.registry import (
    FUNCTIONS,
    REGISTRY,
    Function,
    Registry,
)
from pipeline.offline.warehouse.translate.shapes import refuse_what_is_not_listed

pytestmark = pytest.mark.unit

_ROWS = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"


def _over(function: Function, order: bool | None = None, frame: bool | None = None) -> str:
    """An OVER clause the entry accepts, or with ORDER BY / a frame forced on or off."""
    order = function.order == "required" if order is None else order
    frame = (order and function.frame == "with_order") if frame is None else frame
    inside = " ".join(part for part, on in (("ORDER BY a", order), (_ROWS, frame)) if on)
    return f" OVER ({inside})"


def _call(function: Function, count: int | None = None, *, over: str | None = None,
          within: bool | None = None, prefix: str = "") -> str:
    """`SELECT <call> FROM t` in the entry's documented shape, with one thing changed."""
    call = function.example(function.arity[0] if count is None else count)
    if prefix:
        call = call.replace("(", f"({prefix}", 1)
    if within if within is not None else function.within_group == "required":
        call += " WITHIN GROUP (ORDER BY a)"
    if over is None:
        over = _over(function) if function.over == "required" else ""
    return f"SELECT {call}{over} FROM t"


def valid_shapes() -> list[tuple[str, str]]:
    """Each entry with its fewest and most arguments, and in a window where it may be."""
    cases = []
    for f in FUNCTIONS:
        low, high = f.arity
        cases.append((f.name, _call(f)))
        if high is not None and high != low:
            cases.append((f.name, _call(f, high)))
        if f.over == "allowed":
            cases.append((f.name, _call(f, over=_over(f))))
            if f.order != "forbidden":
                cases.append((f.name, _call(f, over=_over(f, order=True))))
    return cases


def forbidden_shapes() -> list[tuple[str, str]]:
    """Each shape outside an entry's synopsis, generated from it."""
    cases = []
    for f in FUNCTIONS:
        low, high = f.arity
        if not f.parens:
            cases.append((f"{f.name}: parentheses", f"SELECT {f.name}() FROM t"))
            continue
        if high is not None:
            cases.append((f"{f.name}: {high + 1} arguments", _call(f, high + 1)))
        if low > 0:
            cases.append((f"{f.name}: {low - 1} arguments", _call(f, low - 1)))
        if f.over == "forbidden":
            cases.append((f"{f.name}: OVER", _call(f, over=" OVER ()")))
        if f.over == "required":
            cases.append((f"{f.name}: no OVER", _call(f, over="")))
        if f.over != "forbidden":
            if f.order == "forbidden":
                cases.append((f"{f.name}: ORDER BY in OVER",
                              _call(f, over=_over(f, order=True, frame=False))))
            if f.order == "required":
                cases.append((f"{f.name}: no ORDER BY in OVER",
                              _call(f, over=_over(f, order=False, frame=False))))
            if f.frame == "forbidden":
                cases.append((f"{f.name}: a frame", _call(f, over=_over(f, order=True,
                                                                        frame=True))))
            if f.frame == "with_order":
                cases.append((f"{f.name}: ORDER BY without a frame",
                              _call(f, over=_over(f, order=True, frame=False))))
            if f.distinct != "forbidden" and not f.window_distinct:
                prefix = "" if f.distinct == "required" else "DISTINCT "
                cases.append((f"{f.name}: DISTINCT in a window",
                              _call(f, over=_over(f), prefix=prefix)))
            if not f.ignore_nulls:
                cases.append((f"{f.name}: IGNORE NULLS", _call(f, over=" IGNORE NULLS"
                                                              + _over(f))))
        if f.distinct == "forbidden" and f.arity[0] > 0:
            cases.append((f"{f.name}: DISTINCT", _call(f, prefix="DISTINCT ")))
        if f.within_group == "forbidden" and f.kind == "aggregate":
            cases.append((f"{f.name}: WITHIN GROUP", _call(f, within=True)))
        if f.within_group == "required":
            cases.append((f"{f.name}: no WITHIN GROUP", _call(f, within=False)))
        if f.compute_node_only:
            cases.append((f"{f.name}: no table", _call(f).removesuffix(" FROM t")))
    return cases


_VALID = valid_shapes()
_FORBIDDEN = forbidden_shapes()


@pytest.mark.parametrize(("name", "sql"), _VALID, ids=[s for _, s in _VALID])
def test_every_documented_shape_translates(name: str, sql: str) -> None:
    translate(sql)


@pytest.mark.parametrize(("shape", "sql"), _FORBIDDEN, ids=[s for s, _ in _FORBIDDEN])
def test_every_shape_outside_the_synopsis_gets_redshifts_error(shape: str, sql: str) -> None:
    with pytest.raises(RedshiftSqlError):
        translate(sql)


def test_the_generated_cases_cover_every_entry_and_clause() -> None:
    names = {shape.split(":")[0] for shape, _ in _FORBIDDEN}
    assert names == {f.name for f in FUNCTIONS}
    kinds = {shape.split(": ")[1] for shape, _ in _FORBIDDEN}
    for clause in ("OVER", "no OVER", "ORDER BY in OVER", "no ORDER BY in OVER", "a frame",
                   "ORDER BY without a frame", "DISTINCT in a window", "IGNORE NULLS",
                   "DISTINCT", "WITHIN GROUP", "no WITHIN GROUP", "no table"):
        assert clause in kinds, clause


@pytest.mark.parametrize(("sql", "message"), [
    # r_WF_LAG.html: LAG (value_expr [, offset ]) - no default argument.
    ("SELECT LAG(a, 1, 0) OVER (ORDER BY a) FROM t", "function lag does not exist with 3"),
    ("SELECT COUNT(DISTINCT a) OVER () FROM t", "DISTINCT is not implemented for window"),
    ("SELECT RANK() OVER (ORDER BY a ROWS UNBOUNDED PRECEDING) FROM t", "takes no frame"),
    ("SELECT FIRST_VALUE(a) OVER (ORDER BY a) FROM t",
     "Aggregate window functions with an ORDER BY clause require a frame clause"),
    ("SELECT MEDIAN(1)", "must be applied on at least one user created table"),
    ("WITH c AS (SELECT 1 AS a) SELECT LISTAGG(a) FROM c",
     "must be applied on at least one user created table"),
])
def test_the_issues_examples_get_redshifts_error(sql: str, message: str) -> None:
    with pytest.raises(RedshiftSqlError, match=message):
        translate(sql)


@pytest.mark.parametrize(("sql", "construct"), [
    ("SELECT DEXP(1.5)", "function DEXP"),
    ("SELECT IFNULL(a, 1) FROM t", "function IFNULL"),
    ("SELECT now()", "function NOW"),
    ("SELECT IF(a > 1, 1, 2) FROM t", "function IF"),
    ("SELECT TRY_CAST(a AS INT) FROM t", "function TRY_CAST"),
])
def test_a_name_outside_the_registry_is_refused_as_written(sql: str, construct: str) -> None:
    with pytest.raises(UnsupportedSqlError) as raised:
        translate(sql)
    assert raised.value.construct == construct


@pytest.mark.parametrize(("sql", "labels"), [
    ("SELECT RPAD('a', 3), LPAD('a', 3) FROM t", ["rpad", "lpad"]),
    ("SELECT COALESCE(a, 1), NVL(a, 1) FROM t", ["coalesce", "nvl"]),
    ("SELECT CHARINDEX('a', 'b'), STRPOS('b', 'a'), POSITION('a' IN 'b')",
     ["charindex", "strpos", "position"]),
    ("SELECT CEIL(1.5), CEILING(1.5), SUBSTR('ab', 1), TEXTLEN('a'), CHAR_LENGTH('a')",
     ["ceil", "ceiling", "substr", "textlen", "char_length"]),
    ("SELECT SYSDATE, CURRENT_DATE, EXTRACT(day FROM '2008-01-01'::DATE)",
     ["timestamp", "date", "date_part"]),
    ("SELECT COUNT(*), APPROXIMATE COUNT(DISTINCT a) FROM t", ["count", "count"]),
])
def test_labels_follow_the_name_written(sql: str, labels: list[str]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INTEGER)")
    relation = con.execute(translate(sql).sql)
    assert [column[0] for column in relation.description] == labels


# ---------------------------------------------------------------- adding a function

# RANDOM (r_RANDOM.html): not in the registry; DuckDB's random() answers as documented
# (a FLOAT8 in [0, 1)).
RANDOM = Function(("RANDOM",), "r_RANDOM.html", "", nodes=(exp.Rand,), result="FLOAT8")


def _checked(sql: str, registry: Registry) -> exp.Expr:
    tree = sqlglot.parse_one(sql, read=EmbeddedRedshift)
    return redshift_column_labels(refuse_what_is_not_listed(tree, registry), registry)


def test_adding_a_function_is_one_registry_entry() -> None:
    with pytest.raises(UnsupportedSqlError, match="function RANDOM"):
        _checked("SELECT RANDOM()", REGISTRY)
    registry = Registry((*FUNCTIONS, RANDOM))
    tree = _checked("SELECT RANDOM()", registry)
    (value,), = duckdb.sql(tree.sql(dialect="duckdb")).fetchall()
    assert 0 <= value < 1
    assert tree.expressions[0].alias == "random"
    with pytest.raises(RedshiftSqlError, match="function random does not exist with 1"):
        _checked("SELECT RANDOM(1)", registry)
    with pytest.raises(RedshiftSqlError, match="OVER specified, but random is not"):
        _checked("SELECT RANDOM() OVER ()", registry)
    assert "| RANDOM | `RANDOM()` | FLOAT8 |" in registry.markdown_table()


def test_every_rendering_names_a_tree_rule() -> None:
    from pipeline.offline.warehouse import translate as package

    rules = {rule.__name__ for rule in package.TREE_RULES}
    for function in FUNCTIONS:
        assert function.rendering in rules | {"sqlglot"}, function.name


@pytest.mark.parametrize(("sql", "message"), [
    # r_Boolean_type.html: "You can't use the IS comparison with a Boolean value in the
    # SELECT list" (the page's example fails with "Not implemented").
    ("SELECT a IS TRUE FROM t", "Not implemented"),
    ("SELECT (a > 1) IS FALSE AS x FROM t", "Not implemented"),
    # r_UNION.html: "INTERSECT ALL, EXCEPT ALL, and MINUS ALL aren't supported".
    ("SELECT a FROM t INTERSECT ALL SELECT a FROM t", "INTERSECT ALL is not supported"),
    ("SELECT a FROM t EXCEPT ALL SELECT a FROM t", "EXCEPT ALL is not supported"),
])
def test_syntax_forms_redshift_rejects_get_its_error(sql: str, message: str) -> None:
    with pytest.raises(RedshiftSqlError, match=message):
        translate(sql)


@pytest.mark.parametrize("sql", [
    "SELECT a FROM t WHERE a IS TRUE",
    "SELECT CASE WHEN a IS TRUE THEN 1 END FROM t",
    "SELECT a IS NULL FROM t",
    "SELECT a FROM t UNION ALL SELECT a FROM t",
])
def test_the_forms_redshift_accepts_still_translate(sql: str) -> None:
    translate(sql)
