"""``harness schema-diff``: the legacy models, the new models and the live database side by side.

Three descriptions of one schema are compared table by table: presence, columns (type in a
dialect-aware canonical form, nullability, server default), primary key, foreign keys (columns,
target, referential actions), unique keys and indexes (a unique index and a unique constraint are
the same thing). Python-side defaults are applied by an ORM, not by the database: a disagreement
about them is a note, never a difference.

Example::

    with open_target(url) as target:
        provider.create_schema(target)
        diff = diff_schema(legacy_models=provider.legacy_models(),
                           new_metadata=provider.new_metadata(),
                           engine=target.engine, legacy_db=target.legacy_db)
        print(format_schema_diff(diff))
        sys.exit(1 if diff.differences else 0)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from itertools import combinations
from typing import TYPE_CHECKING, Any

from harness.schema.coltypes import canonical_type, dialect_family, enum_type
from harness.schema.hints import (
    SHORT,
    WHO,
    Hint,
    action_hint,
    column_hint,
    default_hint,
    fk_hint,
    generic_hint,
    index_hint,
    nullable_hint,
    rename_hint,
    type_hint,
)
from harness.schema.live import live_shape
from harness.schema.model import (
    SIDES,
    ColumnShape,
    IndexShape,
    SchemaShape,
    TableShape,
    legacy_shape,
    new_shape,
)

if TYPE_CHECKING:
    import peewee
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Engine

# The harness keeps no bookkeeping tables in the fixture database today; name any it adds here.
HARNESS_TABLES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SchemaDifference:
    """One disagreement. A side's value is None when it lacks the table, column or key itself."""

    table: str
    column: str | None
    aspect: str
    legacy: str | None
    new: str | None
    live: str | None
    message: str

    @property
    def where(self) -> str:
        return f"{self.table}.{self.column}" if self.column else self.table


@dataclass(frozen=True)
class SchemaCounts:
    """How much was compared: the union over the three sides."""

    tables: int = 0
    columns: int = 0
    indexes: int = 0
    foreign_keys: int = 0


@dataclass(frozen=True)
class SchemaDiff:
    """The outcome of :func:`diff_schema`; ``ok`` when there is no difference (notes allowed)."""

    dialect: str
    differences: tuple[SchemaDifference, ...]
    counts: SchemaCounts
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-safe data (the shape ``from_json`` reads back)."""
        return {
            "dialect": self.dialect,
            "ok": self.ok,
            "counts": asdict(self.counts),
            "differences": [asdict(d) for d in self.differences],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SchemaDiff:
        return cls(
            dialect=data["dialect"],
            differences=tuple(SchemaDifference(**d) for d in data.get("differences", ())),
            counts=SchemaCounts(**data.get("counts", {})),
            notes=tuple(data.get("notes", ())),
        )


def diff_schema(
    *,
    legacy_models: Iterable[type[peewee.Model]],
    new_metadata: MetaData,
    engine: Engine,
    legacy_db: peewee.Database | None = None,
    ignore_tables: Iterable[str] = HARNESS_TABLES,
) -> SchemaDiff:
    """Compare peewee ``legacy_models``, SQLAlchemy ``new_metadata`` and ``engine``'s database.

    Types are what each ORM would emit on ``engine``'s dialect; pass ``legacy_db`` (the peewee
    database the live schema was created with, e.g. ``target.legacy_db``) when its
    ``field_types`` differ from peewee's defaults.
    """
    ignored = frozenset(ignore_tables)
    legacy = legacy_shape(
        [m for m in legacy_models if m._meta.table_name not in ignored],
        dialect=dialect_family(engine.dialect.name),
        database=legacy_db,
    )
    new = new_shape(new_metadata, dialect=engine.dialect, ignore=ignored)
    live = live_shape(engine, ignore=ignored)
    if engine.dialect.name == "postgresql":
        legacy = _named_enums(legacy, engine)
    return compare_shapes(legacy, new, live)


def _named_enums(legacy: SchemaShape, engine: Engine) -> SchemaShape:
    """A peewee field that declares a PostgreSQL enum type by name, read as that type's values.

    peewee's DDL names the type (``asset_status``); SQLAlchemy and the live database describe the
    enum by its values, which is what is compared.
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.typname, e.enumlabel FROM pg_type t JOIN pg_enum e "
                "ON e.enumtypid = t.oid ORDER BY t.typname, e.enumsortorder"
            )
        ).all()
    enums: dict[str, list[str]] = {}
    for name, label in rows:
        enums.setdefault(name.upper(), []).append(label)
    if not enums:
        return legacy
    tables = {}
    for table_name, table in legacy.tables.items():
        columns = {}
        for name, column in table.columns.items():
            values = enums.get(column.declared.strip().strip('"').upper())
            if values is not None:
                declared = enum_type(values)
                column = replace(
                    column, type=canonical_type(declared, "postgresql"), declared=declared
                )
            columns[name] = column
        tables[table_name] = replace(table, columns=columns)
    return replace(legacy, tables=tables)


