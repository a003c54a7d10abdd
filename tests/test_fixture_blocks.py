"""The provider building blocks on real databases: Dataset, BulkLoader, Provider, Fake, errors."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import peewee as pw
import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Uuid,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import mysql, postgresql

from harness.database.scratch import open_target
from harness.errors import ProviderError
from harness.fixture import BulkLoader, Dataset, Fake, Provider, generate_dataset, seed_target
from harness.fixture.auto import generate_from_models

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


def metadata(dialect: str) -> MetaData:
    """Integer serial and text keys, snake_case, an org_id tenant column, every adapted kind."""
    md = MetaData()
    Table("org", md, Column("id", Integer, primary_key=True), Column("name", String(80)))
    Table("tag", md, Column("code", String(20), primary_key=True), Column("label", String(80)))
    Table(
        "item",
        md,
        Column("id", Integer, primary_key=True),
        Column("org_id", ForeignKey("org.id")),
        Column("tag_code", ForeignKey("tag.code"), nullable=True),
        Column("active", Boolean),
        Column("price", Numeric(8, 2)),
        Column("seen_at", DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")),
        Column("born_on", Date, nullable=True),
        Column("doc", JSON, nullable=True),
        Column("ref", Uuid, nullable=True),
    )
    if dialect == "postgresql":
        Table(
            "pg_only",
            md,
            Column("id", Integer, primary_key=True),
            Column("words", postgresql.ARRAY(String)),
            Column("doc", postgresql.JSONB),
            Column("mood", Enum(Mood, name="mood", values_callable=lambda e: [m.value for m in e])),
        )
    return md


def dataset(dialect: str) -> Dataset:
    ds = Dataset(tenants=[2, 1])
    # Children first on purpose: the loader orders tables by their foreign keys.
    ds.add(
        "item", id=10, org_id=1, tag_code="b<&>", active=True, price=Decimal("12.50"),
        seen_at=datetime(2025, 5, 31, 23, 59, 59, 999999), born_on=date(2020, 2, 29),
        doc={"k": ["ü", 1]}, ref=uuid.UUID(int=7),
    )  # fmt: skip
    ds.add(
        "item", id=11, org_id=2, tag_code=None, active=False, price=Decimal("0"),
        seen_at=datetime(2025, 6, 1), born_on=None, doc=None, ref=None,
    )  # fmt: skip
    ds.add("org", id=2, name="Zoë & <b>Co</b>")
    ds.add("org", id=1, name="ACME 😀")
    ds.add("tag", code="b<&>", label='"quoted"')
    if dialect == "postgresql":
        ds.add("pg_only", id=5, words=["a", "b c"], doc={"x": 1}, mood=Mood.SAD)
    return ds


def test_bulk_loader_orders_adapts_and_resets_serial_counters(db_url: str | None) -> None:
    with open_target(db_url) as target:
        md = metadata(target.dialect)
        md.create_all(target.engine)
        counts = BulkLoader(md).load(target, dataset(target.dialect))
        assert counts["org"] == 2 and counts["item"] == 2 and counts["tag"] == 1
        with target.engine.begin() as conn:
            items = conn.execute(select(md.tables["item"]).order_by("id")).mappings().all()
            assert items[0]["doc"] == {"k": ["ü", 1]} and items[0]["ref"] == uuid.UUID(int=7)
            assert items[0]["price"] == Decimal("12.50") and items[0]["active"] is True
            assert items[0]["seen_at"] == datetime(2025, 5, 31, 23, 59, 59, 999999)
            assert items[0]["born_on"] == date(2020, 2, 29) and items[1]["doc"] is None
            orgs = conn.execute(select(md.tables["org"].c.name).order_by("id")).scalars().all()
            assert orgs == ["ACME 😀", "Zoë & <b>Co</b>"]
            # Without the counter reset, PostgreSQL's sequence would hand out id 1 again.
            new_id = conn.execute(insert(md.tables["org"]).values(name="new")).inserted_primary_key
            assert new_id is not None and new_id[0] == 3
            if target.dialect == "postgresql":
                row = conn.execute(select(md.tables["pg_only"])).mappings().one()
                assert row["words"] == ["a", "b c"] and row["mood"] is Mood.SAD
                assert row["doc"] == {"x": 1}
            assert conn.execute(select(func.count()).select_from(md.tables["item"])).scalar() == 2


class _Org(pw.Model):
    name = pw.CharField(max_length=80)

    class Meta:
        table_name = "org"


class _Member(pw.Model):
    org = pw.ForeignKeyField(_Org, column_name="org_id")
    email = pw.CharField(max_length=120, unique=True)
    score = pw.DecimalField(max_digits=6, decimal_places=2, null=True)
    joined_at = pw.DateTimeField()
    meta = pw.JSONField(null=True)

    class Meta:
        table_name = "member"


MODELS = [_Org, _Member]


def test_provider_from_peewee_models_schema_data_and_now(db_url: str | None) -> None:
    seen: dict[str, Any] = {}

    def generate(*, seed: int, tenants: int, scale: int, now: datetime) -> Dataset:
        seen["now"] = now
        return generate_from_models(MODELS, seed=seed, tenants=tenants, scale=scale, now=now)

    provider = Provider(legacy_models=MODELS, new_metadata=None, generate=generate)
    ds = generate_dataset(provider, name="p", seed=3, tenants=2, scale=1, now=NOW)
    assert seen["now"] == NOW and len(ds.tenants) == 2
    again = generate_from_models(MODELS, seed=3, tenants=2, scale=1, now=NOW)
    assert again.tables == ds.tables, "the same seed gives the same rows"
    members = ds.rows("member")
    assert len({m["email"] for m in members}) == len(members) == 10
    assert all(m["org_id"] in ds.tenants for m in members)
    with open_target(db_url) as target:
        counts = seed_target(provider, target, ds, name="p")
        assert counts == {"org": 2, "member": 10}
        with target.legacy_db.bind_ctx(MODELS):
            org = _Org.create(name="after the load")  # the serial counter moved past the ids
            assert org.id == 3
        target.legacy_db.close()


class _Broken(pw.Model):
    name = pw.CharField(constraints=[pw.SQL("CHECK (name <>")])

    class Meta:
        table_name = "broken"


def test_a_refused_ddl_statement_is_named(db_url: str | None) -> None:
    provider = Provider(legacy_models=[_Broken], new_metadata=None, generate=lambda: Dataset())
    with open_target(db_url) as target, pytest.raises(ProviderError) as raised:
        seed_target(provider, target, Dataset(), name="my.provider:p")
    message = str(raised.value)
    assert message.startswith("fixture provider my.provider:p: create schema failed:")
    assert "CREATE TABLE" in message and "broken" in message and "\n" not in message


def test_a_provider_that_raises_is_one_line_naming_the_step(tmp_path: Path) -> None:
    def generate() -> Dataset:
        raise KeyError("CollectionType")

    provider = Provider(legacy_models=[], new_metadata=None, generate=generate)
    with pytest.raises(ProviderError) as raised:
        generate_dataset(provider, name="mine:provider", seed=0, tenants=1, scale=1, now=NOW)
    assert str(raised.value) == (
        "fixture provider mine:provider: generate failed: KeyError: 'CollectionType'"
    )


def test_fake_is_deterministic_and_awkward() -> None:
    one, two = Fake(5, now=NOW), Fake(5, now=NOW)
    values = [(one.name(), one.email(), one.text(), one.moment()) for _ in range(40)]
    assert values == [(two.name(), two.email(), two.text(), two.moment()) for _ in range(40)]
    texts = " ".join(v[0] + v[2] for v in values)
    assert any(c in texts for c in "<&\"'") and any(ord(c) > 127 for c in texts)
    assert all(m.tzinfo is None and m <= NOW.replace(tzinfo=None) for *_, m in values)
    assert len({v[1] for v in values}) == 40


def test_dataset_rows_are_sorted_copies() -> None:
    ds = Dataset({"t": [{"id": 3}, {"id": 1}]}, tenants=["b", "a"])
    assert ds.tenants == ("a", "b") and [r["id"] for r in ds.rows("t")] == [1, 3]
    ds.rows("t")[0]["id"] = 99
    assert ds.rows("t")[0]["id"] == 1
    with pytest.raises(KeyError, match="no table 'u'"):
        ds.rows("u")
