"""Comparing two :class:`~harness.normalize.table.Table` results on their raw columns.

Each row gets a key made of its raw values, fixed up column by column where Python's ``==`` on
the raw values is not the canonical equality. The keys are *sound*: two rows with equal keys are
equal in canonical form. So results whose keys match (in order, or as multisets) are equal,
decided with a few C-level passes and no canonical row built. Where keys differ, only the rows
left over are made canonical and judged as :mod:`harness.compare.verdict` judges any rows.

Per column, over the types both sides hold there:

==========================  ====================================================================
raw type                    key
==========================  ====================================================================
str, int, float, None       the value (``1 == 1.0`` is canonical too)
bool                        the value, unless the column also holds numbers: then canonical
``Decimal``                 ``float(value)`` while every Decimal of the column is finite and below
                            2**53 (the float is then exactly the canonical number), else canonical
``datetime``                the value when all of the column's are naive, or all carry a fixed
                            offset (``datetime.timezone``); else the canonical UTC text
``date``, ``bytes``         the value
``UUID``                    ``.int`` (its text when the column also holds text; the value when it
                            also holds numbers)
dict, list (JSON)           ``repr()`` of every value of the column: equal reprs are equal JSON
                            values; the rare equal values with unequal reprs (keys in another
                            order, ``1`` vs ``1.0``) are left over and judged canonically
other scalars               ``canonical_key`` of the canonical value
==========================  ====================================================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from itertools import compress
from operator import attrgetter
from typing import Any
from uuid import UUID

from harness.canonical import (
    SCALAR_CONVERTERS,
    canonical_key,
    close,
    datetime_value,
    decimal_value,
)
from harness.compare.explain import SideRows, explain_unordered
from harness.normalize.table import Table, TableRows
from harness.records import Comparison

EQUAL = Comparison(equal=True)
_NUMBERS: frozenset[type] = frozenset({int, float, Decimal})
_CONTAINERS: frozenset[type] = frozenset({dict, list})
# Raw types whose own == and hash are the canonical equality (given the rules above).
_AS_THEY_ARE: frozenset[type] = frozenset({str, int, float, bool, type(None), date, bytes})
_FLOAT_EXACT = Decimal(2**53)
_TZINFO = attrgetter("tzinfo")
_UUID_INT = attrgetter("int")
# Converters of scalars the Table keeps raw; anything else a column holds was made canonical.
_SCALAR_FORMS = frozenset(SCALAR_CONVERTERS.values())

Fix = Callable[[Any], Any]


def compare_tables(
    left: Table, right: Table, *, ordered: bool, tolerance: float
) -> Comparison | None:
    """The verdict on two Tables, or None when it needs every canonical row (the caller builds
    them): columns that do not line up, or an ordered result whose rows differ."""
    keys = row_keys(left, right)
    if keys is None:
        return None
    keys_l, keys_r = keys
    if keys_l == keys_r:
        return EQUAL
    if ordered:
        if len(keys_l) != len(keys_r):
            return None
        rows_l, rows_r = TableRows(left), TableRows(right)
        for index, (a, b) in enumerate(zip(keys_l, keys_r, strict=True)):
            if a != b and not close(rows_l[index], rows_r[index], tolerance):
                return None
        return EQUAL
    try:
        distinct_l, distinct_r = set(keys_l), set(keys_r)
    except TypeError:
        return None
    if len(distinct_l) == len(keys_l) and len(distinct_r) == len(keys_r):
        # Rows are usually distinct (they have ids): multisets are sets, and what is left
        # over is the two set differences, all in C.
        if distinct_l == distinct_r:
            return EQUAL
        extra_l = dict.fromkeys(distinct_l - distinct_r, 1)
        extra_r = dict.fromkeys(distinct_r - distinct_l, 1)
        return _leftovers(
            (left, keys_l, extra_l, distinct_r), (right, keys_r, extra_r, distinct_l), tolerance
        )
    counts_l, counts_r = Counter(keys_l), Counter(keys_r)
    if dict.__eq__(counts_l, counts_r):
        return EQUAL
    # Counter's own subtraction is a Python loop over every key; the items views are C.
    extra_l = {k: c - counts_r.get(k, 0) for k, c in counts_l.items() - counts_r.items()}
    extra_r = {k: c - counts_l.get(k, 0) for k, c in counts_r.items() - counts_l.items()}
    return _leftovers(
        (left, keys_l, {k: c for k, c in extra_l.items() if c > 0}, counts_r),
        (right, keys_r, {k: c for k, c in extra_r.items() if c > 0}, counts_l),
        tolerance,
    )


Leftover = tuple[Table, list[Any], dict[Any, int], Container[Any]]


def _leftovers(left: Leftover, right: Leftover, tolerance: float) -> Comparison:
    """Judge the rows whose keys one side has more of, in canonical form. Each side comes as
    its table, its row keys, the keys it has more of (key -> how many more) and the keys the
    other side has.

    Rows with equal keys are equal, so setting them aside changes no canonical difference; the
    leftover rows get canonical keys, and :func:`~harness.compare.explain.explain_unordered` sees
    sides in which every other row holds a key that matches nothing.
    """
    sides = []
    canon_counts = []
    present = []
    for table, keys, extra, others in (left, right):
        rows = TableRows(table)
        canonical: list[Any] = [_UNMATCHED] * len(keys)
        counts: Counter[Any] = Counter()
        shared = set()  # canonical keys of leftover rows whose raw key the other side has too
        wanted = dict(extra)
        for index in compress(range(len(keys)), map(extra.__contains__, keys)):
            key = keys[index]
            if not wanted[key]:
                continue  # the copies of this key that both sides have
            wanted[key] -= 1
            ckey = canonical_key(rows[index])
            canonical[index] = ckey
            counts[ckey] += 1
            if key in others:
                shared.add(ckey)
        sides.append(SideRows(table_side(table is left[0]), rows, canonical, None))
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


def row_keys(left: Table, right: Table) -> tuple[list[Any], list[Any]] | None:
    """Each side's row keys, columns in the left side's order; None when the columns differ."""
    if (left.names is None) != (right.names is None):
        return None
    if left.names is not None and right.names is not None:
        if set(left.names) != set(right.names) or len(left.names) != len(right.names):
            return None
        where = {name: index for index, name in enumerate(right.names)}
        pairs = [(index, where[name]) for index, name in enumerate(left.names)]
    else:
        if len(left.columns) != len(right.columns):
            return None
        pairs = [(index, index) for index in range(len(left.columns))]
    columns_l: list[Any] = []
    columns_r: list[Any] = []
    for i, j in pairs:
        key_l, key_r = column_keys(_source(left, i), _source(right, j))
        columns_l.append(key_l)
        columns_r.append(key_r)
    return list(zip(*columns_l, strict=True)), list(zip(*columns_r, strict=True))


def _source(table: Table, index: int) -> tuple[Any, set[type]]:
    """A column as the keys read it: raw, or canonical when its converter is the normalizer's."""
    convert = table.converters[index]
    if convert is None or convert in _SCALAR_FORMS:
        return table.columns[index], table.founds[index]
    column = table.column(index)
    return column, set(map(type, column))


