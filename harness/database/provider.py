"""The dual-ORM provider: one URL, a peewee ``Database`` and a SQLAlchemy ``Engine`` on it.

During a migration an application holds both clients at once. They must agree on how they
connect (pool size, timeouts, SSL), or the new side is measured against a differently tuned
legacy side and one of them exhausts the server's connections. :class:`DualORM` builds both from
one URL and one :class:`ConnectionSettings`, validates and masks the URL (the harness's own
:mod:`harness.url`), checks both connections with bounded retries and categorized errors
(:mod:`harness.database.connect`), makes both count their statements for the shadow mode
(:func:`harness.database.capture.counting`), and closes both with one ``close()``.

Example::

    from harness.database.provider import DualORM

    with DualORM("postgresql://app:secret@db/app", pool_size=10, connect_timeout=5) as orm:
        orm.connect()                       # both clients, retried; DatabaseError with the fix
        Issue.bind(orm.peewee)              # legacy models
        with orm.session() as session:      # new side: a Session on orm.engine
            session.scalars(select(Issue)).all()
        print(orm)                          # DualORM(postgresql://app:***@db/app)

Unlike the harness's targets, the provider never creates or drops a database: it connects to the
one the URL names, as the application does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from harness.database.capture import count_engine_statements, count_peewee_statements
from harness.database.connect import connect_with_retry
from harness.database.target import require_driver, sqlite_transactions
from harness.errors import ConfigError, DatabaseError
from harness.url import DatabaseURL, parse_url

if TYPE_CHECKING:
    import peewee
    import peewee as pw  # in DualORM's body, `peewee` is its property
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

SSL_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")


class _Undo(Exception):
    """Raised at the end of a rolled-back block, so that peewee's ``atomic()`` rolls it back."""


