"""Realistic :class:`RunResult` objects for the report and baseline tests (no database needed).

The rows look like the reference application's (issues, machines, locations of arcade-machine
tenants) and carry the fixture's hostile text on purpose: ``<script>alert(1)</script>`` and
``<b>&"'`` in titles, labels, parameters and error messages.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.records import (
    CaseResult,
    Change,
    Diff,
    Latency,
    PairResult,
    RowCount,
    RunResult,
    SideError,
    SideSummary,
    Statement,
    Violation,
)

SCRIPT = "<script>alert(1)</script>"
HTML_TEXT = "<b>&\"'"
TENANTS = ("org-1", "org-2", "org-3")
RUN_INFO = {
    "seed": 0,
    "order_seed": 81529,
    "tenants": 3,
    "scale": 1,
    "started_at": "2025-08-02T10:00:00+00:00",
    "duration_s": 12.4,
    "interrupted": False,
    "argv": ["harness", "run", "--db", "postgresql://postgres:***@localhost/postgres"],
}


def issue_row(n: int, org: str = "org-1", **overrides: Any) -> dict[str, Any]:
    """An ``Issue`` row as both sides normalize it (physical column names)."""
    row = {
        "id": f"iss-{org}-{n}",
        "title": f"Flipper {n} sticks {HTML_TEXT}" if n % 3 == 0 else f"Left flipper weak #{n}",
        "description": SCRIPT if n == 1 else None,
        "createdAt": f"2025-07-{1 + n % 28:02d}T12:00:00",
        "resolvedAt": None,
        "organizationId": org,
        "machineId": f"mach-{org}-{n % 4}",
        "statusId": f"st-{org}-new",
        "priorityId": f"pri-{org}-2",
        "assignedToId": None if n % 2 else f"user-{n % 5}",
    }
    row.update(overrides)
    return row


def statements(table: str, count: int, ms: float = 0.4) -> tuple[Statement, ...]:
    """``count`` plausible statements against ``table``."""
    return tuple(
        Statement(
            sql=f'SELECT "{table}"."id", "{table}"."title" FROM "{table}" '
            f'WHERE "{table}"."organizationId" = ? LIMIT ?',
            params=f'["org-1", {20 + i}]',
            ms=ms + i / 10,
        )
        for i in range(count)
    )


def side(result: Any, *, queries: int = 1, ms: float = 1.0, table: str = "Issue") -> SideSummary:
    """One side's summary with ``queries`` statements and the given result."""
    return SideSummary(queries=queries, ms=ms, statements=statements(table, queries), result=result)


def case(pair: str, label: str, status: str = "equal", **fields: Any) -> CaseResult:
    """A case result; equal cases get identical sides unless told otherwise."""
    rows = [issue_row(n) for n in range(3)]
    base = CaseResult(
        pair=pair,
        label=label,
        status=status,  # type: ignore[arg-type]
        tenant_id=fields.pop("tenant_id", "org-1"),
        legacy=side(rows, queries=1, ms=1.2),
        new=side(rows, queries=1, ms=0.9),
    )
    return replace(base, **fields)


def mismatch_case(pair: str = "issue.list", label: str = "org-1,limit=5") -> CaseResult:
    """An ordered list whose row 0 title and row 2 resolvedAt differ."""
    legacy = [issue_row(n) for n in range(5)]
    new = [dict(r) for r in legacy]
    new[0]["title"] = "Flipper 0 sticks <b>&amp;\"'"
    new[2]["resolvedAt"] = "2025-07-30T08:00:00"
    diff = Diff(
        summary="2 values differ: [0].title, [2].resolvedAt",
        changes=(
            Change("[0].title", "changed", legacy[0]["title"], new[0]["title"]),
            Change("[2].resolvedAt", "changed", None, "2025-07-30T08:00:00"),
        ),
    )
    return case(
        pair,
        label,
        "mismatch",
        params={"limit": 5, "status": HTML_TEXT},
        diff=diff,
        legacy=side(legacy, queries=2, ms=2.5),
        new=side(new, queries=1, ms=1.1),
    )


def error_case(pair: str = "machine.list", label: str = "org-2") -> CaseResult:
    """The new side raised: the message itself carries fixture text."""
    err = SideError(
        side="new",
        type="OperationalError",
        message=f'no such column: Machine.ownerid (near {SCRIPT} and "{HTML_TEXT}")',
        sql='SELECT "Machine"."id", "Machine"."ownerid" FROM "Machine" WHERE "organizationId" = ?',
        traceback="Traceback (most recent call last):\n"
        '  File "harness/run/sides.py", line 88, in run_side\n'
        "    value = func(ctx, **params)\n"
        "sqlite3.OperationalError: no such column: Machine.ownerid\n",
    )
    return case(
        pair,
        label,
        "error",
        tenant_id="org-2",
        error=err,
        legacy=side([{"id": "mach-org-2-0", "name": "Medieval Madness"}], table="Machine"),
        new=side(None, queries=1, ms=0.2, table="Machine"),
    )


def unordered_case(label: str = "org-1") -> CaseResult:
    """An unordered comparison: one row only on each side, one repeated row on the new side."""
    legacy = [
        {"id": f"loc-{n}", "name": f"Arcade {n} {HTML_TEXT}", "city": "Austin"} for n in range(4)
    ]
    new = [*legacy[:3], {"id": "loc-9", "name": "Barcade", "city": None}, legacy[0]]
    diff = Diff(
        summary="1 row only in legacy, 2 only in new",
        only_legacy=(RowCount(legacy[3], 1),),
        only_new=(RowCount(new[3], 1), RowCount(legacy[0], 1)),
    )
    return case(
        "location.list",
        label,
        "mismatch",
        diff=diff,
        legacy=side(legacy, table="Location"),
        new=side(new, queries=3, table="Location"),
    )


