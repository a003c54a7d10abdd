"""Shared fixtures of the project's tests: the three real databases.

``db_url`` is parametrized over SQLite, PostgreSQL and MariaDB. A server that does not answer
makes its tests skip with the reason locally, and fail when ``CI=true`` (CI must never go green
by skipping). ``HARNESS_TEST_DATABASES`` (comma-separated: sqlite,postgresql,mysql) narrows the
set, as tox's per-database environments do.

``twins`` runs a block with the C twins of :mod:`harness.speedups` or with their Python twins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import pytest

from harness import speedups

SERVER_URLS = {
    "postgresql": os.environ.get(
        "HARNESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("HARNESS_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}
ALL_DATABASES = ("sqlite", "postgresql", "mysql")
NATIVE = speedups.native  # the C twins, as this install built them
TWINS = pytest.mark.parametrize("which", ["c", "python"])


@contextmanager
def twins(which: str) -> Iterator[None]:
    """Run the block with the C twins (``"c"``; skipped where they are not built) or the Python
    twins (``"python"``)."""
    if which == "c" and NATIVE is None:
        pytest.skip("the C twins are not built (or HARNESS_PURE_PYTHON is set)")
    saved = speedups.native
    speedups.native = NATIVE if which == "c" else None
    try:
        yield
    finally:
        speedups.native = saved


def selected_databases() -> tuple[str, ...]:
    chosen = os.environ.get("HARNESS_TEST_DATABASES")
    if not chosen:
        return ALL_DATABASES
    return tuple(name.strip() for name in chosen.split(",") if name.strip())


def require(*names: str) -> None:
    """Skip unless HARNESS_TEST_DATABASES selects every database in ``names``."""
    missing = [name for name in names if name not in selected_databases()]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, left out by HARNESS_TEST_DATABASES")


def selected_servers() -> tuple[str, ...]:
    """The selected databases that are servers (not SQLite)."""
    return tuple(name for name in selected_databases() if name != "sqlite")


@cache
def server_problem(name: str) -> str | None:
    """None when the server answers, else why not."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from harness.url import parse_url

    try:
        engine = create_engine(parse_url(SERVER_URLS[name]).sqlalchemy_url(), poolclass=NullPool)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    return None


def url_for(name: str) -> str | None:
    """The URL of database ``name`` (None for SQLite), skipping or failing when it is down."""
    if name == "sqlite":
        return None
    problem = server_problem(name)
    if problem:
        message = f"{name} server at {SERVER_URLS[name]} does not answer ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run every database", pytrace=False)
        pytest.skip(message)
    return SERVER_URLS[name]


@pytest.fixture(params=selected_databases())
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (a SQLite file), or a server URL; parametrized over the databases."""
    yield url_for(request.param)


@pytest.fixture(params=selected_databases())
def dialect_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def stable_results(results: dict[str, Any]) -> dict[str, Any]:
    """results.json without what differs between two runs of the same cases: timings, paths,
    the scratch database's name, tracebacks, and the order cases finished or pairs registered in."""
    out = json.loads(json.dumps(results))
    out.pop("run")
    out["database"].pop("url")
    for p in out["pairs"]:
        p["options"].pop("where", None)
        p["cases"].sort(key=lambda c: c["label"])
        for c in p["cases"]:
            for side in ("legacy", "new"):
                c[side].pop("ms")
                c[side]["statements"] = [s["sql"] for s in c[side]["statements"]]
            if c["error"]:
                c["error"].pop("traceback")
    out["pairs"] = {p["name"]: p for p in out["pairs"]}
    return out