def compare_shapes(legacy: SchemaShape, new: SchemaShape, live: SchemaShape) -> SchemaDiff:
    """Compare three :class:`SchemaShape` values (the pure part of :func:`diff_schema`)."""
    shapes = {"legacy": legacy, "new": new, "live": live}
    out = _Collector()
    counts = {"columns": 0, "indexes": 0, "foreign_keys": 0}
    names = sorted(set().union(*(s.tables for s in shapes.values())))
    for name in names:
        tables = {side: shapes[side].tables.get(name) for side in SIDES}
        present = {side: ("present" if t is not None else None) for side, t in tables.items()}
        out.check(name, None, "table", present, SIDES)
        in_play = tuple(side for side in SIDES if tables[side] is not None)
        if len(in_play) < 2:
            continue
        found = {side: t for side, t in tables.items() if t is not None}
        counts["columns"] += _compare_columns(out, name, found, in_play)
        _compare_keys(out, name, found, in_play)
        counts["foreign_keys"] += _compare_foreign_keys(out, name, found, in_play)
        counts["indexes"] += _compare_indexes(out, name, found, in_play)
    notes = [f"{side}: {n}" for side, shape in shapes.items() for n in shape.notes] + out.notes
    if out.implicit:
        notes.append(
            "live: indexes MySQL made itself for unindexed foreign keys, not compared: "
            + ", ".join(out.implicit)
        )
    return SchemaDiff(
        dialect=live.dialect,
        differences=tuple(out.differences),
        counts=SchemaCounts(tables=len(names), **counts),
        notes=tuple(notes),
    )


class _Collector:
    """Turns disagreeing values into :class:`SchemaDifference` records with a message each."""

    def __init__(self) -> None:
        self.differences: list[SchemaDifference] = []
        self.notes: list[str] = []
        self.implicit: list[str] = []  # indexes the database made itself, as table.name

    def check(
        self,
        table: str,
        column: str | None,
        aspect: str,
        values: Mapping[str, str | None],
        in_play: Sequence[str],
        hint: Hint = generic_hint,
    ) -> bool:
        """Record a difference when the sides in play disagree; True when one was recorded."""
        if len({values[side] for side in in_play}) <= 1:
            return False
        odd = _odd_side(values, in_play)
        if odd is None:
            message = "the sides disagree; decide which is right, then fix the others"
        else:
            others = [side for side in in_play if side != odd]
            expected = values[others[0]]
            against = " and ".join(SHORT[s] for s in others)
            message = f"{WHO[odd]} differs from {against}: {hint(odd, expected)}"
        full = {side: (values[side] if side in in_play else None) for side in SIDES}
        self.differences.append(SchemaDifference(table, column, aspect, **full, message=message))
        return True


def _odd_side(values: Mapping[str, str | None], in_play: Sequence[str]) -> str | None:
    """The one side that disagrees with the others, when exactly one does."""
    if len(in_play) == 2:
        return "new" if "new" in in_play else "live" if "live" in in_play else None
    for side in in_play:
        a, b = (values[s] for s in in_play if s != side)
        if a == b and values[side] != a:
            return side
    return None


# --- columns -------------------------------------------------------------------------------------


