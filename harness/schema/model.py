"""One shape for three descriptions of a schema: peewee models, SQLAlchemy models, live database.

Each reader turns its source into a :class:`SchemaShape` of plain, canonical values (see
:mod:`harness.schema.coltypes`), so :mod:`harness.schema.diff` compares like with like. Types come
from what each side would emit on the target's dialect: peewee's ``ddl_datatype`` through the
database's ``field_types``, and SQLAlchemy's type compiler. The live database's reader is in
:mod:`harness.schema.live`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.schema.coltypes import (
    AUTOINCREMENT,
    canonical_default,
    canonical_expression,
    canonical_type,
    dialect_family,
    enum_type,
    parse_create_index,
)

if TYPE_CHECKING:
    import peewee
    from sqlalchemy import Column, MetaData
    from sqlalchemy.engine import Dialect
    from sqlalchemy.sql.compiler import DDLCompiler

SIDES = ("legacy", "new", "live")


@dataclass(frozen=True)
class ColumnShape:
    """A column: canonical type, nullability and server default (None: no default)."""

    name: str
    type: str
    declared: str
    nullable: bool
    default: str | None
    python_default: str | None = None  # applied by the ORM, not the database: noted, not counted


@dataclass(frozen=True)
class IndexShape:
    """An index, or a unique constraint (the same thing here); ``name`` None when unnamed."""

    name: str | None
    columns: tuple[str, ...]
    unique: bool
    implicit: bool = False  # made by the database itself (MySQL, for an unindexed foreign key)

    def describe(self) -> str:
        kind = "UNIQUE " if self.unique else ""
        return f"{kind}{self.name or '(unnamed)'} ({', '.join(self.columns)})"


@dataclass(frozen=True)
class ForeignKeyShape:
    """A foreign key: its columns, what they refer to, and its referential actions."""

    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"

    @property
    def target(self) -> str:
        return f"{self.referred_table}({', '.join(self.referred_columns)})"


@dataclass(frozen=True)
class TableShape:
    """A table: its columns by physical name, its keys and its indexes."""

    name: str
    columns: Mapping[str, ColumnShape]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKeyShape, ...] = ()
    indexes: tuple[IndexShape, ...] = ()


@dataclass(frozen=True)
class SchemaShape:
    """What one side says the schema is; ``notes`` are things it could not describe."""

    side: str
    dialect: str
    tables: Mapping[str, TableShape]
    notes: tuple[str, ...] = field(default=())


def action(value: str | None, dialect: str) -> str:
    """A referential action's canonical name: no action stated is NO ACTION."""
    text = " ".join((value or "NO ACTION").upper().split())
    # InnoDB treats RESTRICT and NO ACTION alike (no deferred checks).
    return "NO ACTION" if dialect == "mysql" and text == "RESTRICT" else text


def describe_python_default(value: Any) -> str | None:
    """A Python-side default as text: the value's repr, or ``name() from module`` for a callable."""
    if value is None:
        return None
    fn = getattr(value, "__wrapped__", value)  # SQLAlchemy wraps callables to take a context
    if callable(fn):
        owner = getattr(fn, "__self__", None)
        module = getattr(fn, "__module__", None) or getattr(owner, "__module__", None)
        name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
        return f"{name}() from {module}" if module else f"{name}()"
    return repr(value)


def rowid_alias(table_pk: Sequence[str], column: str, declared: str, dialect: str) -> bool:
    # SQLite makes a lone "INTEGER PRIMARY KEY" the rowid: it autoincrements whatever the ORM says.
    return (
        dialect == "sqlite"
        and tuple(table_pk) == (column,)
        and declared.strip().upper() == "INTEGER"
    )


# --- legacy: peewee ------------------------------------------------------------------------------

_PEEWEE_DATABASES = {
    "sqlite": "SqliteDatabase",
    "postgresql": "PostgresqlDatabase",
    "mysql": "MySQLDatabase",
}
_UNIQUE_SQL = re.compile(
    r"^(?:CONSTRAINT\s+(?P<name>\S+)\s+)?UNIQUE\s*(?:KEY\s*)?\((?P<cols>[^)]*)\)", re.I
)
_FK_SQL = re.compile(
    r"^(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\s*\((?P<cols>[^)]*)\)\s*REFERENCES\s+(?P<table>[^\s(]+)"
    r"\s*\((?P<ref>[^)]*)\)(?P<rest>.*)$",
    re.I,
)


def _unquote(name: str) -> str:
    return name.strip().strip('"`[]')


def _names(text: str) -> tuple[str, ...]:
    return tuple(_unquote(part.split()[0]) for part in text.split(",") if part.strip())


def peewee_database(dialect: str) -> peewee.Database:
    """An unconnected peewee database of ``dialect``'s kind: only its DDL vocabulary is used."""
    import peewee

    db: peewee.Database = getattr(peewee, _PEEWEE_DATABASES[dialect])(None)
    return db


