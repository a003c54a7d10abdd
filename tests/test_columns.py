"""The raw-column fast path (normalize(lazy=True) -> Table, compare on raw keys) agrees with the
canonical path on every input: same verdict, same diff, same rows kept for the report."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.canonical import canonical_key
from harness.compare.verdict import compare
from harness.normalize.table import Table
from harness.normalize.walk import MIN_LAZY_ROWS, normalize, normalize_rows

quick = settings(max_examples=150, deadline=None)
# Rows of a test table: enough for the line-up by a unique column, and made a Table.
MANY = max(MIN_LAZY_ROWS, 16)
ROWS = MANY + 4

naive = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1))
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)), ZoneInfo("Europe/Paris")]
)
decimals = st.one_of(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, max_value=10**6, min_value=-(10**6)
    ),
    st.sampled_from(
        [Decimal("1.50"), Decimal("1.5"), Decimal(2**60), Decimal("NaN"), Decimal("0.1")]
    ),
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        st.sampled_from([1.0, 0.5]),
        st.text(max_size=3),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abc"), inner, max_size=3)
    ),
    max_leaves=6,
)
# One column kind: values that one side may return, and equal forms the other side may return.
KINDS: dict[str, Any] = {
    "text": st.text(max_size=4),
    "int": st.integers(-(2**60), 2**60),
    "float": st.floats(allow_nan=True, allow_infinity=False, width=64),
    "bool": st.booleans(),
    "decimal": decimals,
    "naive": naive,
    "aware": st.builds(lambda d, tz: d.replace(tzinfo=tz), naive, offsets),
    "date": st.dates(),
    "uuid": st.uuids(),
    "json": json_values,
    "mixed": st.one_of(st.booleans(), st.integers(0, 2), st.just(1.0), st.text(max_size=2)),
}


IDS: dict[str, Any] = {
    "text": st.text(max_size=3),
    "int": st.integers(-(2**40), 2**40),
    "uuid": st.uuids(),
}


def equal_form(value: Any) -> Any:
    """Another form of the same canonical value, where one exists."""
    if isinstance(value, Decimal) and value.is_finite() and value == float(value):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, uuid.UUID):
        return str(value)
    if value.__class__ is int and abs(value) < 2**53:
        return float(value)
    if isinstance(value, dict):
        return dict(reversed(value.items()))
    return value


def confusable_form(value: Any) -> Any:
    """A different canonical value that Python's == (or a hash) might take for this one."""
    if value is True or value is False:
        return int(value)
    if value.__class__ is int:
        return value == 1 if value in (0, 1) else value + 1
    if isinstance(value, Decimal) and value.is_finite():
        return Decimal(int(value) + 1) if value == int(value) else value.next_plus()
    if isinstance(value, datetime):
        return (
            value.date()
            if value.tzinfo is None
            else value.replace(tzinfo=None) + timedelta(hours=1)
        )
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, uuid.UUID):
        return value.int
    if isinstance(value, dict):
        return {k: (int(v) if v is True or v is False else [v]) for k, v in value.items()} or [{}]
    if isinstance(value, list):
        return [*value, None]
    return value


@st.composite
def table_pair(draw: st.DrawFn) -> tuple[list[Any], list[Any], bool]:
    names = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=4, unique=True))
    nullable = {n: draw(st.booleans()) for n in names}
    pools = {
        n: draw(
            st.lists(
                KINDS[n] | (st.none() if nullable[n] else st.nothing()), min_size=1, max_size=4
            )
        )
        for n in names
    }
    legacy = [
        {n: pools[n][draw(st.integers(0, len(pools[n]) - 1))] for n in names} for _ in range(ROWS)
    ]
    ident = draw(st.sampled_from([None, "text", "int", "uuid"]))
    if ident is not None:  # a unique id first, as most results have: the rows line up by it
        ids = draw(st.lists(IDS[ident], min_size=ROWS + 2, max_size=ROWS + 2, unique=True))
        legacy = [{"id": ids[i], **r} for i, r in enumerate(legacy)]
        names = ["id", *names]
        pools["id"] = ids
    new = [dict(r) for r in legacy]
    if ident is not None:  # rows one side lacks: dropped, added, an id returned twice
        for _ in range(draw(st.integers(0, 2))):
            del new[draw(st.integers(0, len(new) - 1))]
        for extra in ids[ROWS:][: draw(st.integers(0, 2))]:
            new.append({**new[0], "id": extra})
        if draw(st.integers(0, 9)) == 0:
            new.append(dict(new[-1]))
    draw(st.randoms(use_true_random=False)).shuffle(new)
    for r in new:  # some values in another form of the same value, some changed
        for n in names:
            choice = draw(st.sampled_from(["same", "same", "form", "other", "confusable"]))
            if choice == "form":
                r[n] = equal_form(r[n])
            elif choice == "other" and draw(st.integers(0, 9)) == 0:
                r[n] = pools[n][draw(st.integers(0, len(pools[n]) - 1))]
            elif choice == "confusable" and draw(st.integers(0, 19)) == 0:
                r[n] = confusable_form(r[n])
    shape = draw(st.sampled_from(["dicts", "tuples"]))
    if shape == "tuples":
        legacy = [tuple(r.values()) for r in legacy]
        new = [tuple(r[n] for n in names) for r in new]
    return legacy, new, draw(st.booleans())


def lazy(value: Any) -> Any:
    return normalize_rows(value, lazy=True)[0]


