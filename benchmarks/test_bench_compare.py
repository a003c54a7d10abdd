"""Performance goals of normalize() and compare(), each next to its reference.

Run them with benchmarks on (the project's addopts turn them off)::

    python -m pytest benchmarks/test_bench_compare.py --benchmark-enable -p no:cacheprovider

Goals (checked by ``test_goals`` at the end, from the medians measured above it):

- two equal, unordered results of 100k rows x 10 columns, normalized and compared: under 0.4 s;
- 10k rows of which 100 differ, compared and fully explained: at least 40x faster than
  ``DeepDiff(ignore_order=True)`` on the same data.

The DeepDiff references run on the same data as ours, once (``rounds=1``): on 100k rows that is
about half a minute, which bounds the module's run time; more rounds would only repeat a number
that is already far from ours. They are skipped when timing is off (``--benchmark-disable``).
The other side of each pair is built row by row in its own order, as a driver would hand it
over, so that a shuffled side is not also a side scattered in memory.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import peewee
import pytest
import sqlalchemy as sa
from deepdiff import DeepDiff
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from harness.compare.verdict import compare
from harness.normalize.walk import normalize

BIG = 100_000
SMALL = 10_000
DIFFERING = 100
EQUAL_GOAL_S = 0.4
EXPLAIN_GOAL_RATIO = 40.0

# Medians (seconds) by benchmark name, for test_goals.
MEDIANS: dict[str, float] = {}


def row(i: int) -> dict[str, Any]:
    """One row of 10 columns of the kinds a list endpoint returns."""
    return {
        "id": f"iss_{i:06d}",
        "title": f"Flipper <b>{i % 977}</b> & co",
        "organizationId": f"org_{i % 3}",
        "machineId": f"mch_{i % 211}",
        "priority": i % 5,
        "isActive": i % 7 != 0,
        "description": None if i % 4 == 0 else "Coin door sticks",
        "score": i / 7,
        "upvotes": i % 50,
        "status": ("NEW", "IN_PROGRESS", "RESOLVED")[i % 3],
    }


def table(order: list[int]) -> list[dict[str, Any]]:
    return [row(i) for i in order]


def shuffled(n: int, seed: int = 1) -> list[int]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def record(benchmark: Any, name: str) -> None:
    if benchmark.stats is not None:
        MEDIANS[name] = benchmark.stats.stats.median


def skip_without_timing(benchmark: Any) -> None:
    if benchmark.disabled:
        pytest.skip("DeepDiff references run only with timing on; pass --benchmark-enable")


# --- two equal unordered results of 100k rows -------------------------------------------


@pytest.fixture(scope="module")
def equal_pair() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return table(list(range(BIG))), table(shuffled(BIG))


def test_equal_100k_normalize_and_compare(benchmark: Any, equal_pair: Any) -> None:
    legacy, new = equal_pair
    benchmark.group = "equal unordered, 100k rows x 10 columns"

    def run() -> Any:
        return compare(normalize(legacy), normalize(new), ordered=False)

    assert benchmark(run).equal
    record(benchmark, "equal-ours")


def test_equal_100k_same_order(benchmark: Any, equal_pair: Any) -> None:
    """The same rows in the same order: what two sides running one plan usually return."""
    legacy, _ = equal_pair
    new = table(list(range(BIG)))
    benchmark.group = "equal unordered, 100k rows x 10 columns"

    def run() -> Any:
        return compare(normalize(legacy), normalize(new), ordered=False)

    assert benchmark(run).equal
    record(benchmark, "equal-same-order")


def test_equal_100k_deepdiff_reference(benchmark: Any, equal_pair: Any) -> None:
    skip_without_timing(benchmark)
    legacy, new = equal_pair
    benchmark.group = "equal unordered, 100k rows x 10 columns"
    result = benchmark.pedantic(
        DeepDiff, args=(legacy, new), kwargs={"ignore_order": True}, rounds=1, iterations=1
    )
    assert not result
    record(benchmark, "equal-deepdiff")


# --- 10k rows, 100 of them differ, explained ----------------------------------------------


@pytest.fixture(scope="module")
def differing_pair() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    legacy = table(list(range(SMALL)))
    order = shuffled(SMALL, seed=2)
    new = []
    for position, i in enumerate(order):
        if position < 20:  # 20 rows the new side lost, 20 it returned instead
            new.append(row(SMALL + i))
            continue
        r = row(i)
        if position < DIFFERING - 20:  # 60 rows with one field changed
            r["title"] = r["title"].lower()
        new.append(r)
    return legacy, new


def test_explain_10k_compare(benchmark: Any, differing_pair: Any) -> None:
    legacy, new = differing_pair
    benchmark.group = f"explain {DIFFERING} differing rows of {SMALL // 1000}k"

    def run() -> Any:
        return compare(normalize(legacy), normalize(new), ordered=False)

    result = benchmark(run)
    assert not result.equal and result.diff is not None
    assert len(result.diff.changes) == DIFFERING - 40
    assert len(result.diff.only_legacy) == len(result.diff.only_new) == 20
    record(benchmark, "explain-ours")


def test_explain_10k_deepdiff_reference(benchmark: Any, differing_pair: Any) -> None:
    skip_without_timing(benchmark)
    legacy, new = differing_pair
    benchmark.group = f"explain {DIFFERING} differing rows of {SMALL // 1000}k"
    result = benchmark.pedantic(
        DeepDiff, args=(legacy, new), kwargs={"ignore_order": True}, rounds=1, iterations=1
    )
    assert result
    record(benchmark, "explain-deepdiff")


# --- normalize 100k rows and 100k ORM instances -------------------------------------------


@pytest.mark.parametrize("shape", ["dicts", "tuples", "dicts-with-datetimes"])
def test_normalize_100k_rows(benchmark: Any, shape: str) -> None:
    rows = table(list(range(BIG)))
    if shape == "tuples":
        rows = [tuple(r.values()) for r in rows]  # type: ignore[misc]
    elif shape == "dicts-with-datetimes":
        start = datetime(2024, 1, 1)
        for i, r in enumerate(rows):
            r["createdAt"] = start + timedelta(seconds=i)
            r["updatedAt"] = start + timedelta(seconds=i, microseconds=5)
    benchmark.group = "normalize 100k rows"
    assert len(benchmark(normalize, rows)) == BIG
    record(benchmark, f"normalize-{shape}")


db = peewee.SqliteDatabase(None)


class PwIssue(peewee.Model):
    id = peewee.TextField(primary_key=True)
    title = peewee.TextField()
    organization_id = peewee.TextField(column_name="organizationId")
    machine_id = peewee.TextField(column_name="machineId")
    priority = peewee.IntegerField()
    is_active = peewee.BooleanField(column_name="isActive")
    description = peewee.TextField(null=True)
    score = peewee.FloatField()
    upvotes = peewee.IntegerField()
    status = peewee.TextField()

    class Meta:
        database = db
        table_name = "Issue"


class Base(DeclarativeBase):
    pass


class SaIssue(Base):
    __tablename__ = "Issue"
    id: Mapped[str] = mapped_column(primary_key=True)
    title: Mapped[str]
    organizationId: Mapped[str]
    machineId: Mapped[str]
    priority: Mapped[int]
    isActive: Mapped[bool] = mapped_column(sa.Boolean)
    description: Mapped[str | None]
    score: Mapped[float]
    upvotes: Mapped[int]
    status: Mapped[str]


PW_ATTRS = {"organizationId": "organization_id", "machineId": "machine_id", "isActive": "is_active"}


@pytest.fixture(scope="module")
def peewee_issues() -> list[PwIssue]:
    # Built as a cursor builds them: no defaults, nothing dirty.
    issues = []
    for i in range(BIG):
        issue = PwIssue(__no_default__=True, **{PW_ATTRS.get(k, k): v for k, v in row(i).items()})
        issue._dirty.clear()
        issues.append(issue)
    return issues


@pytest.fixture(scope="module")
def sqlalchemy_issues() -> list[SaIssue]:
    return [SaIssue(**row(i)) for i in range(BIG)]


def test_normalize_100k_peewee_instances(benchmark: Any, peewee_issues: list[PwIssue]) -> None:
    benchmark.group = "normalize 100k ORM instances"
    result = benchmark(normalize, peewee_issues)
    assert result[1] == row(1)
    record(benchmark, "normalize-peewee")


def test_peewee_model_to_dict_reference(benchmark: Any, peewee_issues: list[PwIssue]) -> None:
    from playhouse.shortcuts import model_to_dict

    benchmark.group = "normalize 100k ORM instances"
    result = benchmark(lambda: [model_to_dict(i, recurse=False) for i in peewee_issues])
    assert len(result) == BIG


def test_normalize_100k_sqlalchemy_instances(
    benchmark: Any, sqlalchemy_issues: list[SaIssue]
) -> None:
    benchmark.group = "normalize 100k ORM instances"
    result = benchmark(normalize, sqlalchemy_issues)
    assert result[1] == row(1)
    record(benchmark, "normalize-sqlalchemy")


def test_sqlalchemy_getattr_reference(benchmark: Any, sqlalchemy_issues: list[SaIssue]) -> None:
    keys = [attr.key for attr in sa.inspect(SaIssue).column_attrs]
    benchmark.group = "normalize 100k ORM instances"
    result = benchmark(lambda: [{k: getattr(i, k) for k in keys} for i in sqlalchemy_issues])
    assert len(result) == BIG


def test_goals(capsys: pytest.CaptureFixture[str]) -> None:
    """The goals, from the medians above (skipped unless every benchmark ran with timing)."""
    needed = ("equal-ours", "equal-deepdiff", "explain-ours", "explain-deepdiff")
    if not all(name in MEDIANS for name in needed):
        pytest.skip("the benchmarks did not run with timing; pass --benchmark-enable")
    equal_ratio = MEDIANS["equal-deepdiff"] / MEDIANS["equal-ours"]
    explain_ratio = MEDIANS["explain-deepdiff"] / MEDIANS["explain-ours"]
    lines = [f"{name:>22}: {seconds * 1000:10.1f} ms" for name, seconds in MEDIANS.items()]
    lines.append(f"{'equal, DeepDiff / ours':>22}: {equal_ratio:10.0f}x")
    lines.append(f"{'explain, DeepDiff / ours':>22}: {explain_ratio:10.0f}x")
    with capsys.disabled():
        print("\nnormalize + compare medians:")
        for line in lines:
            print("  " + line)
    assert MEDIANS["equal-ours"] < EQUAL_GOAL_S, "\n".join(lines)
    assert explain_ratio >= EXPLAIN_GOAL_RATIO, "\n".join(lines)
