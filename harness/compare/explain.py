"""Explaining a mismatch in terms a person can act on: paths, both values, rows one side lacks.

:mod:`harness.compare.verdict` has already set the matching rows aside; what is explained here is only
what is left over, so the cost grows with the differences, not with the size of the result.

Paths name a row of an unordered result by its ``id`` when it has one (``[id="iss_1"].title``),
else by its index in the legacy result; in an ordered result, a changed or removed row by its
index in the legacy result and an added row by its index in the new one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Sequence
from typing import Any

from harness.canonical import DICT, TAGS, blur_key, canonical_key, close, describe
from harness.compare.align import align
from harness.paths import join
from harness.records import MAX_DIFF_ENTRIES, Change, Diff, RowCount

ROOT = "$"
_MATCH_BUDGET = 200_000  # close() calls spent pairing leftover rows within the tolerance
_SIMILARITY_PAIRS = 2_500  # leftover row pairs scored when rows have no id


class SideRows:
    """One side's top-level rows as compared: their keys, and each row with ``ignore`` applied."""

    __slots__ = ("keys", "name", "rows", "transform")

    def __init__(
        self,
        name: str,
        rows: Sequence[Any],
        keys: list[Any],
        transform: Callable[[Any], Any] | None,
    ) -> None:
        self.name = name
        self.rows = rows
        self.keys = keys
        self.transform = transform

    def row(self, index: int) -> Any:
        """The row at ``index`` as compared (ignored paths left out)."""
        row = self.rows[index]
        return row if self.transform is None else self.transform(row)


class _Entry:
    """A distinct leftover row: where it first came back, how many times more, the row."""

    __slots__ = ("count", "index", "key", "row")

    def __init__(self, index: int, key: Any, count: int, row: Any) -> None:
        self.index, self.key, self.count, self.row = index, key, count, row


class _Changes:
    """Collected changes, capped at MAX_DIFF_ENTRIES; ``total`` counts those left out too."""

    def __init__(self) -> None:
        self.items: list[Change] = []
        self.total = 0

    def add(self, path: str, kind: str, legacy: Any = None, new: Any = None) -> None:
        self.total += 1
        if len(self.items) < MAX_DIFF_ENTRIES:
            self.items.append(Change(path or ROOT, kind, legacy, new))


