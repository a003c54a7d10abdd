"""The raw-column fast path (normalize(lazy=True) -> Table, compare on raw keys) agrees with the
canonical path on every input: same verdict, same diff, same rows kept for the report."""

from __future__ import annotations

import uuid
from array import array
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo

import peewee
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from playhouse.sqlite_ext import JSONField
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from conftest import TWINS, twins
from harness.canonical import canonical_key
from harness.compare.rules import TenantColumns
from harness.compare.tenancy import find_leaks
from harness.compare.verdict import compare
from harness.normalize.table import Table
from harness.normalize.walk import MIN_LAZY_ROWS, normalize, normalize_rows
from harness.records import Comparison

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


@TWINS
@quick
@given(case=table_pair())
def test_tables_compare_as_canonical_rows_do(
    which: str, case: tuple[list[Any], list[Any], bool]
) -> None:
    legacy, new, ordered = case
    expected = compare(normalize(legacy), normalize(new), ordered=ordered)
    with twins(which):
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


def json_rows(value: Any, other: Any) -> tuple[list[Any], list[Any]]:
    """Rows without a unique column, the legacy side holding one copy of a row in another form
    (``other``) and one row more than the new side."""
    legacy = [{"k": 1, "v": value} for _ in range(MANY)]
    legacy[5] = {"k": 1, "v": other}
    new = [{"k": 1, "v": value} for _ in range(MANY - 1)]
    new.append({"k": 2, "v": value})
    return legacy, new


@pytest.mark.parametrize(
    ("value", "other"),
    [
        pytest.param({"a": 1, "b": 2}, {"b": 2, "a": 1}, id="json-keys-in-another-order"),
        pytest.param([1], [1.0], id="json-int-vs-float"),
    ],
)
def test_rows_keyed_without_an_id_are_explained_as_canonical_rows_are(
    value: Any, other: Any
) -> None:
    """A JSON value keyed by its repr() tells some equal values apart; the rows left over are
    still the canonical path's: an extra copy of a row both sides have, shown as its first copy."""
    legacy, new = json_rows(value, other)
    expected = compare(normalize(legacy), normalize(new), ordered=False)
    got = compare(lazy(legacy), lazy(new), ordered=False)
    assert expected.diff is not None and "extra copy in legacy" in expected.diff.summary
    assert got == expected


def uuid_rows(flag: bool, layout: str) -> tuple[list[Any], list[Any]]:
    """Rows whose ``ref`` is ``UUID(int=i)``, on the new side once the bool that equals that
    UUID's int; ``layout``: compared by row keys (no unique column), by whole rows, or column by
    column (most columns mix bools and numbers)."""
    legacy: list[dict[str, Any]] = []
    for i in range(MANY):
        ref = uuid.UUID(int=i)
        if layout == "row-keys":
            legacy.append({"ref": ref, "on": i % 2 == 0})
        elif layout == "records":
            legacy.append({"n": i, "ref": ref})
        else:
            mixed = True if i == 3 else i
            legacy.append({"n": i, "ref": ref, "a": mixed, "b": mixed, "c": mixed})
    new = [dict(r) for r in legacy]
    new[int(flag)]["ref"] = flag
    return legacy, new


@pytest.mark.parametrize("ordered", [False, True], ids=["unordered", "ordered"])
@pytest.mark.parametrize("layout", ["row-keys", "records", "columns"])
@pytest.mark.parametrize("flag", [True, False])
def test_a_uuid_never_equals_the_bool_of_its_int(flag: bool, layout: str, ordered: bool) -> None:
    legacy, new = uuid_rows(flag, layout)
    assert not compare(normalize(legacy), normalize(new), ordered=ordered).equal
    assert not compare(lazy(legacy), lazy(new), ordered=ordered).equal


@pytest.mark.parametrize("ordered", [False, True], ids=["unordered", "ordered"])
def test_a_tagged_number_made_canonical_never_equals_a_bool(ordered: bool) -> None:
    """A column of two scalar types is made canonical whole; the float inside its
    ``{"$timedelta": 1.0}`` must not meet a JSON ``{"$timedelta": True}`` under ``==``."""
    legacy = [
        {"id": i, "v": timedelta(seconds=1) if i % 2 else date(2024, 1, 1)} for i in range(MANY)
    ]
    new = [
        {"id": i, "v": {"$timedelta": True} if i % 2 else {"$date": "2024-01-01"}}
        for i in range(MANY)
    ]
    assert not compare(normalize(legacy), normalize(new), ordered=ordered).equal
    assert not compare(lazy(legacy), lazy(new), ordered=ordered).equal


