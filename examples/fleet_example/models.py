"""The fleet tracker's new data layer: SQLAlchemy 2.x models of the schema the peewee models own.

Attribute names are the physical snake_case column names; per-database types are chosen with
``with_variant`` (see the table in :mod:`fleet_example`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fleet_example.legacy import ASSET_STATUSES, WORK_ORDER_STATES


class _SQLiteTextJSON(sqlite.JSON):
    """SQLite JSON declared TEXT (as peewee declares it): a JSON column would get NUMERIC affinity."""


@compiles(_SQLiteTextJSON, "sqlite")
def _text_json(type_: Any, compiler: Any, **kw: Any) -> str:
    return "TEXT"


_SERVERS = ("mysql", "mariadb")
Timestamp = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), *_SERVERS)
"""TIMESTAMP WITH TIME ZONE on PostgreSQL, DATETIME(6) on MariaDB, DATETIME text on SQLite."""
JSONDoc = (
    JSON(none_as_null=True)
    .with_variant(JSONB(none_as_null=True), "postgresql")
    .with_variant(_SQLiteTextJSON(none_as_null=True), "sqlite")
)
TagList = (
    JSON(none_as_null=True)
    .with_variant(ARRAY(Text), "postgresql")
    .with_variant(_SQLiteTextJSON(none_as_null=True), "sqlite")
)
HexUUID = Uuid().with_variant(Uuid(native_uuid=False), *_SERVERS)


def _choice(name: str, values: tuple[str, ...]) -> Any:
    """A native enum type on PostgreSQL, VARCHAR(16) with a CHECK elsewhere."""
    checked = Enum(*values, name=name, native_enum=False, length=16, create_constraint=True)
    return Enum(*values, name=name).with_variant(checked, *_SERVERS, "sqlite")


class Base(DeclarativeBase):
    pass


def _org() -> Mapped[int]:
    return mapped_column(ForeignKey("orgs.id"))


class Org(Base):
    __tablename__ = "orgs"
    __table_args__ = (Index("orgs_slug_key", "slug", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60))
    settings: Mapped[Any] = mapped_column(JSONDoc, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("users_org_email_key", "org_id", "email", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = _org()
    email: Mapped[str] = mapped_column(String(190))
    display_name: Mapped[str | None] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (Index("sites_org_id_idx", "org_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = _org()
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(Text)


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        Index("assets_org_tag_key", "org_id", "asset_tag", unique=True),
        Index("assets_site_id_idx", "site_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = _org()
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    asset_tag: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(_choice("asset_status", ASSET_STATUSES), default="active")
    tags: Mapped[list[str] | None] = mapped_column(TagList)
    specs: Mapped[Any] = mapped_column(JSONDoc, nullable=True)
    serial_uuid: Mapped[uuid.UUID | None] = mapped_column(HexUUID)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        Index("work_orders_org_created_idx", "org_id", "created_at"),
        Index("work_orders_asset_id_idx", "asset_id"),
        Index("work_orders_opened_by_idx", "opened_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = _org()
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=3)
    state: Mapped[str] = mapped_column(
        _choice("work_order_state", WORK_ORDER_STATES), default="open"
    )
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    closed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class Part(Base):
    __tablename__ = "parts"
    __table_args__ = (Index("parts_org_sku_key", "org_id", "sku", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = _org()
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    quantity: Mapped[int] = mapped_column(Integer, default=0)


class WorkOrderPart(Base):
    __tablename__ = "work_order_parts"
    __table_args__ = (
        Index("work_order_parts_work_order_id_idx", "work_order_id"),
        Index("work_order_parts_part_id_idx", "part_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class Note(Base):
    __tablename__ = "notes"
    __table_args__ = (
        Index("notes_org_id_idx", "org_id"),
        Index("notes_work_order_id_idx", "work_order_id"),
        Index("notes_author_id_idx", "author_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = _org()
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        Index("api_keys_token_key", "token", unique=True),
        Index("api_keys_org_id_idx", "org_id"),
        Index("api_keys_user_id_idx", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = _org()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    label: Mapped[str] = mapped_column(String(80))
    token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)


metadata = Base.metadata
