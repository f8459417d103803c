"""Load `telegram.csv` (alone or inside the dataset zip) into typed, JSON-ready rows.

The publisher samples rows from a `Dataset` every tick; notebooks build their
DataFrame from the same records (`pipeline.analysis.frames.load_frame`). Only
the standard library is used, so the Lambda function needs no layer for it:
the file is parsed with `csv`, every field read as text (nothing is guessed),
then each column is converted. A value that does not convert raises
`ValueError` naming the file, the 1-based physical line of the CSV where that
record starts (records can span lines: messages hold newlines) and the column.

The original assignment file wrote `reply_message_id` the way pandas writes a
float column with gaps (`12345.0`, empty, sometimes `nan`); those load as
nullable integers, and a non-integral value like `12345.5` is an error.
"""

from __future__ import annotations

import csv
import gc
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.core.columns import DATASET_COLUMNS, NAMES, Kind
from pipeline.core.limits import BIGINT_MAX, BIGINT_MIN

# The column names, in file order (the column table, `pipeline.core.columns`, decides them).
COLUMNS: tuple[str, ...] = NAMES
CSV_MEMBER = "telegram.csv"

# What pandas (and people) write for a missing number; compared lower-cased and trimmed.
_NULL_SPELLINGS = frozenset({"", "nan", "-nan", "na", "n/a", "<na>", "none", "null", "#n/a"})
# `12345`, `+12345`, `-12345`, `12345.0`, `12345.000`; ASCII digits only (int() alone would
# also take `1_000` and non-ASCII digits).
_INTEGRAL = re.compile(r"[+-]?[0-9]+(?:\.0*)?\Z")
# The common spelling, already UTC and whole seconds: converted by slicing, not parsing.
_PLAIN_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\+00:00|Z)?\Z")
# A whole column of `2024-03-01 12:34:56+00:00`, one per line (the shipped file's spelling).
_PLAIN_UTC_COLUMN = re.compile(
    r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00\n)+"
)


@dataclass(frozen=True, repr=False)
class Dataset:
    """The rows of `telegram.csv` as JSON-ready dicts, in file order.

    Each record has exactly the keys of `COLUMNS`: ints (or None where the
    column table allows a null: `reply_message_id`, `trader_id`), the message
    text ("" when empty), and both timestamps as ISO 8601 UTC text
    (`2024-03-01T12:34:56Z`, with `.ffffff` only when the microseconds are not zero).
    """

    records: list[dict[str, Any]]
    source: str = ""

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"Dataset(source={self.source!r}, rows={len(self.records)})"

    def rows(self, indices: Iterable[int]) -> list[dict[str, Any]]:
        """The records at `indices` (list positions), as copies the caller may change."""
        records = self.records
        return [records[i].copy() for i in indices]


def load_dataset(path: str | Path) -> Dataset:
    """Read the dataset zip (or a plain `.csv`) into a `Dataset` of typed records.

    Raises ValueError naming the file, line and column of the first bad value,
    or the missing column(s).
    """
    label, text = _read_source(path)
    # ~750k new objects that form no cycles: the cycle collector would walk them again and
    # again as they pile up (about a third of a cold start). Paused for the load only.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(label, text)
    finally:
        if collecting:
            gc.enable()


@contextmanager
def _any_field_length(text: str) -> Iterator[None]:
    """Lift csv's field limit (131,072 characters by default) to the text's own length.

    The CSV format puts no bound on a field, and no field is longer than the file;
    the limits that apply to a message are the warehouse's (its text is cut to
    65,535 bytes when staged). The module-wide limit is restored afterwards.
    """
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, len(text)))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _load(label: str, text: str) -> Dataset:
    with _any_field_length(text):
        return _parse(label, text)


def _parse(label: str, text: str) -> Dataset:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise ValueError(_where(label, "the file is empty (no header)", line=1))
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValueError(
            _where(
                label,
                f"missing column(s) {', '.join(map(repr, missing))}; expected {', '.join(COLUMNS)}",
                line=1,
            )
        )
    width = len(header)
    try:
        raw = [fields for fields in reader if fields]  # a blank line is no record
    except csv.Error as exc:
        raise ValueError(_where(label, f"malformed CSV ({exc})", line=reader.line_num)) from None
    lines = _LineIndex(text)
    for row, fields in enumerate(raw):
        if len(fields) != width:
            raise ValueError(
                _where(
                    label,
                    f"expected {width} fields as in the header, got {len(fields)}",
                    line=lines[row],
                )
            )

    # One C-level transpose; each column is then converted as a whole where it can be.
    by_column = list(zip(*raw, strict=True)) if raw else [() for _ in header]
    columns: list[list[Any] | tuple[str, ...]] = []
    for column in DATASET_COLUMNS:
        values = by_column[header.index(column.name)]
        if column.kind is Kind.INT64:
            columns.append(_ints(values, column.name, column.nullable, label, lines))
        elif column.kind is Kind.TIMESTAMP:
            columns.append(_timestamps(values, column.name, column.nullable, label, lines))
        else:
            # Text is taken as written: an empty field is the value "", never a null.
            columns.append(values)
    names = COLUMNS
    records = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    return Dataset(records=records, source=label)


