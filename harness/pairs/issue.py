"""The issue router: list (filters, sorts, offset and cursor pages), get, dashboard, and writes.

Every side returns the dicts the router sends to the client, built from its own ORM's objects
(the relation names differ between the ORMs: ``created_by`` vs ``createdBy``). The writes
(create, updateStatus, assign) are judged on those dicts and on the rows they change.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from operator import itemgetter
from typing import Any

import peewee as pw
from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from harness import Case, pair
from harness.pairs._common import (
    intrusion,
    legacy_issue,
    legacy_side,
    legacy_stamp,
    new_issue,
    rows_of,
    tenants_with_issues,
    user_reply,
)
from harness.reference import legacy as lm
from harness.reference import models as nm

CATEGORIES = ("NEW", "IN_PROGRESS", "RESOLVED")


# -- issue.list: filters, sorts, offset pages ------------------------------------------------------

issue_list = pair("issue.list", router="issue", ordered=True)

LEGACY_SORTS = {
    "createdAt": lm.Issue.created_at,
    "updatedAt": lm.Issue.updated_at,
    "priority": lm.Priority.order,
    "resolvedAt": lm.Issue.resolved_at,
}
NEW_SORTS = {
    "createdAt": nm.Issue.createdAt,
    "updatedAt": nm.Issue.updatedAt,
    "priority": nm.Priority.order,
    "resolvedAt": nm.Issue.resolvedAt,
}


def legacy_list_query(
    ctx: Any,
    *,
    status_category: str | None = None,
    priority_id: str | None = None,
    machine_id: str | None = None,
    assignee_id: str | None = None,
    search: str | None = None,
) -> Any:
    """The tenant's issues with status, priority and assignee joined, filtered (peewee)."""
    assignee = lm.User.alias()
    query = (
        lm.Issue.select(lm.Issue, lm.IssueStatus, lm.Priority, assignee)
        .join(lm.IssueStatus)
        .switch(lm.Issue)
        .join(lm.Priority)
        .switch(lm.Issue)
        .join(assignee, pw.JOIN.LEFT_OUTER, on=(lm.Issue.assigned_to == assignee.id))
        .where(lm.Issue.organization == ctx.tenant_id)
    )
    if status_category is not None:
        query = query.where(lm.IssueStatus.category == status_category)
    if priority_id is not None:
        query = query.where(lm.Issue.priority == priority_id)
    if machine_id is not None:
        query = query.where(lm.Issue.machine == machine_id)
    if assignee_id == "unassigned":
        query = query.where(lm.Issue.assigned_to.is_null())
    elif assignee_id is not None:
        query = query.where(lm.Issue.assigned_to == assignee_id)
    if search:
        query = query.where(lm.Issue.title.contains(search) | lm.Issue.description.contains(search))
    return query


def new_list_query(
    ctx: Any,
    *,
    status_category: str | None = None,
    priority_id: str | None = None,
    machine_id: str | None = None,
    assignee_id: str | None = None,
    search: str | None = None,
) -> Any:
    """The tenant's issues with status, priority and assignee loaded, filtered (SQLAlchemy)."""
    stmt = (
        select(nm.Issue)
        .join(nm.Issue.status)
        .join(nm.Issue.priority)
        .options(
            contains_eager(nm.Issue.status),
            contains_eager(nm.Issue.priority),
            joinedload(nm.Issue.assignedTo),
        )
        .where(nm.Issue.organizationId == ctx.tenant_id)
    )
    if status_category is not None:
        stmt = stmt.where(nm.IssueStatus.category == status_category)
    if priority_id is not None:
        stmt = stmt.where(nm.Issue.priorityId == priority_id)
    if machine_id is not None:
        stmt = stmt.where(nm.Issue.machineId == machine_id)
    if assignee_id == "unassigned":
        stmt = stmt.where(nm.Issue.assignedToId.is_(None))
    elif assignee_id is not None:
        stmt = stmt.where(nm.Issue.assignedToId == assignee_id)
    if search:
        # autoescape: a "_" or "%" the user typed is a letter, as peewee's contains() treats it.
        stmt = stmt.where(
            or_(
                nm.Issue.title.icontains(search, autoescape=True),
                nm.Issue.description.icontains(search, autoescape=True),
            )
        )
    return stmt


@legacy_side(issue_list)
def _(
    ctx: Any,
    sort: str = "createdAt",
    direction: str = "desc",
    limit: int | None = 20,
    offset: int = 0,
    **filters: Any,
) -> Any:
    key = LEGACY_SORTS[sort]
    nulls = "LAST" if sort == "resolvedAt" else None
    if direction == "desc":
        order = (key.desc(nulls=nulls), lm.Issue.id.desc())
    else:
        order = (key.asc(nulls=nulls), lm.Issue.id.asc())
    query = legacy_list_query(ctx, **filters).order_by(*order).limit(limit).offset(offset)
    return [legacy_issue(issue) for issue in query]


