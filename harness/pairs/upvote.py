"""The upvote router: ``upvote.toggle`` adds the acting user's upvote of an issue, or takes it back.

It replies with whether the user now upvotes the issue and the issue's new upvote count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from harness import Case, pair
from harness.pairs._common import (
    intrusion,
    legacy_side,
    legacy_stamp,
    member_of,
    naive_utc,
    tenants_with_issues,
)
from harness.reference import legacy as lm
from harness.reference import models as nm

toggle = pair("upvote.toggle", router="upvote", writes=True, watch=["Upvote"])


@legacy_side(toggle)
def _(ctx: Any, issue_id: str) -> Any:
    issue = lm.Issue.get_or_none(
        (lm.Issue.id == issue_id) & (lm.Issue.organization == ctx.tenant_id)
    )
    if issue is None:
        return None
    mine = lm.Upvote.get_or_none((lm.Upvote.issue == issue) & (lm.Upvote.user == ctx.user_id))
    with ctx.db.atomic():
        if mine is not None:
            mine.delete_instance()
        else:
            lm.Upvote.create(issue=issue, user=ctx.user_id, created_at=legacy_stamp(ctx, ctx.now))
    count = lm.Upvote.select().where(lm.Upvote.issue == issue).count()
    return {"issueId": issue.id, "upvoted": mine is None, "count": count}


@toggle.new
def _(ctx: Any, issue_id: str) -> Any:
    session = ctx.session
    issue = session.scalars(
        select(nm.Issue).filter_by(id=issue_id, organizationId=ctx.tenant_id)
    ).one_or_none()
    if issue is None:
        return None
    mine = session.scalars(
        select(nm.Upvote).filter_by(issueId=issue.id, userId=ctx.user_id)
    ).one_or_none()
    if mine is not None:
        session.delete(mine)
    else:
        session.add(nm.Upvote(issueId=issue.id, userId=ctx.user_id, createdAt=naive_utc(ctx.now)))
    session.commit()
    count = session.scalar(
        select(func.count()).select_from(nm.Upvote).where(nm.Upvote.issueId == issue.id)
    )
    return {"issueId": issue.id, "upvoted": mine is None, "count": count}


@toggle.cases
def _(fx: Any) -> Any:
    owner = {row["id"]: row["organizationId"] for row in fx.rows("Issue")}
    upvotes = fx.rows("Upvote")
    voters: dict[str, set[str]] = {}
    for upvote in upvotes:
        voters.setdefault(upvote["issueId"], set()).add(upvote["userId"])
    for org in tenants_with_issues(fx):
        members = [m["userId"] for m in fx.rows("Membership") if m["organizationId"] == org]
        issues = [i for i in owner if owner[i] == org]
        voted = next((i for i in issues if voters.get(i)), None)
        if voted is not None:
            yield Case(
                tenant_id=org,
                user_id=min(voters[voted]),
                params={"issue_id": voted},
                label=f"{org}:take back",
            )
            newcomer = next(m for m in members if m not in voters[voted])
            yield Case(
                tenant_id=org, user_id=newcomer, params={"issue_id": voted}, label=f"{org}:add"
            )
        unloved = next((i for i in issues if not voters.get(i)), None)
        if unloved is not None:
            yield Case(
                tenant_id=org,
                user_id=members[0],
                params={"issue_id": unloved},
                label=f"{org}:first upvote",
            )
    first = fx.tenants[0]
    user = member_of(fx, first)
    own = next(i for i in owner if owner[i] == first)
    # MariaDB finds the issue by an upper-cased id too; the upvote must carry the stored id.
    for label, issue_id in (("missing", "missing-issue"), ("issue id in upper case", own.upper())):
        yield Case(tenant_id=first, user_id=user, params={"issue_id": issue_id}, label=label)
    if (found := intrusion(fx, fx.rows("Issue"))) is not None:
        tenant, foreign = found
        yield Case(
            tenant_id=tenant,
            user_id=member_of(fx, tenant),
            label="other tenant's issue",
            params={"issue_id": foreign["id"]},
        )
