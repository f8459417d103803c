"""The registry of a running embedded stack: the stack file beside the warehouse.

`pipeline run` serves moto and the embedded Data API in its own process, so it records
their endpoints (its settings) in `embedded-stack.json`; other `pipeline` processes
(status, redrive, query, the notebooks) read them there to reach that stack, and a
second run on the same warehouse finds it is not alone.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from pipeline.aws.settings import ENV_FIELDS, Settings

STACK_FILE = "embedded-stack.json"

log = logging.getLogger(__name__)


def stack_file(settings: Settings) -> Path:
    """Where the stack serving `settings.warehouse_path` records itself."""
    return Path(settings.warehouse_path).parent / STACK_FILE


def write_stack_file(settings: Settings) -> Path:
    """Record a running embedded stack's endpoints for other `pipeline` processes."""
    path = stack_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "env": settings.to_env()}, indent=2))
    return path


def remove_stack_file(settings: Settings) -> None:
    stack_file(settings).unlink(missing_ok=True)


def stack_owner(settings: Settings) -> int | None:
    """The pid of another live process serving an embedded stack on this warehouse, if any."""
    path = stack_file(settings)
    if running_stack(settings) is None:
        return None
    try:
        pid = int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None if pid == os.getpid() else pid


def running_stack(settings: Settings) -> Settings | None:
    """The settings of the embedded stack a live `pipeline run` serves, else None.

    A stack file whose process is gone (killed, so it could not remove the file) is
    stale: it is removed here, with a warning naming the process.
    """
    path = stack_file(settings)
    try:
        recorded = json.loads(path.read_text())
        pid, env = int(recorded["pid"]), dict(recorded["env"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        log.warning("removing an unreadable stack file %s", path)
        path.unlink(missing_ok=True)
        return None
    settings_there = Settings.from_env({k: v for k, v in env.items() if k in ENV_FIELDS})
    why = _stale(pid, settings_there)
    if why:
        log.warning("removing a stale stack file %s: %s", path, why)
        path.unlink(missing_ok=True)
        return None
    return settings_there


def _stale(pid: int, recorded: Settings) -> str | None:
    """Why a stack file no longer describes a running pipeline (None: it does).

    A pid alone can be reused by another process after a kill, so the recorded Data
    API endpoint must also answer, for the same warehouse file.
    """
    if not _alive(pid):
        return f"process {pid} is gone"
    if pid == os.getpid() or not recorded.data_api_endpoint_url:
        return None
    import urllib.error
    import urllib.request

    try:  # the loopback endpoint the pipeline recorded: never a user-given scheme
        with urllib.request.urlopen(recorded.data_api_endpoint_url, timeout=5) as answer:  # noqa: S310
            served = json.loads(answer.read()).get("warehouse")
    except TimeoutError:
        return None  # busy, not gone
    except (OSError, ValueError):
        return f"process {pid} is not a pipeline serving {recorded.data_api_endpoint_url}"
    if served and Path(served).resolve() != Path(recorded.warehouse_path).resolve():
        return f"{recorded.data_api_endpoint_url} serves another warehouse ({served})"
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