# Values that Python's == or a hash may confuse where canonical forms do not (and the other way
# round), by family (a column draws from one, so that most results become Tables), and for some
# of them the forms the other side may return them in: equal, or confusable.
NEW_YORK = ZoneInfo("America/New_York")
TRICKY: dict[str, list[Any]] = {
    "numbers": [
        *(None, True, False, 0, 1, 2**53 + 1, 2**60, 0.0, -0.0, 1.0, 0.1, 0.1 + 1e-12),
        *(float(2**53), float("nan"), float("inf"), Decimal("1"), Decimal("1.00")),
        *(Decimal("-0"), Decimal("0.1"), Decimal("NaN"), Decimal("Infinity"), Decimal(2**60)),
        Decimal("0.1000000000000000000001"),
    ],
    "times": [
        *(None, datetime(2024, 11, 3, 5, 30), datetime(2024, 11, 3, 5, 30, tzinfo=UTC)),
        datetime(2024, 11, 3, 7, 30, tzinfo=timezone(timedelta(hours=2))),
        datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK),
        datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK, fold=1),
        *(date(2024, 11, 3), timedelta(seconds=1), "2024-11-03"),
        time(9, 30, tzinfo=timezone(timedelta(hours=1))),
    ],
    "uuids": [uuid.UUID(int=0), uuid.UUID(int=1), str(uuid.UUID(int=1)), None],
    "bytes": [b"ab", bytearray(b"ab"), memoryview(b"ab"), "ab", None],
    "json": [
        *({"a": 1, "b": 2}, {"a": True}, [1], {"a": {"b": [0]}}, {"a": float("nan")}),
        *({"tenant": "t2"}, {"$date": "2024-11-03"}, [], 0, True, None),
    ],
}
FORMS: dict[str, list[Any]] = {
    repr(uuid.UUID(int=0)): [False, 0],
    repr(uuid.UUID(int=1)): [True, 1, str(uuid.UUID(int=1)).upper()],
    repr({"a": 1, "b": 2}): [{"b": 2, "a": 1}, {"a": 1.0, "b": 2}, {"a": True, "b": 2}],
    repr({"a": True}): [{"a": 1}],
    repr([1]): [[1.0], [True]],
    repr({"a": {"b": [0]}}): [{"a": {"b": [0.0]}}, {"a": {"b": [False]}}],
    repr(0): [0.0, False],
    repr(timedelta(seconds=1)): [{"$timedelta": True}, {"$timedelta": 1.0}, 1.0],
    repr(date(2024, 11, 3)): [{"$date": "2024-11-03"}, datetime(2024, 11, 3)],
    repr(datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK)): [
        datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK, fold=1)
    ],
    repr(time(9, 30, tzinfo=timezone(timedelta(hours=1)))): [time(8, 30, tzinfo=UTC)],
    repr(Decimal("1")): [1, 1.0, True],
    repr(b"ab"): [bytearray(b"ab"), {"$bytes": "6162"}],
}


def tricky(family: str) -> Any:
    return st.sampled_from(TRICKY[family])


@st.composite
def tricky_pair(draw: st.DrawFn) -> tuple[list[Any], list[Any], bool, float]:
    families = draw(st.lists(st.sampled_from(sorted(TRICKY)), min_size=1, max_size=3))
    pools = [draw(st.lists(tricky(f), min_size=1, max_size=3)) for f in families]
    ident = draw(st.sampled_from(["none", "int", "uuid", "messy"]))
    legacy: list[dict[str, Any]] = []
    for i in range(draw(st.sampled_from([1, 2, 3, ROWS]))):  # every list of rows is a Table
        row = {"id": i if ident != "uuid" else uuid.UUID(int=i + 9)} if ident != "none" else {}
        if ident == "messy" and draw(st.integers(0, 3)) == 0:
            row["id"] = draw(st.sampled_from([0, 1, "1", True, None]))
        legacy.append(row | {f"c{c}": draw(st.sampled_from(pool)) for c, pool in enumerate(pools)})
    new = [dict(r) for r in legacy]
    for _ in range(draw(st.integers(0, 3))):  # a row dropped, doubled or changed
        if not new:
            break
        k = draw(st.integers(0, len(new) - 1))
        step = draw(st.sampled_from(["drop", "double", "change"]))
        if step == "drop":
            del new[k]
        elif step == "double":
            new.append(dict(new[k]))
        else:
            name = draw(st.sampled_from(sorted(new[k])))
            new[k][name] = draw(tricky(families[int(name[1:])])) if name != "id" else None
    for column in range(len(families)):  # values in another form, on one side, in some rows
        name, every = f"c{column}", draw(st.booleans())
        forms = {k: draw(st.sampled_from(v)) for k, v in FORMS.items()}
        for r in draw(st.sampled_from([legacy, new])):
            if repr(r[name]) in forms and (every or draw(st.booleans())):
                r[name] = forms[repr(r[name])]
    if draw(st.booleans()):
        draw(st.randoms(use_true_random=False)).shuffle(new)
    options = draw(st.tuples(st.booleans(), st.sampled_from([1e-9, 0.0])))
    shape = draw(st.sampled_from(["dicts", "tuples", "reversed keys"]))
    if shape == "tuples":
        return [tuple(r.values()) for r in legacy], [tuple(r.values()) for r in new], *options
    if shape == "reversed keys":
        new = [dict(reversed(r.items())) for r in new]
    return legacy, new, *options


