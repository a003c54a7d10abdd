"""Publishing shadow records without ever slowing or breaking the caller.

As laboratory guards ``publish``: the caller only puts a finished JSON line on a bounded queue
(``put_nowait``); a daemon thread writes batches to the sink. A full queue drops the record and
counts it (``dropped`` in the stats), so a slow or broken sink costs the application neither time
nor memory. A sink that raises is counted (``sink_errors``) and warned about once on the
``harness.shadow`` logger; the writer goes on.

Besides the call records, the writer emits a ``stats`` record every ``stats_interval`` seconds
and on :meth:`Publisher.flush`/:meth:`Publisher.close`: the running totals per operation (calls
seen, compared, mismatches, errors, dropped, latencies), which ``harness report`` reads.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from harness.shadow.sinks import Sink

log = logging.getLogger("harness.shadow")

MAX_BATCH = 500


class _Flush:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


class Publisher:
    """A bounded queue of JSON lines and the daemon thread that writes them to ``sink``."""

    def __init__(
        self,
        sink: Sink,
        *,
        queue_size: int,
        stats_interval: float,
        stats: Callable[[], str | None],
    ) -> None:
        self.sink = sink
        self.queue_size = queue_size
        self.stats_interval = stats_interval
        self.dropped = 0
        self.sink_errors = 0
        self._stats = stats
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._closed = False
        _LIVE.add(self)

    def submit(self, status: str, line: str) -> bool:
        """Queue one record; False (counted in ``dropped``) when the queue is full or closed."""
        if self._thread is None or self._pid != os.getpid():
            self._start()
        try:
            self._queue.put_nowait((status, line))
        except queue.Full:
            with self._lock:
                self.dropped += 1
            return False
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued record (and a fresh stats record) reached the sink."""
        if self._closed:
            return True
        if self._thread is None:
            self._start()
        marker = _Flush()
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and the final stats, then close the sink."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None and self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=timeout)
                self._thread.join(timeout)
            except queue.Full:
                pass
        else:
            self._write_stats()
        self._close_sink()

    # -- the writer thread ----------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread did not come along
                self._pid = os.getpid()
                self._queue = queue.Queue(maxsize=self.queue_size)
                self._thread = None
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="harness-shadow-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        next_stats = time.monotonic() + self.stats_interval
        while True:
            wait = max(0.0, next_stats - time.monotonic())
            try:
                first = self._queue.get(timeout=wait)
            except queue.Empty:
                first = None
            items = [] if first is None else [first]
            while len(items) < MAX_BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch = [item for item in items if isinstance(item, tuple)]
            if batch:
                self._write(batch)
            markers = [item for item in items if not isinstance(item, tuple)]
            if markers or time.monotonic() >= next_stats:
                self._write_stats()
                next_stats = time.monotonic() + self.stats_interval
            for marker in markers:
                if marker is _STOP:
                    return
                marker.done.set()

    def _write(self, batch: list[tuple[str, str]]) -> None:
        try:
            self.sink.write(batch)
        except Exception as exc:  # publishing never breaks anything: count, warn once, go on
            self.sink_errors += 1
            if self.sink_errors == 1:
                log.warning(
                    "harness.shadow: the sink %r failed (%s: %s); records are lost until it "
                    "works again",
                    self.sink,
                    type(exc).__name__,
                    exc,
                )

    def _write_stats(self) -> None:
        try:
            line = self._stats()
        except Exception as exc:
            log.warning("harness.shadow: stats failed (%s: %s)", type(exc).__name__, exc)
            return
        if line is not None:
            self._write([("stats", line)])

    def _close_sink(self) -> None:
        try:
            self.sink.close()
        except Exception as exc:
            log.warning("harness.shadow: closing the sink failed (%s: %s)", type(exc).__name__, exc)


_LIVE: weakref.WeakSet[Publisher] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """At interpreter exit: write what every live publisher still holds."""
    for publisher in list(_LIVE):
        publisher.close(timeout=2.0)
