"""schema-diff: the legacy models, the new models and the live database, on every database.

Small models defined here exercise each kind of difference; the reference application's schema
(``harness.reference.provider``) must come out clean on every database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import peewee
import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

from conftest import selected_databases, url_for
from harness.database.scratch import open_target
from harness.database.target import Target
from harness.schema.coltypes import canonical_default, canonical_type
from harness.schema.diff import (
    SchemaCounts,
    SchemaDiff,
    SchemaDifference,
    diff_schema,
    format_schema_diff,
)


@pytest.fixture(params=selected_databases())
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """A fresh scratch database on each selected server (``HARNESS_TEST_DATABASES``)."""
    with open_target(url_for(request.param)) as opened:
        yield opened


# --- the small schema: three tables, every kind of key --------------------------------------------


def legacy_models(*, name_length: int = 191) -> list[type[peewee.Model]]:
    """Peewee models of the small schema; fresh classes on each call, so a test may vary one."""

    class BaseModel(peewee.Model):
        class Meta:
            legacy_table_names = False

    class Organization(BaseModel):
        id = peewee.CharField(max_length=191, primary_key=True)
        name = peewee.CharField(max_length=name_length)
        subdomain = peewee.CharField(max_length=191, unique=True)
        logoUrl = peewee.TextField(null=True)
        isActive = peewee.BooleanField(default=True, constraints=[peewee.SQL("DEFAULT true")])
        createdAt = peewee.DateTimeField(constraints=[peewee.SQL("DEFAULT CURRENT_TIMESTAMP")])

        class Meta:
            table_name = "Organization"

    class Location(BaseModel):
        id = peewee.CharField(max_length=191, primary_key=True)
        name = peewee.CharField(max_length=191)
        organization = peewee.ForeignKeyField(
            Organization, column_name="organizationId", index=False, on_delete="CASCADE"
        )
        latitude = peewee.DecimalField(max_digits=9, decimal_places=6, null=True)
        pinballMapId = peewee.IntegerField(null=True)
        checklist = peewee.JSONField(null=True)

        class Meta:
            table_name = "Location"

    Organization.add_index(
        peewee.ModelIndex(
            Organization, (Organization.createdAt,), name="Organization_createdAt_idx"
        )
    )
    Location.add_index(
        peewee.ModelIndex(Location, (Location.organization,), name="Location_organizationId_idx")
    )
    Location.add_index(
        peewee.ModelIndex(
            Location,
            (Location.name, Location.organization),
            unique=True,
            name="Location_name_org_key",
        )
    )

    class Link(BaseModel):
        A = peewee.ForeignKeyField(Organization, column_name="A", index=False)
        B = peewee.ForeignKeyField(Location, column_name="B", index=False)

        class Meta:
            table_name = "_Link"
            primary_key = peewee.CompositeKey("A", "B")

    Link.add_index(peewee.ModelIndex(Link, (Link.B,), name="_Link_B_index"))
    return [Organization, Location, Link]


def new_metadata() -> MetaData:
    """The same small schema in SQLAlchemy."""
    metadata = MetaData()
    Table(
        "Organization",
        metadata,
        Column("id", String(191), primary_key=True),
        Column("name", String(191), nullable=False),
        Column("subdomain", String(191), nullable=False),
        Column("logoUrl", Text),
        Column("isActive", Boolean, nullable=False, default=True, server_default=text("true")),
        Column("createdAt", DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP")),
        UniqueConstraint("subdomain"),  # unnamed: matches the legacy unique index by its columns
        Index("Organization_createdAt_idx", "createdAt"),
    )
    Table(
        "Location",
        metadata,
        Column("id", String(191), primary_key=True),
        Column("name", String(191), nullable=False),
        Column(
            "organizationId",
            String(191),
            ForeignKey("Organization.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("latitude", Numeric(9, 6)),
        Column("pinballMapId", Integer),
        # peewee declares JSON as JSONB on PostgreSQL and TEXT on SQLite: so must this side
        Column(
            "checklist",
            JSON().with_variant(postgresql.JSONB(), "postgresql").with_variant(Text(), "sqlite"),
        ),
        Index("Location_organizationId_idx", "organizationId"),
        Index("Location_name_org_key", "name", "organizationId", unique=True),
    )
    Table(
        "_Link",
        metadata,
        Column("A", String(191), ForeignKey("Organization.id"), primary_key=True),
        Column("B", String(191), ForeignKey("Location.id"), primary_key=True),
        Index("_Link_B_index", "B"),
    )
    return metadata


def create_legacy_schema(target: Target, models: list[type[peewee.Model]]) -> None:
    """Create the live schema from the legacy models, as a fixture provider does."""
    with target.legacy_db.bind_ctx(models):
        target.legacy_db.create_tables(models)
    target.legacy_db.close()


def run_diff(
    target: Target, *, legacy: list[type[peewee.Model]] | None = None, new: MetaData | None = None
) -> SchemaDiff:
    return diff_schema(
        legacy_models=legacy if legacy is not None else legacy_models(),
        new_metadata=new if new is not None else new_metadata(),
        engine=target.engine,
        legacy_db=target.legacy_db,
    )


def only(diff: SchemaDiff, **match: Any) -> SchemaDifference:
    """The single difference with these attributes (and no other difference at all)."""
    found = [d for d in diff.differences if all(getattr(d, k) == v for k, v in match.items())]
    assert len(found) == 1 and len(diff.differences) == 1, format_schema_diff(diff)
    return found[0]


@pytest.fixture
def small(target: Target) -> Target:
    """A scratch database holding the small schema, created from its legacy models."""
    create_legacy_schema(target, legacy_models())
    return target


def copy_of_new() -> MetaData:
    """A copy of the new models' MetaData that a test may alter (the original stays as it is)."""
    copy = MetaData()
    for table in new_metadata().sorted_tables:
        table.to_metadata(copy)
    return copy


