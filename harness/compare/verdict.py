"""``compare()``: are two normalized results the same, and if not, why.

The verdict comes from fast paths that never call DeepDiff. Results that are identical (Python's
``==`` holds and the types agree position by position, :func:`~harness.compare.depths.identical`) are
equal at once. Otherwise each top-level row gets a hashable key
(:func:`~harness.canonical.canonical_key`, or for flat rows simply the tuple of its values),
and the keys are compared as a sequence (``ordered=True``) or counted as a multiset
(``ordered=False``: a row that came back twice on one side and once on the other is a difference).
Rows whose keys differ are then matched within ``float_tolerance`` and explained by
:mod:`harness.compare.explain`, so the cost of an explanation grows with the differences only.

Rules:

* ``ordered`` is about the top-level list only. Lists nested in a row (a JSON array, a loaded
  collection) compare in order, except at the paths given in ``unordered``, which compare as
  multisets (``unordered=["[*].comments"]``).
* ``ignore`` paths (syntax in :mod:`harness.paths`) are left out of both sides first; a bare key
  such as ``updatedAt`` is ignored at any depth, a path starting with ``$`` or a row (``[*]``)
  only from the top.
* Types count: ``"1"`` differs from ``1``, ``None`` from ``""``, ``True`` from ``1``, and a missing
  key from a key holding ``None``. Numbers compare by value (``1 == 1.0``); a float on either side
  within ``float_tolerance`` (relative, or absolute below 1), NaN equals NaN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import InvalidOperation
from itertools import chain
from operator import itemgetter
from typing import Any

from harness.canonical import (
    CONTAINER_TYPES,
    NUMBER_TYPES,
    PASS_TYPES,
    canonical_key,
    close,
    describe,
    gc_paused,
)
from harness.compare.columns import EQUAL, compare_tables, same_raw_values
from harness.compare.depths import Depths, identical
from harness.compare.explain import SideRows, explain_ordered, explain_unordered, explain_values
from harness.compare.rules import Rules
from harness.errors import ConfigError
from harness.normalize.table import Table, materialize
from harness.paths import PathFilter, compile_paths, sort_token
from harness.records import MAX_DIFF_ENTRIES, Change, Comparison, Diff

__all__ = ["EQUAL", "compare"]


def compare(
    legacy: Any,
    new: Any,
    *,
    ordered: bool,
    ignore: Sequence[str] = (),
    float_tolerance: float = 1e-9,
    unordered: Sequence[str] = (),
    depths: tuple[Depths, Depths] | None = None,
    rules: Rules | None = None,
    paths: PathFilter | None = None,
) -> Comparison:
    """Compare two canonical values (see :func:`harness.normalize.walk.normalize`), either of
    which may be a :class:`~harness.normalize.table.Table` still to be made canonical.

    >>> compare([{"id": 1, "n": 1.5}], [{"id": 1, "n": 1.5000000000001}], ordered=False).equal
    True
    >>> compare(["a", "b"], ["b", "a"], ordered=True).diff.summary
    "same rows, different order: first at [0] ('a' in legacy, 'b' in new)"

    A bad ``ignore`` or ``unordered`` path raises :class:`~harness.errors.ConfigError`.
    ``depths``: the two values' :class:`~harness.compare.depths.Depths`, when the caller has walked them.
    ``rules``: a pair's compiled :class:`~harness.compare.rules.Rules`, instead of the keywords;
    ``paths``: an already compiled :class:`~harness.paths.PathFilter`, instead of the patterns.
    """
    order_by: tuple[str, ...] = ()
    if rules is not None:  # a registered pair's rules, compiled once
        ordered, float_tolerance, paths = rules.ordered, rules.float_tolerance, rules.paths
        order_by = rules.order_by
    elif paths is None and (ignore or unordered):
        paths = compile_paths(tuple(ignore), tuple(unordered))
    if legacy.__class__ is Table or new.__class__ is Table:
        if legacy.__class__ is new.__class__ and paths is None and not order_by:
            verdict = _raw_verdict(legacy, new, ordered=ordered, tolerance=float_tolerance)
            if verdict is not None:
                return verdict
        legacy, new, depths = materialize(legacy), materialize(new), None
    if order_by:  # a key the rows lack is the pair's mistake, even where the sides agree
        _check_order_by(legacy, order_by, "legacy")
        _check_order_by(new, order_by, "new")
    if identical(legacy, new, depths=depths):  # the common verdict, without keying a single row
        return EQUAL
    if legacy.__class__ is list and new.__class__ is list:
        with gc_paused():
            left, right = _sides(legacy, new, paths)
            if order_by:
                return _ordered_by(left, right, legacy, new, order_by, float_tolerance)
            if ordered:
                return _ordered(left, right, float_tolerance)
            return _unordered(left, right, float_tolerance)
    if paths is not None:
        legacy, new = paths.apply(legacy), paths.apply(new)
    if close(legacy, new, float_tolerance):
        return EQUAL
    diff = explain_values(legacy, new, float_tolerance)
    return EQUAL if diff is None else Comparison(equal=False, diff=diff)


def _raw_verdict(
    left: Table, right: Table, *, ordered: bool, tolerance: float
) -> Comparison | None:
    """The verdict on two Tables from their raw columns, or None when it needs the canonical
    rows: :func:`compare_tables` says so, or a signaling NaN (``Decimal("sNaN")``) raised on
    ``==`` (its canonical form is NaN, equal to any NaN)."""
    try:
        if same_raw_values(left, right):  # the common verdict, without a view of a column
            return EQUAL
        with gc_paused():
            return compare_tables(left, right, ordered=ordered, tolerance=tolerance)
    except InvalidOperation:
        return None


def _ordered(left: SideRows, right: SideRows, tolerance: float) -> Comparison:
    if len(left.keys) == len(right.keys):
        if left.keys == right.keys:
            return EQUAL
        differ = [i for i, (a, b) in enumerate(zip(left.keys, right.keys, strict=True)) if a != b]
        if all(close(left.row(i), right.row(i), tolerance) for i in differ):
            return EQUAL
    diff = explain_ordered(left, right, tolerance)
    return EQUAL if diff is None else Comparison(equal=False, diff=diff)


def _check_order_by(value: Any, order_by: tuple[str, ...], side: str) -> None:
    if value.__class__ is list:
        for index, row in enumerate(value):
            if row.__class__ is not dict or any(k not in row for k in order_by):
                raise _missing_key(row, index, order_by, side)


def _missing_key(row: Any, index: int, order_by: tuple[str, ...], side: str) -> ConfigError:
    missing = next(k for k in order_by if row.__class__ is not dict or k not in row)
    return ConfigError(
        f"order_by: {missing!r} is not a key of the {side} side's row [{index}]; "
        "order_by names keys of the rows the sides return"
    )


def _sort_keys(rows: list[Any], order_by: tuple[str, ...], side: str) -> list[Any]:
    keys = []
    for index, row in enumerate(rows):
        if row.__class__ is not dict or any(k not in row for k in order_by):
            raise _missing_key(row, index, order_by, side)
        keys.append(tuple(canonical_key(row[k]) for k in order_by))
    return keys


def _runs(keys: list[Any]) -> list[tuple[Any, int, int]]:
    """Maximal runs of equal sort keys: (key, start, end)."""
    runs: list[tuple[Any, int, int]] = []
    start = 0
    for index in range(1, len(keys) + 1):
        if index == len(keys) or keys[index] != keys[start]:
            runs.append((keys[start], start, index))
            start = index
    return runs


def _ordered_by(
    left: SideRows,
    right: SideRows,
    legacy: list[Any],
    new: list[Any],
    order_by: tuple[str, ...],
    tolerance: float,
) -> Comparison:
    """Ordered by ``order_by``: order counts between rows whose sort keys differ; ties are a
    multiset. Different rows are explained as for an unordered result (never "only in legacy"
    for a row both sides have); the same rows in another order name the rows that moved."""
    sort_l = _sort_keys(legacy, order_by, "legacy")
    sort_r = _sort_keys(new, order_by, "new")
    content = _unordered(left, right, tolerance)
    if not content.equal:
        return content
    runs_l, runs_r = _runs(sort_l), _runs(sort_r)
    if [r[0] for r in runs_l] == [r[0] for r in runs_r] and all(
        a[2] - a[1] == b[2] - b[1] for a, b in zip(runs_l, runs_r, strict=True)
    ):
        for (_, a0, a1), (_, b0, b1) in zip(runs_l, runs_r, strict=True):
            group_l = SideRows("legacy", left.rows[a0:a1], left.keys[a0:a1], left.transform)
            group_r = SideRows("new", right.rows[b0:b1], right.keys[b0:b1], right.transform)
            if not _unordered(group_l, group_r, tolerance).equal:
                break
        else:
            return EQUAL
    return Comparison(equal=False, diff=_moved(left, right, sort_l, sort_r, order_by))


def _moved(
    left: SideRows, right: SideRows, sort_l: list[Any], sort_r: list[Any], order_by: tuple[str, ...]
) -> Diff:
    """Name the rows whose place in the order differs, with their positions on both sides."""
    positions: dict[Any, list[int]] = {}
    for index, key in enumerate(right.keys):
        positions.setdefault(key, []).append(index)
    moved: list[Change] = []
    for index, key in enumerate(left.keys):
        if not positions.get(key):
            continue  # equal to a row of the other side only within the float tolerance
        there = positions[key].pop(0)
        # Where the sort keys of the two sides differ at a position, the row there moved; a
        # row that only swapped places with a tied one did not.
        if there != index and sort_l[index] != sort_r[index]:
            moved.append(Change(path=f"[{index}]", kind="moved", legacy=index, new=there))
    first = moved[0] if moved else None
    row = describe(left.row(first.legacy), 120) if first is not None else ""
    summary = f"same rows, different order by {list(order_by)}: {len(moved)} rows moved" + (
        f"; first {row}: [{first.legacy}] in legacy, [{first.new}] in new" if first else ""
    )
    return Diff(
        summary=summary,
        changes=tuple(moved[:MAX_DIFF_ENTRIES]),
        reordered=True,
        truncated=max(0, len(moved) - MAX_DIFF_ENTRIES),
    )


def tied_page(value: Any, order_by: tuple[str, ...]) -> str | None:
    """Where two rows of a page tie on ``order_by``, or None when the sort keys are unique.

    Rows beyond a LIMIT are not seen, so a tie cut in two at the page's end cannot be seen
    either; a tie anywhere on the page shows the sort keys are not unique, which is what makes
    such a cut possible.
    """
    if value.__class__ is not list or len(value) < 2:
        return None
    for index in range(1, len(value)):
        row, before = value[index], value[index - 1]
        if row.__class__ is not dict or before.__class__ is not dict:
            return None
        if all(k in row and k in before and row[k] == before[k] for k in order_by):
            shared = ", ".join(f"{k}={describe(row[k], 40)}" for k in order_by)
            return f"rows [{index - 1}] and [{index}] share {shared}"
    return None


def _unordered(left: SideRows, right: SideRows, tolerance: float) -> Comparison:
    if left.keys == right.keys:  # the same order is common even when it is not promised
        return EQUAL
    if len(left.keys) == len(right.keys):
        # Rows are usually distinct (they have ids); then multisets are sets, and set equality
        # is a third cheaper than that of Counters (smaller entries to chase in memory).
        distinct = _distinct(left.keys)
        if distinct is not None and len(distinct) == len(left.keys):
            other = set(right.keys)
            if len(other) == len(right.keys) and distinct == other:
                return EQUAL
    counts_l, counts_r = _count(left.keys), _count(right.keys)
    # dict equality in C: Counter.__eq__ is a Python loop over every row.
    if dict.__eq__(counts_l, counts_r):
        return EQUAL
    diff = explain_unordered(left, right, counts_l, counts_r, tolerance)
    return EQUAL if diff is None else Comparison(equal=False, diff=diff)


def _distinct(keys: list[Any]) -> set[Any] | None:
    try:
        return set(keys)
    except TypeError:
        return None  # _count says why


def _count(keys: list[Any]) -> Counter[Any]:
    try:
        return Counter(keys)
    except TypeError as exc:
        raise TypeError(
            f"compare() takes canonical values (normalize() them first): {exc}"
        ) from exc


def _sides(
    legacy: list[Any], new: list[Any], paths: PathFilter | None
) -> tuple[SideRows, SideRows]:
    """Both sides' rows with their keys: the flat-table fast path when it applies."""
    step = None if paths is None else paths.element_step(paths.root)
    if paths is not None and step is None:  # patterns that name a row index: filter up front
        rows_l, rows_r = paths.apply(legacy), paths.apply(new)
        return _general(rows_l, rows_r, None)
    if step is not None and step[0]:  # every row is ignored
        return SideRows("legacy", [], [], None), SideRows("new", [], [], None)
    transform = None
    if paths is not None and step is not None and not paths.is_dead(step[2]):
        transform = _row_transform(paths, step[2], step[1])
    sides = _table(legacy, new, paths, step)
    return sides if sides is not None else _general(legacy, new, transform)


