"""The fixture: its generator (pure), its loader on the three databases, and both ORMs reading it.

The generator tests check every data property CONTRACT section 5 promises, on the generated rows
alone. The database tests load one dataset per database (shared within this module) and check
row counts, content hashes (identical on SQLite, PostgreSQL and MariaDB) and that peewee and
SQLAlchemy each read back exactly the generated values.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

# The rule for a server that is down (skip locally, fail when CI=true), for the one test that
# needs all three databases at once; the others take conftest's parametrized `db_url`.
from conftest import ALL_DATABASES, require, url_for
from harness.database.scratch import open_target
from harness.database.target import Target
from harness.fixture import FixtureData, load_provider
from harness.reference.data import (
    BASE_TIME,
    PRIMARY_KEYS,
    PRIORITIES,
    SCHEMA,
    ReferenceDataset,
    generate,
)
from harness.reference.load import content_hash, dataset_hash, insert_sql
from harness.reference.provider import provider

USER_COLUMNS = {
    "userId",
    "ownerId",
    "createdById",
    "assignedToId",
    "actorId",
    "authorId",
    "deletedBy",
}
# Foreign keys by the contract's naming rule; the link tables' A and B and the two odd names.
LINKS = {
    ("_RolePermissions", "A"): "Role",
    ("_RolePermissions", "B"): "Permission",
    ("_CollectionToMachine", "A"): "Collection",
    ("_CollectionToMachine", "B"): "Machine",
    ("Issue", "statusId"): "IssueStatus",
    ("Collection", "typeId"): "CollectionType",
}


def foreign_keys() -> dict[tuple[str, str], str]:
    """(table, column) -> referenced table, for every foreign key of CONTRACT section 5."""
    keys = dict(LINKS)
    for table, columns in SCHEMA.items():
        for column in columns:
            if column.name in USER_COLUMNS:
                keys[(table, column.name)] = "User"
            elif column.name.endswith("Id") and (table, column.name) not in keys:
                target = column.name[:-2][0].upper() + column.name[1:-2]
                if target in SCHEMA:
                    keys[(table, column.name)] = target
    return keys


@pytest.fixture(scope="module")
def fx() -> ReferenceDataset:
    return generate(seed=0, tenants=3, scale=1)


@pytest.fixture(
    scope="module",
    params=[(0, 3, 1), (5, 8, 3), (9, 1, 2)],
    ids=lambda p: "seed{}-tenants{}-scale{}".format(*p),
)
def shape(request: pytest.FixtureRequest) -> ReferenceDataset:
    """Datasets of several shapes, for the properties every shape must have."""
    seed, tenants, scale = request.param
    return generate(seed=seed, tenants=tenants, scale=scale)


def fold(text: str) -> str:
    """``text`` as MariaDB's default collation compares it: case and accents ignored."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def by_id(fx: ReferenceDataset, table: str) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in fx.tables[table]}


def texts(fx: ReferenceDataset) -> list[str]:
    """Every name and title in the fixture."""
    return [
        row[column]
        for table, rows in fx.tables.items()
        for row in rows
        for column in ("name", "title")
        if isinstance(row.get(column), str)
    ]


# --- the generator -----------------------------------------------------------------------------


def test_the_same_seed_gives_an_identical_dataset_and_another_seed_another() -> None:
    first, again, other = generate(seed=3), generate(seed=3), generate(seed=4)
    assert first == again
    assert repr(first.tables) == repr(again.tables)  # types too, not only equal values
    assert first.tenants != other.tenants
    assert [r["id"] for r in first.tables["Issue"]] != [r["id"] for r in other.tables["Issue"]]


def test_the_dataset_implements_the_protocol(fx: ReferenceDataset) -> None:
    assert isinstance(fx, FixtureData)
    assert list(fx.tenants) == sorted(row["id"] for row in fx.tables["Organization"])
    assert list(fx.tables) == list(SCHEMA)
    for table in fx.tables:
        key = PRIMARY_KEYS[table]
        keys = [tuple(row[k] for k in key) for row in fx.rows(table)]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), table
    copy = fx.rows("Issue")
    copy[0]["title"] = "changed"
    assert fx.rows("Issue")[0]["title"] != "changed"
    with pytest.raises(KeyError, match="Issues"):
        fx.rows("Issues")
    with pytest.raises(ValueError, match="at least 1"):
        generate(tenants=0)


