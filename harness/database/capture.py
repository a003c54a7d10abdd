"""Statement capture: every SQL statement a side sends, with its parameters and duration.

The new side is observed through SQLAlchemy's engine events; the legacy side through a subclass
of its peewee ``Database`` whose ``execute_sql`` is timed. A :class:`StatementLog` records only
while it is active, so the harness's own statements (snapshots, BEGIN, ROLLBACK) never count.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from harness.records import Statement, is_transaction_control, round_ms

MAX_PARAMS_TEXT = 300
# json.dumps(..., ensure_ascii=False, default=str) builds this encoder for every call.
_JSON = json.JSONEncoder(ensure_ascii=False, default=str)


def _encoder() -> Callable[[Any], str]:
    """``_JSON.encode``, or the same C encoder it makes for every call, made once (CPython).

    ``encode`` costs two Python calls and a new C encoder per statement, more than the
    encoding of a few parameters. Made once, the encoder cannot keep the memo that detects a
    circular container: such a parameter ends in RecursionError instead of ValueError.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _JSON.encode
    chunks = make(None, str, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(chunks(value, 0))


_encode = _encoder()


class StatementLog:
    """The statements of one side while a recording is active; ``last_sql`` survives an error."""

    __slots__ = ("active", "last_sql", "statements")

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.last_sql: str | None = None
        self.active = False

    def start(self) -> list[Statement]:
        """Start recording afresh; returns the list the statements go to until :meth:`stop`."""
        self.statements = []
        self.last_sql = None
        self.active = True
        return self.statements

    def stop(self) -> None:
        self.active = False

    def add(self, sql: str, params: Any, ms: float) -> None:
        if self.active and not is_transaction_control(sql):
            self.statements.append(Statement(sql, params_text(params), round_ms(ms)))

    def record(
        self, sql: str, params: Any, send: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """``send(*args, **kwargs)``, the driver call that runs ``sql``, timed and recorded (its
        text is kept as the last one sent even when it fails)."""
        self.last_sql = sql
        started = time.perf_counter()
        result = send(*args, **kwargs)
        self.add(sql, params, (time.perf_counter() - started) * 1000.0)
        return result


def params_text(params: Any) -> str:
    """Parameters as short JSON text: enough to reproduce a statement by hand, never megabytes.

    JSON, as every other value in the report: ``("org-1", 20)`` is ``["org-1", 20]``.
    """
    if params is None or params == () or params == [] or params == {}:
        return ""
    try:
        text = _encode(list(params) if isinstance(params, tuple) else params)
    except (TypeError, ValueError, RecursionError):  # a driver's own parameter object
        text = repr(params)
    return text if len(text) <= MAX_PARAMS_TEXT else text[: MAX_PARAMS_TEXT - 3] + "..."


def instrument_engine(engine: Any, log: StatementLog) -> None:
    """Record the statements of a SQLAlchemy ``engine`` into ``log`` while it is recording.

    Through the ``do_execute*`` methods of the engine's dialect instance (the harness's own, see
    :func:`harness.database.target._create_engine`), which every statement reaches with the
    text and parameters the driver gets (those ``before_cursor_execute`` would show), not
    through engine events: a single event listener on an engine makes SQLAlchemy dispatch every
    connection event (begin, savepoint, rollback, before and after each execute, ...) on every
    connection, which costs more per case than a small query does.
    """
    dialect = engine.dialect
    execute, executemany, no_params = (
        dialect.do_execute,
        dialect.do_executemany,
        dialect.do_execute_no_params,
    )

    def recorded(send: Callable[..., None]) -> Callable[..., None]:
        """``do_execute`` or ``do_executemany``, recording what it runs while the log is on."""

        def do_send(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
            if not log.active:
                send(cursor, statement, parameters, context)
            else:
                log.record(statement, parameters, send, cursor, statement, parameters, context)

        return do_send

    def do_execute_no_params(cursor: Any, statement: str, context: Any = None) -> None:
        if not log.active:
            no_params(cursor, statement, context)
        else:
            log.record(statement, None, no_params, cursor, statement, context)

    dialect.do_execute = recorded(execute)
    dialect.do_executemany = recorded(executemany)
    dialect.do_execute_no_params = do_execute_no_params


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
        return log.record(sql, params, base.execute_sql, self, sql, params, *args, **kwargs)

    return type(
        f"Captured{base.__name__}",
        (base,),
        {
            "__init__": __init__,
            "execute_sql": execute_sql,
            "_initialize_connection": _initialize_connection,
        },
    )


# -- counting per call, for the runtime shadow mode -------------------------------------------------
#
# A live application sends statements from many threads (and tasks) at once, so a shared
# StatementLog cannot say which call sent which. A context variable can: each shadowed call sets
# its own counter, and only statements sent from that thread or task add to it.

_counter: ContextVar[list[int] | None] = ContextVar("harness_query_counter", default=None)


class counting:
    """Count the statements sent from this thread or task while the block runs.

    Example::

        with counting() as count:
            run_query()
        count[0]          # statements sent (BEGIN, COMMIT and savepoints not counted)
    """

    __slots__ = ("_count", "_token")

    def __enter__(self) -> list[int]:
        self._count = [0]
        self._token = _counter.set(self._count)
        return self._count

    def __exit__(self, *exc: object) -> None:
        _counter.reset(self._token)


def note_statement(sql: str) -> None:
    """Add one to the counter of the running :class:`counting` block, if any."""
    count = _counter.get()
    if count is not None and not is_transaction_control(sql):
        count[0] += 1


def count_engine_statements(engine: Any) -> None:
    """Make every statement of a SQLAlchemy ``engine`` count in :class:`counting` blocks."""
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def _count(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        note_statement(statement)


def count_peewee_statements(db: Any) -> None:
    """Make every statement of a peewee ``db`` count in :class:`counting` blocks.

    Wraps the instance's own ``execute_sql`` (not its class): the user's database class keeps
    every behaviour of its own.
    """
    execute_sql = db.execute_sql

    def counted(sql: str, *args: Any, **kwargs: Any) -> Any:
        note_statement(sql)
        return execute_sql(sql, *args, **kwargs)

    db.execute_sql = counted
