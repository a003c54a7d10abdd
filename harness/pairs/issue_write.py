"""The issue router's writes: create, updateStatus and assign, judged on replies and row changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from harness import Case, pair
from harness.pairs._common import (
    intrusion,
    legacy_issue,
    legacy_side,
    legacy_stamp,
    member_of,
    naive_utc,
    new_issue,
    rows_of,
    tenants_with_issues,
)
from harness.pairs.issue import legacy_list_query, new_list_query
from harness.reference import legacy as lm
from harness.reference import models as nm

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
    # "== True" builds SQL here (peewee overloads ==), it is not a Python comparison.
    status = lm.IssueStatus.get(
        lm.IssueStatus.organization == ctx.tenant_id,
        lm.IssueStatus.is_default == True,  # noqa: E712
    )
    priority = lm.Priority.get(
        lm.Priority.organization == ctx.tenant_id,
        lm.Priority.is_default == True,  # noqa: E712
    )
    now = legacy_stamp(ctx, ctx.now)
    with ctx.db.atomic():
        issue = lm.Issue.create(
            title=title,
            description=description,
            organization=ctx.tenant_id,
            machine=machine,
            status=status,
            priority=priority,
            created_by=ctx.user_id,
            created_at=now,
            updated_at=now,
        )
        lm.IssueHistory.create(
            issue=issue,
            organization=ctx.tenant_id,
            type="CREATED",
            field="status",
            new_value=status.name,
            actor=ctx.user_id,
            changed_at=now,
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
        title=title,
        description=description,
        organizationId=ctx.tenant_id,
        machine=machine,
        status=status,
        priority=priority,
        createdById=ctx.user_id,
        createdAt=now,
        updatedAt=now,
    )
    issue.history.append(
        nm.IssueHistory(
            organizationId=ctx.tenant_id,
            type="CREATED",
            field="status",
            newValue=status.name,
            actorId=ctx.user_id,
            changedAt=now,
        )
    )
    session.add(issue)
    session.commit()
    return new_issue(issue)


@create.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        machine = rows_of(fx, "Machine", org)[0]["id"]
        yield Case(
            tenant_id=org,
            user_id=member_of(fx, org),
            params={
                "title": "Flipper «links» klebt & <b>hängt</b>",
                "machine_id": machine,
                "description": "Seit Montag 🎯",
            },
            label=f"{org}:create",
        )
    org = fx.tenants[0]
    own = rows_of(fx, "Machine", org)[1]["id"]
    user = member_of(fx, org)
    yield Case(
        tenant_id=org,
        user_id=user,
        params={"title": "No text", "machine_id": own},
        label="description=NULL",
    )
    if (found := intrusion(fx, fx.rows("Machine"))) is not None:
        tenant, machine = found
        yield Case(
            tenant_id=tenant,
            user_id=member_of(fx, tenant),
            label="other tenant's machine",
            params={"title": "x", "machine_id": machine["id"]},
        )


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
            issue=issue,
            organization=ctx.tenant_id,
            type="STATUS_CHANGED",
            field="status",
            old_value=old.name,
            new_value=status.name,
            actor=ctx.user_id,
            changed_at=now,
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
    issue.history.append(
        nm.IssueHistory(
            organizationId=ctx.tenant_id,
            type="STATUS_CHANGED",
            field="status",
            oldValue=old.name,
            newValue=status.name,
            actorId=ctx.user_id,
            changedAt=now,
        )
    )
    session.commit()
    return new_issue(issue)


@update_status.cases
def _(fx: Any) -> Any:
    statuses = fx.rows("IssueStatus")
    for org in tenants_with_issues(fx):
        own = {s["id"]: s for s in statuses if s["organizationId"] == org}
        first_of = {s["category"]: s["id"] for s in reversed(list(own.values()))}
        user, issues = member_of(fx, org), rows_of(fx, "Issue", org)
        for row in issues[:7]:  # the seeder cycles through the 7 statuses
            current = own[row["statusId"]]["category"]
            target = "IN_PROGRESS" if current == "RESOLVED" else "RESOLVED"
            yield Case(
                tenant_id=org,
                user_id=user,
                label=f"{org}:{current}->{target}:{row['id']}",
                params={"issue_id": row["id"], "status_id": first_of[target]},
            )
        resolved = next(r for r in issues if own[r["statusId"]]["category"] == "RESOLVED")
        another = next(
            s for s in own if own[s]["category"] == "RESOLVED" and s != resolved["statusId"]
        )
        yield Case(
            tenant_id=org,
            user_id=user,
            label=f"{org}:RESOLVED->RESOLVED",
            params={"issue_id": resolved["id"], "status_id": another},
        )
        yield Case(
            tenant_id=org,
            user_id=user,
            label=f"{org}:same status",
            params={"issue_id": issues[0]["id"], "status_id": issues[0]["statusId"]},
        )
    org = fx.tenants[0]
    user, own_issue = member_of(fx, org), rows_of(fx, "Issue", org)[0]["id"]
    own_status = next(s["id"] for s in statuses if s["organizationId"] == org)
    yield Case(
        tenant_id=org,
        user_id=user,
        label="missing",
        params={"issue_id": "missing-issue", "status_id": own_status},
    )
    if (found := intrusion(fx, statuses)) is not None and found[0] == org:
        yield Case(
            tenant_id=org,
            user_id=user,
            label="other tenant's status",
            params={"issue_id": own_issue, "status_id": found[1]["id"]},
        )
    if (found := intrusion(fx, fx.rows("Issue"))) is not None:
        tenant, issue = found
        status = next(s["id"] for s in statuses if s["organizationId"] == tenant)
        yield Case(
            tenant_id=tenant,
            user_id=member_of(fx, tenant),
            label="other tenant's issue",
            params={"issue_id": issue["id"], "status_id": status},
        )


assign = pair("issue.assign", router="issue", writes=True, watch=WATCH)


@legacy_side(assign)
def _(ctx: Any, issue_id: str, assignee_id: str | None) -> Any:
    issue = legacy_list_query(ctx).where(lm.Issue.id == issue_id).get_or_none()
    if issue is None:
        return None
    if assignee_id is not None:
        member = (
            lm.User.select()
            .join(lm.Membership)
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
        lm.Issue.update(assigned_to=new, updated_at=now).where(lm.Issue.id == issue.id).execute()
        lm.IssueHistory.create(
            issue=issue,
            organization=ctx.tenant_id,
            field="assignedToId",
            type="ASSIGNED" if new else "UNASSIGNED",
            old_value=old,
            new_value=new,
            actor=ctx.user_id,
            changed_at=now,
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
            select(nm.User)
            .join(nm.User.memberships)
            .where(nm.User.id == assignee_id, nm.Membership.organizationId == ctx.tenant_id)
        ).one_or_none()
        if member is None:
            return None
    old, new = issue.assignedToId, None if member is None else member.id
    if old == new:
        return new_issue(issue)
    issue.assignedTo = member
    issue.updatedAt = naive_utc(ctx.now)
    session.add(
        nm.IssueHistory(
            issueId=issue.id,
            organizationId=ctx.tenant_id,
            field="assignedToId",
            type="ASSIGNED" if new else "UNASSIGNED",
            oldValue=old,
            newValue=new,
            actorId=ctx.user_id,
            changedAt=issue.updatedAt,
        )
    )
    session.commit()
    return new_issue(issue)


@assign.cases
def _(fx: Any) -> Any:
    for org in tenants_with_issues(fx):
        user, issues = member_of(fx, org), rows_of(fx, "Issue", org)
        assigned = next(r for r in issues if r["assignedToId"])
        unassigned = next(r for r in issues if r["assignedToId"] is None)
        for label, issue, assignee in (
            ("assign", unassigned, member_of(fx, org, 3)),
            ("unassign", assigned, None),
            ("same assignee", assigned, assigned["assignedToId"]),
        ):
            yield Case(
                tenant_id=org,
                user_id=user,
                label=f"{org}:{label}",
                params={"issue_id": issue["id"], "assignee_id": assignee},
            )
    org = fx.tenants[0]
    user = member_of(fx, org)
    members = {m["userId"] for m in fx.rows("Membership") if m["organizationId"] == org}
    outsider = next(u["id"] for u in fx.rows("User") if u["id"] not in members)
    unassigned = next(r for r in rows_of(fx, "Issue", org) if r["assignedToId"] is None)["id"]
    yield Case(
        tenant_id=org,
        user_id=user,
        label="not a member",
        params={"issue_id": unassigned, "assignee_id": outsider},
    )
    # MariaDB compares text case-insensitively: the member is found; which id gets stored?
    yield Case(
        tenant_id=org,
        user_id=user,
        label="assignee id in upper case",
        params={"issue_id": unassigned, "assignee_id": member_of(fx, org, 3).upper()},
    )
    if (found := intrusion(fx, fx.rows("Issue"))) is not None:
        tenant, issue = found
        yield Case(
            tenant_id=tenant,
            user_id=member_of(fx, tenant),
            label="other tenant's issue",
            params={"issue_id": issue["id"], "assignee_id": None},
        )
