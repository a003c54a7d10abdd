"""Running one side of a shadowed call: its value or exception, its time and its query count.

The control (the side whose result the caller gets) runs in the caller's thread. The candidate
runs there too, unless the :class:`~harness.shadow.Shadow` has a ``timeout``: then it runs in a
worker thread of a small pool and the caller waits for it at most that long. A thread cannot be
killed, so a candidate that hangs keeps its worker until it returns; when every worker is busy the
candidate is simply not run (and counted as ``busy``), so hanging candidates can never pile up
threads or memory.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.database.capture import counting
from harness.records import Side


class CandidateTimeout(TimeoutError):
    """The candidate did not return within the shadow's ``timeout``; the caller did not wait."""


@dataclass(slots=True)
class Outcome:
    """What one side did: its value or its exception, milliseconds and statements sent."""

    side: Side
    value: Any = None
    exc: Exception | None = None
    ms: float = 0.0
    queries: int = 0


def call_side(side: Side, func: Callable[[], Any]) -> Outcome:
    """Call ``func()`` and observe it; an ``Exception`` is recorded, never raised."""
    with counting() as count:
        started = time.perf_counter()
        try:
            value = func()
        except Exception as exc:
            return Outcome(side, exc=exc, ms=_since(started), queries=count[0])
        return Outcome(side, value=value, ms=_since(started), queries=count[0])


async def acall_side(
    side: Side, func: Callable[[], Any], *, in_thread: CandidatePool | None = None
) -> Outcome:
    """:func:`call_side` for ``asyncio``: awaits what ``func()`` returns when it is awaitable.

    With ``in_thread``, ``func()`` itself is called in a worker thread (a synchronous candidate
    must not block the event loop past its timeout); an awaitable it returns is awaited here.
    """
    with counting() as count:
        started = time.perf_counter()
        try:
            if in_thread is None:
                value = func()
            else:
                future = in_thread.submit(call_side, side, func)
                if future is None:
                    raise _Busy
                inner = await asyncio.wrap_future(future)
                count[0] += inner.queries
                if inner.exc is not None:
                    raise inner.exc
                value = inner.value
            if inspect.isawaitable(value):
                value = await value
        except _Busy:
            raise
        except Exception as exc:
            return Outcome(side, exc=exc, ms=_since(started), queries=count[0])
        return Outcome(side, value=value, ms=_since(started), queries=count[0])


class _Busy(Exception):
    """Every candidate worker is taken (by candidates that hang): the candidate is not run."""


def is_async(func: Callable[..., Any]) -> bool:
    """True for a coroutine function, also behind ``functools.partial``."""
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func)


class CandidatePool:
    """A few daemon worker threads for candidates with a timeout; never more work than workers.

    ``submit`` takes a free worker or returns None at once: a queue in front of hanging
    workers would grow without bound. The threads are daemons (not a ``ThreadPoolExecutor``,
    whose threads the interpreter joins at exit): a candidate that hangs forever must not keep
    the application from shutting down.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._slots = threading.BoundedSemaphore(workers)
        self._tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._started = False
        self._lock = threading.Lock()

    def submit(
        self, fn: Callable[..., Outcome], *args: Any
    ) -> concurrent.futures.Future[Outcome] | None:
        """Run ``fn(*args)`` in a free worker; None (at once) when every worker is busy."""
        if not self._slots.acquire(blocking=False):
            return None
        if not self._started:
            self._start()
        future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
        future.add_done_callback(lambda _: self._slots.release())
        # The caller's context goes along (request-scoped context variables, as
        # asyncio.to_thread does); the query counter is set afresh inside.
        self._tasks.put((future, contextvars.copy_context(), fn, args))
        return future

    def run(self, side: Side, func: Callable[[], Any], timeout: float) -> Outcome | None:
        """Run ``func`` in a worker and wait at most ``timeout`` s; None when none is free."""
        future = self.submit(call_side, side, func)
        if future is None:
            return None
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            return Outcome(
                side,
                exc=CandidateTimeout(f"the {side} side did not return within {timeout:g} s"),
                ms=timeout * 1000.0,
            )

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            for n in range(self.workers):
                name = f"harness-shadow-candidate-{n}"
                threading.Thread(target=self._work, name=name, daemon=True).start()
            self._started = True

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, context, fn, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(context.run(fn, *args))
            except BaseException as exc:  # handed to whoever waits; the worker lives on
                future.set_exception(exc)

    def shutdown(self) -> None:
        """Stop the idle workers; a hanging candidate's thread ends when the candidate does."""
        if self._started:
            for _ in range(self.workers):
                self._tasks.put(None)
            self._started = False


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
