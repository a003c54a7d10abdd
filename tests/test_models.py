"""Both ORMs map one physical schema, on SQLite, PostgreSQL and MariaDB.

* parity: peewee's ``create_schema`` and SQLAlchemy's ``metadata.create_all`` build schemas that
  reflect identically (tables, columns and their types, nullability, defaults, primary keys,
  foreign keys, indexes);
* contract: that schema is CONTRACT section 5's, index names included;
* data: what one ORM writes the other reads back with identical values and types (timestamps
  with and without microseconds, decimals, booleans, JSON documents, NULLs, non-ASCII text);
* relationships: every SQLAlchemy relationship has a peewee counterpart that lands on the same
  rows.

``db_url`` (tests/conftest.py) runs each test on every database; a server that does not answer
skips locally and fails when ``CI=true``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, cast

import peewee as pw
import pytest
from sqlalchemy import Engine, func, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from harness.database.scratch import open_target
from harness.database.target import Target
from harness.reference import legacy, models

Rows = dict[str, list[dict[str, Any]]]

T0 = dt.datetime(2024, 3, 1, 8, 0, 0)  # whole seconds: peewee writes no fraction on SQLite
T1 = dt.datetime(2024, 3, 2, 17, 45, 9, 123456)  # microseconds: kept on all three databases

# One row or two in every table, made to catch what a mapping can get wrong.
# fmt: off
DATASET: Rows = {
    "Organization": [
        {"id": "org-1", "name": 'Ärcade <b>Bar</b> & "Grill"', "subdomain": "arcade",
         "logoUrl": None, "createdAt": T1, "updatedAt": T0},
    ],
    "User": [
        {"id": "user-1", "name": "Zoë O'Brien", "email": "zoe@example.com", "emailVerified": T1,
         "image": None, "bio": "Fixes <flippers> & coils", "notificationFrequency": "DAILY",
         "emailNotificationsEnabled": False, "createdAt": T0, "updatedAt": T1},
        {"id": "user-2", "name": None, "email": None, "emailVerified": None,
         "image": "https://img.example/u2.png", "bio": None, "notificationFrequency": "IMMEDIATE",
         "emailNotificationsEnabled": True, "createdAt": T0, "updatedAt": T0},
    ],
    "Permission": [
        {"id": "perm-1", "name": "issue:create", "description": None},
        {"id": "perm-2", "name": "issue:delete", "description": "Delete «any» issue"},
    ],
    "Role": [
        {"id": "role-1", "name": "Admin", "organizationId": "org-1", "isSystem": True,
         "isDefault": False, "createdAt": T0, "updatedAt": T1},
    ],
    "_RolePermissions": [{"A": "role-1", "B": "perm-1"}, {"A": "role-1", "B": "perm-2"}],
    "Membership": [
        {"id": "mem-1", "userId": "user-1", "organizationId": "org-1", "roleId": "role-1"},
        {"id": "mem-2", "userId": "user-2", "organizationId": "org-1", "roleId": "role-1"},
    ],
    "Location": [
        {"id": "loc-1", "name": "Ye Olde Arcade", "organizationId": "org-1",
         "street": "1 Main St", "city": "Zürich", "state": None, "zip": "8001",
         "latitude": Decimal("47.376887"), "longitude": Decimal("-122.006001"),
         "pinballMapId": 4242, "lastSyncAt": None, "syncEnabled": False},
    ],
    "Model": [
        {"id": "model-1", "name": "Medieval Madness", "manufacturer": "Williams", "year": 1997,
         "ipdbId": 4032, "opdbId": "G5pe4-MePZv", "machineType": "ss", "isCustom": False,
         "isActive": True},
        {"id": "model-2", "name": "Homebrew", "manufacturer": None, "year": None, "ipdbId": None,
         "opdbId": None, "machineType": None, "isCustom": True, "isActive": False},
    ],
    "Machine": [
        {"id": "machine-1", "name": "MM #1", "organizationId": "org-1", "locationId": "loc-1",
         "modelId": "model-1", "ownerId": "user-1", "qrCodeId": "qr-1", "qrCodeUrl": None,
         "qrCodeGeneratedAt": T1, "ownerNotificationsEnabled": True, "notifyOnNewIssues": False,
         "notifyOnStatusChanges": True, "notifyOnComments": False},
        {"id": "machine-2", "name": "Homebrew <1>", "organizationId": "org-1",
         "locationId": "loc-1", "modelId": "model-2", "ownerId": None, "qrCodeId": "qr-2",
         "qrCodeUrl": "https://qr.example/2", "qrCodeGeneratedAt": None,
         "ownerNotificationsEnabled": False, "notifyOnNewIssues": True,
         "notifyOnStatusChanges": False, "notifyOnComments": True},
    ],
    "IssueStatus": [
        {"id": "status-1", "name": "New", "category": "NEW", "organizationId": "org-1",
         "isDefault": True},
        {"id": "status-2", "name": "Fixed", "category": "RESOLVED", "organizationId": "org-1",
         "isDefault": False},
    ],
    "Priority": [
        {"id": "prio-1", "name": "High", "order": 1, "organizationId": "org-1",
         "isDefault": False},
        {"id": "prio-2", "name": "Low", "order": 2, "organizationId": "org-1", "isDefault": True},
    ],
    "Issue": [
        {"id": "issue-1", "title": 'Left flipper "weak" <b>', "description": "Stützt ab & …",
         "consistency": "Always",
         "checklist": {"items": [{"text": "Check coil «A»", "done": True}], "note": None, "n": 2},
         "createdAt": T1, "updatedAt": T1, "resolvedAt": None, "organizationId": "org-1",
         "machineId": "machine-1", "statusId": "status-1", "priorityId": "prio-1",
         "createdById": "user-1", "assignedToId": None},
        {"id": "issue-2", "title": "Ball stuck", "description": None, "consistency": None,
         "checklist": None, "createdAt": T1, "updatedAt": T1, "resolvedAt": T1,
         "organizationId": "org-1", "machineId": "machine-2", "statusId": "status-2",
         "priorityId": "prio-2", "createdById": None, "assignedToId": "user-2"},
        {"id": "issue-3", "title": "Dim GI", "description": "", "consistency": None,
         "checklist": [{"text": "Clean <playfield> & wax", "done": False, "order": 3}],
         "createdAt": T0, "updatedAt": T0, "resolvedAt": None, "organizationId": "org-1",
         "machineId": "machine-1", "statusId": "status-1", "priorityId": "prio-2",
         "createdById": "user-2", "assignedToId": "user-1"},
    ],
    "Comment": [
        {"id": "comment-1", "content": "Looks <i>fine</i> to me", "createdAt": T0,
         "updatedAt": T1, "deletedAt": T1, "deletedBy": "user-2", "issueId": "issue-1",
         "authorId": "user-1"},
        {"id": "comment-2", "content": "Ordered a new coil", "createdAt": T1, "updatedAt": T1,
         "deletedAt": None, "deletedBy": None, "issueId": "issue-1", "authorId": "user-2"},
    ],
    "Attachment": [
        {"id": "att-1", "url": "https://files.example/a.png", "fileName": None,
         "fileType": "image/png", "createdAt": T1, "organizationId": "org-1",
         "issueId": "issue-1"},
    ],
    "IssueHistory": [
        {"id": "hist-1", "field": "status", "oldValue": "New", "newValue": "Fixed",
         "changedAt": T1, "organizationId": "org-1", "actorId": None,
         "type": "STATUS_CHANGED", "issueId": "issue-2"},
    ],
    "Upvote": [{"id": "upvote-1", "createdAt": T0, "issueId": "issue-1", "userId": "user-2"}],
    "CollectionType": [
        {"id": "ctype-1", "name": "room", "organizationId": "org-1", "displayName": "Rooms",
         "isAutoGenerated": False, "isEnabled": True, "sourceField": None, "sortOrder": 1},
    ],
    "Collection": [
        {"id": "coll-1", "name": "Back room", "typeId": "ctype-1", "locationId": "loc-1",
         "isSmart": True, "isManual": False, "description": None, "sortOrder": 2,
         "filterCriteria": {"manufacturer": "Williams", "year": {"gte": 1990},
                            "tags": ["ss", "dmd"]}},
    ],
    "_CollectionToMachine": [
        {"A": "coll-1", "B": "machine-1"}, {"A": "coll-1", "B": "machine-2"},
    ],
    "Notification": [
        {"id": "notif-1", "message": "New issue on <MM #1>", "read": False, "createdAt": T1,
         "userId": "user-1", "type": "ISSUE_CREATED", "entityType": "Issue",
         "entityId": "issue-1", "actionUrl": None},
        {"id": "notif-2", "message": "Welcome", "read": True, "createdAt": T0,
         "userId": "user-1", "type": "SYSTEM", "entityType": None, "entityId": None,
         "actionUrl": "/welcome"},
    ],
}
# fmt: on

# CONTRACT section 5: columns ("?" = nullable) and indexes ("!" = unique), by name.
# fmt: off
CONTRACT: dict[str, tuple[str, dict[str, str]]] = {
    "Organization": (
        "id name subdomain logoUrl? createdAt updatedAt",
        {"Organization_subdomain_key": "!subdomain"},
    ),
    "User": (
        "id name? email? emailVerified? image? bio? notificationFrequency "
        "emailNotificationsEnabled createdAt updatedAt",
        {"User_email_key": "!email"},
    ),
    "Role": (
        "id name organizationId isSystem isDefault createdAt updatedAt",
        {"Role_name_organizationId_key": "!name organizationId",
         "Role_organizationId_idx": "organizationId"},
    ),
    "Permission": ("id name description?", {"Permission_name_key": "!name"}),
    "_RolePermissions": ("A B", {"_RolePermissions_B_index": "B"}),
    "Membership": (
        "id userId organizationId roleId",
        {"Membership_userId_organizationId_key": "!userId organizationId",
         "Membership_organizationId_idx": "organizationId"},
    ),
    "Location": (
        "id name organizationId street? city? state? zip? latitude? longitude? pinballMapId? "
        "lastSyncAt? syncEnabled",
        {"Location_organizationId_idx": "organizationId"},
    ),
    "Model": (
        "id name manufacturer? year? ipdbId? opdbId? machineType? isCustom isActive",
        {"Model_ipdbId_key": "!ipdbId", "Model_opdbId_key": "!opdbId"},
    ),
    "Machine": (
        "id name organizationId locationId modelId ownerId? qrCodeId qrCodeUrl? "
        "qrCodeGeneratedAt? ownerNotificationsEnabled notifyOnNewIssues notifyOnStatusChanges "
        "notifyOnComments",
        {"Machine_qrCodeId_key": "!qrCodeId", "Machine_organizationId_idx": "organizationId",
         "Machine_locationId_idx": "locationId", "Machine_modelId_idx": "modelId",
         "Machine_ownerId_idx": "ownerId"},
    ),
    "IssueStatus": (
        "id name category organizationId isDefault",
        {"IssueStatus_organizationId_idx": "organizationId"},
    ),
    "Priority": (
        "id name order organizationId isDefault",
        {"Priority_name_organizationId_key": "!name organizationId"},
    ),
    "Issue": (
        "id title description? consistency? checklist? createdAt updatedAt resolvedAt? "
        "organizationId machineId statusId priorityId createdById? assignedToId?",
        {"Issue_organizationId_idx": "organizationId",
         "Issue_organizationId_statusId_idx": "organizationId statusId",
         "Issue_machineId_idx": "machineId", "Issue_assignedToId_idx": "assignedToId",
         "Issue_createdById_idx": "createdById"},
    ),
    "Comment": (
        "id content createdAt updatedAt deletedAt? deletedBy? issueId authorId",
        {"Comment_issueId_idx": "issueId"},
    ),
    "Attachment": (
        "id url fileName? fileType? createdAt organizationId issueId",
        {"Attachment_issueId_idx": "issueId"},
    ),
    "IssueHistory": (
        "id field oldValue? newValue? changedAt organizationId actorId? type issueId",
        {"IssueHistory_issueId_idx": "issueId"},
    ),
    "Upvote": ("id createdAt issueId userId", {"Upvote_issueId_userId_key": "!issueId userId"}),
    "CollectionType": (
        "id name organizationId displayName? isAutoGenerated isEnabled sourceField? sortOrder",
        {"CollectionType_organizationId_idx": "organizationId"},
    ),
    "Collection": (
        "id name typeId locationId? isSmart isManual description? sortOrder filterCriteria?",
        {"Collection_typeId_idx": "typeId"},
    ),
    "_CollectionToMachine": ("A B", {"_CollectionToMachine_B_index": "B"}),
    "Notification": (
        "id message read createdAt userId type entityType? entityId? actionUrl?",
        {"Notification_userId_read_idx": "userId read"},
    ),
}
# fmt: on

# Foreign keys whose column does not spell the table it refers to; every other …Id column
# refers to the table it names (organizationId -> Organization), except NOT_FOREIGN_KEYS.
FOREIGN_KEYS = {
    ("Comment", "deletedBy"): "User",
    ("Issue", "createdById"): "User",
    ("Issue", "assignedToId"): "User",
    ("Machine", "ownerId"): "User",
    ("IssueHistory", "actorId"): "User",
    ("Comment", "authorId"): "User",
    ("Collection", "typeId"): "CollectionType",
    ("Issue", "statusId"): "IssueStatus",
    ("_RolePermissions", "A"): "Role",
    ("_RolePermissions", "B"): "Permission",
    ("_CollectionToMachine", "A"): "Collection",
    ("_CollectionToMachine", "B"): "Machine",
}
NOT_FOREIGN_KEYS = {"pinballMapId", "ipdbId", "opdbId", "qrCodeId", "entityId"}

# Every SQLAlchemy relationship and its peewee counterpart: (class, new name, legacy name).
RELATIONSHIPS = [
    ("Organization", "roles", "roles"),
    ("Organization", "memberships", "memberships"),
    ("Organization", "locations", "locations"),
    ("Organization", "machines", "machines"),
    ("Organization", "issueStatuses", "issue_statuses"),
    ("Organization", "priorities", "priorities"),
    ("Organization", "issues", "issues"),
    ("Organization", "attachments", "attachments"),
    ("Organization", "issueHistory", "issue_history"),
    ("Organization", "collectionTypes", "collection_types"),
    ("User", "memberships", "memberships"),
    ("User", "ownedMachines", "owned_machines"),
    ("User", "createdIssues", "created_issues"),
    ("User", "assignedIssues", "assigned_issues"),
    ("User", "comments", "comments"),
    ("User", "deletedComments", "deleted_comments"),
    ("User", "issueHistory", "issue_history"),
    ("User", "upvotes", "upvotes"),
    ("User", "notifications", "notifications"),
    ("Permission", "roles", "roles"),
    ("Role", "organization", "organization"),
    ("Role", "memberships", "memberships"),
    ("Role", "permissions", "permissions"),
    ("Membership", "user", "user"),
    ("Membership", "organization", "organization"),
    ("Membership", "role", "role"),
    ("Location", "organization", "organization"),
    ("Location", "machines", "machines"),
    ("Location", "collections", "collections"),
    ("Model", "machines", "machines"),
    ("Machine", "organization", "organization"),
    ("Machine", "location", "location"),
    ("Machine", "model", "model"),
    ("Machine", "owner", "owner"),
    ("Machine", "issues", "issues"),
    ("Machine", "collections", "collections"),
    ("IssueStatus", "organization", "organization"),
    ("IssueStatus", "issues", "issues"),
    ("Priority", "organization", "organization"),
    ("Priority", "issues", "issues"),
    ("Issue", "organization", "organization"),
    ("Issue", "machine", "machine"),
    ("Issue", "status", "status"),
    ("Issue", "priority", "priority"),
    ("Issue", "createdBy", "created_by"),
    ("Issue", "assignedTo", "assigned_to"),
    ("Issue", "comments", "comments"),
    ("Issue", "attachments", "attachments"),
    ("Issue", "history", "history"),
    ("Issue", "upvotes", "upvotes"),
    ("Comment", "issue", "issue"),
    ("Comment", "author", "author"),
    ("Comment", "deletedByUser", "deleted_by"),
    ("Attachment", "organization", "organization"),
    ("Attachment", "issue", "issue"),
    ("IssueHistory", "organization", "organization"),
    ("IssueHistory", "actor", "actor"),
    ("IssueHistory", "issue", "issue"),
    ("Upvote", "issue", "issue"),
    ("Upvote", "user", "user"),
    ("CollectionType", "organization", "organization"),
    ("CollectionType", "collections", "collections"),
    ("Collection", "type", "type"),
    ("Collection", "location", "location"),
    ("Collection", "machines", "machines"),
    ("Notification", "user", "user"),
]

LINK_TABLES = {"_RolePermissions", "_CollectionToMachine"}


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def target(db_url: str | None) -> Iterator[Target]:
    """A scratch database holding the schema, created by the legacy side."""
    with open_target(db_url) as target:
        legacy.create_schema(target.legacy_db)
        yield target


def _new_class(table: str) -> type[models.Base]:
    return next(m.class_ for m in models.Base.registry.mappers if m.class_.__tablename__ == table)


def write_new(engine: Engine, rows: Rows) -> None:
    """Write ``rows`` through SQLAlchemy's models; the link tables through the relationships."""
    with Session(engine) as session:
        for table, table_rows in rows.items():
            if table not in LINK_TABLES:
                session.add_all(_new_class(table)(**row) for row in table_rows)
        session.flush()
        for row in rows["_RolePermissions"]:
            role = session.get_one(models.Role, row["A"])
            role.permissions.append(session.get_one(models.Permission, row["B"]))
        for row in rows["_CollectionToMachine"]:
            collection = session.get_one(models.Collection, row["A"])
            collection.machines.append(session.get_one(models.Machine, row["B"]))
        session.commit()


