"""The tenant guard: a row of another organization in a tenant's result is a leak.

In a case run for a tenant, any object in either side's result (or row changes) whose
``organizationId`` names another organization is reported, even when both sides agree: the
legacy query can leak too, and agreeing on a leak is no proof of isolation. A pair whose operation
legitimately spans organizations opts out with ``tenant_scoped=False, cross_tenant_reason=...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

TENANT_COLUMN = "organizationId"
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


def find_leaks(tenant_id: str, **sides: Any) -> tuple[str, ...]:
    """Human-readable findings, e.g. ``legacy: [3].organizationId = 'org-b' (case tenant 'org-a')``."""
    found: list[str] = []
    for side, values in sides.items():
        for part in values if isinstance(values, tuple) else (values,):
            for path, org in _walk(part, ""):
                if org is not None and org != tenant_id:
                    found.append(f"{side}: {path} = {org!r} (case tenant {tenant_id!r})")
                    if len(found) >= MAX_LEAKS:
                        return tuple(found)
    return tuple(found)
