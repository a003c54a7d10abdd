"""``normalize()``: whatever a side returned, as canonical plain data that can be compared.

The canonical scalar forms are listed in :mod:`harness.canonical`; ORM instances are read as
described in :mod:`harness.normalize.instances`. Containers:

* ``dict`` and any ``Mapping`` (``RowMapping`` too) -> ``dict`` with ``str`` keys; a key that is
  not a ``str`` becomes its canonical value as JSON text (``1`` -> ``"1"``, ``None`` -> ``"null"``);
* SQLAlchemy ``Row`` and namedtuples (peewee ``.namedtuples()``) -> ``dict`` by field name, so that
  ``session.execute(select(...)).all()`` meets peewee's ``.dicts()`` and ``.namedtuples()``;
  with repeated field names, a list. Such rows are keyed by the query's labels (peewee: the
  field name or ``.alias()``; SQLAlchemy: the attribute key or ``.label()``), not by physical
  column, so label them alike or rename with ``keys=``;
* ``tuple`` and ``list`` -> ``list``; ``set`` and ``frozenset`` -> sorted ``list``.

Raw rows carry no column types, so a boolean column read raw from MariaDB or SQLite stays
``0``/``1`` and a JSON column read raw stays text; a pair that compares such rows with ORM
results fixes them in its ``normalize`` hook with :func:`coerce`.

A query object or a result cursor (peewee ``ModelSelect``, SQLAlchemy ``Result``) is refused
with :class:`~harness.errors.NormalizationError` rather than iterated: iterating it would run SQL
outside the side's measured, recorded run. So is any type not listed.

Already canonical containers are returned as they are, not copied: a list of flat rows of
``str``/``int``/``float``/``bool``/``None`` costs a few C-level passes, not a loop per value.
"""

from __future__ import annotations

import json as jsonlib
import sys
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from enum import Enum
from itertools import chain
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from harness.canonical import PASS_TYPES, SCALAR_CONVERTERS, TAGS, gc_paused
from harness.errors import NormalizationError
from harness.normalize.instances import (
    BOOLEAN,
    JSON,
    PLAIN,
    SKIP,
    Plan,
    instance_rows,
    normalize_peewee,
    normalize_sqlalchemy,
)
from harness.normalize.rowdicts import AS_IS, CONVERT, CONVERT_ODD, row_builder
from harness.normalize.table import Table, dict_columns, nested_facts, tuple_columns
from harness.paths import join, sort_token

__all__ = ["KeyCollisionError", "coerce", "normalize", "normalize_rows"]

_NO_KEYS: Mapping[str, str] = MappingProxyType({})

# Below this many rows a result is made canonical at once. A Table pays for itself from the
# first row, now that a report's rows are made when it is written (measured within whole cases,
# 5 columns with a Decimal and a datetime: 1 row 12 us less as a Table, 3 rows 28 us, 10 rows 10 us).
MIN_LAZY_ROWS = 1

# Below this many ORM instances, reading them one by one is faster than setting up the
# column-wise pass (measured, 4 columns: 2 instances 2.1 us vs 4.8 us; 10: 9.7 us vs 8.7 us).
MIN_INSTANCE_TABLE = 8


class KeyCollisionError(NormalizationError):
    """Two keys of one dict became the same key (through ``keys`` or as text)."""

    def __init__(self, path: str, key: str) -> None:
        Exception.__init__(
            self,
            f"two keys of the dict at {path or '<root>'} both become {key!r}; "
            "check the pair's keys= rename map, or return distinct keys",
        )
        self.path = path


class _Failure(Exception):
    """Raised deep inside; each container on the way up adds its step to the path."""

    def __init__(self, value: object, *, collision: bool = False) -> None:
        self.value = value
        self.collision = collision
        self.steps: list[str | int] = []


Handler = Callable[["_Normalizer", Any], Any]


