"""normalize(): canonical forms of scalars and containers, and ORM instances read without SQL."""

from __future__ import annotations

import enum
import json
import math
import uuid
from collections import namedtuple
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import peewee
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    defer,
    mapped_column,
    relationship,
    selectinload,
)

from harness.canonical import canonical_key
from harness.compare.verdict import compare
from harness.errors import NormalizationError
from harness.normalize.instances import instance_rows, normalize_peewee, normalize_sqlalchemy
from harness.normalize.table import Table, materialize
from harness.normalize.walk import (
    MIN_INSTANCE_TABLE,
    MIN_LAZY_ROWS,
    KeyCollisionError,
    _Normalizer,
    coerce,
    normalize,
    normalize_rows,
)


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Category(enum.StrEnum):
    NEW = "NEW"


class Money(float):
    """Stands for numpy.float64 and friends: a float subclass."""


class Name(str):
    pass


Point = namedtuple("Point", "x y")
Twice = namedtuple("Twice", "a b", rename=False)

AWARE = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))

SCALARS = [
    pytest.param(None, None, id="none"),
    pytest.param("", "", id="empty-str"),
    pytest.param("1", "1", id="str"),
    pytest.param(1, 1, id="int"),
    pytest.param(True, True, id="bool"),
    pytest.param(1.5, 1.5, id="float"),
    pytest.param(Decimal("1.50"), 1.5, id="decimal-fraction"),
    pytest.param(Decimal("2"), 2, id="decimal-integral"),
    pytest.param(Decimal("12345678901234567890"), 12345678901234567890, id="decimal-big-int"),
    pytest.param(Decimal("1E+2"), 100, id="decimal-exponent"),
    pytest.param(Decimal("1" + "0" * 400 + ".5"), math.inf, id="decimal-beyond-float"),
    pytest.param(datetime(2024, 5, 1, 12), {"$datetime": "2024-05-01T12:00:00Z"}, id="naive"),
    pytest.param(AWARE, {"$datetime": "2024-05-01T12:00:00Z"}, id="aware-to-utc"),
    pytest.param(
        datetime(2024, 5, 1, 12, 0, 0, 1500, tzinfo=UTC),
        {"$datetime": "2024-05-01T12:00:00.001500Z"},
        id="microseconds",
    ),
    pytest.param(
        datetime.min.replace(tzinfo=timezone(timedelta(hours=1))),
        {"$datetime": "0001-01-01T00:00:00+01:00"},
        id="aware-before-year-1-in-utc",
    ),
    pytest.param(
        datetime.max.replace(tzinfo=timezone(-timedelta(hours=1))),
        {"$datetime": "9999-12-31T23:59:59.999999-01:00"},
        id="aware-after-year-9999-in-utc",
    ),
    pytest.param(date(2024, 5, 1), {"$date": "2024-05-01"}, id="date"),
    pytest.param(time(9, 30), {"$time": "09:30:00"}, id="time"),
    pytest.param(timedelta(minutes=1, seconds=30), {"$timedelta": 90.0}, id="timedelta"),
    pytest.param(uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001", id="uuid"),
    pytest.param(Color.RED, "red", id="enum"),
    pytest.param(Level.HIGH, 3, id="int-enum"),
    pytest.param(Category.NEW, "NEW", id="str-enum"),
    pytest.param(b"\x00\xff", {"$bytes": "00ff"}, id="bytes"),
    pytest.param(bytearray(b"\x01"), {"$bytes": "01"}, id="bytearray"),
    pytest.param(memoryview(b"\x02"), {"$bytes": "02"}, id="memoryview"),
    pytest.param(Money(2.5), 2.5, id="float-subclass"),
    pytest.param(Name("x"), "x", id="str-subclass"),
]


@pytest.mark.parametrize(("value", "expected"), SCALARS)
def test_scalar_forms(value: Any, expected: Any) -> None:
    result = normalize(value)
    assert result == expected
    assert type(result) is type(expected)


def test_decimal_nan_stays_a_float_nan() -> None:
    assert math.isnan(normalize(Decimal("NaN")))


def test_canonical_values_are_json_safe() -> None:
    value = normalize({"at": AWARE, "n": Decimal("1.5"), "b": b"x", "u": uuid.UUID(int=0)})
    assert json.loads(json.dumps(value)) == value


CONTAINERS = [
    pytest.param((1, "a"), [1, "a"], id="tuple-to-list"),
    pytest.param({3, 1, 2}, [1, 2, 3], id="set-sorted"),
    pytest.param(frozenset({"b", "a"}), ["a", "b"], id="frozenset-sorted"),
    pytest.param({1, "a"}, ["a", 1], id="mixed-set-by-json-text"),
    pytest.param(Point(1, 2), {"x": 1, "y": 2}, id="namedtuple-to-dict"),
    pytest.param({1: "a", None: "b"}, {"1": "a", "null": "b"}, id="keys-to-text"),
    pytest.param(MappingProxyType({"a": 1}), {"a": 1}, id="mapping"),
    pytest.param([{"a": 1}, {"a": None}], [{"a": 1}, {"a": None}], id="flat-rows"),
    pytest.param([{"a": date(2024, 1, 2)}], [{"a": {"$date": "2024-01-02"}}], id="rows-converted"),
    pytest.param(
        [{"a": None, "b": Decimal("1.5"), "c": 1}, {"a": date(2024, 1, 2), "b": None, "c": 2}],
        [{"a": None, "b": 1.5, "c": 1}, {"a": {"$date": "2024-01-02"}, "b": None, "c": 2}],
        id="rows-some-columns-converted",
    ),
    pytest.param(
        [{"a": date(2024, 1, 2)}, {"a": datetime(2024, 1, 2)}, {"a": [Decimal(1)]}],
        [{"a": {"$date": "2024-01-02"}}, {"a": {"$datetime": "2024-01-02T00:00:00Z"}}, {"a": [1]}],
        id="rows-mixed-column",
    ),
    pytest.param([(1, "a"), (2, None)], [[1, "a"], [2, None]], id="tuple-rows"),
    pytest.param([{"a": 1}, {"b": 2}], [{"a": 1}, {"b": 2}], id="rows-of-other-shapes"),
]


@pytest.mark.parametrize(("value", "expected"), CONTAINERS)
def test_container_forms(value: Any, expected: Any) -> None:
    assert normalize(value) == expected


def test_flat_rows_are_returned_in_a_new_list() -> None:
    rows = [{"a": 1}, {"a": 2}]
    result = normalize(rows)
    result.append({"a": 3})
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("value", "flat_bools"),
    [
        pytest.param([{"a": 1, "b": "x"}, {"a": 2, "b": None}], False, id="scalar-rows"),
        pytest.param([{"a": 1, "b": True}], True, id="a-bool"),
        pytest.param([{"x": Decimal("1.5")}, {"x": True}], True, id="a-bool-in-a-converted-column"),
        pytest.param(
            [{"at": datetime(2024, 5, 1), "n": Decimal("1.5")}] * 2, False, id="tagged-scalars"
        ),
        pytest.param(
            [{"a": 1}, {"b": datetime(2024, 5, 1), "c": None}], False, id="short-rows-of-two-shapes"
        ),
        pytest.param([{"a": 1}, {"b": timedelta(1), "c": True}], True, id="short-rows-a-bool"),
        pytest.param([{"a": 1}, {"b": date(2024, 5, 1)}, 2], None, id="short-rows-and-a-scalar"),
        pytest.param([{"a": 1}, {"b": {"c": 1}, "d": date(2024, 5, 1)}], None, id="short-nested"),
        pytest.param([{"a": 1}, {"b": {"$date": True}, "d": b"x"}], None, id="short-tag-lookalike"),
        pytest.param([{"a": 1, "tags": ["x"]}], None, id="a-nested-list"),
        pytest.param([{"a": 1, "child": {"b": True}}], None, id="a-nested-dict"),
        pytest.param({"a": 1}, None, id="not-a-list"),
        pytest.param([1, 2], None, id="scalars"),
    ],
)
def test_normalize_rows_tells_what_a_flat_table_holds(value: Any, flat_bools: Any) -> None:
    canonical, told = normalize_rows(value)
    assert canonical == normalize(value)
    assert told is flat_bools


