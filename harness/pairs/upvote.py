"""The upvote router: ``upvote.toggle`` adds the acting user's upvote of an issue, or takes it back.

It replies with whether the user now upvotes the issue and the issue's new upvote count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from fixtures import legacy as lm
from fixtures import models as nm
from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.pairs.issue import legacy_stamp, naive_utc

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
    members: dict[str, list[str]] = {}
    for m in fx.rows("Membership"):
        members.setdefault(m["organizationId"], []).append(m["userId"])
    for org in fx.tenants[:-1]:
        voted = next(u for u in upvotes if owner[u["issueId"]] == org)
        yield Case(tenant_id=org, user_id=voted["userId"], params={"issue_id": voted["issueId"]},
                   label=f"{org}:take back")
        voters = {u["userId"] for u in upvotes if u["issueId"] == voted["issueId"]}
        newcomer = next(m for m in members[org] if m not in voters)
        yield Case(tenant_id=org, user_id=newcomer, params={"issue_id": voted["issueId"]},
                   label=f"{org}:add")
        unloved = next((i for i in owner if owner[i] == org
                        and not any(u["issueId"] == i for u in upvotes)), None)
        if unloved is not None:
            yield Case(tenant_id=org, user_id=members[org][0], params={"issue_id": unloved},
                       label=f"{org}:first upvote")
    first, second = fx.tenants[0], fx.tenants[1]
    voted_first = next(u["issueId"] for u in upvotes if owner[u["issueId"]] == first)
    foreign = next(i for i in owner if owner[i] == second)
    yield Case(tenant_id=first, user_id=members[first][0], params={"issue_id": foreign},
               label="other tenant's issue")
    yield Case(tenant_id=first, user_id=members[first][0], params={"issue_id": "missing-issue"},
               label="missing")
    yield Case(tenant_id=first, user_id=members[first][1], params={"issue_id": voted_first.upper()},
               label="issue id in upper case")
