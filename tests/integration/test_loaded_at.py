"""`loaded_at` is the load transaction's clock with sub-second precision, on both warehouses."""

from __future__ import annotations

import pytest
import sqlglot

from pipeline.aws import sql
from tests.integration.helpers import drain, publish, query

pytestmark = pytest.mark.integration


def test_the_load_statements_stamp_rows_and_ledger_with_sysdate_not_getdate():
    statements = sql.render_load("scraped", "s3://bucket/rows.manifest", "s3://bucket/parts.manifest",
                                 "arn:aws:iam::123456789012:role/copy")
    inserts = [s for s in statements if s.startswith("INSERT INTO")]
    assert len(inserts) == 2 and all("SYSDATE" in s and "GETDATE" not in s for s in inserts)
    for statement in inserts:
        sqlglot.parse_one(statement, read="redshift")


def test_loaded_at_has_sub_second_precision_and_one_value_per_load(local_stack, dataset):
    for seed in (11, 12, 13):
        publish(local_stack, dataset, seed=seed, sample_min=20, sample_max=50)
        drain(local_stack)
    ledger = query(local_stack, "SELECT object_key, loaded_at FROM scraped.load_ledger")
    stamps = [row[1] for row in ledger]
    assert len(stamps) == 3
    # Whole-second stamps (GETDATE) would make every fraction zero; three in a row is 1e-18.
    assert any(".000000" not in str(s) and "." in str(s) for s in stamps), stamps
    per_load = query(local_stack, "SELECT COUNT(DISTINCT m.loaded_at) FROM "
                                  "scraped.telegram_messages AS m GROUP BY m.batch_id")
    assert [n for (n,) in per_load] == [1, 1, 1], "rows and ledger share the load's clock"
    same = query(local_stack, "SELECT COUNT(*) FROM scraped.telegram_messages AS m "
                              "JOIN scraped.load_ledger AS l ON l.batch_id = m.batch_id "
                              "AND l.part = m.part WHERE l.loaded_at <> m.loaded_at")
    assert same == [[0]]
