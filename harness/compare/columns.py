"""Comparing two :class:`~harness.normalize.table.Table` results on their raw columns.

Each column is compared through a *view* of its raw values: the values themselves, or fixed up
where Python's ``==`` on them is not the canonical equality. Views are *sound*: equal views are
equal in canonical form. Unordered results are lined up by a column that is unique on both sides
(an id, as a rule): one dict per side, then each column of one side reordered and compared with
the other's in one C-level pass. Rows without such a column get a key (a tuple of hashable
views) and the sides are compared as multisets of keys. Either way equal results are decided
without one canonical row built; where views differ, only the rows left over are made canonical
and judged as :mod:`harness.compare.verdict` judges any rows.

Per column, over the types both sides hold there:

==========================  ====================================================================
raw type                    view
==========================  ====================================================================
str, int, float, None       the value (``1 == 1.0`` is canonical too)
bool                        the value, unless the column also holds numbers: then canonical
``Decimal``                 the value (``==`` compares numbers exactly); as a hashed key,
                            ``float(value)`` while every Decimal of the column is finite and
                            below 2**53 (the float is then exactly the canonical number), else
                            the canonical number
``datetime``                the value when all of the column's are naive, or all carry a fixed
                            offset (``datetime.timezone``) and, at more than one offset, are
                            instants UTC can write; else the canonical UTC text
``date``, ``bytes``         the value
``UUID``                    ``.int`` (its text when the column also holds text; the value when it
                            also holds numbers or bools: ``UUID(int=1).int == True``)
dict, list (JSON)           the value, unless bools and numbers both occur in the column's
                            values at any depth (``{"a": True} == {"a": 1}``); then, and as a
                            hashed key, ``repr()``: equal reprs are equal JSON values, and the
                            rare equal values with unequal reprs (keys in another order, ``1``
                            vs ``1.0``) are left over and judged canonically (row keys that
                            differ are made again with canonical keys for such a column)
other scalars               ``canonical_key`` of the canonical value
==========================  ====================================================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Iterable, Sequence
from datetime import UTC, date, datetime, timezone
from decimal import Decimal, InvalidOperation
from itertools import compress, repeat
from operator import attrgetter, is_not, itemgetter, ne, not_
from typing import Any
from uuid import UUID

from harness import speedups
from harness.canonical import (
    SCALAR_CONVERTERS,
    canonical_key,
    close,
    datetime_value,
    decimal_value,
)
from harness.compare.explain import SideRows, explain_unordered
from harness.normalize.table import Table, TableRows, nested_facts
from harness.records import Comparison

EQUAL = Comparison(equal=True)
_NUMBERS: frozenset[type] = frozenset({int, float, Decimal})
_EQUAL_TO_INTS: frozenset[type] = _NUMBERS | {bool}
_CONTAINERS: frozenset[type] = frozenset({dict, list})
# Raw types whose own == and hash are the canonical equality (given the rules above).
_AS_THEY_ARE: frozenset[type] = frozenset({str, int, float, bool, type(None), date, bytes})
# Those, and the raw types whose views column_views works out itself.
_VIEWED: frozenset[type] = _AS_THEY_ARE | {Decimal, datetime, UUID}
_FLOAT_EXACT = Decimal(2**53)
# Columns whose values (or views) can line up the rows of two sides: hashed fast, never equal
# across types in a way canonical forms are not.
_LINE_UP_TYPES: frozenset[type] = frozenset({str, int, UUID})
_TZINFO = attrgetter("tzinfo")
_DATETIMES_OR_NONE: frozenset[type] = frozenset({datetime, type(None)})
_UUID_INT = attrgetter("int")
# Converters of scalars the Table keeps raw; anything else a column holds was made canonical.
_SCALAR_FORMS = frozenset(SCALAR_CONVERTERS.values())

Fix = Callable[[Any], Any]


def compare_tables(
    left: Table, right: Table, *, ordered: bool, tolerance: float
) -> Comparison | None:
    """The verdict on two Tables, or None when it needs every canonical row (the caller builds
    them): columns that do not line up, or an ordered result whose rows differ.

    The columns are compared with ``==`` on views of the raw values where that is the canonical
    equality (see :func:`column_views`). An unordered result is lined up by a column whose
    values are unique on both sides (its id, as a rule); without one, each row gets a hashable
    key and the sides are compared as multisets of keys.
    """
    pairs = _column_pairs(left, right)
    if pairs is None:
        return None
    columns = _Columns(left, right, pairs)
    if ordered:
        if len(left) != len(right):
            return None
        differing = _differing_rows(left, right, columns, None, None, len(left))
        rows_l, rows_r = TableRows(left), TableRows(right)
        for index in sorted(differing):
            if not close(rows_l[index], rows_r[index], tolerance):
                return None
        return EQUAL
    lined_up = _line_up(columns)
    if lined_up is None:
        return _by_row_keys(left, right, columns, tolerance)
    key, index_l, index_r, only_l, only_r = lined_up
    differing = _differing_rows(left, right, columns, index_l, index_r, len(index_l), skip=key)
    if not differing and not only_l and not only_r:
        return EQUAL
    leftover_l = [*only_l, *(index_l[p] for p in differing)]
    leftover_r = [*only_r, *((p if index_r is None else index_r[p]) for p in differing)]
    return _judge(left, leftover_l, right, leftover_r, tolerance)


def same_raw_values(left: Table, right: Table) -> bool:
    """Two Tables whose raw values are equal with ``==``, column by column, where that makes
    their canonical rows equal: the same column names, types and conversions on both sides,
    and every column one whose raw values ``==`` judges as the canonical forms would
    (:func:`column_views`' last item; not, for example, a bool next to a number, datetimes of a
    zone with daylight saving time, aware times or memoryviews).

    The common verdict, decided without a view of a column or a row key: each value is made
    canonical by the same function on both sides.
    """
    if left.names != right.names or left.modes != right.modes or left.founds != right.founds:
        return False
    nested = left.nested_types | right.nested_types
    for values_l, values_r, found in zip(left.columns, right.columns, left.founds, strict=True):
        # Values first: rows in another order differ at once, and need no look at their types.
        if values_l != values_r:
            return False
        if not _plain(found):
            view = column_views(
                (values_l, found, True), (values_r, found, True), nested, fixed=False
            )
            if not view[3]:
                return False
    return True


def _column_pairs(left: Table, right: Table) -> list[tuple[int, int]] | None:
    """The index of each column on both sides, in the left side's order; None when the sides'
    columns differ."""
    if (left.names is None) != (right.names is None):
        return None
    if left.names is not None and right.names is not None:
        if set(left.names) != set(right.names) or len(left.names) != len(right.names):
            return None
        where = {name: index for index, name in enumerate(right.names)}
        return [(index, where[name]) for index, name in enumerate(left.names)]
    if len(left.columns) != len(right.columns):
        return None
    return [(index, index) for index in range(len(left.columns))]


# Left values, right values, the types of both, whether == on the raw values is canonical too.
View = tuple[Any, Any, set[type], bool]
Source = tuple[Any, set[type], bool]  # a column's values, their types, whether they are raw


class _Columns:
    """The paired columns of two Tables; each column's views are made when first asked for,
    so that a path reading whole rows, or hashing row keys, makes no view it does not use."""

    __slots__ = ("_views", "nested", "sources")

    def __init__(self, left: Table, right: Table, pairs: list[tuple[int, int]]) -> None:
        self.sources = [(_source(left, i), _source(right, j)) for i, j in pairs]
        self.nested = left.nested_types | right.nested_types | _held_in_canonical(self.sources)
        self._views: dict[int, View] = {}

    def __len__(self) -> int:
        return len(self.sources)

    def types(self, column: int) -> set[type]:
        source_l, source_r = self.sources[column]
        return source_l[1] | source_r[1]

    def view(self, column: int) -> View:
        """The column's views for ``==`` (made once)."""
        view = self._views.get(column)
        if view is None:
            view = self._views[column] = column_views(*self.sources[column], self.nested)
        return view

    def raw_sound(self, column: int) -> bool:
        """Whether ``==`` on the column's raw values is the canonical equality."""
        view = self._views.get(column)
        if view is not None:
            return view[3]
        return column_views(*self.sources[column], self.nested, fixed=False)[3]

    def keys(self, column: int) -> View:
        """The column's views as parts of hashed row keys."""
        return column_views(*self.sources[column], self.nested, hashed=True)

    def exact_keys(self, column: int, reprs: tuple[list[str], list[str]]) -> tuple[Any, Any]:
        """The column's values on both sides as canonical keys, given their ``repr()`` keys:
        equal if and only if the canonical values are, where reprs may tell equal JSON values
        apart."""
        (values_l, _, _), (values_r, _, _) = self.sources[column]
        return _exact_keys(values_l, reprs[0]), _exact_keys(values_r, reprs[1])