def column_keys(left: tuple[Any, set[type]], right: tuple[Any, set[type]]) -> tuple[Any, Any]:
    """The keys of one column on both sides (see the module's table)."""
    (values_l, found_l), (values_r, found_r) = left, right
    union = found_l | found_r
    if union & _CONTAINERS:
        return list(map(repr, values_l)), list(map(repr, values_r))
    if bool in union and union & _NUMBERS:
        return _canonical_keys(left), _canonical_keys(right)
    fixes: dict[type, Fix] = {}
    if Decimal in union:
        exact = _decimals_fit(values_l, found_l) and _decimals_fit(values_r, found_r)
        fixes[Decimal] = float if exact else decimal_value
    if datetime in union and not _same_clock(left, right):
        fixes[datetime] = _datetime_key
    if UUID in union:
        if str in union:
            fixes[UUID] = str
        elif not union & _NUMBERS:
            fixes[UUID] = _UUID_INT
    for cls in union - _AS_THEY_ARE - {Decimal, datetime, UUID}:
        fixes[cls] = _scalar_key(cls)
    return _fixed(values_l, found_l, fixes), _fixed(values_r, found_r, fixes)


def _fixed(values: Any, found: set[type], fixes: dict[type, Fix]) -> Any:
    needed = {cls: fix for cls, fix in fixes.items() if cls in found}
    if not needed:
        return values
    if len(found) == 1:
        (only,) = needed.values()
        return list(map(only, values))
    get = needed.get
    return [v if (fix := get(v.__class__)) is None else fix(v) for v in values]


def _canonical_keys(source: tuple[Any, set[type]]) -> list[Any]:
    values, _ = source
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


def _same_clock(*sides: tuple[Any, set[type]]) -> bool:
    """The datetimes of both sides all naive, or all at fixed offsets: == is then canonical."""
    zones: set[Any] = set()
    for values, found in sides:
        if datetime in found:
            stamps = values if len(found) == 1 else [v for v in values if v.__class__ is datetime]
            zones.update(map(_TZINFO, stamps))
    if zones == {None}:
        return True
    return all(zone.__class__ is timezone for zone in zones)
