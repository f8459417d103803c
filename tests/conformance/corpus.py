"""The documentation corpus: Redshift behaviours from AWS's developer guide, as data.

`corpus.txt` holds cases written from the Amazon Redshift Database Developer Guide
(source: github.com/awsdocs/amazon-redshift-developer-guide, doc_source/*.md; each
page is https://docs.aws.amazon.com/redshift/latest/dg/<page>). The format, one
case per line:

    [r_ABS.html] ABS                         <- page and construct for the cases below
    SELECT ABS(-38) => 38                    <- CORRECT: the documented result
    SELECT 1 / 0 => ERROR: division by zero  <- CORRECT: Redshift raises this error
    SELECT ... => REFUSED: FILTER            <- REFUSED: the embedded warehouse refuses
    SELECT RPAD('a', 3) => labels(rpad): 'a  '   <- the columns' names too, as documented
    !setup CREATE TABLE ...                  <- run once before the cases (Redshift SQL)
    !block corpus_t                          <- the cases up to `!end` build state: each
    CREATE TABLE corpus_t (a INT) => (no rows)   runs after the block's earlier cases, on
    SELECT COUNT(*) FROM corpus_t => 0           a session of the block's own
    !end
    # a comment (ambiguities in the docs are noted here)

A result is rows separated by ` ;; `, columns by ` | `; `NULL` is a NULL, a cell in
single quotes keeps its blanks (`''` is the empty string). Values compare as the Data
API shows them (GetStatementResult): text as is, numbers by value (to the last digit
the guide prints; float8 to 15 significant digits), booleans as true/false,
timestamps as 'YYYY-MM-DD HH:MM:SS', SUPER as compact JSON text.

Every case runs through the embedded warehouse's engine (`Session.run`, as the Data API
server and `connect("local")` do). A case that changes the database (CREATE, INSERT,
UPDATE, DELETE, DROP, TRUNCATE, ALTER) must sit in a `!block`: the other cases share one
session, which no case may change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pipeline.offline.warehouse.engine import Session

CORPUS = Path(__file__).with_name("corpus.txt")
DOCS = "https://docs.aws.amazon.com/redshift/latest/dg/"
_HEADER = re.compile(r"^\[(?P<page>[\w.\-]+)\]\s+(?P<construct>.+)$")
_BLOCK = re.compile(r"^!block\s+(?P<name>\w+)$")
# A statement that changes the database: as a case it belongs in a `!block`.
_CHANGES_STATE = re.compile(r"^\s*(CREATE|INSERT|UPDATE|DELETE|DROP|TRUNCATE|ALTER)\b",
                            re.IGNORECASE)


@dataclass(frozen=True)
class DocCase:
    """One documented behaviour: a query and what Redshift gives (or that we refuse it)."""

    page: str
    construct: str
    sql: str
    kind: Literal["CORRECT", "ERROR", "REFUSED"]
    expected: str  # the rows as text; for ERROR/REFUSED the message fragment
    line: int
    labels: tuple[str, ...] | None = None  # the documented column names, when given
    block: str | None = None  # the `!block` whose state the case runs in

    @property
    def status(self) -> Literal["CORRECT", "REFUSED"]:
        return "REFUSED" if self.kind == "REFUSED" else "CORRECT"

    @property
    def url(self) -> str:
        return DOCS + self.page

    @property
    def id(self) -> str:
        return f"{self.line}:{self.construct}:{self.sql[:60]}"


def load(path: Path = CORPUS) -> tuple[list[str], list[DocCase]]:
    """The setup statements and the cases of the corpus file."""
    setup: list[str] = []
    cases: list[DocCase] = []
    page = construct = ""
    block: str | None = None
    blocks: set[str] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!setup "):
            setup.append(line.removeprefix("!setup "))
            continue
        opened = _BLOCK.match(line)
        if opened or line == "!end":
            if bool(opened) == (block is not None):
                raise ValueError(f"{path.name}:{number}: {line!r} inside block {block!r}"
                                 if opened else f"{path.name}:{number}: !end outside a block")
            block = opened.group("name") if opened else None
            if block is not None:
                if block in blocks:
                    raise ValueError(f"{path.name}:{number}: block {block!r} is defined twice")
                blocks.add(block)
            continue
        header = _HEADER.match(line)
        if header:
            page, construct = header.group("page"), header.group("construct").strip()
            continue
        if " => " not in line or not page:
            raise ValueError(f"{path.name}:{number}: not a case: {line!r}")
        sql, expected = (part.strip() for part in line.rsplit(" => ", 1))
        labels = None
        if expected.startswith("labels(") and "):" in expected:
            names, expected = expected.removeprefix("labels(").split("):", 1)
            labels = tuple(name.strip() for name in names.split(","))
            expected = expected.strip()
        kind: Literal["CORRECT", "ERROR", "REFUSED"] = "CORRECT"
        for word in ("ERROR", "REFUSED"):
            if expected.startswith(word + ":"):
                kind = word  # type: ignore[assignment]
                expected = expected.removeprefix(word + ":").strip()
        if block is None and kind != "REFUSED" and _CHANGES_STATE.match(sql):
            raise ValueError(f"{path.name}:{number}: a case that changes the database "
                             "belongs in a !block")
        cases.append(DocCase(page, construct, sql, kind, expected, number, labels, block))
    if block is not None:
        raise ValueError(f"{path.name}: block {block!r} has no !end")
    return setup, cases


# --------------------------------------------------------------------------- comparing


def field_text(field: dict[str, Any]) -> str:
    """A Data API Field union as text: NULL, true/false, numbers, strings as they are."""
    if field.get("isNull"):
        return "NULL"
    if "booleanValue" in field:
        return "true" if field["booleanValue"] else "false"
    if "longValue" in field:
        return str(field["longValue"])
    if "doubleValue" in field:
        return repr(float(field["doubleValue"]))
    value = str(field.get("stringValue", ""))
    if value.endswith("+00") and re.match(r"\d{4}-\d\d-\d\d \d", value):
        value = value[:-3]
    return value


def rows_text(records: list[list[dict[str, Any]]]) -> list[list[str]]:
    return [[field_text(f) for f in record] for record in records]


def expected_rows(text: str) -> list[list[str]]:
    if text == "(no rows)":
        return []
    rows = [[cell.strip() for cell in row.split(" | ")] for row in text.split(" ;; ")]
    return [[_unquote(cell) for cell in row] for row in rows]


def _unquote(cell: str) -> str:
    """`'  a '` keeps its blanks (and `''` is the empty string); other cells are trimmed."""
    if len(cell) >= 2 and cell[0] == cell[-1] == "'":
        return cell[1:-1]
    return cell


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def cell_matches(actual: str, expected: str) -> bool:
    if actual == expected:
        return True
    a, e = _number(actual), _number(expected)
    if a is None or e is None:
        return False
    # The guide prints float8 with 15 significant digits (and a whole float as `4`);
    # a decimal expectation holds to its last printed digit.
    digits = len(expected.split(".")[1]) if "." in expected and "e" not in expected else 0
    tolerance = max(1e-9 * abs(e), 1e-12, 0.5 * 10 ** -digits if digits >= 13 else 0)
    return abs(a - e) <= tolerance


def mismatch(actual: list[list[str]], case: DocCase) -> str | None:
    """Why `actual` is not the documented result (None when it is)."""
    want = expected_rows(case.expected)
    if len(actual) != len(want) or any(len(a) != len(w) for a, w in zip(actual, want,
                                                                       strict=False)):
        return f"got {actual!r}, documented {want!r}"
    for a_row, w_row in zip(actual, want, strict=True):
        for a, w in zip(a_row, w_row, strict=True):
            if not cell_matches(a, w):
                return f"got {actual!r}, documented {want!r}"
    return None


def by_construct(cases: list[DocCase]) -> Iterator[tuple[str, list[DocCase]]]:
    """The cases grouped by construct, in the corpus's order of first appearance."""
    groups: dict[str, list[DocCase]] = {}
    for case in cases:
        groups.setdefault(case.construct, []).append(case)
    yield from groups.items()


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Outcome:
    """What the embedded warehouse did with a case's query."""

    kind: Literal["ROWS", "ERROR", "REFUSED"]
    rows: list[list[str]]
    message: str = ""
    labels: tuple[str, ...] = ()


