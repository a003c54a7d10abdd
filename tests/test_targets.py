"""Database targets: URL parsing, password masking, scratch databases, and container:postgres."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from conftest import SERVER_URLS, require, selected_servers, url_for
from harness.database.scratch import docker_unavailable_reason, open_target
from harness.errors import DatabaseError
from harness.url import mask_url, parse_url


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:s3cret@db:5432/prod", "postgresql://app:***@db:5432/prod"),
        ("mysql://root@127.0.0.1/test", "mysql://root@127.0.0.1/test"),
        ("postgresql://u:p%40ss@h/d?sslmode=require", "postgresql://u:***@h/d?sslmode=require"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert str(parse_url(url)) == masked


def test_parse_url_dialects() -> None:
    assert parse_url("postgres://h/d").dialect == "postgresql"
    assert parse_url("mariadb://h/d").dialect == "mysql"
    assert parse_url("sqlite:///tmp/x.sqlite3").path is not None
    with pytest.raises(DatabaseError, match="unknown URL scheme"):
        parse_url("oracle://h/d")
    with pytest.raises(DatabaseError, match="give a file path"):
        parse_url("sqlite://")


@pytest.mark.parametrize("server", selected_servers())
def test_scratch_database_is_created_and_dropped_and_the_named_one_untouched(server: str) -> None:
    url = url_for(server)
    assert url is not None
    admin = create_engine(parse_url(url).sqlalchemy_url(), poolclass=NullPool)
    named = parse_url(url).database
    with admin.connect() as conn:
        before_tables = set(inspect(conn).get_table_names())
    with open_target(url, suffix="gw1") as target:
        name = target.url.database
        assert name is not None and name.startswith("harness_") and name.endswith("_gw1")
        with target.engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        assert target.url.password is None or target.url.password not in target.display_url
    with admin.connect() as conn:
        if server == "postgresql":
            names = {r[0] for r in conn.execute(text("SELECT datname FROM pg_database"))}
        else:
            names = {r[0] for r in conn.execute(text("SHOW DATABASES"))}
        assert name not in names  # dropped
        assert named in names
        assert set(inspect(conn).get_table_names()) == before_tables  # nothing written there
    admin.dispose()


@pytest.mark.parametrize("server", selected_servers())
def test_keep_db_keeps_it(server: str) -> None:
    db_url = url_for(server)
    assert db_url is not None
    with open_target(db_url, keep=True) as target:
        kept = target.url
    engine = create_engine(kept.sqlalchemy_url(), poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    admin = create_engine(
        parse_url(db_url).sqlalchemy_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        quote = '"' if kept.dialect == "postgresql" else "`"
        conn.execute(text(f"DROP DATABASE {quote}{kept.database}{quote}"))
    admin.dispose()


def test_wrong_credentials_are_one_line() -> None:
    require("postgresql")
    url_for("postgresql")
    bad = SERVER_URLS["postgresql"].replace("postgres@", "nobody_xyz:hunter2@")
    with pytest.raises(DatabaseError) as info, open_target(bad):
        pass
    message = str(info.value)
    assert "\n" not in message and "hunter2" not in message and "cannot connect" in message


def test_container_postgres_needs_docker() -> None:
    problem = docker_unavailable_reason()
    if problem is None:
        # A Docker engine answers: the real path runs, on a real container.
        with open_target("container:postgres") as target, target.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        return
    with (
        pytest.raises(DatabaseError, match="container:postgres needs a Docker engine"),
        open_target("container:postgres"),
    ):
        pass
    pytest.skip(f"no Docker engine here ({problem}); the error path was checked instead")
