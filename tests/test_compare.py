"""compare(): the verdict on two normalized results, and a diff a person can act on."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.canonical import canonical_key
from harness.compare.depths import Depths, identical
from harness.compare.verdict import compare
from harness.errors import ConfigError
from harness.normalize.walk import normalize, normalize_rows
from harness.records import MAX_DIFF_ENTRIES, Change, Diff, RowCount

NAIVE = datetime(2024, 5, 1, 12, 0)
AWARE = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))


def verdict(legacy: Any, new: Any, **options: Any) -> bool:
    options.setdefault("ordered", False)
    return compare(normalize(legacy), normalize(new), **options).equal


EQUAL = [
    pytest.param(Decimal("1.50"), 1.5, id="decimal-vs-float"),
    pytest.param([{"p": Decimal("1.50")}], [{"p": 1.5}], id="decimal-vs-float-in-rows"),
    pytest.param(NAIVE, AWARE, id="naive-vs-aware-same-instant"),
    pytest.param([{"at": NAIVE}], [{"at": AWARE.astimezone(UTC)}], id="datetimes-in-rows"),
    pytest.param(1, 1.0, id="int-vs-float"),
    pytest.param([{"n": 3}], [{"n": 2.9999999999999996}], id="int-vs-float-within-tolerance"),
    pytest.param([{"x": 0.1 + 0.2}], [{"x": 0.3}], id="float-rounding"),
    pytest.param([{"x": float("nan")}], [{"x": Decimal("NaN")}], id="nan-equals-nan"),
    pytest.param(["a", "b"], ["b", "a"], id="unordered-rows"),
    pytest.param([[1, 2], [3]], [[3], [1, 2]], id="unordered-list-rows"),
    pytest.param([], (), id="empty"),
    pytest.param([{}, {}], [{}, {}], id="empty-rows"),
    pytest.param({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, id="nested"),
    pytest.param([{"x": 1, "b": True}], [{"b": True, "x": 1}], id="keys-in-another-order"),
    pytest.param(
        [{"a": [1, {"b": [True, None]}], "c": "x"}],
        [{"a": [1, {"b": [True, None]}], "c": "x"}],
        id="bools-at-mixed-depths",
    ),
]

NOT_EQUAL = [
    pytest.param("1", 1, id="str-vs-int"),
    pytest.param(None, "", id="none-vs-empty"),
    pytest.param([{"a": None}], [{"a": ""}], id="none-vs-empty-in-rows"),
    pytest.param(True, 1, id="bool-vs-int"),
    pytest.param([{"b": True}], [{"b": 1}], id="bool-vs-int-in-rows"),
    pytest.param([{"b": False, "n": 1}], [{"b": 0, "n": 1}], id="bool-vs-int-column"),
    pytest.param([{"id": 1}], [{"id": 1}, {"id": 1}], id="duplicated-row"),
    pytest.param([{}], [{}, {}], id="duplicated-empty-row"),
    pytest.param([{"a": 1, "b": None}], [{"a": 1}], id="missing-key-vs-none"),
    pytest.param({"a": None}, {}, id="missing-key-vs-none-in-dict"),
    pytest.param([{"x": 1.0}], [{"x": 1.001}], id="float-beyond-tolerance"),
    pytest.param([2**60], [2**60 + 1], id="ints-exact-however-large"),
    pytest.param([[1, 2]], [[2, 1]], id="nested-lists-in-order"),
    pytest.param({"$date": "2024-05-01"}, "2024-05-01", id="date-vs-its-text"),
    # Python says these are ==; the key order must not let True meet 1 unseen.
    pytest.param([{"x": True, "y": 1}], [{"y": True, "x": 1}], id="bool-vs-int-keys-reordered"),
    pytest.param([{"a": [{"b": True}]}], [{"a": [{"b": 1}]}], id="bool-vs-int-nested"),
    pytest.param([[True, {"k": 1}]], [[1, {"k": 1}]], id="bool-vs-int-in-a-mixed-list"),
    pytest.param([1.0], [True], id="bool-vs-float"),
]


@pytest.mark.parametrize(("legacy", "new"), EQUAL)
def test_equal(legacy: Any, new: Any) -> None:
    assert verdict(legacy, new)
    assert verdict(new, legacy)


@pytest.mark.parametrize(("legacy", "new"), NOT_EQUAL)
def test_not_equal(legacy: Any, new: Any) -> None:
    assert not verdict(legacy, new)
    assert not verdict(new, legacy)


def test_order_counts_only_when_ordered() -> None:
    assert verdict(["a", "b"], ["b", "a"], ordered=False)
    assert not verdict(["a", "b"], ["b", "a"], ordered=True)


def test_float_noise_in_many_shuffled_rows_is_equal() -> None:
    legacy = [{"id": f"r{i}", "avg": i / 3, "n": i} for i in range(500)]
    new = [{"id": f"r{i}", "avg": (i / 3) * (1 + 1e-13), "n": float(i)} for i in range(500)]
    random.Random(3).shuffle(new)
    assert verdict(legacy, new)
    new[7]["avg"] += 1
    assert not verdict(legacy, new)


def test_tolerance_is_configurable() -> None:
    assert not verdict([{"x": 0.1 + 0.2}], [{"x": 0.3}], float_tolerance=0.0)
    assert verdict([{"x": 100.0}], [{"x": 100.5}], float_tolerance=0.01)


# --- diffs ---------------------------------------------------------------------------------


def diff_of(legacy: Any, new: Any, **options: Any) -> Diff:
    result = compare(normalize(legacy), normalize(new), **options)
    assert not result.equal
    assert result.diff is not None
    json.dumps(result.diff.to_json())  # what results.json will hold
    return result.diff


def test_ordered_change_names_path_and_both_values() -> None:
    legacy = [{"id": i, "title": f"t{i}"} for i in range(20)]
    new = [dict(row) for row in legacy]
    new[12]["title"] = "flipper"
    legacy[12]["title"] = "Flipper"
    diff = diff_of(legacy, new, ordered=True)
    assert diff.changes == (Change("[12].title", "changed", "Flipper", "flipper"),)
    assert diff.summary == '1 row changed; [12].title: "Flipper" != "flipper"'


def test_nested_change_path() -> None:
    legacy = {"id": "i1", "comments": [{"content": "a"}, {"content": "b"}]}
    new = {"id": "i1", "comments": [{"content": "a"}, {"content": "B"}]}
    diff = diff_of(legacy, new, ordered=False)
    assert diff.changes == (Change("comments[1].content", "changed", "b", "B"),)


def test_type_difference_is_shown_with_both_reprs() -> None:
    diff = diff_of([{"id": "a", "n": "1"}], [{"id": "a", "n": 1}], ordered=False)
    assert diff.changes == (Change('[id="a"].n', "changed", "1", 1),)
    assert '"1" != 1' in diff.summary


def test_missing_key_is_removed_not_changed() -> None:
    diff = diff_of({"a": 1, "b": None}, {"a": 1, "c": 2}, ordered=False)
    assert set(diff.changes) == {Change("b", "removed", None, None), Change("c", "added", None, 2)}


def test_unordered_rows_only_on_one_side_with_counts() -> None:
    legacy = [{"id": 1}, {"id": 2}, {"id": 2}, {"id": 3}]
    new = [{"id": 1}, {"id": 2}, {"id": 4}]
    diff = diff_of(legacy, new, ordered=False)
    assert diff.only_legacy == (RowCount({"id": 2}, 1), RowCount({"id": 3}, 1))
    assert diff.only_new == (RowCount({"id": 4}, 1),)
    assert diff.summary.startswith(
        "1 row only in legacy, 1 extra copy in legacy of rows both have, 1 row only in new"
    )


def test_unordered_rows_with_the_same_id_are_one_changed_row() -> None:
    legacy = [{"id": "a", "title": "x"}, {"id": "b", "title": "Flipper"}]
    new = [{"id": "b", "title": "flipper"}, {"id": "a", "title": "x"}, {"id": "c", "title": "y"}]
    diff = diff_of(legacy, new, ordered=False)
    assert diff.changes == (Change('[id="b"].title', "changed", "Flipper", "flipper"),)
    assert diff.only_legacy == ()
    assert diff.only_new == (RowCount({"id": "c", "title": "y"}, 1),)
    assert (
        diff.summary == '1 row only in new, 1 row changed; [id="b"].title: "Flipper" != "flipper"'
    )


def test_unordered_rows_without_id_pair_by_most_fields() -> None:
    legacy = [{"name": "a", "city": "x", "zip": "1"}, {"name": "b", "city": "y", "zip": "2"}]
    new = [{"name": "b", "city": "y", "zip": "2"}, {"name": "a", "city": "x", "zip": "9"}]
    diff = diff_of(legacy, new, ordered=False)
    assert diff.changes == (Change("[0].zip", "changed", "1", "9"),)


def test_ordered_same_rows_other_order() -> None:
    legacy = [{"id": i} for i in range(5)]
    new = [legacy[0], legacy[2], legacy[1], legacy[3], legacy[4]]
    diff = diff_of(legacy, new, ordered=True)
    assert diff.reordered
    assert diff.changes == ()
    assert diff.summary.startswith("same rows, different order: first at [1] (id=1 in legacy, id=2")


def test_ordered_inserted_row_is_added_at_its_new_index() -> None:
    legacy = [{"id": i, "v": i} for i in range(50)]
    new = [*legacy[:10], {"id": "x", "v": -1}, *legacy[10:]]
    diff = diff_of(legacy, new, ordered=True)
    assert diff.changes == (Change("[10]", "added", None, {"id": "x", "v": -1}),)
    assert diff.summary.startswith("legacy 50 rows, new 51, 1 added")


def test_ordered_shift_by_one_row_is_one_added_and_one_removed() -> None:
    legacy = [{"id": i} for i in range(1000)]
    new = [{"id": -1}, *legacy[:-1]]
    diff = diff_of(legacy, new, ordered=True)
    assert diff.changes == (
        Change("[0]", "added", None, {"id": -1}),
        Change("[999]", "removed", {"id": 999}, None),
    )


def test_ordered_repeated_rows_align() -> None:
    legacy = [{"v": "a"}] * 5 + [{"v": "b"}] + [{"v": "a"}] * 5
    new = [{"v": "a"}] * 5 + [{"v": "c"}] + [{"v": "a"}] * 5
    diff = diff_of(legacy, new, ordered=True)
    assert diff.changes == (Change("[5].v", "changed", "b", "c"),)


def test_ordered_moved_row_says_so() -> None:
    legacy = [{"id": i} for i in range(6)] + [{"id": "extra"}]
    new = [{"id": i} for i in (1, 2, 3, 4, 5, 0)]
    diff = diff_of(legacy, new, ordered=True)
    assert diff.reordered
    assert "some rows in another order" in diff.summary


def test_nested_list_in_another_order_is_one_change() -> None:
    diff = diff_of({"tags": ["a", "b"]}, {"tags": ["b", "a"]}, ordered=True)
    assert diff.changes == (Change("tags", "changed", ["a", "b"], ["b", "a"]),)
    assert "same items, different order" in diff.summary


def test_lists_are_capped_and_truncation_counted() -> None:
    legacy = [{"id": i, "v": 0} for i in range(MAX_DIFF_ENTRIES + 30)]
    new = [{"id": i, "v": 1} for i in range(MAX_DIFF_ENTRIES + 30)]
    diff = diff_of(legacy, new, ordered=False)
    assert len(diff.changes) == MAX_DIFF_ENTRIES
    assert diff.truncated == 30


def test_scalar_difference_summary() -> None:
    assert diff_of(1, "1", ordered=False).summary == '1 != "1"'
    assert diff_of(NAIVE, NAIVE + timedelta(seconds=1), ordered=False).summary == (
        "datetime(2024-05-01T12:00:00Z) != datetime(2024-05-01T12:00:01Z)"
    )


# --- ignore and unordered paths -----------------------------------------------------------

ROWS = [
    {"id": 1, "updatedAt": 1, "author": {"email": "a", "updatedAt": 1}, "comments": [{"id": 7}]}
]
CHANGED = [
    {"id": 1, "updatedAt": 2, "author": {"email": "b", "updatedAt": 2}, "comments": [{"id": 8}]}
]


@pytest.mark.parametrize(
    ("ignore", "equal"),
    [
        pytest.param(["updatedAt"], False, id="bare-key-any-depth-rest-differs"),
        pytest.param(["updatedAt", "author.email", "comments[*].id"], True, id="all-differences"),
        pytest.param(["*At", "email", "comments"], True, id="globs-and-bare-keys"),
        pytest.param(
            ["[*].updatedAt", "author.email", "comments[*].id"], False, id="anchored-top-only"
        ),
        pytest.param(["[*].updatedAt", "[*].author", "[*].comments"], True, id="anchored-subtrees"),
        pytest.param(
            ['["updatedAt"]', "$[*].author", "[0].comments"], True, id="quoted-dollar-index"
        ),
    ],
)
def test_ignore_paths(ignore: list[str], equal: bool) -> None:
    assert verdict(ROWS, CHANGED, ignore=ignore) is equal
    assert verdict(ROWS, CHANGED, ignore=ignore, ordered=True) is equal


def test_ignore_applies_to_a_top_level_dict() -> None:
    assert verdict({"total": 1, "at": 1}, {"total": 1, "at": 2}, ignore=["$.at"])
    assert not verdict({"x": {"at": 1}}, {"x": {"at": 2}}, ignore=["$.at"])


def test_ignored_keys_do_not_show_in_the_diff() -> None:
    diff = diff_of(
        [{"id": 1, "t": "a", "u": 1}], [{"id": 1, "t": "b", "u": 2}], ordered=False, ignore=["u"]
    )
    assert diff.changes == (Change("[id=1].t", "changed", "a", "b"),)


@pytest.mark.parametrize("bad", ["", "a..b", "a[", "[x]", "$", "[*]", "a[*]b"])
def test_bad_paths_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        compare([1], [1], ordered=False, ignore=[bad])


def test_unordered_paths_compare_nested_lists_as_multisets() -> None:
    legacy = [{"id": 1, "comments": [{"id": "a"}, {"id": "b"}]}]
    new = [{"id": 1, "comments": [{"id": "b"}, {"id": "a"}]}]
    assert not verdict(legacy, new)
    assert verdict(legacy, new, unordered=["comments"])
    assert not verdict(legacy, [{"id": 1, "comments": [{"id": "b"}]}], unordered=["comments"])


# --- the fast path agrees with the definition ----------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["", "a", "1", "A"]),
    st.sampled_from([0.5, 1.0, -2.25]),
)
rows = st.lists(st.fixed_dictionaries({"a": scalars, "b": scalars, "c": scalars}), max_size=8)


def reference_equal(legacy: list[Any], new: list[Any]) -> bool:
    """Multiset equality by canonical key, row by row: the slow, obvious definition."""
    return Counter(map(canonical_key, legacy)) == Counter(map(canonical_key, new))


# No example database: the tests leave no .hypothesis directory in the working tree.
quick = settings(database=None, max_examples=200)


@quick
@given(rows, rows)
def test_fast_path_agrees_with_the_definition(legacy: list[Any], new: list[Any]) -> None:
    assert compare(legacy, new, ordered=False).equal is reference_equal(legacy, new)


@quick
@given(rows, st.randoms(use_true_random=False))
def test_shuffled_rows_are_equal_unordered(legacy: list[Any], rnd: random.Random) -> None:
    new = [dict(row) for row in legacy]
    rnd.shuffle(new)
    assert compare(legacy, new, ordered=False).equal


@quick
@given(rows.filter(bool), st.data())
def test_one_bool_turned_into_an_int_is_found(legacy: list[Any], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(legacy) - 1))
    new = [dict(row) for row in legacy]
    new[index]["a"] = True
    legacy = [dict(row) for row in legacy]
    legacy[index]["a"] = 1
    result = compare(legacy, new, ordered=False)
    assert not result.equal
    assert result.diff is not None and result.diff.summary


values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xy"), inner, max_size=2)
    ),
    max_leaves=6,
)
ragged = st.lists(st.dictionaries(st.sampled_from("abc"), values, max_size=3), max_size=6)


def without(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {k: without(v, key) for k, v in value.items() if k != key}
    if isinstance(value, list):
        return [without(v, key) for v in value]
    return value


@quick
@given(ragged, ragged, st.booleans())
def test_any_rows_agree_with_the_definition(
    legacy: list[Any], new: list[Any], ordered: bool
) -> None:
    if ordered:
        expected = list(map(canonical_key, legacy)) == list(map(canonical_key, new))
    else:
        expected = reference_equal(legacy, new)
    assert compare(legacy, new, ordered=ordered).equal is expected


@quick
@given(ragged, ragged)
def test_ignore_agrees_with_leaving_the_key_out(legacy: list[Any], new: list[Any]) -> None:
    expected = reference_equal(without(legacy, "a"), without(new, "a"))
    assert compare(legacy, new, ordered=False, ignore=["a"]).equal is expected


@pytest.mark.parametrize(
    ("legacy", "new"),
    [
        pytest.param([{"b": True, "n": 1}], [{"b": 1, "n": 1}], id="bool-vs-int"),
        pytest.param([{"x": True, "y": 1}], [{"y": True, "x": 1}], id="keys-reordered"),
        pytest.param(
            [{"id": 1, "x": Decimal("1.5")}, {"id": 2, "x": True}],
            [{"id": 1, "x": 1.5}, {"id": 2, "x": 1}],
            id="bool-in-a-converted-column",
        ),
        pytest.param(  # rows of two shapes: normalized one by one
            [{"b": True, "at": datetime(2024, 5, 1)}, {"c": 1}],
            [{"b": 1, "at": datetime(2024, 5, 1)}, {"c": 1}],
            id="short-rows-of-two-shapes",
        ),
    ],
)
def test_identical_with_flat_tables_told_by_normalize_still_sees_bools(
    legacy: Any, new: Any
) -> None:
    (left, told_left), (right, told_right) = normalize_rows(legacy), normalize_rows(new)
    depths = Depths.of(left, told_left), Depths.of(right, told_right)
    assert left == right  # Python's == cannot tell
    assert not identical(left, right, depths=depths)
    assert identical(left, [dict(row) for row in left], depths=(depths[0], depths[0]))


@pytest.mark.parametrize("doc", [None, {"steps": [1, 2], "done": True}], ids=["flat", "nested"])
def test_a_row_changes_are_those_of_the_verdict_in_column_order(doc: Any) -> None:
    """A changed row is explained column by column in its columns' order, with the verdict's
    tolerance (relative above 1: 1e6 and 1e6 + 1e-4 are no change), and a nested value equal
    on both sides is no change either."""
    legacy = [{"id": i, "a": 1, "b": "x", "big": 1e6, "doc": doc} for i in range(3)]
    new = [dict(row) for row in legacy]
    new[1] = {"id": 1, "a": 2, "b": None, "big": 1e6 + 1e-4, "doc": doc and dict(doc)}
    result = compare(normalize(legacy), normalize(new), ordered=False)
    assert result.diff is not None
    assert [(c.path, c.legacy, c.new) for c in result.diff.changes] == [
        ("[id=1].a", 1, 2),
        ("[id=1].b", "x", None),
    ]


EXPLAIN_NESTED = """
from harness.compare.verdict import compare
from harness.normalize.walk import normalize
legacy = [{"id": i, "b": "x", "a": 1, "doc": {"k": list(range(12)), "on": True}} for i in range(3)]
new = [dict(row) for row in legacy]
k = [*range(12)]
k[2], k[10] = 20, 100
new[1] = {"id": 1, "b": None, "a": 2, "doc": {"k": k, "on": True, "n": 1}}
result = compare(normalize(legacy), normalize(new), ordered=False)
print([(c.path, c.kind) for c in result.diff.changes])
"""


def test_a_nested_row_is_explained_in_the_same_order_whatever_the_hash_seed() -> None:
    """DeepDiff, which explains nested values, groups its findings in an order that follows the
    hash seed; the explanation (in results.json, in the report) must not change between runs."""
    orders = set()
    for seed in ("0", "1", "7", "42"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", EXPLAIN_NESTED], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        orders.add(done.stdout)
    assert len(orders) == 1, orders
    (order,) = orders
    assert order.index("[id=1].b") < order.index("[id=1].a") < order.index("[id=1].doc")
    assert order.index("[id=1].doc.k[2]") < order.index("[id=1].doc.k[10]")
