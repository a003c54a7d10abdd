"""Divergences planted in the fleet tracker: each must be flagged, with the right explanation.

``harness run --fixture fleet_example.provider:provider --pairs fleet_example.planted`` fails the
gate; ``tests/test_fleet_example.py`` checks what each case says.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from fleet_example import legacy as lm
from fleet_example import models as nm
from fleet_example.sides import first, legacy_side
from harness import Case, pair

# A get by id that forgot the tenant on the new side: another organization's row comes back.
unscoped_get = pair("planted.asset.get_unscoped", router="asset")


@legacy_side(unscoped_get)
def _(ctx: Any, asset_id: int) -> Any:
    return lm.Asset.get_or_none((lm.Asset.id == asset_id) & (lm.Asset.org == ctx.tenant_id))


@unscoped_get.new
def _(ctx: Any, asset_id: int) -> Any:
    return ctx.session.get(nm.Asset, asset_id)


@unscoped_get.cases
def _(fx: Any) -> Any:
    other = first(fx.rows("assets"), org_id=fx.tenants[1])
    yield Case(tenant_id=fx.tenants[0], params={"asset_id": other["id"]}, label="other-org")


# Both sides send every unplaced asset of every organization to maintenance: they agree, and both leak.
retire_all = pair("planted.asset.service_unplaced", router="asset", writes=True, watch=["assets"])


@legacy_side(retire_all)
def _(ctx: Any) -> Any:
    return lm.Asset.update(status="maintenance").where(lm.Asset.site.is_null()).execute()


@retire_all.new
def _(ctx: Any) -> Any:
    stmt = update(nm.Asset).where(nm.Asset.site_id.is_(None)).values(status="maintenance")
    return ctx.session.execute(stmt).rowcount


@retire_all.cases
def _(fx: Any) -> Any:
    yield Case(tenant_id=fx.tenants[0], label="org-1")


# The new side sorts by priority where the legacy side sorts by created_at.
misordered = pair("planted.work_order.misordered", router="work_order", order_by=("created_at",))


@legacy_side(misordered)
def _(ctx: Any) -> Any:
    wo = lm.WorkOrder
    return list(wo.select().where(wo.org == ctx.tenant_id).order_by(wo.created_at))


@misordered.new
def _(ctx: Any) -> Any:
    wo = nm.WorkOrder
    stmt = select(wo).where(wo.org_id == ctx.tenant_id).order_by(wo.priority, wo.id.desc())
    return ctx.session.scalars(stmt).all()


@misordered.cases
def _(fx: Any) -> Any:
    yield Case(tenant_id=fx.tenants[0], label="org-1")


# Not found: the legacy side answers None, the new side raises.
raises_not_found = pair("planted.asset.find_by_tag", router="asset")


@legacy_side(raises_not_found)
def _(ctx: Any, tag: str) -> Any:
    return lm.Asset.get_or_none((lm.Asset.asset_tag == tag) & (lm.Asset.org == ctx.tenant_id))


@raises_not_found.new
def _(ctx: Any, tag: str) -> Any:
    stmt = select(nm.Asset).where(nm.Asset.asset_tag == tag, nm.Asset.org_id == ctx.tenant_id)
    return ctx.session.scalars(stmt).one()


@raises_not_found.cases
def _(fx: Any) -> Any:
    yield Case(tenant_id=fx.tenants[0], params={"tag": "NO-SUCH-TAG"}, label="missing")


# Both sides fail, for different reasons: a duplicate SKU against a missing name.
wrong_error = pair("planted.part.add", router="part", writes=True, watch=["parts"])


@legacy_side(wrong_error)
def _(ctx: Any, sku: str) -> Any:
    return lm.Part.create(org=ctx.tenant_id, sku=sku, name="Belt", unit_cost=Decimal("1.00"))


@wrong_error.new
def _(ctx: Any, sku: str) -> Any:
    ctx.session.add(nm.Part(org_id=ctx.tenant_id, sku=f"{sku}-x", name=None, unit_cost=1))
    ctx.session.flush()


@wrong_error.cases
def _(fx: Any) -> Any:
    sku = first(fx.rows("parts"), org_id=fx.tenants[0])["sku"]
    yield Case(tenant_id=fx.tenants[0], params={"sku": sku}, label="duplicate-sku")


# A declared difference: the new API fills in missing settings. Expected for org 2 only.
settings_default = pair(
    "planted.org.settings",
    router="org",
    expect={"org-2": "the new API returns {} for an organization without settings"},
)


@legacy_side(settings_default)
def _(ctx: Any) -> Any:
    return lm.Org.get_by_id(ctx.tenant_id).settings


@settings_default.new
def _(ctx: Any) -> Any:
    return ctx.session.get(nm.Org, ctx.tenant_id).settings or {}


@settings_default.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org, label=f"org-{org}")


# An expectation that went stale: both sides now agree, so the case fails until it is dropped.
stale_expect = pair(
    "planted.org.slug",
    router="org",
    expect={"org-*": "the new API used to upper-case slugs"},
)


@legacy_side(stale_expect)
def _(ctx: Any) -> Any:
    return lm.Org.get_by_id(ctx.tenant_id).slug


@stale_expect.new
def _(ctx: Any) -> Any:
    return ctx.session.get(nm.Org, ctx.tenant_id).slug


@stale_expect.cases
def _(fx: Any) -> Any:
    yield Case(tenant_id=fx.tenants[0], label=f"org-{fx.tenants[0]}")
