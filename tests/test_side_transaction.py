"""Each side runs in a transaction that is always undone, and leaves the connection clean.

Against the real databases: whatever a side does with its session or database, the next case
starts from the same state on a usable connection, and errors are the ORM's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from conftest import require, url_for
from harness.clock import NOW
from harness.database.scratch import open_target
from harness.database.target import Target
from harness.registry import Context
from harness.run.sides import SideTransaction

INSERT = "INSERT INTO probe (x) VALUES (1)"


@pytest.fixture
def target(db_url: str | None) -> Iterator[Target]:
    with open_target(db_url) as opened:
        with opened.engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        yield opened


def run_side(target: Target, side: str, func: Callable[[Context], Any]) -> str:
    ctx = Context(tenant_id=None, user_id=None, now=NOW, side=side)
    try:
        with SideTransaction(target, side, ctx):
            func(ctx)
    except Exception as exc:
        return type(exc).__name__
    return "ok"


def rows_seen(target: Target, side: str) -> int:
    seen: list[int] = []

    def count(ctx: Context) -> None:
        if side == "legacy":
            assert ctx.db is not None
            seen.append(ctx.db.execute_sql("SELECT COUNT(*) FROM probe").fetchone()[0])
        else:
            assert ctx.session is not None
            seen.append(ctx.session.execute(text("SELECT COUNT(*) FROM probe")).scalar_one())

    assert run_side(target, side, count) == "ok"
    return seen[0]


def new_insert(ctx: Context) -> None:
    assert ctx.session is not None
    ctx.session.execute(text(INSERT))


def test_session_commit_and_rollback_are_undone(target: Target) -> None:
    def commit_then_write(ctx: Context) -> None:
        assert ctx.session is not None
        new_insert(ctx)
        ctx.session.commit()
        new_insert(ctx)

    def rollback_then_write(ctx: Context) -> None:
        assert ctx.session is not None
        new_insert(ctx)
        ctx.session.rollback()
        new_insert(ctx)

    for side_func in (commit_then_write, rollback_then_write, commit_then_write):
        assert run_side(target, "new", side_func) == "ok"
        assert rows_seen(target, "new") == 0
        assert rows_seen(target, "legacy") == 0


def test_a_side_that_commits_the_connection_leaves_it_clean(target: Target) -> None:
    def commit_connection_then_write(ctx: Context) -> None:
        assert ctx.session is not None
        ctx.session.connection().commit()
        new_insert(ctx)  # in a transaction the session begins itself

    assert run_side(target, "new", commit_connection_then_write) == "ok"
    conn = target.new_connection()
    assert not conn.in_transaction()
    # The write after the commit was undone, and both sides can go on (SQLite: no lock left).
    assert rows_seen(target, "legacy") == 0
    assert rows_seen(target, "new") == 0


def test_a_legacy_transaction_left_open_is_undone_every_case(target: Target) -> None:
    def open_and_write(ctx: Context) -> None:
        assert ctx.db is not None
        ctx.db.transaction().__enter__()  # never left: peewee's transaction stack is 2 deep
        ctx.db.execute_sql(INSERT)

    for _ in range(3):
        assert run_side(target, "legacy", open_and_write) == "ok"
        assert target.legacy_db.transaction_depth() == 0
        assert rows_seen(target, "legacy") == 0
    assert rows_seen(target, "new") == 0


def test_savepoint_errors_are_sqlalchemy_errors() -> None:
    """PostgreSQL refuses any statement in an aborted transaction, a savepoint's too."""

    def nested_after_an_error(ctx: Context) -> None:
        assert ctx.session is not None
        with pytest.raises(sa.exc.DBAPIError):
            ctx.session.execute(text("SELECT * FROM no_such_table"))
        ctx.session.begin_nested()
        with pytest.raises(sa.exc.DBAPIError):  # its SAVEPOINT, in the aborted transaction
            ctx.session.execute(text("SELECT 1"))

    require("postgresql")
    with open_target(url_for("postgresql")) as target:
        with target.engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        assert run_side(target, "new", nested_after_an_error) == "ok"
        assert rows_seen(target, "new") == 0


