"""The role router: a tenant's roles, a role's permissions, and the permission check.

``permission.check`` answers "may user U do P in organization O": U's membership of O gives a
role, and the role's permissions come through ``_RolePermissions``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from peewee import JOIN, fn
from sqlalchemy import exists, func, select

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


role_list = pair("role.list", router="role", ordered=True)


@legacy_side(role_list)
def _(ctx: Any) -> Any:
    query: Any = (  # Any: peewee adds aliased columns and FK ids (organizationId) at run time
        lm.Role.select(lm.Role, fn.COUNT(lm.Membership.id).alias("member_count"))
        .join(lm.Membership, JOIN.LEFT_OUTER, on=(lm.Membership.role == lm.Role.id))
        .where(lm.Role.organization == ctx.tenant_id)
        .group_by(lm.Role.id)
        .order_by(lm.Role.name, lm.Role.id)
    )
    return [
        {
            "id": role.id,
            "name": role.name,
            "organizationId": role.organizationId,
            "isSystem": role.is_system,
            "isDefault": role.is_default,
            "memberCount": role.member_count,
        }
        for role in query
    ]


@role_list.new
def _(ctx: Any) -> Any:
    stmt = (
        select(nm.Role, func.count(nm.Membership.id).label("memberCount"))
        .outerjoin(nm.Role.memberships)
        .where(nm.Role.organizationId == ctx.tenant_id)
        .group_by(nm.Role.id)
        .order_by(nm.Role.name, nm.Role.id)
    )
    return [
        {
            "id": role.id,
            "name": role.name,
            "organizationId": role.organizationId,
            "isSystem": role.isSystem,
            "isDefault": role.isDefault,
            "memberCount": count,
        }
        for role, count in ctx.session.execute(stmt)
    ]


@role_list.cases
def _(fx: Any) -> Any:
    for org, label in _tenant_labels(fx):
        yield Case(tenant_id=org, label=label)


permissions = pair("role.permissions", router="role")


@legacy_side(permissions)
def _(ctx: Any, role_id: str) -> Any:
    role: Any = lm.Role.get_or_none(lm.Role.id == role_id, lm.Role.organization == ctx.tenant_id)
    if role is None:
        return None
    return {
        "id": role.id,
        "name": role.name,
        "organizationId": role.organizationId,
        "permissions": [
            {"id": p.id, "name": p.name, "description": p.description}
            for p in role.permissions.order_by(lm.Permission.name)
        ],
    }


@permissions.new
def _(ctx: Any, role_id: str) -> Any:
    role = ctx.session.scalars(
        select(nm.Role).where(nm.Role.id == role_id, nm.Role.organizationId == ctx.tenant_id)
    ).one_or_none()
    if role is None:
        return None
    granted = ctx.session.scalars(
        select(nm.Permission)
        .join(nm.Permission.roles)
        .where(nm.Role.id == role.id)
        .order_by(nm.Permission.name)
    )
    return {
        "id": role.id,
        "name": role.name,
        "organizationId": role.organizationId,
        "permissions": [
            {"id": p.id, "name": p.name, "description": p.description} for p in granted
        ],
    }


@permissions.cases
def _(fx: Any) -> Any:
    roles_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in fx.rows("Role"):
        roles_of[row["organizationId"]].append(row)
    for org, label in _tenant_labels(fx):
        for role in sorted(roles_of[org], key=lambda r: r["name"]):
            yield Case(
                tenant_id=org, params={"role_id": role["id"]}, label=f"{label}:{role['name']}"
            )
    first, second = fx.tenants[0], fx.tenants[-1]
    yield Case(
        tenant_id=first,
        params={"role_id": roles_of[second][0]["id"]},
        label="role-of-another-tenant",
    )
    yield Case(tenant_id=first, params={"role_id": "missing-role"}, label="missing")


check = pair("permission.check", router="permission")


@legacy_side(check)
def _(ctx: Any, permission: str) -> Any:
    return (
        lm.Membership.select()
        .join(lm.Role, on=(lm.Membership.role == lm.Role.id))
        .join(lm.RolePermissions, on=(lm.RolePermissions.role == lm.Role.id))
        .join(lm.Permission, on=(lm.RolePermissions.permission == lm.Permission.id))
        .where(
            lm.Membership.user == ctx.user_id,
            lm.Membership.organization == ctx.tenant_id,
            lm.Permission.name == permission,
        )
        .exists()
    )


@check.new
def _(ctx: Any, permission: str) -> Any:
    granted = (
        select(nm.Membership.id)
        .join(nm.Membership.role)
        .join(nm.Role.permissions)
        .where(
            nm.Membership.userId == ctx.user_id,
            nm.Membership.organizationId == ctx.tenant_id,
            nm.Permission.name == permission,
        )
    )
    return ctx.session.scalar(select(exists(granted)))


@check.cases
def _(fx: Any) -> Any:
    roles = {row["id"]: row["name"] for row in fx.rows("Role")}
    memberships = fx.rows("Membership")
    for org, label in _tenant_labels(fx):
        held: dict[str, str] = {}
        for m in memberships:
            if m["organizationId"] == org:
                held.setdefault(roles[m["roleId"]], m["userId"])
        for role_name, user in sorted(held.items()):
            for permission in ("issue:view", "issue:assign", "organization:manage"):
                yield Case(
                    tenant_id=org,
                    user_id=user,
                    params={"permission": permission},
                    label=f"{label}:{role_name}:{permission}",
                )
    first = fx.tenants[0]
    admin = next(
        m["userId"]
        for m in memberships
        if m["organizationId"] == first and roles[m["roleId"]] == "Admin"
    )
    outsider = next(
        u["id"]
        for u in fx.rows("User")
        if not any(m["userId"] == u["id"] and m["organizationId"] == first for m in memberships)
    )
    yield Case(
        tenant_id=first, user_id=outsider, params={"permission": "issue:view"}, label="not-a-member"
    )
    yield Case(
        tenant_id=first, user_id=admin, params={"permission": "no:such"}, label="unknown-permission"
    )
    yield Case(
        tenant_id=first, user_id=admin, params={"permission": "ISSUE:VIEW"}, label="other-case"
    )
    yield Case(
        tenant_id=first,
        user_id="missing-user",
        params={"permission": "issue:view"},
        label="missing-user",
    )
