"""Error categories: the same failure raised by two ORMs, recognized as the same behaviour.

peewee raises ``DoesNotExist`` where SQLAlchemy raises ``NoResultFound``; a duplicate key is
``peewee.IntegrityError`` on one side and ``sqlalchemy.exc.IntegrityError`` on the other, each
wrapping the driver's own exception. :func:`classify` names the portable category of an
exception from what the exceptions carry, without importing any ORM or driver:

1. a project's own exceptions, mapped by qualified class name (``errors={"myapp.errors.NotFound":
   "not_found"}``, per pair or in ``[tool.harness]``), anywhere in the class's MRO;
2. the ORMs' lookups (``DoesNotExist``, ``NoResultFound``, ``MultipleResultsFound``);
3. the driver's code, found on the exception or on what it wraps (``.orig``, ``__cause__``):
   PostgreSQL's SQLSTATE, MySQL/MariaDB's error number, SQLite's extended result code or
   message;
4. any other exception of a database or ORM module is ``other``.

An exception of none of these (a ``KeyError`` in the pair's own code) has no category: it is a
bug of the pair, not behaviour to compare, and :func:`classify` returns None. So is a statement
the database cannot run at all (a syntax error, an unknown table or column: SQLSTATE class 42,
MySQL 1054/1064/1146, SQLite's "no such table"): two sides failing that way prove nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

CATEGORIES = (
    "not_found",
    "multiple_found",
    "unique_violation",
    "foreign_key_violation",
    "not_null_violation",
    "check_violation",
    "invalid_input",
    "deadlock_or_serialization",
    "timeout",
    "connection_lost",
    "other",
)
# Categories that say the run could not observe the operation, never how it behaves: a case
# ending in one of them stays an error even when both sides hit it.
INFRASTRUCTURE = frozenset({"timeout", "connection_lost"})

_DATABASE_MODULES = (
    "sqlalchemy",
    "peewee",
    "playhouse",
    "psycopg",
    "psycopg2",
    "pymysql",
    "MySQLdb",
    "mysql",
    "mariadb",
    "sqlite3",
    "_sqlite3",
    "asyncpg",
    "aiosqlite",
)

_LOOKUPS = {
    "DoesNotExist": "not_found",  # peewee, and each model's own subclass of it
    "NoResultFound": "not_found",  # sqlalchemy.exc (Query.one, Session.get_one, scalar_one)
    "ObjectDeletedError": "not_found",
    "MultipleResultsFound": "multiple_found",
}

_SQLSTATE = {
    "23505": "unique_violation",
    "23503": "foreign_key_violation",
    "23502": "not_null_violation",
    "23514": "check_violation",
    "40001": "deadlock_or_serialization",
    "40P01": "deadlock_or_serialization",
    "57014": "timeout",  # query_canceled: statement_timeout
    "55P03": "deadlock_or_serialization",  # lock_not_available
    "57P01": "connection_lost",
    "57P02": "connection_lost",
    "57P03": "connection_lost",
}
_SQLSTATE_CLASS = {
    "22": "invalid_input",
    "08": "connection_lost",
    "40": "deadlock_or_serialization",
}

_MYSQL_ERRNO = {
    1062: "unique_violation",
    1586: "unique_violation",
    1216: "foreign_key_violation",
    1217: "foreign_key_violation",
    1451: "foreign_key_violation",
    1452: "foreign_key_violation",
    1048: "not_null_violation",
    1364: "not_null_violation",
    3819: "check_violation",
    4025: "check_violation",  # MariaDB: CONSTRAINT … failed
    1213: "deadlock_or_serialization",
    1205: "deadlock_or_serialization",  # lock wait timeout: contention, not a slow statement
    1969: "timeout",  # MariaDB max_statement_time
    3024: "timeout",  # MySQL max_execution_time
    1317: "timeout",  # query interrupted
    2006: "connection_lost",
    2013: "connection_lost",
    2003: "connection_lost",
    2055: "connection_lost",
    1264: "invalid_input",
    1265: "invalid_input",
    1292: "invalid_input",
    1366: "invalid_input",
    1406: "invalid_input",
    1411: "invalid_input",
}

_SQLITE_NAMES = {
    "SQLITE_CONSTRAINT_UNIQUE": "unique_violation",
    "SQLITE_CONSTRAINT_PRIMARYKEY": "unique_violation",
    "SQLITE_CONSTRAINT_FOREIGNKEY": "foreign_key_violation",
    "SQLITE_CONSTRAINT_NOTNULL": "not_null_violation",
    "SQLITE_CONSTRAINT_CHECK": "check_violation",
    "SQLITE_BUSY": "deadlock_or_serialization",
    "SQLITE_LOCKED": "deadlock_or_serialization",
    "SQLITE_INTERRUPT": "timeout",
    "SQLITE_MISMATCH": "invalid_input",
    "SQLITE_TOOBIG": "invalid_input",
}
# Older SQLite builds report only the primary code; the message still says which constraint.
_SQLITE_MESSAGES = (
    ("UNIQUE constraint failed", "unique_violation"),
    ("FOREIGN KEY constraint failed", "foreign_key_violation"),
    ("NOT NULL constraint failed", "not_null_violation"),
    ("CHECK constraint failed", "check_violation"),
    ("database is locked", "deadlock_or_serialization"),
    ("interrupted", "timeout"),
    ("datatype mismatch", "invalid_input"),
)
# Statements the database cannot run at all: the pair's query is wrong.
_MYSQL_MODULES = ("pymysql", "MySQLdb", "mysql", "mariadb")
_MYSQL_INVALID = frozenset({1054, 1064, 1146, 1149, 1109})
_SQLITE_INVALID = ("no such table", "no such column", "near ", "syntax error")
_LOST_CONNECTION = (
    "connection is closed",
    "connection already closed",
    "server closed the connection",
    "lost connection",
    "terminating connection",
)
_CLASS_NAMES = {
    "DataError": "invalid_input",
    "StatementTimeout": "timeout",
    "QueryCanceled": "timeout",
    "DeadlockDetected": "deadlock_or_serialization",
    "SerializationFailure": "deadlock_or_serialization",
    "UniqueViolation": "unique_violation",
    "ForeignKeyViolation": "foreign_key_violation",
    "NotNullViolation": "not_null_violation",
    "CheckViolation": "check_violation",
}


def qualified_name(cls: type) -> str:
    """``package.module.ClassName``, as ``errors=`` mappings name a class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def check_mapping(mapping: Mapping[str, str], where: str) -> dict[str, str]:
    """The mapping as a dict; a ValueError names an unknown category or a bad class name."""
    checked: dict[str, str] = {}
    for name, category in mapping.items():
        if not isinstance(name, str) or "." not in name:
            raise ValueError(
                f"{where}: {name!r} is not a qualified class name; write 'package.module.ClassName'"
            )
        if category not in CATEGORIES:
            raise ValueError(
                f"{where}: {category!r} (for {name}) is not an error category; "
                f"use one of {', '.join(CATEGORIES)}"
            )
        checked[name] = category
    return checked


