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
from itertools import chain
from typing import Any

from harness.canonical import PASS_TYPES
from harness.normalize.rowdicts import AS_IS, CONVERT

# What json.loads gives: the types a container may hold at any depth to be canonical as it is.
JSON_TYPES: frozenset[type] = frozenset({str, int, float, bool, type(None), dict, list})
_CONTAINERS = (dict, list)


def nested_facts(values: Sequence[Any]) -> tuple[bool, frozenset[str]] | None:
    """Walk the dicts and lists in ``values`` depth by depth with C-level passes.

    Returns whether every value held at any depth is JSON-native with ``str`` dict keys (then the
    containers are canonical as they are), and every dict key seen below the top (for the tenant
    guard); None when a container holds anything else.
    """
    keys: set[str] = set()
    containers = _containers(values)
    while containers:
        dicts, lists = containers
        if dicts:
            found_keys = set(chain.from_iterable(dicts))
            if any(k.__class__ is not str for k in found_keys):
                return None
            keys |= found_keys
        held = list(chain(chain.from_iterable(map(dict.values, dicts)), *lists))
        if not set(map(type, held)) <= JSON_TYPES:
            return None
        containers = _containers(held)
    return True, frozenset(keys)


def _containers(values: Sequence[Any]) -> tuple[list[Any], list[Any]] | None:
    """The dicts and the lists among ``values`` (None when there are none)."""
    found = set(map(type, values))
    if dict not in found and list not in found:
        return None
    if found <= {dict, type(None)}:
        return list(filter(None, values)), []  # an empty dict holds nothing to walk
    dicts = [v for v in values if v.__class__ is dict]
    lists = [v for v in values if v.__class__ is list]
    return dicts, lists


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
    ) -> None:
        self.names = names
        self._values = rows
        self.columns = columns
        self.founds = founds
        self.converters = converters
        self.modes = modes
        self.build = build
        self.nested_keys = nested_keys  # dict keys inside container values, at any depth
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
