"""``harness run``'s drivers of the one engine: in-process, and ``--workers N``.

The in-process driver runs the same :class:`~harness.engine.Engine` steps as the pytest plugin,
with a progress bar and the terminal summary. With several workers (:func:`run_parallel`), the
controller plans the run and seeds the fixture once, clones it for each further worker
(:mod:`harness.database.clone`), and forks the workers: they inherit the loaded pairs, the
fixture data and the plan, so a worker starts in milliseconds; each runs the cases (then the
latency measurements) the controller hands it as it asks, on its own database, and sends the
results back with their results.json text; the controller writes the reports. Where processes
cannot be forked, the run goes through ``pytest --harness -n N`` (pytest-xdist) instead, each
worker seeding its own database. Every driver produces the same results.json.
"""

from __future__ import annotations

import contextlib
import gc
import pickle
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from harness.database.clone import clone_target
from harness.engine import Engine
from harness.errors import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, HarnessError
from harness.records import CaseResult, Latency, RunResult
from harness.report.console import note, progress, summary_table
from harness.report.publish import Published, publish
from harness.report.results_file import CaseTexts, case_text
from harness.run.interrupt import stop_on_signals
from harness.run.sides import random_order_seed
from harness.settings import HarnessConfig, pytest_arguments
from harness.shard import CASE_FRAME_MS

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from harness.database.target import Target
    from harness.registry import PlannedCase


def run_direct(config: HarnessConfig) -> int:
    """Run every pair in this process; return the exit status (the gate's verdict).

    SIGTERM stops it as Ctrl-C does: the results of what ran are written, the report drawn,
    the scratch database dropped, exit 1; a second signal exits at once.
    """
    with stop_on_signals():
        return _run_direct(config)


def _announce(engine: Engine, cases: int, *, workers: int = 1) -> None:
    """The run's first line: what runs, on what fixture, and the seed that replays it."""
    config, seed = engine.config, engine.order_seed
    many = f", {workers} workers" if workers > 1 else ""
    note(
        f"harness: {len(engine.pairs)} pairs, {cases} cases{many}; fixture seed {config.seed}, "
        f"{config.tenants} tenants, scale {config.scale}; side order seed {seed} "
        f"(replay with --order-seed {seed})"
    )


def _run_direct(config: HarnessConfig) -> int:
    engine = Engine(config)
    planned = engine.plan()
    engine.check_outputs()
    _announce(engine, len(planned))
    cases: list[CaseResult] = []
    latencies: dict[str, Latency] = {}
    result: RunResult | None = None
    published: Published | None = None
    completed = False
    try:
        with engine.database(notify=note) as db:
            dialect, url = engine.describe_database(db.target)
            note(f"harness: seeded {sum(db.counts.values())} rows into {url} in {db.seconds:.2f}s")
            try:
                with progress("cases", len(planned)) as bar:
                    for pc in planned:
                        bar.start(pc.id)
                        cases.append(engine.run_case(pc, db.target))
                        bar.advance()
                measured = [p for p in engine.pairs if engine.measures(p)]
                if measured:
                    with progress("latency", len(measured)) as bar:
                        for p in measured:
                            bar.start(p.name)
                            latency = engine.measure(p, db.target)
                            if latency is not None:
                                latencies[p.name] = latency
                            bar.advance()
                if config.keep_db:
                    note(f"harness: database kept: {db.target.display_url}")
                completed = True
            finally:
                # Interrupted or broken half-way, a run still writes the results of what ran.
                result = engine.finish(
                    cases,
                    latencies,
                    dialect=dialect,
                    url=url,
                    interrupted=not completed,
                    extra_run={"driver": "harness run"},
                )
                published = publish(result, config.report_dir)
    except KeyboardInterrupt as exc:
        note(f"harness: {exc or 'interrupted'}; the results of what ran are written")
    if result is None:  # interrupted before the database was seeded: nothing ran
        return EXIT_FAIL
    summary_table(result)
    if published is not None:
        note(f"harness: results {published.results}, report {published.report or '(not drawn)'}")
    return EXIT_PASS if completed and result.gate_passed else EXIT_FAIL


def run_parallel(config: HarnessConfig) -> int:
    """Run with ``config.workers`` forked workers, each on its own clone of one seeded fixture.

    SIGTERM stops it as Ctrl-C does, as in :func:`run_direct`.

    The cyclic garbage collector is held off until the workers are forked, as the :mod:`gc`
    documentation advises for a process that forks without exec: what is made until then
    (modules, pairs, the plan, the fixture) lives as long as the run, and collecting it found
    next to nothing to free while taking 40 ms of the 0.6 s before the fork (scale 10). It is
    frozen at the fork (see :func:`_fork`) until the run ends.
    """
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return run_workers(config)
    collect = gc.isenabled()
    gc.disable()
    try:
        with stop_on_signals():
            return _run_parallel(config, collect=collect)
    finally:
        gc.unfreeze()
        if collect:
            gc.enable()