def _line_up(
    columns: _Columns,
) -> tuple[int, list[int], list[int] | None, list[int], list[int]] | None:
    """Pair the rows by the first column (of at most two tried) whose values are text,
    integers or UUIDs, unique on each side.

    Returns that column's index, the paired rows' indices on the left, the same on the right
    (None: every right row, in order), and the rows of each side whose value the other side
    lacks; None when no column pairs them.
    """
    tried = 0
    for column in range(len(columns)):
        if not columns.types(column) <= _LINE_UP_TYPES:
            continue
        if tried == 2:
            break
        tried += 1
        values_l, values_r, _, _ = columns.view(column)
        where_l = dict(zip(values_l, range(len(values_l)), strict=True))
        if len(where_l) != len(values_l):
            continue
        # The left row of each right row's value; two right rows with one value would meet
        # at one left row (a value the left side lacks leaves both over, to be judged).
        found_l: list[Any] = list(map(where_l.get, values_r))
        if len(values_l) == len(values_r) and None not in found_l:
            if len(set(found_l)) != len(found_l):
                continue
            return column, found_l, None, [], []  # as many, all distinct: a bijection
        on_left = list(map(is_not, found_l, repeat(None)))
        index_l = list(compress(found_l, on_left))
        if len(set(index_l)) != len(index_l):
            continue
        return (
            column,
            index_l,
            list(compress(range(len(values_r)), on_left)),
            sorted(set(range(len(values_l))).difference(index_l)),
            list(compress(range(len(values_r)), map(not_, on_left))),
        )
    return None


