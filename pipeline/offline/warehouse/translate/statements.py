"""Statements DuckDB must not see: LOCK, transaction control, maintenance, users, COPY."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sqlglot.tokens import Token

from pipeline.offline.warehouse.translate.copy_grammar import copy_statement
from pipeline.offline.warehouse.translate.dialect import word_of
from pipeline.offline.warehouse.translate.errors import (
    Lock,
    NoOp,
    SqlSyntaxError,
    Statement,
    Transaction,
)

# --------------------------------------------------------------------------- statement rules

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = rf"{_NAME}(?:\s*\.\s*{_NAME}){{0,2}}"
_LOCK = re.compile(
    rf"^\s*LOCK\s+(?:TABLE\s+)?(?P<names>{_QUALIFIED}(?:\s*,\s*{_QUALIFIED})*)\s*$",
    re.IGNORECASE,
)


def _normalise_name(name: str) -> str:
    """Redshift folds unquoted names to lower case; quoted parts keep their spelling."""
    parts = re.findall(_NAME, name)
    return ".".join(p[1:-1].replace('""', '"') if p.startswith('"') else p.lower() for p in parts)


def lock_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """`LOCK [TABLE] t[, t2]`: no DuckDB statement; the executor holds per-table locks."""
    if word_of(tokens[0]) != "LOCK":
        return None
    match = _LOCK.match(sql)
    if not match:
        rest = sql.split(None, 1)[1:] or [""]
        raise SqlSyntaxError(rest[0].split(None, 1)[0] if rest[0].strip() else None)
    names = re.findall(_QUALIFIED, match.group("names"))
    return Lock(tables=tuple(_normalise_name(n) for n in names))


_TX_WORDS = {
    "BEGIN": "begin", "START": "begin", "COMMIT": "commit", "END": "commit",
    "ROLLBACK": "rollback", "ABORT": "rollback",
}


def transaction_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """`BEGIN`/`START TRANSACTION`, `COMMIT`/`END`, `ROLLBACK`/`ABORT` [TRANSACTION|WORK]."""
    action = _TX_WORDS.get(word_of(tokens[0]))
    if action is None:
        return None
    if word_of(tokens[0]) == "START" and word_of(tokens[1] if len(tokens) > 1 else None) != (
        "TRANSACTION"
    ):
        return None
    if any(not word_of(t) for t in tokens[1:]):
        raise SqlSyntaxError(tokens[1].text)
    return Transaction(action=action)  # type: ignore[arg-type]


_PHYSICAL_ALTER = frozenset({"DISTKEY", "DISTSTYLE", "SORTKEY", "ENCODE"})


def maintenance_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """VACUUM, ANALYZE, GRANT, REVOKE, `ALTER TABLE ... ALTER DISTKEY|SORTKEY|ENCODE ...`.

    They tune storage or permissions that the single-user DuckDB file does not
    have; the statement succeeds without effect, as it would on a fresh cluster.
    """
    first = word_of(tokens[0])
    if first in {"VACUUM", "ANALYZE", "GRANT", "REVOKE"}:
        return NoOp(reason=first)
    words = [word_of(t) for t in tokens]
    if words[:2] == ["ALTER", "TABLE"] and "ALTER" in words[2:]:
        after = words[words.index("ALTER", 2) + 1:]
        if after and (after[0] in _PHYSICAL_ALTER or (after[:1] == ["COLUMN"] and "ENCODE" in after)
                      or after[:2] == ["COMPOUND", "SORTKEY"]):
            return NoOp(reason="ALTER TABLE physical design")
    return None


_USER_STATEMENTS = (
    ("CREATE", "USER"), ("ALTER", "USER"), ("DROP", "USER"),
    ("CREATE", "ROLE"), ("DROP", "ROLE"), ("ALTER", "DEFAULT"),
)


def database_user_statement(tokens: Sequence[Token], sql: str) -> Statement | None:
    """CREATE/ALTER/DROP USER, CREATE/DROP ROLE, ALTER DEFAULT PRIVILEGES (issue 13).

    The embedded warehouse is one DuckDB file with no users, roles or privileges, so
    `pipeline warehouse init`'s users and grants succeed without effect (GRANT and
    REVOKE are no-ops in `maintenance_statement`).
    """
    words = tuple(word_of(t) for t in tokens[:2])
    return NoOp(reason=" ".join(words)) if words in _USER_STATEMENTS else None


STATEMENT_RULES: tuple[Callable[[Sequence[Token], str], Statement | None], ...] = (
    lock_statement,
    transaction_statement,
    maintenance_statement,
    database_user_statement,
    copy_statement,
)
