"""Database targets: a URL becomes a live scratch database that both ORMs use at once.

The harness never writes to the database a server URL names. It connects there only to create
its own scratch database (``harness_<random>``), works in it, and drops it at the end unless asked
to keep it. A ``sqlite:///PATH`` URL names the file the fixture is written to; a file already
there is replaced only when it holds a harness fixture (marked by SQLite's ``application_id``).

Example::

    with open_target("postgresql://postgres@127.0.0.1/postgres") as target:
        target.engine                # SQLAlchemy Engine on harness_3f9c2a1b
        target.legacy_db             # peewee Database on the same database
        print(target.display_url)    # the password masked
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from harness.capture import StatementLog, instrument_engine, peewee_database_class
from harness.errors import DatabaseError

if TYPE_CHECKING:
    import peewee
    from sqlalchemy.engine import URL, Connection, Engine
    from sqlalchemy.orm import Session

# 'HRNS': marks a SQLite file as a harness fixture, so an existing file is replaced only then.
SQLITE_APPLICATION_ID = 0x48524E53
ENV_URL = "HARNESS_DATABASE_URL"

_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+psycopg": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+pymysql": "mysql",
    "mariadb+pymysql": "mysql",
}
_DRIVERS = {"postgresql": ("psycopg", "postgres"), "mysql": ("pymysql", "mysql")}


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed ``--db`` value. ``str()`` masks the password; nothing else prints it."""

    dialect: str  # sqlite | postgresql | mysql | container
    raw: str = field(repr=False)
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    path: Path | None = None  # sqlite
    query: str = ""

    def __str__(self) -> str:
        return mask_url(self.raw)

    def with_database(self, name: str) -> DatabaseURL:
        """The same server and credentials, another database."""
        return DatabaseURL(
            dialect=self.dialect,
            raw=_build_raw(self, name),
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=name,
            query=self.query,
        )

    def sqlalchemy_url(self) -> URL:
        from sqlalchemy.engine import URL

        if self.dialect == "sqlite":
            return URL.create("sqlite", database=str(self.path))
        drivername = "postgresql+psycopg" if self.dialect == "postgresql" else "mysql+pymysql"
        query: dict[str, str] = {"charset": "utf8mb4"} if self.dialect == "mysql" else {}
        return URL.create(
            drivername,
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=self.database,
            query=query,
        )


def _build_raw(url: DatabaseURL, database: str) -> str:
    scheme = "postgresql" if url.dialect == "postgresql" else "mysql"
    auth = ""
    if url.user:
        auth = url.user + (":" + url.password if url.password else "") + "@"
    port = f":{url.port}" if url.port else ""
    query = f"?{url.query}" if url.query else ""
    return f"{scheme}://{auth}{url.host or 'localhost'}{port}/{database}{query}"


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{netloc[1]}").geturl()


def parse_url(url: str) -> DatabaseURL:
    """Parse a ``--db`` value; an unknown scheme is a :class:`DatabaseError` naming the fix."""
    if url.startswith("container:"):
        kind = url.split(":", 1)[1]
        if kind != "postgres":
            raise DatabaseError(f"--db {url}: the only container target is container:postgres")
        return DatabaseURL(dialect="container", raw=url, database="postgres")
    scheme, sep, rest = url.partition("://")
    dialect = _SCHEMES.get(scheme.lower()) if sep else None
    if dialect is None:
        raise DatabaseError.unknown_scheme(mask_url(url))
    if dialect == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path or path == ":memory:":
            raise DatabaseError(
                f"--db {url}: give a file path (sqlite:///PATH); both ORMs need a file to share"
            )
        return DatabaseURL(dialect="sqlite", raw=url, path=Path(path))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DatabaseError(f"--db {mask_url(url)}: {exc}; fix the URL") from exc
    return DatabaseURL(
        dialect=dialect,
        raw=url,
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        database=(parts.path.lstrip("/") or None),
        query=parts.query,
    )


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


def _require_driver(dialect: str) -> None:
    if dialect in _DRIVERS:
        module, extra = _DRIVERS[dialect]
        try:
            __import__(module)
        except ImportError as exc:
            raise DatabaseError.missing_driver(dialect, module, extra) from exc


def _create_engine(url: DatabaseURL) -> Engine:
    from sqlalchemy import create_engine, event

    _require_driver(url.dialect)
    engine = create_engine(url.sqlalchemy_url())
    _fixed_text_savepoints(engine.dialect)
    if url.dialect == "sqlite":
        # pysqlite's own transaction handling defers BEGIN; take control so a side's
        # transaction (and its rollback) covers every statement, reads included.
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA foreign_keys = ON")

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

    _require_driver(url.dialect)
    if url.dialect == "sqlite":
        cls = peewee_database_class(peewee.SqliteDatabase)
        return cls(str(url.path), pragmas={"foreign_keys": 1}, harness_log=log)
    common = {"host": url.host, "port": url.port, "user": url.user, "password": url.password}
    common = {k: v for k, v in common.items() if v is not None}
    if url.dialect == "postgresql":
        cls = peewee_database_class(peewee.PostgresqlDatabase)
        return cls(url.database, prefer_psycopg3=True, harness_log=log, **common)
    cls = peewee_database_class(peewee.MySQLDatabase)
    return cls(url.database, charset="utf8mb4", mariadb=mariadb, harness_log=log, **common)


def resolve_url(url: str | None) -> str | None:
    """The ``--db`` value, else ``HARNESS_DATABASE_URL``, else None (a temporary SQLite file)."""
    return url or os.environ.get(ENV_URL) or None


