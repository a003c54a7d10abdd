"""Connecting to a database: what went wrong, in a category with its fix, and bounded retries.

A driver's connection error says what happened in the driver's words; a person needs to know
which of a few things went wrong and what to do about it. :func:`classify_connection_error`
names the category (``auth_failed``, ``unknown_database``, ``refused``, ``unreachable``,
``timeout``, ``ssl``, ``too_many_connections``, ``missing_driver``, ``other``) and the fix;
:func:`connect_with_retry` retries only the transient ones (a server still starting, a full
pool), with exponential backoff and a bounded number of attempts.

Used by the harness's own targets (``harness run`` turns a refused connection into one line
with the fix) and by the dual-ORM provider of the runtime shadow mode
(:class:`harness.database.provider.DualORM`).

Example::

    engine.connect()          # raises OperationalError: connection refused
    problem = classify_connection_error(exc)
    problem.category, problem.fix
    # ('refused', 'start the server, or check the host and port in the URL')
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from harness.errors import DatabaseError

T = TypeVar("T")

# (category, pattern in the driver's message, the fix, transient?). First match wins.
_RULES: tuple[tuple[str, str, str, bool], ...] = (
    (
        "auth_failed",
        r"password authentication failed|access denied|\b1045\b|role .* does not exist"
        r"|no password supplied|authentication",
        "check the user name and password in the URL (and the server's pg_hba.conf or grants)",
        False,
    ),
    (
        "unknown_database",
        r"database .* does not exist|unknown database|\b1049\b|unable to open database file",
        "create the database first, or fix its name (or SQLite file path) in the URL",
        False,
    ),
    (
        "ssl",
        r"\bssl\b|certificate|\btls\b",
        "check the ssl setting and the server's certificate (ssl='require' encrypts without"
        " verifying; 'verify-full' needs ssl_root_cert)",
        False,
    ),
    (
        "too_many_connections",
        r"too many connections|remaining connection slots|\b1040\b|queuepool limit",
        "lower pool_size, close idle clients, or raise the server's max_connections",
        True,
    ),
    (
        "timeout",
        r"timeout expired|timed out|timeout|database is locked|lock wait",
        "the server did not answer in time: check that it is up and not overloaded, or raise"
        " connect_timeout",
        True,
    ),
    (
        "unreachable",
        r"could not translate host name|name or service not known|nodename nor servname"
        r"|no route to host|network is unreachable|getaddrinfo|name resolution",
        "check the host name in the URL and the network between here and the server",
        False,
    ),
    (
        "refused",
        r"connection refused|can't connect|could not connect|\b2003\b|connection reset"
        r"|server closed the connection|lost connection|\b2013\b",
        "start the server, or check the host and port in the URL",
        True,
    ),
)
_COMPILED = tuple((c, re.compile(p, re.IGNORECASE), f, t) for c, p, f, t in _RULES)


@dataclass(frozen=True)
class ConnectionProblem:
    """Why a connection failed: its category, the driver's message (one line) and the fix."""

    category: str
    message: str
    fix: str
    transient: bool

    def __str__(self) -> str:
        return f"{self.message} [{self.category}]; {self.fix}"


def classify_connection_error(exc: BaseException) -> ConnectionProblem:
    """The category and fix of a driver's (or SQLAlchemy's, or peewee's) connection error."""
    orig = getattr(exc, "orig", None) or exc
    message = " ".join(str(orig).split())[:300] or type(orig).__name__
    if isinstance(orig, DatabaseError) and "driver" in message:
        return ConnectionProblem("missing_driver", message, "install the extra it names", False)
    if isinstance(orig, ImportError):
        return ConnectionProblem(
            "missing_driver",
            message,
            'install the driver: python -m pip install "orm-shadow-harness[postgres]" (or [mysql])',
            False,
        )
    for category, pattern, fix, transient in _COMPILED:
        if pattern.search(message):
            return ConnectionProblem(category, message, fix, transient)
    return ConnectionProblem(
        "other", message, "check that the server is reachable and the URL is right", False
    )


def connect_with_retry(
    connect: Callable[[], T],
    *,
    url: str,
    attempts: int = 3,
    backoff: float = 0.5,
    max_backoff: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``connect()`` until it succeeds; retry only transient problems, at most ``attempts``.

    Waits ``backoff``, then twice that, ... (at most ``max_backoff``, with up to 10% jitter so
    that many processes restarting together do not retry in step). A problem that retrying
    cannot fix (a wrong password, a missing database) fails at once. The final failure is a
    :class:`~harness.errors.DatabaseError` whose one line names the (masked) ``url``, the
    category and the fix.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    delay = backoff
    for attempt in range(1, attempts + 1):
        try:
            return connect()
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            problem = classify_connection_error(exc)
            if not problem.transient or attempt == attempts:
                tried = f" after {attempt} attempts" if attempt > 1 else ""
                raise DatabaseError.unreachable(f"{url}{tried}", problem) from exc
            sleep(min(delay, max_backoff) * (1 + random.random() / 10))
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _is_connection_error(exc: BaseException) -> bool:
    """Errors of connecting (any driver, through SQLAlchemy or peewee), not of a query."""
    if isinstance(exc, OSError | ImportError | DatabaseError):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"OperationalError", "InterfaceError", "TimeoutError"})