def sample_run() -> RunResult:
    """A run with every kind of outcome: equal, mismatch, error, reordered, accepted, skipped."""
    reordered = case(
        "location.list",
        "org-2",
        "mismatch",
        tenant_id="org-2",
        diff=Diff(summary="same rows, different order", reordered=True),
    )
    leak = replace(
        mismatch_case("issue.search", f"org-1,q={SCRIPT}"),
        params={"q": SCRIPT},
        leaks=("Issue iss-org-2-4 of org-2 returned to org-1",),
    )
    accepted = replace(mismatch_case("user.profile", "org-3"), accepted="bio is trimmed on purpose")
    pairs = (
        PairResult(
            "issue.list",
            "issue",
            True,
            (
                mismatch_case(),
                *(case("issue.list", f"{t},limit=5", tenant_id=t) for t in TENANTS[1:]),
            ),
            latency=Latency(2.4, 1.1, 0.46, ratio_low=0.41, ratio_high=0.52, rounds=30),
            options={"ordered": True},
        ),
        PairResult(
            "issue.get",
            "issue",
            True,
            tuple(case("issue.get", t, tenant_id=t) for t in TENANTS),
            latency=Latency(0.8, 0.9, 1.12, ratio_low=1.01, ratio_high=1.25, rounds=30),
            options={"max_latency_ratio": 1.2},  # the pair's own limit beats the run's
        ),
        PairResult("issue.search", "issue", True, (leak,), latency=Latency(3.0, 2.7, 0.9)),
        PairResult(
            "machine.list",
            "machine",
            True,
            (error_case(), case("machine.list", "org-1")),
        ),
        PairResult(
            "location.list",
            "location",
            True,
            (unordered_case(), reordered),
            latency=Latency(1.5, 1.6, 1.07, ratio_low=0.98, ratio_high=1.15, rounds=30),
        ),
        PairResult(
            "comment.list",
            "comment",
            True,
            (case("comment.list", f"org-1,search={HTML_TEXT}", params={"search": HTML_TEXT}),),
            latency=Latency(1.0, 2.1, 2.1, ratio_low=1.9, ratio_high=2.3, rounds=30),
            violations=(Violation("max_latency_ratio", "new/legacy 2.10x (CI 1.90-2.30) > 1.50"),),
        ),
        PairResult("user.profile", "user", False, (accepted,), latency=Latency(0.5, 0.5, 1.0)),
        PairResult(
            "notification.unread",
            "notification",
            True,
            (),
            skipped_reason="no cases: the fixture has no unread notifications",
        ),
    )
    return RunResult(
        harness_version="0.1.0",
        dialect="postgresql",
        url="postgresql://postgres:***@localhost:5432/harness_3f9c2a1b",
        pairs=pairs,
        run={**RUN_INFO, "settings": {"max_latency_ratio": 1.5}},
    )


def passing_run() -> RunResult:
    """A run whose gate passes: every gated pair equal."""
    pairs = tuple(
        PairResult(
            name,
            name.split(".")[0],
            True,
            tuple(case(name, t, tenant_id=t) for t in TENANTS),
            latency=Latency(1.0, 0.8, 0.8),
        )
        for name in ("issue.list", "issue.get", "machine.list")
    )
    return RunResult("0.1.0", "sqlite", "sqlite:///tmp/fixture.sqlite3", pairs, run=RUN_INFO)


def big_run(*, cases: int = 1_000, pairs: int = 4, diff_rows: int = 10_000) -> RunResult:
    """``cases`` mismatching cases over ``pairs`` pairs, each with a ``diff_rows``-entry diff.

    The big lists are shared between cases (one object each) so building this stays cheap; the
    report must still cut every one of them.
    """
    legacy_rows = [issue_row(n) for n in range(diff_rows)]
    new_rows = [issue_row(n, title=f"changed {n}") for n in range(diff_rows)]
    changes = tuple(
        Change(f"[{n}].title", "changed", legacy_rows[n]["title"], new_rows[n]["title"])
        for n in range(diff_rows)
    )
    only = tuple(RowCount(row, 1) for row in legacy_rows)
    diff = Diff(
        summary=f"{diff_rows:,} values differ",
        changes=changes,
        only_legacy=only,
        only_new=tuple(RowCount(row, 2) for row in new_rows),
    )
    legacy = SideSummary(
        queries=diff_rows,
        ms=40.0,
        statements=statements("Issue", 500),
        result=legacy_rows,
        result_rows=diff_rows * 3,
    )
    new = SideSummary(queries=1, ms=20.0, statements=statements("Issue", 1), result=new_rows)
    per_pair = cases // pairs
    built = tuple(
        PairResult(
            f"issue.bulk{p}",
            "issue",
            True,
            tuple(
                CaseResult(
                    pair=f"issue.bulk{p}",
                    label=f"org-{n % 3},page={n}",
                    status="mismatch",
                    tenant_id=f"org-{n % 3}",
                    params={"page": n},
                    diff=diff,
                    legacy=legacy,
                    new=new,
                )
                for n in range(per_pair)
            ),
            latency=Latency(40.0, 20.0, 0.5),
        )
        for p in range(pairs)
    )
    return RunResult("0.1.0", "sqlite", "sqlite:///tmp/big.sqlite3", built, run=RUN_INFO)