def _run_parallel(config: HarnessConfig, *, collect: bool) -> int:
    engine = Engine(config)
    planned = engine.plan()
    engine.check_outputs()
    measured = [p.name for p in engine.pairs if engine.measures(p)]
    workers = max(1, min(config.workers, len(planned) + len(measured)))
    _announce(engine, len(planned), workers=workers)
    gathered = _Gathered()
    completed = False
    with engine.database(notify=note) as db:
        dialect, url = engine.describe_database(db.target)
        note(f"harness: seeded {sum(db.counts.values())} rows into {url} in {db.seconds:.2f}s")
        try:
            with contextlib.ExitStack() as clones:
                started = time.perf_counter()
                targets = [db.target] + [
                    clones.enter_context(
                        clone_target(db.target, suffix=f"w{i}", keep=config.keep_db)
                    )
                    for i in range(1, workers)
                ]
                if workers > 1:
                    note(
                        f"harness: cloned it for {workers - 1} more workers in "
                        f"{time.perf_counter() - started:.2f}s"
                    )
                for target in targets:
                    target.close()  # no connection may cross a fork
                problem = _fork(engine, targets, planned, measured, gathered, collect=collect)
                if problem == "interrupted":
                    raise KeyboardInterrupt
                if problem is not None:
                    raise HarnessError(problem)
                if config.keep_db:
                    for target in targets:
                        note(f"harness: database kept: {target.display_url}")
                completed = True
        except KeyboardInterrupt as exc:
            note(f"harness: {exc or 'interrupted'}; the results of what ran are written")
        finally:
            result = engine.finish(
                sorted(gathered.cases, key=_plan_position(engine.full_plan())),
                gathered.latencies,
                dialect=dialect,
                url=url,
                interrupted=not completed,
                extra_run={"driver": "harness run", "workers": workers},
            )
            published = publish(result, config.report_dir, made=gathered.texts)
    summary_table(result)
    note(f"harness: results {published.results}, report {published.report or '(not drawn)'}")
    return EXIT_PASS if completed and result.gate_passed else EXIT_FAIL


def _plan_position(plan: list[PlannedCase]) -> Callable[[CaseResult], int]:
    position = {pc.id: index for index, pc in enumerate(plan)}
    return lambda case: position.get(f"{case.pair}[{case.label}]", len(position))


class _Gathered:
    """What the workers sent back so far: case results (with their results.json text, made by
    the worker) and latencies."""

    def __init__(self) -> None:
        self.cases: list[CaseResult] = []
        self.texts = CaseTexts()
        self.latencies: dict[str, Latency] = {}

    def add_cases(self, ran: list[tuple[CaseResult, str]]) -> None:
        for case, text in ran:
            self.cases.append(case)
            self.texts.add(case, text)


