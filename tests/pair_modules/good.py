"""Pairs that must pass, including a writing pair whose sides generate fresh ids and times.

Loaded with ``--pairs tests/pair_modules/good.py``; names start with ``good.``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.reference import legacy as lm
from harness.reference import models as nm

counts = pair("good.issueCount", router="good")


@legacy_side(counts)
def _(ctx: Any) -> Any:
    return lm.Issue.select().where(lm.Issue.organization == ctx.tenant_id).count()


@counts.new
def _(ctx: Any) -> Any:
    return ctx.session.scalar(
        select(func.count()).select_from(nm.Issue).where(nm.Issue.organizationId == ctx.tenant_id)
    )


@counts.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)


comment = pair("good.comment", router="good", writes=True, watch=["Comment"])


@legacy_side(comment)
def _(ctx: Any, issue_id: str, content: str) -> Any:
    # Fresh id (uuid4) and wall-clock timestamps from the model defaults, on each side.
    return lm.Comment.create(content=content, issue=issue_id, author=ctx.user_id)


@comment.new
def _(ctx: Any, issue_id: str, content: str) -> Any:
    row = nm.Comment(content=content, issueId=issue_id, authorId=ctx.user_id)
    ctx.session.add(row)
    ctx.session.commit()
    return row


@comment.cases
def _(fx: Any) -> Any:
    org = fx.tenants[0]
    issue = next(i for i in fx.rows("Issue") if i["organizationId"] == org)
    member = next(m for m in fx.rows("Membership") if m["organizationId"] == org)
    yield Case(
        tenant_id=org,
        user_id=member["userId"],
        params={"issue_id": issue["id"], "content": "Flipper <b>sticks</b> & é"},
    )