def test_tables_come_in_foreign_key_order_and_references_resolve(shape: ReferenceDataset) -> None:
    order = list(shape.tables)
    ids = {
        table: {tuple(r[k] for k in PRIMARY_KEYS[table]) for r in rows}
        for table, rows in shape.tables.items()
    }
    for (table, column), parent in foreign_keys().items():
        assert order.index(parent) < order.index(table), f"{table}.{column} loads before {parent}"
        for row in shape.tables[table]:
            assert row[column] is None or (row[column],) in ids[parent], f"{table}.{column}"


def test_rows_hold_every_column_with_values_of_its_kind(shape: ReferenceDataset) -> None:
    kinds = {"text": str, "int": int, "bool": bool, "datetime": datetime, "decimal": Decimal}
    for table, columns in SCHEMA.items():
        for row in shape.tables[table]:
            assert set(row) == {c.name for c in columns}
            for column in columns:
                value = row[column.name]
                if value is None:
                    assert column.nullable, f"{table}.{column.name} is NULL"
                elif column.kind == "json":
                    assert isinstance(value, dict | list)
                else:
                    assert type(value) is kinds[column.kind], f"{table}.{column.name}: {value!r}"
                if column.kind == "decimal" and value is not None:
                    assert value.as_tuple().exponent == -6
                if column.kind == "datetime" and value is not None:
                    assert value.tzinfo is None and value >= BASE_TIME


def test_every_nullable_column_is_null_in_some_rows_and_set_in_others(fx: ReferenceDataset) -> None:
    for table, columns in SCHEMA.items():
        for column in (c for c in columns if c.nullable):
            values = [row[column.name] for row in fx.tables[table]]
            assert None in values, f"{table}.{column.name} is never NULL"
            assert any(v is not None for v in values), f"{table}.{column.name} is always NULL"


def test_ids_are_cuids_unique_across_every_table(shape: ReferenceDataset) -> None:
    ids = [row["id"] for rows in shape.tables.values() for row in rows if "id" in row]
    ids += [row["qrCodeId"] for row in shape.tables["Machine"]]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"c[0-9a-z]{24}", value) for value in ids)


def test_unique_constraints_hold_even_case_insensitively(shape: ReferenceDataset) -> None:
    # MariaDB's default collation is case- and accent-insensitive: keys must differ in letters.
    uniques: dict[str, list[tuple[str, ...]]] = {
        "Organization": [("subdomain",)],
        "User": [("email",)],
        "Permission": [("name",)],
        "Role": [("name", "organizationId")],
        "Membership": [("userId", "organizationId")],
        "Model": [("ipdbId",), ("opdbId",)],
        "Machine": [("qrCodeId",)],
        "Priority": [("name", "organizationId")],
        "Upvote": [("issueId", "userId")],
    }
    for table, keys in uniques.items():
        for key in keys:
            values = [
                tuple(fold(str(row[c])) for c in key)
                for row in shape.tables[table]
                if all(row[c] is not None for c in key)
            ]
            assert values and len(values) == len(set(values)), f"{table}{key}"


def test_names_and_titles_mix_case_scripts_emoji_and_html(fx: ReferenceDataset) -> None:
    words = texts(fx)
    for needle in ("é", "ß", "日本", "<b>", "&", '"', "'", "<script>alert(1)</script>"):
        assert any(needle in word for word in words), needle
    assert any(ord(ch) > 0x1F000 for word in words for ch in word)  # an emoji
    assert any(word != word.lower() and word != word.upper() for word in words)
    assert any("<script>alert(1)</script>" in row["title"] for row in fx.tables["Issue"])


def test_tenants_users_and_roles(fx: ReferenceDataset) -> None:
    orgs_per_user = Counter(row["userId"] for row in fx.tables["Membership"])
    assert max(orgs_per_user.values()) == len(fx.tenants)
    assert any(count == 2 for count in orgs_per_user.values())
    assert len(orgs_per_user) < len(fx.tables["User"])  # somebody belongs nowhere
    roles = by_id(fx, "Role")
    granted = Counter(row["A"] for row in fx.tables["_RolePermissions"])
    for org in fx.tenants:
        system = {r["name"] for r in roles.values() if r["organizationId"] == org and r["isSystem"]}
        assert system == {"Admin", "Member", "Unauthenticated"}
        for role in (r for r in roles.values() if r["organizationId"] == org):
            assert granted[role["id"]] > 0
    admin = next(r["id"] for r in roles.values() if r["name"] == "Admin")
    assert granted[admin] == len(fx.tables["Permission"])
    assert not any("organizationId" in c.name for c in SCHEMA["Permission"] + SCHEMA["Model"])


