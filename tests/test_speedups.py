"""The C twins of harness/speedups.py against their Python twins, on drawn data: the same
columns (the very objects), the same types, the same JSON facts, the same differing positions.
A twin that gave up (None) leaves the work to the Python one, so the public functions are
compared with the C twins on and off."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import NATIVE, TWINS, twins
from harness.compare import columns as compare_columns
from harness.normalize import table

quick = settings(max_examples=200, deadline=None)


def both(call: Any, *args: Any) -> tuple[Any, Any]:
    with twins("c"):
        by_c = call(*args)
    with twins("python"):
        by_python = call(*args)
    return by_c, by_python


def same_typed(by_c: Any, by_python: Any) -> None:
    """Two ``(columns, founds)``: the same objects in the same places, the same types."""
    assert (by_c is None) == (by_python is None)
    if by_c is None:
        return
    columns_c, founds_c = by_c
    columns_p, founds_p = by_python
    assert founds_c == founds_p
    assert len(columns_c) == len(columns_p)
    for column_c, column_p in zip(columns_c, columns_p, strict=True):
        assert len(column_c) == len(column_p)
        assert all(a is b for a, b in zip(column_c, column_p, strict=True))


class Hashed(type):
    """A metaclass that hashes its classes in Python (code that could change rows mid-read)."""

    def __hash__(cls) -> int:
        return 7


class Compared(type):
    """A metaclass that compares its classes in Python."""

    def __eq__(cls, other: object) -> bool:
        return cls is other

    __hash__ = type.__hash__


class Odd(metaclass=Hashed):
    pass


class Odder(metaclass=Compared):
    pass


def _odd() -> Any:
    return Odd()


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.decimals(allow_nan=False, places=2, max_value=100, min_value=-100),
    st.datetimes(timezones=st.sampled_from([None, UTC])),
    st.dates(),
    st.uuids(),
    st.builds(_odd),
)
json_like = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        st.floats(allow_nan=False),
        st.text(max_size=2),
        st.sampled_from([Decimal(1), (1, 2), b"x", date(2024, 1, 1)]),  # none of them JSON
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
        st.dictionaries(st.sampled_from([1, "a"]), inner, max_size=2),  # a key not a str
        st.builds(OrderedDict, st.dictionaries(st.just("a"), inner, max_size=1)),
    ),
    max_leaves=8,
)


def test_the_c_twins_are_built_unless_switched_off() -> None:
    """CI builds the package from source with a compiler: the C twins must be there (a failed
    build would leave the install quietly slow)."""
    if os.environ.get("HARNESS_PURE_PYTHON", "") not in ("", "0"):
        assert NATIVE is None
        return
    assert NATIVE is not None, "harness/_speedups.c was not built; see the install log"


def test_harness_pure_python_switches_the_c_twins_off() -> None:
    code = "from harness import speedups; print(speedups.native is None)"
    env = {**os.environ, "HARNESS_PURE_PYTHON": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "True"


@quick
@given(st.integers(0, 4).flatmap(lambda w: st.lists(st.tuples(*[scalars] * w), max_size=12)))
def test_tuple_rows_read_into_the_same_columns(rows: list[tuple[Any, ...]]) -> None:
    width = len(rows[0]) if rows else 2
    same_typed(*both(table.tuple_columns, rows, width))


def test_tuple_rows_the_c_twin_leaves_to_python() -> None:
    """Rows of another length, or a value whose class is hashed in Python: None from the C
    twin, and the public function still reads them (by the Python twin)."""
    assert NATIVE is None or NATIVE.tuple_columns([(1, 2), (1,)], 2) is None
    for odd in (Odd(), Odder()):
        rows = [(1, odd), (2, "x")]
        if NATIVE is not None:
            assert NATIVE.tuple_columns(rows, 2) is None
            assert NATIVE.dict_columns([{"a": odd}], ("a",), (0,)) is None
        columns, founds = table.tuple_columns(rows, 2)
        assert columns[1][0] is odd and founds == [{int}, {type(odd), str}]


@st.composite
def dict_rows(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[str]]:
    keys = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, unique=True))
    rows = [{k: draw(scalars) for k in keys} for _ in range(draw(st.integers(1, 10)))]
    for _ in range(draw(st.integers(0, 2))):  # a row in another key order, or other keys
        row = draw(st.sampled_from(rows))
        step = draw(st.sampled_from(["reverse", "extra", "drop", "copy"]))
        if step == "reverse":
            items = list(row.items())
            row.clear()
            row.update(reversed(items))
        elif step == "extra":
            row["e"] = 1
        elif step == "drop" and row:
            row.pop(next(iter(row)))
        else:
            rows.append(dict(row))
    names = draw(st.lists(st.sampled_from(keys), min_size=1, unique=True))
    return rows, names


@quick
@given(dict_rows())
def test_dict_rows_read_into_the_same_columns(case: tuple[list[dict[str, Any]], list[str]]) -> None:
    rows, names = case
    same_typed(*both(table.dict_columns, rows, names))


def test_a_key_read_twice_is_left_to_python() -> None:
    rows = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    if NATIVE is not None:
        assert NATIVE.dict_columns(rows, ("a", "b"), (0, 0)) is None
    assert table.dict_columns(rows, ["a", "a"]) == ([[1, 2], [1, 2]], [{int}, {int}])


@quick
@given(st.lists(json_like, max_size=6))
def test_json_values_give_the_same_facts(values: list[Any]) -> None:
    by_c, by_python = both(table.nested_facts, values)
    assert by_c == by_python


@TWINS
def test_json_nested_past_the_limit_or_holding_itself_has_no_facts(which: str) -> None:
    deep: Any = "leaf"
    for _ in range(table.DEEPEST):
        deep = [deep]
    deeper = [deep]
    itself: list[Any] = []
    itself.append(itself)
    with twins(which):
        assert table.nested_facts([deep]) == (frozenset(), frozenset({list, str}))
        assert table.nested_facts([deeper]) is None
        assert table.nested_facts([{"a": itself}]) is None


uniques = st.lists(
    st.one_of(st.integers(-5, 5), st.text(max_size=2), st.uuids(), st.booleans(), st.none()),
    max_size=10,
)


@st.composite
def paired_columns(draw: st.DrawFn) -> tuple[list[Any], list[Any], Any, Any, int]:
    """Two columns and the rows paired between them: ``count`` pairs, each side's index list
    naming its row of each pair (None: row p itself, for a side of exactly ``count`` rows)."""
    left, right = draw(uniques), draw(uniques)
    count = draw(st.integers(0, min(len(left), len(right))))

    def index(values: list[Any]) -> Any:
        picked = st.permutations(range(len(values))).map(lambda order: order[:count])
        return draw(st.one_of(st.none(), picked) if len(values) == count else picked)

    return left, right, index(left), index(right), count


@quick
@given(paired_columns())
def test_columns_differ_at_the_same_positions(case: Any) -> None:
    left, right, index_l, index_r, count = case
    views = [(left, right, set(), True), (left[::-1], tuple(right[::-1]), set(), True)]
    by_c, by_python = both(compare_columns._differing, views, index_l, index_r, count)
    assert by_c == by_python
    at_l = range(count) if index_l is None else index_l
    at_r = range(count) if index_r is None else index_r
    first = {p for p, (i, j) in enumerate(zip(at_l, at_r, strict=True)) if left[i] != right[j]}
    assert first <= by_c  # and the second view's positions on top
    with twins("python"):
        assert compare_columns._differing(views[:1], index_l, index_r, count) == first


def test_an_error_raised_by_equality_reaches_the_caller() -> None:
    from decimal import InvalidOperation

    views = [([Decimal("sNaN")], [Decimal(1)], set(), True)]
    for which in ("c", "python"):
        with twins(which), pytest.raises(InvalidOperation):
            compare_columns._differing(views, None, None, 1)


def test_an_index_beyond_its_column_is_an_error_not_a_crash() -> None:
    if NATIVE is None:
        pytest.skip("the C twins are not built")
    with pytest.raises(IndexError):
        NATIVE.differing([1], [1], [5], None, 1)
    with pytest.raises(IndexError):
        NATIVE.differing([1, 2], [1, 2], [0], None, 2)
    with pytest.raises(TypeError, match=r"differing\(left, right"):
        NATIVE.differing([1], [1])
    with pytest.raises(TypeError, match="json_facts"):
        NATIVE.json_facts((1,), 5)


def test_realistic_rows_read_the_same_both_ways() -> None:
    """The benchmark's kind of rows (Decimal, datetimes, UUID, JSON, NULLs) through a whole
    lazy normalize: the same Table columns and types."""
    from harness.normalize.walk import normalize_rows

    rows = [
        {
            "id": f"r{i}",
            "amount": Decimal(i) / 100,
            "at": datetime(2024, 1, 1, tzinfo=UTC) if i % 3 else None,
            "ref": uuid.UUID(int=i),
            "doc": {"steps": ["a"] * (i % 3), "done": i % 2 == 0} if i % 5 else None,
        }
        for i in range(60)
    ]
    by_c, by_python = both(lambda values: normalize_rows(values, lazy=True)[0], rows)
    assert by_c.__class__ is table.Table and by_python.__class__ is table.Table
    same_typed((by_c.columns, by_c.founds), (by_python.columns, by_python.founds))
    assert (by_c.nested_keys, by_c.nested_types) == (by_python.nested_keys, by_python.nested_types)
