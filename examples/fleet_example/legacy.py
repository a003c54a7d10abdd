"""The fleet tracker's legacy data layer: peewee models, which own the production schema.

Integer auto-increment keys, snake_case names, an ``org_id`` tenant column. Some columns take
the type each database has (see the table in :mod:`fleet_example`): the fields below choose their
DDL and their value conversion by the database their model is bound to. The models carry no
database; a side binds them for the call (``with bound(ctx.db): ...``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import peewee as pw

ASSET_STATUSES = ("active", "maintenance", "retired")
WORK_ORDER_STATES = ("open", "in_progress", "done", "cancelled")
ENUMS = {"asset_status": ASSET_STATUSES, "work_order_state": WORK_ORDER_STATES}


def dialect_of(field: pw.Field) -> str:
    """``postgresql``, ``mysql`` or ``sqlite``: the kind of database the field's model is bound to."""
    db = field.model._meta.database
    if isinstance(db, pw.PostgresqlDatabase):
        return "postgresql"
    if isinstance(db, pw.MySQLDatabase):
        return "mysql"
    return "sqlite"


class Timestamp(pw.DateTimeField):
    """TIMESTAMP WITH TIME ZONE on PostgreSQL; UTC in DATETIME(6) on MariaDB and text on SQLite.

    An aware value is stored as UTC where the column has no zone, and SQLite gets the
    fixed-width text SQLAlchemy writes (``2025-06-01 12:00:00.000000``), so both ORMs store the
    same text.
    """

    def ddl_datatype(self, ctx: Any) -> Any:
        kind = dialect_of(self)
        if kind == "postgresql":
            return pw.SQL("TIMESTAMP WITH TIME ZONE")
        if kind == "mysql":
            return pw.SQL("DATETIME(6)")
        return super().ddl_datatype(ctx)

    def db_value(self, value: Any) -> Any:
        if not isinstance(value, dt.datetime) or dialect_of(self) == "postgresql":
            return super().db_value(value)
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(" ", "microseconds") if dialect_of(self) == "sqlite" else value