@issue_list.new
def _(
    ctx: Any,
    sort: str = "createdAt",
    direction: str = "desc",
    limit: int | None = 20,
    offset: int = 0,
    **filters: Any,
) -> Any:
    key = NEW_SORTS[sort]
    order: list[Any] = (
        [key.desc(), nm.Issue.id.desc()] if direction == "desc" else [key, nm.Issue.id]
    )
    if sort == "resolvedAt":
        # Unresolved last. Not nulls_last(): MariaDB has no NULLS LAST (peewee emulates it there).
        order.insert(0, nm.Issue.resolvedAt.is_(None))
    stmt = new_list_query(ctx, **filters).order_by(*order).limit(limit).offset(offset)
    return [new_issue(issue) for issue in ctx.session.scalars(stmt)]


@issue_list.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org, params={}, label=f"{org}:default")
    org = fx.tenants[0]
    issues = rows_of(fx, "Issue", org)
    for category in CATEGORIES:
        yield Case(tenant_id=org, params={"status_category": category}, label=f"status={category}")
    nulls = {
        "status_category": None,
        "priority_id": None,
        "machine_id": None,
        "assignee_id": None,
        "search": None,
    }
    yield Case(tenant_id=org, params=nulls, label="filters=NULL")
    yield Case(tenant_id=org, params={"priority_id": issues[1]["priorityId"]}, label="priority")
    yield Case(tenant_id=org, params={"machine_id": issues[0]["machineId"]}, label="machine")
    assignee = next(row["assignedToId"] for row in issues if row["assignedToId"])
    yield Case(tenant_id=org, params={"assignee_id": assignee}, label="assignee")
    yield Case(tenant_id=org, params={"assignee_id": "unassigned"}, label="unassigned")
    foreign = next((p for p in fx.rows("Priority") if p["organizationId"] != org), None)
    if foreign is not None:
        yield Case(
            tenant_id=org, params={"priority_id": foreign["id"]}, label="other tenant's priority"
        )
    searches = (
        "flipper",
        "FLIPPER",
        "fällt",
        "FÄLLT",
        "über",
        "ÜBER",
        "straße",
        "STRASSE",
        "日本語",
        "«",
        "<b>",
        "'high'",
        "REPLACED THE",
        "_",
        "%",
        "\\",
        "",
    )
    for text in searches:
        yield Case(tenant_id=org, params={"search": text}, label=f"search={text!r}")
    for sort in ("createdAt", "updatedAt", "priority", "resolvedAt"):
        for direction in ("asc", "desc"):
            yield Case(
                tenant_id=org,
                params={"sort": sort, "direction": direction, "limit": 100},
                label=f"sort={sort} {direction}",
            )
    yield Case(tenant_id=org, params={"limit": 3, "offset": 3}, label="page 2")
    yield Case(tenant_id=org, params={"limit": 5, "offset": 1000}, label="past the end")
    yield Case(tenant_id=org, params={"limit": 0}, label="limit=0")
    yield Case(tenant_id=org, params={"limit": None, "offset": 3}, label="no limit, offset 3")
    combined = {"search": "a", "status_category": "RESOLVED", "sort": "priority"}
    yield Case(tenant_id=org, params={**combined, "direction": "asc"}, label="combined")


# -- issue.listCursor: keyset pages after (sort key, id) -------------------------------------------

list_cursor = pair("issue.listCursor", router="issue", ordered=True)


def _page(items: list[dict[str, Any]], sort: str, limit: int) -> dict[str, Any]:
    last = items[-1] if len(items) == limit and items else None
    cursor = None if last is None else {"at": last[sort].isoformat(), "id": last["id"]}
    return {"items": items, "nextCursor": cursor}


@legacy_side(list_cursor)
def _(
    ctx: Any,
    sort: str = "createdAt",
    direction: str = "desc",
    after: dict[str, str] | None = None,
    limit: int = 5,
) -> Any:
    key = LEGACY_SORTS[sort]
    query = legacy_list_query(ctx)
    if after is not None:
        position = pw.Tuple(key, lm.Issue.id)
        bound = (legacy_stamp(ctx, datetime.fromisoformat(after["at"])), after["id"])
        query = query.where(position < bound if direction == "desc" else position > bound)
    order = (key.desc(), lm.Issue.id.desc()) if direction == "desc" else (key, lm.Issue.id)
    return _page([legacy_issue(i) for i in query.order_by(*order).limit(limit)], sort, limit)


