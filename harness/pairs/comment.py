"""The comment router: an issue's comments with their authors, adding one, soft-deleting one.

Soft-deleted comments (``deletedAt`` set) keep their row and are left out of every read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from harness import Case, pair
from harness.pairs._common import (
    intrusion,
    legacy_side,
    legacy_stamp,
    member_of,
    naive_utc,
    tenants_with_issues,
    user_reply,
)
from harness.reference import legacy as lm
from harness.reference import models as nm


def legacy_comment(comment: Any) -> dict[str, Any]:
    """A comment as the client sees it (peewee)."""
    return {
        "id": comment.id,
        "content": comment.content,
        "createdAt": comment.created_at,
        "updatedAt": comment.updated_at,
        "issueId": comment.issueId,
        "author": user_reply(comment.author),
    }


def new_comment(comment: Any) -> dict[str, Any]:
    """A comment as the client sees it (SQLAlchemy)."""
    return {
        "id": comment.id,
        "content": comment.content,
        "createdAt": comment.createdAt,
        "updatedAt": comment.updatedAt,
        "issueId": comment.issueId,
        "author": user_reply(comment.author),
    }


def _legacy_comments(ctx: Any) -> Any:
    """The tenant's comments with their authors joined, soft-deleted ones left out (peewee)."""
    return (
        lm.Comment.select(lm.Comment, lm.User)
        .join(lm.User, on=(lm.Comment.author == lm.User.id))
        .switch(lm.Comment)
        .join(lm.Issue)
        .where(lm.Issue.organization == ctx.tenant_id, lm.Comment.deleted_at.is_null())
    )


def _new_comments(ctx: Any) -> Any:
    """The tenant's comments with their authors loaded, soft-deleted ones left out (SQLAlchemy)."""
    return (
        select(nm.Comment)
        .join(nm.Comment.issue)
        .options(joinedload(nm.Comment.author))
        .where(nm.Issue.organizationId == ctx.tenant_id, nm.Comment.deletedAt.is_(None))
    )


def _tenant_of(fx: Any) -> dict[str, str]:
    return {row["id"]: row["organizationId"] for row in fx.rows("Issue")}


# -- comment.list ----------------------------------------------------------------------------------

comment_list = pair("comment.list", router="comment", ordered=True)


@legacy_side(comment_list)
def _(ctx: Any, issue_id: str) -> Any:
    query = (
        _legacy_comments(ctx)
        .where(lm.Comment.issue == issue_id)
        .order_by(lm.Comment.created_at, lm.Comment.id)
    )
    return [legacy_comment(c) for c in query]


@comment_list.new
def _(ctx: Any, issue_id: str) -> Any:
    stmt = (
        _new_comments(ctx)
        .where(nm.Comment.issueId == issue_id)
        .order_by(nm.Comment.createdAt, nm.Comment.id)
    )
    return [new_comment(c) for c in ctx.session.scalars(stmt)]


@comment_list.cases
def _(fx: Any) -> Any:
    owner = _tenant_of(fx)
    comments = Counter(c["issueId"] for c in fx.rows("Comment"))
    for org in tenants_with_issues(fx):
        issues = [i for i in owner if owner[i] == org]
        # The issues with the most comments (soft-deleted ones included), and one with none.
        for issue in sorted(issues, key=lambda i: -comments[i])[:3]:
            yield Case(tenant_id=org, params={"issue_id": issue}, label=f"{org}:{issue}")
        quiet = next((i for i in issues if not comments[i]), None)
        if quiet is not None:
            yield Case(tenant_id=org, params={"issue_id": quiet}, label=f"{org}:no comments")
    first, last = fx.tenants[0], fx.tenants[-1]
    yield Case(tenant_id=first, params={"issue_id": "missing-issue"}, label="missing")
    if (found := intrusion(fx, fx.rows("Issue"))) is not None:
        yield Case(
            tenant_id=found[0], params={"issue_id": found[1]["id"]}, label="other tenant's issue"
        )
    if last not in tenants_with_issues(fx):
        own = next(i for i in owner if owner[i] == first)
        yield Case(tenant_id=last, params={"issue_id": own}, label="tenant without issues")


# -- comment.add -----------------------------------------------------------------------------------

add = pair("comment.add", router="comment", writes=True, watch=["Comment"])


@legacy_side(add)
def _(ctx: Any, issue_id: str, content: str) -> Any:
    issue = lm.Issue.get_or_none(
        (lm.Issue.id == issue_id) & (lm.Issue.organization == ctx.tenant_id)
    )
    if issue is None:
        return None
    now = legacy_stamp(ctx, ctx.now)
    comment = lm.Comment.create(
        content=content, issue=issue, author=ctx.user_id, created_at=now, updated_at=now
    )
    return legacy_comment(_legacy_comments(ctx).where(lm.Comment.id == comment.id).get())


@add.new
def _(ctx: Any, issue_id: str, content: str) -> Any:
    session = ctx.session
    issue = session.scalars(
        select(nm.Issue).filter_by(id=issue_id, organizationId=ctx.tenant_id)
    ).one_or_none()
    if issue is None:
        return None
    now = naive_utc(ctx.now)
    comment = nm.Comment(
        content=content, issue=issue, authorId=ctx.user_id, createdAt=now, updatedAt=now
    )
    session.add(comment)
    session.commit()
    return new_comment(comment)


@add.cases
def _(fx: Any) -> Any:
    owner = _tenant_of(fx)
    text = "Neue Spule <b>eingebaut</b> & «getestet» 👍"
    for org in tenants_with_issues(fx):
        issue = next(i for i in owner if owner[i] == org)
        yield Case(
            tenant_id=org,
            user_id=member_of(fx, org),
            label=f"{org}:add",
            params={"issue_id": issue, "content": text},
        )
    first = fx.tenants[0]
    issue = next(i for i in owner if owner[i] == first)
    for label, params in (
        ("empty content", {"issue_id": issue, "content": ""}),
        ("issue id in upper case", {"issue_id": issue.upper(), "content": "x"}),
        ("missing", {"issue_id": "missing-issue", "content": "x"}),
    ):
        yield Case(tenant_id=first, user_id=member_of(fx, first), params=params, label=label)
    if (found := intrusion(fx, fx.rows("Issue"))) is not None:
        tenant, foreign = found
        yield Case(
            tenant_id=tenant,
            user_id=member_of(fx, tenant),
            label="other tenant's issue",
            params={"issue_id": foreign["id"], "content": "x"},
        )


# -- comment.softDelete ----------------------------------------------------------------------------

soft_delete = pair("comment.softDelete", router="comment", writes=True, watch=["Comment"])


@legacy_side(soft_delete)
def _(ctx: Any, comment_id: str) -> Any:
    comment = _legacy_comments(ctx).where(lm.Comment.id == comment_id).get_or_none()
    if comment is None:
        return None
    (
        lm.Comment.update(deleted_at=legacy_stamp(ctx, ctx.now), deleted_by=ctx.user_id)
        .where(lm.Comment.id == comment.id)
        .execute()
    )
    deleted: Any = lm.Comment.get_by_id(comment.id)
    return {"id": deleted.id, "deletedAt": deleted.deleted_at, "deletedBy": deleted.deletedBy}


@soft_delete.new
def _(ctx: Any, comment_id: str) -> Any:
    session = ctx.session
    comment = session.scalars(_new_comments(ctx).where(nm.Comment.id == comment_id)).one_or_none()
    if comment is None:
        return None
    comment.deletedAt = naive_utc(ctx.now)
    comment.deletedBy = ctx.user_id
    session.commit()
    return {"id": comment.id, "deletedAt": comment.deletedAt, "deletedBy": comment.deletedBy}


@soft_delete.cases
def _(fx: Any) -> Any:
    owner = _tenant_of(fx)
    comments = fx.rows("Comment")
    live = [c for c in comments if c["deletedAt"] is None]
    for org in tenants_with_issues(fx):
        for comment in [c for c in live if owner[c["issueId"]] == org][:2]:
            yield Case(
                tenant_id=org,
                user_id=member_of(fx, org),
                label=f"{org}:{comment['id']}",
                params={"comment_id": comment["id"]},
            )
    first = fx.tenants[0]
    gone = next(c for c in comments if owner[c["issueId"]] == first and c["deletedAt"])
    for label, comment_id in (("already deleted", gone["id"]), ("missing", "missing-comment")):
        yield Case(
            tenant_id=first,
            user_id=member_of(fx, first),
            params={"comment_id": comment_id},
            label=label,
        )
    if (found := intrusion(fx, live, lambda c: owner[c["issueId"]])) is not None:
        tenant, foreign = found
        yield Case(
            tenant_id=tenant,
            user_id=member_of(fx, tenant),
            label="other tenant's comment",
            params={"comment_id": foreign["id"]},
        )
