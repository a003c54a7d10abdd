"""The collection router: a manual collection's machines, and a smart collection's machines.

Collections carry no ``organizationId``: a collection belongs to a tenant through its type
(``CollectionType.organizationId``), so every lookup joins the type. A smart collection's
machines come from its ``filterCriteria`` JSON, read in Python on both sides:
``manufacturer`` (case-insensitive, as the auto-generated manufacturer collections group
"Williams", "WILLIAMS" and "williams"), ``locationId``, ``yearFrom``/``yearTo`` and
``includeCustom``.
"""

from __future__ import annotations

from typing import Any

from peewee import fn
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.reference import legacy as lm
from harness.reference import models as nm


def _tenant_labels(fx: Any) -> list[tuple[str, str]]:
    last = len(fx.tenants) - 1
    return [
        (org, f"tenant{k}" + ("-no-issues" if k == last and k > 0 else ""))
        for k, org in enumerate(fx.tenants)
    ]


def _legacy_collection(ctx: Any, collection_id: str) -> Any:
    return (
        lm.Collection.select()
        .join(lm.CollectionType)
        .where(lm.Collection.id == collection_id, lm.CollectionType.organization == ctx.tenant_id)
        .get_or_none()
    )


def _new_collection(ctx: Any, collection_id: str, *options: Any) -> Any:
    return ctx.session.scalars(
        select(nm.Collection)
        .join(nm.Collection.type)
        .options(*options)
        .where(nm.Collection.id == collection_id, nm.CollectionType.organizationId == ctx.tenant_id)
    ).one_or_none()


def _collections_by_tenant(fx: Any) -> dict[str, list[dict[str, Any]]]:
    tenant_of_type = {row["id"]: row["organizationId"] for row in fx.rows("CollectionType")}
    found: dict[str, list[dict[str, Any]]] = {org: [] for org in fx.tenants}
    for row in fx.rows("Collection"):
        found[tenant_of_type[row["typeId"]]].append(row)
    return found


machines = pair("collection.machines", router="collection")


@legacy_side(machines)
def _(ctx: Any, collection_id: str) -> Any:
    collection = _legacy_collection(ctx, collection_id)
    if collection is None:
        return None
    return list(collection.machines)


@machines.new
def _(ctx: Any, collection_id: str) -> Any:
    collection = _new_collection(ctx, collection_id, selectinload(nm.Collection.machines))
    if collection is None:
        return None
    return list(collection.machines)


@machines.cases
def _(fx: Any) -> Any:
    by_tenant = _collections_by_tenant(fx)
    for org, label in _tenant_labels(fx):
        for row in by_tenant[org]:
            kind = "smart" if row["isSmart"] else "manual"
            yield Case(
                tenant_id=org,
                params={"collection_id": row["id"]},
                label=f"{label}:{kind}:{row['name']}",
            )
    first, last = fx.tenants[0], fx.tenants[-1]
    foreign = next(row for row in by_tenant[last] if row["isManual"])
    yield Case(
        tenant_id=first,
        params={"collection_id": foreign["id"]},
        label="collection-of-another-tenant",
    )
    yield Case(tenant_id=first, params={"collection_id": "missing"}, label="missing")


smart = pair("collection.smart", router="collection", ordered=True)


def _machine_row(m: Any, model: Any, *, is_custom: bool) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "organizationId": m.organizationId,
        "locationId": m.locationId,
        "model": {
            "id": model.id,
            "name": model.name,
            "manufacturer": model.manufacturer,
            "year": model.year,
            "isCustom": is_custom,
        },
    }


@legacy_side(smart)
def _(ctx: Any, collection_id: str) -> Any:
    collection = _legacy_collection(ctx, collection_id)
    if collection is None or not collection.is_smart:
        return None
    criteria = collection.filter_criteria or {}
    query = (
        lm.Machine.select(lm.Machine, lm.Model)
        .join(lm.Model)
        .where(lm.Machine.organization == ctx.tenant_id)
    )
    if criteria.get("manufacturer"):
        query = query.where(fn.LOWER(lm.Model.manufacturer) == criteria["manufacturer"].lower())
    if criteria.get("locationId"):
        query = query.where(lm.Machine.location == criteria["locationId"])
    if criteria.get("yearFrom") is not None:
        query = query.where(lm.Model.year >= criteria["yearFrom"])
    if criteria.get("yearTo") is not None:
        query = query.where(lm.Model.year <= criteria["yearTo"])
    if criteria.get("includeCustom") is False:
        query = query.where(lm.Model.is_custom == False)  # noqa: E712 (peewee builds SQL from ==)
    query = query.order_by(lm.Machine.name, lm.Machine.id)
    return [_machine_row(m, m.model, is_custom=m.model.is_custom) for m in query]


@smart.new
def _(ctx: Any, collection_id: str) -> Any:
    collection = _new_collection(ctx, collection_id)
    if collection is None or not collection.isSmart:
        return None
    criteria = collection.filterCriteria or {}
    stmt = (
        select(nm.Machine)
        .join(nm.Machine.model)
        .options(joinedload(nm.Machine.model))
        .where(nm.Machine.organizationId == ctx.tenant_id)
    )
    if criteria.get("manufacturer"):
        stmt = stmt.where(func.lower(nm.Model.manufacturer) == criteria["manufacturer"].lower())
    if criteria.get("locationId"):
        stmt = stmt.where(nm.Machine.locationId == criteria["locationId"])
    if criteria.get("yearFrom") is not None:
        stmt = stmt.where(nm.Model.year >= criteria["yearFrom"])
    if criteria.get("yearTo") is not None:
        stmt = stmt.where(nm.Model.year <= criteria["yearTo"])
    if criteria.get("includeCustom") is False:
        stmt = stmt.where(nm.Model.isCustom.is_(False))
    stmt = stmt.order_by(nm.Machine.name, nm.Machine.id)
    return [_machine_row(m, m.model, is_custom=m.model.isCustom) for m in ctx.session.scalars(stmt)]


@smart.cases
def _(fx: Any) -> Any:
    by_tenant = _collections_by_tenant(fx)
    for org, label in _tenant_labels(fx):
        for row in by_tenant[org]:
            if row["isSmart"]:
                yield Case(
                    tenant_id=org,
                    params={"collection_id": row["id"]},
                    label=f"{label}:{row['name']}",
                )
    first, last = fx.tenants[0], fx.tenants[-1]
    manual = next(row for row in by_tenant[first] if not row["isSmart"])
    foreign = next(row for row in by_tenant[last] if row["isSmart"])
    yield Case(tenant_id=first, params={"collection_id": manual["id"]}, label="manual-collection")
    yield Case(
        tenant_id=first,
        params={"collection_id": foreign["id"]},
        label="collection-of-another-tenant",
    )
    yield Case(tenant_id=first, params={"collection_id": "missing"}, label="missing")