@quick
@given(table_pair())
def test_tables_compare_as_canonical_rows_do(case: tuple[list[Any], list[Any], bool]) -> None:
    legacy, new, ordered = case
    expected = compare(normalize(legacy), normalize(new), ordered=ordered)
    got = compare(lazy(legacy), lazy(new), ordered=ordered)
    assert got.equal == expected.equal
    if not expected.equal:
        assert got.diff is not None and expected.diff is not None
        assert {(c.path, c.kind) for c in got.diff.changes} == {
            (c.path, c.kind) for c in expected.diff.changes
        }
        for mine, theirs in (
            (got.diff.only_legacy, expected.diff.only_legacy),
            (got.diff.only_new, expected.diff.only_new),
        ):
            # The same rows; a row's copies may differ in form (JSON keys in another order).
            assert sorted(repr((canonical_key(r.row), r.count)) for r in mine) == sorted(
                repr((canonical_key(r.row), r.count)) for r in theirs
            )


@quick
@given(table_pair())
def test_a_table_builds_the_canonical_rows(case: tuple[list[Any], list[Any], bool]) -> None:
    legacy, _, _ = case
    table = lazy(legacy)
    assert table.__class__ is Table
    assert table.rows() == normalize(legacy)
    assert table.head(3) == normalize(legacy)[:3]
    assert [table.row(i) for i in range(len(table))] == normalize(legacy)


def test_same_rows_in_another_order_are_equal_and_no_row_is_built() -> None:
    rows = [
        {"id": i, "at": datetime(2024, 1, 1) + timedelta(hours=i), "n": Decimal(i) / 4}
        for i in range(100)
    ]
    left, right = lazy(rows), lazy(list(reversed(rows)))
    assert compare(left, right, ordered=False).equal
    assert left._rows is None and right._rows is None
    assert not compare(left, right, ordered=True).equal


def row_with(i: int, value: Any, wide: bool) -> dict[str, Any]:
    """Row ``i`` holding ``value``; ``wide``: with more columns whose raw values compare as
    they are, so that whole rows are compared and ``v`` is judged apart."""
    if not wide:
        return {"k": i, "v": value}
    return {"k": i, "name": f"n{i}", "n": i * 2, "at": date(2024, 1, 1 + i % 28), "v": value}


WIDTHS = pytest.mark.parametrize("wide", [False, True], ids=["narrow", "wide"])


@WIDTHS
@pytest.mark.parametrize(
    ("legacy", "new"),
    [
        pytest.param(Decimal("0.1"), 0.1, id="decimal-vs-float"),
        pytest.param(
            datetime(2024, 1, 1, 12), datetime(2024, 1, 1, 12, tzinfo=UTC), id="naive-vs-aware"
        ),
        pytest.param(uuid.UUID(int=5), str(uuid.UUID(int=5)), id="uuid-vs-text"),
        pytest.param({"a": 1, "b": 2}, {"b": 2, "a": 1}, id="json-keys-in-another-order"),
        pytest.param(Decimal(2**60), 2**60, id="big-integral-decimal-vs-int"),
    ],
)
def test_equal_forms_that_raw_values_do_not_share(legacy: Any, new: Any, wide: bool) -> None:
    rows_l = [row_with(i, legacy, wide) for i in range(MANY)]
    rows_r = [row_with(i, new, wide) for i in reversed(range(MANY))]
    assert compare(lazy(rows_l), lazy(rows_r), ordered=False).equal


@WIDTHS
@pytest.mark.parametrize(
    ("legacy", "new"),
    [
        pytest.param(True, 1, id="bool-vs-int"),
        pytest.param(Decimal(2**60 + 1), 2**60, id="big-decimal-off-by-one"),
        pytest.param(date(2024, 1, 1), datetime(2024, 1, 1), id="date-vs-datetime"),
        pytest.param(uuid.UUID(int=5), 5, id="uuid-vs-its-int"),
        pytest.param({"a": True}, {"a": 1}, id="json-bool-vs-int"),
    ],
)
def test_raw_keys_never_join_what_differs(legacy: Any, new: Any, wide: bool) -> None:
    rows_l = [row_with(i, legacy, wide) for i in range(MANY)]
    rows_r = [row_with(i, new, wide) for i in range(MANY)]
    assert not compare(lazy(rows_l), lazy(rows_r), ordered=False).equal


@WIDTHS
@pytest.mark.parametrize(
    ("one", "other"),
    [
        pytest.param(True, 1, id="bool-and-int"),
        pytest.param(False, 0.0, id="bool-and-float"),
        pytest.param(True, Decimal(1), id="bool-and-decimal"),
        pytest.param({"a": True}, {"a": 1}, id="json-bool-and-int"),
    ],
)
def test_equal_raw_columns_of_bools_and_numbers_are_not_equal_results(
    one: Any, other: Any, wide: bool
) -> None:
    """Both sides hold the same types in a column, in other places: ``==`` on the raw columns
    holds (``True == 1``), the canonical rows differ."""
    values = [one, other] * (MANY // 2)
    rows_l = [row_with(i, v, wide) for i, v in enumerate(values)]
    rows_r = [row_with(i, v, wide) for i, v in enumerate([*values[1:], values[0]])]
    left, right = lazy(rows_l), lazy(rows_r)
    assert left.columns == right.columns
    assert not compare(left, right, ordered=True).equal


def test_the_same_raw_values_are_equal_and_no_row_is_built() -> None:
    rows = [
        {"id": i, "at": datetime(2024, 1, 1) + timedelta(hours=i), "n": Decimal(i) / 4}
        for i in range(MANY)
    ]
    left, right = lazy(rows), lazy([dict(r) for r in rows])
    assert compare(left, right, ordered=True).equal
    assert left._rows is None and right._rows is None
