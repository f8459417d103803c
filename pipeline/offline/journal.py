"""The embedded queue's files on disk: the journal, the published index, the stopped state.

SQS keeps what it acknowledged; the embedded queue (moto, in memory) does the same
through these files, written ahead of every step that could lose them:

- `journal.ndjson`: every body the source queue accepted and the ledger does not yet
  hold (appended and fsynced before the sender is answered; compacted while running);
- `recovering-N.ndjson`: a previous journal whose bodies a start is putting back. It
  is retired only once every body in it is in the new journal, so a recovery stopped
  at any point is itself recovered by the next start;
- `published.ndjson`: the (batch_id, part, rows) of every envelope the source queue
  accepted, append-only: the accounting counts what was published from it, not from
  what survived. It is appended right after the journal but not fsynced per batch
  (one durable write per accepted batch is the journal's): a power loss can cut only
  its unsynced tail, whose bodies the journal still holds, and a start puts those keys
  back (`restore_published`) before anything else reads or retires them. Whatever
  retires journal bodies (compaction, a clean stop's clear, recovery's retire) syncs
  the index first;
- `state.json`: the DLQ's bodies at the last clean stop;
- `quarantine.ndjson`: journal lines that could not be read, with their file and line.

Every rewrite goes to a temporary name, is flushed and renamed (`atomic_write`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.core.envelope import part_of
from pipeline.core.errors import PipelineError

log = logging.getLogger(__name__)

QUEUE_STATE_DIR = "embedded-queue"  # beside the warehouse file, like the stack file
JOURNAL_FILE = "journal.ndjson"
RECOVERING_PREFIX = "recovering-"
PUBLISHED_FILE = "published.ndjson"
STATE_FILE = "state.json"
QUARANTINE_FILE = "quarantine.ndjson"

PartKey = tuple[str, int]


class QueueFileError(PipelineError):
    """A queue file the pipeline cannot read: the message names it and what to do."""


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` so a crash leaves the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable (POSIX: fsync the directory)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _append(path: Path, lines: Iterable[str], *, durable: bool = True) -> None:
    text = "".join(line + "\n" for line in lines)
    if not text:
        return
    with path.open("a", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        if durable:
            os.fsync(out.fileno())


def _sync(path: Path) -> None:
    """fsync `path` (written earlier without one); nothing to do if it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Quarantined:
    """A journal line that could not be read: where it was, why, and its bytes."""

    file: str
    line: int
    reason: str
    raw: bytes

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.reason}"


@dataclass(frozen=True)
class JournalRead:
    bodies: list[str]
    quarantined: list[Quarantined]


def read_journal(path: Path) -> JournalRead:
    """The bodies of a journal file, each line validated.

    A last line without its newline was cut short by a kill while being written: its
    sender never saw the acknowledgement, so it is not a loss and is skipped. Any other
    line that is not `{"body": <string>}` in UTF-8 is quarantined, never dropped.
    """
    if not path.exists():
        return JournalRead([], [])
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    cut_short = lines.pop()  # b"" when the file ends with a newline
    bodies: list[str] = []
    bad: list[Quarantined] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        body, reason = _entry(line)
        if body is None:
            bad.append(Quarantined(str(path), number, reason, line))
        else:
            bodies.append(body)
    if cut_short.strip():
        body, _ = _entry(cut_short)
        if body is not None:  # complete but for its newline: the append was acknowledged
            bodies.append(body)
    return JournalRead(bodies, bad)


def _entry(line: bytes) -> tuple[str | None, str]:
    try:
        data = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8"
    except ValueError:
        return None, "not JSON"
    if not isinstance(data, dict) or not isinstance(data.get("body"), str):
        return None, 'not {"body": <string>}'
    return data["body"], ""


def quarantine(directory: Path, bad: list[Quarantined]) -> None:
    """Keep unreadable lines (as latin-1 text, byte for byte) before their file is rewritten."""
    if not bad:
        return
    target = directory / QUARANTINE_FILE
    _append(target, (json.dumps({"file": q.file, "line": q.line, "reason": q.reason,
                                 "raw_latin1": q.raw.decode("latin-1")}) for q in bad))
    for q in bad:
        log.warning("quarantined an unreadable journal line",
                    extra={"where": str(q), "quarantine": str(target)})


def _published_line(key: tuple[str, int, int]) -> str:
    return json.dumps({"batch_id": key[0], "part": key[1], "rows": key[2]})