def write_legacy(db: pw.Database, rows: Rows) -> None:
    """Write ``rows`` through peewee's models; the link tables through the many-to-many fields."""
    with legacy.bound(db), db.atomic():
        for model in legacy.MODELS:
            table = model._meta.table_name
            if table in LINK_TABLES:
                continue
            columns = model._meta.columns
            for row in rows[table]:
                model.create(**{columns[column].name: value for column, value in row.items()})
        for row in rows["_RolePermissions"]:
            legacy.Role.get_by_id(row["A"]).permissions.add(legacy.Permission.get_by_id(row["B"]))
        for row in rows["_CollectionToMachine"]:
            collection = legacy.Collection.get_by_id(row["A"])
            collection.machines.add(legacy.Machine.get_by_id(row["B"]))


def write(target: Target, side: str, rows: Rows) -> None:
    """Write ``rows`` through the ``side`` ("new" or "legacy") ORM."""
    if side == "new":
        write_new(target.engine, rows)
    else:
        write_legacy(target.legacy_db, rows)


def read_new(engine: Engine) -> Rows:
    """Every row of every table read through SQLAlchemy, keyed by column, sorted by key."""
    result: Rows = {}
    with Session(engine) as session:
        for table in models.metadata.sorted_tables:
            if table.name in LINK_TABLES:
                query = select(table).order_by(*table.primary_key.columns)
                result[table.name] = [dict(row) for row in session.execute(query).mappings()]
                continue
            cls = _new_class(table.name)
            columns = [column.name for column in table.columns]
            result[table.name] = [
                {column: getattr(obj, column) for column in columns}
                for obj in session.scalars(select(cls).order_by(*table.primary_key.columns))
            ]
    return result


