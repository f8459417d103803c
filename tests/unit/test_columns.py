"""The column contract's derived forms agree with the column table, and the check can fail.

Each `*_disagreements` function reads one derived form (the CSV reader, the row
validator, the staged line, the DDL, the data dictionary) by its behaviour or its
text and lists where it differs from a given column table. Against the real table
each list is empty; against a table with one planted change each check reports it,
so a form that drifts from the table fails here.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from pipeline.aws import sql
from pipeline.core import columns as contract
from pipeline.core.columns import DATASET_COLUMNS, DatasetColumn, Kind
from pipeline.core.dataset import load_dataset
from pipeline.core.rows import RowRejected, stage_row

pytestmark = pytest.mark.unit

README = Path(__file__).resolve().parents[2] / "data" / "README.md"
Table = tuple[DatasetColumn, ...]

VALID_CSV = {
    "message_id": "7", "message_timestamp": "2024-03-01 12:00:00+00:00",
    "message_content": "gm $BTC", "reply_message_id": "5", "trader_id": "42",
    "chat_link": "-1002154068570", "processing_time": "2024-03-01 12:00:40+00:00",
}
VALID_ROW = {
    "message_id": 7, "message_timestamp": "2024-03-01T12:00:00Z", "message_content": "gm $BTC",
    "reply_message_id": 5, "trader_id": 42, "chat_link": -1002154068570,
    "processing_time": "2024-03-01T12:00:40Z",
}
# What each kind's values are once read: the reader's output type for a present value.
READ_TYPES: dict[Kind, type] = {Kind.INT64: int, Kind.TIMESTAMP: str, Kind.TEXT: str}


def _read(tmp_path: Path, fields: dict[str, str]) -> dict[str, Any]:
    path = tmp_path / "telegram.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(fields))
        writer.writeheader()
        writer.writerow(fields)
    return load_dataset(path).records[0]


def reader_disagreements(table: Table, tmp_path: Path) -> list[str]:
    """The CSV reader: the columns it returns, their types, and which accept an empty field."""
    found: list[str] = []
    record = _read(tmp_path, VALID_CSV)
    if tuple(record) != tuple(c.name for c in table):
        found.append(f"reader columns {tuple(record)}")
    for column in table:
        if not isinstance(record.get(column.name), READ_TYPES[column.kind]):
            found.append(f"reader reads {column.name} as {type(record.get(column.name))}")
        try:
            value = _read(tmp_path, VALID_CSV | {column.name: ""})[column.name]
        except ValueError:
            accepts_null = False
        else:
            accepts_null = value is None
        if accepts_null != column.nullable:
            found.append(f"reader: {column.name} empty -> null is {accepts_null}")
    return found


def validator_disagreements(table: Table) -> list[str]:
    """The row validator: which columns accept a null, and the staged line's fields in order."""
    found: list[str] = []
    staged = stage_row(dict(VALID_ROW), batch_id="b", part=1, row_no=0)
    expected = (*(c.name for c in table), *(c.name for c in contract.LINEAGE_COLUMNS))
    if tuple(staged) != expected:
        found.append(f"staged line fields {tuple(staged)}")
    for column in table:
        if not isinstance(staged.get(column.name), READ_TYPES[column.kind]):
            found.append(f"validator stages {column.name} as {type(staged.get(column.name))}")
        try:
            staged = stage_row(VALID_ROW | {column.name: None}, batch_id="b", part=1, row_no=0)
        except RowRejected:
            accepts_null = False
        else:
            accepts_null = staged[column.name] is None
        if accepts_null != column.nullable:
            found.append(f"validator: {column.name} null accepted is {accepts_null}")
    return found


def ddl_disagreements(table: Table) -> list[str]:
    """The CREATE TABLE of telegram_messages, parsed as Redshift: names, types, NOT NULL."""
    create = next(s for s in sql.render_ddl("scraped") if "TABLE IF NOT EXISTS scraped."
                  f"{sql.MESSAGES_TABLE}" in s)
    parsed = sqlglot.parse_one(create, read="redshift")
    defs = {d.name: d for d in parsed.find_all(exp.ColumnDef)}
    found: list[str] = []
    for column in table:
        definition = defs.get(column.name)
        if definition is None:
            found.append(f"DDL lacks {column.name}")
            continue
        written = definition.args["kind"].sql(dialect="redshift")
        expected = sqlglot.parse_one(f"CAST(x AS {column.redshift_type})", read="redshift")
        if written != expected.args["to"].sql(dialect="redshift"):
            found.append(f"DDL types {column.name} {written}")
        not_null = any(isinstance(c.kind, exp.NotNullColumnConstraint) and not c.kind.args.get(
            "allow_null") for c in definition.constraints)
        if not_null == column.nullable:
            found.append(f"DDL: {column.name} NOT NULL is {not_null}")
    return found


def dictionary_disagreements(table: Table) -> list[str]:
    """data/README.md's table, between its markers, is the rendering of the column table."""
    text = README.read_text(encoding="utf-8")
    start, end = "<!-- columns:start -->\n", "\n<!-- columns:end -->"
    written = text[text.index(start) + len(start):text.index(end)]
    return [] if written == contract.render_dictionary(table) else ["data/README.md's table"]


def all_disagreements(table: Table, tmp_path: Path) -> list[str]:
    return [*reader_disagreements(table, tmp_path), *validator_disagreements(table),
            *ddl_disagreements(table), *dictionary_disagreements(table)]


def test_every_derived_form_agrees_with_the_column_table(tmp_path: Path) -> None:
    assert all_disagreements(DATASET_COLUMNS, tmp_path) == []


def test_the_copy_column_list_is_the_staged_line(tmp_path: Path) -> None:
    staged = stage_row(dict(VALID_ROW), batch_id="b", part=1, row_no=0)
    assert tuple(c.name for c in sql.MESSAGE_COLUMNS) == tuple(staged) == contract.STAGED_NAMES


def _planted(name: str, **change: Any) -> Table:
    return tuple(dataclasses.replace(c, **change) if c.name == name else c
                 for c in DATASET_COLUMNS)


@pytest.mark.parametrize("check", ["reader", "validator", "ddl", "dictionary"])
@pytest.mark.parametrize(("column", "change"), [
    ("processing_time", {"nullable": True}),
    ("reply_message_id", {"nullable": False}),
    ("message_timestamp", {"kind": Kind.INT64}),
])
def test_each_check_reports_a_planted_disagreement(
    check: str, column: str, change: dict[str, Any], tmp_path: Path
) -> None:
    """A table that says otherwise than the code: every check must see it."""
    table = _planted(column, **change)
    found = {
        "reader": lambda: reader_disagreements(table, tmp_path),
        "validator": lambda: validator_disagreements(table),
        "ddl": lambda: ddl_disagreements(table),
        "dictionary": lambda: dictionary_disagreements(table),
    }[check]()
    assert found, f"the {check} check did not notice {column} changed to {change}"