def test_rows_of_one_tenant_share_a_created_at(fx: ReferenceDataset) -> None:
    moments = Counter((r["organizationId"], r["createdAt"]) for r in fx.tables["Issue"])
    assert max(moments.values()) >= 3
    datetimes = [r["createdAt"] for rows in fx.tables.values() for r in rows if "createdAt" in r]
    assert any(d.microsecond == 0 for d in datetimes) and any(d.microsecond for d in datetimes)


def test_issues_cover_every_category_and_only_resolved_ones_have_resolved_at(
    fx: ReferenceDataset,
) -> None:
    statuses = by_id(fx, "IssueStatus")
    quiet = fx.tenants[-1]
    for org in fx.tenants[:-1]:
        issues = [r for r in fx.tables["Issue"] if r["organizationId"] == org]
        categories = {statuses[r["statusId"]]["category"] for r in issues}
        assert categories == {"NEW", "IN_PROGRESS", "RESOLVED"}
        assert any(r["assignedToId"] is None for r in issues)
        assert any(r["assignedToId"] is not None for r in issues)
    for issue in fx.tables["Issue"]:
        resolved = statuses[issue["statusId"]]["category"] == "RESOLVED"
        assert (issue["resolvedAt"] is not None) == resolved
        assert resolved or issue["updatedAt"] >= issue["createdAt"]
        assert statuses[issue["statusId"]]["organizationId"] == issue["organizationId"]
    for table in ("Issue", "Attachment", "IssueHistory"):
        assert not [r for r in fx.tables[table] if r["organizationId"] == quiet], table
    assert generate(tenants=1).counts()["Issue"] > 0


def test_per_tenant_vocabularies(fx: ReferenceDataset) -> None:
    for org in fx.tenants:
        statuses = [r for r in fx.tables["IssueStatus"] if r["organizationId"] == org]
        assert sum(r["isDefault"] for r in statuses) == 1
        assert all(n >= 2 for n in Counter(r["category"] for r in statuses).values())
        priorities = sorted(
            (r["order"], r["name"], r["isDefault"])
            for r in fx.tables["Priority"]
            if r["organizationId"] == org
        )
        assert [(o, n) for o, n, _ in priorities] == list(enumerate(PRIORITIES, start=1))
        assert sum(d for _, _, d in priorities) == 1


def test_machines_locations_and_models(fx: ReferenceDataset) -> None:
    machines, locations = fx.tables["Machine"], by_id(fx, "Location")
    assert any(m["ownerId"] is None for m in machines)
    for org in fx.tenants:
        used = {m["locationId"] for m in machines if m["organizationId"] == org}
        own = {i for i, loc in locations.items() if loc["organizationId"] == org}
        assert used < own  # a location with no machines
    for machine in machines:
        assert locations[machine["locationId"]]["organizationId"] == machine["organizationId"]
    models = fx.tables["Model"]
    makers = {m["manufacturer"] for m in models}
    assert {"Williams", "WILLIAMS"} <= makers
    assert any(m["year"] is None for m in models)
    assert any(m["isCustom"] and m["ipdbId"] is None and m["opdbId"] is None for m in models)


def test_comments_history_upvotes_attachments(fx: ReferenceDataset) -> None:
    comments = fx.tables["Comment"]
    deleted = [c for c in comments if c["deletedAt"] is not None]
    assert deleted
    assert all(c["deletedBy"] is not None and c["deletedAt"] > c["createdAt"] for c in deleted)
    assert all(c["deletedBy"] is None for c in comments if c["deletedAt"] is None)
    history = fx.tables["IssueHistory"]
    assert {"CREATED", "STATUS_CHANGED", "ASSIGNED"} <= {h["type"] for h in history}
    assert any(h["actorId"] is None for h in history)
    assert any(h["oldValue"] is None for h in history)
    pairs = [(u["issueId"], u["userId"]) for u in fx.tables["Upvote"]]
    assert pairs and len(pairs) == len(set(pairs))
    assert fx.tables["Attachment"]


