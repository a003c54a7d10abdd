"""The scratch database's lifecycle: created on the server a URL names, seeded, dropped.

The harness never writes to the database a server URL names. It connects there only to create
its own scratch database (``harness_<random>``), works in it, and drops it at the end unless asked
to keep it. A ``sqlite:///PATH`` URL names the file the fixture is written to; a file already
there is replaced only when it holds a harness fixture (marked by SQLite's ``application_id``).
``container:postgres`` starts a throw-away server with testcontainers where Docker answers.

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
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from harness.database.connect import classify_connection_error
from harness.database.target import Target, is_harness_sqlite, require_driver
from harness.errors import DatabaseError
from harness.url import DatabaseURL, parse_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


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
        if not is_harness_sqlite(path):
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

    require_driver(spec.dialect)
    # Connect to the named database only to create and drop ours; autocommit, since
    # CREATE/DROP DATABASE cannot run inside a transaction on PostgreSQL.
    return create_engine(spec.sqlalchemy_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _execute_admin(engine: Engine, spec: DatabaseURL, sql: str) -> None:
    from sqlalchemy import exc as sa_exc

    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    except sa_exc.OperationalError as exc:
        raise DatabaseError.unreachable(str(spec), classify_connection_error(exc)) from exc
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