def read_legacy(db: pw.Database) -> Rows:
    """Every row of every table read through peewee, keyed by column, sorted by key."""
    result: Rows = {}
    with legacy.bound(db):
        for model in legacy.MODELS:
            fields: list[pw.Field] = list(model._meta.sorted_fields)
            key = model._meta.get_primary_keys()
            # .tuples() yields plain tuples; peewee's stubs type every select as yielding models.
            query = cast(Iterable[tuple[Any, ...]], model.select(*fields).order_by(*key).tuples())
            result[model._meta.table_name] = [
                {field.column_name: value for field, value in zip(fields, row, strict=True)}
                for row in query
            ]
    return result


def typed(rows: Rows) -> dict[str, list[dict[str, tuple[str, Any]]]]:
    """``rows`` with each value paired with its type name: True must not pass for 1."""
    return {
        table: [{k: (type(v).__name__, v) for k, v in row.items()} for row in table_rows]
        for table, table_rows in rows.items()
    }


def expected_rows() -> Rows:
    """DATASET sorted the way the readers sort (by primary key)."""
    result: Rows = {}
    for table, table_rows in DATASET.items():
        key = ("A", "B") if table in LINK_TABLES else ("id",)
        result[table] = sorted(table_rows, key=lambda row: tuple(row[k] for k in key))
    return result


