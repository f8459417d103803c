"""Load `telegram.csv` (alone or inside the dataset zip) into typed, JSON-ready rows.

The publisher samples rows from a `Dataset` every tick; notebooks use
`load_frame`. Both read the file the same way: every column as text first
(so nothing is guessed), then converted column by column with pyarrow
compute. A value that does not convert raises `ValueError` naming the column
and the 1-based physical line of the CSV where that record starts (records
can span lines: messages hold newlines).

The original assignment file wrote `reply_message_id` the way pandas writes a
float column with gaps (`12345.0`, empty, sometimes `nan`); those load as
nullable integers, and a non-integral value like `12345.5` is an error.

pyarrow, numpy and pandas are imported inside the functions that need them,
so importing `COLUMNS` or `Dataset` costs nothing.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

COLUMNS: tuple[str, ...] = (
    "message_id",
    "message_timestamp",
    "message_content",
    "reply_message_id",
    "trader_id",
    "chat_link",
    "processing_time",
)
CSV_MEMBER = "telegram.csv"

_INT_COLUMNS = ("message_id", "reply_message_id", "trader_id", "chat_link")
_NULLABLE = frozenset({"reply_message_id", "trader_id"})
_TIMESTAMP_COLUMNS = ("message_timestamp", "processing_time")
# What pandas (and people) write for a missing number; matched ignoring case.
_NULL_SPELLINGS = r"^(|nan|-nan|na|n/a|<na>|none|null|#n/a)$"
# A time of day followed by a zone designator; values without one are taken as UTC.
_HAS_ZONE = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
# `12345`, `+12345`, `12345.0`, `12345.000` -> `12345`; anything else stays as it is.
_INTEGRAL = r"^\+?(-?[0-9]+)(\.0*)?$"


@dataclass(frozen=True, repr=False)
class Dataset:
    """The rows of `telegram.csv` as JSON-ready dicts, in file order.

    Each record has exactly the keys of `COLUMNS`: ints (or None for the
    nullable `reply_message_id` / `trader_id`), the message text ("" when
    empty), and both timestamps as ISO 8601 UTC text (`2024-03-01T12:34:56Z`,
    with `.ffffff` only when the microseconds are not zero).
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

    Raises ValueError naming the column and CSV line of the first bad value,
    or the missing column(s).
    """
    table, label = _load_table(path)
    columns: dict[str, list[Any]] = {}
    for name in COLUMNS:
        col = table.column(name)
        columns[name] = _iso_utc(col) if name in _TIMESTAMP_COLUMNS else col.to_pylist()
    records = [
        {
            "message_id": a,
            "message_timestamp": b,
            "message_content": c,
            "reply_message_id": d,
            "trader_id": e,
            "chat_link": f,
            "processing_time": g,
        }
        for a, b, c, d, e, f, g in zip(*(columns[name] for name in COLUMNS), strict=True)
    ]
    return Dataset(records=records, source=label)


def load_frame(path: str | Path) -> pd.DataFrame:
    """Read the dataset into a DataFrame for notebooks.

    Ids are `Int64` (nullable), times `datetime64[ns, UTC]`, the text `string`.
    """
    import pandas as pd
    import pyarrow as pa

    table, _ = _load_table(path)
    mapping = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype()}
    return table.to_pandas(types_mapper=mapping.get)


# ---------------------------------------------------------------------------
# Reading and converting.


class _Source:
    """The raw CSV bytes and a label, for error messages that point at a line."""

    def __init__(self, data: bytes, label: str) -> None:
        self.data = data
        self.label = label
        self._lines: list[int] | None = None

    def error(self, message: str, *, line: int | None = None, column: str | None = None) -> str:
        where = [self.label]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        return ": ".join([", ".join(where), message])

    def line_of(self, row: int) -> int:
        """1-based physical line where data record `row` (0-based) starts."""
        if self._lines is None:
            self._lines = []
            reader = csv.reader(io.StringIO(self._text(), newline=""))
            next(reader, None)  # header
            previous_end = reader.line_num
            for fields in reader:
                if fields:  # blank lines are skipped, as pyarrow does
                    self._lines.append(previous_end + 1)
                previous_end = reader.line_num
        return self._lines[row] if row < len(self._lines) else row + 2

    def header(self) -> list[str]:
        end = self.data.find(b"\n")
        first = self.data if end < 0 else self.data[:end]
        text = first.decode("utf-8-sig", errors="replace").rstrip("\r")
        return next(csv.reader([text]), [])

    def describe_parse_error(self, exc: Exception) -> str:
        """Point at the first record whose field count differs from the header's."""
        reader = csv.reader(io.StringIO(self._text(), newline=""))
        try:
            width = len(next(reader))
            previous_end = reader.line_num
            for fields in reader:
                if fields and len(fields) != width:
                    return self.error(
                        f"expected {width} fields as in the header, got {len(fields)}",
                        line=previous_end + 1,
                    )
                previous_end = reader.line_num
        except csv.Error as csv_exc:
            return self.error(f"malformed CSV ({csv_exc})", line=reader.line_num)
        return self.error(f"cannot parse the CSV ({exc})")

    def _text(self) -> str:
        return self.data.decode("utf-8-sig", errors="replace")