def normalize(value: Any, *, keys: Mapping[str, str] = _NO_KEYS) -> Any:
    """Return ``value`` as canonical plain data; ``keys`` renames dict keys at every level.

    >>> normalize({"n": Decimal("1.50"), "at": datetime(2024, 5, 1, 12)}, keys={"n": "amount"})
    {'amount': 1.5, 'at': {'$datetime': '2024-05-01T12:00:00Z'}}

    Raises :class:`~harness.errors.NormalizationError` naming the path of a value it cannot
    turn into plain data. Never runs a query.
    """
    return normalize_rows(value, keys=keys)[0]


def normalize_rows(
    value: Any, *, keys: Mapping[str, str] = _NO_KEYS, lazy: bool = False
) -> tuple[Any, bool | None]:
    """:func:`normalize`, and what it learned on the way about a result that is a flat table.

    The second item is None, unless ``value`` became a list of dict rows whose values are all
    scalars or tagged scalars (``{"$datetime": ...}``): then it tells whether any of them is a
    bool. The per-case checks use it instead of walking the rows again
    (:meth:`harness.compare.depths.Depths.of`).

    ``lazy``: a list of rows that would need values converted (``Decimal``, ``datetime``, ...)
    comes back as a :class:`~harness.normalize.table.Table` of its raw columns instead, which
    :func:`harness.compare.verdict.compare` compares without building the canonical rows.
    """
    walker = _Normalizer(keys)
    try:
        with gc_paused():
            if lazy and value.__class__ is list and len(value) >= MIN_LAZY_ROWS:
                table = lazy_table(walker, value)
                if table is not None:
                    return table, None
            result = walker.value(value)
    except _Failure as exc:
        path = ""
        for step in reversed(exc.steps):
            path = join(path, step)
        if exc.collision:
            raise KeyCollisionError(path, str(exc.value)) from None
        raise NormalizationError(path, exc.value) from None
    flat = walker.flat_table
    if flat is not None and flat[0] is result:
        return result, flat[1]
    if result.__class__ is list and 0 < len(result) < MIN_INSTANCE_TABLE:
        return result, _short_flat_bools(result)
    return result, None


def _short_flat_bools(rows: list[Any]) -> bool | None:
    """What :func:`normalize_rows` tells of a short list that was normalized item by item (a few
    ORM instances, too few for the column-wise pass): when its items are dict rows holding only
    scalars and tagged scalars (``{"$datetime": "..."}``), whether any of them is a bool; else None.

    Tagged scalars are told by their form: one key out of :data:`~harness.canonical.TAGS`
    holding a ``str`` or a ``float``, which Python's ``==`` never confuses with another type.
    """
    try:
        values = list(chain.from_iterable(map(dict.values, rows)))
    except TypeError:  # an item that is no dict
        return None
    found = set(map(type, values))
    if dict in found:
        if not found - _DICT_SET <= PASS_TYPES:
            return None
        tags = [value for value in values if value.__class__ is dict]
        if (
            set(map(len, tags)) != _ONE
            or not TAGS.issuperset(chain.from_iterable(tags))
            or not set(map(type, chain.from_iterable(map(dict.values, tags)))) <= _TAG_VALUES
        ):
            return None
    elif not found <= PASS_TYPES:
        return None
    return bool in found


_DICT_SET: frozenset[type] = frozenset({dict})
_TAG_VALUES: frozenset[type] = frozenset({str, float})
_ONE = {1}


