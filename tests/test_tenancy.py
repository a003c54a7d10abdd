"""The tenant guard: another organization's rows in a tenant's result, at any depth."""

from __future__ import annotations

from datetime import datetime

import peewee

from harness.compare.depths import Depths
from harness.compare.rules import TenantColumns
from harness.compare.tenancy import find_leaks
from harness.normalize.table import Table
from harness.normalize.walk import normalize, normalize_rows


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
    changes = {"Issue": {"updated": [{"key": ["i1"], "after": {"organizationId": "org-3"}}]}}
    assert find_leaks("org-1", legacy=(nested, None), new=([], changes)) == (
        'legacy: [1].machines[0].organizationId = "org-2" (case tenant "org-1")',
        'new: changes.Issue.updated[0].after.organizationId = "org-3" (case tenant "org-1")',
    )


def test_a_write_to_another_tenants_row_is_a_leak_though_the_tenant_did_not_change() -> None:
    """An UPDATE of every organization's rows: each updated row carries its tenant as scope."""
    mine = {"key": ["n1"], "scope": {"organizationId": "org-1"}, "after": {"read": True}}
    theirs = {"key": ["n2"], "scope": {"organizationId": "org-2"}, "after": {"read": True}}
    changes = {"Notification": {"inserted": [], "updated": [mine, theirs], "deleted": []}}
    assert find_leaks("org-1", legacy=(None, changes), new=(None, changes)) == (
        'legacy: changes.Notification.updated[1].scope.organizationId = "org-2" (case tenant "org-1")',
        'new: changes.Notification.updated[1].scope.organizationId = "org-2" (case tenant "org-1")',
    )


def test_the_tenant_column_is_configurable_per_table_with_integer_ids() -> None:
    tenant = TenantColumns.of({"projects": "org_id", "tasks": "org_id"})
    assert tenant is not None
    rows = [{"id": 1, "org_id": 7, "group_id": 13}, {"id": 2, "org_id": 8}]
    changes = {"tasks": {"deleted": [{"id": 5, "org_id": 8}]}, "audit": {"deleted": [{"id": 6}]}}
    assert find_leaks(7, tenant, new=(rows, changes)) == (
        "new: [1].org_id = 8 (case tenant 7)",
        "new: changes.tasks.deleted[0].org_id = 8 (case tenant 7)",
    )
    assert find_leaks(7, TenantColumns.of("org_id"), legacy=[{"organizationId": 8}]) == ()


def test_an_integer_tenant_written_as_text_is_the_same_tenant_and_bools_are_not() -> None:
    assert find_leaks("1", new={"organizationId": 1}) == ()
    assert find_leaks("1", new={"organizationId": 2}) == (
        'new: organizationId = 2 (case tenant "1")',
    )
    assert find_leaks(1, new={"organizationId": True}) == (
        "new: organizationId = true (case tenant 1)",
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


class SharedFlag(peewee.Model):
    """A tenant column typed boolean: its raw ``0``/``1`` become bools in the rows."""

    id = peewee.IntegerField(primary_key=True)
    organizationId = peewee.BooleanField()


def test_a_tenant_column_of_a_table_is_read_as_its_rows_hold_it() -> None:
    row = SharedFlag(__no_default__=True, id=1, organizationId=1)
    row._dirty.clear()
    table = normalize_rows([row], lazy=True)[0]
    assert table.__class__ is Table
    leak = ("legacy: [0].organizationId = true (case tenant 1)",)
    assert find_leaks(1, legacy=normalize([row])) == leak
    assert find_leaks(1, legacy=table) == leak
