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
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from harness.compare.judge import judge
from harness.errors import NormalizationError
from harness.normalize.walk import normalize_rows
from harness.records import CaseResult, Observation, SideError
from harness.registry import Context, PlannedCase
from harness.run.snapshot import diff_snapshots, snapshot

if TYPE_CHECKING:
    from harness.database.target import Target

TRACEBACK_LINES = 40


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


def side_context(planned: PlannedCase, side: str, now: datetime) -> Context:
    case = planned.case
    return Context(
        tenant_id=case.tenant_id, user_id=case.user_id, now=now, side=side, params=case.params
    )


def observe(planned: PlannedCase, side: str, target: Target, now: datetime) -> Observation:
    """Run one side of a case in a rolled-back transaction and record what it did."""
    pair = planned.pair
    func = pair.sides[side]
    ctx = side_context(planned, side, now)
    log = target.legacy_log if side == "legacy" else target.new_log
    watch = pair.options.watch if pair.options.writes else ()
    elapsed = 0.0
    statements: tuple[Any, ...] = ()
    try:
        with SideTransaction(target, side, ctx) as run_sql:
            before = snapshot(target, run_sql, watch) if watch else None
            wall_start = datetime.now(UTC) if watch else None
            recorded = log.start()
            started = time.perf_counter()
            try:
                value = func(ctx, **planned.case.params)
            finally:
                elapsed = (time.perf_counter() - started) * 1000.0
                log.stop()
                statements = tuple(recorded)
            canonical, flat_bools = normalize_rows(
                value, keys=pair.options.keys, lazy=pair.normalize_hook is None
            )
            if pair.normalize_hook is not None:
                canonical, flat_bools = pair.normalize_hook(canonical), None
            changes = None
            if watch:
                wall_end = datetime.now(UTC)
                after = snapshot(target, run_sql, watch)
                changes = {
                    "changes": diff_snapshots(before or {}, after),
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


def run_case(
    planned: PlannedCase, target: Target, *, order_seed: int, now: datetime | None = None
) -> CaseResult:
    """Run both sides of a case in their shuffled order and judge them."""
    now = now or NOW
    order = side_order(order_seed, planned)
    observations = {side: observe(planned, side, target, now) for side in order}
    return judge(planned, observations["legacy"], observations["new"], order)
