"""Realistic side results for the benchmarks: the column types real list endpoints return.

Ten columns: text id, ``Decimal`` money, a naive and an aware ``datetime`` (the aware one
nullable), a ``date``, a float (compared within the tolerance), a ``UUID``, a JSON document
(nullable), a bool and nullable text. The same rows come as dicts, tuples, peewee instances and
SQLAlchemy instances, built one by one as a driver hands them over.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import peewee
import sqlalchemy as sa
from playhouse.sqlite_ext import JSONField
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

START = datetime(2024, 1, 1, 8, 30)
COLUMNS = (
    "id",
    "amount",
    "createdAt",
    "resolvedAt",
    "dueOn",
    "score",
    "ref",
    "checklist",
    "isActive",
    "description",
)


def row(i: int) -> dict[str, Any]:
    """Row ``i``; rows of different ``i`` differ (the id), rows of equal ``i`` are equal."""
    return {
        "id": f"iss_{i:06d}",
        "amount": Decimal(i * 37 % 100_000) / 100,
        "createdAt": START + timedelta(seconds=i * 13, microseconds=(i % 3) * 250),
        "resolvedAt": None
        if i % 3 == 0
        else (START + timedelta(hours=i % 500)).replace(tzinfo=UTC),
        "dueOn": date(2024, 1, 1) + timedelta(days=i % 365),
        "score": i / 7,
        "ref": uuid.UUID(int=i * 2_654_435_761 % (1 << 128)),
        "checklist": None
        if i % 5 == 0
        else {"steps": ["clean", "test"][: i % 3], "done": i % 2 == 0},
        "isActive": i % 7 != 0,
        "description": None if i % 4 == 0 else f"Flipper <b>{i % 977}</b> & co",
    }


def shuffled(n: int, seed: int = 1) -> list[int]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def differing(n: int, count: int, seed: int = 2) -> list[dict[str, Any]]:
    """``n`` rows in another order of which ``count`` differ from ``row(i)``: a fifth returned
    instead of others (only on this side), the others with one field changed."""
    rows = []
    lost = count // 5
    for position, i in enumerate(shuffled(n, seed)):
        if position < lost:
            rows.append(row(n + i))
            continue
        r = row(i)
        if position < count - lost:
            r["amount"] += Decimal("0.01")
        elif position < count:
            r["description"] = "changed"
        rows.append(r)
    return rows


db = peewee.SqliteDatabase(None)


class PwIssue(peewee.Model):
    """The legacy model of the rows (peewee)."""

    id = peewee.TextField(primary_key=True)
    amount = peewee.DecimalField(max_digits=12, decimal_places=2)
    created_at = peewee.DateTimeField(column_name="createdAt")
    resolved_at = peewee.DateTimeField(column_name="resolvedAt", null=True)
    due_on = peewee.DateField(column_name="dueOn")
    score = peewee.FloatField()
    ref = peewee.UUIDField()
    checklist = JSONField(null=True)
    is_active = peewee.BooleanField(column_name="isActive")
    description = peewee.TextField(null=True)

    class Meta:
        database = db
        table_name = "Issue"


class Base(DeclarativeBase):
    pass


class SaIssue(Base):
    """The new model of the rows (SQLAlchemy)."""

    __tablename__ = "Issue"
    id: Mapped[str] = mapped_column(primary_key=True)
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    createdAt: Mapped[datetime]
    resolvedAt: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    dueOn: Mapped[date]
    score: Mapped[float]
    ref: Mapped[uuid.UUID]
    checklist: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    isActive: Mapped[bool]
    description: Mapped[str | None]


_PW_ATTRS = {
    "createdAt": "created_at",
    "resolvedAt": "resolved_at",
    "dueOn": "due_on",
    "isActive": "is_active",
}


def as_shape(rows: list[dict[str, Any]], shape: str) -> list[Any]:
    """The rows as ``dicts``, ``tuples``, ``peewee`` or ``sqlalchemy`` instances."""
    if shape == "dicts":
        return rows
    if shape == "tuples":
        return [tuple(r.values()) for r in rows]
    if shape == "peewee":
        out = []
        for r in rows:  # as a cursor builds them: no defaults, nothing dirty
            issue = PwIssue(__no_default__=True, **{_PW_ATTRS.get(k, k): v for k, v in r.items()})
            issue._dirty.clear()
            out.append(issue)
        return out
    if shape == "sqlalchemy":
        return [SaIssue(**r) for r in rows]
    raise ValueError(shape)
