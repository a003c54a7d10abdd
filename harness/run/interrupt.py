"""SIGTERM handled as Ctrl-C is: the run stops, writes what ran, drops its scratch database.

CI runners, ``timeout`` and ``docker stop`` send SIGTERM, whose default action kills the process
at once: no results.json, no report, the scratch database left on the server. While a run is on,
the first SIGTERM or SIGINT raises ``KeyboardInterrupt`` in the main thread, so every ``finally``
and ``with`` unwinds as for Ctrl-C; a second one ends the process at once (exit 128 + signal),
for a run whose clean-up itself hangs (``harness clean`` later removes what it left).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT interrupt the run once, then exit at once.

    Outside the main thread (signals cannot be handled there) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if received:
            os._exit(128 + signum)
        received.append(signum)
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