def reflect(engine: Engine) -> dict[str, dict[str, Any]]:
    """Everything schema-diff compares, as SQLAlchemy reflects it, per table."""
    inspector = inspect(engine)
    schema: dict[str, dict[str, Any]] = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [
                (c["name"], repr(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table),
            "foreign_keys": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    sorted(fk["options"].items()),
                )
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                for ix in inspector.get_indexes(table)
            ),
            "unique_constraints": sorted(
                (uq["name"], tuple(uq["column_names"]))
                for uq in inspector.get_unique_constraints(table)
            ),
        }
        if engine.dialect.name != "sqlite":  # SQLite keeps no CHECK catalogue to reflect
            schema[table]["checks"] = check_constraints(engine, table)
    return schema


def check_constraints(engine: Engine, table: str) -> list[tuple[str, str]]:
    """The CHECK constraints of ``table``: (name, clause), sorted.

    SQLAlchemy reflects table-level checks only; MariaDB's JSON columns carry a column-level
    ``CHECK (json_valid(…))``, which information_schema lists.
    """
    if engine.dialect.name != "mysql":
        checks = inspect(engine).get_check_constraints(table)
        return sorted((ck["name"] or "", ck["sqltext"]) for ck in checks)
    query = text(
        "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
        " WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = :table"
    )
    with engine.connect() as conn:
        return sorted((name, clause) for name, clause in conn.execute(query, {"table": table}))


