"""Publishing a run: results.json first (the contract), then the HTML report.

As laboratory guards ``publish``, drawing the report never changes the verdict: results.json is
written first and atomically; a report that cannot be drawn is one line on stderr, its stale
predecessor is removed (so an older run's page never looks current), and the run's exit status
stays the gate's. Only a results file that cannot be written stops the run (exit 2), because CI
scripts read it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.records import RunResult
from harness.report.results_file import write_results


@dataclass(frozen=True)
class Published:
    """Where a run's outputs went; ``report`` is None when the HTML could not be drawn."""

    results: Path
    report: Path | None
    problem: str | None = None


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def publish(
    result: RunResult, out_dir: Path, *, warn: Callable[[str], None] = _stderr
) -> Published:
    """Write ``out_dir/results.json`` and ``out_dir/index.html`` for ``result``."""
    results = out_dir / "results.json"
    try:
        write_results(result, results)
    except OSError as exc:
        raise HarnessError(
            f"cannot write {results} ({exc.strerror or exc}); give a writable --report-dir"
        ) from exc
    try:
        from harness.report.html import render_report

        report = render_report(result, out_dir=out_dir)
    except Exception as exc:  # any failure of drawing: the verdict must not depend on it
        stale = out_dir / "index.html"
        stale.unlink(missing_ok=True)
        problem = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        warn(f"harness: the HTML report could not be drawn ({problem}); {results} is complete")
        return Published(results=results, report=None, problem=problem)
    return Published(results=results, report=report)
