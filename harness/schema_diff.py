"""``harness schema-diff``: the legacy models, the new models and the live database, side by side.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

from harness.schema_live import live_shape
from harness.schema_model import (
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

_WHO = {
    "legacy": "the legacy (peewee) model",
    "new": "the new (SQLAlchemy) model",
    "live": "the live database",
}


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
    """Compare peewee ``legacy_models``, SQLAlchemy ``new_metadata`` and the database of ``engine``.

    Types are what each ORM would emit on ``engine``'s dialect; pass ``legacy_db`` (the peewee
    database the live schema was created with, e.g. ``target.legacy_db``) when its
    ``field_types`` differ from peewee's defaults.
    """
    ignored = frozenset(ignore_tables)
    legacy = legacy_shape(
        [m for m in legacy_models if m._meta.table_name not in ignored],
        dialect=engine.dialect.name,
        database=legacy_db,
    )
    new = new_shape(new_metadata, dialect=engine.dialect, ignore=ignored)
    live = live_shape(engine, ignore=ignored)
    return compare_shapes(legacy, new, live)


def compare_shapes(legacy: SchemaShape, new: SchemaShape, live: SchemaShape) -> SchemaDiff:
    """Compare three :class:`SchemaShape` values (the pure part of :func:`diff_schema`)."""
    shapes = {"legacy": legacy, "new": new, "live": live}
    out = _Collector(live.dialect)
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
    return SchemaDiff(
        dialect=live.dialect,
        differences=tuple(out.differences),
        counts=SchemaCounts(tables=len(names), **counts),
        notes=tuple(notes),
    )


class _Collector:
    """Turns disagreeing values into :class:`SchemaDifference` records with a message each."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.differences: list[SchemaDifference] = []
        self.notes: list[str] = []

    def check(
        self,
        table: str,
        column: str | None,
        aspect: str,
        values: Mapping[str, str | None],
        in_play: Sequence[str],
        hint: Callable[[str, str | None], str] | None = None,
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
            against = " and ".join(_WHO[s].split(" (")[0].removeprefix("the ") for s in others)
            fix = (hint or _generic_hint)(odd, expected)
            message = f"{_WHO[odd]} differs from the {against}: {fix}"
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


def _generic_hint(side: str, expected: str | None) -> str:
    if side == "live":
        return f"migrate the database to {expected or 'drop it'} (or recreate it from the legacy models)"
    model = "the SQLAlchemy model" if side == "new" else "the peewee model"
    return f"make {model} say {expected}" if expected is not None else f"remove it from {model}"


# --- columns ---------------------------------------------------------------------------------------


def _compare_columns(
    out: _Collector, table: str, tables: Mapping[str, TableShape], in_play: Sequence[str]
) -> int:
    columns = {side: dict(t.columns) for side, t in tables.items()}
    renamed = _renames(columns, in_play)
    keys = sorted(set().union(*(set(columns[s]) for s in in_play)))
    for side, (expected, actual) in renamed.items():
        values = {s: (expected if s != side else actual) for s in in_play}
        out.check(
            table, expected, "column name", values, in_play,
            lambda odd, exp, actual=actual: _rename_hint(odd, exp, actual),
        )  # fmt: skip
        columns[side][expected] = columns[side].pop(actual)
        keys.remove(actual)
    for key in keys:
        found = {s: columns[s].get(key) for s in in_play}
        present = {s: ("present" if c is not None else None) for s, c in found.items()}
        out.check(
            table,
            key,
            "column",
            present,
            in_play,
            lambda odd, exp, key=key: _column_hint(odd, exp, key),
        )
        have = [s for s in in_play if found[s] is not None]
        if len(have) < 2:
            continue
        shapes: dict[str, ColumnShape] = {s: c for s, c in found.items() if c is not None}
        out.check(
            table, key, "type", {s: c.type for s, c in shapes.items()}, have, _type_hint(shapes)
        )
        nullable = {s: ("NULL" if c.nullable else "NOT NULL") for s, c in shapes.items()}
        out.check(table, key, "nullable", nullable, have, _nullable_hint)
        default = {s: c.default if c.default is not None else "(none)" for s, c in shapes.items()}
        out.check(table, key, "default", default, have, _default_hint)
        if "legacy" in shapes and "new" in shapes:
            py = shapes["legacy"].python_default, shapes["new"].python_default
            if py[0] != py[1]:
                out.notes.append(
                    f"{table}.{key}: Python-side default legacy={py[0] or '(none)'} new={py[1] or '(none)'} "
                    "(applied by the ORM, not the database; not counted)"
                )
    return len(keys)


def _renames(
    columns: Mapping[str, Mapping[str, ColumnShape]], in_play: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """Per side, a column it names differently from the two other sides: side -> (expected, actual)."""
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


def _rename_hint(side: str, expected: str | None, actual: str) -> str:
    if side == "new":
        return f"it names the column {actual!r}; map the physical name: mapped_column({expected!r}, ...)"
    if side == "legacy":
        return f"it names the column {actual!r}; set column_name={expected!r} on the field"
    return f"the column is {actual!r} there; rename it to {expected!r} or recreate the database"


def _column_hint(side: str, expected: str | None, column: str) -> str:
    if expected is None:  # the odd side has a column the others lack
        return {
            "new": f"remove {column!r} from the SQLAlchemy model or add it to the legacy model",
            "legacy": f"remove the field for {column!r} from the peewee model or add it to the new model",
            "live": f"the database has an extra column {column!r}; recreate it from the legacy models",
        }[side]
    return {
        "new": f"add a mapped column {column!r} to the SQLAlchemy model",
        "legacy": f"add a field with column_name={column!r} to the peewee model",
        "live": f"the database lacks {column!r}; recreate it from the legacy models",
    }[side]


def _type_hint(shapes: Mapping[str, ColumnShape]) -> Callable[[str, str | None], str]:
    def hint(side: str, expected: str | None) -> str:
        declared = shapes[side].declared
        if side == "new":
            return f"it compiles to {declared}; use a type that compiles to {expected} (with_variant per dialect)"
        if side == "legacy":
            return f"peewee emits {declared}; use a field (max_length, max_digits...) that emits {expected}"
        return f"the column is {declared}; ALTER it to {expected} or recreate the database"

    return hint


def _nullable_hint(side: str, expected: str | None) -> str:
    flag = expected == "NULL"
    if side == "new":
        return f"set nullable={flag} on the column (Optional[...] in Mapped[] for NULL)"
    if side == "legacy":
        return f"set null={flag} on the field"
    return f"ALTER the column to {expected} or recreate the database"


def _default_hint(side: str, expected: str | None) -> str:
    none = expected == "(none)"
    if side == "new":
        return "remove server_default" if none else f"set server_default=text({expected!r})"
    if side == "legacy":
        return (
            "remove the DEFAULT constraint"
            if none
            else f"add constraints=[SQL({'DEFAULT ' + str(expected)!r})]"
        )
    return f"ALTER the column's default to {expected} or recreate the database"


# --- keys and indexes -----------------------------------------------------------------------------


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
        if out.check(table, column, "foreign key", target, in_play, _fk_hint(column)):
            continue
        have = [s for s in in_play if found[s] is not None]
        for aspect, attr in (("on delete", "on_delete"), ("on update", "on_update")):
            values = {s: getattr(found[s], attr) for s in have}
            out.check(table, column, aspect, values, have, _action_hint(aspect))
    return len(keys)


def _fk_hint(column: str) -> Callable[[str, str | None], str]:
    def hint(side: str, expected: str | None) -> str:
        if side == "new":
            return (
                f"declare ForeignKey({expected!r}) on {column}"
                if expected
                else "remove the ForeignKey"
            )
        if side == "legacy":
            return (
                f"make {column} a ForeignKeyField to {expected}"
                if expected
                else "make it a plain field"
            )
        return f"{'add' if expected else 'drop'} the constraint in the database, or recreate it"

    return hint


def _action_hint(aspect: str) -> Callable[[str, str | None], str]:
    def hint(side: str, expected: str | None) -> str:
        keyword = aspect.replace(" ", "")
        if side == "new":
            return f"set {keyword}={expected!r} on the ForeignKey"
        if side == "legacy":
            return f"set {aspect.replace(' ', '_')}={expected!r} on the ForeignKeyField"
        return f"recreate the constraint with {aspect.upper()} {expected}"

    return hint


def _compare_indexes(
    out: _Collector, table: str, tables: Mapping[str, TableShape], in_play: Sequence[str]
) -> int:
    clusters = _cluster_indexes({s: tables[s].indexes for s in in_play})
    for cluster in clusters:
        sample = next(iter(cluster.values()))
        column = ", ".join(sample.columns)
        presence = {s: (cluster[s].describe() if s in cluster else None) for s in in_play}
        aspect = "unique" if sample.unique else "index"
        if len(cluster) < len(in_play):
            out.check(table, column, aspect, presence, in_play, _index_hint(sample))
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
    clusters.sort(key=lambda c: (next(iter(c.values())).columns, next(iter(c.values())).name or ""))
    return clusters


def _index_hint(index: IndexShape) -> Callable[[str, str | None], str]:
    cols = ", ".join(repr(c) for c in index.columns)

    def hint(side: str, expected: str | None) -> str:
        if side == "new" and expected is not None:
            if index.unique:
                return f"add UniqueConstraint({cols}, name={index.name!r}) or a unique Index"
            return f"add Index({index.name!r}, {cols}) to the table"
        if side == "legacy" and expected is not None:
            return f"add (({cols}), {index.unique}) to Meta.indexes"
        if side == "live" and expected is not None:
            return "create the index in the database, or recreate it from the legacy models"
        return _generic_hint(side, expected)

    return hint


# --- output ----------------------------------------------------------------------------------------


def format_schema_diff(diff: SchemaDiff, *, notes: bool = True) -> str:
    """The terminal report: one summary line, then one line per difference (and the notes)."""
    c = diff.counts
    compared = (
        f"{c.tables} tables, {c.columns} columns, {c.indexes} indexes, {c.foreign_keys} foreign keys "
        f"compared on {diff.dialect}"
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
