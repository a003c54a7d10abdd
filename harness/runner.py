"""Running a pair on a case: both sides from the same database state, each observed and undone.

Each side runs in its own transaction that is rolled back afterwards, reads too, so that a read
that writes cannot leak into the next case. The order of the two sides is shuffled per case from
the run's order seed, so order-dependent effects show up and a run can be replayed. An exception
in a side is recorded as that case's error, never raised into the run (as Scientist does with a
candidate's exception).
"""

from __future__ import annotations

import hashlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from harness import changes as row_changes
from harness.compare import compare
from harness.depths import Depths
from harness.errors import NormalizationError
from harness.normalize import normalize_rows
from harness.registry import Case, Context, Pair
from harness.results import CaseResult, Diff, Observation, SideError, SideSummary
from harness.tenancy import find_leaks

if TYPE_CHECKING:
    from harness.targets import Target

TRACEBACK_LINES = 40


@dataclass(frozen=True)
class PlannedCase:
    """A pair with one of its cases and the case's unique label: one test item."""

    pair: Pair
    label: str
    case: Case

    @cached_property
    def id(self) -> str:
        return f"{self.pair.name}[{self.label}]"


def side_order(order_seed: int, planned: PlannedCase) -> tuple[str, str]:
    """The order the two sides run in for this case: a coin flip seeded by run seed and case.

    A bit of a hash of both, not ``random.Random(seed)``: seeding a Mersenne Twister costs more
    than a small case's comparison.
    """
    return _order(order_seed, planned.id)


@lru_cache(maxsize=65536)
def _order(order_seed: int, case_id: str) -> tuple[str, str]:
    digest = hashlib.blake2b(f"{order_seed}\0{case_id}".encode(), digest_size=1).digest()
    return ("legacy", "new") if digest[0] & 1 else ("new", "legacy")


NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
"""``ctx.now``: a fixed, aware UTC instant, the same for both sides and for every run."""


class _Undo(Exception):
    """Handed to peewee's transaction ``__exit__``: roll back, as if the block had raised."""