# --- on every database --------------------------------------------------------------------------


@pytest.mark.databases
def test_the_small_schema_matches_on_every_side(small: Target) -> None:
    diff = run_diff(small)
    assert diff.ok, format_schema_diff(diff)
    assert (diff.counts.tables, diff.counts.columns) == (3, 14)
    assert (diff.counts.indexes, diff.counts.foreign_keys) == (5, 3)
    assert format_schema_diff(diff, notes=False) == (
        "no difference: 3 tables, 14 columns, 5 indexes, 3 foreign keys "
        f"compared on {small.dialect}"
    )


@pytest.mark.databases
def test_a_missing_index_in_the_new_models_is_reported(small: Target) -> None:
    metadata = copy_of_new()
    table = metadata.tables["Location"]
    table.indexes.remove(next(i for i in table.indexes if i.name == "Location_organizationId_idx"))
    d = only(run_diff(small, new=metadata), aspect="index")
    assert (d.table, d.column) == ("Location", "organizationId")
    assert d.legacy == d.live == "Location_organizationId_idx (organizationId)"
    assert d.new is None
    assert "new (SQLAlchemy) model differs" in d.message and "Index(" in d.message


@pytest.mark.databases
def test_a_nullability_mismatch_is_reported(small: Target) -> None:
    metadata = copy_of_new()
    metadata.tables["Organization"].c.logoUrl.nullable = False
    d = only(run_diff(small, new=metadata), aspect="nullable")
    assert (d.table, d.column) == ("Organization", "logoUrl")
    assert (d.legacy, d.new, d.live) == ("NULL", "NOT NULL", "NULL")
    assert "nullable=True" in d.message


@pytest.mark.databases
def test_a_server_default_mismatch_is_reported_and_a_python_default_only_noted(
    small: Target,
) -> None:
    metadata = copy_of_new()
    # the Python-side default=True goes missing too: a note, never a difference
    metadata.tables["Organization"].append_column(
        Column("isActive", Boolean, nullable=False, server_default=text("false")),
        replace_existing=True,
    )
    diff = run_diff(small, new=metadata)
    d = only(diff, aspect="default")
    assert (d.table, d.column) == ("Organization", "isActive")
    # peewee wrote "DEFAULT true"; the database reports true, 1 or 'true' depending on dialect
    expected = "1" if small.dialect == "sqlite" else "TRUE"
    assert (d.legacy, d.new, d.live) == (expected, "0" if expected == "1" else "FALSE", expected)
    assert any("Organization.isActive: Python-side default" in n for n in diff.notes)


@pytest.mark.databases
def test_a_wrong_column_name_is_reported_as_a_rename(small: Target) -> None:
    metadata = copy_of_new()
    metadata.tables["Location"].c.pinballMapId.name = "pinballMapID"
    diff = run_diff(small, new=metadata)
    d = only(diff, aspect="column name")
    assert (d.table, d.column) == ("Location", "pinballMapId")
    assert (d.legacy, d.new, d.live) == ("pinballMapId", "pinballMapID", "pinballMapId")
    assert "mapped_column('pinballMapId'" in d.message


