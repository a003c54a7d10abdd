"""Where shadow records go: a JSON Lines file (the default), Python logging, or a callback.

A sink is written to only by the shadow's background writer thread, a batch of lines at a time,
so it needs no lock of its own. Each line is one JSON record (see :mod:`harness.shadow.record`).

Example::

    Shadow(sink="shadow.jsonl")                        # append to a file ({pid} is replaced)
    Shadow(sink=logging.getLogger("app.shadow"))       # mismatches and errors at WARNING
    Shadow(sink=lambda record: metrics.push(record))   # a dict per record
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.errors import ConfigError


@runtime_checkable
class Sink(Protocol):
    """Takes batches of ``(status, line)``: status is equal, mismatch, error or stats."""

    def write(self, batch: Sequence[tuple[str, str]]) -> None: ...

    def close(self) -> None: ...


class JsonlSink:
    """Appends each record as one line to ``path`` (``{pid}`` in it becomes the process id).

    Several processes should each have a file of their own (``shadow-{pid}.jsonl``): appends of
    long lines from several processes to one file may interleave.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(str(path).replace("{pid}", str(os.getpid())))
        self._file: Any = None

    def write(self, batch: Sequence[tuple[str, str]]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write("".join(line + "\n" for _, line in batch))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __repr__(self) -> str:
        return f"JsonlSink({str(self.path)!r})"


class LoggingSink:
    """Logs each record's JSON line: mismatches and errors at WARNING, the rest at INFO/DEBUG."""

    LEVELS = {"mismatch": logging.WARNING, "error": logging.WARNING, "stats": logging.DEBUG}

    def __init__(self, logger: logging.Logger | str = "harness.shadow") -> None:
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger

    def write(self, batch: Sequence[tuple[str, str]]) -> None:
        for status, line in batch:
            self.logger.log(self.LEVELS.get(status, logging.INFO), "%s", line)

    def close(self) -> None:
        pass


class CallbackSink:
    """Calls ``callback(record)`` with each record as a dict."""

    def __init__(self, callback: Callable[[dict[str, Any]], object]) -> None:
        self.callback = callback

    def write(self, batch: Sequence[tuple[str, str]]) -> None:
        for _, line in batch:
            self.callback(json.loads(line))

    def close(self) -> None:
        pass


def make_sink(spec: object) -> Sink:
    """A sink from what a user gives: a path, a ``Logger``, a callable, or a :class:`Sink`."""
    if isinstance(spec, str | os.PathLike):
        return JsonlSink(spec)
    if isinstance(spec, logging.Logger):
        return LoggingSink(spec)
    if isinstance(spec, Sink):
        return spec
    if callable(spec):
        return CallbackSink(spec)
    raise ConfigError.bad_value(
        "Shadow(sink=...)", spec, "a file path, a logging.Logger, a callable or a Sink"
    )