class _Normalizer:
    """One normalize() call: the rename map, the ORM objects on the current path, the plans."""

    __slots__ = ("_plans", "ancestors", "flat_table", "keys")

    def __init__(self, keys: Mapping[str, str]) -> None:
        self.keys = keys
        self.ancestors: set[int] = set()
        self._plans: dict[type, Plan] = {}
        # The last list of flat dict rows made, and whether it holds a bool. The top-level
        # list is made last, so this is about the result when it is that list.
        self.flat_table: tuple[list[Any], bool] | None = None

    def value(self, value: Any) -> Any:
        cls = value.__class__
        if cls in PASS_TYPES:
            return value
        handler = _HANDLERS.get(cls) or _resolve(cls)
        return handler(self, value)

    def plan(self, cls: type, build: Callable[[type], Plan]) -> Plan:
        plan = self._plans.get(cls)
        if plan is None:
            base = _PLANS.get(cls)
            if base is None:
                base = _PLANS[cls] = build(cls)
            plan = self._plans[cls] = base.renamed(self.keys)
        return plan

    def field(self, value: Any, kind: int, step: str) -> Any:
        try:
            if kind == BOOLEAN and value.__class__ is int and value in (0, 1):
                return value == 1
            if kind == JSON and value.__class__ is str:
                value = _parse_json(value)
            return value if value.__class__ in PASS_TYPES else self.value(value)
        except _Failure as exc:
            exc.steps.append(step)
            raise

    def child(self, value: Any, step: str) -> Any:
        try:
            if id(value) in self.ancestors:
                return SKIP
            # A collection of related objects (not a Row or a namedtuple, which are tuples too).
            if isinstance(value, (list, set, frozenset)) or value.__class__ is tuple:
                kept = [item for item in value if id(item) not in self.ancestors]
                return (
                    _set(self, kept) if isinstance(value, (set, frozenset)) else _list(self, kept)
                )
            return self.value(value)
        except _Failure as exc:
            exc.steps.append(step)
            raise


def _parse_json(text: str) -> Any:
    if text.lstrip()[:1] in ("{", "["):
        try:
            return jsonlib.loads(text)
        except ValueError:
            pass
    return text


def _table(walker: _Normalizer, items: list[Any]) -> list[Any] | None:
    """A list of scalars, of dict rows that all have the same keys, or of ORM instances of one
    class that hold only columns, done column by column.

    Rows are typed with a few C-level passes (``set(map(...))``); when every value already is
    canonical the rows are kept as they are, else only the columns that need it are converted.
    None when the list is not such a table.
    """
    kinds = set(map(type, items))
    if kinds <= PASS_TYPES:
        return items
    if kinds == {tuple} or kinds == {list}:  # rows from .tuples() or fetchall()
        if set(map(type, chain.from_iterable(items))) <= PASS_TYPES:
            return list(map(list, items))
        return None
    if len(kinds) != 1:
        return None
    (cls,) = kinds
    if cls is not dict:
        if len(items) < MIN_INSTANCE_TABLE:
            return None
        handler = _HANDLERS.get(cls) or _resolve(cls)
        if handler is normalize_peewee or handler is normalize_sqlalchemy:
            read = instance_rows(walker, items, handler)
            return None if read is None else _rows(walker, *read)
        return None
    every_name = set(chain.from_iterable(items))
    if any(name.__class__ is not str for name in every_name):
        return None
    if walker.keys and not walker.keys.keys().isdisjoint(every_name):
        return None
    found = set(map(type, chain.from_iterable(map(dict.values, items))))
    if found <= PASS_TYPES:
        walker.flat_table = (items, bool in found)
        return items
    shapes = set(map(tuple, items))
    if len(shapes) != 1:
        return None
    (names,) = shapes
    if len(names) == 1:  # itemgetter of one name gives the value, not a tuple
        return _rows(walker, list(zip(map(itemgetter(*names), items))), names, None)
    return _rows(walker, list(map(itemgetter(*names), items)), names, None)


def _rows(
    walker: _Normalizer,
    values: list[tuple[Any, ...]],
    names: tuple[str, ...],
    kinds: tuple[int, ...] | None,
) -> list[dict[str, Any]]:
    """Dict rows from value tuples, each column typed in one C-level pass and converted as one."""
    founds = [set(map(type, column)) for column in zip(*values, strict=True)]
    layout = (names, kinds)
    known = _LAYOUTS.get(layout)
    if known is not None and known[0] == founds:  # typed as the last table of this layout
        build, converters, flat_bools = known[1:]
    else:
        build, converters, flat_bools, reusable = _layout(walker, names, kinds, founds)
        if reusable:
            _remember(_LAYOUTS, layout, (founds, build, converters, flat_bools))
    rows = build(values, *converters)
    if flat_bools is not None:
        walker.flat_table = (rows, flat_bools)
    return rows


