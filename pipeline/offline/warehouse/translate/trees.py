"""Helpers the tree rules share: DuckDB templates with placeholders, post-order rewriting."""

from __future__ import annotations

import functools
from collections.abc import Callable

import sqlglot
from sqlglot import exp


@functools.lru_cache(maxsize=256)
def _template(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


def fill(sql: str, **parts: exp.Expr) -> exp.Expr:
    """DuckDB `sql` parsed, with each placeholder column `__name__` replaced by `parts[name]`."""
    tree = _template(sql).copy()
    for column in list(tree.find_all(exp.Column)):
        name = column.name
        if not column.table and name.startswith("__") and name.endswith("__"):
            replacement = parts[name[2:-2]].copy()
            if column is tree:
                return replacement
            column.replace(replacement)
    return tree


def call_name(node: exp.Expr) -> str:
    return node.name.upper() if isinstance(node, exp.Anonymous) else ""


def post_order(tree: exp.Expr, rule: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """Apply `rule` to every node, children before parents (so a parent sees rewritten args)."""
    root = tree
    for node in reversed(list(tree.walk(bfs=False))):
        new = rule(node)
        if new is not node:
            if node is root:
                root = new
            else:
                node.replace(new)
    return root
