"""What a run prints: the summary in an 80-column terminal, and progress that names what runs."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from report_samples import sample_run
from rich.console import Console

from harness.records import Latency, RunResult
from harness.report.console import Progress, progress, summary_table

LONG = "issue.search_with_very_long_filters_and_pagination_across_tenants"


def _long_named_run() -> RunResult:
    run = sample_run()
    pairs = list(run.pairs)
    pairs[0] = replace(pairs[0], name=LONG)
    pairs[1] = replace(pairs[1], name="issue.bulk_update_statuses")
    return replace(run, pairs=tuple(pairs))


def _summary(run: RunResult, width: int) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, highlight=False, soft_wrap=True)
    summary_table(run, console=console)
    return buffer.getvalue()


def _table(text: str) -> tuple[str, list[str]]:
    """The table's header line (the one naming ``pair``) and its body lines."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if "─" in line)
    end = next(i for i in range(rule + 1, len(lines)) if not lines[i].strip())
    return lines[rule - 1], lines[rule + 1 : end]


def test_summary_fits_80_columns_without_cutting_names() -> None:
    run = _long_named_run()
    text = _summary(run, 80)
    header, body = _table(text)
    assert all(len(line) <= 80 for line in [header, *body])
    assert "…" not in "".join(body)
    assert "router" not in header  # narrow: the name's first part says it already
    # The name column, read top to bottom, holds every name in full: wrapped, never cut.
    start = header.index("pair")
    first = body[0][start:].split(" ")[0]  # the long name fills its column's first line
    width = len(first)
    column = "".join(line[start : start + width].strip() for line in body)
    assert column == "".join(p.name for p in run.pairs)
    assert width >= 20  # room for most names on one line


def test_summary_in_a_wide_terminal_keeps_the_router_and_one_line_per_pair() -> None:
    run = _long_named_run()
    header, body = _table(_summary(run, 200))
    assert "router" in header
    assert len(body) == len(run.pairs) and any(LONG in line for line in body)


def test_no_ratio_for_a_pair_whose_cases_errored() -> None:
    run = sample_run()
    pairs = list(run.pairs)
    assert pairs[3].name == "machine.list" and pairs[3].errored
    pairs[3] = replace(pairs[3], latency=Latency(1.0, 0.37, 0.37, ratio_low=0.3, ratio_high=0.5))
    _, body = _table(_summary(replace(run, pairs=tuple(pairs)), 120))
    row = next(line for line in body if "machine.list" in line)
    assert "0.37" in row  # its new p50 is shown ...
    assert row.count("0.37") == 1  # ... but not as a ratio
    issue_list = next(line for line in body if line.lstrip().startswith("issue.list"))
    assert "0.46" in issue_list  # a pair whose cases ran keeps its ratio


def test_plain_progress_names_the_running_step_and_the_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = [100.0]
    bar = Progress("cases", 20, every=10, clock=lambda: now[0])
    for n in range(20):
        bar.start(f"issue.list[org-{n}]")
        now[0] += 0.5
        bar.advance()
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "cases: 0/20 done, running issue.list[org-0]",
        "cases: 10/20 done, running issue.list[org-10], about 5 s left",
        "cases: 20/20 done",
    ]


def test_progress_bar_names_the_running_pair_with_an_eta() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=80, color_system=None)
    with progress("cases", 3, console=console) as bar:
        bar.start(LONG)
        bar.advance()
        bar.start("issue.list[org-1,limit=5]")  # running now: named, not the case that is done
    frames = [f for f in re.split(r"\r|\n", buffer.getvalue()) if "cases" in f]
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", frames[-1])
    assert last.startswith("cases · issue.list[org-1,limit=5] ")  # brackets are text, not markup
    assert "issue.search" not in last
    assert "1/3" in last and "eta" in last
    assert len(last) <= 80


def test_prepare_imports_what_the_summary_draws_with() -> None:
    """``--workers``' controller readies the summary while its workers run: drawing it then
    imports nothing more but the emoji codes rich reads on its first markup (2 ms). In a fresh
    interpreter, so that no other test imported rich first."""
    code = (
        "import io, sys\n"
        "from report_samples import sample_run\n"
        "from harness.report import console\n"
        "run = sample_run()\n"
        "assert 'rich.table' not in sys.modules\n"
        "console.prepare()\n"
        "before = set(sys.modules)\n"
        "console.summary_table(run, io.StringIO())\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['rich._emoji_codes']"