def legacy_shape(
    models: Iterable[type[peewee.Model]], *, dialect: str, database: peewee.Database | None = None
) -> SchemaShape:
    """Describe peewee ``models`` as peewee would create them on ``dialect``.

    ``database`` is the peewee database the live schema was created with (its ``field_types``
    decide the DDL); by default a plain, unconnected one of the dialect's kind. The models are
    bound to it while they are read, as ``create_tables`` binds them, because a field may choose
    its DDL by the database its model is bound to.
    """
    db = database if database is not None else peewee_database(dialect)
    models = list(models)
    reader = _LegacyReader(db, dialect)
    with db.bind_ctx(models):
        tables = {m._meta.table_name: reader.table(m) for m in models}
    return SchemaShape("legacy", dialect, tables, tuple(reader.notes))


class _LegacyReader:
    """Reads bound peewee models into shapes, rendering nodes with the database's context."""

    def __init__(self, db: peewee.Database, dialect: str) -> None:
        self.db = db
        self.dialect = dialect
        self.notes: list[str] = []

    def render(self, node: Any) -> str:
        import peewee

        sql, params = self.db.get_sql_context().sql(peewee.ValueLiterals(node)).query()
        return str(sql) if not params else f"{sql} -- {params!r}"

    def table(self, model: type[peewee.Model]) -> TableShape:
        import peewee

        meta: Any = model._meta
        if meta.composite_key:
            pk = tuple(meta.fields[n].column_name for n in meta.primary_key.field_names)
        elif meta.primary_key:
            pk = (meta.primary_key.column_name,)
        else:
            pk = ()
        columns = {f.column_name: self.column(f, pk) for f in meta.sorted_fields}
        fks = [
            ForeignKeyShape(
                columns=(f.column_name,),
                referred_table=f.rel_model._meta.table_name,
                referred_columns=(f.rel_field.column_name,),
                on_delete=action(f.on_delete, self.dialect),
                on_update=action(f.on_update, self.dialect),
            )
            for f in meta.sorted_fields
            if isinstance(f, peewee.ForeignKeyField)
        ]
        indexes: list[IndexShape] = []
        for constraint in meta.constraints or ():
            self.table_constraint(self.render(constraint).strip(), fks, indexes)
        for index in meta.fields_to_index():
            if isinstance(index, peewee.Index):
                indexes.append(self.index(model, index))
            else:
                self.notes.append(
                    f"{meta.table_name}: raw SQL index not compared: {self.render(index)}"
                )
        return TableShape(meta.table_name, columns, pk, tuple(fks), tuple(indexes))

    def column(self, fld: peewee.Field, pk: tuple[str, ...]) -> ColumnShape:
        datatype = fld.ddl_datatype(self.db.get_sql_context())
        declared = self.render(datatype) if datatype is not None else ""
        canonical = canonical_type(declared, self.dialect)
        server_default = None
        for constraint in fld.constraints or ():
            text = self.render(constraint).strip()
            if text.upper().startswith("DEFAULT"):
                server_default = text[len("DEFAULT") :].strip()
        if fld.sequence or (fld.auto_increment and self.dialect != "sqlite"):
            server_default = AUTOINCREMENT
        if rowid_alias(pk, fld.column_name, declared, self.dialect):
            server_default = AUTOINCREMENT
        # A primary key column is NOT NULL on PostgreSQL and MySQL whatever the DDL says.
        in_pk = fld.column_name in pk and self.dialect != "sqlite"
        return ColumnShape(
            name=fld.column_name,
            type=canonical,
            declared=declared,
            nullable=bool(fld.null) and not in_pk,
            default=canonical_default(server_default, canonical),
            python_default=describe_python_default(fld.default),
        )

    def table_constraint(
        self, text: str, fks: list[ForeignKeyShape], indexes: list[IndexShape]
    ) -> None:
        """A ``Meta.constraints`` entry: UNIQUE and FOREIGN KEY are understood, others skipped."""
        if unique := _UNIQUE_SQL.match(text):
            name = _unquote(unique["name"]) if unique["name"] else None
            indexes.append(IndexShape(name, _names(unique["cols"]), True))
        elif fk := _FK_SQL.match(text):
            rest = fk["rest"].upper()
            on_delete = re.search(r"ON DELETE (SET NULL|SET DEFAULT|NO ACTION|\w+)", rest)
            on_update = re.search(r"ON UPDATE (SET NULL|SET DEFAULT|NO ACTION|\w+)", rest)
            fks.append(
                ForeignKeyShape(
                    columns=_names(fk["cols"]),
                    referred_table=_unquote(fk["table"]),
                    referred_columns=_names(fk["ref"]),
                    on_delete=action(on_delete[1] if on_delete else None, self.dialect),
                    on_update=action(on_update[1] if on_update else None, self.dialect),
                )
            )

    def index(self, model: Any, index: Any) -> IndexShape:
        """An index as peewee's own CREATE INDEX statement for it says.

        ``model`` and ``index`` are a peewee model class and ``Index``; typed ``Any`` because
        what is read here (``_schema``, ``_name``, ``_unique``) is outside peewee's typed API.
        """
        sql, _ = model._schema._create_index(index).query()
        parsed = parse_create_index(sql)
        if parsed is None:  # not expected from peewee; keep the index visible all the same
            self.notes.append(f"{model._meta.table_name}: cannot read index DDL: {sql}")
            parsed = bool(index._unique), ("?",), False
        unique, columns, partial = parsed
        if partial:
            table = model._meta.table_name
            self.notes.append(
                f"{table}: the condition of partial index {index._name} is not compared"
            )
        return IndexShape(index._name, columns, unique)