def _fork(
    engine: Engine,
    targets: list[Target],
    planned: list[PlannedCase],
    measured: list[str],
    gathered: _Gathered,
    *,
    collect: bool,
) -> str | None:
    """Run the cases, then the latency measurements, in one forked worker per target.

    Work is handed out as workers ask for it, not split up front: a case's cost (3 ms for one
    pair, 30 for another) and a measurement's (0.3 s to several seconds) are unknown ahead, and
    a fixed split leaves one worker idle while the other finishes its share. Cases go out in
    plan order, in runs of consecutive cases (one pair's cases mostly: what a worker compiled
    or cached for a pair serves its next case) that shrink as the cases run out, so that the
    workers finish together. The measurements start once every case has run (as in one
    process: a case that ran past the timeout is left out of its pair's measurement, whichever
    worker ran it), heaviest first, weighed by what the pair's cases just cost.

    With ``collect``, the garbage collector runs in the workers and here once they are forked.
    Returns the problem that stopped the run early (``"interrupted"`` for a signal), else None.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("fork")
    # The objects the workers inherit (modules, pairs, plan: ~90k at scale 10) are frozen out of
    # their garbage collections, which would walk them all each time (~60 ms) and copy the pages;
    # and out of this process's until the run ends (run_parallel), as they live as long.
    gc.freeze()
    links: dict[Any, Any] = {}  # connection -> process
    try:
        for target in targets:
            here, there = context.Pipe(duplex=True)
            process = context.Process(
                target=_work, args=(engine, target, planned, there, collect), daemon=True
            )
            process.start()
            there.close()
            links[here] = process
    finally:
        if collect:
            gc.enable()
    queue = _Handout(engine, planned, measured, workers=len(links))
    problem: str | None = None
    idle = list(links)
    busy: set[Any] = set()
    finished = False
    died = "a worker died without a word"

    def hand(conn: Any) -> bool:
        """Give ``conn``'s worker its next piece of work, if there is one for it now."""
        nonlocal problem
        try:
            given = queue.give(conn)
        except OSError:  # it is gone
            problem = problem or died
            return False
        if given:
            busy.add(conn)
        return given

    try:
        prepared = False
        while True:
            idle = [conn for conn in idle if not hand(conn)]
            if problem is not None:
                queue.stop()
            if not busy:
                break
            if not prepared:
                prepared = True
                _prepare_ending()
            for ready in wait(list(busy)):
                conn = cast("Connection", ready)  # one of ours, as given
                busy.discard(conn)
                try:
                    data = conn.recv_bytes()
                except (EOFError, OSError):
                    problem = problem or died
                    continue
                # The next run of cases goes out before this answer is read: the worker does
                # not wait while the controller takes in its results.
                if not (problem is None and queue.cases_left() and hand(conn)):
                    idle.append(conn)
                kind, payload = pickle.loads(data)
                if kind == "cases":
                    queue.ran(payload)
                    gathered.add_cases(payload)
                elif kind == "latency":
                    name, latency = payload
                    if latency is not None:
                        gathered.latencies[name] = latency
                else:  # "problem": the worker stopped
                    problem = problem or payload
                    busy.discard(conn)
                    if conn in idle:
                        idle.remove(conn)
        finished = True
    except KeyboardInterrupt:
        # Ctrl-C reaches the workers too, SIGTERM (CI, ``timeout``) only this process: each
        # worker is stopped now, and what it ran comes back before it exits.
        _stop_workers(links, gathered)
        raise
    finally:
        if finished:
            for conn in links:  # all at once: they close their databases and exit together
                with contextlib.suppress(OSError):
                    conn.send(None)  # no more work
        for conn, process in links.items():
            if finished:
                process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
            conn.close()
    return problem


def _stop_workers(links: dict[Any, Any], gathered: _Gathered, *, timeout: float = 10.0) -> None:
    """Interrupt the workers and take in what they send until each has said its last word."""
    import os
    import signal
    from multiprocessing.connection import wait

    for process in links.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGINT)
    listening = list(links)
    deadline = time.monotonic() + timeout
    while listening and (left := deadline - time.monotonic()) > 0:
        for ready in wait(listening, timeout=left):
            conn = cast("Connection", ready)
            try:
                kind, payload = conn.recv()
            except Exception:  # gone, or cut off mid-message
                kind, payload = "problem", None
            if kind == "cases":
                gathered.add_cases(payload)
            elif kind == "latency" and payload[1] is not None:
                gathered.latencies[payload[0]] = payload[1]
            elif kind == "problem":
                listening.remove(conn)


def _prepare_ending() -> None:
    """Ready what the end of the run draws with (the report's templates, the summary table's
    modules) while the workers run, not after them."""
    from harness.report import console, html

    with contextlib.suppress(Exception):  # drawing says what is wrong, if anything
        console.prepare()
        html.prepare()