class _Invalid(Exception):
    """Found a statement the database cannot run: a bug of the pair's query, no category."""


def classify(exc: BaseException, mapping: Mapping[str, str] | None = None) -> str | None:
    """The portable category of ``exc``, or None when it is no database or ORM error.

    >>> classify(KeyError("x")) is None
    True
    """
    if mapping:
        for cls in type(exc).__mro__:
            category = mapping.get(qualified_name(cls))
            if category is not None:
                return category
    for cls in type(exc).__mro__:
        category = _LOOKUPS.get(cls.__name__)
        if category is not None and _from_database_module(cls):
            return category
    database = False
    for link in exception_chain(exc):
        if getattr(link, "connection_invalidated", False):  # SQLAlchemy saw a disconnect
            return "connection_lost"
        try:
            category = _by_code(link)
        except _Invalid:
            return None
        if category is not None:
            return category
        database = database or _from_database_module(type(link))
    if not database:
        return None
    for link in exception_chain(exc):
        for cls in type(link).__mro__:
            category = _CLASS_NAMES.get(cls.__name__)
            if category is not None:
                return category
        text = str(link).lower()
        if any(fragment in text for fragment in _LOST_CONNECTION):
            return "connection_lost"
    return "other"


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: SQLAlchemy's ``.orig``, peewee's first argument, the cause."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        link = pending.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        orig = getattr(link, "orig", None)
        if isinstance(orig, BaseException):
            pending.append(orig)
        if link.args and isinstance(link.args[0], BaseException):
            pending.append(link.args[0])
        for nested in (link.__cause__, link.__context__):
            if nested is not None:
                pending.append(nested)


def _from_database_module(cls: type) -> bool:
    module = cls.__module__.split(".", 1)[0]
    return module in _DATABASE_MODULES


def _by_code(exc: BaseException) -> str | None:
    """The category a driver's own code or message gives, if the exception carries one."""
    module = type(exc).__module__.split(".", 1)[0]
    errno = exc.args[0] if module in _MYSQL_MODULES and exc.args else None
    if isinstance(errno, int) and not isinstance(errno, bool):
        # Before the SQLSTATE, which PyMySQL >= 1.2 sets too: MySQL reports 23000 for every
        # integrity violation, and only the error number says which one.
        if errno in _MYSQL_INVALID:
            raise _Invalid
        category = _MYSQL_ERRNO.get(errno)
        if category is not None:
            return category
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        if sqlstate.startswith("42"):
            raise _Invalid
        return (
            _SQLSTATE.get(sqlstate)
            or _SQLSTATE_CLASS.get(sqlstate[:2])
            or ("other" if _from_database_module(type(exc)) else None)
        )
    if isinstance(errno, int) and not isinstance(errno, bool):
        return "other"
    if module in ("sqlite3", "_sqlite3"):
        name = getattr(exc, "sqlite_errorname", None)
        if isinstance(name, str) and name in _SQLITE_NAMES:
            return _SQLITE_NAMES[name]
        text = str(exc)
        if text.startswith(_SQLITE_INVALID):
            raise _Invalid
        for fragment, category in _SQLITE_MESSAGES:
            if fragment in text:
                return category
    return None
