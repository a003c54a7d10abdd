"""A flat result kept as its raw columns, turned into canonical rows only where they are read.

A side that returns 100k ORM instances, tuples or dicts holding ``Decimal``, ``datetime``, ``UUID``
or JSON values would cost a Python call per value to make canonical. Most cases are equal, and
equality can be decided on the raw columns (:mod:`harness.compare.columns`), so the run keeps
such a result as a :class:`Table`: the value tuples as read, typed column by column with C-level
passes. The canonical rows are built only for what needs them: the rows left over after the
comparison, the 50 rows a report keeps, a normalize hook or a writing pair (:meth:`Table.rows`).

A Table is made only when every value in it can be made canonical without fail (scalars of the
types :mod:`harness.canonical` converts, and JSON-native containers), so building rows later
never raises: a result that might fail is normalized at once, as before, and fails there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain, compress, repeat
from operator import is_, itemgetter
from typing import Any

from harness import speedups
from harness.canonical import PASS_TYPES
from harness.normalize.rowdicts import AS_IS, CONVERT

# What json.loads gives: the types a container may hold at any depth to be canonical as it is.
JSON_TYPES: frozenset[type] = frozenset({str, int, float, bool, type(None), dict, list})
_CONTAINER_SET: frozenset[type] = frozenset({dict, list})
_DICTS_OR_NONE: frozenset[type] = frozenset({dict, type(None)})
_STR: frozenset[type] = frozenset({str})
# The most containers a JSON value may lie inside for a Table to keep it raw (deeper: the value
# is normalized at once, by the walk that names what it cannot read).
DEEPEST = 500


def nested_facts(
    values: Sequence[Any], found: set[type] | None = None
) -> tuple[frozenset[str], frozenset[type]] | None:
    """Walk the dicts and lists in ``values`` depth by depth with C-level passes.

    When every value held at any depth is JSON-native with ``str`` dict keys (then the containers
    are canonical as they are), returns every dict key seen below the top (for the tenant guard)
    and every type held below the top (for :mod:`harness.compare.columns`, which compares such
    values with ``==`` unless bools and numbers meet); None when a container holds anything else
    or a value lies inside more than :data:`DEEPEST` containers. ``found``: the types of
    ``values``, when known.
    """
    native = speedups.native
    if native is not None and values.__class__ is list:
        facts = native.json_facts(values, DEEPEST)
        return None if facts is None else (frozenset(facts[0]), frozenset(facts[1]))
    keys: set[str] = set()
    held_types: set[type] = set()
    level = values if values.__class__ is list else list(values)
    types: list[type] = []
    if found is None:
        types = list(map(type, level))
        found = set(types)
    depth = 0
    while found & _CONTAINER_SET:
        depth += 1
        if depth > DEEPEST:
            return None
        if found <= _DICTS_OR_NONE:
            dicts, lists = list(filter(None, level)), []  # an empty dict holds nothing to walk
        else:
            types = types or list(map(type, level))
            dicts = list(compress(level, map(is_, types, repeat(dict)))) if dict in found else []
            lists = list(compress(level, map(is_, types, repeat(list)))) if list in found else []
        if dicts:
            found_keys = set().union(*dicts)
            if not set(map(type, found_keys)) <= _STR:
                return None
            keys |= found_keys
        level = list(
            chain(chain.from_iterable(map(dict.values, dicts)), chain.from_iterable(lists))
        )
        types = list(map(type, level))
        found = set(types)
        if not found <= JSON_TYPES:
            return None
        held_types |= found
    return frozenset(keys), frozenset(held_types)


# Columns of values, and the set of types each one holds.
Typed = tuple[list[Sequence[Any]], list[set[type]]]


def dict_columns(dicts: list[dict[Any, Any]], names: Sequence[Any]) -> Typed | None:
    """The values of ``names`` in each of ``dicts``, one list per name, with their types; None
    unless every dict holds as many keys as the first and all of ``names``.

    When the dicts hold their keys in the same order (rows from one query do), the values are
    read in one C-level pass over all of them and each column is a slice of that (ten columns:
    a third of the time of an ``itemgetter`` pass per column).
    """
    first = tuple(dicts[0])
    width = len(first)
    where = {key: p for p, key in enumerate(first)}
    if not width or not all(name in where for name in names):
        return None
    native = speedups.native
    if native is not None:
        typed = native.dict_columns(dicts, first, tuple(where[name] for name in names))
        if typed is not None:
            return typed
    count = len(dicts)
    keys = list(chain.from_iterable(dicts))
    # All keys read in one pass are the first dict's, repeated: every dict holds them in that
    # order (a dict of more or fewer keys would put a key twice in one dict).
    if len(keys) != count * width or any(
        keys[p::width].count(key) != count for p, key in enumerate(first)
    ):
        if set(map(len, dicts)) != {width}:
            return None
        try:  # the same keys in another order, or other keys (KeyError)
            columns: list[Sequence[Any]] = [list(map(itemgetter(name), dicts)) for name in names]
        except KeyError:
            return None
        return columns, [set(map(type, column)) for column in columns]
    flat = list(chain.from_iterable(map(dict.values, dicts)))
    return sliced_columns(flat, width, [where[name] for name in names])


def tuple_columns(rows: list[tuple[Any, ...]], width: int) -> Typed:
    """The columns of tuples of ``width`` values each, as slices of one flat pass, with their
    types."""
    native = speedups.native
    if native is not None:
        typed = native.tuple_columns(rows, width)
        if typed is not None:
            return typed
    return sliced_columns(list(chain.from_iterable(rows)), width)


def sliced_columns(flat: list[Any], width: int, positions: Sequence[int] | None = None) -> Typed:
    """The columns of values laid out row after row, ``width`` to a row (``positions``: those
    columns, in that order; all by default), with each column's types.

    The values are typed in one pass in the order they were read, and the types sliced as the
    values are: a fifth faster than typing each column apart, whose values lie further apart.
    """
    chosen = range(width) if positions is None else positions
    types = list(map(type, flat))
    return [flat[p::width] for p in chosen], [set(types[p::width]) for p in chosen]


class Table:
    """A list of rows (dicts by ``names``, or lists when ``names`` is None) kept as raw values.

    ``columns``: each column's raw values (``rows``, when given: the same, one tuple per row);
    ``founds``: each column's set of types; ``converters``: per column None (canonical as it is)
    or the function making a value canonical; ``build``: the row builder of
    :mod:`harness.normalize.rowdicts` for dict rows.
    """

    __slots__ = (
        "_rows",
        "_values",
        "build",
        "columns",
        "converters",
        "founds",
        "modes",
        "names",
        "nested_keys",
        "nested_types",
        "records",
    )

    def __init__(
        self,
        *,
        names: tuple[str, ...] | None,
        rows: list[tuple[Any, ...]] | None,
        columns: list[Sequence[Any]],
        founds: list[set[type]],
        converters: list[Callable[[Any], Any] | None],
        modes: tuple[int, ...],
        build: Callable[..., list[Any]] | None,
        nested_keys: frozenset[str] = frozenset(),
        nested_types: frozenset[type] = frozenset(),
        records: list[Any] | None = None,
    ) -> None:
        self.names = names
        self._values = rows
        self.columns = columns
        self.founds = founds
        self.converters = converters
        self.modes = modes
        self.build = build
        self.nested_keys = nested_keys  # dict keys inside container values, at any depth
        self.nested_types = nested_types  # the types held inside container values
        self.records = records  # the rows as the side returned them, when dicts or tuples
        self._rows: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.columns[0])

    @property
    def values(self) -> list[tuple[Any, ...]]:
        """One tuple of raw values per row (made from the columns when first asked for)."""
        if self._values is None:
            self._values = list(zip(*self.columns, strict=True))
        return self._values

    def __repr__(self) -> str:
        return f"<Table {len(self)} rows x {self.names or len(self.columns)}>"

    def rows(self) -> list[Any]:
        """Every row, canonical (built once)."""
        if self._rows is None:
            self._rows = self._make(self.values)
        return self._rows

    def row(self, index: int) -> Any:
        """One canonical row."""
        if self._rows is not None:
            return self._rows[index]
        return self._make([tuple(column[index] for column in self.columns)])[0]

    def head(self, count: int) -> list[Any]:
        """The first ``count`` canonical rows."""
        if self._rows is not None:
            return self._rows[:count]
        return self._make(list(zip(*(column[:count] for column in self.columns), strict=True)))

    def column(self, index: int) -> list[Any]:
        """One column's canonical values."""
        return _converted(self.columns[index], self.modes[index], self.converters[index])

    def _make(self, values: list[tuple[Any, ...]]) -> list[Any]:
        if self.build is not None:
            return self.build(values, *self.converters)
        if not values:
            return []
        columns = [
            _converted(column, mode, convert)
            for column, mode, convert in zip(
                zip(*values, strict=True), self.modes, self.converters, strict=True
            )
        ]
        return list(map(list, zip(*columns, strict=True)))


def _converted(values: Sequence[Any], mode: int, convert: Callable[[Any], Any] | None) -> list[Any]:
    if convert is None or mode == AS_IS:
        return list(values)
    if mode == CONVERT:
        return list(map(convert, values))
    return [v if v.__class__ in PASS_TYPES else convert(v) for v in values]


def materialize(value: Any) -> Any:
    """``value`` with a :class:`Table` turned into its canonical rows (anything else as it is)."""
    return value.rows() if value.__class__ is Table else value


class TableRows(Sequence[Any]):
    """A Table's canonical rows read one at a time (for explaining a few leftover rows)."""

    __slots__ = ("_cache", "_table")

    def __init__(self, table: Table) -> None:
        self._table = table
        self._cache: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, index: Any) -> Any:
        if index.__class__ is slice:
            return [self[i] for i in range(*index.indices(len(self)))]
        row = self._cache.get(index)
        if row is None:
            row = self._cache[index] = self._table.row(index)
        return row
