"""The live database's schema, read through SQLAlchemy's inspector into a :class:`SchemaShape`.

Reflection is taken as the database reports it, with two corrections the inspector does not make:
MariaDB's JSON columns (LONGTEXT plus a ``json_valid`` check) are JSON again, and the index
MySQL adds by itself for a foreign key without one is left out.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from harness.schema_model import (
    ColumnShape,
    ForeignKeyShape,
    IndexShape,
    SchemaShape,
    TableShape,
    action,
    rowid_alias,
)
from harness.schema_types import AUTOINCREMENT, canonical_default, canonical_type

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect, Engine, Inspector

_UNRECOGNIZED = re.compile(
    r"Did not recognize type '(?P<type>[^']+)' of column '(?P<column>[^']+)'"
)
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
    return SchemaShape("live", dialect.name, tables, tuple(notes))


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
    unknown: dict[str, str] = {}
    for warning in caught:
        text = " ".join(str(warning.message).split())
        notes.append(f"{table}: reflection: {text}")
        if match := _UNRECOGNIZED.search(text):
            unknown[match["column"]] = match["type"]
    name = dialect.name
    columns: dict[str, ColumnShape] = {}
    for col in reflected:
        declared = unknown.get(col["name"]) or _compile_type(col["type"], dialect)
        if (table, col["name"]) in json_columns and canonical_type(declared, name) == "LONGTEXT":
            declared = "JSON"
        canonical = canonical_type(declared, name)
        default = col.get("default")
        if col.get("identity") or (name == "mysql" and col.get("autoincrement") is True):
            default = AUTOINCREMENT
        if rowid_alias(pk, col["name"], declared, name):
            default = AUTOINCREMENT
        columns[col["name"]] = ColumnShape(
            name=col["name"],
            type=canonical,
            declared=declared,
            nullable=bool(col["nullable"]),
            default=canonical_default(default, canonical),
        )
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
    fk_indexes = (
        {(fk["name"], tuple(fk["constrained_columns"])) for fk in foreign}
        if name == "mysql"
        else set()
    )
    indexes: list[IndexShape] = []
    for index in plain:
        if index.get("duplicates_constraint"):
            continue  # the unique constraint it backs is read below
        expressions = index.get("expressions") or []
        cols = tuple(
            c if c is not None else (expressions[i] if i < len(expressions) else "(expression)")
            for i, c in enumerate(index["column_names"])
        )
        if (index["name"], cols) in fk_indexes:
            notes.append(
                f"{table}: index {index['name']} is MySQL's implicit foreign-key index; not compared"
            )
            continue
        indexes.append(IndexShape(index["name"], cols, bool(index["unique"])))
    indexes += [
        IndexShape(u.get("name"), tuple(u["column_names"]), True)
        for u in uniques
        if not u.get("duplicates_index")
    ]
    return TableShape(table, columns, pk, fks, tuple(indexes))


def _compile_type(type_: Any, dialect: Dialect) -> str:
    from sqlalchemy.exc import CompileError

    try:
        return str(type_.compile(dialect=dialect))
    except CompileError:  # NullType: SQLAlchemy did not know the type (a warning says which)
        return "UNKNOWN"