class JSONText(pw.Field):
    """JSON: JSONB on PostgreSQL, JSON on MariaDB, TEXT on SQLite; written as JSON text."""

    field_type = "JSON"

    def ddl_datatype(self, ctx: Any) -> Any:
        return pw.SQL({"postgresql": "JSONB", "mysql": "JSON"}.get(dialect_of(self), "TEXT"))

    def db_value(self, value: Any) -> Any:
        return value if value is None or isinstance(value, pw.Node) else json.dumps(value)

    def python_value(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value


class Tags(JSONText):
    """A list of strings: a native TEXT[] array on PostgreSQL, a JSON list elsewhere."""

    def ddl_datatype(self, ctx: Any) -> Any:
        return pw.SQL("TEXT[]") if dialect_of(self) == "postgresql" else super().ddl_datatype(ctx)

    def db_value(self, value: Any) -> Any:
        if value is not None and dialect_of(self) == "postgresql":
            return list(value)
        return super().db_value(None if value is None else list(value))


class HexUUID(pw.UUIDField):
    """UUID on PostgreSQL; elsewhere CHAR(32) holding the hex digits (as SQLAlchemy's ``Uuid``)."""

    def ddl_datatype(self, ctx: Any) -> Any:
        return super().ddl_datatype(ctx) if dialect_of(self) == "postgresql" else pw.SQL("CHAR(32)")


class Choice(pw.CharField):
    """A native enum type on PostgreSQL; VARCHAR(16) with a CHECK on MariaDB and SQLite."""

    def __init__(self, type_name: str, **kwargs: Any) -> None:
        self.type_name = type_name
        self.choices_allowed = ENUMS[type_name]
        super().__init__(max_length=16, **kwargs)

    def ddl_datatype(self, ctx: Any) -> Any:
        if dialect_of(self) == "postgresql":
            return pw.SQL(self.type_name)
        return super().ddl_datatype(ctx)

    def ddl(self, ctx: Any) -> Any:
        node = super().ddl(ctx)
        if dialect_of(self) != "postgresql":
            allowed = ", ".join(f"'{v}'" for v in self.choices_allowed)
            node.nodes.append(pw.SQL(f"CHECK ({self.column_name} IN ({allowed}))"))
        return node


class BooleanField(pw.BooleanField):
    """BOOLEAN on every database, as SQLAlchemy's ``Boolean`` declares it."""

    field_type = "BOOLEAN"


def _fk(model: Any, column: str, **kwargs: Any) -> pw.ForeignKeyField:
    # The indexes are declared by name below, the same in both ORMs' models.
    return pw.ForeignKeyField(model, column_name=column, index=False, **kwargs)


class BaseModel(pw.Model):
    class Meta:
        database = None


class Org(BaseModel):
    """A tenant: one fleet operator."""

    id = pw.AutoField()
    name = pw.CharField(max_length=120)
    slug = pw.CharField(max_length=60)
    settings = JSONText(null=True)
    created_at = Timestamp()

    class Meta:
        table_name = "orgs"


class User(BaseModel):
    id = pw.AutoField()
    org = _fk(Org, "org_id")
    email = pw.CharField(max_length=190)
    display_name = pw.CharField(max_length=120, null=True)
    is_active = BooleanField(default=True)
    created_at = Timestamp()

    class Meta:
        table_name = "users"


class Site(BaseModel):
    id = pw.AutoField()
    org = _fk(Org, "org_id")
    name = pw.CharField(max_length=120)
    address = pw.TextField(null=True)

    class Meta:
        table_name = "sites"


class Asset(BaseModel):
    id = pw.AutoField()
    org = _fk(Org, "org_id")
    site = _fk(Site, "site_id", null=True)
    asset_tag = pw.CharField(max_length=40)
    name = pw.CharField(max_length=120)
    status = Choice("asset_status", default="active")
    tags = Tags(null=True)
    specs = JSONText(null=True)
    serial_uuid = HexUUID(null=True)
    created_at = Timestamp()

    class Meta:
        table_name = "assets"


class WorkOrder(BaseModel):
    id = pw.AutoField()
    org = _fk(Org, "org_id")
    asset = _fk(Asset, "asset_id")
    opened_by = _fk(User, "opened_by", null=True)
    title = pw.CharField(max_length=200)
    priority = pw.IntegerField(default=3)
    state = Choice("work_order_state", default="open")
    created_at = Timestamp()
    closed_at = Timestamp(null=True)

    class Meta:
        table_name = "work_orders"


class Part(BaseModel):
    id = pw.AutoField()
    org = _fk(Org, "org_id")
    sku = pw.CharField(max_length=40)
    name = pw.CharField(max_length=120)
    unit_cost = pw.DecimalField(max_digits=10, decimal_places=2)
    quantity = pw.IntegerField(default=0)

    class Meta:
        table_name = "parts"


class WorkOrderPart(BaseModel):
    """Parts used on a work order; its tenant is its work order's (no ``org_id`` of its own)."""

    id = pw.AutoField()
    work_order = _fk(WorkOrder, "work_order_id", on_delete="CASCADE")
    part = _fk(Part, "part_id")
    quantity = pw.IntegerField()

    class Meta:
        table_name = "work_order_parts"


class Note(BaseModel):
    id = pw.AutoField()
    org = _fk(Org, "org_id")
    work_order = _fk(WorkOrder, "work_order_id", on_delete="CASCADE")
    author = _fk(User, "author_id", null=True)
    body = pw.TextField()
    created_at = Timestamp()

    class Meta:
        table_name = "notes"


class ApiKey(BaseModel):
    id = pw.AutoField()
    org = _fk(Org, "org_id")
    user = _fk(User, "user_id")
    label = pw.CharField(max_length=80)
    token = pw.CharField(max_length=64)
    created_at = Timestamp()

    class Meta:
        table_name = "api_keys"


MODELS: tuple[type[BaseModel], ...] = (
    Org,
    User,
    Site,
    Asset,
    WorkOrder,
    Part,
    WorkOrderPart,
    Note,
    ApiKey,
)
"""Every model, parents first (the foreign-key order)."""

INDEXES: dict[type[BaseModel], tuple[tuple[str, tuple[str, ...], bool], ...]] = {
    Org: (("orgs_slug_key", ("slug",), True),),
    User: (("users_org_email_key", ("org", "email"), True),),
    Site: (("sites_org_id_idx", ("org",), False),),
    Asset: (
        ("assets_org_tag_key", ("org", "asset_tag"), True),
        ("assets_site_id_idx", ("site",), False),
    ),
    WorkOrder: (
        ("work_orders_org_created_idx", ("org", "created_at"), False),
        ("work_orders_asset_id_idx", ("asset",), False),
        ("work_orders_opened_by_idx", ("opened_by",), False),
    ),
    Part: (("parts_org_sku_key", ("org", "sku"), True),),
    WorkOrderPart: (
        ("work_order_parts_work_order_id_idx", ("work_order",), False),
        ("work_order_parts_part_id_idx", ("part",), False),
    ),
    Note: (
        ("notes_org_id_idx", ("org",), False),
        ("notes_work_order_id_idx", ("work_order",), False),
        ("notes_author_id_idx", ("author",), False),
    ),
    ApiKey: (
        ("api_keys_token_key", ("token",), True),
        ("api_keys_org_id_idx", ("org",), False),
        ("api_keys_user_id_idx", ("user",), False),
    ),
}
"""Named indexes (name, fields, unique): SQLAlchemy's models declare the same names."""

for _model, _indexes in INDEXES.items():
    for _name, _fields, _unique in _indexes:
        _model.add_index(*(getattr(_model, f) for f in _fields), unique=_unique, name=_name)


@contextmanager
def bound(db: pw.Database) -> Iterator[None]:
    """Bind every model to ``db`` for the block."""
    with db.bind_ctx(MODELS):
        yield


def create_schema(db: pw.Database) -> None:
    """Create the enum types (PostgreSQL), then every table with its keys and indexes."""
    with bound(db):
        if isinstance(db, pw.PostgresqlDatabase):
            for name, values in ENUMS.items():
                allowed = ", ".join(f"'{v}'" for v in values)
                db.execute_sql(f"CREATE TYPE {name} AS ENUM ({allowed})")
        db.create_tables(MODELS)


def new_serial() -> uuid.UUID:
    """A fresh serial number for an asset."""
    return uuid.uuid4()