def run(session: Session, sql: str) -> Outcome:
    """`sql` through the engine's entry point (`Session.run`, as the embedded Data API runs
    it); rows as the Data API's fields shown as text. Any exception other than the
    engine's StatementFailed propagates: a traceback is a failure of the case."""
    from pipeline.offline.warehouse.engine import StatementFailed

    try:
        result = session.run(sql).result
    except StatementFailed as exc:
        message = exc.error.removeprefix("ERROR: ")
        return Outcome("ERROR" if exc.construct is None else "REFUSED", [], message)
    if result is None:
        return Outcome("ROWS", [])
    return Outcome("ROWS", rows_text(result.records),
                   labels=tuple(column["label"] for column in result.columns))


def problem(case: DocCase, outcome: Outcome) -> str | None:
    """Why the outcome is not the case's documented behaviour (None when it is)."""
    if case.kind == "CORRECT":
        if outcome.kind != "ROWS":
            return f"{outcome.kind}: {outcome.message}"
        if case.labels is not None and outcome.labels != case.labels:
            return f"labelled {list(outcome.labels)}, documented {list(case.labels)}"
        return mismatch(outcome.rows, case)
    if outcome.kind != case.kind:
        return f"expected {case.kind} ({case.expected}), got {outcome.kind}: " + (
            outcome.message or repr(outcome.rows))
    if case.expected.lower() not in outcome.message.lower():
        return f"{case.kind} message {outcome.message!r} does not say {case.expected!r}"
    return None


