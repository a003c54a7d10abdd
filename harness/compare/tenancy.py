"""The tenant guard: a row of another organization in a tenant's result is a leak.

In a case run for a tenant, any object in either side's result (or row changes) whose
``organizationId`` names another organization is reported, even when both sides agree: the
legacy query can leak too, and agreeing on a leak is no proof of isolation. A pair whose operation
legitimately spans organizations opts out with ``tenant_scoped=False, cross_tenant_reason=...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import methodcaller
from typing import Any

from harness.compare.depths import Depths
from harness.normalize.table import Table

TENANT_COLUMN = "organizationId"
_TENANT_OF = methodcaller("get", TENANT_COLUMN)
MAX_LEAKS = 20


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if TENANT_COLUMN in value:
            yield f"{path}.{TENANT_COLUMN}" if path else TENANT_COLUMN, value[TENANT_COLUMN]
        for key, item in value.items():
            if isinstance(item, dict | list):
                yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                yield from _walk(item, f"{path}[{index}]")


def _tenants(depths: Depths) -> set[Any] | None:
    """Every value under the tenant column, at any depth: a few C-level passes per depth.

    None when one is a list or a dict (a binary id is ``{"$bytes": ...}``): no set holds it.
    """
    found: set[Any] = set()
    try:
        for depth in depths.levels:
            found.update(map(_TENANT_OF, depth.dicts()))
    except TypeError:
        return None
    return found


def _table_tenants(table: Table) -> set[Any] | None:
    """The tenant column's values of a Table's rows; None when the column is not plain text or
    a container value holds the key too (then the rows are walked as any result)."""
    if TENANT_COLUMN in table.nested_keys:
        return None
    if table.names is None or TENANT_COLUMN not in table.names:
        return set()
    index = table.names.index(TENANT_COLUMN)
    if not table.founds[index] <= {str, type(None)}:
        return None
    return set(table.columns[index])


def find_leaks(tenant_id: str, **sides: Any) -> tuple[str, ...]:
    """Human-readable findings, e.g. ``legacy: [3].organizationId = 'org-b' (case tenant 'org-a')``.

    Each side is a canonical value or a tuple of them; any of them may come as its
    :class:`~harness.compare.depths.Depths` when the caller has walked it already.
    """
    found: list[str] = []
    for side, values in sides.items():
        for part in values if isinstance(values, tuple) else (values,):
            if part is None:  # no result, or no row changes (a pair that reads)
                continue
            if part.__class__ is Table:
                tenants = _table_tenants(part)
                if tenants is not None and tenants <= {tenant_id, None}:
                    continue
                part = part.rows()
            depths = part if isinstance(part, Depths) else Depths(part)
            tenants = _tenants(depths)
            if tenants is not None and tenants <= {tenant_id, None}:
                continue  # the common verdict; paths are worked out only for a leak
            for path, org in _walk(depths.value, ""):
                if org is not None and org != tenant_id:
                    found.append(f"{side}: {path} = {org!r} (case tenant {tenant_id!r})")
                    if len(found) >= MAX_LEAKS:
                        return tuple(found)
    return tuple(found)
