"""The issue router: list (filters, sorts, offset and cursor pages), get, dashboard, and writes.

Every side returns the dicts the router sends to the client, built from its own ORM's objects
(the relation names differ between the ORMs: ``created_by`` vs ``createdBy``). The writes
(create, updateStatus, assign) are judged on those dicts and on the rows they change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import peewee as pw
from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from fixtures import legacy as lm
from fixtures import models as nm
from harness import Case, pair
from harness.pairs._common import legacy_side

CATEGORIES = ("NEW", "IN_PROGRESS", "RESOLVED")


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
        "id": issue.id, "title": issue.title, "createdAt": issue.created_at,
        "updatedAt": issue.updated_at, "resolvedAt": issue.resolved_at,
        "organizationId": issue.organizationId, "machineId": issue.machineId,
        "createdById": issue.createdById, "assignedToId": issue.assignedToId,
        **_status_and_priority(issue), "assignedTo": user_reply(issue.assigned_to),
    }


def new_issue(issue: Any) -> dict[str, Any]:
    """An issue as a list shows it, with status, priority and assignee (SQLAlchemy)."""
    return {
        "id": issue.id, "title": issue.title, "createdAt": issue.createdAt,
        "updatedAt": issue.updatedAt, "resolvedAt": issue.resolvedAt,
        "organizationId": issue.organizationId, "machineId": issue.machineId,
        "createdById": issue.createdById, "assignedToId": issue.assignedToId,
        **_status_and_priority(issue), "assignedTo": user_reply(issue.assignedTo),
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


def _of(fx: Any, table: str, org: str) -> list[dict[str, Any]]:
    """The seeded rows of ``table`` that belong to tenant ``org``."""
    return [row for row in fx.rows(table) if row["organizationId"] == org]


def tenants_with_issues(fx: Any) -> list[str]:
    """The tenants that have issues (all but the last one, when there are two or more)."""
    owners = {row["organizationId"] for row in fx.rows("Issue")}
    return [org for org in fx.tenants if org in owners]


def intrusion(fx: Any, rows: list[dict[str, Any]],
              owner: Callable[[dict[str, Any]], str] = itemgetter("organizationId"),
              ) -> tuple[str, dict[str, Any]] | None:
    """A tenant and one of ``rows`` that another tenant owns, for an isolation case (if any)."""
    return next(((org, row) for org in fx.tenants for row in rows if owner(row) != org), None)


def member_of(fx: Any, org: str, index: int = 2) -> str:
    """A member of ``org`` (index 2 is the first of the tenant's own users, not a shared one)."""
    members = [m["userId"] for m in fx.rows("Membership") if m["organizationId"] == org]
    return members[index % len(members)]


# -- issue.list: filters, sorts, offset pages ------------------------------------------------------

issue_list = pair("issue.list", router="issue", ordered=True)

LEGACY_SORTS = {
    "createdAt": lm.Issue.created_at, "updatedAt": lm.Issue.updated_at,
    "priority": lm.Priority.order, "resolvedAt": lm.Issue.resolved_at,
}
NEW_SORTS = {
    "createdAt": nm.Issue.createdAt, "updatedAt": nm.Issue.updatedAt,
    "priority": nm.Priority.order, "resolvedAt": nm.Issue.resolvedAt,
}


def legacy_list_query(
    ctx: Any, *, status_category: str | None = None, priority_id: str | None = None,
    machine_id: str | None = None, assignee_id: str | None = None, search: str | None = None,
) -> Any:
    """The tenant's issues with status, priority and assignee joined, filtered (peewee)."""
    assignee = lm.User.alias()
    query = (
        lm.Issue.select(lm.Issue, lm.IssueStatus, lm.Priority, assignee)
        .join(lm.IssueStatus).switch(lm.Issue)
        .join(lm.Priority).switch(lm.Issue)
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
        query = query.where(
            lm.Issue.title.contains(search) | lm.Issue.description.contains(search)
        )
    return query


def new_list_query(
    ctx: Any, *, status_category: str | None = None, priority_id: str | None = None,
    machine_id: str | None = None, assignee_id: str | None = None, search: str | None = None,
) -> Any:
    """The tenant's issues with status, priority and assignee loaded, filtered (SQLAlchemy)."""
    stmt = (
        select(nm.Issue)
        .join(nm.Issue.status)
        .join(nm.Issue.priority)
        .options(contains_eager(nm.Issue.status), contains_eager(nm.Issue.priority),
                 joinedload(nm.Issue.assignedTo))
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
        stmt = stmt.where(or_(nm.Issue.title.icontains(search, autoescape=True),
                              nm.Issue.description.icontains(search, autoescape=True)))
    return stmt


@legacy_side(issue_list)
def _(ctx: Any, sort: str = "createdAt", direction: str = "desc", limit: int | None = 20,
      offset: int = 0, **filters: Any) -> Any:
    key = LEGACY_SORTS[sort]
    nulls = "LAST" if sort == "resolvedAt" else None
    if direction == "desc":
        order = (key.desc(nulls=nulls), lm.Issue.id.desc())
    else:
        order = (key.asc(nulls=nulls), lm.Issue.id.asc())
    query = legacy_list_query(ctx, **filters).order_by(*order).limit(limit).offset(offset)
    return [legacy_issue(issue) for issue in query]


@issue_list.new
def _(ctx: Any, sort: str = "createdAt", direction: str = "desc", limit: int | None = 20,
      offset: int = 0, **filters: Any) -> Any:
    key = NEW_SORTS[sort]
    if direction == "desc":
        order = [key.desc(), nm.Issue.id.desc()]
    else:
        order = [key.asc(), nm.Issue.id.asc()]
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
    issues = _of(fx, "Issue", org)
    for category in CATEGORIES:
        yield Case(tenant_id=org, params={"status_category": category}, label=f"status={category}")
    nulls = {"status_category": None, "priority_id": None, "machine_id": None,
             "assignee_id": None, "search": None}
    yield Case(tenant_id=org, params=nulls, label="filters=NULL")
    yield Case(tenant_id=org, params={"priority_id": issues[1]["priorityId"]}, label="priority")
    yield Case(tenant_id=org, params={"machine_id": issues[0]["machineId"]}, label="machine")
    assignee = next(row["assignedToId"] for row in issues if row["assignedToId"])
    yield Case(tenant_id=org, params={"assignee_id": assignee}, label="assignee")
    yield Case(tenant_id=org, params={"assignee_id": "unassigned"}, label="unassigned")
    foreign = next((p for p in fx.rows("Priority") if p["organizationId"] != org), None)
    if foreign is not None:
        yield Case(tenant_id=org, params={"priority_id": foreign["id"]},
                   label="other tenant's priority")
    searches = ("flipper", "FLIPPER", "fällt", "FÄLLT", "über", "ÜBER", "straße", "STRASSE",
                "日本語", "«", "<b>", "'high'", "REPLACED THE", "_", "%", "\\", "")
    for text in searches:
        yield Case(tenant_id=org, params={"search": text}, label=f"search={text!r}")
    for sort in ("createdAt", "updatedAt", "priority", "resolvedAt"):
        for direction in ("asc", "desc"):
            yield Case(tenant_id=org, params={"sort": sort, "direction": direction, "limit": 100},
                       label=f"sort={sort} {direction}")
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
def _(ctx: Any, sort: str = "createdAt", direction: str = "desc",
      after: dict[str, str] | None = None, limit: int = 5) -> Any:
    key = LEGACY_SORTS[sort]
    query = legacy_list_query(ctx)
    if after is not None:
        position = pw.Tuple(key, lm.Issue.id)
        bound = (legacy_stamp(ctx, datetime.fromisoformat(after["at"])), after["id"])
        query = query.where(position < bound if direction == "desc" else position > bound)
    order = (key.desc(), lm.Issue.id.desc()) if direction == "desc" else (key, lm.Issue.id)
    return _page([legacy_issue(i) for i in query.order_by(*order).limit(limit)], sort, limit)


@list_cursor.new
def _(ctx: Any, sort: str = "createdAt", direction: str = "desc",
      after: dict[str, str] | None = None, limit: int = 5) -> Any:
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
    issues = _of(fx, "Issue", org)
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
        yield Case(tenant_id=org, params={"direction": direction, "after": after, "limit": 3},
                   label=f"tie {direction}")
    yield Case(tenant_id=org, params={"after": {"at": "1999-01-01T00:00:00", "id": ""}},
               label="past the end")
    yield Case(tenant_id=org, params={"limit": 0}, label="limit=0")


# -- issue.get: one issue with comments, attachments, history and upvotes --------------------------

issue_get = pair("issue.get", router="issue")


def _legacy_detail(issue: Any) -> dict[str, Any]:
    return {
        **legacy_issue(issue),
        "description": issue.description, "consistency": issue.consistency,
        "checklist": issue.checklist, "createdBy": user_reply(issue.created_by),
        "comments": [
            {"id": c.id, "content": c.content, "createdAt": c.created_at,
             "author": user_reply(c.author)}
            for c in issue.comments
        ],
        "attachments": [
            {"id": a.id, "url": a.url, "fileName": a.file_name, "fileType": a.file_type,
             "createdAt": a.created_at}
            for a in issue.attachments
        ],
        "history": [
            {"id": h.id, "type": h.type, "field": h.field, "oldValue": h.old_value,
             "newValue": h.new_value, "changedAt": h.changed_at, "actor": user_reply(h.actor)}
            for h in issue.history
        ],
        "upvoteCount": issue.upvote_count,
    }


@legacy_side(issue_get)
def _(ctx: Any, issue_id: str) -> Any:
    creator, assignee = lm.User.alias(), lm.User.alias()
    issues = (
        lm.Issue.select(lm.Issue, lm.IssueStatus, lm.Priority, creator, assignee,
                        lm.Upvote.select(pw.fn.COUNT(lm.Upvote.id))
                        .where(lm.Upvote.issue == lm.Issue.id).alias("upvote_count"))
        .join(lm.IssueStatus).switch(lm.Issue)
        .join(lm.Priority).switch(lm.Issue)
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
            joinedload(nm.Issue.status), joinedload(nm.Issue.priority),
            joinedload(nm.Issue.createdBy), joinedload(nm.Issue.assignedTo),
            selectinload(nm.Issue.comments.and_(nm.Comment.deletedAt.is_(None)))
            .joinedload(nm.Comment.author),
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
        "description": issue.description, "consistency": issue.consistency,
        "checklist": issue.checklist, "createdBy": user_reply(issue.createdBy),
        "comments": [
            {"id": c.id, "content": c.content, "createdAt": c.createdAt,
             "author": user_reply(c.author)}
            for c in sorted(issue.comments, key=lambda c: (c.createdAt, c.id))
        ],
        "attachments": [
            {"id": a.id, "url": a.url, "fileName": a.fileName, "fileType": a.fileType,
             "createdAt": a.createdAt}
            for a in sorted(issue.attachments, key=lambda a: (a.createdAt, a.id))
        ],
        "history": [
            {"id": h.id, "type": h.type, "field": h.field, "oldValue": h.oldValue,
             "newValue": h.newValue, "changedAt": h.changedAt, "actor": user_reply(h.actor)}
            for h in sorted(issue.history, key=lambda h: (h.changedAt, h.id))
        ],
        "upvoteCount": upvotes,
    }


@issue_get.cases
def _(fx: Any) -> Any:
    for org in tenants_with_issues(fx):
        for row in _of(fx, "Issue", org)[:4]:
            yield Case(tenant_id=org, params={"issue_id": row["id"]}, label=f"{org}:{row['id']}")
    org = fx.tenants[0]
    own = _of(fx, "Issue", org)[0]["id"]
    yield Case(tenant_id=org, params={"issue_id": "missing-issue"}, label="missing")
    yield Case(tenant_id=org, params={"issue_id": own.upper()}, label="id in upper case")
    if (found := intrusion(fx, fx.rows("Issue"))) is not None:
        yield Case(tenant_id=found[0], params={"issue_id": found[1]["id"]},
                   label="other tenant's issue")
    if fx.tenants[-1] not in tenants_with_issues(fx):
        yield Case(tenant_id=fx.tenants[-1], params={"issue_id": own},
                   label="tenant without issues")


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
        .outerjoin(nm.Issue, and_(nm.Issue.statusId == nm.IssueStatus.id,
                                  nm.Issue.organizationId == ctx.tenant_id))
        .where(nm.IssueStatus.organizationId == ctx.tenant_id)
        .group_by(nm.IssueStatus.category)
    )
    return {**dict.fromkeys(CATEGORIES, 0), **dict(ctx.session.execute(stmt).all())}


@dashboard.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)
    yield Case(tenant_id="missing-org", label="missing tenant")


# -- writes: create, updateStatus, assign ----------------------------------------------------------

WATCH = ["Issue", "IssueHistory"]
create = pair("issue.create", router="issue", writes=True, watch=WATCH)


@legacy_side(create)
def _(ctx: Any, title: str, machine_id: str, description: str | None = None) -> Any:
    machine = lm.Machine.get_or_none(
        (lm.Machine.id == machine_id) & (lm.Machine.organization == ctx.tenant_id)
    )
    if machine is None:
        return None
    status = lm.IssueStatus.get(
        lm.IssueStatus.organization == ctx.tenant_id, lm.IssueStatus.is_default == True  # noqa: E712
    )
    priority = lm.Priority.get(
        lm.Priority.organization == ctx.tenant_id, lm.Priority.is_default == True  # noqa: E712
    )
    now = legacy_stamp(ctx, ctx.now)
    with ctx.db.atomic():
        issue = lm.Issue.create(
            title=title, description=description, organization=ctx.tenant_id, machine=machine,
            status=status, priority=priority, created_by=ctx.user_id,
            created_at=now, updated_at=now,
        )
        lm.IssueHistory.create(
            issue=issue, organization=ctx.tenant_id, type="CREATED", field="status",
            new_value=status.name, actor=ctx.user_id, changed_at=now,
        )
    return legacy_issue(legacy_list_query(ctx).where(lm.Issue.id == issue.id).get())


@create.new
def _(ctx: Any, title: str, machine_id: str, description: str | None = None) -> Any:
    session = ctx.session
    machine = session.scalars(
        select(nm.Machine).filter_by(id=machine_id, organizationId=ctx.tenant_id)
    ).one_or_none()
    if machine is None:
        return None
    status = session.scalars(
        select(nm.IssueStatus).filter_by(organizationId=ctx.tenant_id, isDefault=True)
    ).one()
    priority = session.scalars(
        select(nm.Priority).filter_by(organizationId=ctx.tenant_id, isDefault=True)
    ).one()
    now = naive_utc(ctx.now)
    issue = nm.Issue(
        title=title, description=description, organizationId=ctx.tenant_id, machine=machine,
        status=status, priority=priority, createdById=ctx.user_id,
        createdAt=now, updatedAt=now,
    )
    issue.history.append(nm.IssueHistory(
        organizationId=ctx.tenant_id, type="CREATED", field="status", newValue=status.name,
        actorId=ctx.user_id, changedAt=now,
    ))
    session.add(issue)
    session.commit()
    return new_issue(issue)


@create.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        machine = _of(fx, "Machine", org)[0]["id"]
        yield Case(tenant_id=org, user_id=member_of(fx, org),
                   params={"title": "Flipper «links» klebt & <b>hängt</b>", "machine_id": machine,
                           "description": "Seit Montag 🎯"}, label=f"{org}:create")
    org = fx.tenants[0]
    own = _of(fx, "Machine", org)[1]["id"]
    user = member_of(fx, org)
    yield Case(tenant_id=org, user_id=user, params={"title": "No text", "machine_id": own},
               label="description=NULL")
    if (found := intrusion(fx, fx.rows("Machine"))) is not None:
        tenant, machine = found
        yield Case(tenant_id=tenant, user_id=member_of(fx, tenant), label="other tenant's machine",
                   params={"title": "x", "machine_id": machine["id"]})


update_status = pair("issue.updateStatus", router="issue", writes=True, watch=WATCH)


@legacy_side(update_status)
def _(ctx: Any, issue_id: str, status_id: str) -> Any:
    issue = legacy_list_query(ctx).where(lm.Issue.id == issue_id).get_or_none()
    status = lm.IssueStatus.get_or_none(
        (lm.IssueStatus.id == status_id) & (lm.IssueStatus.organization == ctx.tenant_id)
    )
    if issue is None or status is None:
        return None
    old = issue.status
    if old.id == status.id:
        return legacy_issue(issue)
    now = legacy_stamp(ctx, ctx.now)
    if status.category == "RESOLVED" and old.category != "RESOLVED":
        issue.resolved_at = now
    elif status.category != "RESOLVED":
        issue.resolved_at = None
    issue.status = status
    issue.updated_at = now
    with ctx.db.atomic():
        # Only what changed: a plain save() writes every column back, and on SQLite rewrites
        # each whole-second timestamp it loaded without its ".000000".
        issue.save(only=issue.dirty_fields)
        lm.IssueHistory.create(
            issue=issue, organization=ctx.tenant_id, type="STATUS_CHANGED", field="status",
            old_value=old.name, new_value=status.name, actor=ctx.user_id, changed_at=now,
        )
    return legacy_issue(legacy_list_query(ctx).where(lm.Issue.id == issue.id).get())


@update_status.new
def _(ctx: Any, issue_id: str, status_id: str) -> Any:
    session = ctx.session
    issue = session.scalars(new_list_query(ctx).where(nm.Issue.id == issue_id)).one_or_none()
    status = session.scalars(
        select(nm.IssueStatus).filter_by(id=status_id, organizationId=ctx.tenant_id)
    ).one_or_none()
    if issue is None or status is None:
        return None
    old = issue.status
    if old is status:
        return new_issue(issue)
    now = naive_utc(ctx.now)
    if status.category == "RESOLVED" and old.category != "RESOLVED":
        issue.resolvedAt = now
    elif status.category != "RESOLVED":
        issue.resolvedAt = None
    issue.status = status
    issue.updatedAt = now
    issue.history.append(nm.IssueHistory(
        organizationId=ctx.tenant_id, type="STATUS_CHANGED", field="status", oldValue=old.name,
        newValue=status.name, actorId=ctx.user_id, changedAt=now,
    ))
    session.commit()
    return new_issue(issue)


@update_status.cases
def _(fx: Any) -> Any:
    statuses = fx.rows("IssueStatus")
    for org in tenants_with_issues(fx):
        own = {s["id"]: s for s in statuses if s["organizationId"] == org}
        first_of = {s["category"]: s["id"] for s in reversed(list(own.values()))}
        user, issues = member_of(fx, org), _of(fx, "Issue", org)
        for row in issues[:7]:  # the seeder cycles through the 7 statuses
            current = own[row["statusId"]]["category"]
            target = "IN_PROGRESS" if current == "RESOLVED" else "RESOLVED"
            yield Case(tenant_id=org, user_id=user, label=f"{org}:{current}->{target}:{row['id']}",
                       params={"issue_id": row["id"], "status_id": first_of[target]})
        resolved = next(r for r in issues if own[r["statusId"]]["category"] == "RESOLVED")
        another = next(s for s in own if own[s]["category"] == "RESOLVED"
                       and s != resolved["statusId"])
        yield Case(tenant_id=org, user_id=user, label=f"{org}:RESOLVED->RESOLVED",
                   params={"issue_id": resolved["id"], "status_id": another})
        yield Case(tenant_id=org, user_id=user, label=f"{org}:same status",
                   params={"issue_id": issues[0]["id"], "status_id": issues[0]["statusId"]})
    org = fx.tenants[0]
    user, own_issue = member_of(fx, org), _of(fx, "Issue", org)[0]["id"]
    own_status = next(s["id"] for s in statuses if s["organizationId"] == org)
    yield Case(tenant_id=org, user_id=user, label="missing",
               params={"issue_id": "missing-issue", "status_id": own_status})
    if (found := intrusion(fx, statuses)) is not None and found[0] == org:
        yield Case(tenant_id=org, user_id=user, label="other tenant's status",
                   params={"issue_id": own_issue, "status_id": found[1]["id"]})
    if (found := intrusion(fx, fx.rows("Issue"))) is not None:
        tenant, issue = found
        status = next(s["id"] for s in statuses if s["organizationId"] == tenant)
        yield Case(tenant_id=tenant, user_id=member_of(fx, tenant), label="other tenant's issue",
                   params={"issue_id": issue["id"], "status_id": status})


assign = pair("issue.assign", router="issue", writes=True, watch=WATCH)


@legacy_side(assign)
def _(ctx: Any, issue_id: str, assignee_id: str | None) -> Any:
    issue = legacy_list_query(ctx).where(lm.Issue.id == issue_id).get_or_none()
    if issue is None:
        return None
    if assignee_id is not None:
        member = (
            lm.User.select().join(lm.Membership)
            .where(lm.User.id == assignee_id, lm.Membership.organization == ctx.tenant_id)
            .get_or_none()
        )
        if member is None:
            return None
    else:
        member = None
    old, new = issue.assignedToId, None if member is None else member.id
    if old == new:
        return legacy_issue(issue)
    now = legacy_stamp(ctx, ctx.now)
    with ctx.db.atomic():
        # The member's id, not the parameter: MariaDB matched the id case-insensitively.
        lm.Issue.update(assigned_to=new, updated_at=now).where(
            lm.Issue.id == issue.id
        ).execute()
        lm.IssueHistory.create(
            issue=issue, organization=ctx.tenant_id, field="assignedToId",
            type="ASSIGNED" if new else "UNASSIGNED", old_value=old, new_value=new,
            actor=ctx.user_id, changed_at=now,
        )
    return legacy_issue(legacy_list_query(ctx).where(lm.Issue.id == issue.id).get())


@assign.new
def _(ctx: Any, issue_id: str, assignee_id: str | None) -> Any:
    session = ctx.session
    issue = session.scalars(new_list_query(ctx).where(nm.Issue.id == issue_id)).one_or_none()
    if issue is None:
        return None
    member = None
    if assignee_id is not None:
        member = session.scalars(
            select(nm.User).join(nm.User.memberships)
            .where(nm.User.id == assignee_id, nm.Membership.organizationId == ctx.tenant_id)
        ).one_or_none()
        if member is None:
            return None
    old, new = issue.assignedToId, None if member is None else member.id
    if old == new:
        return new_issue(issue)
    issue.assignedTo = member
    issue.updatedAt = naive_utc(ctx.now)
    session.add(nm.IssueHistory(
        issueId=issue.id, organizationId=ctx.tenant_id, field="assignedToId",
        type="ASSIGNED" if new else "UNASSIGNED", oldValue=old, newValue=new,
        actorId=ctx.user_id, changedAt=issue.updatedAt,
    ))
    session.commit()
    return new_issue(issue)


@assign.cases
def _(fx: Any) -> Any:
    for org in tenants_with_issues(fx):
        user, issues = member_of(fx, org), _of(fx, "Issue", org)
        assigned = next(r for r in issues if r["assignedToId"])
        unassigned = next(r for r in issues if r["assignedToId"] is None)
        for label, issue, assignee in (
            ("assign", unassigned, member_of(fx, org, 3)),
            ("unassign", assigned, None),
            ("same assignee", assigned, assigned["assignedToId"]),
        ):
            yield Case(tenant_id=org, user_id=user, label=f"{org}:{label}",
                       params={"issue_id": issue["id"], "assignee_id": assignee})
    org = fx.tenants[0]
    user = member_of(fx, org)
    members = {m["userId"] for m in fx.rows("Membership") if m["organizationId"] == org}
    outsider = next(u["id"] for u in fx.rows("User") if u["id"] not in members)
    unassigned = next(r for r in _of(fx, "Issue", org) if r["assignedToId"] is None)["id"]
    yield Case(tenant_id=org, user_id=user, label="not a member",
               params={"issue_id": unassigned, "assignee_id": outsider})
    # MariaDB compares text case-insensitively: the member is found; which id gets stored?
    yield Case(tenant_id=org, user_id=user, label="assignee id in upper case",
               params={"issue_id": unassigned, "assignee_id": member_of(fx, org, 3).upper()})
    if (found := intrusion(fx, fx.rows("Issue"))) is not None:
        tenant, issue = found
        yield Case(tenant_id=tenant, user_id=member_of(fx, tenant), label="other tenant's issue",
                   params={"issue_id": issue["id"], "assignee_id": None})
