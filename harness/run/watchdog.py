"""The per-side time limit (``case_timeout``): a watchdog thread for what the database cannot stop.

The database enforces the limit where it can (PostgreSQL ``statement_timeout``, MariaDB
``max_statement_time``, a SQLite progress handler: see :mod:`harness.database.target`), but
those bound one statement, not a side that sends many, nor a side that hangs in Python
(``time.sleep``, a busy loop). So one :class:`Watchdog` thread per run watches the side being run:

1. at the deadline it cancels the statement in flight on that side's own connection
   (psycopg's cancel request, MariaDB ``KILL QUERY`` from a second connection, SQLite's
   ``interrupt()``): the driver returns the database's error to the side as usual, and the
   connection stays in a known state;
2. if the side is still running after a short grace (it hangs in Python, or the driver does not
   return), it raises :class:`CaseTimeout` in the side's thread: in the main thread through a
   signal sent to that thread (a signal interrupts a blocking ``time.sleep`` or socket read; the
   handler raises), in any other thread through ``PyThreadState_SetAsyncExc`` (which reaches
   Python code only, not a blocking C call: the documented limit).

Why not run each side in a worker thread and abandon it on timeout: the abandoned thread would
keep running the user's code and holding the database connection, peewee keeps its connection
per thread, and a thread hand-off per side costs more than a small case. The watchdog costs the
side nothing but two attribute writes: the thread sleeps until the deadline of the side it saw
and is never woken per side.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

# The signal that carries the timeout into the main thread; used only when nobody else handles it.
INTERRUPT_SIGNAL = signal.SIGUSR2
_POLL = 0.02


class CaseTimeout(BaseException):
    """Raised into a side that ran past ``case_timeout``.

    A ``BaseException``, as ``KeyboardInterrupt`` is: a side's ``except Exception`` must not
    swallow it and carry on.
    """


class Watch:
    """One side under watch (a context manager): its deadline, how to cancel, what happened."""

    __slots__ = ("cancel", "deadline", "dog", "fired", "inside", "interrupted", "thread_id")

    def __init__(self, dog: Watchdog, cancel: Callable[[], None] | None) -> None:
        self.dog = dog
        self.cancel = cancel
        self.deadline = 0.0
        self.thread_id = 0
        self.inside = False
        self.fired = False  # the deadline passed while the side ran
        self.interrupted = False  # CaseTimeout was sent into the side's thread

    def __enter__(self) -> Watch:
        dog = self.dog
        self.thread_id = threading.get_ident()
        self.deadline = time.monotonic() + dog.timeout
        self.inside = True
        dog._current = self
        return self

    def __exit__(self, *exc: object) -> None:
        dog = self.dog
        if self.thread_id == dog._signal_thread:
            # The signal handler checks ``inside`` itself: a late signal finds it False.
            self.inside = False
            dog._current = None
            return
        with dog._lock:  # an asynchronous exception must never land after the block
            self.inside = False
            dog._current = None
            if self.interrupted:
                _set_async_exc(self.thread_id, None)


class Watchdog:
    """Enforces ``timeout`` seconds per watched block; one daemon thread per run.

    Example::

        with Watchdog(30.0) as dog:
            with dog.watch(cancel=lambda: conn.cancel()) as w:
                side(ctx)           # CaseTimeout is raised in here if it hangs
            w.fired                 # True when the side ran past 30 s
    """

    def __init__(self, timeout: float, *, grace: float | None = None) -> None:
        self.timeout = timeout
        # Time for a cancelled statement's error to come back before the side is interrupted.
        self.grace = grace if grace is not None else min(2.0, max(0.2, timeout / 4))
        self._current: Watch | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous_handler: Any = None
        self._signal_owned = False
        self._signal_thread: int | None = None  # the thread the signal reaches (main), if owned

    def __enter__(self) -> Watchdog:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the thread; take the interrupt signal when in the main thread and it is free."""
        if self._thread is not None:
            return
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(INTERRUPT_SIGNAL)
            if previous in (signal.SIG_DFL, None):
                self._previous_handler = previous
                signal.signal(INTERRUPT_SIGNAL, self._on_signal)
                self._signal_owned = True
                self._signal_thread = threading.get_ident()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="harness-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and give the signal back."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._signal_owned:
            signal.signal(INTERRUPT_SIGNAL, self._previous_handler or signal.SIG_DFL)
            self._signal_owned = False
            self._signal_thread = None

    def watch(self, cancel: Callable[[], None] | None = None) -> Watch:
        """Watch a ``with`` block: past the deadline, ``cancel()``, then :class:`CaseTimeout`."""
        return Watch(self, cancel)

    def expired(self) -> bool:
        """True while a watched block runs past its deadline (SQLite's progress handler asks)."""
        w = self._current
        return w is not None and w.inside and time.monotonic() >= w.deadline

    def _run(self) -> None:
        while not self._stopping.is_set():
            w = self._current
            now = time.monotonic()
            if w is None or not w.inside:
                self._stopping.wait(self.timeout)  # any block started meanwhile ends later
            elif now < w.deadline:
                self._stopping.wait(w.deadline - now)
            elif not w.fired:
                self._expire(w)
            else:  # interrupted, still unwinding: look again shortly
                self._stopping.wait(_POLL)

    def _expire(self, w: Watch) -> None:
        w.fired = True
        if w.cancel is not None:
            with contextlib.suppress(Exception):  # the connection may be gone already
                w.cancel()
        waited = 0.0
        while w.inside and waited < self.grace and not self._stopping.is_set():
            time.sleep(_POLL)
            waited += _POLL
        with self._lock:
            if not w.inside:
                return
            w.interrupted = True
            if w.thread_id == self._signal_thread:
                signal.pthread_kill(w.thread_id, INTERRUPT_SIGNAL)
            else:
                _set_async_exc(w.thread_id, CaseTimeout)

    def _on_signal(self, signum: int, frame: Any) -> None:
        w = self._current
        if w is not None and w.inside and w.interrupted:
            raise CaseTimeout(f"ran longer than the case timeout ({self.timeout:g}s)")


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )
