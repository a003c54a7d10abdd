"""The user router: ``user.profile``, a user with their memberships and roles everywhere.

The profile is what the client's account page shows: the user's own fields and, per
organization they belong to, the organization and the role they hold there, sorted by
organization name. It is the classic nested join (user -> memberships -> organization, role)
and legitimately spans organizations.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.reference import legacy as lm
from harness.reference import models as nm

profile = pair(
    "user.profile",
    router="user",
    tenant_scoped=False,
    cross_tenant_reason="a profile lists the user's memberships in all their organizations",
)

USER_FIELDS = (
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "bio",
    "notificationFrequency",
    "emailNotificationsEnabled",
    "createdAt",
)


@legacy_side(profile)
def _(ctx: Any, user_id: str | None = None) -> Any:
    user = lm.User.get_or_none(lm.User.id == (user_id or ctx.user_id))
    if user is None:
        return None
    memberships = (
        lm.Membership.select(lm.Membership, lm.Organization, lm.Role)
        .join(lm.Organization)
        .switch(lm.Membership)
        .join(lm.Role)
        .where(lm.Membership.user == user)
        .order_by(lm.Organization.name, lm.Membership.id)
    )
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "emailVerified": user.email_verified,
        "image": user.image,
        "bio": user.bio,
        "notificationFrequency": user.notification_frequency,
        "emailNotificationsEnabled": user.email_notifications_enabled,
        "createdAt": user.created_at,
        "memberships": [
            {
                "id": m.id,
                "organizationId": m.organization.id,
                "organization": {
                    "id": m.organization.id,
                    "name": m.organization.name,
                    "subdomain": m.organization.subdomain,
                },
                "role": {
                    "id": m.role.id,
                    "name": m.role.name,
                    "isSystem": m.role.is_system,
                    "isDefault": m.role.is_default,
                },
            }
            for m in memberships
        ],
    }


@profile.new
def _(ctx: Any, user_id: str | None = None) -> Any:
    user = ctx.session.get(nm.User, user_id or ctx.user_id)
    if user is None:
        return None
    memberships = ctx.session.scalars(
        select(nm.Membership)
        .join(nm.Membership.organization)
        .options(contains_eager(nm.Membership.organization), joinedload(nm.Membership.role))
        .where(nm.Membership.userId == user.id)
        .order_by(nm.Organization.name, nm.Membership.id)
    )
    return {
        **{name: getattr(user, name) for name in USER_FIELDS},
        "memberships": [
            {
                "id": m.id,
                "organizationId": m.organizationId,
                "organization": {
                    "id": m.organization.id,
                    "name": m.organization.name,
                    "subdomain": m.organization.subdomain,
                },
                "role": {
                    "id": m.role.id,
                    "name": m.role.name,
                    "isSystem": m.role.isSystem,
                    "isDefault": m.role.isDefault,
                },
            }
            for m in memberships
        ],
    }


@profile.cases
def _(fx: Any) -> Any:
    users = [row["id"] for row in fx.rows("User")]
    counts = Counter(row["userId"] for row in fx.rows("Membership"))
    everywhere = [u for u in users if counts[u] == len(fx.tenants)]
    single = [u for u in users if counts[u] == 1]
    guests = [u for u in users if 1 < counts[u] < len(fx.tenants)]
    nobody = [u for u in users if counts[u] == 0]
    for k, user in enumerate(everywhere):
        yield Case(user_id=user, label=f"member-of-all-{k}")
    if single:
        yield Case(user_id=single[0], label="member-of-one")
    if guests:
        yield Case(user_id=guests[0], label="member-and-guest")
    if nobody:
        yield Case(user_id=nobody[0], label="no-memberships-all-null")
    # The id given as a parameter (an admin looking at someone) rather than the acting user.
    yield Case(
        user_id=users[0], params={"user_id": single[0] if single else users[-1]}, label="by-param"
    )
    yield Case(user_id="missing-user", label="missing")