def _read_source(path: str | Path) -> _Source:
    path = Path(path)
    if not zipfile.is_zipfile(path):
        return _Source(path.read_bytes(), path.name)
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
        return _Source(zf.read(member), f"{path.name}:{member}")


def _load_table(path: str | Path) -> tuple[pa.Table, str]:
    """Read and type the seven columns; returns the table and a label for messages."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    source = _read_source(path)
    if not source.data.strip():
        raise ValueError(source.error("the file is empty (no header)", line=1))
    header = source.header()
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValueError(
            source.error(
                f"missing column(s) {', '.join(map(repr, missing))}; expected {', '.join(COLUMNS)}",
                line=1,
            )
        )
    try:
        raw = pcsv.read_csv(
            pa.BufferReader(source.data),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(COLUMNS, pa.string()),
                include_columns=list(COLUMNS),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        raise ValueError(source.describe_parse_error(exc)) from exc

    arrays: list[pa.Array] = []
    for name in COLUMNS:
        col = raw.column(name).combine_chunks()
        if name in _INT_COLUMNS:
            arrays.append(_to_int64(col, name, source))
        elif name in _TIMESTAMP_COLUMNS:
            arrays.append(_to_timestamp(col, name, source))
        else:
            arrays.append(col)
    return pa.Table.from_arrays(arrays, names=list(COLUMNS)), source.label


def _nulls(values: pa.Array, name: str, source: _Source) -> pa.Array:
    """Trimmed values with the null spellings turned into nulls; raise if the column needs one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # Only kernels over arrays here: building pyarrow scalars from Python values
    # makes pyarrow import pandas (~0.3 s), which the publisher does not need.
    trimmed = pc.utf8_trim_whitespace(values)
    is_null = pc.match_substring_regex(trimmed, _NULL_SPELLINGS, ignore_case=True)
    if name not in _NULLABLE and pc.any(is_null).as_py():
        row = pc.indices_nonzero(is_null)[0].as_py()
        raise ValueError(source.error("a value is required", line=source.line_of(row), column=name))
    return pc.if_else(is_null, pa.nulls(len(trimmed), pa.string()), trimmed)


def _to_int64(values: pa.Array, name: str, source: _Source) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    cleaned = _nulls(values, name, source)
    try:
        return pc.cast(cleaned, pa.int64())
    except pa.ArrowInvalid:
        pass
    # The slow path only runs for files like the original: `12345.0` and friends.
    integral = pc.replace_substring_regex(cleaned, pattern=_INTEGRAL, replacement=r"\1")

    def cast(a: pa.Array) -> pa.Array:
        return pc.cast(a, pa.int64())

    try:
        return cast(integral)
    except pa.ArrowInvalid:
        row = _first_failure(integral, cast)
        text = cleaned[row].as_py()
        raise ValueError(
            source.error(_int_problem(text), line=source.line_of(row), column=name)
        ) from None


def _int_problem(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return f"{text!r} is not an integer"
    if number != number or number in (float("inf"), float("-inf")):
        return f"{text!r} is not an integer"
    if not number.is_integer():
        return f"{text!r} is not an integral number (ids are integers)"
    if "." in text or "e" in text.lower():
        return f"{text!r} is not written as an integer (use digits, optionally '.0')"
    return f"{text!r} does not fit in a 64-bit integer"


def _to_timestamp(values: pa.Array, name: str, source: _Source) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    cleaned = _nulls(values, name, source)
    # Naive values are UTC: give them an explicit zone so one cast parses the column.
    zoned = pc.if_else(
        pc.match_substring_regex(cleaned, _HAS_ZONE),
        cleaned,
        pc.replace_substring_regex(cleaned, pattern="^(.*)$", replacement=r"\1+00:00"),
    )
    target = pa.timestamp("ns", tz="UTC")

    def cast(a: pa.Array) -> pa.Array:
        return pc.cast(a, target)

    try:
        return cast(zoned)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        row = _first_failure(zoned, cast)
        text = cleaned[row].as_py()
        raise ValueError(
            source.error(
                f"{text!r} is not a timestamp (expected e.g. 2024-03-01 12:34:56+00:00)",
                line=source.line_of(row),
                column=name,
            )
        ) from None


def _first_failure(values: pa.Array, convert: Callable[[pa.Array], Any]) -> int:
    """Index of the first element `convert` rejects, by bisecting on prefixes."""
    lo, hi = 0, len(values)  # the prefix [0, lo) converts, [0, hi) does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            convert(values.slice(0, mid))
        except Exception:  # whatever `convert` raises means "bad"
            hi = mid
        else:
            lo = mid
    return lo


def _iso_utc(values: pa.ChunkedArray) -> list[str]:
    """`2024-03-01T12:34:56Z`, or `...56.123456Z` when there are microseconds (ns dropped)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # Read the int64 buffer directly: Array.to_numpy would import pandas.
    ints = pc.cast(values, pa.int64()).combine_chunks()
    ns = np.frombuffer(ints.buffers()[1], dtype=np.int64, count=len(ints), offset=ints.offset * 8)
    seconds = np.datetime_as_string(np.floor_divide(ns, 10**9).astype("datetime64[s]"))
    micros = np.floor_divide(ns, 1000) % 1_000_000
    out = [s + "Z" for s in seconds.tolist()]
    for i in np.flatnonzero(micros).tolist():
        out[i] = f"{seconds[i]}.{int(micros[i]):06d}Z"
    return out
