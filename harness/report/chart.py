"""The report's latency chart: p50 bars per pair, the ratio's interval and the gate's limit.

Everything is drawn in one unit, milliseconds on a shared linear scale, so the gate's rule can be
read off the picture: the new side's bar, the 95% interval of new/legacy placed on the legacy
p50 (``legacy p50 x [low, high]``), and the ``max_latency_ratio`` limit at ``legacy p50 x limit``.
A pair fails the latency rule when its whole interval lies right of its limit line.

The rows are HTML (a grid with widths in percent), not a fixed-size picture, so the chart keeps
its text readable at any width: on a phone the pair's name moves above its bars.

Example::

    rows, more = chart_rows(views)
    rows[0].new_pct, rows[0].band, rows[0].limit_pct   # e.g. 41.2, (36.0, 9.5), 96.4
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.report.html import PairView

MAX_CHART_PAIRS = 80


@dataclass(frozen=True)
class ChartRow:
    """One pair's row: what to draw, in percent of the chart's scale, and what to say."""

    view: PairView
    legacy_pct: float
    new_pct: float
    band: tuple[float, float] | None  # left, width of legacy p50 x the ratio's 95% interval
    band_cut: bool  # the interval runs past the right edge
    limit_pct: float | None  # legacy p50 x max_latency_ratio, when a limit is set


def chart_rows(
    views: Sequence[PairView], *, most: int = MAX_CHART_PAIRS
) -> tuple[list[ChartRow], int]:
    """The rows of the pairs with both p50s (at most ``most``), and how many more were left out."""
    drawable = [v for v in views if v.legacy_p50 is not None and v.new_p50 is not None]
    drawn = drawable[:most]
    top = max((_reach(v) for v in drawn), default=0.0) or 0.001

    def pct(ms: float) -> float:
        return round(min(ms / top, 1.0) * 100.0, 2)

    rows = []
    for v in drawn:
        assert v.legacy_p50 is not None and v.new_p50 is not None
        band = None
        cut = False
        interval = v.interval
        if interval is not None:
            left, right = pct(v.legacy_p50 * interval[0]), pct(v.legacy_p50 * interval[1])
            band = (left, round(max(right - left, 0.3), 2))
            cut = v.legacy_p50 * interval[1] > top
        rows.append(
            ChartRow(
                view=v,
                legacy_pct=pct(v.legacy_p50),
                new_pct=pct(v.new_p50),
                band=band,
                band_cut=cut,
                limit_pct=pct(v.legacy_p50 * v.limit) if v.limit and v.ratio is not None else None,
            )
        )
    return rows, len(drawable) - len(drawn)


def _reach(view: PairView) -> float:
    """How far right a row must reach: both bars and the limit line; an interval may be cut."""
    legacy, new = view.legacy_p50 or 0.0, view.new_p50 or 0.0
    limit = legacy * view.limit if view.limit and view.ratio is not None else 0.0
    return max(legacy, new, limit)
