"""An ``order_by`` key the rows do not have is a mistake in the pair, even when the sides agree."""

from __future__ import annotations

import pytest

from harness.compare.rules import Rules
from harness.compare.verdict import compare
from harness.errors import ConfigError

ROWS = [{"id": 1, "created_at": 1}, {"id": 2, "created_at": 1}]


@pytest.mark.parametrize("new", [ROWS, ROWS[::-1]], ids=["identical", "reordered"])
def test_a_missing_order_by_key_is_named_whatever_the_sides_return(new: list) -> None:
    rules = Rules.compile(order_by=("opened_at",))
    with pytest.raises(ConfigError, match="order_by: 'opened_at' is not a key of the legacy"):
        compare(ROWS, new, ordered=True, rules=rules)


def test_present_order_by_keys_compare_as_before() -> None:
    rules = Rules.compile(order_by=("created_at",))
    assert compare(ROWS, ROWS[::-1], ordered=True, rules=rules).equal
    assert compare([], [], ordered=True, rules=rules).equal
