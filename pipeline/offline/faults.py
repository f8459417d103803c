"""Named points in the offline twin's recovery where a test may stop the process.

`reached(name)` does nothing unless a hook is installed; the crash-point tests
install one (in a child process) that kills the process at the N-th point it
reaches, so a kill lands between two exact steps rather than after a sleep.
"""

from __future__ import annotations

from collections.abc import Callable

_hook: Callable[[str], None] | None = None


def install(hook: Callable[[str], None] | None) -> None:
    """Call `hook(name)` at every point reached from now on (None removes it)."""
    global _hook
    _hook = hook


def reached(name: str) -> None:
    if _hook is not None:
        _hook(name)