def _differing(
    views: list[View], index_l: list[int] | None, index_r: list[int] | None, count: int
) -> set[int]:
    """The positions (of ``count`` paired rows) where any of these columns' views differ.

    The C twin takes a value as equal to itself, as a tuple's ``==`` does; the Python twin
    lists every position of a differing column where ``!=`` holds, a NaN's against itself too.
    Either way such a row is judged again on its canonical values, where NaN equals NaN."""
    differing: set[int] = set()
    native = speedups.native
    if native is not None:
        for values_l, values_r, _, _ in views:
            differing.update(native.differing(values_l, values_r, index_l, index_r, count))
        return differing
    pick_l, pick_r = _picker(index_l), _picker(index_r)
    for values_l, values_r, _, _ in views:
        a, b = pick_l(values_l), pick_r(values_r)
        if a != b:
            differing.update(compress(range(count), map(ne, a, b)))
    return differing


def _differing_rows(
    left: Table,
    right: Table,
    columns: _Columns,
    index_l: list[int] | None,
    index_r: list[int] | None,
    count: int,
    skip: int = -1,
) -> set[int]:
    """The positions (of ``count`` paired rows) where the rows differ; a side's index list picks
    and orders its rows (None: all, as they are), and column ``skip`` is known to be equal.

    When both sides' rows are tuples (of the same columns) as they came back and most columns'
    raw values compare as their views do, whole rows are compared (a tuple compares its values
    with ``==`` in one C call, the other side's rows read once each instead of once per column),
    plus the views of the columns whose raw values ``==`` cannot judge; dict rows too, without
    the C twins (:mod:`harness.speedups`), whose column reads beat a dict's key-by-key ``==``
    (100k rows x 10 columns: 378 ms against 429). Else each column's views are compared.
    """
    records_l, records_r = left.records, right.records
    kind = records_l[0].__class__ if records_l else None
    whole = kind is tuple or (kind is dict and speedups.native is None)
    if whole and records_r and records_r[0].__class__ is kind:
        sound = [columns.raw_sound(column) for column in range(len(columns))]
        if sum(sound) * 2 > len(sound):
            views: list[View] = [(records_l, records_r, set(), True)]
            views += [columns.view(c) for c, ok in enumerate(sound) if not ok]
            return _differing(views, index_l, index_r, count)
    views = [columns.view(c) for c in range(len(columns)) if c != skip]
    return _differing(views, index_l, index_r, count)


