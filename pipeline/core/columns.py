"""The column contract, written once: every other form of it is derived from this table.

`telegram.csv`'s seven columns and the lineage columns the loader adds are one
table of entries; from it come the CSV reader's converters (`core/dataset.py`),
the row validator (`core/rows.py`), the staged NDJSON line (`core/rows.py`), the
warehouse DDL (`aws/sql.py`) and the data dictionary in `data/README.md`
(`render_dictionary`). `tests/unit/test_columns.py` checks each derived form
against the table, so a form that drifts fails a test instead of a load.

Nullability is the data dictionary's: only `reply_message_id` (not a reply) and
`trader_id` (the original file may lack an author) may be empty. An empty
`message_content` is the value `""`, never a null.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipeline.core.limits import EARLIEST_YEAR, LATEST_YEAR, REDSHIFT_MAX_VARCHAR_BYTES


class Kind(StrEnum):
    """What a dataset column holds; each kind has one CSV reading, one rule, one SQL type."""

    INT64 = "int64"
    TIMESTAMP = "timestamp"
    TEXT = "text"


@dataclass(frozen=True)
class KindRule:
    """How one kind is typed in the warehouse and what the validator requires of a value."""

    redshift_type: str
    rule: str


KINDS: dict[Kind, KindRule] = {
    Kind.INT64: KindRule(
        "BIGINT",
        "64-bit signed integer; `12345.0` reads as 12345, `12345.5` is an error",
    ),
    Kind.TIMESTAMP: KindRule(
        "TIMESTAMPTZ",
        f"ISO 8601, UTC (no zone reads as UTC), year {EARLIEST_YEAR}..{LATEST_YEAR}",
    ),
    Kind.TEXT: KindRule(
        f"VARCHAR({REDSHIFT_MAX_VARCHAR_BYTES})",
        f"any Unicode but NUL; over {REDSHIFT_MAX_VARCHAR_BYTES:,} UTF-8 bytes is cut",
    ),
}


@dataclass(frozen=True)
class DatasetColumn:
    """One column of `telegram.csv`, as the reader, validator, DDL and dictionary see it."""

    name: str
    kind: Kind
    nullable: bool

    @property
    def csv_type(self) -> str:
        return self.kind.value

    @property
    def redshift_type(self) -> str:
        return KINDS[self.kind].redshift_type

    @property
    def rule(self) -> str:
        return KINDS[self.kind].rule


@dataclass(frozen=True)
class LineageColumn:
    """A column the loader adds to each staged row: JSON documents and where the row came from."""

    name: str
    redshift_type: str
    nullable: bool


DATASET_COLUMNS: tuple[DatasetColumn, ...] = (
    DatasetColumn("message_id", Kind.INT64, nullable=False),
    DatasetColumn("message_timestamp", Kind.TIMESTAMP, nullable=False),
    DatasetColumn("message_content", Kind.TEXT, nullable=False),
    DatasetColumn("reply_message_id", Kind.INT64, nullable=True),
    DatasetColumn("trader_id", Kind.INT64, nullable=True),
    DatasetColumn("chat_link", Kind.INT64, nullable=False),
    DatasetColumn("processing_time", Kind.TIMESTAMP, nullable=False),
)
# After the dataset's columns, every staged line carries these (in this order).
LINEAGE_COLUMNS: tuple[LineageColumn, ...] = (
    LineageColumn("entities", "SUPER", nullable=True),
    LineageColumn("raw", "SUPER", nullable=True),
    LineageColumn("batch_id", "VARCHAR(36)", nullable=False),
    LineageColumn("part", "INTEGER", nullable=False),
    LineageColumn("row_no", "INTEGER", nullable=False),
)
STAGED_COLUMNS: tuple[DatasetColumn | LineageColumn, ...] = (*DATASET_COLUMNS, *LINEAGE_COLUMNS)

NAMES: tuple[str, ...] = tuple(c.name for c in DATASET_COLUMNS)
STAGED_NAMES: tuple[str, ...] = tuple(c.name for c in STAGED_COLUMNS)


def of_kind(kind: Kind, columns: tuple[DatasetColumn, ...] = DATASET_COLUMNS) -> tuple[str, ...]:
    """The names of the dataset columns of `kind`, in table order."""
    return tuple(c.name for c in columns if c.kind is kind)


DICTIONARY_HEADER = "| column | CSV type | Redshift type | nullable | rule |"


def render_dictionary(columns: tuple[DatasetColumn, ...] = DATASET_COLUMNS) -> str:
    """The data dictionary's table (data/README.md holds exactly this text between markers)."""
    lines = [DICTIONARY_HEADER, "|---|---|---|---|---|"]
    lines += [
        f"| `{c.name}` | {c.csv_type} | `{c.redshift_type}` | {'yes' if c.nullable else 'no'} "
        f"| {c.rule} |"
        for c in columns
    ]
    return "\n".join(lines)
