"""The notification router: a user's unread notifications, their count, marking them read.

Notifications belong to a user (``ctx.user_id``), not to an organization, so the cases name
users: one in every organization, one in a single organization, one with nothing at all.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from peewee import fn
from sqlalchemy import func, select, update

from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.reference import legacy as lm
from harness.reference import models as nm


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


def _naive_utc(moment: datetime) -> datetime:
    """``moment`` as the schema stores timestamps: naive UTC.

    An aware datetime is not bound the same way by both: peewee hands it to sqlite3, which
    writes ``…345678+00:00``, and that text sorts after the stored ``…345678``; SQLAlchemy's
    SQLite type drops the offset. Naive UTC means the same to both ORMs on every database.
    """
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


unread = pair("notification.unread", router="notification", ordered=True)


@legacy_side(unread)
def _(ctx: Any, limit: int = 20, since_days: int | None = None, since: str | None = None) -> Any:
    query = lm.Notification.select().where(
        lm.Notification.user == ctx.user_id,
        lm.Notification.read == False,  # noqa: E712
    )
    if since_days is not None:
        cutoff = _naive_utc(ctx.now) - timedelta(days=since_days)
        query = query.where(lm.Notification.created_at >= cutoff)
    if since is not None:
        query = query.where(lm.Notification.created_at >= _naive_utc(datetime.fromisoformat(since)))
    query = query.order_by(lm.Notification.created_at.desc(), lm.Notification.id.desc())
    return list(query.limit(limit))


@unread.new
def _(ctx: Any, limit: int = 20, since_days: int | None = None, since: str | None = None) -> Any:
    stmt = select(nm.Notification).where(
        nm.Notification.userId == ctx.user_id, nm.Notification.read.is_(False)
    )
    if since_days is not None:
        cutoff = _naive_utc(ctx.now) - timedelta(days=since_days)
        stmt = stmt.where(nm.Notification.createdAt >= cutoff)
    if since is not None:
        stmt = stmt.where(nm.Notification.createdAt >= _naive_utc(datetime.fromisoformat(since)))
    stmt = stmt.order_by(nm.Notification.createdAt.desc(), nm.Notification.id.desc())
    return ctx.session.scalars(stmt.limit(limit)).all()


@unread.cases
def _(fx: Any) -> Any:
    users = _users(fx)
    for user, label in users:
        yield Case(user_id=user, label=label)
    yield Case(user_id=users[0][0], params={"limit": 1}, label="limit-1")
    yield Case(user_id=users[0][0], params={"limit": 0}, label="limit-0")
    # ctx.now is 2025-06-01; the seeded notifications are from early 2024.
    for days in (500, 30):
        yield Case(user_id=users[0][0], params={"since_days": days}, label=f"last-{days}-days")
    # "New since the one I last saw": the client sends back a notification's createdAt, in UTC.
    unread_rows = sorted(
        (r for r in fx.rows("Notification") if not r["read"]), key=lambda r: r["createdAt"]
    )
    for label, fraction in (("since-exact-microseconds", True), ("since-exact-second", False)):
        row = next((r for r in unread_rows if bool(r["createdAt"].microsecond) is fraction), None)
        if row is not None:
            since = row["createdAt"].isoformat() + "Z"
            yield Case(user_id=row["userId"], params={"since": since}, label=label)


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


mark_read = pair(
    "notification.markRead", router="notification", writes=True, watch=["Notification"]
)


@legacy_side(mark_read)
def _(ctx: Any, notification_ids: list[str]) -> Any:
    return (
        lm.Notification.update(read=True)
        .where(
            lm.Notification.id.in_(notification_ids),
            lm.Notification.user == ctx.user_id,
            lm.Notification.read == False,  # noqa: E712 (peewee builds SQL from ==)
        )
        .execute()
    )


@mark_read.new
def _(ctx: Any, notification_ids: list[str]) -> Any:
    result = ctx.session.execute(
        update(nm.Notification)
        .where(
            nm.Notification.id.in_(notification_ids),
            nm.Notification.userId == ctx.user_id,
            # Only the unread: on MariaDB SQLAlchemy's rowcount counts matched rows (it connects
            # with CLIENT.FOUND_ROWS) and peewee's counts changed rows; unread rows are both.
            nm.Notification.read.is_(False),
        )
        .values(read=True)
    )
    return result.rowcount


@mark_read.cases
def _(fx: Any) -> Any:
    notes = fx.rows("Notification")
    mine: dict[str, list[dict[str, Any]]] = {}
    for row in notes:
        mine.setdefault(row["userId"], []).append(row)
    mixed = next(u for u, rows in mine.items() if len({r["read"] for r in rows}) == 2)
    ids = [r["id"] for r in mine[mixed]]
    unread_ids = [r["id"] for r in mine[mixed] if not r["read"]]
    read_ids = [r["id"] for r in mine[mixed] if r["read"]]
    someone_else = next(r["id"] for r in notes if r["userId"] != mixed)
    yield Case(user_id=mixed, params={"notification_ids": unread_ids[:1]}, label="one-unread")
    yield Case(user_id=mixed, params={"notification_ids": read_ids[:1]}, label="one-already-read")
    yield Case(user_id=mixed, params={"notification_ids": ids}, label="read-and-unread")
    yield Case(user_id=mixed, params={"notification_ids": [someone_else]}, label="another-users")
    yield Case(user_id=mixed, params={"notification_ids": []}, label="empty-list")
