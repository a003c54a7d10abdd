"""Aligning two sequences compared in order: which rows were kept, changed, removed or added.

The opcodes are difflib's (``replace``, ``delete``, ``insert`` with ``i1, i2, j1, j2``), computed
on the rows' hashable keys. Equal ends are trimmed first; what is left is paired position by
position when it is mostly substitutions, else aligned on the rows that occur once on each side
(patience alignment), which stays O(n log n) however many rows differ.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from typing import Any

Opcode = tuple[str, int, int, int, int]


def align(keys_a: list[Any], keys_b: list[Any]) -> list[Opcode]:
    """Opcodes (as difflib's) that turn ``keys_a`` into ``keys_b``, cheap for few differences."""
    n, m = len(keys_a), len(keys_b)
    lo = 0
    while lo < n and lo < m and keys_a[lo] == keys_b[lo]:
        lo += 1
    hi = 0
    while hi < n - lo and hi < m - lo and keys_a[n - 1 - hi] == keys_b[m - 1 - hi]:
        hi += 1
    a, b = keys_a[lo : n - hi], keys_b[lo : m - hi]
    if len(a) == len(b) and 2 * sum(x != y for x, y in zip(a, b, strict=True)) <= len(a):
        # Mostly substitutions in place: pair position by position.
        return [
            ("replace", lo + i, lo + i + 1, lo + i, lo + i + 1)
            for i in range(len(a))
            if a[i] != b[i]
        ]
    ops = []
    i = j = 0
    for anchor_i, anchor_j in [*_anchors(a, b), (len(a), len(b))]:
        if anchor_i > i and anchor_j > j:
            ops.append(("replace", lo + i, lo + anchor_i, lo + j, lo + anchor_j))
        elif anchor_i > i:
            ops.append(("delete", lo + i, lo + anchor_i, lo + j, lo + j))
        elif anchor_j > j:
            ops.append(("insert", lo + i, lo + i, lo + j, lo + anchor_j))
        i, j = anchor_i + 1, anchor_j + 1
    return ops


def _anchors(a: list[Any], b: list[Any]) -> list[tuple[int, int]]:
    """Patience alignment: the longest run of keys found once on each side, in the same order.

    O(n log n) whatever the differences (difflib's matcher degrades to quadratic on long lists
    with scattered changes or repeated rows); rows between two anchors are explained as a block.
    """
    count_a, count_b = Counter(a), Counter(b)
    where_b = {key: j for j, key in enumerate(b) if count_b[key] == 1}
    candidates = [
        (i, where_b[key]) for i, key in enumerate(a) if count_a[key] == 1 and key in where_b
    ]
    tails: list[int] = []  # smallest last j of an increasing run of each length
    ends: list[int] = []  # the candidate that ends it
    previous = [-1] * len(candidates)
    for index, (_, j) in enumerate(candidates):
        length = bisect_left(tails, j)
        if length == len(tails):
            tails.append(j)
            ends.append(index)
        else:
            tails[length] = j
            ends[length] = index
        previous[index] = ends[length - 1] if length else -1
    run = []
    index = ends[-1] if ends else -1
    while index != -1:
        run.append(candidates[index])
        index = previous[index]
    return run[::-1]
