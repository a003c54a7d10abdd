"""What the reference application's pair modules share: the legacy models bound per call.

The reference models carry no database (as in an application that binds them per request), so
a legacy side runs with them bound to ``ctx.db``: decorate it with ``legacy_side(pair)`` instead
of ``@pair.legacy``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import peewee as pw

from harness.registry import Pair

SideFunc = Callable[..., Any]


def legacy_side(p: Pair) -> Callable[[SideFunc], SideFunc]:
    """Register ``func`` as ``p``'s legacy side, run with the reference models bound to ``ctx.db``."""

    def models() -> Any:
        from harness.reference.legacy import MODELS

        return MODELS

    return p.legacy_bound(models)


# -- what the router sends, and how each side writes a timestamp -----------------------------------


def user_reply(user: Any) -> dict[str, Any] | None:
    """A user as the client sees it (the attribute names agree between the two ORMs)."""
    return None if user is None else {"id": user.id, "name": user.name, "image": user.image}


def _status_and_priority(issue: Any) -> dict[str, Any]:
    status, priority = issue.status, issue.priority
    return {
        "status": {"id": status.id, "name": status.name, "category": status.category},
        "priority": {"id": priority.id, "name": priority.name, "order": priority.order},
    }


def legacy_issue(issue: Any) -> dict[str, Any]:
    """An issue as a list shows it, with status, priority and assignee (peewee)."""
    return {
        "id": issue.id,
        "title": issue.title,
        "createdAt": issue.created_at,
        "updatedAt": issue.updated_at,
        "resolvedAt": issue.resolved_at,
        "organizationId": issue.organizationId,
        "machineId": issue.machineId,
        "createdById": issue.createdById,
        "assignedToId": issue.assignedToId,
        **_status_and_priority(issue),
        "assignedTo": user_reply(issue.assigned_to),
    }


def new_issue(issue: Any) -> dict[str, Any]:
    """An issue as a list shows it, with status, priority and assignee (SQLAlchemy)."""
    return {
        "id": issue.id,
        "title": issue.title,
        "createdAt": issue.createdAt,
        "updatedAt": issue.updatedAt,
        "resolvedAt": issue.resolvedAt,
        "organizationId": issue.organizationId,
        "machineId": issue.machineId,
        "createdById": issue.createdById,
        "assignedToId": issue.assignedToId,
        **_status_and_priority(issue),
        "assignedTo": user_reply(issue.assignedTo),
    }


def naive_utc(moment: datetime) -> datetime:
    """An instant as the schema stores it: naive UTC (an aware value is converted, naive kept)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def legacy_stamp(ctx: Any, moment: datetime) -> Any:
    """``moment`` as the legacy side must bind it: naive UTC; on SQLite, the stored text form.

    SQLite keeps timestamps as fixed-width text with six fraction digits (what the fixture and
    SQLAlchemy write). peewee hands a datetime to sqlite3, whose adapter writes str(datetime): a
    whole second without ".000000", which as text sorts before the stored value, and an aware
    one with "+00:00". ``converter=False`` keeps DateTimeField from parsing the text back.
    """
    naive = naive_utc(moment)
    if isinstance(ctx.db, pw.SqliteDatabase):
        return pw.Value(naive.isoformat(" ", "microseconds"), converter=False)
    return naive


# -- cases: rows of the seeded fixture -------------------------------------------------------------


def rows_of(fx: Any, table: str, org: str) -> list[dict[str, Any]]:
    """The seeded rows of ``table`` that belong to tenant ``org``."""
    return [row for row in fx.rows(table) if row["organizationId"] == org]


def tenants_with_issues(fx: Any) -> list[str]:
    """The tenants that have issues (all but the last one, when there are two or more)."""
    owners = {row["organizationId"] for row in fx.rows("Issue")}
    return [org for org in fx.tenants if org in owners]


def intrusion(
    fx: Any,
    rows: list[dict[str, Any]],
    owner: Callable[[dict[str, Any]], str] = itemgetter("organizationId"),
) -> tuple[str, dict[str, Any]] | None:
    """A tenant and one of ``rows`` that another tenant owns, for an isolation case (if any)."""
    return next(((org, row) for org in fx.tenants for row in rows if owner(row) != org), None)


def member_of(fx: Any, org: str, index: int = 2) -> str:
    """A member of ``org`` (index 2 is the first of the tenant's own users, not a shared one)."""
    members = [m["userId"] for m in fx.rows("Membership") if m["organizationId"] == org]
    return members[index % len(members)]
