"""The machine router: machines at a location, a machine by QR code, and changing its owner.

A machine's owner is optional (``ownerId`` NULL), so the owner join is an outer one. A QR code
is looked up within the tenant: another organization's code is simply not found.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from peewee import JOIN
from sqlalchemy import select
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


def _legacy_machine(m: Any) -> dict[str, Any]:
    owner = m.owner
    return {
        "id": m.id,
        "name": m.name,
        "organizationId": m.organizationId,
        "locationId": m.locationId,
        "qrCodeId": m.qr_code_id,
        "qrCodeUrl": m.qr_code_url,
        "model": {
            "id": m.model.id,
            "name": m.model.name,
            "manufacturer": m.model.manufacturer,
            "year": m.model.year,
        },
        "owner": None
        if owner is None
        else {"id": owner.id, "name": owner.name, "email": owner.email},
    }


def _new_machine(m: Any) -> dict[str, Any]:
    owner = m.owner
    return {
        "id": m.id,
        "name": m.name,
        "organizationId": m.organizationId,
        "locationId": m.locationId,
        "qrCodeId": m.qrCodeId,
        "qrCodeUrl": m.qrCodeUrl,
        "model": {
            "id": m.model.id,
            "name": m.model.name,
            "manufacturer": m.model.manufacturer,
            "year": m.model.year,
        },
        "owner": None
        if owner is None
        else {"id": owner.id, "name": owner.name, "email": owner.email},
    }


def _legacy_query() -> Any:
    return (
        lm.Machine.select(lm.Machine, lm.Model, lm.User)
        .join(lm.Model)
        .switch(lm.Machine)
        .join(lm.User, JOIN.LEFT_OUTER, on=(lm.Machine.owner == lm.User.id))
    )


def _new_query() -> Any:
    return select(nm.Machine).options(joinedload(nm.Machine.model), joinedload(nm.Machine.owner))


list_by_location = pair("machine.listByLocation", router="machine", ordered=True)


@legacy_side(list_by_location)
def _(ctx: Any, location_id: str) -> Any:
    query = (
        _legacy_query()
        .where(lm.Machine.location == location_id, lm.Machine.organization == ctx.tenant_id)
        .order_by(lm.Machine.name, lm.Machine.id)
    )
    return [_legacy_machine(m) for m in query]


@list_by_location.new
def _(ctx: Any, location_id: str) -> Any:
    stmt = (
        _new_query()
        .where(nm.Machine.locationId == location_id, nm.Machine.organizationId == ctx.tenant_id)
        .order_by(nm.Machine.name, nm.Machine.id)
    )
    return [_new_machine(m) for m in ctx.session.scalars(stmt)]


@list_by_location.cases
def _(fx: Any) -> Any:
    locations = fx.rows("Location")
    for org, label in _tenant_labels(fx):
        for k, loc in enumerate(row for row in locations if row["organizationId"] == org):
            yield Case(tenant_id=org, params={"location_id": loc["id"]}, label=f"{label}:loc{k}")
    first, last = fx.tenants[0], fx.tenants[-1]
    foreign = next(row for row in locations if row["organizationId"] == last)
    yield Case(
        tenant_id=first, params={"location_id": foreign["id"]}, label="location-of-another-tenant"
    )
    yield Case(tenant_id=first, params={"location_id": "missing-location"}, label="missing")


by_qr = pair("machine.getByQrCode", router="machine")


@legacy_side(by_qr)
def _(ctx: Any, qr_code_id: str) -> Any:
    machine = (
        _legacy_query()
        .where(lm.Machine.qr_code_id == qr_code_id, lm.Machine.organization == ctx.tenant_id)
        .get_or_none()
    )
    return None if machine is None else _legacy_machine(machine)


@by_qr.new
def _(ctx: Any, qr_code_id: str) -> Any:
    machine = ctx.session.scalars(
        _new_query().where(
            nm.Machine.qrCodeId == qr_code_id, nm.Machine.organizationId == ctx.tenant_id
        )
    ).one_or_none()
    return None if machine is None else _new_machine(machine)


@by_qr.cases
def _(fx: Any) -> Any:
    machines = fx.rows("Machine")
    by_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in machines:
        by_org[m["organizationId"]].append(m)
    for org, label in _tenant_labels(fx):
        with_owner = next(m for m in by_org[org] if m["ownerId"] is not None)
        without = next(m for m in by_org[org] if m["ownerId"] is None)
        yield Case(
            tenant_id=org, params={"qr_code_id": with_owner["qrCodeId"]}, label=f"{label}:owned"
        )
        yield Case(
            tenant_id=org, params={"qr_code_id": without["qrCodeId"]}, label=f"{label}:no-owner"
        )
    first, last = fx.tenants[0], fx.tenants[-1]
    code = by_org[last][0]["qrCodeId"]
    yield Case(tenant_id=first, params={"qr_code_id": code}, label="qr-of-another-tenant")
    own = by_org[first][0]["qrCodeId"]
    yield Case(tenant_id=first, params={"qr_code_id": own.upper()}, label="own-code-other-case")
    yield Case(tenant_id=first, params={"qr_code_id": "missing-qr"}, label="missing")


update_owner = pair("machine.updateOwner", router="machine", writes=True, watch=["Machine"])


@legacy_side(update_owner)
def _(ctx: Any, machine_id: str, owner_id: str | None) -> Any:
    # Any: peewee's foreign-key field takes an id as well as a User.
    machine: Any = lm.Machine.get_or_none(
        lm.Machine.id == machine_id, lm.Machine.organization == ctx.tenant_id
    )
    if machine is None:
        return None
    if owner_id is not None:
        member = lm.Membership.select().where(
            lm.Membership.user == owner_id, lm.Membership.organization == ctx.tenant_id
        )
        if not member.exists():
            return None
    machine.owner = owner_id
    # Only the owner: a plain save() rewrites every column (and, on SQLite, the stored text of
    # unchanged timestamps), where the new side's flush writes just what changed.
    machine.save(only=[lm.Machine.owner])
    return machine


@update_owner.new
def _(ctx: Any, machine_id: str, owner_id: str | None) -> Any:
    machine = ctx.session.scalars(
        select(nm.Machine).where(
            nm.Machine.id == machine_id, nm.Machine.organizationId == ctx.tenant_id
        )
    ).one_or_none()
    if machine is None:
        return None
    if owner_id is not None:
        member = ctx.session.scalar(
            select(nm.Membership.id).where(
                nm.Membership.userId == owner_id, nm.Membership.organizationId == ctx.tenant_id
            )
        )
        if member is None:
            return None
    machine.ownerId = owner_id
    ctx.session.flush()
    return machine


@update_owner.cases
def _(fx: Any) -> Any:
    machines = fx.rows("Machine")
    memberships = fx.rows("Membership")
    for org, label in _tenant_labels(fx):
        mine = [m for m in machines if m["organizationId"] == org]
        members = sorted(m["userId"] for m in memberships if m["organizationId"] == org)
        unowned = next(m for m in mine if m["ownerId"] is None)
        owned = next(m for m in mine if m["ownerId"] is not None)
        yield Case(
            tenant_id=org,
            params={"machine_id": unowned["id"], "owner_id": members[0]},
            label=f"{label}:set-owner",
        )
        yield Case(
            tenant_id=org,
            params={"machine_id": owned["id"], "owner_id": None},
            label=f"{label}:clear-owner",
        )
        yield Case(
            tenant_id=org,
            params={"machine_id": owned["id"], "owner_id": owned["ownerId"]},
            label=f"{label}:same-owner",
        )
    first, last = fx.tenants[0], fx.tenants[-1]
    foreign = next(m for m in machines if m["organizationId"] == last)
    own_machine = next(m for m in machines if m["organizationId"] == first)
    first_members = {m["userId"] for m in memberships if m["organizationId"] == first}
    outsider = next(u["id"] for u in fx.rows("User") if u["id"] not in first_members)
    yield Case(
        tenant_id=first,
        params={"machine_id": foreign["id"], "owner_id": None},
        label="machine-of-another-tenant",
    )
    yield Case(tenant_id=first, params={"machine_id": "missing", "owner_id": None}, label="missing")
    yield Case(
        tenant_id=first,
        params={"machine_id": own_machine["id"], "owner_id": outsider},
        label="owner-not-a-member",
    )
