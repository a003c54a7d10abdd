"""Canonical values walked depth by depth, for the checks that every case runs.

A case's two results are checked twice on the equal path: are they :func:`identical`, and does
either hold another tenant's rows (:mod:`harness.compare.tenancy`)? Both read the same
:class:`Depths`: per depth, the dicts and lists found there and the values they hold with their
types, each list made with one C-level pass, so the walk costs a few passes per depth rather
than a Python step per value, and a result is walked once for both checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, compress
from typing import Any

from harness.canonical import CONTAINER_TYPES

_IS_CONTAINER = CONTAINER_TYPES.__contains__
# What a flat table's depths hold, as far as the checks are concerned.
_ROWS: frozenset[type] = frozenset({dict})
_BOOLS: frozenset[type] = frozenset({bool})
_SCALARS: frozenset[type] = frozenset()


class Depth:
    """The containers at one depth; the values they hold, in order, and those values' types.

    ``found`` (the set of types) is made on the way down; ``values`` and ``types`` lists only
    when asked for: a flat table needs neither.
    """

    __slots__ = ("_types", "_values", "containers", "found", "rows")

    def __init__(
        self, containers: list[Any], rows: bool, found: frozenset[type] | None = None
    ) -> None:
        self.containers = containers
        self.rows = rows  # every container here is a dict
        self._values: list[Any] | None = None
        self._types: list[type] | None = None
        self.found = frozenset(map(type, self._held())) if found is None else found

    def _held(self) -> Iterator[Any]:
        if self.rows:
            return chain.from_iterable(map(dict.values, self.containers))
        return chain.from_iterable(
            c.values() if c.__class__ is dict else c for c in self.containers
        )

    @property
    def values(self) -> list[Any]:
        if self._values is None:
            self._values = list(self._held())
        return self._values

    @property
    def types(self) -> list[type]:
        if self._types is None:
            self._types = list(map(type, self.values))
        return self._types

    def keys(self) -> list[str]:
        """The keys of the dicts here, in order."""
        if self.rows:
            return list(chain.from_iterable(self.containers))
        return list(chain.from_iterable(c for c in self.containers if c.__class__ is dict))

    def dicts(self) -> list[dict[str, Any]]:
        if self.rows:
            return self.containers
        return [c for c in self.containers if c.__class__ is dict]

    def below(self) -> list[Any]:
        """The containers one depth down (empty when this depth holds only scalars)."""
        if self.found.isdisjoint(CONTAINER_TYPES):
            return []
        if self.found <= CONTAINER_TYPES:
            return self.values
        return list(compress(self.values, map(_IS_CONTAINER, self.types)))


class Depths:
    """The :class:`Depth` list of a canonical value, worked out on first use."""

    __slots__ = ("_levels", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._levels: list[Depth] | None = None

    @classmethod
    def of(cls, value: Any, flat_bools: bool | None) -> Depths:
        """The depths of a result, told by :func:`~harness.normalize.walk.normalize_rows` when it
        found a flat table (``flat_bools`` not None) instead of walking its rows again.

        The rows' tagged scalars (``{"$datetime": ...}``) are not walked: they hold no bool and
        no tenant column.
        """
        depths = cls(value)
        if flat_bools is not None and value:
            depths._levels = [
                Depth([value], rows=False, found=_ROWS),
                Depth(value, rows=True, found=_BOOLS if flat_bools else _SCALARS),
            ]
        return depths

    @property
    def levels(self) -> list[Depth]:
        if self._levels is None:
            self._levels = _walk(self.value)
        return self._levels

    def holds_bool(self) -> bool:
        return any(bool in depth.found for depth in self.levels)


def identical(a: Any, b: Any, *, depths: tuple[Depths, Depths] | None = None) -> bool:
    """Two canonical values that are equal with nothing left to interpret.

    This is the equal path of :func:`harness.compare.verdict.compare`. Python's ``==`` decides, except
    where it is looser than ``compare``: ``True == 1``. So when either side holds a bool, the
    types must agree position by position, with the dict keys in the same order so that
    positions line up. (``1 == 1.0`` is equal for ``compare`` too.) False means "look closer":
    the values may still be equal within the tolerance, or with a dict's keys in another order.
    ``depths``: the two values' :class:`Depths`, when the caller has them.
    """
    if a != b:
        return False
    if a.__class__ not in CONTAINER_TYPES:
        return a.__class__ is b.__class__
    depths_a, depths_b = depths or (Depths(a), Depths(b))
    if not (depths_a.holds_bool() or depths_b.holds_bool()):
        return True
    for depth_a, depth_b in zip(depths_a.levels, depths_b.levels, strict=False):
        if depth_a.types != depth_b.types or depth_a.keys() != depth_b.keys():
            return False
    return len(depths_a.levels) == len(depths_b.levels)


def _walk(value: Any) -> list[Depth]:
    levels: list[Depth] = []
    containers = [value] if value.__class__ in CONTAINER_TYPES else []
    rows = value.__class__ is dict
    while containers:
        depth = Depth(containers, rows)
        levels.append(depth)
        containers = depth.below()
        rows = list not in depth.found
    return levels
