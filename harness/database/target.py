"""A live fixture database that both ORMs use at once, with a statement log per side.

:class:`Target` holds the new side's SQLAlchemy engine (savepoints sent as fixed text, SQLite's
BEGIN taken under control) and the legacy side's peewee database, both on the same database, and
the driver's raw connection for bulk loading. :mod:`harness.database.scratch` creates and drops it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.database.capture import StatementLog, instrument_engine, peewee_database_class
from harness.database.faults import canceller, mysql_limit_sql, session_limits
from harness.errors import DatabaseError
from harness.url import DatabaseURL

if TYPE_CHECKING:
    import peewee
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session

    from harness.records import SchemaKeys
    from harness.run.watchdog import Watchdog

# 'HRNS': marks a SQLite file as a harness fixture, so an existing file is replaced only then.
SQLITE_APPLICATION_ID = 0x48524E53

# A fixture file is thrown away after the run: no side's transaction needs to survive a power
# cut. Without these, every rolled-back write creates, syncs and deletes a journal file on disk,
# and on a busy machine the cases wait on the disk far longer than they compute (measured at
# scale 10: 4 s of CPU in 15 s). Both sides run with the same settings.
SCRATCH_PRAGMAS = {"synchronous": "OFF", "journal_mode": "MEMORY"}

_DRIVERS = {"postgresql": ("psycopg", "postgres"), "mysql": ("pymysql", "mysql")}
# SQLite asks the progress handler every this many virtual-machine steps: cheap, and prompt.
PROGRESS_STEPS = 10_000


class Target:
    """A live fixture database, reachable from both ORMs, with a statement log per side."""

    def __init__(
        self, url: DatabaseURL, *, scratch: bool, statement_timeout: float | None = None
    ) -> None:
        self.url = url
        self.scratch = scratch
        # The server stops a statement running longer (``case_timeout``); None: no limit.
        self.statement_timeout = statement_timeout
        # The runner's watchdog over each side (``case_timeout``); SQLite's progress handler asks it.
        self.watchdog: Watchdog | None = None
        self.legacy_log = StatementLog()
        self.new_log = StatementLog()
        self.primary_keys: dict[str, tuple[str, ...]] = {}  # by table, read once (writing pairs)
        self.schema_keys: SchemaKeys | None = None  # every table's keys, read once (writing pairs)
        self._engine: Engine | None = None
        self._legacy_db: peewee.Database | None = None
        self._new_connection: Connection | None = None

    @property
    def dialect(self) -> str:
        return self.url.dialect

    @property
    def display_url(self) -> str:
        """The URL to print: the password masked."""
        if self.url.dialect == "sqlite":
            return f"sqlite:///{self.url.path}"
        return str(self.url)

    @property
    def engine(self) -> Engine:
        """The new side's SQLAlchemy engine (statements recorded in ``new_log``)."""
        if self._engine is None:
            self._engine = _create_engine(self.url, self)
            instrument_engine(self._engine, self.new_log)
        return self._engine

    @property
    def legacy_db(self) -> peewee.Database:
        """The legacy side's peewee database (statements recorded in ``legacy_log``)."""
        if self._legacy_db is None:
            mariadb = False
            if self.url.dialect == "mysql":
                # peewee marks JSON values differently on MariaDB (no CAST … AS JSON there).
                with self.engine.connect():
                    mariadb = bool(getattr(self.engine.dialect, "is_mariadb", False))
            self._legacy_db = _create_peewee(self, mariadb=mariadb)
        return self._legacy_db

    def on_connect(self, dbapi_connection: Any) -> None:
        """Limits every new connection of either side gets (SQLite: the progress handler)."""
        if self.statement_timeout is None:
            return
        if self.url.dialect == "sqlite":
            dbapi_connection.set_progress_handler(self._progress, PROGRESS_STEPS)
        elif self.url.dialect == "mysql":
            mariadb = "mariadb" in str(dbapi_connection.get_server_info()).lower()
            with contextlib.closing(dbapi_connection.cursor()) as cursor:
                cursor.execute(mysql_limit_sql(self.statement_timeout, mariadb=mariadb))

    def _progress(self) -> int:
        dog = self.watchdog
        return 1 if dog is not None and dog.expired() else 0

    def canceller(self, side: str) -> Callable[[], None] | None:
        """How the watchdog stops the statement ``side`` is running (from its own thread)."""
        if side == "legacy":
            db = self._legacy_db
            conn = None if db is None or db.is_closed() else _peewee_conn(db)
        else:
            held = self._new_connection
            conn = None if held is None or held.closed else held.connection.dbapi_connection
        return canceller(self.url.dialect, conn, self.raw_connection)

    def reset_connections(self) -> None:
        """Drop both sides' connections, whatever state they are in; the next case reconnects.

        After a timeout or a lost connection neither can be trusted: a cancelled statement may
        still be unwinding, and a killed backend takes the other side's connection too.
        """
        db = self._legacy_db
        if db is not None:
            conn = None if db.is_closed() else _peewee_conn(db)
            # Forget it, open transactions included: peewee's dispose(), which older releases
            # (our floor, 4.1.0, among them) lack; it is this one line.
            forget: Any = db
            with forget._lock:
                forget._state.reset()
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
        held, self._new_connection = self._new_connection, None
        if held is not None:
            with contextlib.suppress(Exception):
                held.invalidate()
            with contextlib.suppress(Exception):
                held.close()

    def raw_connection(self) -> Any:
        """A new DB-API connection of the driver itself, outside any pool; the caller closes it."""
        if self.url.dialect == "sqlite":
            return sqlite3.connect(str(self.url.path))
        dialect = self.engine.dialect
        cargs, cparams = dialect.create_connect_args(self.engine.url)
        return dialect.loaded_dbapi.connect(*cargs, **cparams)

    @cached_property
    def session_class(self) -> type[Session]:
        """SQLAlchemy's ``Session``, imported once the new side is first run."""
        from sqlalchemy.orm import Session

        return Session

    def new_connection(self) -> Connection:
        """The new side's connection, held from case to case as peewee holds the legacy side's.

        A pool checkout and checkin per case would cost more than a small query; a connection
        that was closed or invalidated (a side broke it) is replaced.
        """
        conn = self._new_connection
        if conn is None or conn.closed or conn.invalidated:
            conn = self._new_connection = self.engine.connect()
        elif conn.in_transaction():  # a case whose rollback failed half-way: start clean
            conn.rollback()
        return conn

    def close(self) -> None:
        """Close every connection the harness holds to this database, whatever state it is in.

        Never raises: a side that closed or broke its connection must not stop the scratch
        database from being dropped.
        """
        self.reset_connections()
        if self._engine is not None:
            with contextlib.suppress(Exception):
                self._engine.dispose()