def explanation(result: Comparison) -> Any:
    """All a Comparison says, with each row it names as its canonical key."""
    if result.diff is None:
        return result.equal
    diff = result.diff
    return (
        diff.summary,
        [(c.path, c.kind, repr(c.legacy), repr(c.new)) for c in diff.changes],
        sorted(repr((canonical_key(r.row), r.count)) for r in diff.only_legacy),
        sorted(repr((canonical_key(r.row), r.count)) for r in diff.only_new),
        diff.reordered,
        diff.truncated,
    )


@TWINS
@settings(max_examples=200, deadline=None)
@given(case=tricky_pair())
def test_tricky_values_compare_and_explain_as_canonical_rows_do(
    which: str, case: tuple[list[Any], list[Any], bool, float]
) -> None:
    legacy, new, ordered, tolerance = case
    expected = compare(
        normalize(legacy), normalize(new), ordered=ordered, float_tolerance=tolerance
    )
    with twins(which):
        got = compare(lazy(legacy), lazy(new), ordered=ordered, float_tolerance=tolerance)
    assert explanation(got) == explanation(expected)


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


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "unordered"])
@pytest.mark.parametrize("count", [1, 3, 20])
@pytest.mark.parametrize(
    ("one", "other"),
    [
        pytest.param(
            datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK),
            datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK, fold=1),
            id="the-two-0130-of-one-zone",
        ),
        pytest.param(
            time(9, 30, tzinfo=timezone(timedelta(hours=1))),
            time(8, 30, tzinfo=UTC),
            id="aware-times-of-one-instant",
        ),
        pytest.param(
            datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1))),
            datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1, minutes=30))),
            id="one-instant-before-utc-years-at-two-offsets",
        ),
        pytest.param(
            datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
            datetime(9999, 12, 31, 22, 30, tzinfo=timezone(timedelta(hours=-2))),
            id="one-instant-after-utc-years-at-two-offsets",
        ),
        pytest.param(
            memoryview(array("h", [1])),
            memoryview(array("i", [1])),
            id="memoryviews-of-equal-items-and-other-bytes",
        ),
    ],
)
def test_values_equal_under_eq_with_other_canonical_forms_are_not_equal_results(
    one: Any, other: Any, count: int, ordered: bool
) -> None:
    """``==`` holds between these (wall time within a zone, instants of times and of
    datetimes UTC cannot write, items of memoryviews), their canonical forms differ: the raw
    columns are equal, the results are not."""
    assert one == other
    legacy = [{"id": i, "at": one} for i in range(count)]
    new = [{"id": i, "at": other} for i in range(count)]
    assert not compare(normalize(legacy), normalize(new), ordered=ordered).equal
    assert not compare(lazy(legacy), lazy(new), ordered=ordered).equal


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "unordered"])
@pytest.mark.parametrize("count", [1, 3, 20])
def test_a_signaling_nan_compares_as_the_nan_it_becomes(count: int, ordered: bool) -> None:
    """``==`` on ``Decimal("sNaN")`` raises; its canonical form is NaN, equal to any NaN."""
    legacy = [{"id": i, "n": Decimal("sNaN")} for i in range(count)]
    new = [{"id": i, "n": Decimal("NaN") if i % 2 else Decimal("sNaN")} for i in range(count)]
    assert compare(normalize(legacy), normalize(new), ordered=ordered).equal
    assert compare(lazy(legacy), lazy(new), ordered=ordered).equal
    new[0]["n"] = Decimal(1)
    expected = compare(normalize(legacy), normalize(new), ordered=ordered)
    assert explanation(compare(lazy(legacy), lazy(new), ordered=ordered)) == explanation(expected)


# ORM instances kept as Tables: columns of every kind an ORM types, under other attribute names.
class PwBase(peewee.Model):
    pass


class PwTicket(PwBase):
    id = peewee.IntegerField(primary_key=True)
    active = peewee.BooleanField(column_name="isActive", null=True)
    doc = JSONField(null=True)
    amount = peewee.DecimalField(null=True)
    at = peewee.DateTimeField(column_name="createdAt", null=True)
    ref = peewee.UUIDField(null=True)
    blob = peewee.BlobField(null=True)
    organization = peewee.TextField(column_name="organizationId", null=True)


