"""Statement capture: every SQL statement a side sends, with its parameters and duration.

The new side is observed through SQLAlchemy's engine events; the legacy side through a subclass
of its peewee ``Database`` whose ``execute_sql`` is timed. A :class:`StatementLog` records only
while it is active, so the harness's own statements (snapshots, BEGIN, ROLLBACK) never count.
"""

from __future__ import annotations

import time
from typing import Any

from harness.records import Statement, is_transaction_control

MAX_PARAMS_TEXT = 300


class StatementLog:
    """The statements of one side while a recording is active; ``last_sql`` survives an error."""

    __slots__ = ("_active", "last_sql", "started", "statements")

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.last_sql: str | None = None
        self.started = 0.0  # perf_counter() when the statement in flight was sent
        self._active = False

    def start(self) -> list[Statement]:
        """Start recording afresh; returns the list the statements go to until :meth:`stop`."""
        self.statements = []
        self.last_sql = None
        self._active = True
        return self.statements

    def stop(self) -> None:
        self._active = False

    @property
    def active(self) -> bool:
        return self._active

    def add(self, sql: str, params: Any, ms: float) -> None:
        if self._active and not is_transaction_control(sql):
            self.statements.append(Statement(sql=sql, params=params_text(params), ms=round(ms, 4)))


def params_text(params: Any) -> str:
    """Parameters as short text: enough to reproduce a statement by hand, never megabytes."""
    if params is None or params == () or params == [] or params == {}:
        return ""
    text = repr(params)
    return text if len(text) <= MAX_PARAMS_TEXT else text[: MAX_PARAMS_TEXT - 3] + "..."


def instrument_engine(engine: Any, log: StatementLog) -> None:
    """Record the statements of a SQLAlchemy ``engine`` into ``log`` while it is recording."""
    from sqlalchemy import event

    # A side's statements run one after another on one connection, so one start time will do.
    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if log.active:
            log.last_sql = statement
            log.started = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if log.active:
            log.add(statement, parameters, (time.perf_counter() - log.started) * 1000.0)


def peewee_database_class(base: Any) -> Any:
    """A subclass of the peewee database class ``base`` whose statements go to a log.

    The instance takes extra keywords: ``harness_log``, and ``harness_on_connect`` (called with
    each new DB-API connection). Subclassing keeps every behaviour of the user's database class;
    only ``execute_sql`` and peewee's connection hook are wrapped.
    """

    def __init__(
        self: Any,
        *args: Any,
        harness_log: StatementLog | None = None,
        harness_on_connect: Any = None,
        **kwargs: Any,
    ) -> None:
        self.harness_log = harness_log or StatementLog()
        self.harness_on_connect = harness_on_connect
        base.__init__(self, *args, **kwargs)

    def _initialize_connection(self: Any, conn: Any) -> None:
        base._initialize_connection(self, conn)
        if self.harness_on_connect is not None:
            self.harness_on_connect(conn)

    def execute_sql(self: Any, sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        log: StatementLog = self.harness_log
        if not log.active:
            return base.execute_sql(self, sql, params, *args, **kwargs)
        log.last_sql = sql
        started = time.perf_counter()
        cursor = base.execute_sql(self, sql, params, *args, **kwargs)
        log.add(sql, params, (time.perf_counter() - started) * 1000.0)
        return cursor

    return type(
        f"Captured{base.__name__}",
        (base,),
        {
            "__init__": __init__,
            "execute_sql": execute_sql,
            "_initialize_connection": _initialize_connection,
        },
    )