def _compare_columns(
    out: _Collector, table: str, tables: Mapping[str, TableShape], in_play: Sequence[str]
) -> int:
    columns = {side: dict(t.columns) for side, t in tables.items()}
    keys = sorted(set().union(*(set(columns[s]) for s in in_play)))
    for side, (expected, actual) in _renames(columns, in_play).items():
        values = {s: (expected if s != side else actual) for s in in_play}
        out.check(table, expected, "column name", values, in_play, rename_hint(actual))
        # compared from here on under the name the other two sides give it
        columns[side][expected] = columns[side].pop(actual)
        keys.remove(actual)
    for key in keys:
        found = {s: columns[s][key] for s in in_play if key in columns[s]}
        present = {s: ("present" if s in found else None) for s in in_play}
        out.check(table, key, "column", present, in_play, column_hint(key))
        if len(found) < 2:
            continue
        have = list(found)
        out.check(table, key, "type", {s: c.type for s, c in found.items()}, have, type_hint(found))
        nullable = {s: ("NULL" if c.nullable else "NOT NULL") for s, c in found.items()}
        out.check(table, key, "nullable", nullable, have, nullable_hint)
        default = {s: c.default if c.default is not None else "(none)" for s, c in found.items()}
        out.check(table, key, "default", default, have, default_hint)
        if "legacy" in found and "new" in found:
            _note_python_defaults(out, f"{table}.{key}", found["legacy"], found["new"])
    return len(keys)


def _note_python_defaults(
    out: _Collector, where: str, legacy: ColumnShape, new: ColumnShape
) -> None:
    # Each ORM's models live in their own module: same-named callables count as one.
    if _callable_key(legacy.python_default) != _callable_key(new.python_default):
        out.notes.append(
            f"{where}: Python-side default legacy={legacy.python_default or '(none)'} "
            f"new={new.python_default or '(none)'} (applied by the ORM, not the database)"
        )


def _callable_key(description: str | None) -> str | None:
    return description.split(" from ")[0] if description else None


