"""The live database's schema, read through SQLAlchemy's inspector into a :class:`SchemaShape`.

Reflection is taken as the database reports it, with the corrections the inspector does not make:

- MariaDB's JSON columns (LONGTEXT plus a ``json_valid`` check) are JSON again;
- the index MySQL adds by itself for a foreign key without one is marked ``implicit`` (compared
  only when a model declares an index of that name);
- SQLite columns keep their declared type (reflection maps unknown names by affinity), and
  expression indexes SQLite's reflection skips are read from their CREATE INDEX statement;
- a type SQLAlchemy does not recognize keeps the name the database gave it, and the warning
  becomes a note (it would be an error under ``filterwarnings = error``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from harness.schema.coltypes import (
    AUTOINCREMENT,
    canonical_default,
    canonical_expression,
    canonical_type,
    dialect_family,
    enum_type,
    parse_create_index,
)
from harness.schema.model import (
    ColumnShape,
    ForeignKeyShape,
    IndexShape,
    SchemaShape,
    TableShape,
    action,
    rowid_alias,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Dialect, Engine, Inspector

_UNRECOGNIZED = re.compile(
    r"Did not recognize type '(?P<type>[^']+)' of column '(?P<column>[^']+)'"
)
_SKIPPED_INDEX = re.compile(r"expression-based index (?P<index>\S+)")
_JSON_VALID = re.compile(r"^\(?\s*json_valid\(\s*`?(?P<column>[^`)]+)`?\s*\)\s*\)?$", re.I)


def live_shape(engine: Engine, *, ignore: Iterable[str] = ()) -> SchemaShape:
    """Describe the database behind ``engine`` by reflection.

    Reflection warnings (an unknown type, an index SQLAlchemy cannot reflect) are recorded as
    notes instead of escaping: an unknown type keeps the name the database gave it.
    """
    from sqlalchemy import inspect

    dialect = engine.dialect
    notes: list[str] = []
    tables: dict[str, TableShape] = {}
    skipped = set(ignore)
    with engine.connect() as conn:
        inspector = inspect(conn)
        json_columns = (
            _mariadb_json_columns(conn) if getattr(dialect, "is_mariadb", False) else set()
        )
        for table in inspector.get_table_names():
            if table in skipped:
                continue
            tables[table] = _live_table(inspector, table, dialect, json_columns, notes)
    return SchemaShape("live", dialect_family(dialect.name), tables, tuple(notes))


def _mariadb_json_columns(conn: Any) -> set[tuple[str, str]]:
    # MariaDB's JSON is LONGTEXT with a CHECK (json_valid(col)) the inspector does not report.
    rows = conn.exec_driver_sql(
        "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
        "WHERE CONSTRAINT_SCHEMA = DATABASE()"
    )
    found = set()
    for table, clause in rows:
        match = _JSON_VALID.match(clause.strip())
        if match:
            found.add((table, match["column"]))
    return found


def _live_table(
    inspector: Inspector,
    table: str,
    dialect: Dialect,
    json_columns: set[tuple[str, str]],
    notes: list[str],
) -> TableShape:
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SAWarning)
        reflected = inspector.get_columns(table)
        pk = tuple(inspector.get_pk_constraint(table).get("constrained_columns") or ())
        foreign = inspector.get_foreign_keys(table)
        plain = inspector.get_indexes(table)
        uniques = inspector.get_unique_constraints(table)
    name = dialect_family(dialect.name)
    declared: dict[str, str] = {}  # column -> declared type, where reflection lost it
    skipped: list[str] = []
    for text in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
        if name == "sqlite" and (match := _SKIPPED_INDEX.search(text)):
            skipped.append(match["index"])  # read below from its CREATE INDEX statement
            continue
        if match := _UNRECOGNIZED.search(text):
            declared[match["column"]] = match["type"]
        notes.append(f"{table}: reflection: {text}")
    if name == "sqlite":
        # SQLite keeps each column's declared type verbatim; reflection maps the ones SQLAlchemy
        # does not know by affinity (POINT becomes INTEGER), so read the declaration itself.
        quoted = table.replace('"', '""')
        rows = _connection(inspector).exec_driver_sql(f'PRAGMA table_info("{quoted}")')
        declared = {row[1]: row[2] for row in rows if row[2]}
    columns = {
        col["name"]: _live_column(col, table, pk, dialect, declared, json_columns)
        for col in reflected
    }
    fks = tuple(
        ForeignKeyShape(
            columns=tuple(fk["constrained_columns"]),
            referred_table=fk["referred_table"],
            referred_columns=tuple(fk["referred_columns"]),
            on_delete=action(fk.get("options", {}).get("ondelete"), name),
            on_update=action(fk.get("options", {}).get("onupdate"), name),
        )
        for fk in foreign
    )
    # MySQL creates an index for a foreign key that has none, named after the constraint.
    fk_indexes = {(fk["name"], tuple(fk["constrained_columns"])) for fk in foreign}
    indexes: list[IndexShape] = []
    for index in plain:
        if index.get("duplicates_constraint"):
            continue  # the unique constraint it backs is read below
        expressions = index.get("expressions") or []
        cols = tuple(
            c if c is not None else canonical_expression(expressions[i])
            for i, c in enumerate(index["column_names"])
        )
        implicit = name == "mysql" and (index["name"], cols) in fk_indexes
        indexes.append(IndexShape(index["name"], cols, bool(index["unique"]), implicit=implicit))
    indexes += [
        IndexShape(u.get("name"), tuple(u["column_names"]), True)
        for u in uniques
        if not u.get("duplicates_index")
    ]
    for index_name in skipped:
        indexes.append(
            _sqlite_index(inspector, index_name, notes) or IndexShape(index_name, ("?",), False)
        )
    return TableShape(table, columns, pk, fks, tuple(indexes))


def _live_column(
    col: Mapping[str, Any],
    table: str,
    pk: tuple[str, ...],
    dialect: Dialect,
    declared_types: Mapping[str, str],
    json_columns: set[tuple[str, str]],
) -> ColumnShape:
    from sqlalchemy import Enum

    name = dialect_family(dialect.name)
    if isinstance(col["type"], Enum) and name == "postgresql":
        declared = enum_type(col["type"].enums)  # a named type: compare its values
    else:
        declared = declared_types.get(col["name"]) or _compile_type(col["type"], dialect)
    if (table, col["name"]) in json_columns and canonical_type(declared, name) == "LONGTEXT":
        declared = "JSON"
    canonical = canonical_type(declared, name)
    default = col.get("default")
    if col.get("identity") or (name == "mysql" and col.get("autoincrement") is True):
        default = AUTOINCREMENT
    if rowid_alias(pk, col["name"], declared, name):
        default = AUTOINCREMENT
    return ColumnShape(
        name=col["name"],
        type=canonical,
        declared=declared,
        nullable=bool(col["nullable"]),
        default=canonical_default(default, canonical),
    )


def _sqlite_index(inspector: Inspector, name: str, notes: list[str]) -> IndexShape | None:
    """An expression index SQLite's reflection skips, read from its CREATE INDEX statement."""
    row = (
        _connection(inspector)
        .exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,))
        .first()
    )
    parsed = parse_create_index(row[0]) if row is not None and row[0] else None
    if parsed is None:
        return None
    unique, columns, partial = parsed
    if partial:
        notes.append(f"the condition of partial index {name} is not compared")
    return IndexShape(name, columns, unique)


def _connection(inspector: Inspector) -> Connection:
    # live_shape inspects through one Connection, so raw queries share its transaction.
    return cast("Connection", inspector.bind)


def _compile_type(type_: Any, dialect: Dialect) -> str:
    from sqlalchemy.exc import CompileError

    try:
        return str(type_.compile(dialect=dialect))
    except CompileError:  # NullType: SQLAlchemy did not know the type (a warning says which)
        return "UNKNOWN"