@dataclass(frozen=True)
class ConnectionSettings:
    """Connection settings both clients share.

    ``pool_size``: connections each client may hold (the server sees up to twice this).
    ``pool_timeout``: seconds a caller waits for a free pooled connection.
    ``connect_timeout``: seconds to wait for the server when connecting (SQLite: for a lock).
    ``statement_timeout``: seconds a statement may run (PostgreSQL: the server cancels it;
    MySQL/MariaDB: the client stops waiting for the answer, ``read_timeout``); None: no limit.
    ``ssl``: one of ``SSL_MODES`` (PostgreSQL's ``sslmode`` names; on MySQL/MariaDB any mode but
    ``disable`` and ``prefer`` turns TLS on, the ``verify-*`` ones check the certificate against
    ``ssl_root_cert``). ``retries`` and ``backoff``: attempts and first wait of :meth:`DualORM.connect`.
    """

    pool_size: int = 5
    pool_timeout: float = 30.0
    connect_timeout: float = 10.0
    statement_timeout: float | None = None
    ssl: str | None = None
    ssl_root_cert: str | None = None
    retries: int = 3
    backoff: float = 0.5

    def __post_init__(self) -> None:
        if self.pool_size < 1:
            raise ConfigError.bad_value("pool_size", self.pool_size, "a whole number of 1 or more")
        for name in ("pool_timeout", "connect_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError.bad_value(name, getattr(self, name), "seconds, more than 0")
        if self.statement_timeout is not None and self.statement_timeout <= 0:
            raise ConfigError.bad_value(
                "statement_timeout", self.statement_timeout, "seconds, more than 0, or None"
            )
        if self.ssl is not None and self.ssl not in SSL_MODES:
            raise ConfigError.bad_value("ssl", self.ssl, f"one of {', '.join(SSL_MODES)} or None")
        if self.retries < 1:
            raise ConfigError.bad_value("retries", self.retries, "a whole number of 1 or more")


class DualORM:
    """Both ORMs' clients on the database ``url`` names, with shared :class:`ConnectionSettings`.

    ``url`` is ``sqlite:///PATH``, ``postgresql://…`` or ``mysql://…`` (MariaDB too); a bad
    one is a :class:`~harness.errors.DatabaseError` naming the fix, with the password masked.
    Settings come as ``settings=`` or as keywords (``pool_size=10``). Both clients are built
    lazily and are safe to share between threads (peewee keeps a connection per thread,
    SQLAlchemy's pool hands one to each checkout).
    """

    def __init__(
        self, url: str, *, settings: ConnectionSettings | None = None, **overrides: Any
    ) -> None:
        known = {f.name for f in fields(ConnectionSettings)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(
                f"DualORM: unknown setting {unknown[0]!r}; the settings are {', '.join(sorted(known))}"
            )
        self.settings = replace(settings or ConnectionSettings(), **overrides)
        self.url: DatabaseURL = parse_url(url)
        if self.url.dialect == "container":
            raise DatabaseError(
                f"{url}: DualORM connects to an existing database; give its sqlite:///, "
                "postgresql:// or mysql:// URL"
            )
        self._engine: Engine | None = None
        self._peewee: peewee.Database | None = None
        self._sessions: sessionmaker[Session] | None = None

    def __repr__(self) -> str:
        return f"DualORM({self.display_url})"

    @property
    def display_url(self) -> str:
        """The URL to print or log: the password masked."""
        return str(self.url)

    @property
    def engine(self) -> Engine:
        """The new side's SQLAlchemy ``Engine``."""
        if self._engine is None:
            self._engine = _create_engine(self.url, self.settings)
            count_engine_statements(self._engine)
        return self._engine

    @property
    def peewee(self) -> peewee.Database:
        """The legacy side's peewee ``Database`` (pooled on a server)."""
        if self._peewee is None:
            self._peewee = _create_peewee(self.url, self.settings, mariadb=self._is_mariadb())
            count_peewee_statements(self._peewee)
        return self._peewee

    def session(self) -> Session:
        """A new SQLAlchemy ``Session`` on :attr:`engine` (use it as a context manager)."""
        if self._sessions is None:
            from sqlalchemy.orm import sessionmaker

            self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        return self._sessions()

    def connect(self) -> DualORM:
        """Open and check a connection of each client, retrying transient failures.

        Raises :class:`~harness.errors.DatabaseError` with the category and the fix
        (``cannot connect to postgresql://app:***@db/app after 3 attempts: … [refused];
        start the server, or check the host and port in the URL``).
        """
        attempts, backoff = self.settings.retries, self.settings.backoff

        def check_engine() -> None:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")

        def check_peewee() -> None:
            db = self.peewee
            with db.connection_context():
                db.execute_sql("SELECT 1")

        for check in (check_engine, check_peewee):
            connect_with_retry(check, url=self.display_url, attempts=attempts, backoff=backoff)
        return self

    @contextlib.contextmanager
    def rolled_back(self) -> Iterator[Session]:
        """A ``Session`` whose work is always undone: for shadowing a writing candidate.

        The session runs inside a transaction that is rolled back at the end; the candidate's
        own ``session.commit()`` commits only a savepoint of it (SQLAlchemy's
        ``join_transaction_mode="create_savepoint"``), so nothing it writes ever lands.
        """
        from sqlalchemy.orm import Session

        with self.engine.connect() as conn:
            outer = conn.begin()
            session = Session(
                bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            try:
                yield session
            finally:
                session.close()
                outer.rollback()

    @contextlib.contextmanager
    def rolled_back_legacy(self) -> Iterator[pw.Database]:
        """The peewee ``Database`` in a transaction (a savepoint when one is open) undone at the end.

        For shadowing a writing operation whose candidate is the legacy side (``use="new"``).
        A connection this opens for the thread it also closes; one already open stays open.
        """
        db = self.peewee
        opened = db.is_closed()
        if opened:
            db.connect()
        try:
            with contextlib.suppress(_Undo), db.atomic():
                yield db
                raise _Undo  # leave the block by an exception: peewee rolls it back
        finally:
            if opened:
                db.close()

    def close(self) -> None:
        """Close both clients: every pooled connection of each."""
        if self._peewee is not None:
            close_all = getattr(self._peewee, "close_all", None)
            if close_all is not None:
                close_all()
            else:
                self._peewee.close()
        if self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> DualORM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _is_mariadb(self) -> bool:
        if self.url.dialect != "mysql":
            return False
        # peewee marks JSON values differently on MariaDB (no CAST … AS JSON there).
        with self.engine.connect():
            return bool(getattr(self.engine.dialect, "is_mariadb", False))


def driver_args(url: DatabaseURL, settings: ConnectionSettings) -> dict[str, Any]:
    """The driver's connect arguments for ``settings``: the very same ones for both clients."""
    if url.dialect == "sqlite":
        return {"timeout": settings.connect_timeout}
    args: dict[str, Any] = {"connect_timeout": max(1, round(settings.connect_timeout))}
    if url.dialect == "postgresql":
        if settings.ssl:
            args["sslmode"] = settings.ssl
        if settings.ssl_root_cert:
            args["sslrootcert"] = settings.ssl_root_cert
        if settings.statement_timeout:
            args["options"] = f"-c statement_timeout={round(settings.statement_timeout * 1000)}"
        return args
    if settings.ssl not in (None, "disable", "prefer"):
        verify = settings.ssl.startswith("verify")
        ssl: dict[str, Any] = {"check_hostname": settings.ssl == "verify-full"}
        if settings.ssl_root_cert:
            ssl["ca"] = settings.ssl_root_cert
        ssl["verify_mode"] = verify  # as PyMySQL builds it from its own ssl_* arguments
        args["ssl"] = ssl
    if settings.statement_timeout:
        args["read_timeout"] = settings.statement_timeout
    return args


def _create_engine(url: DatabaseURL, settings: ConnectionSettings) -> Engine:
    from sqlalchemy import create_engine

    require_driver(url.dialect)
    engine = create_engine(
        url.sqlalchemy_url(),
        pool_size=settings.pool_size,
        max_overflow=0,
        pool_timeout=settings.pool_timeout,
        pool_pre_ping=url.dialect != "sqlite",
        connect_args=driver_args(url, settings),
    )
    if url.dialect == "sqlite":
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT, which the
        # rolled-back sandbox of a shadowed write relies on.
        sqlite_transactions(engine, begin=lambda conn: conn.exec_driver_sql("BEGIN"))
    return engine


def _create_peewee(
    url: DatabaseURL, settings: ConnectionSettings, *, mariadb: bool
) -> peewee.Database:
    import peewee
    from playhouse import pool

    require_driver(url.dialect)
    args = driver_args(url, settings)
    if url.dialect == "sqlite":
        return peewee.SqliteDatabase(str(url.path), pragmas={"foreign_keys": 1}, **args)
    common = {"host": url.host, "port": url.port, "user": url.user, "password": url.password}
    common = {k: v for k, v in common.items() if v is not None}
    pooling = {
        "max_connections": settings.pool_size,
        "timeout": settings.pool_timeout,
        "stale_timeout": 300,
    }
    if url.dialect == "postgresql":
        return pool.PooledPostgresqlDatabase(
            url.database, prefer_psycopg3=True, **pooling, **common, **args
        )
    return pool.PooledMySQLDatabase(
        url.database, charset="utf8mb4", mariadb=mariadb, **pooling, **common, **args
    )
