"""Database URLs as users give them: parsed, rebuilt for a scratch database, and masked.

``str(DatabaseURL)`` masks the password; nothing else prints it. ``resolve_url`` applies the
``HARNESS_DATABASE_URL`` fallback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from harness.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


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


def resolve_url(url: str | None) -> str | None:
    """The ``--db`` value, else ``HARNESS_DATABASE_URL``, else None (a temporary SQLite file)."""
    return url or os.environ.get(ENV_URL) or None