def _peewee_conn(db: Any) -> Any:
    """The DB-API connection peewee holds for this thread (its ``connection()`` would open one)."""
    return db._state.conn


def require_driver(dialect: str) -> None:
    if dialect in _DRIVERS:
        module, extra = _DRIVERS[dialect]
        try:
            __import__(module)
        except ImportError as exc:
            raise DatabaseError.missing_driver(dialect, module, extra) from exc


def _create_engine(url: DatabaseURL, target: Target) -> Engine:
    from sqlalchemy import create_engine, event

    require_driver(url.dialect)
    connect_args = session_limits(url.dialect, target.statement_timeout, mariadb=None)
    engine = create_engine(url.sqlalchemy_url(), connect_args=connect_args)
    _fixed_text_savepoints(engine.dialect)

    @event.listens_for(engine, "connect")
    def _limits(dbapi_connection: Any, _record: Any) -> None:
        target.on_connect(dbapi_connection)

    if url.dialect == "sqlite":
        # pysqlite's own transaction handling defers BEGIN; take control so a side's
        # transaction (and its rollback) covers every statement, reads included.
        sqlite_transactions(engine, begin=None)
        _fixed_text_begin(engine.dialect, target.new_log)

        @event.listens_for(engine, "connect")
        def _scratch(dbapi_connection: Any, _record: Any) -> None:
            for pragma, value in SCRATCH_PRAGMAS.items():
                dbapi_connection.execute(f"PRAGMA {pragma} = {value}")

    return engine


