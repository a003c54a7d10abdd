"""Peak memory of one case whose sides return 1M rows, against the size of those results.

Run it on its own (a fresh process, so the peak is this case's)::

    python benchmarks/memory_1m.py [rows] [dicts|tuples|instances]

It builds the two sides' results (the realistic rows of ``realistic.py``, the new side in
another order), measures how much the process grew for them, then runs the case as a run
does (``run_case`` on a SQLite target: normalize, compare, the tenant guard, the summary kept
for the report) and reports the peak resident size above the start, as a multiple of the
sides' own size. Goal: at most 3x.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from realistic import as_shape, row, shuffled


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    shape = sys.argv[2] if len(sys.argv) > 2 else "dicts"
    from harness.database.scratch import open_target
    from harness.registry import Case, Pair, PairOptions, PlannedCase
    from harness.run.sides import run_case

    gc.collect()
    start = rss_mb()
    shapes = {"dicts": ("dicts", "dicts"), "tuples": ("tuples", "tuples")}
    legacy_shape, new_shape = shapes.get(shape, ("peewee", "sqlalchemy"))
    legacy = as_shape([row(i) for i in range(rows)], legacy_shape)
    new = as_shape([row(i) for i in shuffled(rows)], new_shape)
    gc.collect()
    sides = rss_mb() - start
    p = Pair("issue.million", PairOptions(router="issue"), __file__)
    p.legacy(lambda ctx: legacy)
    p.new(lambda ctx: new)
    planned = PlannedCase(pair=p, label="1M", case=Case(tenant_id="org-1"))
    with open_target(None) as target:
        began = time.perf_counter()
        result = run_case(planned, target, order_seed=0)
        seconds = time.perf_counter() - began
    harness_peak = peak_mb() - start
    print(
        f"{rows} rows as {shape}: sides' results {sides:.0f} MB; peak above start "
        f"{harness_peak:.0f} MB = {harness_peak / sides:.2f}x the sides' results "
        f"(harness's own share {harness_peak - sides:.0f} MB); case {seconds:.1f} s, "
        f"{result.status}"
    )


if __name__ == "__main__":
    main()
