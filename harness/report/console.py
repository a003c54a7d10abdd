"""What a run prints: progress (a rich bar on a terminal, plain lines in CI logs) and the summary.

Everything goes to stderr except the summary table and command results, which go to stdout, so
that ``harness run > out.txt`` keeps what a person wants to read later.

Progress names the step running now (``cases · issue.list[org-1]``), not the one just done, and
estimates the time left from the steps so far. The summary fits an 80-column terminal: pair names
wrap inside their column rather than being cut, and below 100 columns the router column (most
often the name's first part) is left out.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from statistics import median
from typing import TYPE_CHECKING, Any, TextIO

from harness.records import PairResult, RunResult

if TYPE_CHECKING:
    from rich.console import Console

STATUS_STYLE = {
    "equal": "green",
    "expected": "cyan",
    "mismatch": "red",
    "error": "bold red",
    "skipped": "yellow",
}
NARROW = 100  # columns: below this the summary leaves out the router
PLAIN_WIDTH = 140  # the summary's width when stdout is no terminal (a CI log, a file)
LABEL_CHARS = 48  # a progress line's label; a summary never cuts a name


def is_terminal(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (default stderr) is a terminal a progress bar can redraw."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """Progress over a known number of steps: ``start(label)`` before each, ``advance()`` after.

    On a terminal a rich bar shows the running step and the time left; otherwise a plain line
    on stderr every tenth of the way says the same.
    """

    def __init__(
        self,
        title: str,
        total: int,
        *,
        bar: Any | None = None,
        task: Any | None = None,
        every: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.title = title
        self.total = total
        self.done = 0
        self.current = ""
        self._bar = bar
        self._task = task
        self._every = every
        self._clock = clock
        self._started = clock()

    def start(self, label: str) -> None:
        """``label`` (a pair, or a pair's case) starts running now."""
        self.current = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        if self._bar is not None:
            self._bar.update(self._task, description=f"{self.title} · {self.current}")
        elif self.done % self._every == 0:
            print(self.line(), file=sys.stderr, flush=True)

    def advance(self) -> None:
        """The running step is done."""
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1)
        elif self.done == self.total:
            print(f"{self.title}: {self.done}/{self.total} done", file=sys.stderr, flush=True)

    def seconds_left(self) -> float | None:
        """The time the remaining steps should take at the pace so far (None before one ends)."""
        if not self.done:
            return None
        return (self._clock() - self._started) / self.done * (self.total - self.done)

    def line(self) -> str:
        """The plain progress line: ``cases: 12/120 done, running issue.list, about 40 s left``."""
        text = f"{self.title}: {self.done}/{self.total} done, running {self.current}"
        left = self.seconds_left()
        return text if left is None else f"{text}, about {_duration(left)} left"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


@contextmanager
def progress(title: str, total: int, *, console: Console | None = None) -> Iterator[Progress]:
    """A rich progress bar on a terminal (or on ``console``); else a line every tenth of the way."""
    if console is None and not is_terminal():
        yield Progress(title, total, every=max(1, total // 10))
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress
    from rich.table import Column

    with RichProgress(
        # The label takes what the other columns leave and ends in "…" when even that is short.
        # markup=False: a case id's "[org-1,limit=5]" is text, not a rich style tag.
        TextColumn("{task.description}", markup=False, table_column=Column(ratio=3, no_wrap=True)),
        BarColumn(bar_width=None, table_column=Column(ratio=1)),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        expand=True,
    ) as bar:
        task = bar.add_task(title, total=total)
        yield Progress(title, total, bar=bar, task=task)


def note(message: str) -> None:
    """A line for the person running the harness (stderr)."""
    print(message, file=sys.stderr, flush=True)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _ratio(p: PairResult) -> str:
    # A case that raised was left out of the timing or timed raising: no ratio to stand by.
    if p.latency is None or p.errored:
        return ""
    return f"{p.latency.ratio:.2f}"


def prepare() -> None:
    """Import what :func:`summary_table` draws with now (rich: 20-30 ms), ahead of drawing:
    ``--workers``' controller does it while its workers run. Drawing imports it otherwise."""
    from rich import box, console, markup, table  # noqa: F401


def summary_table(
    result: RunResult, stream: TextIO | None = None, *, console: Console | None = None
) -> None:
    """The terminal summary: pair, router, cases, status, legacy ms, new ms, ratio, queries.

    ``console`` is where to print (tests pass one of a fixed width); by default a console on
    ``stream`` (stdout), as wide as the terminal, or :data:`PLAIN_WIDTH` when it is none.
    """
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if console is None:
        out = stream or sys.stdout
        console = Console(
            file=out,
            highlight=False,
            soft_wrap=True,
            width=None if is_terminal(out) else PLAIN_WIDTH,
        )
    narrow = console.width < NARROW
    # Narrow, the table takes the whole width and the name column all that the others leave.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, expand=narrow)
    # A name wraps (folds) inside its column; the numbers never do.
    table.add_column("pair", overflow="fold", ratio=1, min_width=12)
    if not narrow:
        table.add_column("router", overflow="fold", max_width=16)
    table.add_column("cases", justify="right", no_wrap=True)
    table.add_column("status", overflow="fold", max_width=14 if narrow else None)
    for header in ("legacy ms", "new ms", "ratio", "queries L/N"):
        table.add_column(header.replace(" ", "\n") if narrow else header, justify="right")
    for p in result.pairs:
        failing = sum(1 for c in p.cases if c.status != "equal")
        cases = f"{len(p.cases)}" if not failing else f"{failing}/{len(p.cases)} bad"
        legacy_ms: float | None
        new_ms: float | None
        if p.latency is not None:
            legacy_ms, new_ms = p.latency.legacy_p50_ms, p.latency.new_p50_ms
        else:
            legacy_ms = median([c.legacy.ms for c in p.cases]) if p.cases else None
            new_ms = median([c.new.ms for c in p.cases]) if p.cases else None
        queries = f"{sum(c.legacy.queries for c in p.cases)}/{sum(c.new.queries for c in p.cases)}"
        status = p.status + ("" if p.gate else " (not gated)")
        if any(c.accepted for c in p.cases):
            status += " (baselined)"
        if p.violations:
            status += " +budget"
        style = STATUS_STYLE.get(p.status, "")
        row = [escape(p.name)] + ([] if narrow else [escape(p.router)])
        row += [cases, f"[{style}]{status}[/]", _ms(legacy_ms), _ms(new_ms), _ratio(p), queries]
        table.add_row(*row)
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
