"""Pairs for the verdict rules: error paths, expected differences, order_by, warnings, tenancy.

Loaded with ``--pairs tests/pair_modules/verdicts.py``; names start with ``verdict.``. Each pair's
docstring-like comment says the verdict it must get.
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any

from sqlalchemy import select, update

from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.reference import legacy as lm
from harness.reference import models as nm


class ProjectNotFound(Exception):
    """A project's own exception, mapped to not_found with errors=."""


def _first_org(fx: Any) -> Any:
    yield Case(tenant_id=fx.tenants[0], params={"org": fx.tenants[0]})


# equal: both raise their ORM's not-found for a missing id.
missing = pair("verdict.missing")


@legacy_side(missing)
def _(ctx: Any) -> Any:
    return lm.Organization.get(lm.Organization.id == "no-such-org")


@missing.new
def _(ctx: Any) -> Any:
    return ctx.session.execute(
        select(nm.Organization).where(nm.Organization.id == "no-such-org")
    ).scalar_one()


# equal: both hit the unique key on subdomain (and the project's own exception is mapped).
duplicate = pair(
    "verdict.duplicate",
    writes=True,
    watch=["Organization"],
    errors={f"{__name__}.ProjectNotFound": "not_found"},
)


@legacy_side(duplicate)
def _(ctx: Any, org: str) -> Any:
    taken = lm.Organization.get_by_id(org).subdomain
    return lm.Organization.create(name="Copy", subdomain=taken)


@duplicate.new
def _(ctx: Any, org: str) -> Any:
    taken = ctx.session.get(nm.Organization, org).subdomain
    ctx.session.add(nm.Organization(name="Copy", subdomain=taken))
    ctx.session.flush()
    return None


duplicate.cases(_first_org)


# equal: the project's own exception on one side, the ORM's not-found on the other.
mapped = pair("verdict.mapped", errors={f"{__name__}.ProjectNotFound": "not_found"})


@legacy_side(mapped)
def _(ctx: Any) -> Any:
    raise ProjectNotFound("no such project")


@mapped.new
def _(ctx: Any) -> Any:
    return ctx.session.execute(
        select(nm.Organization).where(nm.Organization.id == "x")
    ).scalar_one()


# mismatch: legacy raises not_found where new returns None.
lookup = pair("verdict.lookup")


@legacy_side(lookup)
def _(ctx: Any) -> Any:
    return lm.Organization.get(lm.Organization.id == "no-such-org")


@lookup.new
def _(ctx: Any) -> Any:
    return ctx.session.get(nm.Organization, "no-such-org")


# error: the new side's own code is broken (a KeyError is no database behaviour).
buggy = pair("verdict.buggy")


@legacy_side(buggy)
def _(ctx: Any) -> Any:
    return 1


@buggy.new
def _(ctx: Any) -> Any:
    return {}["missing"]


# expected: declared to differ, and it does (the gate passes).
declared = pair("verdict.declared", expect={"*": "the new side reports names upper-cased (#12)"})


@legacy_side(declared)
def _(ctx: Any, org: str) -> Any:
    return lm.Organization.get_by_id(org).name


@declared.new
def _(ctx: Any, org: str) -> Any:
    return ctx.session.get(nm.Organization, org).name.upper()


declared.cases(_first_org)

# mismatch: declared to differ, but both sides agree now (strict: drop the expectation).
outdated = pair("verdict.outdated", expect={"*": "fixed long ago"})


@legacy_side(outdated)
def _(ctx: Any, org: str) -> Any:
    return lm.Organization.get_by_id(org).name


@outdated.new
def _(ctx: Any, org: str) -> Any:
    return ctx.session.get(nm.Organization, org).name


outdated.cases(_first_org)


def _machines(ctx: Any, org: str, *, flip: bool) -> list[dict[str, Any]]:
    rows = ctx.session.execute(
        select(nm.Machine.id, nm.Machine.name, nm.Machine.notifyOnComments)
        .where(nm.Machine.organizationId == org)
        .order_by(nm.Machine.notifyOnComments, nm.Machine.id.desc() if flip else nm.Machine.id)
    ).all()
    return [{"id": r.id, "name": r.name, "notify": r.notifyOnComments} for r in rows]


