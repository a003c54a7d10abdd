"""Drawing the report of a large run: 1,000 failing cases with 10k-row diffs (goal: a few seconds).

pytest -n 0 benchmarks/test_bench_report.py --benchmark-enable -p no:cacheprovider
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.report.html import render_report
from tests.report_samples import big_run


def test_bench_thousand_cases_with_big_diffs(benchmark: Any, tmp_path: Path) -> None:
    run = big_run(cases=1_000, pairs=4, diff_rows=10_000)
    path = benchmark.pedantic(render_report, args=(run,), kwargs={"out_dir": tmp_path}, rounds=3)
    assert path.stat().st_size < 5_000_000