def _layout(
    walker: _Normalizer, names: tuple[str, ...], kinds: tuple[int, ...] | None, founds: list[Any]
) -> tuple[Any, list[Any], bool | None, bool]:
    """The row builder and converters for columns of these types; whether the rows are flat
    (and then whether they hold a bool); whether this can be reused by a later normalize() call
    (not when a converter calls back into this one's walker)."""
    modes: list[int] = []
    converters: list[Callable[[Any], Any] | None] = []
    flat, bools = True, False
    for index, found in enumerate(founds):
        mode, convert = _converter(walker, names[index], kinds[index] if kinds else PLAIN, found)
        modes.append(mode)
        converters.append(convert)
        bools = bools or bool in found  # passed through as they are, converted or not
        if mode != AS_IS and convert not in _SCALAR_FORMS:  # anything may come out of it
            flat = False
    return row_builder(names, tuple(modes)), converters, (bools if flat else None), flat


def _converter(
    walker: _Normalizer, name: str, kind: int, found: set[type]
) -> tuple[int, Callable[[Any], Any] | None]:
    """How the values of a column holding the types ``found`` become canonical."""
    if _retyped(kind, found):
        return CONVERT, lambda item: walker.field(item, kind, name)
    odd = found - PASS_TYPES
    if not odd:
        return AS_IS, None
    (only,) = odd if len(odd) == 1 else (None,)
    convert: Callable[[Any], Any] = SCALAR_CONVERTERS.get(only) or walker.value  # type: ignore[arg-type]
    # A column of Decimals alone, or of Decimals and NULLs.
    return (CONVERT if found.isdisjoint(PASS_TYPES) else CONVERT_ODD), convert


def _retyped(kind: int, found: set[type]) -> bool:
    """Whether the column's type changes some of its values: ``0``/``1`` in a boolean column,
    text in a JSON column (:meth:`_Normalizer.field`)."""
    return (kind == BOOLEAN and int in found) or (kind == JSON and str in found)


def lazy_table(walker: _Normalizer, items: list[Any]) -> Table | None:
    """``items`` as a :class:`Table` when they are rows of one layout (tuples of one length, dicts
    with the same keys, or ORM instances holding only columns) whose every value can be made
    canonical later without fail; None otherwise (normalize them now)."""
    kinds = set(map(type, items))
    if len(kinds) != 1:
        return None
    (cls,) = kinds
    names: tuple[str, ...] | None
    column_kinds: tuple[int, ...] | None = None
    rows: list[tuple[Any, ...]] | None = None
    records: list[Any] | None = items
    if cls is tuple:
        if len(set(map(len, items))) != 1:
            return None
        rows, names = items, None
        columns, founds = tuple_columns(items, len(items[0]))
    elif cls is dict:
        # Rows of one length that all hold every name of the first have the same keys.
        names = tuple(items[0])
        if any(name.__class__ is not str for name in names):
            return None
        if walker.keys and not walker.keys.keys().isdisjoint(names):
            return None
        found_columns = dict_columns(items, names)
        if found_columns is None:
            return None
        columns, founds = found_columns
    else:
        handler = _HANDLERS.get(cls) or _resolve(cls)
        if handler is not normalize_peewee and handler is not normalize_sqlalchemy:
            return None
        records = None
        read = instance_rows(walker, items, handler, by_column=True)
        if read is None:
            return None
        (columns, founds), names, column_kinds = read
    if not columns:
        return None
    layout = (names, column_kinds)
    known = _TABLE_LAYOUTS.get(layout)
    if known is not None and known[0] == founds:  # typed as the last Table of this layout
        modes, converters, build = known[1:]
        nested: frozenset[str] = frozenset()
        nested_types: frozenset[type] = frozenset()
    else:
        typed = _table_columns(walker, names, column_kinds, columns, founds)
        if typed is None:
            return None
        modes, converters, nested, nested_types = typed
        build = row_builder(names, modes) if names is not None else None
        if not any(found & _CONTAINER_SET for found in founds) and all(
            convert is None or convert in _SCALAR_FORMS for convert in converters
        ):  # nothing here depends on the values or on this walker: the next Table reuses it
            _remember(_TABLE_LAYOUTS, layout, (founds, modes, converters, build))
    return Table(
        names=names,
        rows=rows,
        columns=columns,
        founds=founds,
        converters=converters,
        modes=modes,
        build=build,
        nested_keys=nested,
        nested_types=nested_types,
        records=records,
    )