def test_a_layout_seen_before_with_other_column_types_is_worked_out_again() -> None:
    ints = [{"a": 1, "n": Decimal("1.5")}, {"a": 2, "n": None}]
    bools = [{"a": True, "n": Decimal("2")}, {"a": False, "n": Decimal("2.5")}]
    assert normalize_rows(ints) == ([{"a": 1, "n": 1.5}, {"a": 2, "n": None}], False)
    assert normalize_rows(bools) == ([{"a": True, "n": 2}, {"a": False, "n": 2.5}], True)
    assert normalize_rows(ints) == ([{"a": 1, "n": 1.5}, {"a": 2, "n": None}], False)


def test_keys_rename_at_every_level() -> None:
    value = {"organization_id": 1, "items": [{"organization_id": 2}], "other": [{"x": 1}]}
    result = normalize(value, keys={"organization_id": "organizationId"})
    assert result == {"organizationId": 1, "items": [{"organizationId": 2}], "other": [{"x": 1}]}


def test_keys_that_collide_are_refused_with_the_path() -> None:
    with pytest.raises(KeyCollisionError, match=r"rows\[0\].*'b'"):
        normalize({"rows": [{"a": 1, "b": 2}]}, keys={"a": "b"})
    with pytest.raises(KeyCollisionError):
        normalize({1: "int key", "1": "str key"})