@contextlib.contextmanager
def open_target(
    url: str | None,
    *,
    keep: bool = False,
    suffix: str | None = None,
) -> Iterator[Target]:
    """Yield a :class:`Target` on a fresh, empty scratch database for ``url``.

    ``url`` None means a SQLite file in a temporary folder. ``suffix`` is appended to the scratch
    database's name (pytest-xdist passes the worker id). ``keep`` leaves the scratch database
    in place instead of dropping it at the end.
    """
    spec = parse_url(url) if url else None
    if spec is None:
        with tempfile.TemporaryDirectory(prefix="harness-") as tmp:
            path = Path(tmp) / f"fixture{'-' + suffix if suffix else ''}.sqlite3"
            target = Target(
                DatabaseURL(dialect="sqlite", raw=f"sqlite:///{path}", path=path), scratch=True
            )
            try:
                yield target
            finally:
                target.close()
        return
    if spec.dialect == "sqlite":
        yield from _sqlite_target(spec, suffix)
        return
    if spec.dialect == "container":
        with _container_server(keep=keep) as server:
            yield from _server_target(server, keep=keep, suffix=suffix)
        return
    yield from _server_target(spec, keep=keep, suffix=suffix)


def _sqlite_target(spec: DatabaseURL, suffix: str | None) -> Iterator[Target]:
    assert spec.path is not None
    path = spec.path
    if suffix:
        path = path.with_name(f"{path.stem}-{suffix}{path.suffix}")
    if path.exists():
        if not _is_harness_sqlite(path):
            raise DatabaseError(
                f"--db sqlite:///{path}: the file exists and is not a harness fixture; "
                "name a new file or remove it yourself"
            )
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    target = Target(
        DatabaseURL(dialect="sqlite", raw=f"sqlite:///{path}", path=path), scratch=False
    )
    try:
        yield target
    finally:
        target.close()


def mark_sqlite_fixture(target: Target) -> None:
    """Stamp a SQLite fixture file so a later run may replace it."""
    if target.dialect == "sqlite":
        with contextlib.closing(sqlite3.connect(str(target.url.path))) as conn:
            conn.execute(f"PRAGMA application_id = {SQLITE_APPLICATION_ID}")
            conn.commit()


def _is_harness_sqlite(path: Path) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    except sqlite3.DatabaseError:
        return False
    return bool(app_id == SQLITE_APPLICATION_ID)


def scratch_name(suffix: str | None = None) -> str:
    """A fresh scratch database name: ``harness_<random>[_<suffix>]``."""
    name = f"harness_{secrets.token_hex(4)}"
    if suffix:
        name += "_" + "".join(ch if ch.isalnum() else "_" for ch in suffix.lower())
    return name


def _server_target(spec: DatabaseURL, *, keep: bool, suffix: str | None) -> Iterator[Target]:
    name = scratch_name(suffix)
    admin = _admin_engine(spec)
    try:
        _execute_admin(admin, spec, _create_sql(spec.dialect, name))
        target = Target(spec.with_database(name), scratch=True)
        try:
            yield target
        finally:
            target.close()
            if not keep:
                _execute_admin(admin, spec, _drop_sql(spec.dialect, name))
    finally:
        admin.dispose()


def _create_sql(dialect: str, name: str) -> str:
    if dialect == "postgresql":
        return f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"
    return f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"


def _drop_sql(dialect: str, name: str) -> str:
    if dialect == "postgresql":
        return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    return f"DROP DATABASE IF EXISTS `{name}`"


def _admin_engine(spec: DatabaseURL) -> Engine:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    _require_driver(spec.dialect)
    # Connect to the named database only to create and drop ours; autocommit, since
    # CREATE/DROP DATABASE cannot run inside a transaction on PostgreSQL.
    return create_engine(spec.sqlalchemy_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _execute_admin(engine: Engine, spec: DatabaseURL, sql: str) -> None:
    from sqlalchemy import exc as sa_exc

    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    except sa_exc.OperationalError as exc:
        raise DatabaseError.unreachable(str(spec), _reason(exc)) from exc
    except sa_exc.DBAPIError as exc:
        raise DatabaseError(
            f"{spec}: the server refused `{sql.split(' ', 3)[0]} {sql.split(' ', 3)[1]}` ({_reason(exc)}); "
            "the user needs the right to create databases"
        ) from exc


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    return text[:200] or type(orig).__name__


@contextlib.contextmanager
def _container_server(*, keep: bool) -> Iterator[DatabaseURL]:
    try:
        try:
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:  # testcontainers before the community namespace
            from testcontainers.postgres import PostgresContainer  # type: ignore[no-redef,unused-ignore]
    except ImportError as exc:
        raise DatabaseError(
            "container:postgres needs testcontainers; install it with: "
            'python -m pip install "orm-shadow-harness[containers]"'
        ) from exc
    problem = docker_unavailable_reason()
    if problem:
        raise DatabaseError(
            f"container:postgres needs a Docker engine, and {problem}; use --db postgresql://… instead"
        )
    container = PostgresContainer("postgres:15-alpine", driver="psycopg")
    container.start()
    try:
        yield parse_url(
            container.get_connection_url().replace("postgresql+psycopg://", "postgresql://")
        )
    finally:
        if not keep:
            container.stop()


def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answers, else why not (one line)."""
    host = os.environ.get("DOCKER_HOST")
    if not host and not Path("/var/run/docker.sock").exists():
        return "none answers here (no /var/run/docker.sock and DOCKER_HOST is not set)"
    try:
        import docker
    except ImportError:
        return "the docker package is not installed"
    client = None
    try:
        client = docker.from_env(timeout=5)
        client.ping()
    except Exception as exc:
        return f"none answered ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})"
    finally:
        if client is not None:
            client.close()
    return None