def _legacy_machines(ctx: Any, org: str) -> list[dict[str, Any]]:
    query = (
        lm.Machine.select(lm.Machine.id, lm.Machine.name, lm.Machine.notify_on_comments)
        .where(lm.Machine.organization == org)
        .order_by(lm.Machine.notify_on_comments, lm.Machine.id)
    )
    return [{"id": m.id, "name": m.name, "notify": m.notify_on_comments} for m in query]


# equal: ordered by "notify" only; the new side breaks ties the other way round.
tied = pair("verdict.tied", order_by=("notify",))
legacy_side(tied)(_legacy_machines)


@tied.new
def _(ctx: Any, org: str) -> Any:
    return _machines(ctx, org, flip=True)


tied.cases(_first_org)

# mismatch: the new side orders by "notify" descending: rows moved, all of them on both sides.
moved = pair("verdict.moved", order_by=("notify",))
legacy_side(moved)(_legacy_machines)


@moved.new
def _(ctx: Any, org: str) -> Any:
    return list(reversed(_machines(ctx, org, flip=False)))


moved.cases(_first_org)

# equal, with a warning recorded on the case.
warned = pair("verdict.warned")


@legacy_side(warned)
def _(ctx: Any) -> Any:
    return 1


@warned.new
def _(ctx: Any) -> Any:
    warnings.warn("Query.get() is deprecated, use Session.get()", DeprecationWarning, stacklevel=1)
    return 1


# mismatch: both sides update every organization's machines: a leak though they agree.
everywhere = pair("verdict.everywhere", writes=True, watch=["Machine"])


@legacy_side(everywhere)
def _(ctx: Any, org: str) -> Any:
    return lm.Machine.update(notify_on_comments=True).execute()


@everywhere.new
def _(ctx: Any, org: str) -> Any:
    return ctx.session.execute(update(nm.Machine).values(notifyOnComments=True)).rowcount


everywhere.cases(_first_org)


def _token_comment(ctx: Any, issue_id: str, *, legacy: bool) -> dict[str, Any]:
    token = secrets.token_hex(8)  # random on each side: matched by ignore=, in the row changes too
    if legacy:
        row = lm.Comment.create(content=token, issue=issue_id, author=ctx.user_id)
        return {"content": row.content, "issue": issue_id}
    ctx.session.add(nm.Comment(content=token, issueId=issue_id, authorId=ctx.user_id))
    ctx.session.flush()
    return {"content": token, "issue": issue_id}


def _token_cases(fx: Any) -> Any:
    org = fx.tenants[0]
    issue = next(i for i in fx.rows("Issue") if i["organizationId"] == org)
    member = next(m for m in fx.rows("Membership") if m["organizationId"] == org)
    yield Case(tenant_id=org, user_id=member["userId"], params={"org": org, "issue": issue["id"]})


# equal: a random token in the return value and in the row changes, both ignored.
token = pair(
    "verdict.token",
    writes=True,
    watch=["Comment"],
    ignore={"content": "a random token each side makes"},
)


@legacy_side(token)
def _(ctx: Any, org: str, issue: str) -> Any:
    return _token_comment(ctx, issue, legacy=True)


@token.new
def _(ctx: Any, org: str, issue: str) -> Any:
    return _token_comment(ctx, issue, legacy=False)


token.cases(_token_cases)

# mismatch: the same, ignored in the return value only ([*]-anchored paths do not reach changes).
token_value_only = pair(
    "verdict.tokenValueOnly",
    writes=True,
    watch=["Comment"],
    ignore={"$.content": "the return value only"},
)
legacy_side(token_value_only)(lambda ctx, org, issue: _token_comment(ctx, issue, legacy=True))
token_value_only.new(lambda ctx, org, issue: _token_comment(ctx, issue, legacy=False))
token_value_only.cases(_token_cases)