def connection(setup: list[str] | tuple[str, ...] = ()) -> Session:
    """A session on a scratch in-memory warehouse, set up like the embedded one, after
    `setup` (Redshift SQL, through the same engine). Close it with `close`."""
    import threading

    from pipeline.offline.warehouse.engine import DuckDbWarehouse, Session

    session = Session(DuckDbWarehouse.in_memory(), "corpus", threading.Event(), autocommit=True)
    for statement in setup:
        outcome = run(session, statement)
        if outcome.kind != "ROWS":
            close(session)
            raise RuntimeError(f"setup failed: {statement}: {outcome.message}")
    return session


def close(session: Session) -> None:
    """The session and its scratch warehouse, closed."""
    session.close()
    session.warehouse.close()


class Runner:
    """Runs corpus cases one at a time, each its own pass or fail.

    Cases outside a block share one session. A block's case runs on the block's own
    session just after the block's earlier cases, whatever order (or subset) the cases
    are asked for in: when a case comes up that the block's session is already past,
    the block starts again on a fresh session. `earlier_problems` says which of those
    earlier cases went wrong, so a failure caused by the state names its cause.
    """

    def __init__(self, setup: list[str], cases: list[DocCase]) -> None:
        self._setup = setup
        self._blocks: dict[str, list[DocCase]] = {}
        for case in cases:
            if case.block is not None:
                self._blocks.setdefault(case.block, []).append(case)
        self._shared: Session | None = None
        # block name -> (its session, how many of its cases have run, their problems)
        self._state: dict[str, tuple[Session, int, dict[int, str]]] = {}

    def outcome(self, case: DocCase) -> Outcome:
        """The case's outcome, in the state its block's earlier cases leave."""
        if case.block is None:
            if self._shared is None:
                self._shared = connection(self._setup)
            return run(self._shared, case.sql)
        block = self._blocks[case.block]
        position = block.index(case)
        session, done, problems = self._state.get(case.block, (None, 0, {}))
        if session is None or done > position:
            if session is not None:
                close(session)
            session, done, problems = connection(self._setup), 0, {}
        for earlier in block[done:position]:
            found = problem(earlier, run(session, earlier.sql))
            if found is not None:
                problems[earlier.line] = found
        outcome = run(session, case.sql)
        found = problem(case, outcome)
        if found is not None:
            problems[case.line] = found
        self._state[case.block] = (session, position + 1, problems)
        return outcome

    def earlier_problems(self, case: DocCase) -> dict[int, str]:
        """The problems (by corpus line) of the block's cases that ran before `case`."""
        if case.block is None or case.block not in self._state:
            return {}
        _, _, problems = self._state[case.block]
        return {line: text for line, text in problems.items() if line < case.line}

    def close(self) -> None:
        for session in [self._shared, *(state[0] for state in self._state.values())]:
            if session is not None:
                close(session)
        self._shared, self._state = None, {}
