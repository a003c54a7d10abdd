"""The latency core: its statistics on known samples, and how it schedules the sides' calls.

No test here times anything real: the statistics get synthetic samples, and the scheduler gets a
fake side timer that records each call and advances a fake clock. Performance goals live in
``benchmarks/``.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.gate import latency as bench
from harness.gate.latency import (
    bootstrap_median,
    bootstrap_ratio_interval,
    latency_from_samples,
    median_interval,
    median_rank,
    quantile,
    symmetric_median,
)
from harness.run.timing import measure_pair

NOW: Any = None  # the fake timer ignores it


def lognormal(rng: random.Random, n: int, median: float, sigma: float = 0.15) -> list[float]:
    return [median * math.exp(rng.gauss(0.0, sigma)) for _ in range(n)]


# --- statistics -------------------------------------------------------------------------------


def test_paired_ratio_of_twice_as_slow_is_two_with_an_interval_excluding_one() -> None:
    rng = random.Random(1)
    legacy = lognormal(rng, 60, 0.010)
    # The new side is twice as slow in every round, with its own noise on top.
    new = [2 * x * math.exp(rng.gauss(0.0, 0.05)) for x in legacy]
    lat = latency_from_samples(legacy, new, paired=True, method="interleaved")
    assert lat.ratio == pytest.approx(2.0, rel=0.05)
    assert lat.ratio_low is not None and lat.ratio_high is not None
    assert lat.ratio_low <= 2.0 <= lat.ratio_high
    assert lat.ratio_low > 1.0
    assert lat.rounds == 60
    assert lat.method == "interleaved"


def test_identical_samples_give_ratio_one_and_a_point_interval() -> None:
    samples = lognormal(random.Random(2), 31, 0.004)
    lat = latency_from_samples(samples, list(samples), paired=True, method="interleaved")
    assert (lat.ratio, lat.ratio_low, lat.ratio_high) == (1.0, 1.0, 1.0)
    assert lat.legacy_p50_ms == lat.new_p50_ms
    assert lat.legacy_p95_ms == lat.new_p95_ms


def test_percentiles_are_reported_in_milliseconds() -> None:
    legacy = [i / 1000 for i in range(1, 101)]  # 1 .. 100 ms
    lat = latency_from_samples(legacy, [x * 3 for x in legacy], paired=True, method="interleaved")
    assert lat.legacy_p50_ms == pytest.approx(50.5)
    assert lat.legacy_p95_ms == pytest.approx(95.05)
    assert lat.new_p50_ms == pytest.approx(151.5)
    assert lat.ratio == pytest.approx(3.0)


def test_samples_of_several_calls_are_reported_per_call() -> None:
    # pytest-benchmark times a round over all of a pair's cases; a call is a case.
    lat = latency_from_samples([0.03, 0.03], [0.06, 0.06], paired=False, method="x", calls=3)
    assert (lat.legacy_p50_ms, lat.new_p50_ms, lat.ratio) == (10.0, 20.0, 2.0)
    with pytest.raises(ValueError, match="calls"):
        latency_from_samples([0.03], [0.06], paired=False, method="x", calls=0)


def test_paired_ratio_shrugs_off_rounds_where_noise_hit_one_side() -> None:
    rng = random.Random(3)
    legacy = lognormal(rng, 40, 0.010, sigma=0.02)
    new = [1.5 * x for x in legacy]
    for i in range(0, 40, 5):  # a neighbour took the CPU during 8 of 40 legacy calls
        legacy[i] *= 20
    lat = latency_from_samples(legacy, new, paired=True, method="interleaved")
    assert lat.ratio == pytest.approx(1.5, rel=0.01)
    mean_ratio = statistics.fmean(b / a for a, b in zip(legacy, new, strict=True))
    assert abs(mean_ratio - 1.5) > 0.2  # what a ratio of means would have reported instead


def test_swapping_the_sides_inverts_the_ratio_and_its_interval() -> None:
    rng = random.Random(4)
    a = lognormal(rng, 20, 0.01)  # an even count: the geometric middle keeps the symmetry
    b = lognormal(rng, 20, 0.013)
    ab = latency_from_samples(a, b, paired=True, method="interleaved")
    ba = latency_from_samples(b, a, paired=True, method="interleaved")
    assert ab.ratio * ba.ratio == pytest.approx(1.0, abs=1e-3)
    assert ab.ratio_low * ba.ratio_high == pytest.approx(1.0, abs=1e-3)  # type: ignore[operator]


def test_unpaired_samples_use_the_ratio_of_medians_with_a_seeded_bootstrap() -> None:
    rng = random.Random(5)
    legacy = lognormal(rng, 200, 0.010)
    new = lognormal(rng, 150, 0.020)  # pytest-benchmark may run the sides different rounds
    lat = latency_from_samples(legacy, new, paired=False, method="pytest-benchmark")
    expected = statistics.median(new) / statistics.median(legacy)
    assert lat.ratio == pytest.approx(expected, abs=1e-4)
    assert lat.ratio_low < expected < lat.ratio_high  # type: ignore[operator]
    assert lat.ratio_low > 1.0  # type: ignore[operator]
    assert lat.method == "pytest-benchmark"
    assert lat.rounds == 150
    again = latency_from_samples(legacy, new, paired=False, method="pytest-benchmark")
    assert (again.ratio_low, again.ratio_high) == (lat.ratio_low, lat.ratio_high)


def test_unpaired_interval_of_equal_distributions_contains_one() -> None:
    rng = random.Random(6)
    legacy, new = lognormal(rng, 300, 0.01), lognormal(rng, 300, 0.01)
    lat = latency_from_samples(legacy, new, paired=False, method="pytest-benchmark")
    assert lat.ratio_low < 1.0 < lat.ratio_high  # type: ignore[operator]


def test_bootstrap_median_shortcut_matches_resampling_by_hand() -> None:
    """The order-statistic draw gives the same distribution as building each resample."""
    data = sorted(lognormal(random.Random(7), 40, 1.0, sigma=0.5))  # even: two middle values
    fast_rng, slow_rng = random.Random(8), random.Random(9)
    fast = sorted(bootstrap_median(data, fast_rng) for _ in range(6000))
    slow = sorted(statistics.median(slow_rng.choices(data, k=len(data))) for _ in range(6000))
    for q in (0.025, 0.25, 0.5, 0.75, 0.975):
        assert quantile(fast, q) == pytest.approx(quantile(slow, q), rel=0.03)


def test_bootstrap_median_of_one_value_is_that_value() -> None:
    assert bootstrap_median([3.0], random.Random(0)) == 3.0


def test_bootstrap_interval_is_cheap_on_huge_samples() -> None:
    # 100,000 pytest-benchmark rounds must not mean 2,000 sorts of 100,000 values: the counting
    # list proves that a resample's median reads at most two values.
    legacy = [0.001 + i * 1e-9 for i in range(100_000)]
    calls = 0

    class Counting(list[float]):
        def __getitem__(self, index: Any) -> Any:
            nonlocal calls
            calls += 1
            return super().__getitem__(index)

    rng = random.Random(0)
    for _ in range(100):
        bootstrap_median(Counting(legacy), rng)
    assert calls <= 200
    low, high = bootstrap_ratio_interval(legacy, [2 * x for x in legacy], resamples=500)
    assert 1.99 < low <= high < 2.01


@pytest.mark.parametrize(
    ("n", "k"),
    [(5, 0), (6, 1), (8, 1), (9, 2), (10, 2), (20, 6), (100, 40)],
)
def test_median_rank_matches_the_binomial_table(n: int, k: int) -> None:
    # Known values of the 95% distribution-free median interval (e.g. n=20: 6th to 15th value).
    assert median_rank(n) == k
    if k:
        coverage = 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        assert coverage >= 0.95


def test_median_interval_falls_back_to_the_extremes_for_few_rounds() -> None:
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) == (1.0, 5.0)
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) == (1.0, 6.0)
    assert median_interval([float(i) for i in range(1, 21)]) == (6.0, 15.0)


def test_median_interval_covers_the_true_median_about_95_percent_of_the_time() -> None:
    rng = random.Random(10)
    hits = 0
    trials = 2000
    for _ in range(trials):
        sample = sorted(rng.lognormvariate(0.0, 0.4) for _ in range(30))  # true median 1.0
        low, high = median_interval(sample)
        hits += low <= 1.0 <= high
    assert 0.94 <= hits / trials <= 0.99  # n=30: exact coverage 95.7%


def test_symmetric_median_and_quantile() -> None:
    assert symmetric_median([1.0, 2.0, 8.0]) == 2.0
    assert symmetric_median([1.0, 4.0]) == 2.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([7.0], 0.95) == 7.0


def test_bad_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        latency_from_samples([], [1.0], paired=False, method="x")
    with pytest.raises(ValueError, match="equal lengths"):
        latency_from_samples([1.0, 2.0], [1.0], paired=True, method="x")


def test_a_zero_duration_does_not_divide_by_zero() -> None:
    lat = latency_from_samples([0.0, 0.0, 0.0], [0.001, 0.001, 0.001], paired=True, method="x")
    assert math.isfinite(lat.ratio)


# --- scheduling -------------------------------------------------------------------------------


@dataclass
class FakeSides:
    """A side timer that records its calls and advances a fake clock by the time it reports."""

    seconds: dict[str, float] = field(default_factory=lambda: {"legacy": 0.01, "new": 0.02})
    per_case: dict[tuple[str, str], float] = field(default_factory=dict)  # (case id, side)
    fail: set[tuple[str, str]] = field(default_factory=set)  # (case id, side) that raise
    fail_after: int | None = None  # calls before the failing pairs start raising
    calls: list[tuple[str, str]] = field(default_factory=list)
    now: float = 0.0

    def timer(self, planned: Any, side: str, target: Any, now: Any) -> float:
        self.calls.append((planned.id, side))
        ready = self.fail_after is None or len(self.calls) > self.fail_after
        if ready and (planned.id, side) in self.fail:
            raise RuntimeError("boom")
        seconds = self.per_case.get((planned.id, side), self.seconds[side])
        self.now += seconds
        return seconds

    def clock(self) -> float:
        return self.now


def case(name: str) -> Any:
    return SimpleNamespace(id=name)


def run(fake: FakeSides, cases: list[Any], **kwargs: Any) -> Any:
    kwargs.setdefault("budget_s", 1.0)
    return measure_pair(cases, None, now=NOW, timer=fake.timer, clock=fake.clock, **kwargs)  # type: ignore[arg-type]


def test_sides_are_interleaved_per_case_and_the_first_side_alternates() -> None:
    fake = FakeSides()
    lat = run(fake, [case("c1"), case("c2")], budget_s=0.0, min_rounds=4, warmup=1)
    warmup, measured = fake.calls[:4], fake.calls[4:]
    assert warmup == [("c1", "legacy"), ("c1", "new"), ("c2", "legacy"), ("c2", "new")]
    legacy_first = [("c1", "legacy"), ("c1", "new"), ("c2", "legacy"), ("c2", "new")]
    new_first = [("c1", "new"), ("c1", "legacy"), ("c2", "new"), ("c2", "legacy")]
    assert measured == legacy_first + new_first + legacy_first + new_first
    assert lat.rounds == 4
    assert lat.legacy_p50_ms == pytest.approx(10.0)  # per call
    assert lat.new_p50_ms == pytest.approx(20.0)
    assert lat.ratio == pytest.approx(2.0)


def test_the_ratio_pairs_single_calls_not_round_totals() -> None:
    # c1 doubles, c2 is unchanged: per call, the new side is 2x half the time and 1x the other
    # half; the median of the paired calls lies between (the geometric mean of the middle two),
    # where round totals (12 ms / 11 ms) would have hidden c1's slowdown behind c2's cost.
    fake = FakeSides(
        per_case={
            ("c1", "legacy"): 0.001,
            ("c1", "new"): 0.002,
            ("c2", "legacy"): 0.010,
            ("c2", "new"): 0.010,
        }
    )
    lat = run(fake, [case("c1"), case("c2")], budget_s=0.0, min_rounds=6)
    assert lat.rounds == 6
    assert lat.ratio == pytest.approx(math.sqrt(2), abs=1e-3)
    assert (lat.ratio_low, lat.ratio_high) == (1.0, 2.0)


def test_rounds_fill_the_budget_without_passing_it() -> None:
    fake = FakeSides(seconds={"legacy": 0.01, "new": 0.01})
    lat = run(fake, [case("c1")], budget_s=1.0, warmup=1)
    round_cost = 0.02
    spent = len(fake.calls) * 0.01
    assert 1.0 - 2 * round_cost < spent <= 1.0
    assert lat.rounds == len(fake.calls) // 2 - 1  # every call but the warm-up's is a sample
    assert lat.rounds % 2 == 0  # each side went first equally often


def test_min_rounds_wins_over_a_tiny_budget_and_is_made_even() -> None:
    fake = FakeSides()
    lat = run(fake, [case("c1")], budget_s=1e-6, min_rounds=5, warmup=2)
    assert lat.rounds == 6
    assert len(fake.calls) == 2 * (2 + 6)


def test_max_rounds_caps_a_generous_budget() -> None:
    fake = FakeSides()
    lat = run(fake, [case("c1")], budget_s=1e6, max_rounds=20)
    assert lat.rounds == 20
    assert len(fake.calls) == 2 * (1 + 20)


def test_a_case_that_raises_in_warm_up_is_left_out() -> None:
    fake = FakeSides(fail={("bad", "new")})
    lat = run(fake, [case("good"), case("bad")], budget_s=0.0, min_rounds=2)
    assert lat is not None and lat.rounds == 2
    after_warmup = fake.calls[fake.calls.index(("bad", "new")) + 1 :]
    assert after_warmup and all(name == "good" for name, _side in after_warmup)


def test_a_case_that_starts_raising_later_is_dropped_and_the_samples_restart() -> None:
    fake = FakeSides(seconds={"legacy": 0.01, "new": 0.03}, fail={("bad", "legacy")}, fail_after=8)
    lat = run(fake, [case("good"), case("bad")], budget_s=0.0, min_rounds=4)
    assert lat is not None and lat.rounds == 4
    # After the failure every recorded round holds the good case alone, so the per-call means
    # are its own times, not a mix of two cases' rounds.
    failed_at = fake.calls.index(("bad", "legacy"), 8)
    assert all(name == "good" for name, _ in fake.calls[failed_at + 1 :])
    assert len(fake.calls[failed_at + 1 :]) == 2 * 4
    assert lat.ratio == pytest.approx(3.0)


def test_a_pair_none_of_whose_cases_run_is_not_timed() -> None:
    fake = FakeSides(fail={("c1", "legacy")})
    assert run(fake, [case("c1")]) is None
    assert run(FakeSides(), []) is None


def test_a_a_calibration_runs_the_same_side_twice() -> None:
    fake = FakeSides()
    lat = run(fake, [case("c1")], budget_s=0.0, min_rounds=2, sides=("legacy", "legacy"))
    assert {side for _name, side in fake.calls} == {"legacy"}
    assert lat.ratio == 1.0


def test_bench_module_does_not_import_pytest() -> None:
    source = Path(bench.__file__).read_text(encoding="utf-8")
    assert "import pytest" not in source


# --- A/A calibration ------------------------------------------------------------------------------


def test_calibrate_times_each_pairs_legacy_side_against_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness import calibrate as cal
    from harness.run import timing

    fake = FakeSides(fail={("broken[c1]", "legacy")})
    monkeypatch.setattr(timing, "time_side", fake.timer)
    good, broken = SimpleNamespace(name="good"), SimpleNamespace(name="broken")
    planned = [
        SimpleNamespace(id="good[c1]", pair=good),
        SimpleNamespace(id="good[c2]", pair=good),
        SimpleNamespace(id="broken[c1]", pair=broken),
    ]
    engine: Any = SimpleNamespace(
        pairs=[good, broken], cases_of=lambda p: [pc for pc in planned if pc.pair is p], now=None
    )
    seen: list[str] = []
    rows = cal.calibrate(engine, None, budget_s=0.0, on_row=lambda row: seen.append(row.pair))  # type: ignore[arg-type]
    assert seen == ["good", "broken"]
    assert {side for _name, side in fake.calls} == {"legacy"}
    assert rows[0].cases == 2 and rows[0].latency is not None
    assert rows[0].latency.ratio == 1.0 and rows[0].latency.method == "interleaved-aa"
    assert rows[1].latency is None
    table = cal.format_calibration(rows)
    assert "not timed: every case raised" in table
    assert "A/A ratio over 1 pair: min 1.000, median 1.000, max 1.000" in table


def aa_row(name: str, ratio: float, low: float, high: float) -> Any:
    from harness.calibrate import CalibrationRow
    from harness.records import Latency

    lat = Latency(1.0, ratio, ratio, 1.2, 1.2 * ratio, low, high, 20, "interleaved-aa")
    return CalibrationRow(pair=name, cases=2, latency=lat)


def test_calibration_spread_and_what_it_means_for_the_gate() -> None:
    from harness.calibrate import format_calibration, spread

    rows = [
        aa_row("a", 0.98, 0.95, 1.02),
        aa_row("b", 1.01, 0.99, 1.05),
        aa_row("c", 1.08, 1.02, 1.12),
    ]
    summary = spread(rows)
    assert summary is not None
    assert (summary.low, summary.median, summary.high) == (0.98, 1.01, 1.08)
    assert (summary.ci_low, summary.ci_high) == (0.95, 1.12)
    assert summary.excluding_one == 1
    assert (summary.highest_low, summary.highest_low_pair) == (1.02, "c")
    table = format_calibration(rows)
    assert "1.020-1.120  excludes 1" in table
    assert "highest lower bound 1.020 (c)" in table
    assert spread([]) is None
    assert "no pair could be timed" in format_calibration([])
