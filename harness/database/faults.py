"""What can go wrong with a side's connection, per driver: time limits, cancelling, lost connections.

- :func:`session_limits`: how the database itself bounds one statement to ``case_timeout``
  (PostgreSQL ``statement_timeout`` as a connection option, MariaDB ``max_statement_time`` and
  MySQL ``max_execution_time`` set at connect; SQLite has no such setting and gets a progress
  handler that asks the watchdog, see :meth:`Target.on_connect`).
- :func:`canceller`: how another thread stops the statement a connection is running.
- :func:`connection_lost` and :func:`timed_out`: recognizing those two failures in whatever a
  side raised (driver errors, peewee's wrappers, SQLAlchemy's ``DBAPIError``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from harness.compare.categories import exception_chain

# SQLSTATE classes and codes meaning the server ended the session or cannot be reached.
_PG_LOST_CLASSES = ("08",)
_PG_LOST_CODES = {"57P01", "57P02", "57P03"}  # admin_shutdown, crash_shutdown, cannot_connect_now
_PG_CANCELLED = "57014"  # query_canceled: statement_timeout, or a cancel request
# MySQL/MariaDB client and server error numbers.
_MY_LOST = {0, 2006, 2013, 2014, 2055, 1053, 1927}  # gone away, lost, killed, shutdown
_MY_TIMEOUT = {1969, 3024, 1317}  # max_statement_time, max_execution_time, query interrupted
_LOST_TEXT = (
    "the connection is closed",
    "server closed the connection",
    "connection was killed",
    "terminating connection",
    "cannot operate on a closed database",
    "connection already closed",
    "lost connection",
    "gone away",
    "consuming input failed",
    "already closed",
)


def session_limits(dialect: str, timeout: float | None, *, mariadb: bool | None) -> dict[str, Any]:
    """Connect arguments that make the server stop a statement running past ``timeout`` seconds.

    ``mariadb`` None: not known yet (MySQL's variable is set by :func:`mysql_limit_sql` at
    connect instead).
    """
    if timeout is None:
        return {}
    if dialect == "postgresql":
        return {"options": f"-c statement_timeout={max(1, round(timeout * 1000))}"}
    if dialect == "mysql" and mariadb is not None:
        return {"init_command": mysql_limit_sql(timeout, mariadb=mariadb)}
    return {}


def mysql_limit_sql(timeout: float, *, mariadb: bool) -> str:
    """The session statement limit: seconds on MariaDB, milliseconds (SELECT only) on MySQL."""
    if mariadb:
        return f"SET SESSION max_statement_time = {timeout:.3f}"
    return f"SET SESSION max_execution_time = {max(1, round(timeout * 1000))}"


def canceller(
    dialect: str, dbapi_conn: Any, connect: Callable[[], Any]
) -> Callable[[], None] | None:
    """A function that, from another thread, stops the statement ``dbapi_conn`` is running.

    ``connect`` opens a second connection (MariaDB kills a query from another session).
    """
    if dbapi_conn is None:
        return None
    if dialect == "sqlite":
        return dbapi_conn.interrupt  # documented as safe to call from any thread
    if dialect == "postgresql":
        return getattr(dbapi_conn, "cancel_safe", None) or dbapi_conn.cancel
    if dialect == "mysql":
        thread_id = dbapi_conn.thread_id()

        def kill_query() -> None:
            other = connect()
            try:
                with contextlib.closing(other.cursor()) as cursor:
                    cursor.execute(f"KILL QUERY {int(thread_id)}")
            finally:
                other.close()

        return kill_query
    return None


# Failures to connect that pass on their own: worth a retry with backoff.
_PG_TRANSIENT = {"53300", "57P03", "53400"}  # too many connections, starting up, config limit
_MY_TRANSIENT = {1040, 1203, 2013}  # too many connections, user limit, lost during handshake
_TRANSIENT_TEXT = (
    "too many connections",
    "the database system is starting up",
    "the database system is shutting down",
    "temporary failure in name resolution",
    "timeout expired",
)


def transient(exc: BaseException) -> bool:
    """True when a failure to connect may pass by itself (retry), False when it is the URL."""
    for item in exception_chain(exc):
        if getattr(item, "sqlstate", None) in _PG_TRANSIENT:
            return True
        code = _mysql_code(item)
        if code is not None and code in _MY_TRANSIENT:
            return True
        text = str(item).lower()
        if any(t in text for t in _TRANSIENT_TEXT):
            return True
    return False


def _mysql_code(exc: BaseException) -> int | None:
    if type(exc).__module__.startswith("pymysql") and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    return None


def connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` says the side's connection is gone (killed backend, closed by the side)."""
    for item in exception_chain(exc):
        if getattr(item, "connection_invalidated", False):
            return True
        state = getattr(item, "sqlstate", None)
        if isinstance(state, str) and (state in _PG_LOST_CODES or state[:2] in _PG_LOST_CLASSES):
            return True
        code = _mysql_code(item)
        if code is not None and code in _MY_LOST:
            return True
        name = type(item).__name__
        text = str(item).lower()
        if name in ("OperationalError", "InterfaceError", "ProgrammingError") and any(
            t in text for t in _LOST_TEXT
        ):
            return True
    return False


def timed_out(exc: BaseException) -> bool:
    """True when ``exc`` is the database stopping a statement for running too long."""
    for item in exception_chain(exc):
        if getattr(item, "sqlstate", None) == _PG_CANCELLED:
            return True
        code = _mysql_code(item)
        if code is not None and code in _MY_TIMEOUT:
            return True
        if type(item).__name__ == "OperationalError" and str(item) == "interrupted":
            return True  # SQLite: the progress handler or interrupt() stopped it
    return False
