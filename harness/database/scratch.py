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
import random
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.database import janitor
from harness.database.connect import classify_connection_error
from harness.database.faults import transient
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
    statement_timeout: float | None = None,
    notify: Callable[[str], None] | None = None,
) -> Iterator[Target]:
    """Yield a :class:`Target` on a fresh, empty scratch database for ``url``.

    ``url`` None means a SQLite file in a temporary folder. ``suffix`` is appended to the scratch
    database's name (pytest-xdist passes the worker id). ``keep`` leaves the scratch database
    in place instead of dropping it at the end. ``statement_timeout`` (seconds) makes the
    server stop any statement of the sides that runs longer. ``notify`` is told, in one line
    each, what the janitor removed first and which connection attempts are retried.
    """
    say = notify or (lambda line: None)
    spec = parse_url(url) if url else None
    swept = janitor.sweep_temp()
    if swept.dropped:
        say(f"harness: removed {len(swept.dropped)} temporary folder(s) of runs that are gone")
    if spec is None:
        tmp = janitor.make_temp_dir()
        try:
            path = tmp / f"fixture{'-' + suffix if suffix else ''}.sqlite3"
            with sqlite_target(path, scratch=True, statement_timeout=statement_timeout) as target:
                yield target
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    if spec.dialect == "sqlite":
        yield from _sqlite_target(spec, suffix, statement_timeout)
        return
    server = ServerOptions(keep, suffix, statement_timeout, say)
    if spec.dialect == "container":
        with _container_server(keep=keep) as container:
            yield from _server_target(container, server)
        return
    yield from _server_target(spec, server)


def _sqlite_target(
    spec: DatabaseURL, suffix: str | None, statement_timeout: float | None
) -> Iterator[Target]:
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
    with sqlite_target(path, scratch=False, statement_timeout=statement_timeout) as target:
        yield target


@contextlib.contextmanager
def sqlite_target(
    path: Path, *, scratch: bool, statement_timeout: float | None = None
) -> Iterator[Target]:
    """A :class:`Target` on the SQLite file ``path``, its connections closed at the end."""
    target = Target(
        DatabaseURL(dialect="sqlite", raw=f"sqlite:///{path}", path=path),
        scratch=scratch,
        statement_timeout=statement_timeout,
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


@dataclass(frozen=True)
class ServerOptions:
    """How a scratch database on a server is made: kept or not, its suffix, limits, notes."""

    keep: bool
    suffix: str | None
    statement_timeout: float | None
    notify: Callable[[str], None]


def _server_target(spec: DatabaseURL, options: ServerOptions) -> Iterator[Target]:
    name = scratch_name(options.suffix)
    admin = admin_engine(spec)
    try:
        swept = sweep_server(spec, admin=admin, notify=options.notify)
        if swept.dropped:
            options.notify(
                f"harness: dropped {len(swept.dropped)} scratch database(s) of runs that are gone: "
                + ", ".join(swept.dropped)
            )
        execute_admin(admin, spec, janitor.create_sql(spec.dialect, name, janitor.Owner.current()))
        target = Target(
            spec.with_database(name), scratch=True, statement_timeout=options.statement_timeout
        )
        try:
            yield target
        finally:
            target.close()
            if options.keep:
                execute_admin(admin, spec, [janitor.keep_sql(spec.dialect, name)])
            else:
                execute_admin(admin, spec, [janitor.drop_sql(spec.dialect, name)])
    finally:
        admin.dispose()


def sweep_server(
    spec: DatabaseURL, *, admin: Engine | None = None, notify: Callable[[str], None] | None = None
) -> janitor.Sweep:
    """Drop the scratch databases on ``spec``'s server whose owning run is gone."""
    engine = admin or admin_engine(spec)
    try:
        rows = execute_admin(engine, spec, [janitor.list_sql(spec.dialect)], notify=notify)
        found = janitor.orphans(rows)
        if found.dropped:
            drops = [janitor.drop_sql(spec.dialect, name) for name in found.dropped]
            execute_admin(engine, spec, drops)
        return found
    finally:
        if admin is None:
            engine.dispose()


def admin_engine(spec: DatabaseURL) -> Engine:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    require_driver(spec.dialect)
    # Connect to the named database only to create and drop ours; autocommit, since
    # CREATE/DROP DATABASE cannot run inside a transaction on PostgreSQL.
    return create_engine(spec.sqlalchemy_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")


# Connecting is retried on failures that pass (too many connections, a server starting up):
# 4 attempts, 0.25 s, 0.5 s and 1 s apart (with jitter), each retry reported.
CONNECT_ATTEMPTS = 4
CONNECT_BACKOFF_S = 0.25


def execute_admin(
    engine: Engine,
    spec: DatabaseURL,
    statements: list[str],
    *,
    notify: Callable[[str], None] | None = None,
) -> list[tuple[Any, ...]]:
    """Run ``statements`` on one admin connection; the rows of the last one (if it has rows)."""
    from sqlalchemy import exc as sa_exc

    conn = _connect(engine, spec, notify)
    rows: list[tuple[Any, ...]] = []
    try:
        for sql in statements:
            result = conn.exec_driver_sql(sql)
            rows = [tuple(r) for r in result] if result.returns_rows else []
    except sa_exc.OperationalError as exc:
        raise DatabaseError.unreachable(str(spec), classify_connection_error(exc)) from exc
    except sa_exc.DBAPIError as exc:
        words = sql.split(" ", 3)
        raise DatabaseError(
            f"{spec}: the server refused `{words[0]} {words[1]}` ({_reason(exc)}); "
            "the user needs the right to create databases"
        ) from exc
    finally:
        conn.close()
    return rows


def _connect(engine: Engine, spec: DatabaseURL, notify: Callable[[str], None] | None) -> Any:
    from sqlalchemy import exc as sa_exc

    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            return engine.connect()
        except sa_exc.DBAPIError as exc:
            if attempt == CONNECT_ATTEMPTS or not transient(exc):
                raise DatabaseError.unreachable(str(spec), _reason(exc)) from exc
            delay = CONNECT_BACKOFF_S * 2 ** (attempt - 1) * random.uniform(0.8, 1.2)
            if notify is not None:
                notify(
                    f"harness: connecting to {spec} failed ({_reason(exc)}); "
                    f"retry {attempt + 1} of {CONNECT_ATTEMPTS} in {delay:.2f}s"
                )
            time.sleep(delay)
    raise AssertionError("unreachable")


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
