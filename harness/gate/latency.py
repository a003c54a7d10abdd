"""Latency of a pair: legacy and new timed interleaved on the same database, and their ratio.

**The round.** A round runs every case of the pair once per side, the two sides of a case back to
back (``A B A B …``), and the side that goes first alternates from round to round, so a cache the
first call warms, or a machine that slows down halfway, weighs on both sides alike. Every case
runs in every round (rather than one case per round, rotating), so each case contributes the
same number of samples however the budget ends. ``*_p50_ms`` and ``*_p95_ms`` are over the
single calls of all cases and rounds: "a call of this operation".

**The budget.** Warm-up rounds (not recorded) fill caches and connection pools; their time counts
against ``budget_s``. Rounds then run while the next two still fit in it, judged by the mean
wall-clock cost of the rounds so far (transactions included), never fewer than ``min_rounds`` and
never more than ``max_rounds``. The count is kept even, so each side goes first equally often: a
pair with many slow cases can overrun a small budget to reach ``min_rounds``.

**The estimator.** ``ratio`` is the median of the paired ratios new/legacy, one per case per
round: the two calls of a pair run back to back, milliseconds apart. Pairing cancels what a shared
machine does to both of them (another process holds the CPU for a while, a cold disk cache), and
the median ignores the pairs where the noise hit one call only: up to half of them can be wild
without moving it, where a ratio of means follows every outlier. Pairing single calls rather than
whole rounds matters on a busy 2-core machine: a round of several cases is far more likely to
catch a scheduler hiccup on one side than two adjacent calls are (A/A runs on such a machine:
half the spread of the ratios, intervals 30-60% narrower). The 95% confidence interval assumes
no distribution: the number of ratios below the true median is Binomial(n, 1/2), so two order
statistics of the sorted ratios bound it (with fewer than 6 pairs none reach 95%; the interval is
then min..max, covering 1 - 2^(1-n)). An even count's median is the geometric mean of the middle
two, so the ratio of A/B is exactly the inverse of the ratio of B/A.

**pytest-xdist.** pytest-benchmark switches itself off under xdist, so each worker times its
pairs with :func:`measure_pair`. The workers share the machine's cores: absolute milliseconds
come out inflated, and more so the more workers run, while the ratio stays fair, since the two
calls of each pair run back to back on the same worker under the same load.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from harness.records import Latency, Side

if TYPE_CHECKING:
    pass


MAX_ROUNDS = 1000
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240601
# perf_counter has nanosecond resolution, so a zero only comes from a broken timer; clamping keeps
# a ratio finite instead of dividing by zero.
MIN_SECONDS = 1e-9


class BenchmarkSamples:
    """pytest-benchmark's rounds of each side of a pair, joined into a :class:`Latency`.

    Under ``pytest --harness`` each side of a pair is its own pytest-benchmark item; the two
    arrive one after the other (possibly from different xdist workers' reports).
    """

    def __init__(self) -> None:
        self._by_pair: dict[str, dict[str, Sequence[float]]] = {}

    def add(self, pair: str, side: Side, samples: Sequence[float], *, calls: int) -> Latency | None:
        """Record one side's rounds; the pair's latency once both sides are in, else None."""
        sides = self._by_pair.setdefault(pair, {})
        sides[side] = samples
        if "legacy" not in sides or "new" not in sides:
            return None
        return latency_from_samples(
            sides["legacy"], sides["new"], paired=False, method="pytest-benchmark", calls=calls
        )


def latency_from_samples(
    legacy_s: Sequence[float],
    new_s: Sequence[float],
    *,
    paired: bool,
    method: str,
    calls: int = 1,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Latency:
    """The :class:`Latency` of two lists of durations in seconds, one per round.

    ``calls`` is how many calls one sample covers (a round over a pair's cases); the ms are
    reported per call, the ratio does not depend on it.

    ``paired``: sample ``i`` of each side was taken in the same round (interleaved), and the ratio
    is the median of the paired ratios with its binomial order-statistic interval. Unpaired
    samples (pytest-benchmark times the sides one after the other) get the ratio of the medians
    and a percentile bootstrap interval, seeded so that a rerun on the same data gives the same
    interval.

    Example::

        latency_from_samples([0.010, 0.011, 0.012], [0.020, 0.022, 0.024], paired=True,
                             method="interleaved").ratio   # 2.0
    """
    if not legacy_s or not new_s:
        raise ValueError("latency_from_samples needs at least one sample per side")
    if calls < 1:
        raise ValueError(f"calls must be 1 or more, got {calls}")
    legacy = [max(float(x) / calls, MIN_SECONDS) for x in legacy_s]
    new = [max(float(x) / calls, MIN_SECONDS) for x in new_s]
    if paired:
        if len(legacy) != len(new):
            raise ValueError(
                f"paired samples need equal lengths, got {len(legacy)} legacy and {len(new)} new"
            )
        ratios = sorted(b / a for a, b in zip(legacy, new, strict=True))
        ratio = symmetric_median(ratios)
        low, high = median_interval(ratios, confidence)
        rounds = len(ratios)
    else:
        ratio = statistics.median(new) / statistics.median(legacy)
        low, high = bootstrap_ratio_interval(
            legacy, new, confidence=confidence, seed=seed, resamples=resamples
        )
        rounds = min(len(legacy), len(new))
    legacy_sorted, new_sorted = sorted(legacy), sorted(new)
    return Latency(
        legacy_p50_ms=_ms(quantile(legacy_sorted, 0.5)),
        new_p50_ms=_ms(quantile(new_sorted, 0.5)),
        ratio=round(ratio, 4),
        legacy_p95_ms=_ms(quantile(legacy_sorted, 0.95)),
        new_p95_ms=_ms(quantile(new_sorted, 0.95)),
        ratio_low=round(low, 4),
        ratio_high=round(high, 4),
        rounds=rounds,
        method=method,
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 4)


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated linearly (numpy's default, type 7)."""
    if not ordered:
        raise ValueError("quantile of no values")
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def symmetric_median(ordered: Sequence[float]) -> float:
    """The median of sorted positive ratios; of an even count, the geometric mean of the middle two.

    The geometric mean keeps ``median(1/r) == 1/median(r)``: swapping the sides inverts the ratio.
    """
    n = len(ordered)
    if n % 2:
        return ordered[n // 2]
    return math.sqrt(ordered[n // 2 - 1] * ordered[n // 2])


def median_interval(
    ordered: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """A distribution-free confidence interval for the median of sorted values.

    The count of values below the true median is Binomial(n, 1/2); the interval runs from the
    ``k``-th smallest to the ``k``-th largest value, ``k`` the largest with
    ``P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2``. When even ``k = 1`` is too wide a
    claim (n < 6 at 95%), the interval is min..max.
    """
    n = len(ordered)
    k = median_rank(n, confidence)
    if k == 0:
        return ordered[0], ordered[-1]
    return ordered[k - 1], ordered[n - k]


def median_rank(n: int, confidence: float = CONFIDENCE) -> int:
    """The rank ``k`` (1-based, from each end) of the order statistics bounding the median.

    0 when even the extremes do not reach ``confidence`` (fewer than 6 values at 95%).
    """
    tail = (1.0 - confidence) / 2.0
    total = 2**n
    cumulative = 0
    k = 0
    # P(B <= k-1) grows with k; stop before it passes the tail. Exact integers: no underflow.
    while k < (n + 1) // 2 and (cumulative + math.comb(n, k)) / total <= tail:
        cumulative += math.comb(n, k)
        k += 1
    return k


def bootstrap_ratio_interval(
    legacy: Sequence[float],
    new: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``median(new) / median(legacy)``, the sides resampled apart.

    A resample's median is drawn straight from its distribution (see :func:`bootstrap_median`),
    so the cost does not grow with the sample size: pytest-benchmark may hand over 100,000 rounds.
    """
    rng = random.Random(seed)
    legacy_sorted, new_sorted = sorted(legacy), sorted(new)
    ratios = sorted(
        bootstrap_median(new_sorted, rng) / bootstrap_median(legacy_sorted, rng)
        for _ in range(resamples)
    )
    tail = (1.0 - confidence) / 2.0
    return quantile(ratios, tail), quantile(ratios, 1.0 - tail)


def bootstrap_median(ordered: Sequence[float], rng: random.Random) -> float:
    """The median of one bootstrap resample of sorted values, drawn in constant time.

    Resampling picks indices ``floor(n * U)`` with ``U`` uniform, and a sorted list maps indices
    to values monotonically, so the resample's ``m``-th smallest value is ``ordered[floor(n *
    U_(m))]``, where the ``m``-th order statistic of ``n`` uniforms is Beta(m, n - m + 1). For an
    even ``n`` the next one, ``U_(m+1)``, is the smallest of the ``n - m`` uniforms above
    ``U_(m)``: ``U_(m) + (1 - U_(m)) * Beta(1, n - m)``. This is exactly the resample's median,
    not an approximation, without building the resample.
    """
    n = len(ordered)
    if n == 1:
        return ordered[0]
    m = (n + 1) // 2
    u = rng.betavariate(m, n - m + 1)
    lower = ordered[min(int(n * u), n - 1)]
    if n % 2:
        return lower
    upper_u = u + (1.0 - u) * rng.betavariate(1, n - m)
    return (lower + ordered[min(int(n * upper_u), n - 1)]) / 2.0