def test_statement_parameters_are_recorded_as_json(target: Target) -> None:
    """The report quotes values one way: a statement's parameters too, on both sides."""

    def legacy(ctx: Context) -> None:
        assert ctx.db is not None
        mark = "%s" if target.dialect != "sqlite" else "?"
        ctx.db.execute_sql(f"SELECT x FROM probe WHERE x = {mark} OR {mark} = 'it''s'", (7, "it's"))

    def new(ctx: Context) -> None:
        assert ctx.session is not None
        ctx.session.execute(
            text("SELECT x FROM probe WHERE x = :x OR :s = 'it''s'"), {"x": 7, "s": "it's"}
        )

    for side, func in (("legacy", legacy), ("new", new)):
        log = target.legacy_log if side == "legacy" else target.new_log
        recorded = log.start()
        try:
            assert run_side(target, side, func) == "ok"
        finally:
            log.stop()
        assert len(recorded) == 1, recorded
        params = json.loads(recorded[0].params)  # JSON, not Python's repr
        assert sorted(map(str, params.values() if isinstance(params, dict) else params)) == [
            "7",
            "it's",
        ]


def test_every_kind_of_execution_of_the_new_side_is_recorded(target: Target) -> None:
    """Single, many-row and parameterless executions, and the statement that failed, are caught
    where the driver is called (the dialect's ``do_execute*``), without engine events."""
    failing = "SELECT x FROM no_such_table"

    def statements(ctx: Context) -> None:
        assert ctx.session is not None
        ctx.session.execute(text("SELECT x FROM probe WHERE x = :x"), {"x": 7})
        ctx.session.execute(text("INSERT INTO probe (x) VALUES (:x)"), [{"x": 1}, {"x": 2}])
        ctx.session.connection().execution_options(no_parameters=True).exec_driver_sql(
            "SELECT COUNT(*) FROM probe"
        )
        ctx.session.execute(text(failing))

    recorded = target.new_log.start()
    try:
        assert run_side(target, "new", statements) in ("OperationalError", "ProgrammingError")
    finally:
        target.new_log.stop()

    def plain(params: Any) -> Any:  # positional or named, as the dialect's driver takes them
        if isinstance(params, dict):
            return list(params.values())
        return [plain(p) for p in params] if isinstance(params, list) else params

    assert [(s.sql, plain(json.loads(s.params or "null"))) for s in recorded] == [
        (recorded[0].sql, [7]),
        (recorded[1].sql, [[1], [2]]),
        ("SELECT COUNT(*) FROM probe", None),
    ]
    assert "probe" in recorded[0].sql and "INSERT" in recorded[1].sql
    assert all(s.ms >= 0 for s in recorded)
    assert target.new_log.last_sql == failing
    assert rows_seen(target, "new") == 0


def test_savepoints_nest_with_names_numbered_per_transaction(target: Target) -> None:
    """Savepoint names restart when none is active (so SQLite's statement cache holds them),
    and stay distinct among active ones: nesting, rolling back and releasing still undo the
    right writes, case after case, on every database."""

    def nested(ctx: Context) -> None:
        assert ctx.session is not None
        session = ctx.session
        new_insert(ctx)  # in the side's savepoint: 1 row
        inner = session.begin_nested()
        new_insert(ctx)
        deeper = session.begin_nested()
        new_insert(ctx)
        deeper.rollback()  # undoes the third row only
        again = session.begin_nested()  # a new name while the others are active
        new_insert(ctx)
        again.commit()
        inner.rollback()  # undoes the second and fourth rows
        seen.append(session.execute(text("SELECT COUNT(*) FROM probe")).scalar_one())
        session.rollback()  # back to the start of the side's own savepoint
        session.begin_nested()
        new_insert(ctx)
        session.commit()  # releases both
        seen.append(session.execute(text("SELECT COUNT(*) FROM probe")).scalar_one())

    sent: list[str] = []
    if target.dialect == "sqlite":  # the statements the driver is given, framing included
        dbapi = target.new_connection().connection.dbapi_connection
        dbapi.set_trace_callback(lambda sql: sent.append(sql) if "SAVEPOINT" in sql else None)
    for _ in range(3):
        seen: list[int] = []
        assert run_side(target, "new", nested) == "ok"
        assert seen == [1, 1]  # and the transaction around the side undoes it
        assert rows_seen(target, "new") == 0
    if target.dialect == "sqlite":
        # Three cases (and the counts between them) send the names one case needs: four.
        assert {sql for sql in sent if sql.startswith("SAVEPOINT")} == {
            f"SAVEPOINT sa_savepoint_{n}" for n in range(1, 5)
        }, sent