# --- schema -----------------------------------------------------------------------------------


def test_both_orms_create_the_same_schema(db_url: str | None) -> None:
    """peewee's create_schema and SQLAlchemy's create_all reflect identically: the 1:1 proof."""
    with open_target(db_url) as old, open_target(db_url) as new:
        legacy.create_schema(old.legacy_db)
        models.metadata.create_all(new.engine)
        legacy_schema, new_schema = reflect(old.engine), reflect(new.engine)
    assert list(legacy_schema) == list(new_schema)
    for table in legacy_schema:
        assert legacy_schema[table] == new_schema[table], table


def test_schema_is_the_contracts(target: Target) -> None:
    """Tables, columns, nullability, keys and index names are CONTRACT section 5's."""
    schema = reflect(target.engine)
    assert set(schema) == set(CONTRACT)
    for table, (column_spec, index_spec) in CONTRACT.items():
        expected_columns = [(name.rstrip("?"), name.endswith("?")) for name in column_spec.split()]
        columns = [(name, nullable) for name, _type, nullable, _default in schema[table]["columns"]]
        assert columns == expected_columns, table
        assert all(default is None for *_rest, default in schema[table]["columns"]), table

        expected_indexes = {
            (name, tuple(spec.lstrip("!").split()), spec.startswith("!"))
            for name, spec in index_spec.items()
        }
        indexes = set(schema[table]["indexes"])
        if target.dialect == "mysql":
            # InnoDB adds an index for a foreign key no index leads with, named after the key.
            implicit = {ix for ix in indexes - expected_indexes if ix[0].endswith("_fkey")}
            assert all(len(ix[1]) == 1 and not ix[2] for ix in implicit), table
            indexes -= implicit
        assert indexes == expected_indexes, table

        key = ("A", "B") if table in LINK_TABLES else ("id",)
        assert tuple(schema[table]["primary_key"]["constrained_columns"]) == key, table

        fk_columns = {fk[1][0]: fk for fk in schema[table]["foreign_keys"]}
        for name, _nullable in expected_columns:
            referred = _referred_table(table, name)
            if referred is None:
                assert name not in fk_columns, (table, name)
                continue
            fk_name, _columns, fk_table, fk_referred_columns, _options = fk_columns[name]
            assert fk_name == f"{table}_{name}_fkey"
            assert (fk_table, fk_referred_columns) == (referred, ("id",)), (table, name)
        assert len(fk_columns) == len(schema[table]["foreign_keys"]), table


