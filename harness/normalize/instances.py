"""ORM instances to plain dicts, reading only what each ORM already holds in memory.

Both ORMs meet on the *physical* column name, so a peewee field ``organization`` with
``column_name="organizationId"`` and a SQLAlchemy attribute ``organizationId`` give the same key:

* **columns** -- every loaded column under its physical name. peewee: the fields present in
  ``obj.__data__`` (a field the query did not select is absent, not None); a foreign key is its
  raw id from ``__data__``, never the related object. SQLAlchemy: the column attributes present
  in the instance dict (``inspect(obj).dict``); absent there is exactly ``inspect(obj).unloaded``
  (deferred, expired, never set), and those are left out rather than loaded.
* **relations already loaded**, nested under the relation's *attribute name* (``"organization":
  {...}``): peewee ``obj.__rel__`` (joined or prefetched foreign keys; None for an outer join that
  found nothing); SQLAlchemy loaded relationships (a collection becomes a list, in the order
  loaded). A relation whose name is also a column key is left out (the column wins).
* **other public attributes in the instance ``__dict__``**, under their own name: what peewee
  puts there (backrefs filled by ``prefetch()``, extra selected columns by alias, joins with
  ``attr=``) and what the new side's code set to mirror them.
* An object already being normalized further up (the parent a prefetched child points back to)
  is left out, in a collection too: that is what breaks cycles, and it makes a back-reference
  that one ORM fills and the other does not compare equal.

A column typed boolean turns 0/1 into False/True (raw drivers for MariaDB and SQLite return
ints); a column typed JSON (peewee ``JSONField``/``BinaryJSONField``, SQLAlchemy ``JSON`` and its
dialect subtypes) that holds a ``str`` with a JSON object or array is parsed. Other strings in a
JSON column are kept: they may be JSON strings the ORM already decoded.

Nothing here touches a descriptor that could load: no lazy load, no query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import Any, Protocol

from harness.canonical import PASS_TYPES, SCALAR_CONVERTERS
from harness.normalize.table import dict_columns, tuple_columns

PLAIN, BOOLEAN, JSON = 0, 1, 2

SKIP = object()  # what :meth:`Walker.child` returns for an object that is an ancestor


class Walker(Protocol):
    """The part of the normalizer that instances call back into."""

    ancestors: set[int]

    def plan(self, cls: type, build: Callable[[type], Plan]) -> Plan: ...

    def field(self, value: Any, kind: int, step: str) -> Any: ...

    def child(self, value: Any, step: str) -> Any: ...


@dataclass(frozen=True)
class Plan:
    """How to read one model class: (attribute, output key, kind) per column, relations, etc."""

    columns: tuple[tuple[str, str, int], ...]
    relations: tuple[tuple[str, str], ...]
    internal: frozenset[str]  # instance __dict__ keys that are the ORM's own or already read

    def renamed(self, keys: Mapping[str, str]) -> Plan:
        """The plan with output keys passed through the ``keys`` rename map."""
        if not keys:
            return self
        columns = tuple((attr, keys.get(out, out), kind) for attr, out, kind in self.columns)
        relations = tuple((attr, keys.get(out, out)) for attr, out in self.relations)
        return replace(self, columns=columns, relations=relations)

    @cached_property
    def readers(self) -> dict[tuple[str, ...], _Reader | None]:
        """:func:`instance_rows`'s readers, by the attributes an instance holds (None: no table)."""
        return {}

    def reader(self, held: tuple[str, ...]) -> _Reader | None:
        """How to read instances holding the attributes ``held`` column-wise, or None."""
        attrs = frozenset(attr for attr, _, _ in self.columns)
        present = set(held)
        present.discard(SA_STATE)
        if not present <= attrs:
            return None  # a loaded relationship, or an attribute the side set
        columns = [column for column in self.columns if column[0] in present]
        keys = tuple(key for _, key, _ in columns)
        kinds = tuple(kind for _, _, kind in columns)
        read = tuple(attr for attr, _, _ in columns)
        if not columns:
            return _Reader(None, keys, kinds, read)
        return _Reader(itemgetter(*read), keys, kinds, read)


