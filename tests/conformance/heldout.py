"""Held-out analyst queries: how many the embedded warehouse answers right, refuses, gets wrong.

`python -m tests.conformance.heldout tests/conformance/heldout_dev.txt` runs one file of
cases (corpus.txt's format) after the corpus's sample tables and prints the counts and
every wrong case. A case is

- right: Redshift's documented rows, or an error where Redshift documents one;
- refused: `unsupported on the embedded warehouse: ...` (clear, never a wrong answer);
- wrong: other rows, an error where Redshift answers, rows where Redshift errors, or a
  traceback.

tests/integration/test_conformance.py holds every file to no wrong case once it has been
run, once: the test half (heldout_test.txt) and the fresh sets of rounds 2 to 6
(heldout_r2.txt ... heldout_r6.txt) were each run a single time before any fix, and
those figures are in docs/redshift-sql.md.
"""

from __future__ import annotations

import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.conformance import corpus

HERE = Path(__file__).parent
DEV = HERE / "heldout_dev.txt"
TEST = HERE / "heldout_test.txt"
Verdict = Literal["right", "refused", "wrong"]


@dataclass(frozen=True)
class Result:
    case: corpus.DocCase
    verdict: Verdict
    detail: str


def judge(case: corpus.DocCase, outcome: corpus.Outcome) -> tuple[Verdict, str]:
    """The verdict on one case's outcome (see the module docstring)."""
    if outcome.kind == "REFUSED":
        return "refused", outcome.message
    if case.kind == "ERROR":
        if outcome.kind == "ERROR":
            return "right", outcome.message
        return "wrong", f"rows {outcome.rows!r} where Redshift errors ({case.expected})"
    if outcome.kind == "ERROR":
        return "wrong", f"error {outcome.message!r} where Redshift answers {case.expected}"
    problem = corpus.problem(case, outcome)
    return ("wrong", problem) if problem else ("right", "")


def run(path: Path) -> list[Result]:
    """Every case of `path`, after the corpus's and its own sample tables (a `!block`'s
    cases on the block's own session, as in the corpus)."""
    corpus_setup, _ = corpus.load()
    setup, cases = corpus.load(path)
    runner = corpus.Runner([*corpus_setup, *setup], cases)
    results = []
    try:
        for case in cases:
            try:
                verdict, detail = judge(case, runner.outcome(case))
            except Exception:  # a traceback is a wrong answer, reported with its last line
                verdict, detail = "wrong", traceback.format_exc().strip().splitlines()[-1]
            results.append(Result(case, verdict, detail))
    finally:
        runner.close()
    return results


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEV
    results = run(path)
    counts = Counter(r.verdict for r in results)
    for r in results:
        if r.verdict == "wrong":
            print(f"WRONG {path.name}:{r.case.line} [{r.case.page}] {r.case.sql}\n    {r.detail}")
    total = len(results)
    print(f"{path.name}: {total} cases, {counts['right']} right "
          f"({100 * counts['right'] / total:.0f}%), {counts['refused']} refused, "
          f"{counts['wrong']} wrong")
    return 1 if counts["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