@pytest.mark.parametrize(
    ("value", "path"),
    [
        pytest.param(object(), "<root>", id="root"),
        pytest.param({"rows": [{"a": 1}, {"a": object()}]}, "rows[1].a", id="nested"),
        pytest.param([1, 2, (x for x in ())], "[2]", id="generator"),
        pytest.param({"odd key": [complex(1, 2)]}, '["odd key"][0]', id="quoted-key"),
    ],
)
def test_unsupported_values_name_their_path(value: Any, path: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize(value)
    assert caught.value.path == ("" if path == "<root>" else path)
    assert path in str(caught.value)


def test_coerce_fixes_raw_booleans_and_json_text_by_key() -> None:
    raw = [{"read": 1, "count": 1, "meta": '{"a": [1]}', "nested": {"read": 0}}]
    fixed = coerce(raw, booleans=["read"], json=["meta"])
    assert fixed == [{"read": True, "count": 1, "meta": {"a": [1]}, "nested": {"read": False}}]
    assert fixed[0]["count"] is not True  # only the named keys change
    assert coerce({"meta": "not json"}, json=["meta"]) == {"meta": "not json"}


# --- peewee -------------------------------------------------------------------------------


class CountingSqlite(peewee.SqliteDatabase):
    """Counts statements, to prove normalize() never sends one."""

    statements = 0

    def execute_sql(self, sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        type(self).statements += 1
        return super().execute_sql(sql, params, *args, **kwargs)


pw_db = CountingSqlite(":memory:")


class PwOrganization(peewee.Model):
    id = peewee.TextField(primary_key=True)
    name = peewee.TextField()

    class Meta:
        database = pw_db
        table_name = "Organization"


class PwJSONField(peewee.TextField):
    """A JSON column stored as text and never decoded, as some legacy code has it."""

    field_type = "JSON"


class PwMachine(peewee.Model):
    id = peewee.TextField(primary_key=True)
    name = peewee.TextField()
    organization = peewee.ForeignKeyField(
        PwOrganization, column_name="organizationId", backref="machines"
    )
    active = peewee.BooleanField(column_name="isActive")
    meta = PwJSONField(null=True)

    class Meta:
        database = pw_db
        table_name = "Machine"


@pytest.fixture
def pw_data() -> Iterator[None]:
    with pw_db.connection_context():
        pw_db.create_tables([PwOrganization, PwMachine])
        PwOrganization.create(id="o1", name="Arcade")
        PwMachine.create(id="m1", name="Flipper", organization="o1", active=True, meta='{"a": 1}')
        PwMachine.create(id="m2", name="Pong", organization="o1", active=False, meta=None)
        yield
        pw_db.drop_tables([PwOrganization, PwMachine])


def _pw_queries(func: Any) -> tuple[Any, int]:
    before = CountingSqlite.statements
    result = func()
    return result, CountingSqlite.statements - before


@pytest.mark.usefixtures("pw_data")
def test_peewee_instance_maps_physical_columns_without_a_query() -> None:
    machine = PwMachine.get_by_id("m1")
    result, queries = _pw_queries(lambda: normalize(machine))
    assert result == {
        "id": "m1",
        "name": "Flipper",
        "organizationId": "o1",
        "isActive": True,
        "meta": {"a": 1},
    }
    assert queries == 0


@pytest.mark.usefixtures("pw_data")
def test_a_few_instances_read_one_by_one_are_told_flat_unless_they_nest() -> None:
    flat, nested = PwMachine.get_by_id("m2"), PwMachine.get_by_id("m1")  # m1's JSON is an object
    assert normalize_rows([flat]) == ([normalize(flat)], True)  # isActive is a bool
    assert normalize_rows([flat, nested]) == ([normalize(flat), normalize(nested)], None)


@pytest.mark.usefixtures("pw_data")
def test_peewee_joined_relation_is_nested_under_the_field_name() -> None:
    query = PwMachine.select(PwMachine, PwOrganization).join(PwOrganization).order_by(PwMachine.id)
    machines = list(query)
    result, queries = _pw_queries(lambda: normalize(machines))
    assert result[0]["organization"] == {"id": "o1", "name": "Arcade"}
    assert result[0]["organizationId"] == "o1"
    assert queries == 0


@pytest.mark.usefixtures("pw_data")
def test_peewee_prefetched_backref_is_nested_without_the_back_pointer() -> None:
    orgs = list(peewee.prefetch(PwOrganization.select(), PwMachine.select().order_by(PwMachine.id)))
    result, queries = _pw_queries(lambda: normalize(orgs))
    assert queries == 0
    assert [m["id"] for m in result[0]["machines"]] == ["m1", "m2"]
    # Each machine's organization is the parent being normalized: left out, no cycle.
    assert "organization" not in result[0]["machines"][0]


@pytest.mark.usefixtures("pw_data")
def test_peewee_partial_select_and_aliases() -> None:
    query = PwMachine.select(PwMachine.id, peewee.fn.UPPER(PwMachine.name).alias("shout"))
    result = normalize(list(query.order_by(PwMachine.id)))
    assert result[0] == {"id": "m1", "shout": "FLIPPER"}  # unselected fields are absent


def test_keys_rename_orm_columns_and_relations() -> None:
    machine = PwMachine(id="m9", name="x", organization="o1", active=True)
    result = normalize(machine, keys={"organizationId": "orgId", "isActive": "active"})
    assert result == {"id": "m9", "name": "x", "orgId": "o1", "active": True}  # meta: never set


def test_peewee_boolean_field_turns_raw_ints_into_bools() -> None:
    machine = PwMachine(id="m9", name="x", organization="o1", active=True)
    machine.__data__["active"] = 1  # what a raw MariaDB row puts there
    assert normalize(machine)["isActive"] is True


def test_a_boolean_column_holding_json_too_still_turns_raw_ints_into_bools() -> None:
    """Kept raw for the fast path, a column holding JSON values is not converted; a boolean
    column's 0/1 must be, so such a result is normalized at once."""
    machines = [
        PwMachine(id=f"m{n:02d}", name="x", organization="o1", active=1)
        for n in range(MIN_LAZY_ROWS + MIN_INSTANCE_TABLE)
    ]
    for machine in machines:
        machine._dirty.clear()
    machines[0].__data__["active"] = {"on": 1}
    raw = [{"id": m.id, "name": "x", "organizationId": "o1", "isActive": 1} for m in machines]
    raw[0]["isActive"] = {"on": 1}
    canonical = normalize(machines)
    assert canonical[1]["isActive"] is True
    rows = materialize(normalize_rows(machines, lazy=True)[0])
    assert list(map(canonical_key, rows)) == list(map(canonical_key, canonical))  # True is not 1
    for ordered in (False, True):
        assert not compare(canonical, normalize(raw), ordered=ordered).equal
        legacy, new = (normalize_rows(v, lazy=True)[0] for v in (machines, raw))
        assert not compare(legacy, new, ordered=ordered).equal


def _more_pw_machines() -> None:
    for n in range(3, 3 + MIN_INSTANCE_TABLE):
        PwMachine.create(id=f"z{n:02d}", name=f"M{n}", organization="o1", active=n % 2, meta=None)


@pytest.mark.usefixtures("pw_data")
def test_peewee_list_read_as_a_table_matches_reading_each_instance() -> None:
    _more_pw_machines()  # enough instances for the column-wise pass
    machines = list(PwMachine.select().order_by(PwMachine.id))
    machines[1].__data__["active"] = 0  # raw ints and JSON text are converted column-wise too
    machines[1].__data__["meta"] = "[1, 2]"
    assert instance_rows(_Normalizer({}), machines, normalize_peewee) is not None  # that pass
    one_by_one = [normalize(m, keys={"name": "title"}) for m in machines]
    assert normalize(machines, keys={"name": "title"}) == one_by_one
    assert one_by_one[1] == {
        "id": "m2",
        "title": "Pong",
        "organizationId": "o1",
        "isActive": False,
        "meta": [1, 2],
    }


@pytest.mark.usefixtures("pw_data")
def test_peewee_list_of_instances_with_different_columns_is_read_one_by_one() -> None:
    _more_pw_machines()
    full = list(PwMachine.select().order_by(PwMachine.id))
    (partial,) = PwMachine.select(PwMachine.id).where(PwMachine.id == "m2")
    full[1] = partial
    assert normalize(full) == [normalize(m) if m is not partial else {"id": "m2"} for m in full]


@pytest.mark.usefixtures("pw_data")
def test_bad_value_in_a_list_of_instances_names_its_row_and_column() -> None:
    _more_pw_machines()
    machines = list(PwMachine.select().order_by(PwMachine.id))
    machines[1].__data__["name"] = object()
    with pytest.raises(NormalizationError) as caught:
        normalize(machines)
    assert caught.value.path == "[1].name"


# --- SQLAlchemy ---------------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class SaOrganization(Base):
    __tablename__ = "Organization"
    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    machines: Mapped[list[SaMachine]] = relationship(
        back_populates="organization", order_by="SaMachine.id"
    )


class SaMachine(Base):
    __tablename__ = "Machine"
    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    organizationId: Mapped[str] = mapped_column(sa.ForeignKey("Organization.id"))
    is_active: Mapped[bool] = mapped_column("isActive")
    meta: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    organization: Mapped[SaOrganization] = relationship(back_populates="machines")


@pytest.fixture
def session() -> Iterator[Session]:
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(SaOrganization(id="o1", name="Arcade"))
        s.add(
            SaMachine(id="m1", name="Flipper", organizationId="o1", is_active=True, meta={"a": 1})
        )
        s.add(SaMachine(id="m2", name="Pong", organizationId="o1", is_active=False, meta=None))
        s.commit()
    with Session(engine) as s:
        yield s
    engine.dispose()


def _sa_queries(session: Session, func: Any) -> tuple[Any, int]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        return func(), len(seen)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_sqlalchemy_instance_maps_physical_columns_and_skips_unloaded(session: Session) -> None:
    machine = session.scalars(sa.select(SaMachine).where(SaMachine.id == "m1")).one()
    assert "organization" in sa.inspect(machine).unloaded
    result, queries = _sa_queries(session, lambda: normalize(machine))
    assert queries == 0
    assert result == {
        "id": "m1",
        "name": "Flipper",
        "organizationId": "o1",
        "isActive": True,
        "meta": {"a": 1},
    }


def test_sqlalchemy_deferred_column_is_absent_not_loaded(session: Session) -> None:
    stmt = sa.select(SaMachine).options(defer(SaMachine.name)).where(SaMachine.id == "m1")
    machine = session.scalars(stmt).one()
    result, queries = _sa_queries(session, lambda: normalize(machine))
    assert queries == 0
    assert "name" not in result


def test_sqlalchemy_loaded_relationship_is_nested(session: Session) -> None:
    stmt = sa.select(SaOrganization).options(selectinload(SaOrganization.machines))
    org = session.scalars(stmt).one()
    result, queries = _sa_queries(session, lambda: normalize(org))
    assert queries == 0
    assert [m["id"] for m in result["machines"]] == ["m1", "m2"]


def test_sqlalchemy_back_reference_to_an_ancestor_is_left_out(session: Session) -> None:
    stmt = sa.select(SaOrganization).options(
        selectinload(SaOrganization.machines).joinedload(SaMachine.organization)
    )
    org = session.scalars(stmt).one()
    assert "organization" not in sa.inspect(org.machines[0]).unloaded
    result = normalize(org)
    assert "organization" not in result["machines"][0]


def test_sqlalchemy_list_read_as_a_table_matches_reading_each_instance(session: Session) -> None:
    session.add_all(  # enough instances for the column-wise pass
        SaMachine(id=f"z{n:02d}", name=f"M{n}", organizationId="o1", is_active=n % 2 == 0)
        for n in range(3, 3 + MIN_INSTANCE_TABLE)
    )
    session.commit()
    machines = list(session.scalars(sa.select(SaMachine).order_by(SaMachine.id)))
    assert instance_rows(_Normalizer({}), machines, normalize_sqlalchemy) is not None
    one_by_one = [normalize(m) for m in machines]
    assert normalize(machines) == one_by_one
    assert [m["isActive"] for m in one_by_one[:3]] == [True, False, False]
    # A loaded relationship on one instance: that list is read instance by instance.
    session.get(SaOrganization, "o1")
    machines[0].organization  # noqa: B018  (loads it from the identity map)
    assert normalize(machines)[0]["organization"] == {"id": "o1", "name": "Arcade"}
    assert "organization" not in normalize(machines)[1]


def test_sqlalchemy_instances_with_no_column_loaded_are_empty_rows(session: Session) -> None:
    session.add_all(
        SaMachine(id=f"y{n:02d}", name=f"M{n}", organizationId="o1", is_active=True)
        for n in range(MIN_LAZY_ROWS + MIN_INSTANCE_TABLE)
    )
    session.commit()
    machines = list(session.scalars(sa.select(SaMachine).order_by(SaMachine.id)))
    session.expire_all()  # every column unloaded: nothing to read, and nothing is loaded
    assert normalize_rows(machines, lazy=True)[0] == [{}] * len(machines)


@pytest.mark.parametrize("deferred", [("name", "is_active", "organizationId", "meta"), ("meta",)])
def test_sqlalchemy_instances_kept_as_a_table_give_the_rows_read_one_by_one(
    session: Session, deferred: tuple[str, ...]
) -> None:
    session.add_all(
        SaMachine(id=f"x{n:02d}", name=f"M{n}", organizationId="o1", is_active=n % 2 == 0)
        for n in range(MIN_LAZY_ROWS + 3)
    )
    session.commit()
    session.expunge_all()
    stmt = sa.select(SaMachine).options(*(defer(getattr(SaMachine, n)) for n in deferred))
    machines = list(session.scalars(stmt.order_by(SaMachine.id)))
    table, _ = normalize_rows(machines, lazy=True)
    assert table.__class__ is Table
    assert table.rows() == [normalize(m) for m in machines]


def test_sqlalchemy_rows_become_dicts_by_label(session: Session) -> None:
    # A Row is labelled by the query (attribute key or .label()), not by the physical column.
    stmt = sa.select(SaMachine.id, SaMachine.is_active.label("isActive")).order_by(SaMachine.id)
    rows = session.execute(stmt).all()
    assert normalize(rows) == [{"id": "m1", "isActive": True}, {"id": "m2", "isActive": False}]
    assert normalize(rows[0]._mapping) == {"id": "m1", "isActive": True}


def test_query_objects_are_refused_not_run(session: Session) -> None:
    result = session.execute(sa.select(SaMachine.id))
    with pytest.raises(NormalizationError):
        normalize(result)
    with pytest.raises(NormalizationError):
        normalize(PwMachine.select())


# --- both ORMs meet ------------------------------------------------------------------------


@pytest.mark.usefixtures("pw_data")
def test_peewee_and_sqlalchemy_instances_of_the_same_rows_compare_equal(session: Session) -> None:
    legacy = normalize(list(peewee.prefetch(PwOrganization.select(), PwMachine.select())))
    stmt = sa.select(SaOrganization).options(selectinload(SaOrganization.machines))
    new = normalize(list(session.scalars(stmt)))
    # The JSON text of the legacy column and the parsed JSON of the new one meet too.
    assert legacy == new
    assert compare(legacy, new, ordered=False).equal


def test_bool_column_from_mariadb_meets_a_sqlalchemy_bool(session: Session) -> None:
    legacy = PwMachine(id="m1", name="Flipper", organization="o1", active=1, meta='{"a": 1}')
    legacy.__data__["active"] = 1
    new = session.get(SaMachine, "m1")
    assert compare(normalize(legacy), normalize(new), ordered=True).equal
