"""The column names Redshift gives result columns: identifiers folded, unaliased
select-list expressions named."""

from __future__ import annotations

from sqlglot import exp

from pipeline.offline.warehouse.translate.registry import REGISTRY, Registry

# PostgreSQL type names Redshift labels a cast column with (`SELECT '1'::INT` is `int4`).
_TYPE_LABELS = {
    exp.DType.INT: "int4", exp.DType.BIGINT: "int8", exp.DType.SMALLINT: "int2",
    exp.DType.DOUBLE: "float8", exp.DType.FLOAT: "float4", exp.DType.DECIMAL: "numeric",
    exp.DType.VARCHAR: "varchar", exp.DType.TEXT: "varchar", exp.DType.CHAR: "bpchar",
    exp.DType.BOOLEAN: "bool", exp.DType.DATE: "date", exp.DType.TIMESTAMP: "timestamp",
    exp.DType.TIMESTAMPTZ: "timestamptz", exp.DType.SUPER: "super",
}


def _redshift_label(node: exp.Expr, registry: Registry) -> str:
    """The column name Redshift gives an unaliased select-list expression."""
    if isinstance(node, exp.Column):
        return node.parts[-1].name
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        return node.expression.name
    if isinstance(node, exp.Cast):
        if isinstance(node.this, (exp.Column, exp.Dot)):
            return _redshift_label(node.this, registry)
        return _TYPE_LABELS.get(node.to.this, "?column?")
    if isinstance(node, (exp.Window, exp.IgnoreNulls, exp.RespectNulls, exp.WithinGroup)):
        return _redshift_label(node.this, registry)
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, exp.Func):
        # A call is labelled by the name the analyst wrote (RPAD, not sqlglot's Pad),
        # unless its registry entry says otherwise (SYSDATE is `timestamp`).
        written = node.meta.get("written")
        function = registry.lookup(written, node) if written else registry.canonical(node)
        if function is not None:
            return function.label_for(written or function.name)
        if isinstance(node, exp.Anonymous):
            return node.name.lower()
    return "?column?"


def identifiers_fold_to_lower_case(tree: exp.Expr) -> exp.Expr:
    """Every identifier, quoted or not, is lower case: `SELECT 1 AS "MixedCase"` is
    labelled `mixedcase`, `CREATE TABLE "T"` makes `t`.

    enable_case_sensitive_identifier is false by default, and then "Mixed case
    identifiers are lowercased" even within double quotes
    (https://docs.aws.amazon.com/redshift/latest/dg/r_enable_case_sensitive_identifier.html).
    DuckDB resolves names without regard to case but keeps the case written, which
    showed in result labels and in the catalog. SUPER attribute names fold the same way
    (enable_case_sensitive_super_attribute is false by default too).
    """
    for identifier in tree.find_all(exp.Identifier):
        name = identifier.this
        if isinstance(name, str) and name != name.lower():
            identifier.set("this", name.lower())
    return tree


def redshift_column_labels(tree: exp.Expr, registry: Registry = REGISTRY) -> exp.Expr:
    """Unaliased result columns get the names Redshift gives them.

    `COUNT(*)` is `count` (DuckDB: `count_star()`), a function call is its name, a
    column (or SUPER path) its last name part, a cast of anything else the
    PostgreSQL type name, everything else `?column?`
    (https://docs.aws.amazon.com/redshift/latest/dg/r_SELECT_list.html). The query's
    own result is labelled, and the columns a CREATE TABLE AS or CREATE VIEW makes;
    subqueries keep DuckDB's names, which no one sees.
    """
    select = tree
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
        select = tree.expression  # CREATE TABLE AS / CREATE VIEW: the columns' names
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return tree
    for projection in list(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Star, exp.Column)):
            continue  # DuckDB names a column (or SUPER path) by its last part, as Redshift
        label = _redshift_label(projection, registry)
        projection.replace(exp.alias_(projection.copy(), label, quoted=True))
    return tree