def _renames(
    columns: Mapping[str, Mapping[str, ColumnShape]], in_play: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """Per side, a column it names unlike the two others agree: side -> (expected, actual)."""
    found: dict[str, tuple[str, str]] = {}
    if len(in_play) < 3:
        return found
    for side in in_play:
        a, b = (set(columns[s]) for s in in_play if s != side)
        mine = set(columns[side])
        missing = sorted((a & b) - mine)
        extra = sorted(mine - a - b)
        for name in missing:
            reference = columns[next(s for s in in_play if s != side)][name]
            candidates = [
                (difflib.SequenceMatcher(None, name.lower(), e.lower()).ratio(), e)
                for e in extra
                if columns[side][e].type == reference.type
            ]
            best = max(candidates, default=None)
            if best is not None and best[0] >= 0.6:
                found[side] = (name, best[1])
                break  # one suggestion per side and table: more would be guesswork
    return found


# --- keys and indexes ----------------------------------------------------------------------------


def _tuple_text(columns: Sequence[str]) -> str:
    return f"({', '.join(columns)})" if columns else "(none)"


def _compare_keys(
    out: _Collector, table: str, tables: Mapping[str, TableShape], in_play: Sequence[str]
) -> None:
    values = {s: _tuple_text(tables[s].primary_key) for s in in_play}
    out.check(table, None, "primary key", values, in_play)


def _compare_foreign_keys(
    out: _Collector, table: str, tables: Mapping[str, TableShape], in_play: Sequence[str]
) -> int:
    by_columns = {s: {fk.columns: fk for fk in tables[s].foreign_keys} for s in in_play}
    keys = sorted(set().union(*(set(fks) for fks in by_columns.values())))
    for key in keys:
        found = {s: by_columns[s].get(key) for s in in_play}
        column = ", ".join(key)
        target = {s: (fk.target if fk is not None else None) for s, fk in found.items()}
        if out.check(table, column, "foreign key", target, in_play, fk_hint(column)):
            continue
        have = [s for s in in_play if found[s] is not None]
        for aspect, attr in (("on delete", "on_delete"), ("on update", "on_update")):
            values = {s: getattr(found[s], attr) for s in have}
            out.check(table, column, aspect, values, have, action_hint(aspect))
    return len(keys)


def _compare_indexes(
    out: _Collector, table: str, tables: Mapping[str, TableShape], in_play: Sequence[str]
) -> int:
    clusters = _cluster_indexes({s: tables[s].indexes for s in in_play})
    implicit = [c for c in clusters if all(ix.implicit for ix in c.values())]
    out.implicit.extend(f"{table}.{next(iter(c.values())).name}" for c in implicit)
    clusters = [c for c in clusters if c not in implicit]
    for cluster in clusters:
        sample = next(iter(cluster.values()))
        column = ", ".join(sample.columns)
        presence = {s: (cluster[s].describe() if s in cluster else None) for s in in_play}
        aspect = "unique" if sample.unique else "index"
        if len(cluster) < len(in_play):
            # peewee indexes every ForeignKeyField unless told index=False; SQLAlchemy never
            # indexes a ForeignKey by itself: the classic index lost in a port.
            legacy = tables.get("legacy")
            fk_index = (
                "legacy" in cluster
                and "new" not in cluster
                and not sample.unique
                and legacy is not None
                and any(fk.columns == sample.columns for fk in legacy.foreign_keys)
            )
            out.check(table, column, aspect, presence, in_play, index_hint(sample, fk_index))
        have = [s for s in in_play if s in cluster]
        named = [s for s in have if cluster[s].name is not None]
        out.check(table, column, "index name", {s: cluster[s].name for s in named}, named)
        columns = {s: _tuple_text(cluster[s].columns) for s in have}
        out.check(table, column, "index columns", columns, have)
        unique = {s: ("UNIQUE" if cluster[s].unique else "not unique") for s in have}
        out.check(table, column, "index unique", unique, have)
    return len(clusters)


def _cluster_indexes(per_side: Mapping[str, Sequence[IndexShape]]) -> list[dict[str, IndexShape]]:
    """Group each side's indexes into one cluster per index: by name, then by columns.

    A unique constraint and a unique index on the same columns are one cluster; an unnamed one
    (a SQLAlchemy ``UniqueConstraint`` without name, a SQLite inline ``UNIQUE``) joins whatever
    matches its columns. Two named ones that match only by columns make a name difference.
    """
    clusters: list[dict[str, IndexShape]] = []
    by_name: dict[str, dict[str, IndexShape]] = {}
    loose: list[tuple[str, IndexShape]] = []
    for side, indexes in per_side.items():
        for index in indexes:
            if index.name is None:
                loose.append((side, index))
                continue
            cluster = by_name.get(index.name)
            if cluster is None or side in cluster:
                cluster = by_name[index.name] = {}
                clusters.append(cluster)
            cluster[side] = index

    def shape(cluster: Mapping[str, IndexShape]) -> tuple[tuple[str, ...], bool] | None:
        shapes = {(ix.columns, ix.unique) for ix in cluster.values()}
        return shapes.pop() if len(shapes) == 1 else None

    merged = True
    while merged:
        merged = False
        for a, b in combinations(clusters, 2):
            if set(a).isdisjoint(b) and shape(a) is not None and shape(a) == shape(b):
                a.update(b)
                clusters.remove(b)
                merged = True
                break
    for side, index in loose:
        key = (index.columns, index.unique)
        home = next((c for c in clusters if side not in c and shape(c) == key), None)
        if home is None:
            home = {}
            clusters.append(home)
        home[side] = index
    clusters.sort(key=lambda c: min((ix.columns, ix.name or "") for ix in c.values()))
    return clusters


# --- output --------------------------------------------------------------------------------------


def format_schema_diff(diff: SchemaDiff, *, notes: bool = True) -> str:
    """The terminal report: one summary line, then one line per difference (and the notes)."""
    c = diff.counts
    compared = (
        f"{c.tables} tables, {c.columns} columns, {c.indexes} indexes, "
        f"{c.foreign_keys} foreign keys compared on {diff.dialect}"
    )
    if diff.ok:
        lines = [f"no difference: {compared}"]
    else:
        count = len(diff.differences)
        lines = [f"{count} schema difference{'s' if count != 1 else ''}: {compared}"]
        for d in diff.differences:
            values = "  ".join(f"{side}={_show(getattr(d, side))}" for side in SIDES)
            lines.append(f"  {d.where}: {d.aspect}: {values} -- {d.message}")
    if notes and diff.notes:
        lines.append(f"notes (not counted as differences): {len(diff.notes)}")
        lines.extend(f"  {n}" for n in diff.notes)
    return "\n".join(lines)


def _show(value: str | None) -> str:
    return "(absent)" if value is None else value