def test_collections_and_notifications(fx: ReferenceDataset) -> None:
    collections = fx.tables["Collection"]
    linked = {link["A"] for link in fx.tables["_CollectionToMachine"]}
    assert any(c["isManual"] and c["id"] in linked for c in collections)
    criteria = [c["filterCriteria"] for c in collections if c["isSmart"]]
    assert {"manufacturer": "Williams"} in criteria
    locations = by_id(fx, "Location")
    for c in collections:
        if c["filterCriteria"] and "locationId" in c["filterCriteria"]:
            assert c["filterCriteria"]["locationId"] in locations
    notes = fx.tables["Notification"]
    assert {n["read"] for n in notes} == {True, False}
    assert len({n["type"] for n in notes}) >= 4
    assert any(n["entityType"] is None and n["entityId"] is None for n in notes)


def test_scale_multiplies_the_per_tenant_rows() -> None:
    small, large = generate(scale=1).counts(), generate(scale=10).counts()
    assert large["Issue"] == 10 * small["Issue"] and large["Machine"] == 10 * small["Machine"]
    assert 200 <= sum(small.values()) <= 1000
    assert sum(large.values()) >= 5 * sum(small.values())


def test_pymysql_would_batch_our_inserts_into_multi_row_statements() -> None:
    from pymysql.cursors import RE_INSERT_VALUES

    for table, columns in SCHEMA.items():
        assert RE_INSERT_VALUES.match(insert_sql("mysql", table, [c.name for c in columns])), table


def test_the_schema_spec_matches_both_orms() -> None:
    legacy = {m._meta.table_name: set(m._meta.columns) for m in provider.legacy_models()}
    new = {name: {c.name for c in t.columns} for name, t in provider.new_metadata().tables.items()}
    spec = {table: {c.name for c in columns} for table, columns in SCHEMA.items()}
    assert legacy == spec and new == spec
    refs = {
        (m._meta.table_name, fk.column_name): fk.rel_model._meta.table_name
        for m in provider.legacy_models()
        for fk in m._meta.refs
    }
    assert refs == foreign_keys()
    assert load_provider("harness.reference.provider:provider") is provider


# --- the databases -----------------------------------------------------------------------------


@dataclass
class Seeded:
    target: Target
    counts: dict[str, int]


@pytest.fixture(scope="module")
def _seeded_cache() -> Iterator[tuple[ExitStack, dict[str, Seeded]]]:
    # One load per database for the whole module; the targets are dropped at its end.
    with ExitStack() as stack:
        yield stack, {}


@pytest.fixture
def seeded(
    db_url: str | None, fx: ReferenceDataset, _seeded_cache: tuple[ExitStack, dict[str, Seeded]]
) -> Seeded:
    stack, cache = _seeded_cache
    key = db_url or "sqlite"
    if key not in cache:
        target = stack.enter_context(open_target(db_url, suffix="seed"))
        provider.create_schema(target)
        cache[key] = Seeded(target, provider.load(target, fx))
    return cache[key]


def count_rows(target: Target, table: str) -> int:
    from sqlalchemy import func, select

    with target.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(provider.new_metadata().tables[table])
            ).scalar_one()
        )


def test_load_writes_every_row(seeded: Seeded, fx: ReferenceDataset) -> None:
    assert seeded.counts == fx.counts()
    assert {table: count_rows(seeded.target, table) for table in SCHEMA} == fx.counts()


def test_loaded_content_hashes_equal_generated_ones(seeded: Seeded, fx: ReferenceDataset) -> None:
    differing = [t for t in SCHEMA if content_hash(seeded.target, t) != dataset_hash(fx, t)]
    assert differing == []


def test_content_hash_is_the_same_on_every_database(fx: ReferenceDataset) -> None:
    hashes: dict[str, dict[str, str]] = {}
    require(*ALL_DATABASES)
    urls = {name: url_for(name) for name in ALL_DATABASES}  # skips (fails on CI) if one is down
    for name, url in urls.items():
        with open_target(url, suffix="hash") as target:
            provider.create_schema(target)
            provider.load(target, fx)
            hashes[name] = {table: content_hash(target, table) for table in SCHEMA}
    assert hashes["sqlite"] == hashes["postgresql"] == hashes["mysql"]
    assert hashes["sqlite"] != {t: dataset_hash(generate(seed=1), t) for t in SCHEMA}


def test_mysql_load_sends_one_insert_per_table(fx: ReferenceDataset) -> None:
    def inserts(target: Target) -> int:
        # Session counters; the target's pool holds one connection, so this is the loader's.
        pooled = target.engine.raw_connection()
        try:
            cursor: Any = pooled.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute("SHOW SESSION STATUS LIKE 'Com_insert'")
            return int(cursor.fetchone()[1])
        finally:
            pooled.close()

    require("mysql")
    with open_target(url_for("mysql"), suffix="batch") as target:
        provider.create_schema(target)
        before = inserts(target)
        provider.load(target, fx)
        assert inserts(target) - before == sum(1 for rows in fx.tables.values() if rows)