def _table_columns(
    walker: _Normalizer,
    names: tuple[str, ...] | None,
    column_kinds: tuple[int, ...] | None,
    columns: list[Any],
    founds: list[set[type]],
) -> tuple[tuple[int, ...], list[Any], frozenset[str], frozenset[type]] | None:
    """How each column of a :class:`Table` becomes canonical (its mode and converter), and the
    keys and types nested in its containers; None when a column cannot wait (normalize now)."""
    modes: list[int] = []
    converters: list[Callable[[Any], Any] | None] = []
    nested: set[str] = set()
    nested_types: set[type] = set()
    for index, found in enumerate(founds):
        kind = column_kinds[index] if column_kinds else PLAIN
        odd = found - PASS_TYPES
        if odd & _CONTAINER_SET:
            if walker.keys or _retyped(kind, found) or odd - _CONTAINER_SET:
                return None  # renamed inside, or mixed with values to convert: normalize now
            facts = nested_facts(columns[index], found)
            if facts is None:
                return None
            nested |= facts[0]
            nested_types |= facts[1]
            mode, convert = AS_IS, None
        elif not odd <= _LAZY_SCALARS or (kind == JSON and str in found):
            return None
        else:
            step = names[index] if names is not None else str(index)
            mode, convert = _converter(walker, step, kind, found)
        modes.append(mode)
        converters.append(convert)
    return tuple(modes), converters, frozenset(nested), frozenset(nested_types)


def _remember(layouts: dict[tuple[Any, ...], tuple[Any, ...]], key: Any, known: Any) -> None:
    """Keep what was worked out for a layout, within :data:`MAX_LAYOUTS`."""
    if len(layouts) >= MAX_LAYOUTS:
        layouts.clear()
    layouts[key] = known


_CONTAINER_SET: frozenset[type] = frozenset({dict, list})
_LAZY_SCALARS: frozenset[type] = frozenset(SCALAR_CONVERTERS)


def _list(walker: _Normalizer, source: Any) -> list[Any]:
    items = source if source.__class__ is list else list(source)
    try:
        table = _table(walker, items)
        if table is items:  # the rows are shared; the list is a new one
            if items is not source:
                return items
            copy = items[:]
            flat = walker.flat_table
            if flat is not None and flat[0] is items:
                walker.flat_table = (copy, flat[1])
            return copy
        if table is not None:
            return table
        value = walker.value
        return [item if item.__class__ in PASS_TYPES else value(item) for item in items]
    except _Failure:
        # Found the hard way on purpose: an index per element would slow down every list.
        for index, item in enumerate(items):
            try:
                walker.value(item)
            except _Failure as again:
                again.steps.append(index)
                raise again from None
        raise