@list_cursor.new
def _(
    ctx: Any,
    sort: str = "createdAt",
    direction: str = "desc",
    after: dict[str, str] | None = None,
    limit: int = 5,
) -> Any:
    key = NEW_SORTS[sort]
    stmt = new_list_query(ctx)
    if after is not None:
        position = tuple_(key, nm.Issue.id)
        bound = tuple_(datetime.fromisoformat(after["at"]), after["id"])
        stmt = stmt.where(position < bound if direction == "desc" else position > bound)
    order = (key.desc(), nm.Issue.id.desc()) if direction == "desc" else (key, nm.Issue.id)
    issues = ctx.session.scalars(stmt.order_by(*order).limit(limit))
    return _page([new_issue(i) for i in issues], sort, limit)


@list_cursor.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org, params={}, label=f"{org}:first page")
    org = fx.tenants[0]
    issues = rows_of(fx, "Issue", org)
    for sort in ("createdAt", "updatedAt"):
        for direction in ("asc", "desc"):
            ranked = sorted(issues, key=itemgetter(sort, "id"), reverse=direction == "desc")
            for k in (0, 1, 2, len(ranked) - 1):
                after = {"at": ranked[k][sort].isoformat(), "id": ranked[k]["id"]}
                params = {"sort": sort, "direction": direction, "after": after}
                yield Case(tenant_id=org, params=params, label=f"{sort} {direction} after #{k + 1}")
    # The bulk import: the first three issues share createdAt, so only the id breaks the tie.
    shared = Counter(row["createdAt"] for row in issues)
    tied = sorted((r for r in issues if shared[r["createdAt"]] > 1), key=lambda r: r["id"])
    for direction in ("asc", "desc"):
        row = tied[1]
        after = {"at": row["createdAt"].isoformat(), "id": row["id"]}
        yield Case(
            tenant_id=org,
            params={"direction": direction, "after": after, "limit": 3},
            label=f"tie {direction}",
        )
    yield Case(
        tenant_id=org,
        params={"after": {"at": "1999-01-01T00:00:00", "id": ""}},
        label="past the end",
    )
    yield Case(tenant_id=org, params={"limit": 0}, label="limit=0")


# -- issue.get: one issue with comments, attachments, history and upvotes --------------------------

issue_get = pair("issue.get", router="issue")


def _legacy_detail(issue: Any) -> dict[str, Any]:
    return {
        **legacy_issue(issue),
        "description": issue.description,
        "consistency": issue.consistency,
        "checklist": issue.checklist,
        "createdBy": user_reply(issue.created_by),
        "comments": [
            {
                "id": c.id,
                "content": c.content,
                "createdAt": c.created_at,
                "author": user_reply(c.author),
            }
            for c in issue.comments
        ],
        "attachments": [
            {
                "id": a.id,
                "url": a.url,
                "fileName": a.file_name,
                "fileType": a.file_type,
                "createdAt": a.created_at,
            }
            for a in issue.attachments
        ],
        "history": [
            {
                "id": h.id,
                "type": h.type,
                "field": h.field,
                "oldValue": h.old_value,
                "newValue": h.new_value,
                "changedAt": h.changed_at,
                "actor": user_reply(h.actor),
            }
            for h in issue.history
        ],
        "upvoteCount": issue.upvote_count,
    }


@legacy_side(issue_get)
def _(ctx: Any, issue_id: str) -> Any:
    creator, assignee = lm.User.alias(), lm.User.alias()
    issues = (
        lm.Issue.select(
            lm.Issue,
            lm.IssueStatus,
            lm.Priority,
            creator,
            assignee,
            lm.Upvote.select(pw.fn.COUNT(lm.Upvote.id))
            .where(lm.Upvote.issue == lm.Issue.id)
            .alias("upvote_count"),
        )
        .join(lm.IssueStatus)
        .switch(lm.Issue)
        .join(lm.Priority)
        .switch(lm.Issue)
        .join(creator, pw.JOIN.LEFT_OUTER, on=(lm.Issue.created_by == creator.id))
        .switch(lm.Issue)
        .join(assignee, pw.JOIN.LEFT_OUTER, on=(lm.Issue.assigned_to == assignee.id))
        .where((lm.Issue.id == issue_id) & (lm.Issue.organization == ctx.tenant_id))
    )
    comments = (
        lm.Comment.select(lm.Comment, lm.User)
        .join(lm.User, on=(lm.Comment.author == lm.User.id))
        .where(lm.Comment.deleted_at.is_null())
        .order_by(lm.Comment.created_at, lm.Comment.id)
    )
    attachments = lm.Attachment.select().order_by(lm.Attachment.created_at, lm.Attachment.id)
    history = (
        lm.IssueHistory.select(lm.IssueHistory, lm.User)
        .join(lm.User, pw.JOIN.LEFT_OUTER, on=(lm.IssueHistory.actor == lm.User.id))
        .order_by(lm.IssueHistory.changed_at, lm.IssueHistory.id)
    )
    found = pw.prefetch(issues, comments, attachments, history)
    return _legacy_detail(found[0]) if found else None