def _row_transform(paths: PathFilter, sid: int, sort: bool) -> Any:
    def transform(row: Any) -> Any:
        if row.__class__ in CONTAINER_TYPES:
            row = paths.walk(row, sid)
        if sort and row.__class__ is list:
            row = sorted(row, key=sort_token)
        return row

    return transform


def _general(legacy: list[Any], new: list[Any], transform: Any) -> tuple[SideRows, SideRows]:
    if transform is not None:
        legacy, new = list(map(transform, legacy)), list(map(transform, new))
    return (
        SideRows("legacy", legacy, list(map(canonical_key, legacy)), None),
        SideRows("new", new, list(map(canonical_key, new)), None),
    )


def _table(
    legacy: list[Any], new: list[Any], paths: PathFilter | None, step: Any
) -> tuple[SideRows, SideRows] | None:
    """Keys for lists of scalars or of flat rows, made with C-level passes (None: not flat).

    A row's key is the tuple of its values in a fixed column order. That is exact except where
    Python's ``==`` is looser than ours: ``True == 1``. So columns are typed across both sides,
    and only a column that mixes bools with numbers, or holds nested values, is keyed value by
    value with canonical_key.
    """
    kinds = set(map(type, legacy)) | set(map(type, new))
    sort = step is not None and step[1]
    if kinds <= PASS_TYPES and not sort:
        mixed = bool in kinds and not kinds.isdisjoint(NUMBER_TYPES)
        keys_l = list(map(canonical_key, legacy)) if mixed else legacy
        keys_r = list(map(canonical_key, new)) if mixed else new
        return SideRows("legacy", legacy, keys_l, None), SideRows("new", new, keys_r, None)
    if kinds != {dict}:
        return None
    shapes = [tuple(rows[0]) if rows else None for rows in (legacy, new)]
    steps = {}
    for shape in shapes:
        for name in shape or ():
            steps[name] = paths.step(step[2], name) if paths is not None else (False, False, 0)
    kept = [
        tuple(n for n in shape if not steps[n][0]) if shape is not None else None
        for shape in shapes
    ]
    if kept[0] is not None and kept[1] is not None and set(kept[0]) != set(kept[1]):
        return None
    columns = kept[0] if kept[0] is not None else kept[1]
    assert columns is not None  # kinds == {dict} means one side has rows
    values = []
    for rows, shape in zip((legacy, new), shapes, strict=True):
        if shape is not None:
            got = _project(rows, shape, columns)
            if got is None:
                return None
            values.append(got)
        else:
            values.append([])
    convert = _column_keys(values, columns, paths, steps)
    if convert is None:
        return None
    if convert and columns:
        for i, vals in enumerate(values):
            if vals:
                cols = list(zip(*vals, strict=True))
                for index, func in convert.items():
                    cols[index] = tuple(map(func, cols[index]))
                values[i] = list(zip(*cols, strict=True))
    transform = None
    if paths is not None and not paths.is_dead(step[2]):
        transform = _row_transform(paths, step[2], False)
    return SideRows("legacy", legacy, values[0], transform), SideRows(
        "new", new, values[1], transform
    )


