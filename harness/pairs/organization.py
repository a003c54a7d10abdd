"""The organization router: an organization by id and by subdomain, its members with roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.reference import legacy as lm
from harness.reference import models as nm

get_by_id = pair("organization.get", router="organization")


@legacy_side(get_by_id)
def _(ctx: Any, organization_id: str) -> Any:
    return lm.Organization.get_or_none(lm.Organization.id == organization_id)


@get_by_id.new
def _(ctx: Any, organization_id: str) -> Any:
    return ctx.session.get(nm.Organization, organization_id)


@get_by_id.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org, params={"organization_id": org})
    yield Case(tenant_id=fx.tenants[0], params={"organization_id": "missing-org"}, label="missing")


get_by_subdomain = pair("organization.getBySubdomain", router="organization")


@legacy_side(get_by_subdomain)
def _(ctx: Any, subdomain: str) -> Any:
    return lm.Organization.get_or_none(lm.Organization.subdomain == subdomain)


@get_by_subdomain.new
def _(ctx: Any, subdomain: str) -> Any:
    return ctx.session.scalars(
        select(nm.Organization).where(nm.Organization.subdomain == subdomain)
    ).one_or_none()


@get_by_subdomain.cases
def _(fx: Any) -> Any:
    for org in fx.rows("Organization"):
        yield Case(tenant_id=org["id"], params={"subdomain": org["subdomain"]})
    first = fx.rows("Organization")[0]
    yield Case(
        tenant_id=first["id"], params={"subdomain": first["subdomain"].upper()}, label="other-case"
    )


members = pair("organization.members", router="organization")


@legacy_side(members)
def _(ctx: Any) -> Any:
    query: Any = (  # Any: peewee adds aliased columns and FK ids (organizationId) at run time
        lm.Membership.select(lm.Membership, lm.User, lm.Role)
        .join(lm.User, on=(lm.Membership.user == lm.User.id))
        .switch(lm.Membership)
        .join(lm.Role, on=(lm.Membership.role == lm.Role.id))
        .where(lm.Membership.organization == ctx.tenant_id)
    )
    return [
        {
            "userId": m.user.id,
            "name": m.user.name,
            "email": m.user.email,
            "role": m.role.name,
            "organizationId": m.organizationId,
        }
        for m in query
    ]


@members.new
def _(ctx: Any) -> Any:
    rows = ctx.session.scalars(
        select(nm.Membership)
        .options(joinedload(nm.Membership.user), joinedload(nm.Membership.role))
        .where(nm.Membership.organizationId == ctx.tenant_id)
    )
    return [
        {
            "userId": m.user.id,
            "name": m.user.name,
            "email": m.user.email,
            "role": m.role.name,
            "organizationId": m.organizationId,
        }
        for m in rows
    ]


@members.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)


for_user = pair(
    "organization.list",
    router="organization",
    ordered=True,
    tenant_scoped=False,
    cross_tenant_reason="the organization switcher lists every organization the user belongs to",
)


@legacy_side(for_user)
def _(ctx: Any) -> Any:
    query: Any = (  # Any: peewee adds aliased columns and FK ids (organizationId) at run time
        lm.Organization.select(lm.Organization, lm.Role.name.alias("role_name"))
        .join(lm.Membership)
        .join(lm.Role, on=(lm.Membership.role == lm.Role.id))
        .where(lm.Membership.user == ctx.user_id)
        .order_by(lm.Organization.name, lm.Organization.id)
        .objects()  # the role's name onto the Organization instance, as org.role_name
    )
    return [
        {
            "id": org.id,
            "name": org.name,
            "subdomain": org.subdomain,
            "logoUrl": org.logo_url,
            "role": org.role_name,
        }
        for org in query
    ]


@for_user.new
def _(ctx: Any) -> Any:
    stmt = (
        select(nm.Organization, nm.Role.name)
        .join(nm.Organization.memberships)
        .join(nm.Membership.role)
        .where(nm.Membership.userId == ctx.user_id)
        .order_by(nm.Organization.name, nm.Organization.id)
    )
    return [
        {
            "id": org.id,
            "name": org.name,
            "subdomain": org.subdomain,
            "logoUrl": org.logoUrl,
            "role": role,
        }
        for org, role in ctx.session.execute(stmt)
    ]


@for_user.cases
def _(fx: Any) -> Any:
    counts: dict[str, int] = {}
    for row in fx.rows("Membership"):
        counts[row["userId"]] = counts.get(row["userId"], 0) + 1
    users = [row["id"] for row in fx.rows("User")]
    everywhere = next(u for u in users if counts.get(u) == len(fx.tenants))
    single = next(u for u in users if counts.get(u) == 1)
    guest = next((u for u in users if 1 < counts.get(u, 0) < len(fx.tenants)), None)
    nobody = next(u for u in users if u not in counts)
    yield Case(user_id=everywhere, label="member-of-all")
    yield Case(user_id=single, label="member-of-one")
    if guest is not None:
        yield Case(user_id=guest, label="member-and-guest")
    yield Case(user_id=nobody, label="no-memberships")
    yield Case(user_id="missing-user", label="missing-user")
