"""Performance goals of the engine, measured with pytest-benchmark.

Run them with benchmarks on (the project's addopts turn them off)::

    python -m pytest benchmarks/test_bench_engine.py --benchmark-enable

Goals:

- the harness's own cost per case (two rolled-back transactions, statement capture,
  normalization, the comparison and the tenant guard) is at most 25% of what the two sides cost
  when called bare, for results of 1, 10 and 100 rows on SQLite (rows with a ``Decimal`` and a
  ``datetime`` column, as ORM instances). At 1 row the sides do almost
  nothing, so the fixed cost of the two transactions is most of the harness's share there;
- the whole reference suite without latency measurement (``harness run --no-bench``) takes
  under 10 seconds on SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import peewee
import pytest
from sqlalchemy import DateTime, Numeric, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from harness.gate.latency import latency_from_samples
from harness.registry import Case, Context, Pair, PairOptions

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
ROWS = (1, 10, 100)
OVERHEAD_GOAL = 0.25  # for every size in ROWS
SUITE_GOAL_S = 10.0
MIN_REFERENCE_PAIRS = 5

# Medians and raw samples of the overhead benchmarks, by (mode, rows), for the summary test.
SAMPLES: dict[tuple[str, int], list[float]] = {}


class Base(DeclarativeBase):
    pass


class WidgetSA(Base):
    __tablename__ = "Widget"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    price: Mapped[Decimal] = mapped_column(Numeric(9, 2))
    createdAt: Mapped[datetime] = mapped_column(DateTime)
    organizationId: Mapped[str] = mapped_column(String(20))  # the physical column name


class WidgetPW(peewee.Model):
    id = peewee.CharField(primary_key=True)
    name = peewee.CharField()
    price = peewee.DecimalField(max_digits=9, decimal_places=2)
    created_at = peewee.DateTimeField(column_name="createdAt")
    organization = peewee.CharField(column_name="organizationId")

    class Meta:
        table_name = "Widget"


def legacy_side(ctx: Context, limit: int) -> list[WidgetPW]:
    assert ctx.db is not None
    with ctx.db.bind_ctx([WidgetPW]):
        query = WidgetPW.select().where(WidgetPW.organization == "org-1").order_by(WidgetPW.id)
        return list(query.limit(limit))


def new_side(ctx: Context, limit: int) -> list[WidgetSA]:
    assert ctx.session is not None
    query = select(WidgetSA).where(WidgetSA.organizationId == "org-1").order_by(WidgetSA.id)
    return list(ctx.session.scalars(query.limit(limit)))


def widget_pair() -> Pair:
    p = Pair("widget.list", PairOptions(router="widget", ordered=True), __file__)
    p.legacy(legacy_side)
    p.new(new_side)
    return p


@pytest.fixture(scope="module")
def shelf() -> Iterator[Any]:
    """A harness SQLite target with 100 widgets, and a bare engine and database on the same file."""
    from harness.database.scratch import open_target

    with open_target(None) as target:
        Base.metadata.create_all(target.engine)
        with Session(target.engine) as session:
            session.add_all(
                WidgetSA(
                    id=f"w{i:04d}",
                    name=f"Widget <{i}> & co",
                    price=Decimal(i) / 4,
                    createdAt=datetime(2024, 1, 1, 9) + timedelta(minutes=7 * i, microseconds=i),
                    organizationId="org-1",
                )
                for i in range(100)
            )
            session.commit()
        bare_engine = create_engine(f"sqlite:///{target.url.path}")
        bare_db = peewee.SqliteDatabase(str(target.url.path))
        try:
            yield target, bare_engine, bare_db
        finally:
            bare_db.close()
            bare_engine.dispose()


def run_bare(bare_engine: Any, bare_db: peewee.Database, limit: int) -> None:
    """The same two side functions as an application would call them: no harness around them."""
    ctx = Context(tenant_id="org-1", user_id=None, now=NOW, side="legacy", db=bare_db)
    bare_db.connect(reuse_if_open=True)
    legacy_side(ctx, limit)
    with Session(bare_engine) as session:
        ctx = Context(tenant_id="org-1", user_id=None, now=NOW, side="new", session=session)
        new_side(ctx, limit)


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("mode", ["bare", "harness"])
def test_case_overhead(benchmark: Any, shelf: Any, mode: str, rows: int) -> None:
    from harness.registry import PlannedCase
    from harness.run.sides import run_case

    target, bare_engine, bare_db = shelf
    benchmark.group = f"case overhead, {rows} rows"
    if mode == "bare":
        benchmark(run_bare, bare_engine, bare_db, rows)
    else:
        planned = PlannedCase(
            pair=widget_pair(),
            label=f"{rows} rows",
            case=Case(params={"limit": rows}, tenant_id="org-1"),
        )
        result = benchmark(run_case, planned, target, order_seed=0, now=NOW)
        assert result.status == "equal", result.diff or result.error
        assert (result.legacy.result_rows or len(result.legacy.result)) == rows
    if benchmark.stats is not None:
        SAMPLES[(mode, rows)] = list(benchmark.stats.stats.data)


def test_case_overhead_goal(request: pytest.FixtureRequest, shelf: Any, capsys: Any) -> None:
    """Harness time over bare time per result size; the goal is checked at each size.

    The benchmarks above ran bare and harness one after the other, so a change in the machine's
    load between them shows up as overhead. The goal is therefore judged on the harness's own
    interleaved core: bare and harness calls alternate, and the ratio is the median of the
    paired ratios with its interval (the unpaired ratio of medians is printed next to it).
    """
    # pytest-benchmark's own rule: --benchmark-enable wins over the addopts' --benchmark-disable.
    option = request.config.getoption
    if option("benchmark_disable") and not option("benchmark_enable"):
        pytest.skip("a timing goal: run with --benchmark-enable")
    from harness.registry import PlannedCase
    from harness.run.sides import run_case
    from harness.run.timing import measure_pair

    target, bare_engine, bare_db = shelf

    def timer(planned: PlannedCase, mode: str, _target: Any, _now: Any) -> float:
        limit = planned.case.params["limit"]
        started = time.perf_counter()
        if mode == "bare":
            run_bare(bare_engine, bare_db, limit)
        else:
            run_case(planned, target, order_seed=0, now=NOW)
        return time.perf_counter() - started

    lines, ratios = [], {}
    for rows in ROWS:
        planned = PlannedCase(
            widget_pair(), f"{rows} rows", Case(params={"limit": rows}, tenant_id="org-1")
        )
        lat = measure_pair(
            [planned],
            target,
            now=NOW,
            budget_s=2.0,
            min_rounds=50,
            sides=("bare", "harness"),
            timer=timer,
        )
        assert lat is not None
        ratios[rows] = lat
        line = (
            f"{rows:>4} rows: bare {lat.legacy_p50_ms:.3f} ms, harness {lat.new_p50_ms:.3f} ms, "
            f"paired ratio {lat.ratio:.3f} (95% CI {lat.ratio_low:.3f}-{lat.ratio_high:.3f}, "
            f"{lat.rounds} pairs), overhead {100 * (lat.ratio - 1):.0f}%"
        )
        if ("bare", rows) in SAMPLES and ("harness", rows) in SAMPLES:
            unpaired = latency_from_samples(
                SAMPLES[("bare", rows)], SAMPLES[("harness", rows)], paired=False, method="bench"
            )
            line += f"; pytest-benchmark medians: {unpaired.ratio:.3f}"
        lines.append(line)
    with capsys.disabled():
        print("\nharness overhead per case (harness / bare, interleaved):")
        for line in lines:
            print("  " + line)
    assert all(lat.ratio - 1 <= OVERHEAD_GOAL for lat in ratios.values()), "\n".join(lines)


def test_reference_suite_without_bench(benchmark: Any, tmp_path: Path) -> None:
    """``harness run --no-bench`` on SQLite, end to end: load, seed, run every case, report."""
    from harness.engine import Engine
    from harness.settings import HarnessConfig

    config = HarnessConfig(bench=False, report_dir=tmp_path / "reports", baseline=None)
    pairs = len(Engine(config).pairs)
    if pairs < MIN_REFERENCE_PAIRS:
        pytest.skip(
            f"harness/pairs/ registers {pairs} pairs; the suite goal needs the reference pairs"
        )

    def whole_run() -> Any:
        engine = Engine(config)
        with engine.database() as db:
            results = [engine.run_case(planned, db.target) for planned in engine.plan()]
            return engine.finish(results, {}, dialect=db.target.dialect, url=db.target.display_url)

    benchmark.group = "reference suite"
    run = benchmark.pedantic(whole_run, rounds=3, iterations=1)
    assert run.pairs and all(p.cases for p in run.pairs)
    if benchmark.stats is not None:
        assert benchmark.stats.stats.median < SUITE_GOAL_S