@pytest.mark.databases
def test_an_unrelated_column_name_is_missing_plus_extra(small: Target) -> None:
    metadata = copy_of_new()
    metadata.tables["Location"].c.pinballMapId.name = "mapRef"
    diff = run_diff(small, new=metadata)
    found = {(d.column, d.aspect): (d.legacy, d.new, d.live) for d in diff.differences}
    assert found == {
        ("pinballMapId", "column"): ("present", None, "present"),
        ("mapRef", "column"): (None, "present", None),
    }, format_schema_diff(diff)


@pytest.mark.databases
def test_a_missing_foreign_key_is_reported(small: Target) -> None:
    metadata = copy_of_new()
    table = metadata.tables["Location"]
    constraint = next(c for c in table.constraints if isinstance(c, ForeignKeyConstraint))
    table.constraints.remove(constraint)
    d = only(run_diff(small, new=metadata), aspect="foreign key")
    assert (d.table, d.column) == ("Location", "organizationId")
    assert (d.legacy, d.new, d.live) == ("Organization(id)", None, "Organization(id)")
    assert "ForeignKey('Organization.id')" in d.message


@pytest.mark.databases
def test_a_difference_in_the_legacy_models_is_reported(small: Target) -> None:
    diff = run_diff(small, legacy=legacy_models(name_length=255))
    d = only(diff, aspect="type")
    assert (d.table, d.column) == ("Organization", "name")
    assert (d.legacy, d.new, d.live) == ("VARCHAR(255)", "VARCHAR(191)", "VARCHAR(191)")
    assert d.message.startswith("the legacy (peewee) model differs")


@pytest.mark.databases
def test_the_live_database_is_the_third_side(small: Target) -> None:
    quote = "`" if small.dialect == "mysql" else '"'
    drop = 'DROP INDEX "Organization_createdAt_idx"'
    if small.dialect == "mysql":
        drop = "DROP INDEX `Organization_createdAt_idx` ON `Organization`"
    with small.engine.begin() as conn:
        conn.exec_driver_sql(drop)
        conn.exec_driver_sql(
            f"ALTER TABLE {quote}Location{quote} ADD COLUMN {quote}notes{quote} TEXT"
        )
    diff = run_diff(small)
    found = {(d.table, d.column, d.aspect): (d.legacy, d.new, d.live) for d in diff.differences}
    assert found == {
        ("Organization", "createdAt", "index"): ("Organization_createdAt_idx (createdAt)",) * 2
        + (None,),
        ("Location", "notes", "column"): (None, None, "present"),
    }, format_schema_diff(diff)
    assert all(d.message.startswith("the live database differs") for d in diff.differences)


@pytest.mark.databases
def test_the_reference_schema_has_no_difference(target: Target) -> None:
    provider_module = pytest.importorskip(
        "harness.reference.provider", reason="the reference models are not written yet"
    )
    provider = provider_module.provider
    provider.create_schema(target)
    diff = diff_schema(
        legacy_models=provider.legacy_models(),
        new_metadata=provider.new_metadata(),
        engine=target.engine,
        legacy_db=target.legacy_db,
    )
    assert diff.ok, format_schema_diff(diff)
    assert diff.counts.tables == 20
    assert format_schema_diff(diff, notes=False).startswith("no difference: 20 tables, ")


@pytest.mark.databases
def test_a_unique_key_under_another_name_is_a_name_difference(small: Target) -> None:
    metadata = copy_of_new()
    table = metadata.tables["Location"]
    table.indexes.remove(next(i for i in table.indexes if i.name == "Location_name_org_key"))
    # a unique constraint, not an index: the same key as far as the database goes
    table.append_constraint(
        UniqueConstraint("name", "organizationId", name="Location_name_organizationId_key")
    )
    d = only(run_diff(small, new=metadata), aspect="index name")
    assert (d.table, d.column) == ("Location", "name, organizationId")
    assert (d.legacy, d.new, d.live) == (
        "Location_name_org_key",
        "Location_name_organizationId_key",
        "Location_name_org_key",
    )


class PointField(peewee.Field):
    """A column type neither ORM's reflection knows."""

    field_type = "POINT"