def _picker(index: list[int] | None) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function taking the values at ``index`` (None: all) as a tuple. ``itemgetter`` of
    every index at once reads a column in a C loop; a tuple compares with a tuple only."""
    if index is None:
        return tuple
    if len(index) > 1:
        return itemgetter(*index)
    return lambda values: tuple(values[i] for i in index)


def _by_row_keys(left: Table, right: Table, columns: _Columns, tolerance: float) -> Comparison:
    """The sides compared as multisets of row keys (a tuple of hashable views per row).

    A JSON column's key is its ``repr()``, which tells some equal values apart (keys in another
    order, ``1`` and ``1.0``). When the multisets differ, such columns are keyed again exactly,
    so that the rows left over, and which copy of a row stands for it, are the canonical path's.
    """
    key_columns = [columns.keys(column)[:2] for column in range(len(columns))]
    keys_l, keys_r = _row_keys(key_columns)
    if keys_l == keys_r:
        return EQUAL
    counts_l, counts_r = Counter(keys_l), Counter(keys_r)
    if dict.__eq__(counts_l, counts_r):
        return EQUAL
    loose = [column for column in range(len(columns)) if columns.types(column) & _CONTAINERS]
    if loose:
        for column in loose:
            key_columns[column] = columns.exact_keys(column, key_columns[column])
        keys_l, keys_r = _row_keys(key_columns)
        counts_l, counts_r = Counter(keys_l), Counter(keys_r)
        if dict.__eq__(counts_l, counts_r):
            return EQUAL
    # Counter's own subtraction is a Python loop over every key; the items views are C.
    extra_l = {k: c - counts_r.get(k, 0) for k, c in counts_l.items() - counts_r.items()}
    extra_r = {k: c - counts_l.get(k, 0) for k, c in counts_r.items() - counts_l.items()}
    return _judge(
        left,
        _extra_rows(keys_l, {k: c for k, c in extra_l.items() if c > 0}),
        right,
        _extra_rows(keys_r, {k: c for k, c in extra_r.items() if c > 0}),
        tolerance,
        raw=((keys_l, counts_r), (keys_r, counts_l)),
    )


def _row_keys(key_columns: list[tuple[Any, Any]]) -> tuple[list[Any], list[Any]]:
    """Each side's row keys from each column's keys on both sides: a tuple per row."""
    return (
        list(zip(*(keys for keys, _ in key_columns), strict=True)),
        list(zip(*(keys for _, keys in key_columns), strict=True)),
    )


def _exact_keys(values: Sequence[Any], reprs: list[str]) -> list[Any]:
    """The canonical keys of values, worked out once per distinct ``repr()`` (equal reprs are
    equal values), except where a repr may be a NaN's: two NaNs are as equal as their keys are
    (the same object or not), as on the canonical path."""
    by_repr = dict(zip(reprs, values, strict=True))
    known = {text: canonical_key(_scalar(v)) for text, v in by_repr.items() if "nan" not in text}
    if len(known) == len(by_repr):
        return list(map(known.__getitem__, reprs))
    return [
        known[text] if text in known else canonical_key(_scalar(value))
        for text, value in zip(reprs, values, strict=True)
    ]


def _extra_rows(keys: list[Any], extra: dict[Any, int]) -> list[int]:
    """The rows holding the keys a side has more of (key -> how many more): the first copies."""
    wanted = dict(extra)
    rows = []
    for index in compress(range(len(keys)), map(extra.__contains__, keys)):
        key = keys[index]
        if wanted[key]:
            wanted[key] -= 1
            rows.append(index)
    return rows


RawKeys = tuple[list[Any], Container[Any]]  # a side's row keys, the other side's keys


def _judge(
    left: Table,
    leftover_l: list[int],
    right: Table,
    leftover_r: list[int],
    tolerance: float,
    *,
    raw: tuple[RawKeys, RawKeys] | None = None,
) -> Comparison:
    """Judge the rows left over on each side in canonical form.

    Every other row is paired with an equal row of the other side, so setting them aside
    changes no canonical difference; :func:`~harness.compare.explain.explain_unordered` sees
    sides in which every other row holds a key that matches nothing. ``raw``: each side's row
    keys and the other side's, when rows were matched by key (then a leftover row whose key the
    other side has too is an extra copy, not a row that side lacks).
    """
    sides = []
    canon_counts = []
    present = []
    for side, (table, leftover) in enumerate(((left, leftover_l), (right, leftover_r))):
        rows = TableRows(table)
        canonical: list[Any] = [_UNMATCHED] * len(table)
        counts: Counter[Any] = Counter()
        shared = set()  # canonical keys of leftover rows whose raw key the other side has too
        for index in sorted(leftover):
            key = canonical[index] = canonical_key(rows[index])
            counts[key] += 1
            if raw is not None and raw[side][0][index] in raw[side][1]:
                shared.add(key)
        sides.append(SideRows(table_side(table is left), rows, canonical, None))
        canon_counts.append(counts)
        present.append(shared)
    counts_left, counts_right = canon_counts
    if dict.__eq__(counts_left, counts_right):
        return EQUAL
    diff = explain_unordered(
        sides[0],
        sides[1],
        counts_left,
        counts_right,
        tolerance,
        present=(set(counts_left) | present[1], set(counts_right) | present[0]),
    )
    return EQUAL if diff is None else Comparison(equal=False, diff=diff)


def table_side(is_left: bool) -> str:
    return "legacy" if is_left else "new"


class _Unmatched:
    """The key of a row set aside as matched: equal to nothing, so never counted again."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<matched>"