# ---------------------------------------------------------------------------
# Reading and converting.


def _where(label: str, message: str, *, line: int | None = None, column: str | None = None) -> str:
    """`file, line N, column 'x': message`: the one shape of every loading error."""
    where = [label]
    if line is not None:
        where.append(f"line {line}")
    if column is not None:
        where.append(f"column {column!r}")
    return ": ".join([", ".join(where), message])


def _read_source(path: str | Path) -> tuple[str, str]:
    """A label for messages (`file` or `zip:member`) and the CSV text."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        return path.name, path.read_bytes().decode("utf-8-sig", errors="replace")
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/")]
        if CSV_MEMBER in names:
            member = CSV_MEMBER
        else:
            matches = [n for n in names if n.rsplit("/", 1)[-1] == CSV_MEMBER]
            if len(matches) != 1:
                raise ValueError(
                    f"{path.name}: expected one {CSV_MEMBER} in the zip, found "
                    f"{len(matches)} among {names[:10]}"
                )
            member = matches[0]
        return f"{path.name}:{member}", zf.read(member).decode("utf-8-sig", errors="replace")


class _Bad(ValueError):
    """A value that does not convert; the message says why (the caller adds where)."""


class _LineIndex:
    """The physical line each record starts on, worked out only when an error needs one."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: list[int] | None = None

    def __getitem__(self, row: int) -> int:
        if self._lines is None:
            with _any_field_length(self._text):
                self._lines = self._starts()
        return self._lines[row] if row < len(self._lines) else row + 2

    def _starts(self) -> list[int]:
        reader = csv.reader(io.StringIO(self._text, newline=""))
        next(reader, None)  # header
        starts = []
        previous_end = reader.line_num
        for fields in reader:
            if fields:
                starts.append(previous_end + 1)
            previous_end = reader.line_num
        return starts


def _ints(
    values: Sequence[str], name: str, nullable: bool, label: str, lines: _LineIndex
) -> list[Any]:
    """The column as ints (None for nulls where allowed): all at once when every value is
    plain digits (or empty, where nullable), else value by value with the exact error."""
    joined = "".join(values)
    # int() alone would also take `1_000` and non-ASCII digits: those go the careful way.
    if joined.isascii() and "_" not in joined:
        try:
            out: list[int | None] = (
                [int(v) if v else None for v in values] if nullable else list(map(int, values))
            )
        except ValueError:
            pass
        else:
            present = [v for v in out if v is not None]
            if not present or (min(present) >= BIGINT_MIN and max(present) <= BIGINT_MAX):
                return out
    return _convert(values, name, nullable, _to_int, label, lines)


def _timestamps(
    values: Sequence[str], name: str, nullable: bool, label: str, lines: _LineIndex
) -> list[Any]:
    """The column as ISO 8601 UTC text: by string operations over the whole column when
    every value is `YYYY-MM-DD HH:MM:SS+00:00` (how pandas writes UTC), else value by value."""
    joined = "\n".join(values) + "\n"
    if values and _PLAIN_UTC_COLUMN.fullmatch(joined):
        return joined.replace(" ", "T").replace("+00:00\n", "Z\n").split("\n")[:-1]
    return _convert(values, name, nullable, _to_iso_utc, label, lines)


def _convert(
    values: Sequence[str],
    name: str,
    nullable: bool,
    convert: Callable[[str], Any],
    label: str,
    lines: _LineIndex,
) -> list[Any]:
    """Trim, turn null spellings into None (or fail if the column needs a value), convert."""
    out: list[Any] = []
    append = out.append
    for row, value in enumerate(values):
        text = value.strip()
        try:
            if text.lower() in _NULL_SPELLINGS:
                if not nullable:
                    raise _Bad("a value is required")
                append(None)
            else:
                append(convert(text))
        except _Bad as exc:
            raise ValueError(_where(label, str(exc), line=lines[row], column=name)) from None
    return out


def _to_int(text: str) -> int:
    if _INTEGRAL.match(text):
        number = int(text.split(".", 1)[0])
        if BIGINT_MIN <= number <= BIGINT_MAX:
            return number
    raise _Bad(_int_problem(text))


def _int_problem(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return f"{text!r} is not an integer"
    if number != number or number in (float("inf"), float("-inf")):
        return f"{text!r} is not an integer"
    if not number.is_integer():
        return f"{text!r} is not an integral number (ids are integers)"
    if not _INTEGRAL.match(text):
        return f"{text!r} is not written as an integer (use digits, optionally '.0')"
    return f"{text!r} does not fit in a 64-bit integer"


def _to_iso_utc(text: str) -> str:
    """`2024-03-01T12:34:56Z`, or `...56.123456Z` when there are microseconds.

    Values without a zone are taken as UTC; digits past microseconds are dropped.
    """
    if _PLAIN_UTC.match(text):
        return f"{text[:10]}T{text[11:19]}Z"
    try:
        moment = datetime.fromisoformat(text)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad(
            f"{text!r} is not a timestamp (expected e.g. 2024-03-01 12:34:56+00:00)"
        ) from None
    seconds = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{seconds}.{moment.microsecond:06d}Z" if moment.microsecond else f"{seconds}Z"