def _dict(walker: _Normalizer, mapping: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = walker.keys
    value = walker.value
    for key, item in mapping.items():
        if key.__class__ is not str:
            key = _key_text(walker, key)
        if keys:
            key = keys.get(key, key)
        if item.__class__ not in PASS_TYPES:
            try:
                item = value(item)
            except _Failure as exc:
                exc.steps.append(key)
                raise
        out[key] = item
    if len(out) != len(mapping):
        seen: set[str] = set()
        for key in mapping:
            name = key if key.__class__ is str else _key_text(walker, key)
            name = keys.get(name, name) if keys else name
            if name in seen:
                raise _Failure(name, collision=True)
            seen.add(name)
    return out


def _key_text(walker: _Normalizer, key: Any) -> str:
    canonical = walker.value(key)
    if canonical.__class__ is str:
        return str(canonical)
    return jsonlib.dumps(canonical, sort_keys=True, ensure_ascii=False)


def _mapping(walker: _Normalizer, mapping: Mapping[Any, Any]) -> dict[str, Any]:
    return _dict(walker, dict(mapping.items()))


def _named(walker: _Normalizer, row: Any) -> Any:
    fields = tuple(row._fields)
    if len(set(fields)) != len(fields):  # a dict would silently drop a column
        return _list(walker, list(row))
    return _dict(walker, dict(zip(fields, row, strict=True)))


def _set(walker: _Normalizer, items: Iterable[Any]) -> list[Any]:
    values = _list(walker, list(items))
    try:
        return sorted(values)
    except TypeError:  # mixed or unorderable types: any fixed order will do
        return sorted(values, key=sort_token)


def _enum(walker: _Normalizer, member: Enum) -> Any:
    return walker.value(member.value)


def _scalar(convert: Callable[[Any], Any]) -> Handler:
    return lambda walker, value: convert(value)


def _unsupported(walker: _Normalizer, value: Any) -> Any:
    raise _Failure(value)


# Converters whose output is a scalar or a tagged scalar, never a bool or a container of rows.
_SCALAR_FORMS = frozenset(SCALAR_CONVERTERS.values())

# By (column names, kinds): the column types last seen and what was worked out from them. A
# pair's result has the same layout every case, so this is looked up rather than worked out.
_LAYOUTS: dict[tuple[Any, ...], tuple[Any, ...]] = {}
MAX_LAYOUTS = 1024
# The same for the Tables of :func:`lazy_table`: by (column names, kinds), the column types last
# seen and each column's mode, converter and the row builder.
_TABLE_LAYOUTS: dict[tuple[Any, ...], tuple[Any, ...]] = {}

_HANDLERS: dict[type, Handler] = {
    dict: _dict,
    list: _list,
    tuple: _list,
    set: _set,
    frozenset: _set,
    **{cls: _scalar(convert) for cls, convert in SCALAR_CONVERTERS.items()},
}
_PLANS: dict[type, Plan] = {}


def _resolve(cls: type) -> Handler:
    """Find (once per type) the handler of a type that is not in the table: subclasses, ORMs."""
    handler = _HANDLERS[cls] = _lookup(cls)
    return handler


def _lookup(cls: type) -> Handler:
    if issubclass(cls, Enum):  # before int and str: IntEnum and StrEnum are enums first
        return _enum
    for plain in (int, float, str):
        if issubclass(cls, plain):  # numpy.float64, str subclasses: the plain value
            return _scalar(plain)
    for base, convert in SCALAR_CONVERTERS.items():  # datetime is tried before date
        if issubclass(cls, base):
            return _scalar(convert)
    if issubclass(cls, Mapping):
        return _mapping
    if issubclass(cls, tuple):
        return _named if hasattr(cls, "_fields") else _list
    if issubclass(cls, list):
        return _list
    if issubclass(cls, (set, frozenset)):
        return _set
    # An instance of an ORM's class exists only once that ORM is imported; never import it here.
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.engine import Row

        if issubclass(cls, Row):
            return _named
    if "peewee" in sys.modules:
        import peewee

        if issubclass(cls, peewee.Model):
            return normalize_peewee
    if "sqlalchemy.orm" in sys.modules:
        from sqlalchemy import inspect
        from sqlalchemy.orm import Mapper

        if isinstance(inspect(cls, raiseerr=False), Mapper):
            return normalize_sqlalchemy
    return _unsupported


def coerce(value: Any, *, booleans: Iterable[str] = (), json: Iterable[str] = ()) -> Any:
    """Fix raw-row values a normalize hook knows the type of, under the given keys at any depth.

    ``booleans``: keys whose ``0``/``1`` become ``False``/``True``; ``json``: keys whose text holds
    JSON to parse. For raw queries, which carry no column types::

        pair("notification.unread", normalize=lambda v: coerce(v, booleans=["read"]))
    """
    bool_keys = frozenset(booleans)
    json_keys = frozenset(json)

    def fix(item: Any) -> Any:
        if item.__class__ is list:
            return [fix(x) for x in item]
        if item.__class__ is not dict:
            return item
        out = {}
        for key, inner in item.items():
            if key in bool_keys and inner.__class__ is int and inner in (0, 1):
                inner = inner == 1
            elif key in json_keys and inner.__class__ is str:
                # Not JSON after all: keep the text, and the diff will show it.
                with suppress(ValueError):
                    inner = normalize(jsonlib.loads(inner))
            else:
                inner = fix(inner)
            out[key] = inner
        return out

    return fix(value)
