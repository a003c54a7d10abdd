"""A/A calibration: each pair's legacy side timed against itself through the latency core.

Both sides of an A/A run are the same code on the same data, so the true ratio is exactly 1; what
the measured ratios and intervals show is the noise of this machine and database under the same
interleaved rounds ``harness run`` uses. That tells how tight a ``max_latency_ratio`` the gate can
hold here: an A/A interval that excludes 1 more often than about 1 pair in 20 means the timing has
a bias (order effects, a contended machine) that a real comparison would carry too.

``harness calibrate`` prints :func:`format_calibration` of :func:`calibrate`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from harness.records import Latency
from harness.run.timing import measure_pair

if TYPE_CHECKING:
    from harness.database.target import Target
    from harness.engine import Engine

A_A = ("legacy", "legacy")


@dataclass(frozen=True)
class CalibrationRow:
    """One pair's A/A measurement; ``latency`` None when none of its cases could be timed."""

    pair: str
    cases: int
    latency: Latency | None

    @property
    def ratio(self) -> float | None:
        return self.latency.ratio if self.latency else None

    @property
    def excludes_one(self) -> bool:
        """True when the A/A interval misses 1: noise or bias made the side look unlike itself."""
        lat = self.latency
        if lat is None or lat.ratio_low is None or lat.ratio_high is None:
            return False
        return not lat.ratio_low <= 1.0 <= lat.ratio_high


def calibrate(
    engine: Engine,
    target: Target,
    *,
    budget_s: float,
    on_row: Callable[[CalibrationRow], None] | None = None,
) -> list[CalibrationRow]:
    """Time every selected pair's legacy side A/A on the seeded ``target``, ``budget_s`` per pair.

    ``on_row`` is called with each row as it is measured (the CLI prints progress with it).

    Example::

        with engine.database() as db:
            print(format_calibration(calibrate(engine, db.target, budget_s=0.3)))
    """
    rows = []
    for pair in engine.pairs:
        cases = engine.cases_of(pair)
        latency = None
        if cases:
            latency = measure_pair(cases, target, now=engine.now, budget_s=budget_s, sides=A_A)
            if latency is not None:
                latency = _as_aa(latency)
        row = CalibrationRow(pair=pair.name, cases=len(cases), latency=latency)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def _as_aa(latency: Latency) -> Latency:
    return replace(latency, method="interleaved-aa")


@dataclass(frozen=True)
class Spread:
    """The A/A ratios over all pairs, and what their intervals mean for ``max_latency_ratio``.

    ``highest_low`` is the largest lower bound: a threshold at or below it would have failed a
    pair measured against itself. ``margin`` is the median of ratio / lower bound: how far above
    the threshold a real slowdown must be before its interval clears it.
    """

    pairs: int
    low: float
    median: float
    high: float
    ci_low: float
    ci_high: float
    excluding_one: int
    highest_low: float
    highest_low_pair: str
    margin: float


def spread(rows: Sequence[CalibrationRow]) -> Spread | None:
    """Summarize the measured rows; None when no pair could be timed."""
    timed = [(r.pair, r.latency) for r in rows if r.latency is not None]
    if not timed:
        return None
    ratios = [lat.ratio for _, lat in timed]
    lows = [(lat.ratio if lat.ratio_low is None else lat.ratio_low, name) for name, lat in timed]
    highs = [lat.ratio_high if lat.ratio_high is not None else lat.ratio for _, lat in timed]
    highest_low, highest_low_pair = max(lows)
    return Spread(
        pairs=len(timed),
        low=min(ratios),
        median=statistics.median(ratios),
        high=max(ratios),
        ci_low=min(low for low, _ in lows),
        ci_high=max(highs),
        excluding_one=sum(1 for r in rows if r.excludes_one),
        highest_low=highest_low,
        highest_low_pair=highest_low_pair,
        margin=statistics.median(ratio / low for ratio, (low, _) in zip(ratios, lows, strict=True)),
    )


def format_calibration(rows: Sequence[CalibrationRow]) -> str:
    """A terminal table: a line per pair, then the spread and what it means for the gate."""
    header = ("pair", "cases", "rounds", "p50 ms", "p95 ms", "A/A ratio", "95% CI")
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        lat = row.latency
        if lat is None:
            untimed = "not timed: every case raised"
            lines.append((row.pair, str(row.cases), "-", "-", "-", "-", untimed))
            continue
        interval = (
            f"{lat.ratio_low:.3f}-{lat.ratio_high:.3f}"
            if lat.ratio_low is not None and lat.ratio_high is not None
            else "-"
        )
        mark = "  excludes 1" if row.excludes_one else ""
        lines.append(
            (
                row.pair,
                str(row.cases),
                str(lat.rounds),
                f"{lat.legacy_p50_ms:.3f}",
                f"{lat.legacy_p95_ms:.3f}" if lat.legacy_p95_ms is not None else "-",
                f"{lat.ratio:.3f}",
                interval + mark,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for number, line in enumerate(lines):
        cells = [
            cell.ljust(width) if i in (0, len(header) - 1) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    summary = spread(rows)
    if summary is None:
        out.append("")
        out.append("no pair could be timed: every case raised (`harness run` shows the errors)")
        return "\n".join(out)
    out.append("")
    out.append(
        f"A/A ratio over {summary.pairs} pair{'s' if summary.pairs != 1 else ''}: "
        f"min {summary.low:.3f}, median {summary.median:.3f}, max {summary.high:.3f}; "
        f"intervals span {summary.ci_low:.3f}-{summary.ci_high:.3f}"
    )
    out.append(
        f"{summary.excluding_one} of {summary.pairs} A/A intervals exclude 1 "
        f"({summary.pairs * 0.05:.1f} expected by chance at 95%; many more means a timing bias)"
    )
    out.append(
        f"highest lower bound {summary.highest_low:.3f} ({summary.highest_low_pair}): a "
        "max_latency_ratio at or below it would have failed a pair timed against itself"
    )
    out.append(
        f"median margin {100 * (summary.margin - 1):.1f}%: a real slowdown fails the gate once it "
        "is about that far above max_latency_ratio (a longer --bench-time narrows it)"
    )
    return "\n".join(out)
