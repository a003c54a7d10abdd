"""Database URLs as users give them: parsed, rebuilt for a scratch database, and masked.

Server URLs are parsed and rebuilt with SQLAlchemy's ``make_url`` (which takes a password with
``#``, ``?`` or ``/`` in it as written, and percent-decodes it), so what is masked is exactly what
is used. ``str(DatabaseURL)`` and :func:`mask_url` render with
``render_as_string(hide_password=True)`` and also mask a password given in the query string
(``?password=…``); nothing else prints a URL. ``resolve_url`` applies the
``HARNESS_DATABASE_URL`` fallback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from harness.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


ENV_URL = "HARNESS_DATABASE_URL"
MASK = "***"

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
# Query-string keys that carry a secret (libpq's and PyMySQL's spellings).
_SECRET_KEYS = frozenset({"password", "passwd", "pass", "pwd", "sslpassword"})


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
    query: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    scheme: str = ""

    def __str__(self) -> str:
        if self.dialect in ("sqlite", "container"):
            return mask_url(self.raw)
        return _render(self._url(self.scheme), hide=True)

    def with_database(self, name: str) -> DatabaseURL:
        """The same server and credentials, another database."""
        rebuilt = self._url(self.scheme).set(database=name)
        return replace(self, raw=_render(rebuilt, hide=False), database=name)

    def sqlalchemy_url(self) -> URL:
        """The URL SQLAlchemy connects with (psycopg 3 or PyMySQL as the driver)."""
        from sqlalchemy.engine import URL

        if self.dialect == "sqlite":
            return URL.create("sqlite", database=str(self.path))
        drivername = "postgresql+psycopg" if self.dialect == "postgresql" else "mysql+pymysql"
        url = self._url(drivername)
        if self.dialect == "mysql":
            url = url.update_query_dict({"charset": "utf8mb4"})
        return url

    def _url(self, drivername: str) -> URL:
        from sqlalchemy.engine import URL

        return URL.create(
            drivername,
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=self.database,
            query=dict(self.query),
        )


def _render(url: URL, *, hide: bool) -> str:
    if hide and any(k.lower() in _SECRET_KEYS for k in url.query):
        url = url.update_query_dict({k: MASK for k in url.query if k.lower() in _SECRET_KEYS})
        return url.render_as_string(hide_password=True).replace("=%2A%2A%2A", "=" + MASK)
    return url.render_as_string(hide_password=hide)


# For text that make_url cannot parse: anything between "://user:" and the last "@" is secret.
_USERINFO = re.compile(r"(://[^:/@]*:)(.*)@")
_QUERY_SECRET = re.compile(r"([?&](?:" + "|".join(sorted(_SECRET_KEYS)) + r")=)[^&#]*", re.I)


def _quote_userinfo(url: str) -> str:
    """``url`` with the password's ``@ / ? #`` percent-encoded, as users often leave them.

    The user part ends at the last ``@`` before the query string, as in ``urlsplit``; the
    password is what follows the first ``:`` in it.
    """
    scheme, sep, rest = url.partition("://")
    head = rest.split("?", 1)[0]
    at = head.rfind("@")
    if not sep or at < 0:
        return url
    user, colon, password = rest[:at].partition(":")
    if not colon:
        return url
    safe = re.sub(r"[@/?#]", lambda m: f"%{ord(m.group()):02X}", password)
    return f"{scheme}://{user}:{safe}{rest[at:]}"


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: in the user part and in the query string."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if url.startswith(("sqlite:", "container:")):
        return url
    try:
        return _render(make_url(_quote_userinfo(url)), hide=True)
    except (ArgumentError, ValueError):
        masked = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", url)
        return _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, masked)


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
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(_quote_userinfo(url))
        port = parsed.port
    except (ArgumentError, ValueError) as exc:
        problem = " ".join(str(exc).replace(url, mask_url(url)).split())
        raise DatabaseError(f"--db {mask_url(url)}: {problem}; fix the URL") from exc
    return DatabaseURL(
        dialect=dialect,
        raw=url,
        host=parsed.host or "localhost",
        port=port,
        user=parsed.username,
        password=parsed.password if parsed.password is None else str(parsed.password),
        database=parsed.database or None,
        query=MappingProxyType(dict(parsed.query)),
        scheme=scheme.lower(),
    )


def resolve_url(url: str | None) -> str | None:
    """The ``--db`` value, else ``HARNESS_DATABASE_URL``, else None (a temporary SQLite file)."""
    return url or os.environ.get(ENV_URL) or None
