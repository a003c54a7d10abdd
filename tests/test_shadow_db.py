"""The dual-ORM provider and shadowed writes on the real databases; shadow logs in the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from harness.cli import cli
from harness.database.capture import counting
from harness.database.connect import classify_connection_error, connect_with_retry
from harness.database.provider import ConnectionSettings, DualORM, driver_args
from harness.database.scratch import open_target
from harness.database.target import Target
from harness.errors import ConfigError, DatabaseError
from harness.shadow import Shadow
from tests.conftest import require, url_for


@pytest.fixture
def scratch(db_url: str | None) -> Iterator[Target]:
    with open_target(db_url, suffix="shadow_db") as target:
        with target.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body VARCHAR(50))")
        yield target


def url_of(target: Target) -> str:
    return f"sqlite:///{target.url.path}" if target.dialect == "sqlite" else target.url.raw


@pytest.mark.databases
def test_dual_orm_serves_both_clients_and_counts_their_statements(scratch: Target) -> None:
    with DualORM(url_of(scratch), pool_size=3, connect_timeout=5, retries=2) as orm:
        orm.connect()
        with counting() as count:
            with orm.peewee.connection_context():
                orm.peewee.execute_sql("INSERT INTO note (id, body) VALUES (1, 'a')")
            with orm.session() as session:
                session.execute(text("SELECT * FROM note")).all()
        assert count[0] == 2
        with orm.session() as session:
            assert session.execute(text("SELECT body FROM note")).scalar_one() == "a"
        if scratch.dialect != "sqlite":
            assert orm.engine.pool.size() == 3  # type: ignore[attr-defined]
            assert orm.peewee._max_connections == 3  # type: ignore[attr-defined]
    assert orm.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.databases
def test_a_shadowed_write_lands_once(scratch: Target, tmp_path: Path) -> None:
    """The candidate writes in a rolled-back sandbox, first; the control's write is the one kept."""
    log = tmp_path / "shadow.jsonl"
    with DualORM(url_of(scratch)) as orm, Shadow(sink=log, match_sample=1.0) as shadow:

        def legacy() -> dict[str, Any]:
            with orm.peewee.connection_context(), orm.peewee.atomic():
                orm.peewee.execute_sql("INSERT INTO note (id, body) VALUES (7, 'legacy')")
            return {"id": 7}

        def new(session: Any) -> dict[str, Any]:
            session.execute(text("INSERT INTO note (id, body) VALUES (7, 'new')"))
            session.commit()  # only a savepoint of the sandbox's transaction
            return {"id": 7}

        got = shadow.run(
            "note.create", legacy=legacy, new=new, writes=True, sandbox=orm.rolled_back
        )
        assert got == {"id": 7}
        with orm.session() as session:
            rows = session.execute(text("SELECT id, body FROM note")).all()
        assert [tuple(r) for r in rows] == [(7, "legacy")]
    (record,) = [json.loads(line) for line in log.read_text().splitlines()[:1]]
    assert record["status"] == "equal" and record["order"] == ["new", "legacy"]


@pytest.mark.databases
def test_a_shadowed_write_with_the_legacy_side_as_candidate(
    scratch: Target, tmp_path: Path
) -> None:
    with DualORM(url_of(scratch)) as orm, Shadow(sink=tmp_path / "s.jsonl") as shadow:

        def new() -> int:
            with orm.session() as session:
                session.execute(text("INSERT INTO note (id, body) VALUES (8, 'new')"))
                session.commit()
            return 8

        def legacy(db: Any) -> int:
            db.execute_sql("INSERT INTO note (id, body) VALUES (8, 'legacy')")
            return 8

        got = shadow.run(
            "note.create",
            legacy=legacy,
            new=new,
            use="new",
            writes=True,
            sandbox=orm.rolled_back_legacy,
        )
        assert got == 8
        with orm.session() as session:
            rows = session.execute(text("SELECT id, body FROM note")).all()
        assert [tuple(r) for r in rows] == [(8, "new")]
        assert orm.peewee.is_closed()  # the sandbox closed the connection it opened