class SaBase(DeclarativeBase):
    pass


class SaTicket(SaBase):
    __tablename__ = "ticket"
    id: Mapped[int] = mapped_column(primary_key=True)
    is_active: Mapped[Any] = mapped_column("isActive", sa.Boolean, nullable=True)
    doc: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    amount: Mapped[Any] = mapped_column(sa.Numeric(10, 2), nullable=True)
    created: Mapped[Any] = mapped_column("createdAt", sa.DateTime(timezone=True), nullable=True)
    ref: Mapped[Any] = mapped_column(sa.Uuid, nullable=True)
    blob: Mapped[Any] = mapped_column(sa.LargeBinary, nullable=True)
    org: Mapped[Any] = mapped_column("organizationId", sa.Text, nullable=True)


# Physical column: (peewee attribute, SQLAlchemy attribute, values either side may hold).
TICKET: dict[str, tuple[str, str, list[Any]]] = {
    "isActive": ("active", "is_active", [0, 1, 2, True, False, None]),
    "doc": (
        "doc",
        "doc",
        [{"a": 1}, {"a": True}, {"a": 1.0}, [True], [1], "x", '{"a": 1}', 1, True, None],
    ),
    "amount": ("amount", "amount", [Decimal("1.50"), Decimal("1.5"), 1.5, 1, True, None]),
    "createdAt": (
        "at",
        "created",
        [datetime(2024, 11, 3, 5, 30), datetime(2024, 11, 3, 5, 30, tzinfo=UTC), date(2024, 1, 1)],
    ),
    "ref": ("ref", "ref", [uuid.UUID(int=1), str(uuid.UUID(int=1)), None]),
    "blob": ("blob", "blob", [b"ab", memoryview(b"ab"), "ab", None]),
    "organizationId": ("organization", "org", ["t1", "t2", 1, None]),
}


def pw_ticket(values: dict[str, Any]) -> PwTicket:
    """A peewee instance as a query returns it: its loaded fields, nothing dirty."""
    row = PwTicket(__no_default__=True, **ticket_attributes(values, 0))
    row._dirty.clear()
    return row


def sa_ticket(values: dict[str, Any]) -> SaTicket:
    return SaTicket(**ticket_attributes(values, 1))


def ticket_attributes(values: dict[str, Any], orm: int) -> dict[str, Any]:
    """Values by physical column as keyword arguments of an ORM's constructor (0: peewee)."""
    return {TICKET[c][orm] if c in TICKET else c: v for c, v in values.items()}


def side_rows(form: str, rows: list[dict[str, Any]]) -> list[Any]:
    if form == "dicts":
        return [dict(r) for r in rows]
    return [(pw_ticket if form == "peewee" else sa_ticket)(r) for r in rows]


@st.composite
def ticket_pair(draw: st.DrawFn) -> tuple[list[Any], list[Any], bool]:
    columns = draw(st.lists(st.sampled_from(sorted(TICKET)), min_size=1, max_size=3, unique=True))
    legacy = [
        {"id": i} | {c: draw(st.sampled_from(TICKET[c][2])) for c in columns}
        for i in range(draw(st.sampled_from([1, 2, 3, 8, 20])))
    ]
    new = [dict(r) for r in legacy]
    for _ in range(draw(st.integers(0, 2))):
        row, column = draw(st.sampled_from(new)), draw(st.sampled_from(columns))
        row[column] = draw(st.sampled_from(TICKET[column][2]))
    if draw(st.booleans()):
        draw(st.randoms(use_true_random=False)).shuffle(new)
    forms = ["peewee", "sqlalchemy", "dicts"]
    form_l, form_r = draw(st.sampled_from(forms)), draw(st.sampled_from(forms))
    return side_rows(form_l, legacy), side_rows(form_r, new), draw(st.booleans())


@TWINS
@settings(max_examples=100, deadline=None)
@given(case=ticket_pair())
def test_orm_instances_compare_and_guard_tenants_as_canonical_rows_do(
    which: str, case: tuple[list[Any], list[Any], bool]
) -> None:
    legacy, new, ordered = case
    canonical_l, canonical_r = normalize(legacy), normalize(new)
    expected = compare(canonical_l, canonical_r, ordered=ordered)
    with twins(which):
        table_l, table_r = lazy(legacy), lazy(new)
        assert explanation(compare(table_l, table_r, ordered=ordered)) == explanation(expected)
        # The tenant column a text one, a boolean one, and a key inside the JSON column.
        for tenant, column in product(("t1", 1), ("organizationId", "isActive", "a")):
            rule = TenantColumns(default=column)
            assert find_leaks(tenant, rule, legacy=table_l, new=table_r) == find_leaks(
                tenant, rule, legacy=canonical_l, new=canonical_r
            )