def _is_tag(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in TAGS


def diff_values(a: Any, b: Any, path: str, tolerance: float, out: _Changes) -> None:
    """Add to ``out`` every path at which two rows (or values) known to differ do differ.

    DeepDiff explains two dicts that nest: only rows the fast path left over get here, so its
    cost follows the differences, not the result size. Should it see no difference where the
    harness's tolerance rules do (its numeric tolerance is not quite ours), the harness's
    own walk explains instead. The columns equal on both sides are set aside first, and what
    is left flat (scalars and tagged scalars) the walk explains at once, in the columns' order:
    it finds the same changes at a hundredth of DeepDiff's set-up cost.
    """
    if a.__class__ is dict and b.__class__ is dict and not (_is_tag(a) or _is_tag(b)):
        a, b = _unequal_columns(a, b, tolerance)
        if not (_flat(a) and _flat(b)) and not _permuted(a, b):
            found = _deepdiff_changes(a, b, path, tolerance)
            if found:
                for change in found:
                    out.add(change.path, change.kind, change.legacy, change.new)
                return
    _walk_values(a, b, path, tolerance, out)


def _unequal_columns(
    a: dict[str, Any], b: dict[str, Any], tolerance: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two rows without the columns that hold equal values on both sides."""
    equal = {key for key, value in a.items() if key in b and close(value, b[key], tolerance)}
    if not equal:
        return a, b
    return (
        {key: value for key, value in a.items() if key not in equal},
        {key: value for key, value in b.items() if key not in equal},
    )


def _flat(row: dict[str, Any]) -> bool:
    """Whether a dict holds scalars and tagged scalars only."""
    return not any(
        v.__class__ is list or (v.__class__ is dict and not _is_tag(v)) for v in row.values()
    )


def _permuted(a: Any, b: Any) -> bool:
    """True when a nested list holds the same items in another order (said as one change)."""
    if a.__class__ is dict and b.__class__ is dict:
        return any(_permuted(value, b[key]) for key, value in a.items() if key in b)
    if a.__class__ is list and b.__class__ is list:
        keys_a, keys_b = list(map(canonical_key, a)), list(map(canonical_key, b))
        if keys_a != keys_b and Counter(keys_a) == Counter(keys_b):
            return True
        return any(_permuted(x, y) for x, y in zip(a, b, strict=False))
    return False


def _deepdiff_changes(
    a: dict[str, Any], b: dict[str, Any], path: str, tolerance: float
) -> list[Change]:
    from deepdiff import DeepDiff
    from deepdiff.helper import NotPresent

    tree = DeepDiff(a, b, view="tree", ignore_numeric_type_changes=True, math_epsilon=tolerance)
    # DeepDiff groups its findings by kind, in an order that changes with the hash seed: they
    # are put in the rows' column order, then by path (list items by index), in every run.
    columns = {key: index for index, key in enumerate([*a, *(k for k in b if k not in a)])}
    placed: list[tuple[int, tuple[tuple[int, int, str], ...], Change]] = []
    for report, levels in tree.items():
        kind = (
            "removed"
            if report.endswith("removed")
            else "added"
            if report.endswith("added")
            else "changed"
        )
        for level in levels:
            steps = level.path(output_format="list")
            t1, t2 = level.t1, level.t2
            if steps and steps[-1] in TAGS and level.up is not None:
                # A tagged scalar ({"$datetime": ...}) differs as a whole, not by its tag's key.
                steps, t1, t2 = steps[:-1], level.up.t1, level.up.t2
            where = path
            for step in steps:
                where = join(where, step)
            legacy = None if isinstance(t1, NotPresent) else t1
            new = None if isinstance(t2, NotPresent) else t2
            column = columns.get(steps[0], len(columns)) if steps else -1
            order = tuple((0, s, "") if isinstance(s, int) else (1, 0, str(s)) for s in steps)
            placed.append((column, order, Change(where or ROOT, kind, legacy, new)))
    placed.sort(key=lambda item: item[:2])  # list items by their index: [2] before [10]
    return [change for _, _, change in placed]


def _walk_values(a: Any, b: Any, path: str, tolerance: float, out: _Changes) -> None:
    """The harness's own walk: every path at which ``a`` and ``b`` differ; nested lists in order."""
    if a.__class__ is dict and b.__class__ is dict and not (_is_tag(a) or _is_tag(b)):
        for key, value in a.items():
            if key in b:
                _walk_values(value, b[key], join(path, key), tolerance, out)
            else:
                out.add(join(path, key), "removed", value, None)
        for key, value in b.items():
            if key not in a:
                out.add(join(path, key), "added", None, value)
    elif a.__class__ is list and b.__class__ is list:
        keys_a, keys_b = list(map(canonical_key, a)), list(map(canonical_key, b))
        if keys_a != keys_b and Counter(keys_a) == Counter(keys_b):
            out.add(path, "changed", a, b)  # one entry says it better than a move per item
        else:
            diff_sequences(a.__getitem__, b.__getitem__, keys_a, keys_b, path, tolerance, out)
    elif not close(a, b, tolerance):
        out.add(path, "changed", a, b)


def _ident(row: Any) -> Any:
    if row.__class__ is dict and "id" in row:
        return canonical_key(row["id"])
    return None


def diff_sequences(
    get_a: Callable[[int], Any],
    get_b: Callable[[int], Any],
    keys_a: list[Any],
    keys_b: list[Any],
    path: str,
    tolerance: float,
    out: _Changes,
) -> tuple[int, int, int, bool]:
    """Explain two sequences compared in order; returns (changed, removed, added, moved) rows."""
    changed = removed = added = 0
    gone: set[Any] = set()
    came: set[Any] = set()
    for tag, i1, i2, j1, j2 in align(keys_a, keys_b):
        left, right = list(range(i1, i2)), list(range(j1, j2))
        pairs: list[tuple[int, int]] = []
        rows_a, rows_b = {i: get_a(i) for i in left}, {j: get_b(j) for j in right}
        if tag == "replace":
            ids_a = {i: _ident(row) for i, row in rows_a.items()}
            ids_b = {_ident(row): j for j, row in rows_b.items()}
            if None in ids_b or None in ids_a.values():  # no ids to go by: pair in place
                pairs = list(zip(left, right, strict=False))
            else:
                pairs = [(i, ids_b[ident]) for i, ident in ids_a.items() if ident in ids_b]
        for i, j in pairs:
            before = out.total
            diff_values(rows_a[i], rows_b[j], join(path, i), tolerance, out)
            changed += out.total > before
        paired_a, paired_b = {i for i, _ in pairs}, {j for _, j in pairs}
        for i in left:
            if i not in paired_a:
                out.add(join(path, i), "removed", rows_a[i], None)
                removed += 1
                gone.add(keys_a[i])
        for j in right:
            if j not in paired_b:
                out.add(join(path, j), "added", None, rows_b[j])
                added += 1
                came.add(keys_b[j])
    return changed, removed, added, bool(gone & came)


def _plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"


def _same_items(a: Any, b: Any) -> bool:
    if a.__class__ is not list or b.__class__ is not list:
        return False
    return Counter(map(canonical_key, a)) == Counter(map(canonical_key, b))


def _first(changes: _Changes) -> str:
    if not changes.items:
        return ""
    c = changes.items[0]
    if c.kind == "changed":
        what = f"{describe(c.legacy)} != {describe(c.new)}"
        if _same_items(c.legacy, c.new):
            what = f"same items, different order: {what}"
        return what if c.path == ROOT else f"{c.path}: {what}"
    side, value = ("legacy", c.legacy) if c.kind == "removed" else ("new", c.new)
    return f"{c.path}: only in {side} ({describe(value)})"


def _diff(summary_parts: list[str], changes: _Changes, **rest: Any) -> Diff:
    first = _first(changes)
    summary = ", ".join(p for p in summary_parts if p)
    summary = f"{summary}; {first}" if summary and first else summary or first
    return Diff(summary=summary, changes=tuple(changes.items), **rest)


def explain_values(a: Any, b: Any, tolerance: float) -> Diff | None:
    """The Diff of two values that are not lists of rows (a dict, a scalar); None if close."""
    changes = _Changes()
    diff_values(a, b, "", tolerance, changes)
    if not changes.total:
        return None
    count = "" if changes.total == 1 else _plural(changes.total, "difference")
    return _diff([count], changes, truncated=changes.total - len(changes.items))


def _entries(side: SideRows, counts: dict[Any, int]) -> list[_Entry]:
    first: dict[Any, int] = {}
    for index, key in enumerate(side.keys):
        if key in counts and key not in first:
            first[key] = index
            if len(first) == len(counts):
                break
    return [
        _Entry(i, k, counts[k], side.row(i)) for k, i in sorted(first.items(), key=lambda kv: kv[1])
    ]


def _has_float(value: Any) -> bool:
    cls = value.__class__
    if cls is float:
        return True
    if cls is dict:
        return any(map(_has_float, value.values()))
    return cls is list and any(map(_has_float, value))


def _bucket(row: Any, ints: bool) -> Any:
    """Rows that may be equal within the tolerance share this: the id when the row has a text or
    integer one (equal rows have equal ids; one pass is enough), else the row with its floats
    (second pass: all its numbers) blurred."""
    if row.__class__ is dict:
        ident = row.get("id")
        if ident.__class__ is str or ident.__class__ is int:
            return None if ints else (DICT, ident)
    return blur_key(row, ints=ints)


def _match_close(left: list[_Entry], right: list[_Entry], tolerance: float) -> None:
    """Set aside leftover rows equal within the tolerance: first those that differ in floats
    only, then those that differ in any numbers (an int on one side, a float on the other).

    Rows without a float were matched exactly already; with none on either side, nothing is
    left to match (the common case of rows that really differ, whatever their number).
    """
    if not any(_has_float(e.row) for e in left) and not any(_has_float(e.row) for e in right):
        return
    budget = _MATCH_BUDGET
    for ints in (False, True):
        buckets: dict[Any, list[_Entry]] = {}
        for entry in right:
            if entry.count:
                buckets.setdefault(_bucket(entry.row, ints), []).append(entry)
        buckets.pop(None, None)
        for entry in left:
            for other in buckets.get(_bucket(entry.row, ints), ()) if entry.count else ():
                if budget <= 0:
                    return
                budget -= 1
                if other.count and close(entry.row, other.row, tolerance):
                    taken = min(entry.count, other.count)
                    entry.count -= taken
                    other.count -= taken
                    if not entry.count:
                        break


def _similarity(a: Any, b: Any, tolerance: float) -> float:
    if a.__class__ is not dict or b.__class__ is not dict:
        return 0.0
    names = a.keys() | b.keys()
    same = sum(1 for k in names if k in a and k in b and close(a[k], b[k], tolerance))
    return same / len(names) if names else 1.0


def _pairs(
    left: list[_Entry], right: list[_Entry], tolerance: float
) -> list[tuple[_Entry, _Entry]]:
    """Rows to show as one changed row: same id (one row each side), or most fields alike."""
    pairs: list[tuple[_Entry, _Entry]] = []
    by_id: dict[Any, list[_Entry]] = {}
    for entry in right:
        ident = _ident(entry.row)
        if ident is not None:
            by_id.setdefault(ident, []).append(entry)
    by_id_left: dict[Any, list[_Entry]] = {}
    for entry in left:
        ident = _ident(entry.row)
        if ident is not None:
            by_id_left.setdefault(ident, []).append(entry)
    for ident, mine in by_id_left.items():
        theirs = by_id.get(ident, [])
        if len(mine) == 1 and len(theirs) == 1 and mine[0].count == 1 == theirs[0].count:
            pairs.append((mine[0], theirs[0]))
    rest_l = [e for e in left if _ident(e.row) is None and e.count == 1]
    rest_r = [e for e in right if _ident(e.row) is None and e.count == 1]
    if rest_l and rest_r and len(rest_l) * len(rest_r) <= _SIMILARITY_PAIRS:
        scored = sorted(
            (
                (_similarity(a.row, b.row, tolerance), a.index, b.index, a, b)
                for a in rest_l
                for b in rest_r
            ),
            key=lambda s: (-s[0], s[1], s[2]),
        )
        used: set[int] = set()
        for score, _, _, a, b in scored:
            if score > 0.5 and id(a) not in used and id(b) not in used:
                used.update((id(a), id(b)))
                pairs.append((a, b))
    return sorted(pairs, key=lambda p: p[0].index)


def _label(entry: _Entry) -> str:
    ident = entry.row.get("id") if entry.row.__class__ is dict else None
    return f"[id={describe(ident)}]" if ident is not None else f"[{entry.index}]"


def _row_name(row: Any) -> str:
    ident = row.get("id") if row.__class__ is dict else None
    return f"id={describe(ident)}" if ident is not None else describe(row, 40)


def _leftovers(
    left: SideRows,
    right: SideRows,
    counts_l: Counter[Any],
    counts_r: Counter[Any],
    tolerance: float,
) -> tuple[list[_Entry], list[_Entry]]:
    """The rows each side has more of, minus those the other side has within the tolerance."""
    entries_l, entries_r = _entries(left, counts_l - counts_r), _entries(right, counts_r - counts_l)
    _match_close(entries_l, entries_r, tolerance)
    return [e for e in entries_l if e.count], [e for e in entries_r if e.count]


def explain_unordered(
    left: SideRows,
    right: SideRows,
    counts_l: Counter[Any],
    counts_r: Counter[Any],
    tolerance: float,
    *,
    present: tuple[Container[Any], Container[Any]] | None = None,
) -> Diff | None:
    """The Diff of two results compared as multisets, from each side's row counts (by key);
    None when the rows that differ exactly still match within the tolerance.

    ``present``: the keys each side returned at all, when the counts cover only some of its
    rows (:mod:`harness.compare.columns`); it tells an extra copy from a row one side lacks.
    """
    entries_l, entries_r = _leftovers(left, right, counts_l, counts_r, tolerance)
    changes = _Changes()
    changed = 0
    paired: set[int] = set()
    for a, b in _pairs(entries_l, entries_r, tolerance):
        before = changes.total
        diff_values(a.row, b.row, _label(a), tolerance, changes)
        changed += changes.total > before
        paired.update((id(a), id(b)))
    entries_l = [e for e in entries_l if id(e) not in paired]
    entries_r = [e for e in entries_r if id(e) not in paired]
    if not changed and not entries_l and not entries_r:
        return None
    parts = []
    seen_l, seen_r = present or (counts_l, counts_r)
    for entries, side, other in ((entries_l, "legacy", seen_r), (entries_r, "new", seen_l)):
        # A row the other side has too, only fewer times, is a duplicate rather than a new row.
        only = sum(e.count for e in entries if e.key not in other)
        extra = sum(e.count for e in entries if e.key in other)
        if only:
            parts.append(f"{_plural(only, 'row')} only in {side}")
        if extra:
            parts.append(
                f"{_plural(extra, 'extra copy', 'extra copies')} in {side} of rows both have"
            )
    if changed:
        parts.append(f"{_plural(changed, 'row')} changed")
    if not changes.items:
        side, entry = ("legacy", entries_l[0]) if entries_l else ("new", entries_r[0])
        parts[-1] += f"; first only in {side}: {describe(entry.row, 120)}"
    left_out = sum(max(0, len(e) - MAX_DIFF_ENTRIES) for e in (entries_l, entries_r))
    return _diff(
        parts,
        changes,
        only_legacy=tuple(RowCount(e.row, e.count) for e in entries_l[:MAX_DIFF_ENTRIES]),
        only_new=tuple(RowCount(e.row, e.count) for e in entries_r[:MAX_DIFF_ENTRIES]),
        truncated=changes.total - len(changes.items) + left_out,
    )


def explain_ordered(left: SideRows, right: SideRows, tolerance: float) -> Diff | None:
    """The Diff of two results compared in order; None when they match within the tolerance.

    The same rows in another order say so (``reordered``) with the first position that differs;
    otherwise the rows are aligned and each changed, removed or added row is listed.
    """
    counts_l, counts_r = Counter(left.keys), Counter(right.keys)
    same_rows = len(left.keys) == len(right.keys) and (
        dict.__eq__(counts_l, counts_r)
        or _leftovers(left, right, counts_l, counts_r, tolerance) == ([], [])
    )
    if same_rows:
        for index, (a, b) in enumerate(zip(left.keys, right.keys, strict=True)):
            if a != b and not close(left.row(index), right.row(index), tolerance):
                where = (
                    f"{_row_name(left.row(index))} in legacy, {_row_name(right.row(index))} in new"
                )
                return Diff(
                    summary=f"same rows, different order: first at [{index}] ({where})",
                    reordered=True,
                )
        return None
    changes = _Changes()
    changed, removed, added, moved = diff_sequences(
        left.row, right.row, left.keys, right.keys, "", tolerance, changes
    )
    if not changes.total:
        return None
    n, m = len(left.keys), len(right.keys)
    parts = [
        f"legacy {_plural(n, 'row')}, new {m}" if n != m else "",
        f"{removed} removed" if removed else "",
        f"{added} added" if added else "",
        f"{_plural(changed, 'row')} changed" if changed else "",
        "some rows in another order" if moved else "",
    ]
    return _diff(parts, changes, reordered=moved, truncated=changes.total - len(changes.items))