def test_shared_settings_and_url_checks() -> None:
    settings = ConnectionSettings(connect_timeout=3, statement_timeout=2, ssl="require")
    orm = DualORM("postgresql://app:hunter2@db.example/app", settings=settings)
    assert "hunter2" not in repr(orm) and "***" in orm.display_url
    args = driver_args(orm.url, orm.settings)
    assert args == {
        "connect_timeout": 3,
        "sslmode": "require",
        "options": "-c statement_timeout=2000",
    }
    mysql = DualORM("mysql://root@db/app", ssl="verify-full", ssl_root_cert="/ca.pem")
    assert driver_args(mysql.url, mysql.settings)["ssl"] == {
        "check_hostname": True,
        "ca": "/ca.pem",
        "verify_mode": True,
    }
    with pytest.raises(DatabaseError, match="unknown URL scheme"):
        DualORM("oracle://x@y/z")
    with pytest.raises(ConfigError, match="unknown setting 'pool'"):
        DualORM("sqlite:///x.db", pool=3)
    with pytest.raises(ConfigError, match="ssl: 'on' is not valid"):
        DualORM("sqlite:///x.db", ssl="on")


def test_a_refused_server_is_retried_then_named_with_its_fix() -> None:
    require("postgresql")
    waits: list[float] = []
    calls = 0

    def refused() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(DatabaseError) as caught:
        connect_with_retry(refused, url="postgresql://u:***@h/db", attempts=3, sleep=waits.append)
    assert calls == 3 and len(waits) == 2 and waits[1] > waits[0]
    assert "after 3 attempts" in str(caught.value) and "[refused]" in str(caught.value)
    assert "start the server" in str(caught.value)
    orm = DualORM("postgresql://postgres:s3cret@127.0.0.1:1/postgres", retries=2, backoff=0.01)
    with pytest.raises(DatabaseError) as real:
        orm.connect()
    message = str(real.value)
    assert "[refused]" in message and "after 2 attempts" in message and "s3cret" not in message
    orm.close()


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_a_missing_database_fails_at_once_as_unknown_database(server: str) -> None:
    require(server)
    base = url_for(server)
    assert base is not None
    missing = base.rsplit("/", 1)[0] + "/harness_no_such_database_16"
    # A retry would wait 5 s first: none comes.
    with DualORM(missing, retries=3, backoff=5.0) as orm, pytest.raises(DatabaseError) as caught:
        orm.connect()
    assert "[unknown_database]" in str(caught.value) and "after" not in str(caught.value)


def test_classification_of_driver_messages() -> None:
    cases = {
        'FATAL: password authentication failed for user "app"': "auth_failed",
        "(1045, \"Access denied for user 'root'@'localhost'\")": "auth_failed",
        "SSL connection has been closed unexpectedly": "ssl",
        "FATAL: sorry, too many clients already; remaining connection slots are reserved": (
            "too_many_connections"
        ),
        "timeout expired": "timeout",
        'could not translate host name "db.nowhere" to address': "unreachable",
        "something else entirely": "other",
    }
    got = {m: classify_connection_error(RuntimeError(m)).category for m in cases}
    assert got == cases


def test_report_and_baseline_take_a_shadow_log(tmp_path: Path) -> None:
    log = tmp_path / "shadow.jsonl"
    with Shadow(sink=log, match_sample=1.0) as shadow:
        shadow.run("issue.list", legacy=lambda: ["a", "b"], new=lambda: ["a"], tenant_id="org-1")
        shadow.run("issue.get", legacy=lambda: {"id": 1}, new=lambda: {"id": 1}, tenant_id="org-1")
    with log.open("a") as fh:
        fh.write('{"kind": "call", "truncated by a cra\n')  # a crash mid-line: the rest counts
    runner = CliRunner()
    out = tmp_path / "report"
    result = runner.invoke(cli, ["report", str(log), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="traffic-table"' in page and "issue.list" in page
    baseline = tmp_path / "baseline.json"
    result = runner.invoke(
        cli,
        ["baseline", "update", "--results", str(log), "--baseline", str(baseline), "--reason", "r"],
    )
    assert result.exit_code == 0, result.output
    entries = json.loads(baseline.read_text())["entries"]
    assert [(e["pair"], e["case"]) for e in entries] == [("issue.list", "org-1")]


def test_report_of_something_that_is_no_shadow_log(tmp_path: Path) -> None:
    from harness.cli import main

    bad = tmp_path / "other.jsonl"
    bad.write_text('{"hello": 1}\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(bad)])
    assert exit_info.value.code == 2