class _Handout:
    """The work not handed out yet: runs of cases, then measurements, for whoever asks."""

    def __init__(
        self, engine: Engine, planned: list[PlannedCase], measured: list[str], *, workers: int
    ) -> None:
        self.engine = engine
        self.planned = planned
        self.next_case = 0
        self.workers = workers
        self.measured = measured
        self.pending: list[str] | None = None  # measurements, ordered once every case ran
        self.cost_ms: dict[str, float] = {}  # what each pair's cases cost in this run
        self.timed_out: list[str] = []
        self.out = 0  # runs of cases handed out and not answered yet

    def cases_left(self) -> bool:
        return self.next_case < len(self.planned)

    def give(self, conn: Any) -> bool:
        """Send ``conn``'s worker its next piece of work; False when there is none for it now."""
        left = len(self.planned) - self.next_case
        if left > 0:
            # Guided: a worker takes its share of half of what is left (at least one case).
            size = max(1, -(-left // (2 * self.workers)))
            first, self.next_case = self.next_case, self.next_case + size
            conn.send(("cases", (first, self.next_case)))
            self.out += 1
            return True
        if self.out > 0:
            # Cases still running elsewhere: this worker waits; the measurements start once
            # they are back. Whoever answers last hands the measurements out.
            return False
        if self.pending is None:
            self.pending = sorted(self.measured, key=lambda name: -self._weight(name))
        if not self.pending:
            return False
        conn.send(("measure", (self.pending.pop(0), self.timed_out)))
        return True

    def ran(self, ran: list[tuple[CaseResult, str]]) -> None:
        self.out -= 1
        for case, _ in ran:
            ms = case.legacy.ms + case.new.ms + CASE_FRAME_MS
            self.cost_ms[case.pair] = self.cost_ms.get(case.pair, 0.0) + ms
            if case.error is not None and case.error.category == "timeout":
                self.timed_out.append(f"{case.pair}[{case.label}]")

    def stop(self) -> None:
        self.next_case = len(self.planned)
        self.pending = []

    def _weight(self, name: str) -> float:
        # A measurement runs every case of the pair in a warm-up round and at least six more,
        # and takes at least its --bench-time.
        return max(self.engine.config.bench_time * 1000.0, 7 * self.cost_ms.get(name, 0.0))


def _work(
    engine: Engine, target: Target, planned: list[PlannedCase], conn: Any, collect: bool
) -> None:
    """A worker's loop: run what the controller sends, answer each piece with what it found.

    Each case result goes back with its results.json text, made here, in parallel with the
    other workers, rather than by the controller at the end of the run.
    """
    import signal

    if collect:  # held off in the controller until the fork (run_parallel)
        gc.enable()

    from harness.run.watchdog import INTERRUPT_SIGNAL, Watchdog

    config = engine.config
    pairs = {p.name: p for p in engine.pairs}
    # The controller's watchdog thread did not survive the fork: this worker watches its own
    # sides, and its database stops a statement past the timeout as the controller's would.
    target.statement_timeout = config.case_timeout
    # The controller's watchdog's signal handler came along too; it is this worker's dog's.
    signal.signal(INTERRUPT_SIGNAL, signal.SIG_DFL)
    # The first SIGINT or SIGTERM (Ctrl-C, or the controller stopping it) interrupts the work,
    # later ones do not interrupt sending back what ran (the controller's handler would exit).
    stopping: list[int] = []

    def interrupt(signum: int, frame: Any) -> None:
        if not stopping:
            stopping.append(signum)
            raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, interrupt)
    ran: list[tuple[CaseResult, str]] = []
    try:
        with Watchdog(config.case_timeout) as dog:
            target.watchdog = dog
            while (work := conn.recv()) is not None:
                kind, what = work
                if kind == "cases":
                    for pc in planned[what[0] : what[1]]:
                        case = engine.run_case(pc, target)
                        ran.append((case, case_text(case)))
                    conn.send(("cases", ran))
                    ran = []
                else:
                    name, timed_out = what
                    engine._timed_out.update(timed_out)
                    conn.send(("latency", (name, engine.measure(pairs[name], target))))
    except KeyboardInterrupt:
        if ran:  # the cases of this run that were done
            _send_quietly(conn, ("cases", ran))
        _send_quietly(conn, ("problem", "interrupted"))
    except Exception as exc:
        message = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        _send_quietly(conn, ("problem", f"a worker failed: {message}"))
    finally:
        target.watchdog = None
        target.close()
        conn.close()


def _send_quietly(conn: Any, message: Any) -> None:
    with contextlib.suppress(OSError):
        conn.send(message)


def pytest_args(config: HarnessConfig) -> list[str]:
    """The ``pytest`` arguments that run ``config`` through the plugin with pytest-xdist."""
    head = ["--harness", "--harness-only-pairs", "-p", "no:cacheprovider", "-q"]
    return [*head, "-n", str(config.workers), *pytest_arguments(config)]


def run_workers(config: HarnessConfig) -> int:
    """Run through ``pytest --harness -n N``; map pytest's exit status onto the harness's."""
    import importlib.util

    import pytest

    if importlib.util.find_spec("xdist") is None:  # not imported: pytest must load it itself
        from harness.errors import ConfigError

        raise ConfigError(
            '--workers needs pytest-xdist; install it with: python -m pip install "orm-shadow-harness[xdist]"'
        ) from None
    if config.order_seed is None:
        # Drawn here, not by each worker: the seed printed is the one every worker uses.
        config = replace(config, order_seed=random_order_seed())
    note(
        f"harness: {config.workers} workers; side order seed {config.order_seed} "
        f"(replay with --order-seed {config.order_seed})"
    )
    engine = Engine(config)
    engine.plan()
    engine.check_outputs()
    engine.preflight(notify=note)  # an unreachable server: its own line now, not a worker crash
    code = pytest.main(pytest_args(config))
    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return int(code)
    if code == pytest.ExitCode.INTERRUPTED:
        return EXIT_FAIL
    return EXIT_USAGE