_UNMATCHED = _Unmatched()


def _source(table: Table, index: int) -> Source:
    """A column as the views read it: raw, or canonical when its converter is the normalizer's
    (then the last item, whether the column's values are the raw ones, is False)."""
    convert = table.converters[index]
    if convert is None or convert in _SCALAR_FORMS:
        return table.columns[index], table.founds[index], True
    column = table.column(index)
    return column, set(map(type, column)), False


def _held_in_canonical(sources: list[tuple[Source, Source]]) -> frozenset[type]:
    """The types held inside the values of the columns :func:`_source` made canonical, which
    a Table's ``nested_types`` (its raw JSON values') leave out: ``{"$timedelta": 1.0}`` holds
    a float, and must not meet ``{"$timedelta": True}`` under ``==``."""
    held: set[type] = set()
    for pair in sources:
        for values, found, raw in pair:
            if not raw and dict in found:
                facts = nested_facts(values)
                held |= _EQUAL_TO_INTS if facts is None else facts[1]
    return frozenset(held)


def column_views(
    left: Source,
    right: Source,
    nested: frozenset[type] = frozenset(),
    *,
    hashed: bool = False,
    fixed: bool = True,
) -> View:
    """One column's values on both sides as compared (see the module's table), the types the
    two sides hold there, and whether ``==`` on the raw values is the canonical equality too.
    ``nested``: the types held inside the sides' JSON values; ``hashed``: the views are to be
    hashed (row keys), not only compared with ``==``; ``fixed=False``: the raw values are
    returned as they are, for the last item alone."""
    (values_l, found_l, raw_l), (values_r, found_r, raw_r) = left, right
    union = found_l if found_l is found_r else found_l | found_r
    raw = raw_l and raw_r
    if not union.isdisjoint(_CONTAINERS):
        held = union | nested
        if hashed or (bool in held and held & _NUMBERS):
            if not fixed:
                return values_l, values_r, union, False
            return list(map(repr, values_l)), list(map(repr, values_r)), union, False
        return values_l, values_r, union, raw
    if _plain(union):  # nothing to fix up
        return values_l, values_r, union, raw
    if bool in union and not union.isdisjoint(_NUMBERS):
        if not fixed:
            return values_l, values_r, union, False
        return _canonical_keys(values_l), _canonical_keys(values_r), union, False
    clock = datetime not in union or same_clock((values_l, found_l), (values_r, found_r))
    odd = union - _VIEWED  # scalars viewed through their canonical keys
    raw = raw and clock and not odd
    if not fixed:
        return values_l, values_r, union, raw
    fixes: dict[type, Fix] = {cls: _scalar_key(cls) for cls in odd}
    if Decimal in union and hashed:
        exact = _decimals_fit(values_l, found_l) and _decimals_fit(values_r, found_r)
        fixes[Decimal] = float if exact else decimal_value
    if not clock:
        fixes[datetime] = _datetime_key
    if UUID in union:  # == on UUIDs is canonical; their int or text is only faster
        if str in union:
            fixes[UUID] = str
        elif not union & _EQUAL_TO_INTS:
            fixes[UUID] = _UUID_INT
    return _fixed(values_l, found_l, fixes), _fixed(values_r, found_r, fixes), union, raw


