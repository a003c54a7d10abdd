"""The fleet tracker's reading operations: lookups, ordered lists, per-database types, shapes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from fleet_example import legacy as lm
from fleet_example import models as nm
from fleet_example.sides import first, legacy_side
from harness import Case, pair

# -- reads: tenant-scoped lookups -------------------------------------------------------------

asset_get = pair("fleet.asset.get", router="asset")


@legacy_side(asset_get)
def _(ctx: Any, asset_id: int) -> Any:
    # peewee raises Asset.DoesNotExist, SQLAlchemy NoResultFound: both are not_found.
    return lm.Asset.get((lm.Asset.id == asset_id) & (lm.Asset.org == ctx.tenant_id))


@asset_get.new
def _(ctx: Any, asset_id: int) -> Any:
    stmt = select(nm.Asset).where(nm.Asset.id == asset_id, nm.Asset.org_id == ctx.tenant_id)
    return ctx.session.scalars(stmt).one()


@asset_get.cases
def _(fx: Any) -> Any:
    assets = fx.rows("assets")
    for org in fx.tenants:
        yield Case(tenant_id=org, params={"asset_id": first(assets, org_id=org)["id"]})
    other = first(assets, org_id=fx.tenants[-1])["id"]
    yield Case(tenant_id=fx.tenants[0], params={"asset_id": other}, label="other-org")
    yield Case(tenant_id=fx.tenants[0], params={"asset_id": 999_999}, label="missing")


# -- reads: ordered lists ---------------------------------------------------------------------

asset_recent = pair("fleet.asset.recent", router="asset", order_by=("created_at",))


@legacy_side(asset_recent)
def _(ctx: Any, limit: int) -> Any:
    query = lm.Asset.select().where(lm.Asset.org == ctx.tenant_id)
    return list(query.order_by(lm.Asset.created_at.desc()).limit(limit))


@asset_recent.new
def _(ctx: Any, limit: int) -> Any:
    stmt = select(nm.Asset).where(nm.Asset.org_id == ctx.tenant_id)
    return ctx.session.scalars(stmt.order_by(nm.Asset.created_at.desc()).limit(limit)).all()


@asset_recent.cases
def _(fx: Any) -> Any:
    # Assets tie on created_at in twos: a page of 4 ends on two tied rows (the harness warns);
    # a page of 3 cuts a tied pair in two (which of the two makes the page is not determined).
    for org in fx.tenants:
        yield Case(tenant_id=org, params={"limit": 4})
    yield Case(tenant_id=fx.tenants[0], params={"limit": 3})


work_order_list = pair("fleet.work_order.list", router="work_order", order_by=("created_at", "id"))


@legacy_side(work_order_list)
def _(ctx: Any, limit: int) -> Any:
    wo = lm.WorkOrder
    query = wo.select().where(wo.org == ctx.tenant_id).order_by(wo.created_at.desc(), wo.id)
    return list(query.limit(limit))


@work_order_list.new
def _(ctx: Any, limit: int) -> Any:
    wo = nm.WorkOrder
    stmt = select(wo).where(wo.org_id == ctx.tenant_id).order_by(wo.created_at.desc(), wo.id)
    return ctx.session.scalars(stmt.limit(limit)).all()


@work_order_list.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:  # the last tenant has none: an empty page
        yield Case(tenant_id=org, params={"limit": 4})


note_timeline = pair("fleet.note.timeline", router="note", order_by=("created_at",))


@legacy_side(note_timeline)
def _(ctx: Any) -> Any:
    # Tied notes come back id-ascending here and id-descending on the new side: still equal.
    query = lm.Note.select().where(lm.Note.org == ctx.tenant_id)
    return list(query.order_by(lm.Note.created_at, lm.Note.id))


@note_timeline.new
def _(ctx: Any) -> Any:
    stmt = select(nm.Note).where(nm.Note.org_id == ctx.tenant_id)
    return ctx.session.scalars(stmt.order_by(nm.Note.created_at, nm.Note.id.desc())).all()


@note_timeline.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)


# -- reads: per-database types, shapes and aggregates ---------------------------------------

asset_specs = pair("fleet.asset.specs", router="asset")


@legacy_side(asset_specs)
def _(ctx: Any) -> Any:
    a = lm.Asset
    query = a.select(a.id, a.tags, a.specs, a.serial_uuid, a.status).where(a.org == ctx.tenant_id)
    return [
        {"id": r.id, "tags": r.tags, "specs": r.specs, "serial": r.serial_uuid, "status": r.status}
        for r in query
    ]


@asset_specs.new
def _(ctx: Any) -> Any:
    a = nm.Asset
    stmt = select(a.id, a.tags, a.specs, a.serial_uuid.label("serial"), a.status)
    return [dict(r) for r in ctx.session.execute(stmt.where(a.org_id == ctx.tenant_id)).mappings()]


@asset_specs.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)


user_directory = pair(
    "fleet.user.directory",
    router="user",
    keys={"displayName": "display_name", "isActive": "is_active"},
)


@legacy_side(user_directory)
def _(ctx: Any) -> Any:
    query = lm.User.select().where(lm.User.org == ctx.tenant_id)
    return [
        {"id": u.id, "email": u.email, "display_name": u.display_name, "is_active": u.is_active}
        for u in query
    ]


@user_directory.new
def _(ctx: Any) -> Any:
    # The new API layer answers in camelCase; keys= renames before comparing.
    users = ctx.session.scalars(select(nm.User).where(nm.User.org_id == ctx.tenant_id))
    return [
        {"id": u.id, "email": u.email, "displayName": u.display_name, "isActive": u.is_active}
        for u in users
    ]


@user_directory.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)


work_order_counts = pair("fleet.work_order.counts", router="work_order")


@legacy_side(work_order_counts)
def _(ctx: Any) -> Any:
    wo = lm.WorkOrder
    query = (
        wo.select(wo.state, lm.pw.fn.COUNT(wo.id)).where(wo.org == ctx.tenant_id).group_by(wo.state)
    )
    rows: Any = query.tuples()  # (state, count) rows; peewee's hints say model instances
    return dict(rows)


@work_order_counts.new
def _(ctx: Any) -> Any:
    wo = nm.WorkOrder
    stmt = select(wo.state, func.count(wo.id)).where(wo.org_id == ctx.tenant_id)
    return {state: n for state, n in ctx.session.execute(stmt.group_by(wo.state))}


@work_order_counts.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)


site_assets = pair("fleet.site.assets", router="site", unordered=("[*].assets",))


@legacy_side(site_assets)
def _(ctx: Any) -> Any:
    out = []
    for s in lm.Site.select().where(lm.Site.org == ctx.tenant_id):
        tags = lm.Asset.select(lm.Asset.asset_tag).where(lm.Asset.site == s.id)
        out.append({"site": s.name, "address": s.address, "assets": [a.asset_tag for a in tags]})
    return out


@site_assets.new
def _(ctx: Any) -> Any:
    out = []
    for s in ctx.session.scalars(select(nm.Site).where(nm.Site.org_id == ctx.tenant_id)):
        # Fetched newest first: the order of the nested list is not part of the answer.
        tags = ctx.session.scalars(
            select(nm.Asset.asset_tag).where(nm.Asset.site_id == s.id).order_by(nm.Asset.id.desc())
        )
        out.append({"site": s.name, "address": s.address, "assets": list(tags)})
    return out


@site_assets.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)