def _referred_table(table: str, column: str) -> str | None:
    """The table a column refers to: the one its name says (``organizationId``), else None."""
    if (table, column) in FOREIGN_KEYS:
        return FOREIGN_KEYS[(table, column)]
    if column.endswith("Id") and column not in NOT_FOREIGN_KEYS:
        return column[0].upper() + column[1 : -len("Id")]
    return None


def test_column_types_per_database(target: Target) -> None:
    """The storage choices this module documents: JSON, booleans, timestamps, decimals."""
    inspector = inspect(target.engine)
    columns: dict[str, Any] = {c["name"]: c["type"] for c in inspector.get_columns("Issue")}
    location: dict[str, Any] = {c["name"]: c["type"] for c in inspector.get_columns("Location")}
    checklist, created, flag = columns["checklist"], columns["createdAt"], location["syncEnabled"]
    latitude = location["latitude"]
    assert (latitude.precision, latitude.scale) == (9, 6)
    if target.dialect == "postgresql":
        assert (type(checklist).__name__, type(flag).__name__) == ("JSONB", "BOOLEAN")
        assert type(created).__name__ == "TIMESTAMP" and not created.timezone
    elif target.dialect == "mysql":
        assert type(checklist).__name__ == "LONGTEXT"  # what MariaDB makes of JSON
        assert (type(flag).__name__, flag.display_width) == ("TINYINT", 1)
        assert (type(created).__name__, created.fsp) == ("DATETIME", 6)
        assert check_constraints(target.engine, "Issue") == [
            ("checklist", "json_valid(`checklist`)")
        ]
    else:
        assert (type(checklist).__name__, type(flag).__name__) == ("TEXT", "BOOLEAN")
        assert type(created).__name__ == "DATETIME"


