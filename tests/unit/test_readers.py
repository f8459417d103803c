"""Local readers are read-only, whichever way they reach the warehouse; CLI argument types."""

from __future__ import annotations

import argparse

import pytest

from pipeline.analysis.warehouse import require_read_only
from pipeline.cli import at_least
from pipeline.core.errors import PipelineError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
    "SELECT 1 UNION ALL SELECT 2",
    "SELECT m.entities.tickers[0] AS t FROM scraped.telegram_messages AS m",
    "SHOW TABLES",
])
def test_a_reader_may_run_queries(sql):
    require_read_only(sql)


@pytest.mark.parametrize(("sql", "verb"), [
    ("DELETE FROM scraped.telegram_messages", "DELETE"),
    ("INSERT INTO scraped.load_ledger VALUES (1)", "INSERT"),
    ("DROP TABLE scraped.telegram_messages", "DROP"),
    ("TRUNCATE scraped.telegram_messages", "TRUNCATETABLE"),
    ("SELECT 1; UPDATE scraped.telegram_messages SET part = 2", "UPDATE"),
])
def test_a_reader_may_not_change_the_warehouse(sql, verb):
    with pytest.raises(PipelineError, match=f"read-only: a reader cannot run {verb}"):
        require_read_only(sql)


@pytest.mark.parametrize(("minimum", "kind", "text", "message"), [
    (0, int, "-1", "must be 0 or more, got -1"),
    (1, int, "0", "must be 1 or more, got 0"),
    (1, int, "two", "'two' is not a whole number"),
    (0, float, "-0.5", "must be 0 or more, got -0.5"),
    (0, float, "nan", "must be 0 or more, got nan"),
])
def test_numeric_options_are_refused_with_a_message_naming_the_bound(minimum, kind, text,
                                                                      message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        at_least(minimum, kind)(text)


def test_numeric_options_in_range_pass_through():
    assert at_least(0)("0") == 0 and at_least(0, float)("0.25") == 0.25
