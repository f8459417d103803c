"""The serving thread shared by the embedded endpoints (moto's and the Data API's)."""

from __future__ import annotations

import threading
from typing import Any

# socketserver checks for shutdown() between polls; its default of 0.5 s made every stop of
# a stack wait up to a second (two servers) for nothing.
SHUTDOWN_POLL_S = 0.02


def serving_thread(server: Any, name: str) -> threading.Thread:
    """A daemon thread (not yet started) that serves `server` until its `shutdown()`."""
    return threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
                            name=name, daemon=True)
