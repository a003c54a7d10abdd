"""Pairs that misbehave on purpose, for the fault-injection tests (``tests/test_faults.py``).

Loaded with ``--pairs tests/pair_modules/faults.py``; names start with ``faults.``. Each test
picks the pairs it needs with ``--only``; ``faults.after`` is an ordinary pair that must still be
equal after any fault before it.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import peewee
from sqlalchemy import func, select

from harness import Case, pair
from harness.pairs._common import legacy_side
from harness.reference import legacy as lm
from harness.reference import models as nm

HANG_S = 60  # far beyond the tests' --case-timeout of 1 s


def _dialect(db: peewee.Database) -> str:
    if isinstance(db, peewee.PostgresqlDatabase):
        return "postgresql"
    if isinstance(db, peewee.MySQLDatabase):
        return "mysql"
    return "sqlite"


def _one(ctx: Any) -> int:
    return 1


py_sleep = pair("faults.py_sleep")


@py_sleep.legacy
def _(ctx: Any) -> Any:
    time.sleep(HANG_S)  # a hang in Python, no statement in flight
    return 1


py_sleep.new(_one)


busy = pair("faults.busy")
busy.legacy(_one)


@busy.new
def _(ctx: Any) -> Any:
    deadline = time.monotonic() + HANG_S
    while time.monotonic() < deadline:  # a busy loop, not a blocking call
        pass
    return 1


db_sleep = pair("faults.db_sleep")


@db_sleep.legacy
def _(ctx: Any) -> Any:
    dialect = _dialect(ctx.db)
    if dialect == "postgresql":
        sql = f"SELECT pg_sleep({HANG_S})"
    elif dialect == "mysql":
        sql = f"SELECT SLEEP({HANG_S})"
    else:  # SQLite has no sleep: a query that never ends
        sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"
    ctx.db.execute_sql(sql).fetchall()
    return 1


db_sleep.new(_one)


kill = pair("faults.kill_backends")


@kill.legacy
def _(ctx: Any) -> Any:
    """Terminate every connection to the scratch database, this side's own last."""
    db = ctx.db
    dialect = _dialect(db)
    if dialect == "postgresql":
        db.execute_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        db.execute_sql("SELECT pg_terminate_backend(pg_backend_pid())")
    elif dialect == "mysql":
        rows = db.execute_sql(
            "SELECT id FROM information_schema.PROCESSLIST "
            "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
        ).fetchall()
        for (pid,) in rows:
            db.execute_sql(f"KILL CONNECTION {int(pid)}")
        db.execute_sql("KILL CONNECTION CONNECTION_ID()")
    else:
        db.connection().close()  # SQLite has no backends: close the file's connection
    return db.execute_sql("SELECT 1").fetchall()[0][0]


kill.new(_one)


closes = pair("faults.closes_connection")
closes.legacy(_one)


@closes.new
def _(ctx: Any) -> Any:
    ctx.session.connection().connection.dbapi_connection.close()
    return ctx.session.scalar(select(func.count()).select_from(nm.Organization))


exits = pair("faults.exits")
exits.legacy(_one)


@exits.new
def _(ctx: Any) -> Any:
    sys.exit(0)


after = pair("faults.after")


@legacy_side(after)
def _(ctx: Any) -> Any:
    return lm.Issue.select().where(lm.Issue.organization == ctx.tenant_id).count()


@after.new
def _(ctx: Any) -> Any:
    return ctx.session.scalar(
        select(func.count()).select_from(nm.Issue).where(nm.Issue.organizationId == ctx.tenant_id)
    )


@after.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)