class SideTransaction:
    """One side's transaction, always rolled back, reads included; sets ``ctx.db``/``ctx.session``.

    legacy: a peewee transaction on the legacy database, left through ``__exit__`` with an
    exception so that peewee rolls back and sends nothing more (its ``rollback()`` would BEGIN
    again, and leaving the block normally would then COMMIT that: two wasted round trips).

    new: a Session on the target's held connection that joins the connection's transaction
    through a savepoint, so a side that calls ``session.commit()`` commits only the savepoint,
    and the rollback still undoes it. ``expire_on_commit=False``: an object the side returns
    after ``commit()`` keeps the values it was written with, as the caller would read them,
    instead of normalizing as unloaded.

    ``__enter__`` returns a runner of raw SQL inside the transaction, for row snapshots, that no
    statement log records. A class, not a generator: it frames every side of every case.
    """

    __slots__ = ("_conn", "_session", "_trans", "_txn", "ctx", "side", "target")

    def __init__(self, target: Target, side: str, ctx: Context) -> None:
        self.target = target
        self.side = side
        self.ctx = ctx

    def __enter__(self) -> Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]:
        if self.side == "legacy":
            db = self.target.legacy_db
            if db.is_closed():
                db.connect()
            self._txn = db.transaction()
            self._txn.__enter__()
            self.ctx.db = db
            return self._run_legacy
        self._conn = self.target.new_connection()
        self._trans = self._conn.begin()
        try:
            self._session = self.target.session_class(
                bind=self._conn, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            self._session.connection()  # send the SAVEPOINT now, before a side is observed
        except BaseException:
            self._trans.rollback()
            raise
        self.ctx.session = self._session
        return self._run_new

    def __exit__(self, *exc: object) -> None:
        if self.side == "legacy":
            db = self.target.legacy_db
            if db.transaction_depth() == 1:
                self._txn.__exit__(_Undo, _Undo(), None)
            elif not db.is_closed():  # the side left a transaction of its own open: undo all
                while db.transaction_depth():
                    db.pop_transaction()
                db.rollback()
            return
        try:
            self._session.close()
        finally:
            if self._conn.get_transaction() is self._trans:
                self._trans.rollback()
            elif self._conn.in_transaction():
                # The side committed the connection itself and went on in a transaction of
                # its own: the held connection must be clean for the next case.
                self._conn.rollback()

    def _run_legacy(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.target.legacy_db.cursor()
        cursor.execute(sql)
        return [d[0] for d in cursor.description], list(cursor.fetchall())

    def _run_new(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self._conn.connection.cursor()
        try:
            cursor.execute(sql)
            return [d[0] for d in cursor.description], list(cursor.fetchall())
        finally:
            cursor.close()


def _context(planned: PlannedCase, side: str, now: datetime) -> Context:
    case = planned.case
    return Context(
        tenant_id=case.tenant_id, user_id=case.user_id, now=now, side=side, params=case.params
    )


def observe(planned: PlannedCase, side: str, target: Target, now: datetime) -> Observation:
    """Run one side of a case in a rolled-back transaction and record what it did."""
    pair = planned.pair
    func = pair.sides[side]
    ctx = _context(planned, side, now)
    log = target.legacy_log if side == "legacy" else target.new_log
    watch = pair.options.watch if pair.options.writes else ()
    elapsed = 0.0
    statements: tuple[Any, ...] = ()
    try:
        with SideTransaction(target, side, ctx) as run_sql:
            before = row_changes.snapshot(target, run_sql, watch) if watch else None
            wall_start = datetime.now(UTC) if watch else None
            recorded = log.start()
            started = time.perf_counter()
            try:
                value = func(ctx, **planned.case.params)
            finally:
                elapsed = (time.perf_counter() - started) * 1000.0
                log.stop()
                statements = tuple(recorded)
            canonical, flat_bools = normalize_rows(value, keys=pair.options.keys)
            if pair.normalize_hook is not None:
                canonical, flat_bools = pair.normalize_hook(canonical), None
            changes = None
            if watch:
                wall_end = datetime.now(UTC)
                after = row_changes.snapshot(target, run_sql, watch)
                changes = {
                    "changes": row_changes.diff_snapshots(before or {}, after),
                    "window": (wall_start, wall_end),  # aware UTC
                }
    except NormalizationError as exc:
        return Observation(
            side, error=_side_error(side, exc, None), ms=elapsed, statements=statements
        )
    except Exception as exc:
        return Observation(
            side, error=_side_error(side, exc, log.last_sql), ms=elapsed, statements=statements
        )
    return Observation(
        side,
        value=canonical,
        ms=elapsed,
        statements=statements,
        changes=changes,
        flat_bools=flat_bools,
    )


def _side_error(side: str, exc: BaseException, sql: str | None) -> SideError:
    statement = getattr(exc, "statement", None) or sql
    lines = traceback.format_exception(exc)
    text = "".join(lines)
    tb_lines = text.splitlines()
    if len(tb_lines) > TRACEBACK_LINES:
        tb_lines = ["…", *tb_lines[-TRACEBACK_LINES:]]
    message = " ".join(str(getattr(exc, "orig", None) or exc).split()) or type(exc).__name__
    return SideError(
        side=side,
        type=type(exc).__name__,
        message=message[:2000],
        sql=statement,
        traceback="\n".join(tb_lines),
    )


def judge(
    planned: PlannedCase, legacy: Observation, new: Observation, order: tuple[str, str]
) -> CaseResult:
    """Compare two observations of a case into its :class:`CaseResult`."""
    pair = planned.pair
    case = planned.case
    error = legacy.error or new.error
    if legacy.error and new.error and order[0] == "new":
        error = new.error
    diff: Diff | None = None
    status = "error" if error else "equal"
    leaks: tuple[str, ...] = ()
    legacy_value, new_value = legacy.value, new.value
    legacy_changes = new_changes = None
    if not error:
        if pair.options.writes:
            legacy_value, new_value, legacy_changes, new_changes = row_changes.match_fresh_values(
                legacy, new
            )
        # Walked once here for both the comparison's equal path and the tenant guard; not at
        # all when normalizing found flat tables (a hint only for the very value it returned).
        depths = (
            Depths.of(legacy_value, legacy.flat_bools if legacy_value is legacy.value else None),
            Depths.of(new_value, new.flat_bools if new_value is new.value else None),
        )
        comparison = compare(
            legacy_value,
            new_value,
            ordered=pair.options.ordered,
            ignore=pair.options.ignore,
            unordered=pair.options.unordered,
            float_tolerance=pair.options.float_tolerance,
            depths=depths,
        )
        if pair.options.writes:
            comparison = row_changes.merge(
                comparison,
                compare(
                    legacy_changes,
                    new_changes,
                    ordered=True,
                    ignore=(),
                    float_tolerance=pair.options.float_tolerance,
                ),
            )
        if case.tenant_id is not None and pair.options.tenant_scoped:
            leaks = find_leaks(
                case.tenant_id, legacy=(depths[0], legacy_changes), new=(depths[1], new_changes)
            )
        if not comparison.equal:
            status, diff = "mismatch", comparison.diff
        if leaks:
            status = "mismatch"
            leak_line = f"tenant leak: {leaks[0]}" + (
                f" (+{len(leaks) - 1} more)" if len(leaks) > 1 else ""
            )
            diff = (
                Diff(summary=leak_line)
                if diff is None
                else replace(diff, summary=f"{leak_line}; {diff.summary}")
            )
    return CaseResult(
        pair=pair.name,
        label=planned.label,
        status=status,  # type: ignore[arg-type]
        tenant_id=case.tenant_id,
        user_id=case.user_id,
        params=dict(case.params),
        diff=diff,
        error=error,
        legacy=SideSummary.of(legacy, value=legacy_value, changes=legacy_changes),
        new=SideSummary.of(new, value=new_value, changes=new_changes),
        order=order,
        leaks=leaks,
    )


def run_case(
    planned: PlannedCase, target: Target, *, order_seed: int, now: datetime | None = None
) -> CaseResult:
    """Run both sides of a case in their shuffled order and judge them."""
    now = now or NOW
    order = side_order(order_seed, planned)
    observations = {side: observe(planned, side, target, now) for side in order}
    return judge(planned, observations["legacy"], observations["new"], order)


def time_side(planned: PlannedCase, side: str, target: Target, now: datetime) -> float:
    """Seconds one side of a case takes, its transaction set-up and rollback excluded."""
    ctx = _context(planned, side, now)
    func = planned.pair.sides[side]
    with SideTransaction(target, side, ctx):
        started = time.perf_counter()
        func(ctx, **planned.case.params)
        return time.perf_counter() - started
