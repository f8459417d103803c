"""The engine reads the session's catalog only for a statement whose types need it.

Reading it is a query per statement; the loader's eleven statements per load never look
a column's type up, and a translation that looked nothing up is the same under any
catalog (translate/numeric_types.py, `UNREAD`).
"""

from __future__ import annotations

import threading

import pytest

from pipeline.aws import sql
from pipeline.offline.warehouse.engine import DuckDbWarehouse, Session


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Session:
    warehouse = DuckDbWarehouse.in_memory()
    session = Session(warehouse, "admin", threading.Event(), autocommit=True)
    reads: list[int] = []
    real = Session.catalog
    monkeypatch.setattr(Session, "catalog", lambda self: reads.append(1) or real(self))
    session.reads = reads  # type: ignore[attr-defined]
    return session


def test_only_a_statement_with_column_arithmetic_reads_the_catalog(session: Session) -> None:
    for statement in sql.render_ddl("scraped"):
        session.run(statement)
    session.run("CREATE TEMP TABLE stage (batch_id VARCHAR(36), part INTEGER)")
    session.run("INSERT INTO stage VALUES ('a', 1), ('b', 2)")
    session.run("DELETE FROM stage WHERE part = 2")
    session.run("SELECT batch_id, part, 7.0 / 4.0 FROM stage")  # literals: no column type
    assert session.reads == []  # type: ignore[attr-defined]
    session.run("SELECT part + 1 FROM stage")  # the sum of a column: its type is needed
    assert session.reads == [1]  # type: ignore[attr-defined]


def test_a_decimal_column_quotient_reads_the_catalog_and_is_exact(session: Session) -> None:
    session.run("CREATE TABLE sales (pricepaid DECIMAL(8,2), qtysold SMALLINT)")
    session.run("INSERT INTO sales VALUES (5000.00, 2)")
    outcome = session.run("SELECT pricepaid / qtysold AS each_one FROM sales")
    assert session.reads == [1]  # type: ignore[attr-defined]
    # r_numeric_computations201: DECIMAL(8,2) / DECIMAL(5,0) has scale max(4, 2+5-0+1) = 8.
    assert outcome.result is not None
    assert outcome.result.records == [[{"stringValue": "2500.00000000"}]]
    assert outcome.result.columns[0]["typeName"] == "numeric"
