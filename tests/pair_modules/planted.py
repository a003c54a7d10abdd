"""Pairs with bugs planted in the new side: the harness must catch each one.

Loaded with ``--pairs tests/pair_modules/planted.py``; names start with ``planted.``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.reference import legacy as lm
from harness.reference import models as nm


def _issue_cases(fx: Any) -> Any:
    for org in fx.tenants[:2]:
        yield Case(tenant_id=org, label=org[:8])


# The new side forgets to lower-case the title: a changed value at a path.
titles = pair("planted.titles", router="planted", ordered=True)


@legacy_side(titles)
def _(ctx: Any) -> Any:
    query = (
        lm.Issue.select(lm.Issue.id, lm.Issue.title)
        .where(lm.Issue.organization == ctx.tenant_id)
        .order_by(lm.Issue.id)
    )
    return [{"id": i.id, "title": i.title} for i in query]


@titles.new
def _(ctx: Any) -> Any:
    rows = ctx.session.execute(
        select(nm.Issue.id, nm.Issue.title)
        .where(nm.Issue.organizationId == ctx.tenant_id)
        .order_by(nm.Issue.id)
    )
    return [{"id": r.id, "title": r.title.upper()} for r in rows]


titles.cases(_issue_cases)

# The new side drops the tenant filter on one join: rows of other tenants come back.
leaky = pair("planted.leaky", router="planted")


@legacy_side(leaky)
def _(ctx: Any) -> Any:
    return list(lm.Machine.select().where(lm.Machine.organization == ctx.tenant_id))


@leaky.new
def _(ctx: Any) -> Any:
    return list(ctx.session.scalars(select(nm.Machine)))


leaky.cases(_issue_cases)

# The new side raises: the case becomes an error naming the side, the type and the SQL.
broken = pair("planted.broken", router="planted")


@legacy_side(broken)
def _(ctx: Any) -> Any:
    return lm.Issue.select().where(lm.Issue.organization == ctx.tenant_id).count()


@broken.new
def _(ctx: Any) -> Any:
    from sqlalchemy import text

    return ctx.session.execute(text('SELECT COUNT(*) FROM "NoSuchTable"')).scalar()


broken.cases(_issue_cases)

# A writing pair whose new side forgets the history row.
no_history = pair("planted.assign", router="planted", writes=True, watch=["Issue", "IssueHistory"])


@legacy_side(no_history)
def _(ctx: Any, issue_id: str, user_id: str) -> Any:
    issue = lm.Issue.get(lm.Issue.id == issue_id)
    lm.Issue.update(assigned_to=user_id, updated_at=ctx.now.replace(tzinfo=None)).where(
        lm.Issue.id == issue_id
    ).execute()
    lm.IssueHistory.create(
        field="assignee",
        old_value=issue.__data__.get("assigned_to"),
        new_value=user_id,
        changed_at=ctx.now.replace(tzinfo=None),
        organization=ctx.tenant_id,
        actor=ctx.user_id,
        type="ASSIGNED",
        issue=issue_id,
    )
    return {"id": issue_id, "assignedToId": user_id}


@no_history.new
def _(ctx: Any, issue_id: str, user_id: str) -> Any:
    ctx.session.execute(
        update(nm.Issue)
        .where(nm.Issue.id == issue_id)
        .values(assignedToId=user_id, updatedAt=ctx.now.replace(tzinfo=None))
    )
    ctx.session.commit()
    return {"id": issue_id, "assignedToId": user_id}


@no_history.cases
def _(fx: Any) -> Any:
    org = fx.tenants[0]
    issue = next(i for i in fx.rows("Issue") if i["organizationId"] == org)
    member = next(m for m in fx.rows("Membership") if m["organizationId"] == org)
    yield Case(
        tenant_id=org,
        user_id=member["userId"],
        params={"issue_id": issue["id"], "user_id": member["userId"]},
        label="assign",
    )


# Not gated: its mismatch is reported but does not fail the run.
advisory = pair("planted.advisory", router="planted", gate=False)


@legacy_side(advisory)
def _(ctx: Any) -> Any:
    return 1


@advisory.new
def _(ctx: Any) -> Any:
    return 2
