"""Running a pair on a case: both sides from the same database state, each observed and undone.

Each side runs in its own transaction that is rolled back afterwards, reads too, so that a read
that writes cannot leak into the next case. The order of the two sides is shuffled per case from
the run's order seed, so order-dependent effects show up and a run can be replayed. An exception
in a side is recorded as that case's error, never raised into the run (as Scientist does with a
candidate's exception).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from harness.clock import NOW
from harness.compare.categories import classify
from harness.compare.judge import judge
from harness.database.faults import connection_lost, timed_out
from harness.errors import NormalizationError
from harness.normalize.walk import normalize_rows
from harness.records import CaseResult, CaseWarning, Observation, RowChanges, Side, SideError
from harness.registry import Context, PlannedCase
from harness.run.snapshot import diff_snapshots, schema_keys, snapshot
from harness.run.watchdog import CaseTimeout

if TYPE_CHECKING:
    from harness.database.target import Target

TRACEBACK_LINES = 40


def side_order(order_seed: int, planned: PlannedCase) -> tuple[Side, Side]:
    """The order the two sides run in for this case: a coin flip seeded by run seed and case.

    A bit of a hash of both, not ``random.Random(seed)``: seeding a Mersenne Twister costs more
    than a small case's comparison.
    """
    return _order(order_seed, planned.id)


def random_order_seed() -> int:
    """A fresh side-order seed, for a run not given one; it is printed so the run can be replayed."""
    return secrets.randbelow(10**6)


@lru_cache(maxsize=65536)
def _order(order_seed: int, case_id: str) -> tuple[Side, Side]:
    digest = hashlib.blake2b(f"{order_seed}\0{case_id}".encode(), digest_size=1).digest()
    return ("legacy", "new") if digest[0] & 1 else ("new", "legacy")


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

    __slots__ = ("_conn", "_session", "_trans", "_txn", "broken", "ctx", "side", "target")

    def __init__(self, target: Target, side: Side, ctx: Context) -> None:
        self.target = target
        self.side = side
        self.ctx = ctx
        self.broken = False  # the connections cannot be trusted: reset them instead of rolling back

    def __enter__(self) -> Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]:
        try:
            return self._begin()
        except Exception as exc:
            if not connection_lost(exc):
                raise
        # The connection died between cases (a killed backend): that is no fault of this
        # case, so reconnect both sides and begin once more.
        self.target.reset_connections()
        return self._begin()

    def _begin(self) -> Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]:
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
            with contextlib.suppress(Exception):  # a lost connection cannot roll back
                self._trans.rollback()
            raise
        self.ctx.session = self._session
        return self._run_new

    def __exit__(self, *exc: object) -> None:
        if self.broken:
            self.target.reset_connections()
            return
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


def side_context(planned: PlannedCase, side: Side, now: datetime) -> Context:
    case = planned.case
    return Context(
        tenant_id=case.tenant_id, user_id=case.user_id, now=now, side=side, params=case.params
    )


def observe(planned: PlannedCase, side: Side, target: Target, now: datetime) -> Observation:
    """Run one side of a case in a rolled-back transaction and record what it did.

    Whatever the side raises is its error, ``SystemExit`` and a timeout included (only Ctrl-C
    and SIGTERM stop the run). After a timeout or a lost connection both sides' connections
    are reset, so the next case starts on fresh ones.
    """
    pair = planned.pair
    rules = planned.rules
    func = pair.sides[side]
    ctx = side_context(planned, side, now)
    log = target.legacy_log if side == "legacy" else target.new_log
    watch = pair.options.watch if pair.options.writes else ()
    dog = target.watchdog
    elapsed = 0.0
    fired = False
    statements: tuple[Any, ...] = ()
    try:
        txn = SideTransaction(target, side, ctx)
        with txn as run_sql:
            before = snapshot(target, run_sql, watch) if watch else None
            wall_start = datetime.now(UTC) if watch else None
            guard: Any = dog.watch(target.canceller(side)) if dog is not None else _UNWATCHED
            recorded = log.start()
            started = time.perf_counter()
            try:
                with guard:
                    try:
                        value = func(ctx, **planned.case.params)
                    finally:
                        elapsed = (time.perf_counter() - started) * 1000.0
                        log.stop()
                        statements = tuple(recorded)
                    canonical, flat_bools = normalize_rows(
                        value, keys=rules.keys, lazy=pair.normalize_hook is None
                    )
                    if pair.normalize_hook is not None:
                        canonical, flat_bools = pair.normalize_hook(canonical), None
                if guard is not _UNWATCHED and guard.fired:  # it swallowed the cancellation
                    raise CaseTimeout(f"ran longer than the case timeout ({guard.dog.timeout:g}s)")
            except BaseException as exc:
                fired = guard is not _UNWATCHED and guard.fired
                if fired or connection_lost(exc):
                    txn.broken = True
                raise
            changes = None
            if watch:
                wall_end = datetime.now(UTC)
                after = snapshot(target, run_sql, watch)
                tenant = rules.tenant
                scope = {t: tenant.of_table(t) for t in watch} if tenant else None
                changes = RowChanges(
                    tables=diff_snapshots(before or {}, after, scope),
                    window=(wall_start or wall_end, wall_end),
                    keys=schema_keys(target),
                )
    except NormalizationError as exc:
        return Observation(
            side,
            error=_side_error(side, exc, None, category=None),
            ms=elapsed,
            statements=statements,
        )
    except (Exception, SystemExit, CaseTimeout) as exc:
        category = _category(exc, fired, target) or classify(exc, rules.errors)
        error = _side_error(side, exc, log.last_sql, category=category)
        return Observation(side, error=error, ms=elapsed, statements=statements)
    return Observation(
        side,
        value=canonical,
        ms=elapsed,
        statements=statements,
        changes=changes,
        flat_bools=flat_bools,
    )


def _warnings(side: Side, caught: list[warnings.WarningMessage]) -> tuple[CaseWarning, ...]:
    return tuple(
        CaseWarning(
            category=w.category.__name__,
            message=" ".join(str(w.message).split())[:500],
            where=f"{w.filename}:{w.lineno}",
            side=side,
        )
        for w in caught
    )


_UNWATCHED = contextlib.nullcontext()


def _category(exc: BaseException, fired: bool, target: Target) -> str | None:
    """``timeout`` or ``connection_lost`` where this runner knows it; else None (not known here)."""
    if fired or isinstance(exc, CaseTimeout) or timed_out(exc):
        return "timeout"
    if connection_lost(exc):
        target.reset_connections()  # lost outside the side's own call: its begin or rollback
        return "connection_lost"
    return None


def _side_error(
    side: Side, exc: BaseException, sql: str | None, *, category: str | None = None
) -> SideError:
    statement = getattr(exc, "statement", None) or sql
    lines = traceback.format_exception(exc)
    text = "".join(lines)
    tb_lines = text.splitlines()
    if len(tb_lines) > TRACEBACK_LINES:
        tb_lines = ["…", *tb_lines[-TRACEBACK_LINES:]]
    message = " ".join(str(getattr(exc, "orig", None) or exc).split()) or type(exc).__name__
    if isinstance(exc, SystemExit):
        message = f"the side called sys.exit({exc.code!r}); the run goes on"
    if category == "timeout" and not isinstance(exc, CaseTimeout):
        message = f"stopped at the case timeout: {message}"
    return SideError(
        side=side,
        type=type(exc).__name__,
        message=message[:2000],
        sql=statement,
        traceback="\n".join(tb_lines),
        category=category,
    )


def run_case(
    planned: PlannedCase, target: Target, *, order_seed: int, now: datetime | None = None
) -> CaseResult:
    """Run both sides of a case in their shuffled order and judge them."""
    now = now or NOW
    order = side_order(order_seed, planned)
    observations: dict[Side, Observation] = {}
    # Warnings a side raises are recorded on the case; one capture for both sides (it costs a
    # copy of the filter list), each side's share told apart by where the list stood.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for side in order:
            start = len(caught)
            observation = observe(planned, side, target, now)
            if len(caught) > start:
                observation = replace(observation, warnings=_warnings(side, caught[start:]))
            observations[side] = observation
    return judge(planned, observations["legacy"], observations["new"], order)
