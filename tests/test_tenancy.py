"""The tenant guard: another organization's rows in a tenant's result, at any depth."""

from __future__ import annotations

from datetime import datetime

from harness.compare.depths import Depths
from harness.compare.tenancy import find_leaks
from harness.normalize.walk import normalize_rows


def test_rows_of_the_case_tenant_and_rows_without_one_are_no_leak() -> None:
    rows = [{"id": i, "organizationId": "org-1", "at": {"$datetime": "x"}} for i in range(50)]
    rows.append({"id": "global", "organizationId": None})
    rows.append({"id": "plain"})
    assert find_leaks("org-1", legacy=rows, new=(rows, None)) == ()


def test_a_leak_is_reported_with_its_side_and_path_at_any_depth() -> None:
    nested = [
        {"id": 1, "organizationId": "org-1", "machines": [{"id": "m1", "organizationId": "org-1"}]},
        {"id": 2, "organizationId": "org-1", "machines": [{"organizationId": "org-2"}, 3]},
    ]
    changes = {"Issue": [{"id": "i1", "after": {"organizationId": "org-3"}}]}
    assert find_leaks("org-1", legacy=(nested, None), new=([], changes)) == (
        'legacy: [1].machines[0].organizationId = "org-2" (case tenant "org-1")',
        'new: Issue[0].after.organizationId = "org-3" (case tenant "org-1")',
    )


def test_a_tenant_id_of_another_type_is_a_leak() -> None:
    assert find_leaks("1", new={"organizationId": 1}) == (
        'new: organizationId = 1 (case tenant "1")',
    )


def test_a_flat_table_told_by_normalize_is_checked_without_walking_again() -> None:
    rows = [{"id": i, "organizationId": "org-1", "at": datetime(2025, 1, i + 1)} for i in range(20)]
    rows[13]["organizationId"] = "org-2"
    canonical, flat_bools = normalize_rows(rows)
    assert flat_bools is False
    told = Depths.of(canonical, flat_bools)
    assert len(told.levels) == 2  # the rows, not their tagged scalars
    assert find_leaks("org-1", new=told) == (
        'new: [13].organizationId = "org-2" (case tenant "org-1")',
    )


def test_a_tenant_value_that_is_a_tagged_scalar_is_a_leak() -> None:
    rows = normalize_rows([{"id": 1, "organizationId": b"\x01"}])[0]  # a binary id
    assert find_leaks("org-1", legacy=rows) == (
        'legacy: [0].organizationId = {"$bytes": "01"} (case tenant "org-1")',
    )
