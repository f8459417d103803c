"""Run `pipeline` with a fault hook: at the N-th fault point reached, stop the process.

    python crash_driver.py N kill|term|int RECORD_FILE -- <pipeline arguments>

`kill` is SIGKILL (nothing runs after it), `term` SIGTERM, `int` SIGINT (Ctrl-C).
Each point reached is appended to RECORD_FILE first, so a test can see where it
stopped; N = 0 never stops (it only records the points).
"""

from __future__ import annotations

import os
import signal
import sys

from pipeline.cli import main
from pipeline.offline import faults

SIGNALS = {"kill": signal.SIGKILL, "term": signal.SIGTERM, "int": signal.SIGINT}


def run(target: int, how: str, record: str, argv: list[str]) -> int:
    reached = 0

    def hook(name: str) -> None:
        nonlocal reached
        reached += 1
        with open(record, "a", encoding="utf-8") as out:
            out.write(f"{name}\n")
        if reached == target:
            os.kill(os.getpid(), SIGNALS[how])

    faults.install(hook)
    # Python's own Ctrl-C handling, whatever this process inherited: a shell starts a
    # background job (`make test &`) with SIGINT ignored, and then `int` stopped nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return main(argv)


if __name__ == "__main__":
    target, how, record, separator, *rest = sys.argv[1:]
    assert separator == "--"
    sys.exit(run(int(target), how, record, rest))
