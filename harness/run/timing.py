"""Timing the two sides of a pair for the latency gate: interleaved rounds on one database.

The statistics (paired ratio, confidence interval) are :mod:`harness.gate.latency`'s; this module
only runs the sides and collects their seconds. See that module's docstring for the method.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from harness.gate.latency import MAX_ROUNDS, latency_from_samples
from harness.records import Latency, Side
from harness.run.sides import SideTransaction, side_context
from harness.run.watchdog import CaseTimeout

if TYPE_CHECKING:
    from harness.database.target import Target
    from harness.registry import PlannedCase


SideTimer = Callable[["PlannedCase", Side, "Target", datetime], float]


def measure_pair(
    cases: Sequence[PlannedCase],
    target: Target,
    *,
    now: datetime,
    budget_s: float,
    min_rounds: int = 5,
    warmup: int = 1,
    max_rounds: int = MAX_ROUNDS,
    sides: tuple[Side, Side] = ("legacy", "new"),
    timer: SideTimer | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Latency | None:
    """Time the two sides of a pair's cases interleaved within ``budget_s`` seconds.

    ``sides`` names what is compared as (A, B); ``("legacy", "legacy")`` is an A/A calibration.
    ``timer`` times one side of one case (default :func:`time_side`) and ``clock``
    measures the budget; tests pass fakes of both. A case whose side raises is left out (the
    equivalence run reports the error); None when no case can be timed at all. The result's
    ``rounds`` counts rounds; its interval is over the rounds x cases paired calls.

    Example::

        lat = measure_pair(cases, target, now=now, budget_s=0.3)
        lat.ratio, lat.ratio_low, lat.ratio_high   # e.g. 1.12, 1.05, 1.19
    """
    if timer is None:
        timer = time_side
    active = list(cases)
    started = clock()
    for index in range(warmup):
        # A case that raises here is left out; the others still warm up in this round.
        rounds = [(p, _run_round(timer, [p], target, now, sides, index)) for p in active]
        active = [p for p, timed in rounds if not isinstance(timed, _Failed)]
        if not active:
            return None
    gc.collect()  # start the recorded rounds without the warm-up's garbage pending

    samples_a: list[float] = []
    samples_b: list[float] = []
    measured_started = clock()
    index = 0
    while index < max_rounds:
        timed = _run_round(timer, active, target, now, sides, index)
        if isinstance(timed, _Failed):
            # A side that raised only now: drop that case and start over, so that every recorded
            # round covers the same cases. Each failure drops a case, so this ends.
            active.remove(timed.case)
            if not active:
                return None
            samples_a.clear()
            samples_b.clear()
            index = 0
            measured_started = clock()
            continue
        for seconds_a, seconds_b in timed:
            samples_a.append(seconds_a)
            samples_b.append(seconds_b)
        index += 1
        if index % 2 or index < min_rounds:
            continue
        # The warm-up counts against the budget; the cost of a round is the mean of the recorded
        # ones, which the warm-up (cold caches, first connections) would overstate.
        per_round = (clock() - measured_started) / index
        if clock() - started + 2 * per_round > budget_s:
            break
    latency = latency_from_samples(samples_a, samples_b, paired=True, method="interleaved")
    return replace(latency, rounds=index)


class _Failed:
    """The case whose side raised during a round."""

    __slots__ = ("case",)

    def __init__(self, case: PlannedCase) -> None:
        self.case = case


def _run_round(
    timer: SideTimer,
    cases: Sequence[PlannedCase],
    target: Target,
    now: datetime,
    sides: tuple[Side, Side],
    index: int,
) -> list[tuple[float, float]] | _Failed:
    """One round: each case's two sides back to back, the first side alternating with ``index``.

    Returns the seconds of side A and side B per case, or the case whose side raised.
    """
    order = (0, 1) if index % 2 == 0 else (1, 0)
    timed = []
    for planned in cases:
        seconds = [0.0, 0.0]
        for slot in order:
            try:
                seconds[slot] = timer(planned, sides[slot], target, now)
            except Exception:
                return _Failed(planned)
        timed.append((seconds[0], seconds[1]))
    return timed


def time_side(planned: PlannedCase, side: Side, target: Target, now: datetime) -> float:
    """Seconds one side of a case takes, its transaction set-up and rollback excluded."""
    ctx = side_context(planned, side, now)
    func = planned.pair.sides[side]
    dog = target.watchdog
    txn = SideTransaction(target, side, ctx)
    with txn:
        if dog is None:
            started = time.perf_counter()
            func(ctx, **planned.case.params)
            return time.perf_counter() - started
        try:
            with dog.watch(target.canceller(side)):
                started = time.perf_counter()
                func(ctx, **planned.case.params)
                return time.perf_counter() - started
        except CaseTimeout as exc:
            txn.broken = True  # the case is left out of the measurement, the run goes on
            raise SideTimedOut(planned.id) from exc


class SideTimedOut(Exception):
    """A side ran past ``case_timeout`` while being timed."""
