"""A live fixture database that both ORMs use at once, with a statement log per side.

:class:`Target` holds the new side's SQLAlchemy engine (savepoints sent as fixed text, SQLite's
BEGIN taken under control) and the legacy side's peewee database, both on the same database, and
the driver's raw connection for bulk loading. :mod:`harness.database.scratch` creates and drops it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.database.capture import StatementLog, instrument_engine, peewee_database_class
from harness.errors import DatabaseError
from harness.url import DatabaseURL

if TYPE_CHECKING:
    import peewee
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session

# 'HRNS': marks a SQLite file as a harness fixture, so an existing file is replaced only then.
SQLITE_APPLICATION_ID = 0x48524E53

# A fixture file is thrown away after the run: no side's transaction needs to survive a power
# cut. Without these, every rolled-back write creates, syncs and deletes a journal file on disk,
# and on a busy machine the cases wait on the disk far longer than they compute (measured at
# scale 10: 4 s of CPU in 15 s). Both sides run with the same settings.
SCRATCH_PRAGMAS = {"synchronous": "OFF", "journal_mode": "MEMORY"}

_DRIVERS = {"postgresql": ("psycopg", "postgres"), "mysql": ("pymysql", "mysql")}


class Target:
    """A live fixture database, reachable from both ORMs, with a statement log per side."""

    def __init__(self, url: DatabaseURL, *, scratch: bool) -> None:
        self.url = url
        self.scratch = scratch
        self.legacy_log = StatementLog()
        self.new_log = StatementLog()
        self.primary_keys: dict[str, tuple[str, ...]] = {}  # by table, read once (writing pairs)
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
            self._engine = _create_engine(self.url)
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
            self._legacy_db = _create_peewee(self.url, self.legacy_log, mariadb=mariadb)
        return self._legacy_db

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
        """Close every connection the harness holds to this database."""
        if self._legacy_db is not None:
            self._legacy_db.close()
        if self._new_connection is not None:
            self._new_connection.close()
            self._new_connection = None
        if self._engine is not None:
            self._engine.dispose()


def require_driver(dialect: str) -> None:
    if dialect in _DRIVERS:
        module, extra = _DRIVERS[dialect]
        try:
            __import__(module)
        except ImportError as exc:
            raise DatabaseError.missing_driver(dialect, module, extra) from exc


def _create_engine(url: DatabaseURL) -> Engine:
    from sqlalchemy import create_engine, event

    require_driver(url.dialect)
    engine = create_engine(url.sqlalchemy_url())
    _fixed_text_savepoints(engine.dialect)
    if url.dialect == "sqlite":
        # pysqlite's own transaction handling defers BEGIN; take control so a side's
        # transaction (and its rollback) covers every statement, reads included.
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA foreign_keys = ON")
            for pragma, value in SCRATCH_PRAGMAS.items():
                dbapi_connection.execute(f"PRAGMA {pragma} = {value}")

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            _execute_fixed(conn, "BEGIN")

    return engine


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
    dialect.do_savepoint = lambda conn, name: _execute_fixed(conn, f"SAVEPOINT {name}")
    dialect.do_rollback_to_savepoint = lambda conn, name: _execute_fixed(
        conn, f"ROLLBACK TO SAVEPOINT {name}"
    )
    dialect.do_release_savepoint = lambda conn, name: _execute_fixed(
        conn, f"RELEASE SAVEPOINT {name}"
    )


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


def _create_peewee(
    url: DatabaseURL, log: StatementLog, *, mariadb: bool = False
) -> peewee.Database:
    import peewee

    require_driver(url.dialect)
    if url.dialect == "sqlite":
        cls = peewee_database_class(peewee.SqliteDatabase)
        return cls(str(url.path), pragmas={"foreign_keys": 1, **SCRATCH_PRAGMAS}, harness_log=log)
    common = {"host": url.host, "port": url.port, "user": url.user, "password": url.password}
    common = {k: v for k, v in common.items() if v is not None}
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
