"""The tenant guard: a row of another tenant in a tenant's result or row changes is a leak.

In a case run for a tenant, any object in either side's return value whose tenant column names
another tenant is reported, and so is any row a writing side inserted, updated or deleted in
another tenant (an updated row carries its tenant under ``scope``), even when both sides agree:
the legacy query can leak too, and agreeing on a leak is no proof of isolation. The tenant column
is configurable (:class:`~harness.compare.rules.TenantColumns`: one name, or one per table);
tenant ids may be text or integers. A pair whose operation legitimately spans tenants opts out
with ``tenant_scoped=False, cross_tenant_reason=...``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from operator import methodcaller
from typing import Any

from harness.compare.depths import Depths
from harness.compare.rules import TenantColumns
from harness.normalize.table import Table

MAX_LEAKS = 20


def _same_tenant(value: Any, tenant_id: Any) -> bool:
    if value is None or (value == tenant_id and value.__class__ is not bool):
        return True
    # An integer tenant given as text (or the other way round) in a case is the same tenant.
    return (
        value.__class__ is not bool
        and isinstance(value, int | str)
        and isinstance(tenant_id, int | str)
        and str(value) == str(tenant_id)
    )


def _walk(value: Any, path: str, names: frozenset[str]) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for name in names & value.keys():
            yield (f"{path}.{name}" if path else name), value[name]
        for key, item in value.items():
            if isinstance(item, dict | list):
                yield from _walk(item, f"{path}.{key}" if path else str(key), names)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                yield from _walk(item, f"{path}[{index}]", names)


def _tenants(depths: Depths, names: frozenset[str]) -> set[Any] | None:
    """Every value under a tenant column, at any depth: a few C-level passes per depth.

    None when one is a list or a dict (a binary id is ``{"$bytes": ...}``): no set holds it.
    """
    found: set[Any] = set()
    getters = _GETTERS.get(names)
    if getters is None:
        getters = _GETTERS[names] = [methodcaller("get", name) for name in names]
    try:
        for depth in depths.levels:
            dicts = depth.dicts()
            for getter in getters:
                found.update(map(getter, dicts))
    except TypeError:
        return None
    return found


# By the set of tenant column names: one getter per name (a run has one or two such sets).
_GETTERS: dict[frozenset[str], list[methodcaller]] = {}


def _same_tenants(tenants: set[Any], tenant_id: Any) -> bool:
    """Every value in ``tenants`` is the case's tenant (or None), as :func:`_same_tenant` says."""
    if tenant_id.__class__ is str and tenants <= {None, tenant_id}:
        return True  # a value equal to a str is text, never a bool
    return all(_same_tenant(t, tenant_id) for t in tenants)


def _table_tenants(table: Table, names: frozenset[str]) -> set[Any] | None:
    """The tenant columns' values of a Table's rows; None when a column is not plain text or
    numbers kept as they are (a boolean column's ``0``/``1`` become bools), or a nested value
    holds the key too (then the rows are walked as any result)."""
    found: set[Any] = set()
    for name in names:
        if name in table.nested_keys:
            return None
        if table.names is None or name not in table.names:
            continue
        index = table.names.index(name)
        if not table.founds[index] <= {str, int, type(None)} or table.converters[index] is not None:
            return None
        found.update(table.columns[index])
    return found


def _value_leaks(side: str, value: Any, tenant_id: Any, names: frozenset[str]) -> Iterator[str]:
    if value.__class__ is Table:
        tenants = _table_tenants(value, names)
        if tenants is not None and _same_tenants(tenants, tenant_id):
            return  # a flat table, read column-wise: the common verdict
        value = value.rows()
    depths = value if isinstance(value, Depths) else Depths(value)
    tenants = _tenants(depths, names)
    if tenants is not None and _same_tenants(tenants, tenant_id):
        return  # the common verdict; paths are worked out only for a leak
    for path, found in _walk(depths.value, "", names):
        if not _same_tenant(found, tenant_id):
            yield f"{side}: {path} = {_quoted(found)} (case tenant {_quoted(tenant_id)})"


def _change_leaks(
    side: str, changes: Mapping[str, Any], tenant_id: Any, tenant: TenantColumns
) -> Iterator[str]:
    for table, kinds in changes.items():
        column = tenant.of_table(table)
        if column is None or not isinstance(kinds, Mapping):
            continue
        for kind in ("inserted", "deleted"):
            for index, row in enumerate(kinds.get(kind) or ()):
                if isinstance(row, Mapping) and not _same_tenant(row.get(column), tenant_id):
                    yield (
                        f"{side}: changes.{table}.{kind}[{index}].{column} = "
                        f"{_quoted(row.get(column))} (case tenant {_quoted(tenant_id)})"
                    )
        for index, entry in enumerate(kinds.get("updated") or ()):
            for part in ("scope", "before", "after"):
                row = entry.get(part) if isinstance(entry, Mapping) else None
                if (
                    isinstance(row, Mapping)
                    and column in row
                    and not _same_tenant(row[column], tenant_id)
                ):
                    yield (
                        f"{side}: changes.{table}.updated[{index}].{part}.{column} = "
                        f"{_quoted(row[column])} (case tenant {_quoted(tenant_id)})"
                    )
                    break


def find_leaks(
    tenant_id: Any, tenant: TenantColumns | None = None, **sides: Any
) -> tuple[str, ...]:
    """Human-readable findings, e.g. ``legacy: [3].organizationId = "org-b" (case tenant "org-a")``.

    Each side is its return value, or ``(return value, row changes)``; the value may come as
    its :class:`~harness.compare.depths.Depths` when the caller has walked it already, and the
    row changes are None for a pair that reads.
    """
    tenant = tenant or TenantColumns()
    names = tenant.names
    found: list[str] = []
    for side, given in sides.items():
        value, changes = given if isinstance(given, tuple) else (given, None)
        leaks = _value_leaks(side, value, tenant_id, names) if names else iter(())
        for finding in leaks:
            found.append(finding)
            if len(found) >= MAX_LEAKS:
                return tuple(found)
        if changes:
            for finding in _change_leaks(side, changes, tenant_id, tenant):
                found.append(finding)
                if len(found) >= MAX_LEAKS:
                    return tuple(found)
    return tuple(found)


def _quoted(value: Any) -> str:
    """A value as JSON, the quoting the report and results.json use everywhere."""
    return json.dumps(value, ensure_ascii=False, default=str)