def sqlite_transactions(engine: Engine, *, begin: Callable[[Any], None] | None) -> None:
    """SQLAlchemy's recipe for pysqlite: the engine, not the driver, sends BEGIN (and SAVEPOINT
    works), and foreign keys are enforced; ``begin(conn)`` sends the BEGIN (None: the caller
    has the dialect's ``do_begin`` send it)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    if begin is not None:
        event.listen(engine, "begin", begin)


def _fixed_text_begin(dialect: Any, log: StatementLog) -> None:
    """Send SQLite's BEGIN from the dialect's ``do_begin``, the documented place for it, rather
    than from a ``begin`` event: the harness's engine has no connection events at all (see
    :func:`harness.database.capture.instrument_engine`). SQLAlchemy wraps a failure as it wraps
    any other (a lost connection is invalidated); the log names BEGIN as the failing statement.
    """

    def do_begin(dbapi_connection: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN")
        except Exception:
            log.last_sql = "BEGIN"
            raise
        finally:
            cursor.close()

    dialect.do_begin = do_begin


def _fixed_text_savepoints(dialect: Any) -> None:
    """Send the savepoint statements of this engine's dialect as the fixed text they are.

    Every case opens the new side's Session in a savepoint (see ``runner.SideTransaction``).
    SQLAlchemy compiles a fresh ``SavepointClause`` for each one, outside its statement cache:
    about 30 microseconds a statement here, more than a small query costs. SQLite, PostgreSQL and
    MySQL/MariaDB all spell them ``SAVEPOINT name``, ``ROLLBACK TO SAVEPOINT name`` and ``RELEASE
    SAVEPOINT name`` (SQLAlchemy's generic compiler; none of the three overrides it), and the
    names are SQLAlchemy's own ``sa_savepoint_<n>``. The ``Dialect.do_*`` methods are the
    documented place for a dialect's savepoint statements; this engine's dialect instance is the
    harness's own.
    """
    dialect.do_savepoint = lambda conn, name: _execute_fixed(
        conn, f"SAVEPOINT {_savepoint_name(conn, name, new=True)}"
    )
    dialect.do_rollback_to_savepoint = lambda conn, name: _execute_fixed(
        conn, f"ROLLBACK TO SAVEPOINT {_savepoint_name(conn, name)}"
    )
    dialect.do_release_savepoint = lambda conn, name: _execute_fixed(
        conn, f"RELEASE SAVEPOINT {_savepoint_name(conn, name)}"
    )


_SAVEPOINT_NAMES = "harness_savepoint_names"


def _savepoint_name(conn: Any, name: str, *, new: bool = False) -> str:
    """The name sent for SQLAlchemy's savepoint ``name``: numbered afresh whenever none is active.

    SQLAlchemy numbers a connection's savepoints for as long as it lives (``sa_savepoint_1``,
    ``_2``, ...), and the harness holds the new side's connection across every case, so each
    case's savepoint was a statement never seen before: SQLite compiled it anew (the driver's
    statement cache never hit) for about as long as the side's small query takes to run. Here the
    numbering starts again at 1 when SQLAlchemy holds no active savepoint on the connection, so
    names stay unique among the active ones (the only ones SQLAlchemy refers to again), and
    every case sends the same ``SAVEPOINT sa_savepoint_1``.
    """
    try:
        names = conn.info.get(_SAVEPOINT_NAMES)
        if names is None:
            names = conn.info[_SAVEPOINT_NAMES] = {}
        if not new:
            return str(names.get(name, name))
        if conn.get_nested_transaction() is None:
            names.clear()
    except Exception:  # no usable connection: the statement fails as it always did
        return name
    sent = names[name] = f"sa_savepoint_{len(names) + 1}"
    return sent


def _execute_fixed(conn: Any, sql: str) -> None:
    """Run framing SQL on a Connection's DB-API connection: no compile, no statement events.

    When the driver refuses it (a PostgreSQL transaction already aborted, a lost connection),
    the statement goes again through SQLAlchemy, so that the side sees SQLAlchemy's own error
    (a ``DBAPIError``) and a lost connection is invalidated, as with SQLAlchemy's savepoints.
    """
    try:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()
    except Exception:
        conn.exec_driver_sql(sql)


def _create_peewee(target: Target, *, mariadb: bool = False) -> peewee.Database:
    import peewee

    url, log = target.url, target.legacy_log
    require_driver(url.dialect)
    if url.dialect == "sqlite":
        cls = peewee_database_class(peewee.SqliteDatabase)
        return cls(
            str(url.path),
            pragmas={"foreign_keys": 1, **SCRATCH_PRAGMAS},
            harness_log=log,
            harness_on_connect=target.on_connect,
        )
    common = {"host": url.host, "port": url.port, "user": url.user, "password": url.password}
    common = {k: v for k, v in common.items() if v is not None}
    common.update(session_limits(url.dialect, target.statement_timeout, mariadb=mariadb))
    if url.dialect == "postgresql":
        cls = peewee_database_class(peewee.PostgresqlDatabase)
        return cls(url.database, prefer_psycopg3=True, harness_log=log, **common)
    cls = peewee_database_class(peewee.MySQLDatabase)
    return cls(url.database, charset="utf8mb4", mariadb=mariadb, harness_log=log, **common)


def mark_sqlite_fixture(target: Target) -> None:
    """Stamp a SQLite fixture file so a later run may replace it."""
    if target.dialect == "sqlite":
        with contextlib.closing(sqlite3.connect(str(target.url.path))) as conn:
            conn.execute(f"PRAGMA application_id = {SQLITE_APPLICATION_ID}")
            conn.commit()


def is_harness_sqlite(path: Path) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    except sqlite3.DatabaseError:
        return False
    return bool(app_id == SQLITE_APPLICATION_ID)