class Point(UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "POINT"


@pytest.mark.databases
def test_a_type_reflection_does_not_know_is_compared_by_its_name(target: Target) -> None:
    class Place(peewee.Model):
        id = peewee.CharField(max_length=191, primary_key=True)
        geo = PointField(null=True)

        class Meta:
            table_name = "Place"

    create_legacy_schema(target, [Place])
    metadata = MetaData()
    place = Table(
        "Place", metadata, Column("id", String(191), primary_key=True), Column("geo", Point)
    )
    diff = run_diff(target, legacy=[Place], new=metadata)
    # the reflection warning (PostgreSQL, MariaDB) is a note, not an error under filterwarnings
    assert diff.ok, format_schema_diff(diff)
    place.c.geo.type = Text()
    d = only(run_diff(target, legacy=[Place], new=metadata), aspect="type")
    assert (d.legacy, d.new, d.live) == ("POINT", "TEXT", "POINT")


@pytest.mark.databases
def test_expression_indexes_are_compared(target: Target) -> None:
    if target.dialect == "mysql":
        pytest.skip("MariaDB has no expression indexes")

    class Tag(peewee.Model):
        id = peewee.CharField(max_length=191, primary_key=True)
        name = peewee.CharField(max_length=191)

        class Meta:
            table_name = "Tag"

    Tag.add_index(peewee.ModelIndex(Tag, (peewee.fn.lower(Tag.name),), name="Tag_lower_name_idx"))
    create_legacy_schema(target, [Tag])

    def metadata(function: Any) -> MetaData:
        result = MetaData()
        table = Table("Tag", result, Column("id", String(191), primary_key=True))
        table.append_column(Column("name", String(191), nullable=False))
        Index("Tag_lower_name_idx", function(table.c.name))
        return result

    # SQLite's reflection skips expression indexes with a warning; they are read all the same
    assert run_diff(target, legacy=[Tag], new=metadata(func.lower)).ok
    d = only(run_diff(target, legacy=[Tag], new=metadata(func.upper)), aspect="index columns")
    assert (d.legacy, d.new, d.live) == ("(lower(name))", "(upper(name))", "(lower(name))")


@pytest.mark.databases
def test_the_reference_schema_catches_planted_differences(target: Target) -> None:
    provider = pytest.importorskip("harness.reference.provider").provider
    provider.create_schema(target)
    metadata = MetaData()
    for table in provider.new_metadata().sorted_tables:
        table.to_metadata(metadata)
    issue = metadata.tables["Issue"]
    issue.indexes.remove(next(i for i in issue.indexes if i.name == "Issue_machineId_idx"))
    metadata.tables["Location"].c.latitude.nullable = False
    metadata.tables["Machine"].c.qrCodeUrl.name = "qrCodeURL"
    comment = metadata.tables["Comment"]
    comment.constraints.remove(
        next(
            c
            for c in comment.constraints
            if isinstance(c, ForeignKeyConstraint) and c.column_keys == ["authorId"]
        )
    )
    diff = diff_schema(
        legacy_models=provider.legacy_models(),
        new_metadata=metadata,
        engine=target.engine,
        legacy_db=target.legacy_db,
    )
    found = {(d.table, d.column, d.aspect): (d.legacy, d.new, d.live) for d in diff.differences}
    assert found == {
        ("Issue", "machineId", "index"): (
            "Issue_machineId_idx (machineId)",
            None,
            "Issue_machineId_idx (machineId)",
        ),
        ("Location", "latitude", "nullable"): ("NULL", "NOT NULL", "NULL"),
        ("Machine", "qrCodeUrl", "column name"): ("qrCodeUrl", "qrCodeURL", "qrCodeUrl"),
        ("Comment", "authorId", "foreign key"): ("User(id)", None, "User(id)"),
    }, format_schema_diff(diff)


# --- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "a", "b"),
    [
        ("mysql", "BOOL", "TINYINT(1)"),
        ("mysql", "INT(11)", "INTEGER"),
        ("mysql", "DATETIME", "DATETIME(0)"),
        ("mysql", "DECIMAL(9,6)", "NUMERIC(9, 6)"),
        ("mysql", "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "LONGTEXT"),
        ("postgresql", "TIMESTAMP WITHOUT TIME ZONE", "TIMESTAMP"),
        ("postgresql", "CHARACTER VARYING(191)", "VARCHAR(191)"),
        ("postgresql", "SERIAL", "INTEGER"),
        ("sqlite", "BOOLEAN", "INTEGER"),
        ("sqlite", "DATETIME", "TIMESTAMP"),
    ],
)
def test_spellings_of_one_type_meet(dialect: str, a: str, b: str) -> None:
    assert canonical_type(a, dialect) == canonical_type(b, dialect)


@pytest.mark.parametrize(
    ("dialect", "a", "b"),
    [
        ("postgresql", "VARCHAR(191)", "VARCHAR(255)"),
        ("mysql", "VARCHAR(191)", "VARCHAR(255)"),
        ("sqlite", "VARCHAR(191)", "VARCHAR(255)"),
        ("postgresql", "NUMERIC(9, 6)", "NUMERIC(10, 6)"),
        ("mysql", "DECIMAL(9, 6)", "DECIMAL(9, 5)"),
        ("postgresql", "JSON", "JSONB"),
        ("sqlite", "JSON", "TEXT"),  # a JSON-declared column has NUMERIC affinity
        ("postgresql", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"),
        ("mysql", "DATETIME", "TIMESTAMP"),
        ("mysql", "DATETIME", "DATETIME(3)"),
        ("mysql", "TINYINT(1)", "TINYINT(4)"),
        ("mysql", "TEXT", "LONGTEXT"),
        ("mysql", "INT", "INT UNSIGNED"),
        ("postgresql", "INTEGER", "BIGINT"),
    ],
)
def test_different_types_stay_different(dialect: str, a: str, b: str) -> None:
    assert canonical_type(a, dialect) != canonical_type(b, dialect)


@pytest.mark.parametrize(
    ("raw", "type_", "expected"),
    [
        ("'x'::character varying", "VARCHAR(10)", "'x'"),
        ("0", "BOOLEAN", "FALSE"),
        ("false", "BOOLEAN", "FALSE"),
        ("current_timestamp()", "TIMESTAMP", "CURRENT_TIMESTAMP"),
        ("now()", "TIMESTAMP", "CURRENT_TIMESTAMP"),
        ("0.000000", "NUMERIC(9, 6)", "0"),
        ("NULL", "TEXT", None),
        ("'0'", "TEXT", "'0'"),
    ],
)
def test_default_spellings(raw: str, type_: str, expected: str | None) -> None:
    assert canonical_default(raw, type_) == expected


def test_the_json_form_reads_back() -> None:
    diff = SchemaDiff(
        dialect="postgresql",
        differences=(
            SchemaDifference("Role", "name", "nullable", "NOT NULL", "NULL", "NOT NULL", "fix"),
        ),
        counts=SchemaCounts(tables=1, columns=2),
        notes=("a note",),
    )
    data = diff.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["ok"] is False and data["differences"][0]["new"] == "NULL"
    assert SchemaDiff.from_json(data) == diff
    assert format_schema_diff(diff).splitlines()[1] == (
        "  Role.name: nullable: legacy=NOT NULL  new=NULL  live=NOT NULL -- fix"
    )


# --- integer serial keys, and the index peewee gives every foreign key --------------------------


def serial_models(*, fk_index_in_new: bool) -> tuple[list[type[peewee.Model]], MetaData]:
    class Group(peewee.Model):
        id = peewee.AutoField()
        name = peewee.CharField(max_length=50)

        class Meta:
            table_name = "groups"

    class Item(peewee.Model):
        id = peewee.AutoField()
        group = peewee.ForeignKeyField(Group, column_name="group_id")

        class Meta:
            table_name = "items"

    metadata = MetaData()
    Table(
        "groups",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), nullable=False),
    )
    Table(
        "items",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("group_id", Integer, ForeignKey("groups.id"), nullable=False),
        Index("item_group_id", "group_id") if fk_index_in_new else UniqueConstraint("id"),
    )
    return [Group, Item], metadata


@pytest.mark.databases
def test_serial_primary_keys_are_no_difference(target: Target) -> None:
    legacy, new = serial_models(fk_index_in_new=True)
    create_legacy_schema(target, legacy)
    diff = run_diff(target, legacy=legacy, new=new)
    autoincrement = [d for d in diff.differences if d.aspect == "default"]
    assert autoincrement == [], format_schema_diff(diff)


@pytest.mark.databases
def test_the_index_peewee_gives_a_foreign_key_is_explained(target: Target) -> None:
    legacy, new = serial_models(fk_index_in_new=False)
    new.tables["items"].constraints = {
        c for c in new.tables["items"].constraints if not isinstance(c, UniqueConstraint)
    }
    create_legacy_schema(target, legacy)
    found = only(run_diff(target, legacy=legacy, new=new), table="items", aspect="index")
    text = format_schema_diff(run_diff(target, legacy=legacy, new=new))
    assert found.column == "group_id"
    assert "peewee indexes every ForeignKeyField" in text and "index=True" in text