def test_key_length_and_defaults_agree() -> None:
    """Python-side defaults (the schema has no server defaults) are the same on both sides."""
    assert legacy.KEY_LENGTH == models.KEY_LENGTH
    for model in legacy.MODELS:
        table = models.metadata.tables[model._meta.table_name]
        for field in model._meta.sorted_fields:
            column = table.columns[field.column_name]
            new_default = column.default.arg if column.default is not None else None
            if callable(field.default):
                assert callable(new_default), column
                assert field.default.__name__ == new_default.__name__, column
            else:
                assert field.default == new_default, column
            assert column.server_default is None, column


# --- data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["new", "legacy"])
def test_both_sides_read_what_one_wrote(target: Target, writer: str) -> None:
    """Same values and same Python types, every column of every table, whichever side wrote."""
    write(target, writer, DATASET)
    expected = typed(expected_rows())
    assert typed(read_legacy(target.legacy_db)) == expected
    assert typed(read_new(target.engine)) == expected


@pytest.mark.parametrize("writer", ["new", "legacy"])
def test_json_none_is_sql_null_on_both_sides(target: Target, writer: str) -> None:
    """None becomes SQL NULL, not the JSON text 'null' (which would also read back as None)."""
    write(target, writer, DATASET)  # issue-2 has no checklist
    with legacy.bound(target.legacy_db):
        legacy.Issue.update(checklist=None).where(legacy.Issue.id == "issue-1").execute()
    with Session(target.engine) as session:
        session.get_one(models.Issue, "issue-3").checklist = None
        session.commit()
        nulls = session.scalar(
            select(func.count()).select_from(models.Issue).where(models.Issue.checklist.is_(None))
        )
    assert nulls == 3