def _plain(found: set[type]) -> bool:
    """Whether values of these types are their own views: ``==`` on them is canonical (no
    container, no bool next to a number, nothing to fix up)."""
    return found <= _AS_THEY_ARE and (bool not in found or found.isdisjoint(_NUMBERS))


def _fixed(values: Any, found: set[type], fixes: dict[type, Fix]) -> Any:
    needed = {cls: fix for cls, fix in fixes.items() if cls in found}
    if not needed:
        return values
    if len(found) == 1:
        (only,) = needed.values()
        return list(map(only, values))
    get = needed.get
    return [v if (fix := get(v.__class__)) is None else fix(v) for v in values]


def _canonical_keys(values: Sequence[Any]) -> list[Any]:
    return [canonical_key(_scalar(v)) for v in values]


def _scalar(value: Any) -> Any:
    convert = SCALAR_CONVERTERS.get(value.__class__)
    return value if convert is None else convert(value)


def _scalar_key(cls: type) -> Fix:
    convert = SCALAR_CONVERTERS.get(cls)
    if convert is None:
        return canonical_key
    return lambda value: canonical_key(convert(value))


def _datetime_key(value: datetime) -> Any:
    return canonical_key(datetime_value(value))


def _decimals_fit(values: Any, found: set[type]) -> bool:
    """Every Decimal of the column finite and below 2**53: ``float()`` is then its canonical
    number exactly (an int's too: an integral value below 2**53 is an exact float)."""
    if Decimal not in found:
        return True
    decimals = values if len(found) == 1 else [v for v in values if v.__class__ is Decimal]
    try:
        return bool(max(decimals) < _FLOAT_EXACT and min(decimals) > -_FLOAT_EXACT)
    except (InvalidOperation, TypeError, ValueError):  # NaN on the way
        return False


def same_clock(*sides: tuple[Any, set[type]]) -> bool:
    """The datetimes of both sides all naive, or all at fixed offsets: == is then canonical.

    At more than one offset, only while every instant is within the years UTC can write: beyond
    them (``datetime.min`` at +01:00) the canonical text keeps each value's own offset, so one
    instant at two offsets is two canonical values there.
    """
    zones: set[Any] = set()
    for values, found in sides:
        if datetime in found:
            zones.update(map(_TZINFO, _stamps(values, found)))
    if zones == {None}:
        return True
    if not all(zone.__class__ is timezone for zone in zones):
        return False
    return len(zones) == 1 or all(
        _in_utc_years(_stamps(values, found)) for values, found in sides if datetime in found
    )


def _stamps(values: Sequence[Any], found: set[type]) -> Iterable[datetime]:
    """The datetimes of a column holding the types ``found``."""
    if len(found) == 1:
        return values
    if found == _DATETIMES_OR_NONE:
        return filter(None, values)  # a datetime is never false
    return [v for v in values if v.__class__ is datetime]


def _in_utc_years(stamps: Iterable[datetime]) -> bool:
    """Whether the earliest and the latest of these aware datetimes can be written in UTC."""
    instants = list(stamps)
    try:
        min(instants).astimezone(UTC)
        max(instants).astimezone(UTC)
    except OverflowError:
        return False
    return True