class QueueFiles:
    """The embedded queue's directory; the appends are serialised by one lock per process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock = threading.Lock()

    @property
    def journal(self) -> Path:
        return self.directory / JOURNAL_FILE

    @property
    def published(self) -> Path:
        return self.directory / PUBLISHED_FILE

    @property
    def state(self) -> Path:
        return self.directory / STATE_FILE

    def accepted(self, bodies: list[str]) -> None:
        """Record bodies the source queue accepted: in the journal durably, then their keys
        in the published index (restorable from the journal, see `restore_published`)."""
        if not bodies:
            return
        keys = [_published_line(k) for k in map(part_of, bodies) if k]
        with self.lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            _append(self.journal, (json.dumps({"body": b}) for b in bodies))
            # The journal's fsync is the one durable write per batch (an fsync cost 1-2 ms
            # on a quiet disk here and 10-90 ms beside other test suites, twice per tick on
            # the publisher's path): the index's line can be re-derived from the journal.
            _append(self.published, keys, durable=False)

    def sync_published(self) -> None:
        """Make the published index durable: before journal bodies it could be restored
        from are retired."""
        _sync(self.published)

    def restore_published(self, bodies: Iterable[str]) -> int:
        """Put back the published keys of journaled `bodies` the index lacks; how many.

        Only a power loss cuts the index's unsynced tail (a killed process leaves its
        writes to the kernel), possibly mid-line: a last line without its newline was
        never complete and is cut off; its body is in the journal, so its key comes back.
        """
        with self.lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            if self.published.exists():
                data = self.published.read_bytes()
                if data and not data.endswith(b"\n"):
                    os.truncate(self.published, data.rfind(b"\n") + 1)
            have = self.published_parts()
            missing: dict[PartKey, int] = {}
            for key in map(part_of, bodies):
                if key and key[:2] not in have:
                    missing[key[:2]] = key[2]
            _append(self.published, (_published_line((*k, n)) for k, n in missing.items()))
            self.sync_published()
            return len(missing)

    # -- recovery

    def recovering(self) -> list[Path]:
        """Journals a start is putting back, oldest first (more than one after an interruption)."""
        found = self.directory.glob(f"{RECOVERING_PREFIX}*.ndjson")
        return sorted(found, key=lambda p: int(p.stem[len(RECOVERING_PREFIX):] or 0))

    def begin_recovery(self) -> list[Path]:
        """Set the live journal aside as `recovering-N` (a rename: nothing is copied or lost)."""
        with self.lock:
            if self.journal.exists():
                taken = [int(p.stem[len(RECOVERING_PREFIX):]) for p in self.recovering()]
                target = self.directory / f"{RECOVERING_PREFIX}{max(taken, default=0) + 1}.ndjson"
                os.replace(self.journal, target)
                sync_directory(self.directory)
        return self.recovering()

    def retire(self, paths: list[Path]) -> None:
        """Remove recovered journals: only once every body in them is in the live journal."""
        self.sync_published()
        for path in paths:
            path.unlink(missing_ok=True)
        if paths:
            sync_directory(self.directory)

    # -- compaction

    def compact(self, loaded: set[PartKey]) -> int:
        """Drop journal bodies whose parts the ledger holds; returns how many left.

        A loaded part needs no resend after a kill, so the journal stays as long as
        what is unloaded, not as the run's uptime. Bodies that are no envelope stay.
        """
        with self.lock:
            read = read_journal(self.journal)
            quarantine(self.directory, read.quarantined)
            keep = [b for b in read.bodies if (part_of(b) or ("", -1, 0))[:2] not in loaded]
            removed = len(read.bodies) - len(keep)
            if removed or read.quarantined:
                self.sync_published()
                atomic_write(self.journal, "".join(json.dumps({"body": b}) + "\n" for b in keep))
            return removed

    def compact_published(self, loaded: set[PartKey]) -> None:
        """Drop published keys the ledger holds: the warehouse is their durable record now."""
        with self.lock:
            keys = self.published_parts()
            keep = {k: n for k, n in keys.items() if k not in loaded}
            if len(keep) < len(keys):
                atomic_write(self.published, "".join(
                    _published_line((*k, n)) + "\n" for k, n in sorted(keep.items())))

    def published_parts(self) -> dict[PartKey, int]:
        """Every part the source queue ever accepted and the ledger did not yet hold."""
        parts: dict[PartKey, int] = {}
        if not self.published.exists():
            return parts
        for number, line in enumerate(self.published.read_bytes().split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line.decode("utf-8"))
                parts[(str(entry["batch_id"]), int(entry["part"]))] = int(entry["rows"])
            except (ValueError, KeyError, TypeError) as exc:
                raise QueueFileError(
                    f"{self.published} line {number} is unreadable ({exc}): it is the record of "
                    "what was published; restore it, or move it aside to stop counting "
                    "earlier runs' parts") from exc
        return parts

    # -- the stopped state

    def read_state(self) -> list[str]:
        """The DLQ bodies the last clean stop recorded ([] when there was none)."""
        try:
            text = self.state.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise self._bad_state(f"cannot be read: {exc}") from exc
        try:
            data: Any = json.loads(text)
        except ValueError as exc:
            raise self._bad_state("is empty" if not text.strip() else "is not JSON") from exc
        dlq = data.get("dlq") if isinstance(data, dict) else None
        if not isinstance(dlq, list) or not all(isinstance(b, str) for b in dlq):
            raise self._bad_state('is not {"dlq": [<string>, ...]}')
        return dlq

    def _bad_state(self, why: str) -> QueueFileError:
        return QueueFileError(
            f"{self.state} {why}: it holds the DLQ bodies of the last clean stop; restore it, "
            f"or move it aside (mv {self.state} {self.state}.bad) to start without them")

    def write_state(self, dlq: list[str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write(self.state, json.dumps({"dlq": dlq}))

    def waiting_bodies(self) -> int:
        """Bodies the next start would put back (live and recovering journals)."""
        return sum(len(read_journal(p).bodies) for p in [*self.recovering(), self.journal])