# --- new: SQLAlchemy metadata --------------------------------------------------------------------


def _constraint_name(name: Any) -> str | None:
    # Unnamed constraints carry None or SQLAlchemy's NONE_NAME symbol (not a str).
    return str(name) if isinstance(name, str) else None


def new_column_type(column: Column[Any], dialect: Dialect) -> str:
    """The DDL type SQLAlchemy emits for ``column`` on ``dialect`` (variants resolved)."""
    from sqlalchemy import Enum

    type_ = column.type
    variant = getattr(type_, "_variant_mapping", {}).get(dialect.name)
    type_ = variant if variant is not None else type_
    impl = type_.dialect_impl(dialect)
    if isinstance(impl, Enum) and impl.native_enum and dialect.name == "postgresql":
        return enum_type(impl.enums)  # PostgreSQL compiles a named type; compare its values
    return str(dialect.type_compiler_instance.process(column.type, type_expression=column))


def _ddl_compiler(dialect: Dialect) -> DDLCompiler:
    # A compiler without a statement: only its per-column helpers are used (as Alembic does).
    return dialect.ddl_compiler(dialect, None)  # type: ignore[arg-type]


def new_shape(metadata: MetaData, *, dialect: Dialect, ignore: Iterable[str] = ()) -> SchemaShape:
    """Describe SQLAlchemy ``metadata`` as ``create_all`` would emit it on ``dialect``."""
    from sqlalchemy import ForeignKeyConstraint, UniqueConstraint

    ddl = _ddl_compiler(dialect)
    name = dialect_family(dialect.name)
    tables: dict[str, TableShape] = {}
    skipped = set(ignore)
    for table in metadata.tables.values():
        if table.name in skipped:
            continue
        pk = tuple(c.name for c in table.primary_key.columns)
        columns: dict[str, ColumnShape] = {}
        for column in table.columns:
            declared = new_column_type(column, dialect)
            canonical = canonical_type(declared, name)
            default = ddl.get_column_default_string(column)
            if column.identity is not None or (
                name != "sqlite" and table.autoincrement_column is column
            ):
                default = AUTOINCREMENT
            if rowid_alias(pk, column.name, declared, name):
                default = AUTOINCREMENT
            python_default = None
            if column.default is not None:
                arg = getattr(column.default, "arg", None)
                python_default = (
                    f"SQL {arg}"
                    if getattr(column.default, "is_clause_element", False)
                    else describe_python_default(arg)
                )
            columns[column.name] = ColumnShape(
                name=column.name,
                type=canonical,
                declared=declared,
                nullable=bool(column.nullable),
                default=canonical_default(default, canonical),
                python_default=python_default,
            )
        fks = tuple(
            ForeignKeyShape(
                columns=tuple(c.name for c in fk.columns),
                # target_fullname is "[schema.]table.column", resolvable or not
                referred_table=fk.elements[0].target_fullname.split(".")[-2],
                referred_columns=tuple(e.target_fullname.split(".")[-1] for e in fk.elements),
                on_delete=action(fk.ondelete, name),
                on_update=action(fk.onupdate, name),
            )
            # table.constraints, not foreign_key_constraints: it is what CREATE TABLE emits
            for fk in table.constraints
            if isinstance(fk, ForeignKeyConstraint)
        )
        indexes = [
            IndexShape(
                _constraint_name(index.name),
                tuple(_expression(e, dialect) for e in index.expressions),
                bool(index.unique),
            )
            for index in table.indexes
        ]
        indexes += [
            IndexShape(_constraint_name(c.name), tuple(col.name for col in c.columns), True)
            for c in table.constraints
            if isinstance(c, UniqueConstraint)
        ]
        tables[table.name] = TableShape(table.name, columns, pk, fks, tuple(indexes))
    return SchemaShape("new", name, tables)


def _expression(expr: Any, dialect: Dialect) -> str:
    from sqlalchemy import Column

    element = getattr(expr, "element", None)  # col.desc(): the ordering is not compared
    if isinstance(element, Column):
        expr = element
    if isinstance(expr, Column):
        return expr.name
    if isinstance(expr, str):
        return expr
    # As CREATE INDEX writes it: columns without their table, values inline.
    compiler = _ddl_compiler(dialect).sql_compiler
    return canonical_expression(compiler.process(expr, include_table=False, literal_binds=True))