def _ids(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (pw.Model, models.Base)):
        instance: Any = value  # both ORMs' instances have an ``id`` here
        return instance.id
    return sorted(item.id for item in value)


@pytest.mark.parametrize("writer", ["new", "legacy"])
def test_relationships_reach_the_same_rows(target: Target, writer: str) -> None:
    write(target, writer, DATASET)
    seen: dict[tuple[str, str], Any] = {}
    with Session(target.engine) as session, legacy.bound(target.legacy_db):
        for class_name, new_name, legacy_name in RELATIONSHIPS:
            for row in DATASET[getattr(models, class_name).__tablename__]:
                new_obj = session.get_one(getattr(models, class_name), row["id"])
                old_obj = getattr(legacy, class_name).get_by_id(row["id"])
                new_value = _ids(getattr(new_obj, new_name))
                assert new_value == _ids(getattr(old_obj, legacy_name)), (class_name, new_name)
                seen.setdefault((class_name, new_name), new_value)
    # A few spot checks that the pairs land where the data says.
    assert seen[("Issue", "createdBy")] == "user-1"
    assert seen[("Role", "permissions")] == ["perm-1", "perm-2"]
    assert seen[("Collection", "machines")] == ["machine-1", "machine-2"]
    assert seen[("Comment", "deletedByUser")] == "user-2"
    assert seen[("User", "assignedIssues")] == ["issue-3"]


def test_every_relationship_is_paired() -> None:
    """RELATIONSHIPS lists every SQLAlchemy relationship, and each has its peewee name."""
    declared = {
        (mapper.class_.__name__, rel.key)
        for mapper in models.Base.registry.mappers
        for rel in mapper.relationships
    }
    assert declared == {(cls, new) for cls, new, _legacy in RELATIONSHIPS}
    for cls, _new, legacy_name in RELATIONSHIPS:
        assert hasattr(getattr(legacy, cls), legacy_name), (cls, legacy_name)


def test_reserved_word_order_is_quoted(target: Target) -> None:
    """``Priority.order``: create, filter, sort and update through both ORMs."""
    with legacy.bound(target.legacy_db):
        legacy.Organization.create(id="org-1", name="Org", subdomain="org")
        legacy.Priority.create(id="p-a", name="A", order=3, organization="org-1")
        legacy.Priority.update(order=legacy.Priority.order + 1).where(
            legacy.Priority.order >= 3
        ).execute()
    with Session(target.engine) as session:
        session.add(models.Priority(id="p-b", name="B", order=1, organizationId="org-1"))
        session.execute(update(models.Priority).where(models.Priority.order < 2).values(order=2))
        session.commit()
        new_order = session.scalars(
            select(models.Priority.id).order_by(models.Priority.order.desc())
        ).all()
        session.execute(
            insert(models.Priority).values(id="p-c", name="C", order=0, organizationId="org-1")
        )
        session.commit()
    with legacy.bound(target.legacy_db):
        old_order = [p.id for p in legacy.Priority.select().order_by(legacy.Priority.order.desc())]
        orders = {p.id: p.order for p in legacy.Priority.select()}
    assert new_order == ["p-a", "p-b"]
    assert old_order == ["p-a", "p-b", "p-c"]
    assert orders == {"p-a": 4, "p-b": 2, "p-c": 0}