@issue_get.new
def _(ctx: Any, issue_id: str) -> Any:
    stmt = (
        select(nm.Issue)
        .options(
            joinedload(nm.Issue.status),
            joinedload(nm.Issue.priority),
            joinedload(nm.Issue.createdBy),
            joinedload(nm.Issue.assignedTo),
            selectinload(nm.Issue.comments.and_(nm.Comment.deletedAt.is_(None))).joinedload(
                nm.Comment.author
            ),
            selectinload(nm.Issue.attachments),
            selectinload(nm.Issue.history).joinedload(nm.IssueHistory.actor),
        )
        .where(nm.Issue.id == issue_id, nm.Issue.organizationId == ctx.tenant_id)
    )
    issue = ctx.session.scalars(stmt).one_or_none()
    if issue is None:
        return None
    upvotes = ctx.session.scalar(
        select(func.count()).select_from(nm.Upvote).where(nm.Upvote.issueId == issue.id)
    )
    return {
        **new_issue(issue),
        "description": issue.description,
        "consistency": issue.consistency,
        "checklist": issue.checklist,
        "createdBy": user_reply(issue.createdBy),
        "comments": [
            {
                "id": c.id,
                "content": c.content,
                "createdAt": c.createdAt,
                "author": user_reply(c.author),
            }
            for c in sorted(issue.comments, key=lambda c: (c.createdAt, c.id))
        ],
        "attachments": [
            {
                "id": a.id,
                "url": a.url,
                "fileName": a.fileName,
                "fileType": a.fileType,
                "createdAt": a.createdAt,
            }
            for a in sorted(issue.attachments, key=lambda a: (a.createdAt, a.id))
        ],
        "history": [
            {
                "id": h.id,
                "type": h.type,
                "field": h.field,
                "oldValue": h.oldValue,
                "newValue": h.newValue,
                "changedAt": h.changedAt,
                "actor": user_reply(h.actor),
            }
            for h in sorted(issue.history, key=lambda h: (h.changedAt, h.id))
        ],
        "upvoteCount": upvotes,
    }


@issue_get.cases
def _(fx: Any) -> Any:
    for org in tenants_with_issues(fx):
        for row in rows_of(fx, "Issue", org)[:4]:
            yield Case(tenant_id=org, params={"issue_id": row["id"]}, label=f"{org}:{row['id']}")
    org = fx.tenants[0]
    own = rows_of(fx, "Issue", org)[0]["id"]
    yield Case(tenant_id=org, params={"issue_id": "missing-issue"}, label="missing")
    yield Case(tenant_id=org, params={"issue_id": own.upper()}, label="id in upper case")
    if (found := intrusion(fx, fx.rows("Issue"))) is not None:
        yield Case(
            tenant_id=found[0], params={"issue_id": found[1]["id"]}, label="other tenant's issue"
        )
    if fx.tenants[-1] not in tenants_with_issues(fx):
        yield Case(
            tenant_id=fx.tenants[-1], params={"issue_id": own}, label="tenant without issues"
        )


# -- issue.dashboard: issues per status category ---------------------------------------------------

dashboard = pair("issue.dashboard", router="issue")


@legacy_side(dashboard)
def _(ctx: Any) -> Any:
    query = (
        lm.Issue.select(lm.IssueStatus.category, pw.fn.COUNT(lm.Issue.id).alias("n"))
        .join(lm.IssueStatus)
        .where(lm.Issue.organization == ctx.tenant_id)
        .group_by(lm.IssueStatus.category)
    )
    rows: Any = query.dicts()  # peewee types .dicts() as a select of models
    return {**dict.fromkeys(CATEGORIES, 0), **{row["category"]: row["n"] for row in rows}}


@dashboard.new
def _(ctx: Any) -> Any:
    stmt = (
        select(nm.IssueStatus.category, func.count(nm.Issue.id))
        .outerjoin(
            nm.Issue,
            and_(nm.Issue.statusId == nm.IssueStatus.id, nm.Issue.organizationId == ctx.tenant_id),
        )
        .where(nm.IssueStatus.organizationId == ctx.tenant_id)
        .group_by(nm.IssueStatus.category)
    )
    return {**dict.fromkeys(CATEGORIES, 0), **dict(ctx.session.execute(stmt).all())}


@dashboard.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)
    yield Case(tenant_id="missing-org", label="missing tenant")
