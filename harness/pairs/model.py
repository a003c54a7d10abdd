"""The model router: the global catalogue of machine models, listed and searched.

Models belong to no organization, so these cases run without a tenant. ``model.search``
matches text in the name or the manufacturer case-insensitively, filters a year range, and
``year_unknown`` asks for the models whose year is NULL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.reference import legacy as lm
from harness.reference import models as nm

model_list = pair("model.list", router="model", ordered=True)


@legacy_side(model_list)
def _(
    ctx: Any, limit: int = 50, offset: int = 0, active_only: bool = False, sort: str = "name"
) -> Any:
    query = lm.Model.select()
    if active_only:
        query = query.where(lm.Model.is_active == True)  # noqa: E712 (peewee builds SQL from ==)
    if sort == "year":  # newest first, unknown years last
        query = query.order_by(lm.Model.year.desc(nulls="LAST"), lm.Model.name, lm.Model.id)
    else:
        query = query.order_by(lm.Model.name, lm.Model.id)
    return list(query.limit(limit).offset(offset))


@model_list.new
def _(
    ctx: Any, limit: int = 50, offset: int = 0, active_only: bool = False, sort: str = "name"
) -> Any:
    stmt = select(nm.Model)
    if active_only:
        stmt = stmt.where(nm.Model.isActive.is_(True))
    if sort == "year":  # newest first, unknown years last
        # Not .nulls_last(): MariaDB has no NULLS LAST (a syntax error there), where peewee's
        # nulls="LAST" falls back to a CASE on it; "year IS NULL" first sorts NULLs last anywhere.
        stmt = stmt.order_by(
            nm.Model.year.is_(None), nm.Model.year.desc(), nm.Model.name, nm.Model.id
        )
    else:
        stmt = stmt.order_by(nm.Model.name, nm.Model.id)
    return ctx.session.scalars(stmt.limit(limit).offset(offset)).all()


@model_list.cases
def _(fx: Any) -> Any:
    total = len(fx.rows("Model"))
    yield Case(label="all")
    yield Case(params={"active_only": True}, label="active-only")
    yield Case(params={"limit": 5, "offset": 5}, label="second-page")
    yield Case(params={"limit": 5, "offset": total}, label="page-past-end")
    yield Case(params={"limit": 0}, label="limit-0")
    yield Case(params={"sort": "year"}, label="by-year-nulls-last")
    yield Case(params={"sort": "year", "limit": 5, "offset": total - 3}, label="by-year-last-page")


search = pair("model.search", router="model", ordered=True)


@legacy_side(search)
def _(
    ctx: Any,
    q: str | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    year_unknown: bool = False,
    limit: int = 50,
) -> Any:
    query = lm.Model.select()
    if q:
        query = query.where(lm.Model.name.contains(q) | lm.Model.manufacturer.contains(q))
    if year_from is not None:
        query = query.where(lm.Model.year >= year_from)
    if year_to is not None:
        query = query.where(lm.Model.year <= year_to)
    if year_unknown:
        query = query.where(lm.Model.year.is_null())
    return list(query.order_by(lm.Model.name, lm.Model.id).limit(limit))


@search.new
def _(
    ctx: Any,
    q: str | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    year_unknown: bool = False,
    limit: int = 50,
) -> Any:
    stmt = select(nm.Model)
    if q:
        # autoescape: a typed "%" or "_" is text, as peewee's contains() escapes it.
        stmt = stmt.where(
            or_(
                nm.Model.name.icontains(q, autoescape=True),
                nm.Model.manufacturer.icontains(q, autoescape=True),
            )
        )
    if year_from is not None:
        stmt = stmt.where(nm.Model.year >= year_from)
    if year_to is not None:
        stmt = stmt.where(nm.Model.year <= year_to)
    if year_unknown:
        stmt = stmt.where(nm.Model.year.is_(None))
    stmt = stmt.order_by(nm.Model.name, nm.Model.id).limit(limit)
    return ctx.session.scalars(stmt).all()


@search.cases
def _(fx: Any) -> Any:
    for label, params in (
        ("name", {"q": "Madness"}),
        ("name-lower-case", {"q": "madness"}),
        ("manufacturer-three-spellings", {"q": "williams"}),
        ("manufacturer-upper-case", {"q": "STERN"}),
        ("non-ascii", {"q": "Märchen"}),
        ("non-ascii-other-case", {"q": "MÄRCHEN"}),
        ("non-ascii-folded", {"q": "marchen"}),
        ("punctuation", {"q": "«Homebrew»"}),
        ("wildcard-percent", {"q": "%"}),
        ("wildcard-underscore", {"q": "_"}),
        ("no-match", {"q": "zzz-no-such-model"}),
        ("empty-text", {"q": ""}),
        ("year-range", {"year_from": 1990, "year_to": 1999}),
        ("year-from-only", {"year_from": 2000}),
        ("year-unknown", {"year_unknown": True}),
        ("text-and-year-unknown", {"q": "williams", "year_unknown": True}),
        ("text-and-years", {"q": "bally", "year_from": 1980, "year_to": 1995}),
        ("null-filters", {"q": None, "year_from": None, "year_to": None}),
        ("empty-year-range", {"year_from": 2000, "year_to": 1990}),
        ("limit-0", {"q": "a", "limit": 0}),
    ):
        yield Case(params=params, label=label)