def _project(
    rows: list[dict[str, Any]], shape: tuple[str, ...], columns: tuple[str, ...]
) -> list[Any] | None:
    """Each row's values in ``columns`` order, or None unless every row has exactly ``shape``."""
    if set(map(len, rows)) != {len(shape)}:
        return None
    dropped = tuple(n for n in shape if n not in set(columns))
    # Getting the dropped keys too proves every row has exactly these keys (with the lengths).
    names = columns + dropped
    if not names:  # rows that are all {}
        return [()] * len(rows)
    try:
        got = list(map(itemgetter(*names), rows))
    except KeyError:
        return None
    if len(names) == 1:  # itemgetter of one name gives the value, not a tuple
        got = [(value,) for value in got]
    if dropped:
        got = list(map(itemgetter(slice(0, len(columns))), got))
    return got


def _column_keys(
    values: list[list[Any]],
    columns: tuple[str, ...],
    paths: PathFilter | None,
    steps: dict[str, Any],
) -> dict[int, Any] | None:
    """Which columns need canonical_key value by value, typed across both sides."""
    types: list[set[type]] = [set() for _ in columns]
    for vals in values:
        # The distinct type signatures of the rows: one stream of types cut into rows by zip
        # over one shared iterator, all in C.
        stream = map(type, chain.from_iterable(vals))
        for signature in set(zip(*[stream] * len(columns), strict=False)):
            for index, cls in enumerate(signature):
                types[index].add(cls)
    convert: dict[int, Any] = {}
    for index, found in enumerate(types):
        _, sort, below = steps[columns[index]]
        nested = not found.isdisjoint(CONTAINER_TYPES)
        if nested and paths is not None and (sort or not paths.is_dead(below)):
            transform = _row_transform(paths, below, sort)
            convert[index] = lambda v, t=transform: canonical_key(t(v))
        elif nested or (bool in found and not found.isdisjoint(NUMBER_TYPES)):
            convert[index] = canonical_key
        elif not found <= PASS_TYPES:
            return None  # not canonical: let the general path raise a clear error
    return convert