@dataclass(frozen=True)
class _Reader:
    getter: Callable[[Any], Any] | None  # None: no column loaded
    keys: tuple[str, ...]
    kinds: tuple[int, ...]
    attrs: tuple[str, ...]


def _without_collisions(
    columns: list[tuple[str, str, int]], relations: list[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    names = {out for _, out, _ in columns}
    return tuple((attr, out) for attr, out in relations if out not in names)


def peewee_plan(cls: type) -> Plan:
    """The plan of a peewee model class (``_meta.sorted_fields``)."""
    import peewee

    columns: list[tuple[str, str, int]] = []
    relations: list[tuple[str, str]] = []
    for field in cls._meta.sorted_fields:  # type: ignore[attr-defined]
        if isinstance(field, peewee.BooleanField):
            kind = BOOLEAN
        elif type(field).__name__.endswith("JSONField") or field.field_type in ("JSON", "JSONB"):
            kind = JSON
        else:
            kind = PLAIN
        columns.append((field.name, field.column_name, kind))
        if isinstance(field, peewee.ForeignKeyField):
            relations.append((field.name, field.name))
    internal = frozenset({"__data__", "__rel__", "_dirty"})
    return Plan(tuple(columns), _without_collisions(columns, relations), internal)


def sqlalchemy_plan(cls: type) -> Plan:
    """The plan of a SQLAlchemy mapped class (``mapper.column_attrs``, ``.relationships``)."""
    from sqlalchemy import JSON as JSONType
    from sqlalchemy import Boolean, Column, inspect

    mapper: Any = inspect(cls)
    columns: list[tuple[str, str, int]] = []
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        name = column.name if isinstance(column, Column) else attr.key
        affinity = getattr(column.type, "_type_affinity", None) or type(column.type)
        if issubclass(affinity, Boolean) or isinstance(column.type, Boolean):
            kind = BOOLEAN
        elif issubclass(affinity, JSONType) or isinstance(column.type, JSONType):
            kind = JSON
        else:
            kind = PLAIN
        columns.append((attr.key, name, kind))
    relations = [(rel.key, rel.key) for rel in mapper.relationships]
    internal = frozenset(
        ["_sa_instance_state", *(a.key for a in mapper.column_attrs), *(k for k, _ in relations)]
    )
    return Plan(tuple(columns), _without_collisions(columns, relations), internal)


def _columns(walker: Walker, plan: Plan, data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, key, kind in plan.columns:
        if attr in data:
            value = data[attr]
            if kind:
                value = walker.field(value, kind, key)
            elif value.__class__ not in PASS_TYPES:
                # A Decimal or a datetime straight to its converter, as the walker would send it.
                convert = SCALAR_CONVERTERS.get(value.__class__)
                value = walker.field(value, kind, key) if convert is None else convert(value)
            out[key] = value
    return out


def _extras(walker: Walker, obj: Any, plan: Plan, out: dict[str, Any]) -> None:
    attrs = obj.__dict__
    for name in sorted(attrs.keys() - plan.internal):
        if name.startswith("_") or name in out:
            continue
        value = walker.child(attrs[name], name)
        if value is not SKIP:
            out[name] = value


def normalize_peewee(walker: Walker, obj: Any) -> dict[str, Any]:
    """A peewee model instance as ``{column name: value}`` plus what the query loaded with it."""
    plan = walker.plan(obj.__class__, peewee_plan)
    out = _columns(walker, plan, obj.__data__)
    related = obj.__rel__
    # Three entries (__data__, __rel__, _dirty) are every instance's own; more means extras.
    extras = len(obj.__dict__) > 3
    if related or extras:
        _nested(walker, obj, plan, related, extras, out)
    return out


def normalize_sqlalchemy(walker: Walker, obj: Any) -> dict[str, Any]:
    """A SQLAlchemy mapped instance as ``{column name: value}`` plus its loaded relationships."""
    plan = walker.plan(obj.__class__, sqlalchemy_plan)
    # The instance dict is InstanceState.dict: what is loaded, without asking the ORM to load.
    attrs = obj.__dict__
    out = _columns(walker, plan, attrs)
    extras = not plan.internal.issuperset(attrs)
    if plan.relations or extras:
        _nested(walker, obj, plan, attrs, extras, out)
    return out


def _nested(
    walker: Walker,
    obj: Any,
    plan: Plan,
    loaded: Mapping[str, Any],
    extras: bool,
    out: dict[str, Any],
) -> None:
    """Add to ``out`` the relations found in ``loaded`` and, if ``extras``, the other attributes,
    with ``obj`` on the path so that a back-reference to it is left out."""
    walker.ancestors.add(id(obj))
    try:
        for attr, key in plan.relations:
            if attr in loaded:
                value = walker.child(loaded[attr], key)
                if value is not SKIP:
                    out[key] = value
        if extras:
            _extras(walker, obj, plan, out)
    finally:
        walker.ancestors.discard(id(obj))


_DATA = attrgetter("__data__")
_REL = attrgetter("__rel__")
_DICT = attrgetter("__dict__")
SA_STATE = "_sa_instance_state"


def instance_rows(
    walker: Walker, items: list[Any], orm: Callable[[Walker, Any], Any], *, by_column: bool = False
) -> tuple[Any, tuple[str, ...], tuple[int, ...]] | None:
    """The loaded columns of many instances of one model class at once, read with C-level passes.

    Returns each instance's raw values as a tuple in plan order (``by_column``: each column's
    values as a list, and the set of types of each, as a :data:`~harness.normalize.table.Typed`),
    with the output keys and the kind of each column; the caller converts
    the columns that need it. None when an instance holds more than columns (a loaded relation,
    an extra attribute) or the instances differ in which columns are loaded:
    :func:`normalize_peewee` and :func:`normalize_sqlalchemy` then read them one by one. Both ways give the same dicts.
    """
    cls = items[0].__class__
    if orm is normalize_peewee:
        if any(map(_REL, items)) or set(map(len, map(_DICT, items))) != {3}:
            return None
        plan = walker.plan(cls, peewee_plan)
        datas = list(map(_DATA, items))
    else:
        plan = walker.plan(cls, sqlalchemy_plan)
        datas = list(map(_DICT, items))
    if len(set(map(len, datas))) != 1:
        return None
    held = tuple(datas[0])
    readers = plan.readers
    if held not in readers:
        readers[held] = plan.reader(held)
    reader = readers[held]
    if reader is None:
        return None
    if reader.getter is None:  # no column loaded: rows of nothing, and no Table of them
        return None if by_column else ([()] * len(items), reader.keys, reader.kinds)
    if by_column and len(datas) > MAX_TUPLE_PASS:  # one pass over every instance's values
        typed = dict_columns(datas, reader.attrs)
        return None if typed is None else (typed, reader.keys, reader.kinds)
    # Every instance holds as many entries as the first, and each of the first one's: the same.
    try:
        values = list(map(reader.getter, datas))
    except KeyError:
        return None
    width = len(reader.keys)
    if by_column:  # one list per column instead of a tuple per instance (for a Table)
        typed = ([values], [set(map(type, values))]) if width == 1 else tuple_columns(values, width)
        return typed, reader.keys, reader.kinds
    if width == 1:  # itemgetter of one name gives the value, not a tuple
        values = [(value,) for value in values]
    return values, reader.keys, reader.kinds


# Up to this many instances, their columns are read as one tuple per instance and sliced
# (measured, 5 columns: 1 instance 1.3 us against 3.5 us, 10k 1.5 ms against 2.5 ms); beyond,
# :func:`~harness.normalize.table.dict_columns` reads every instance's values in one pass
# instead (100k: 37 ms against 41 ms, without the 100k tuples).
MAX_TUPLE_PASS = 50_000