def test_load_is_one_transaction(db_url: str | None, fx: ReferenceDataset) -> None:
    broken = {table: list(rows) for table, rows in fx.tables.items()}
    # The very last row breaks a foreign key: everything written before it must go too.
    orphan = {**broken["Notification"][0], "id": "corphan", "userId": "no-such-user"}
    broken["Notification"] = [*broken["Notification"], orphan]
    with open_target(db_url, suffix="atomic") as target:
        provider.create_schema(target)
        with pytest.raises(Exception, match=r"(?i)foreign key"):
            provider.load(target, SimpleNamespace(tables=broken, tenants=fx.tenants))
        assert {table: count_rows(target, table) for table in SCHEMA} == dict.fromkeys(SCHEMA, 0)
        assert provider.load(target, fx) == fx.counts()  # the engine's pool still works


def mismatches(
    table: str, read: dict[tuple[Any, ...], dict[str, Any]], fx: ReferenceDataset
) -> list[str]:
    """Where rows an ORM read differ from the dataset: value, or type of value for its kind."""
    kinds = {"datetime": datetime, "decimal": Decimal, "bool": bool, "int": int, "text": str}
    problems = []
    expected = {tuple(r[k] for k in PRIMARY_KEYS[table]): r for r in fx.tables[table]}
    if read.keys() != expected.keys():
        return [f"{table}: {len(read)} rows read, {len(expected)} generated"]
    for key, row in expected.items():
        for column in SCHEMA[table]:
            want, got = row[column.name], read[key][column.name]
            same_type = want is None or column.kind == "json" or type(got) is kinds[column.kind]
            if got != want or not same_type:
                problems.append(f"{table}.{column.name} {key}: read {got!r}, generated {want!r}")
    return problems


def test_peewee_reads_back_the_generated_values(seeded: Seeded, fx: ReferenceDataset) -> None:
    db = seeded.target.legacy_db
    problems = []
    with db.bind_ctx(provider.legacy_models()):
        for model in provider.legacy_models():
            table, fields = model._meta.table_name, model._meta.columns
            read = {}
            for instance in model.select():
                values = {column: instance.__data__.get(f.name) for column, f in fields.items()}
                read[tuple(values[k] for k in PRIMARY_KEYS[table])] = values
            problems += mismatches(table, read, fx)
    db.close()
    assert problems == []


def test_sqlalchemy_reads_back_the_generated_values(seeded: Seeded, fx: ReferenceDataset) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    metadata = provider.new_metadata()
    problems = []
    with Session(seeded.target.engine) as session:
        for table in SCHEMA:
            rows = session.execute(select(metadata.tables[table])).mappings()
            read = {tuple(r[k] for k in PRIMARY_KEYS[table]): dict(r) for r in rows}
            problems += mismatches(table, read, fx)
        # Through mapped classes too: the ORM's attributes, not only Core rows.
        from harness.reference.models import Issue, Location

        classes: tuple[Any, ...] = (Issue, Location)
        for cls in classes:
            table = cls.__table__.name
            read = {}
            for obj in session.scalars(select(cls)):
                read[(obj.id,)] = {c.name: getattr(obj, c.name) for c in SCHEMA[table]}
            problems += mismatches(table, read, fx)
    assert problems == []


def test_sqlite_stores_fixed_width_timestamps_both_orms_read(fx: ReferenceDataset) -> None:
    with open_target(None) as target:
        provider.create_schema(target)
        provider.load(target, fx)
        conn = target.raw_connection()
        try:
            stored = dict(conn.execute('SELECT id, "createdAt" FROM "Issue"').fetchall())
            kinds = set(conn.execute('SELECT typeof("longitude") FROM "Location"').fetchall())
        finally:
            conn.close()
    generated = {r["id"]: r["createdAt"] for r in fx.tables["Issue"]}
    assert {i: datetime.fromisoformat(s) for i, s in stored.items()} == generated
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", s) for s in stored.values())
    assert any(s.endswith(".000000") for s in stored.values())
    # NUMERIC affinity: decimal text is stored as REAL, or as INTEGER for a whole number.
    assert kinds == {("real",), ("integer",), ("null",)}
