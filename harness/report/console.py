"""What a run prints: progress (a rich bar on a terminal, plain lines in CI logs) and the summary.

Everything goes to stderr except the summary table and command results, which go to stdout, so
that ``harness run > out.txt`` keeps what a person wants to read later.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from statistics import median
from typing import TextIO

from harness.records import RunResult

STATUS_STYLE = {
    "equal": "green",
    "expected": "cyan",
    "mismatch": "red",
    "error": "bold red",
    "skipped": "yellow",
}


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """Progress over a known number of steps; ``advance(label)`` after each."""

    def __init__(
        self, bar: object | None, task: object | None, total: int, title: str, every: int
    ) -> None:
        self._bar = bar
        self._task = task
        self.total = total
        self.title = title
        self.done = 0
        self._every = every

    def advance(self, label: str = "") -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"{self.title} {label}"[:60])  # type: ignore[attr-defined]
        elif self.done == self.total or self.done % self._every == 0:
            print(f"{self.title}: {self.done}/{self.total}", file=sys.stderr, flush=True)


@contextmanager
def progress(title: str, total: int) -> Iterator[Progress]:
    """A rich progress bar on a terminal; otherwise a plain line every tenth of the way."""
    if is_terminal():
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        with RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(title, total=total)
            yield Progress(bar, task, total, title, 1)
        return
    yield Progress(None, None, total, title, max(1, total // 10))


def note(message: str) -> None:
    """A line for the person running the harness (stderr)."""
    print(message, file=sys.stderr, flush=True)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def summary_table(result: RunResult, stream: TextIO | None = None) -> None:
    """The terminal summary: pair, router, cases, status, legacy ms, new ms, ratio, queries."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(
        file=stream or sys.stdout,
        highlight=False,
        soft_wrap=True,
        width=None if is_terminal(stream or sys.stdout) else 140,
    )
    table = Table(title=None, show_lines=False)
    for column in (
        "pair",
        "router",
        "cases",
        "status",
        "legacy ms",
        "new ms",
        "ratio",
        "queries L/N",
    ):
        table.add_column(
            column, justify="right" if column.endswith(("ms", "ratio", "cases", "L/N")) else "left"
        )
    for p in result.pairs:
        failing = sum(1 for c in p.cases if c.status != "equal")
        cases = f"{len(p.cases)}" if not failing else f"{failing}/{len(p.cases)} bad"
        legacy_ms: float | None
        new_ms: float | None
        if p.latency is not None:
            legacy_ms, new_ms = p.latency.legacy_p50_ms, p.latency.new_p50_ms
            ratio = f"{p.latency.ratio:.2f}"
        else:
            legacy_ms = median([c.legacy.ms for c in p.cases]) if p.cases else None
            new_ms = median([c.new.ms for c in p.cases]) if p.cases else None
            ratio = ""
        queries = f"{sum(c.legacy.queries for c in p.cases)}/{sum(c.new.queries for c in p.cases)}"
        status = p.status + ("" if p.gate else " (not gated)")
        if any(c.accepted for c in p.cases):
            status += " (baselined)"
        if p.violations:
            status += " +budget"
        table.add_row(
            escape(p.name),
            escape(p.router),
            cases,
            f"[{STATUS_STYLE[p.status]}]{status}[/]",
            _ms(legacy_ms),
            _ms(new_ms),
            ratio,
            queries,
        )
    console.print(table)
    s = result.summary()
    verdict = "[green]PASS[/]" if s["gate"] == "pass" else "[bold red]FAIL[/]"
    console.print(
        f"{s['pairs']} pairs: {s['equal']} equal, {s['mismatch']} mismatch, {s['error']} error, "
        f"{s['skipped']} skipped; gate {verdict}"
    )
    for p in result.pairs:
        if p.fails_gate:
            for c in p.cases:
                if c.fails:
                    console.print(f"  [red]✗[/] {escape(f'{p.name}[{c.label}]: {c.reason}')}")
                    break
            for v in p.violations:
                console.print(f"  [red]✗[/] {escape(v.message)}")
    for reason in result.gate_reasons:
        console.print(f"  [red]✗[/] {escape(reason)}")
