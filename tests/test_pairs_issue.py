"""The issue, comment and upvote routers' pairs: equal on every case, on every database.

The pairs are the reference application's router operations (``harness/pairs/issue.py``,
``comment.py``, ``upvote.py``); each case here is one the harness runs. A failure names the case
and the diff, as ``harness run`` would. Also the timestamp helpers the legacy sides rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import peewee as pw
import pytest

from harness.database.scratch import open_target
from harness.database.target import Target
from harness.pairs._common import legacy_stamp, naive_utc
from harness.reference.data import ReferenceDataset, generate
from harness.reference.provider import provider
from harness.registry import Context, PlannedCase, load_pairs
from harness.run.sides import run_case

PATTERNS = ("issue.", "comment.", "upvote.")


def test_naive_utc_converts_an_aware_instant_and_keeps_a_naive_one() -> None:
    aware = datetime(2025, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert naive_utc(aware) == datetime(2025, 6, 1, 12, 0)
    assert naive_utc(datetime(2025, 6, 1, 12, 0)) == datetime(2025, 6, 1, 12, 0)


def test_legacy_stamp_binds_sqlite_text_with_six_fraction_digits() -> None:
    ctx = Context(
        tenant_id=None,
        user_id=None,
        now=datetime.now(UTC),
        side="legacy",
        db=pw.SqliteDatabase(":memory:"),
    )
    stamp = legacy_stamp(ctx, datetime(2025, 6, 1, 12, 0, tzinfo=UTC))
    assert isinstance(stamp, pw.Value)
    assert stamp.value == "2025-06-01 12:00:00.000000"


def test_legacy_stamp_binds_a_naive_datetime_elsewhere() -> None:
    ctx = Context(
        tenant_id=None,
        user_id=None,
        now=datetime.now(UTC),
        side="legacy",
        db=pw.PostgresqlDatabase("unused"),
    )
    assert legacy_stamp(ctx, datetime(2025, 6, 1, 12, 0, tzinfo=UTC)) == datetime(2025, 6, 1, 12)


@pytest.fixture(scope="module")
def fx() -> ReferenceDataset:
    return generate(seed=0, tenants=3, scale=1)


@pytest.fixture
def seeded(db_url: str | None, fx: ReferenceDataset) -> Iterator[Target]:
    with open_target(db_url, suffix="pairs_issue") as target:
        provider.create_schema(target)
        provider.load(target, fx)
        yield target


def planned_cases(fx: ReferenceDataset) -> list[PlannedCase]:
    registry = load_pairs()
    return [
        PlannedCase(p, label, case)
        for p in registry
        if p.name.startswith(PATTERNS)
        for label, case in p.make_cases(fx)
    ]


@pytest.mark.databases
def test_every_case_is_equal(seeded: Target, fx: ReferenceDataset) -> None:
    planned = planned_cases(fx)
    assert {p.pair.name for p in planned} >= {
        "issue.list",
        "issue.listCursor",
        "issue.get",
        "issue.dashboard",
        "issue.create",
        "issue.updateStatus",
        "issue.assign",
        "comment.list",
        "comment.add",
        "comment.softDelete",
        "upvote.toggle",
    }
    failures = []
    for case in planned:
        result = run_case(case, seeded, order_seed=0)
        if result.status != "equal":
            detail = result.diff.summary if result.diff else result.error
            failures.append(f"{case.id}: {result.status}: {detail}")
    assert failures == []
