"""The location router: a tenant's locations with machine counts, and one location in full.

``location.list`` counts machines with a LEFT JOIN, so a location without machines (every
tenant's "Storage") is listed with 0; ``location.get`` nests the location's machines with
their models, sorted by machine name.
"""

from __future__ import annotations

from typing import Any

from peewee import JOIN, fn, prefetch
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

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


def _legacy_location(loc: Any) -> dict[str, Any]:
    return {
        "id": loc.id,
        "name": loc.name,
        "organizationId": loc.organizationId,
        "street": loc.street,
        "city": loc.city,
        "state": loc.state,
        "zip": loc.zip,
        "latitude": loc.latitude,
        "longitude": loc.longitude,
        "pinballMapId": loc.pinball_map_id,
        "lastSyncAt": loc.last_sync_at,
        "syncEnabled": loc.sync_enabled,
    }


LOCATION_FIELDS = (
    "id",
    "name",
    "organizationId",
    "street",
    "city",
    "state",
    "zip",
    "latitude",
    "longitude",
    "pinballMapId",
    "lastSyncAt",
    "syncEnabled",
)


def _new_location(loc: Any) -> dict[str, Any]:
    return {name: getattr(loc, name) for name in LOCATION_FIELDS}


location_list = pair("location.list", router="location", ordered=True)


@legacy_side(location_list)
def _(ctx: Any, limit: int = 50, offset: int = 0) -> Any:
    query: Any = (  # Any: peewee adds aliased columns and FK ids (organizationId) at run time
        lm.Location.select(lm.Location, fn.COUNT(lm.Machine.id).alias("machine_count"))
        .join(lm.Machine, JOIN.LEFT_OUTER)
        .where(lm.Location.organization == ctx.tenant_id)
        .group_by(lm.Location.id)
        .order_by(lm.Location.name, lm.Location.id)
        .limit(limit)
        .offset(offset)
    )
    return [{**_legacy_location(loc), "machineCount": loc.machine_count} for loc in query]


@location_list.new
def _(ctx: Any, limit: int = 50, offset: int = 0) -> Any:
    stmt = (
        select(nm.Location, func.count(nm.Machine.id).label("machineCount"))
        .outerjoin(nm.Location.machines)
        .where(nm.Location.organizationId == ctx.tenant_id)
        .group_by(nm.Location.id)
        .order_by(nm.Location.name, nm.Location.id)
        .limit(limit)
        .offset(offset)
    )
    return [
        {**_new_location(loc), "machineCount": count} for loc, count in ctx.session.execute(stmt)
    ]


@location_list.cases
def _(fx: Any) -> Any:
    for org, label in _tenant_labels(fx):
        yield Case(tenant_id=org, label=label)
    first = fx.tenants[0]
    yield Case(tenant_id=first, params={"limit": 2, "offset": 1}, label="second-page")
    yield Case(tenant_id=first, params={"limit": 10, "offset": 100}, label="page-past-end")
    yield Case(tenant_id=first, params={"limit": 0}, label="limit-0")
    yield Case(tenant_id="missing-org", label="unknown-tenant")


location_get = pair("location.get", router="location")


@legacy_side(location_get)
def _(ctx: Any, location_id: str) -> Any:
    locations = lm.Location.select().where(
        lm.Location.id == location_id, lm.Location.organization == ctx.tenant_id
    )
    machines = lm.Machine.select().order_by(lm.Machine.name, lm.Machine.id)
    found = prefetch(locations, machines, lm.Model)
    if not found:
        return None
    loc = found[0]
    return {
        **_legacy_location(loc),
        "machines": [
            {
                "id": m.id,
                "name": m.name,
                "organizationId": m.organizationId,
                "qrCodeId": m.qr_code_id,
                "ownerId": m.ownerId,
                "model": {
                    "id": m.model.id,
                    "name": m.model.name,
                    "manufacturer": m.model.manufacturer,
                    "year": m.model.year,
                },
            }
            for m in loc.machines
        ],
    }


@location_get.new
def _(ctx: Any, location_id: str) -> Any:
    loc = ctx.session.scalars(
        select(nm.Location).where(
            nm.Location.id == location_id, nm.Location.organizationId == ctx.tenant_id
        )
    ).one_or_none()
    if loc is None:
        return None
    # Sorted by the database, as the legacy side's prefetch query is: the collation decides
    # where "Märchenkönig" goes (MariaDB puts it before "Medieval", Python's sorted() after).
    machines = ctx.session.scalars(
        select(nm.Machine)
        .options(joinedload(nm.Machine.model))
        .where(nm.Machine.locationId == loc.id)
        .order_by(nm.Machine.name, nm.Machine.id)
    )
    return {
        **_new_location(loc),
        "machines": [
            {
                "id": m.id,
                "name": m.name,
                "organizationId": m.organizationId,
                "qrCodeId": m.qrCodeId,
                "ownerId": m.ownerId,
                "model": {
                    "id": m.model.id,
                    "name": m.model.name,
                    "manufacturer": m.model.manufacturer,
                    "year": m.model.year,
                },
            }
            for m in machines
        ],
    }


@location_get.cases
def _(fx: Any) -> Any:
    locations = fx.rows("Location")
    for org, label in _tenant_labels(fx):
        for k, loc in enumerate(row for row in locations if row["organizationId"] == org):
            yield Case(tenant_id=org, params={"location_id": loc["id"]}, label=f"{label}:loc{k}")
    first, other = fx.tenants[0], fx.tenants[1 % len(fx.tenants)]
    foreign = next(row for row in locations if row["organizationId"] == other)
    if other != first:
        yield Case(
            tenant_id=first,
            params={"location_id": foreign["id"]},
            label="location-of-another-tenant",
        )
    yield Case(tenant_id=first, params={"location_id": "missing-location"}, label="missing")
