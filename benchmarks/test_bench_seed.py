"""Seeding throughput: :func:`harness.reference.load.load` next to the bare driver, per database.

For each database, the same run measures two things on one scratch schema, emptied before every
round (outside the timing), at ``--scale 10`` with 3 tenants:

* ``raw``: the reference, a bare loop over the tables doing the driver's own bulk write
  (sqlite3/pymysql ``executemany``, psycopg ``COPY … write_row``) of rows converted beforehand,
  in one transaction made exactly as the loader makes it;
* ``load``: ``load(target, dataset)`` from the generated dataset, conversion included.

pytest-benchmark reports each (grouped by database, rows/s in ``extra_info``). The goal, ``load``
at no less than half the raw rate, is checked by ``test_load_keeps_half_the_raw_rate`` on paired
rounds (raw and load alternating), so a busy machine slows both sides of each pair alike. Run::

    PYTHONPATH=. python -m pytest benchmarks/test_bench_seed.py --benchmark-enable \\
        -p no:cacheprovider --benchmark-columns=median,ops,rounds -s
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from harness.database.scratch import open_target
from harness.database.target import Target
from harness.reference.data import SCHEMA, ReferenceDataset, generate
from harness.reference.load import (
    Prepared,
    copy_sql,
    driver_connection,
    insert_sql,
    load,
    prepare,
    quote,
)

# The database list and the rule for a server that is down (skip locally, fail when CI=true).
from tests.conftest import selected_databases, url_for

SCALE, TENANTS, ROUNDS = 10, 3, 15
GOAL = 0.5  # load() keeps at least this share of the raw driver's rows per second

pytestmark = pytest.mark.parametrize("database", selected_databases())


@pytest.fixture(scope="module")
def dataset() -> ReferenceDataset:
    return generate(seed=0, tenants=TENANTS, scale=SCALE)


@pytest.fixture(scope="module")
def _targets() -> Iterator[tuple[ExitStack, dict[str, Target]]]:
    with ExitStack() as stack:
        yield stack, {}


@pytest.fixture
def target(
    database: str, dataset: ReferenceDataset, _targets: tuple[ExitStack, dict[str, Target]]
) -> Target:
    """A scratch database with the schema, one per database for the module, warmed up."""
    stack, cache = _targets
    if database not in cache:
        from harness.reference.provider import provider

        target = stack.enter_context(open_target(url_for(database), suffix="bench"))
        provider.create_schema(target)
        # One untimed load first: file growth, catalog caches and buffer pools then weigh on
        # neither side of the comparison.
        load(target, dataset)
        cache[database] = target
    return cache[database]


def empty_tables(target: Target) -> None:
    """Delete every row, children first (never timed)."""
    dialect, tables = target.dialect, list(SCHEMA)
    if dialect == "postgresql":
        # TRUNCATE rather than DELETE: no dead tuples piling up from round to round.
        statements = ["TRUNCATE " + ", ".join(quote(dialect, t) for t in tables)]
    else:
        statements = [f"DELETE FROM {quote(dialect, t)}" for t in reversed(tables)]
    with driver_connection(target) as conn:
        cursor = conn.cursor()
        for sql in statements:
            cursor.execute(sql)
        cursor.close()


def raw_write(target: Target, prepared: dict[str, Prepared]) -> None:
    """The reference: the driver's bulk write of ready rows, one transaction, nothing else."""
    dialect = target.dialect
    conn: Any
    if dialect == "sqlite":
        conn = target.raw_connection()
        conn.isolation_level = None
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")
        for table, (columns, rows) in prepared.items():
            conn.executemany(insert_sql(dialect, table, columns), rows)
        conn.execute("COMMIT")
        conn.close()
        return
    pooled = target.engine.raw_connection()
    conn = pooled.driver_connection
    if dialect == "postgresql":
        with conn.transaction(), conn.cursor() as cursor:
            for table, (columns, rows) in prepared.items():
                with cursor.copy(copy_sql(table, columns)) as copy:
                    for row in rows:
                        copy.write_row(row)
    else:
        conn.begin()
        cursor = conn.cursor()
        for table, (columns, rows) in prepared.items():
            cursor.executemany(insert_sql(dialect, table, columns), rows)
        cursor.close()
        conn.commit()
    pooled.close()


def runners(target: Target, dataset: ReferenceDataset) -> dict[str, Callable[[], Any]]:
    """The two ways of seeding, ready to call; the raw one's rows are converted here, untimed."""
    prepared = {t: prepare(target.dialect, t, rows) for t, rows in dataset.tables.items()}
    return {"raw": lambda: raw_write(target, prepared), "load": lambda: load(target, dataset)}


@pytest.mark.parametrize("kind", ["raw", "load"])
def test_seed_throughput(
    benchmark: Any, database: str, kind: str, target: Target, dataset: ReferenceDataset
) -> None:
    total = sum(dataset.counts().values())
    benchmark.group = f"seed {database}: {total} rows (scale {SCALE}, {TENANTS} tenants)"
    benchmark.pedantic(
        runners(target, dataset)[kind],
        setup=lambda: empty_tables(target),
        rounds=ROUNDS,
        warmup_rounds=1,
    )
    if benchmark.stats is not None:  # None under --benchmark-disable: it ran once, untimed
        benchmark.extra_info["rows_per_s"] = round(total / benchmark.stats.stats.median)
    assert sum(dataset.counts().values()) == total


def test_load_keeps_half_the_raw_rate(
    request: pytest.FixtureRequest, database: str, target: Target, dataset: ReferenceDataset
) -> None:
    options = request.config.option
    if options.benchmark_disable and not options.benchmark_enable:
        pytest.skip("a timing check: run with --benchmark-enable")
    run = runners(target, dataset)
    times: dict[str, list[float]] = {"raw": [], "load": []}
    for i in range(ROUNDS):
        # Alternate which goes first, so neither always runs on the warmer cache.
        for kind in ("raw", "load") if i % 2 else ("load", "raw"):
            empty_tables(target)
            started = time.perf_counter()
            run[kind]()
            times[kind].append(time.perf_counter() - started)
    total = sum(dataset.counts().values())
    raw, loaded = statistics.median(times["raw"]), statistics.median(times["load"])
    ratio = raw / loaded
    print(
        f"\n{database}: load {total / loaded:,.0f} rows/s, raw driver {total / raw:,.0f} rows/s, "
        f"load/raw {ratio:.2f} ({ROUNDS} paired rounds, {total} rows)"
    )
    assert ratio >= GOAL, f"load() keeps {ratio:.0%} of the raw driver's rate on {database}"
