"""The notification router: a user's unread notifications, their count, and marking all read.

Notifications belong to a user (``ctx.user_id``), not to an organization, so the cases name
users: one in every organization, one in a single organization, one with nothing at all.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from peewee import fn
from sqlalchemy import func, select, update

from fixtures import legacy as lm
from fixtures import models as nm
from harness import Case, pair
from harness.pairs._common import legacy_side


def _users(fx: Any) -> list[tuple[str, str]]:
    """(user id, label): users with every kind of notification history, and a missing one."""
    memberships = Counter(row["userId"] for row in fx.rows("Membership"))
    notes = fx.rows("Notification")
    unread = Counter(row["userId"] for row in notes if not row["read"])
    users = [row["id"] for row in fx.rows("User")]
    picked: list[tuple[str, str]] = []
    everywhere = next(u for u in users if memberships[u] == len(fx.tenants))
    picked.append((everywhere, "member-of-all"))
    for label, test in (
        ("single-member-with-unread", lambda u: memberships[u] == 1 and unread[u] > 0),
        ("single-member-all-read", lambda u: memberships[u] == 1 and unread[u] == 0),
        ("no-notifications", lambda u: memberships[u] == 0),
    ):
        found = next((u for u in users if test(u) and u not in dict(picked)), None)
        if found is not None:
            picked.append((found, label))
    picked.append(("missing-user", "missing-user"))
    return picked


unread = pair("notification.unread", router="notification", ordered=True)


@legacy_side(unread)
def _(ctx: Any, limit: int = 20) -> Any:
    query = (
        lm.Notification.select()
        .where(lm.Notification.user == ctx.user_id, lm.Notification.read == False)  # noqa: E712
        .order_by(lm.Notification.created_at.desc(), lm.Notification.id.desc())
        .limit(limit)
    )
    return list(query)


@unread.new
def _(ctx: Any, limit: int = 20) -> Any:
    stmt = (
        select(nm.Notification)
        .where(nm.Notification.userId == ctx.user_id, nm.Notification.read.is_(False))
        .order_by(nm.Notification.createdAt.desc(), nm.Notification.id.desc())
        .limit(limit)
    )
    return ctx.session.scalars(stmt).all()


@unread.cases
def _(fx: Any) -> Any:
    users = _users(fx)
    for user, label in users:
        yield Case(user_id=user, label=label)
    yield Case(user_id=users[0][0], params={"limit": 1}, label="limit-1")
    yield Case(user_id=users[0][0], params={"limit": 0}, label="limit-0")


unread_count = pair("notification.unreadCount", router="notification")


@legacy_side(unread_count)
def _(ctx: Any) -> Any:
    return (
        lm.Notification.select(fn.COUNT(lm.Notification.id))
        .where(lm.Notification.user == ctx.user_id, lm.Notification.read == False)  # noqa: E712
        .scalar()
    )


@unread_count.new
def _(ctx: Any) -> Any:
    return ctx.session.scalar(
        select(func.count())
        .select_from(nm.Notification)
        .where(nm.Notification.userId == ctx.user_id, nm.Notification.read.is_(False))
    )


@unread_count.cases
def _(fx: Any) -> Any:
    for user, label in _users(fx):
        yield Case(user_id=user, label=label)


mark_all_read = pair(
    "notification.markAllRead", router="notification", writes=True, watch=["Notification"]
)


@legacy_side(mark_all_read)
def _(ctx: Any) -> Any:
    return (
        lm.Notification.update(read=True)
        .where(lm.Notification.user == ctx.user_id, lm.Notification.read == False)  # noqa: E712
        .execute()
    )


@mark_all_read.new
def _(ctx: Any) -> Any:
    result = ctx.session.execute(
        update(nm.Notification)
        .where(nm.Notification.userId == ctx.user_id, nm.Notification.read.is_(False))
        .values(read=True)
    )
    return result.rowcount


@mark_all_read.cases
def _(fx: Any) -> Any:
    for user, label in _users(fx):
        yield Case(user_id=user, label=label)
