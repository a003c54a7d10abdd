"""``harness run``'s drivers of the one engine: in-process, and ``--workers N``.

The in-process driver runs the same :class:`~harness.engine.Engine` steps as the pytest plugin,
with a progress bar and the terminal summary. With several workers (:func:`run_parallel`), the
controller plans the run and seeds the fixture once, clones it for each further worker
(:mod:`harness.database.clone`), and forks the workers: they inherit the loaded pairs, the
fixture data and the plan, so a worker starts in milliseconds; each runs its balanced share of
the cases (and latency measurements) on its own database and sends the results back, and the
controller writes the reports. Where processes cannot be forked, the run goes through
``pytest --harness -n N`` (pytest-xdist) instead, each worker seeding its own database. Every
driver produces the same results.json.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from harness.database.clone import clone_target
from harness.engine import Engine
from harness.errors import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, HarnessError
from harness.records import CaseResult, Latency, RunResult
from harness.report.console import note, progress, summary_table
from harness.report.publish import Published, publish
from harness.run.interrupt import stop_on_signals
from harness.run.sides import random_order_seed
from harness.settings import HarnessConfig, pytest_arguments

if TYPE_CHECKING:
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
    """
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return run_workers(config)
    with stop_on_signals():
        return _run_parallel(config)


def _run_parallel(config: HarnessConfig) -> int:
    engine = Engine(config)
    planned = engine.plan()
    engine.check_outputs()
    measured = [p.name for p in engine.pairs if engine.measures(p)]
    workers = max(1, min(config.workers, len(planned) + len(measured)))
    _announce(engine, len(planned), workers=workers)
    parts = engine.split(workers, planned, measured)
    cases: list[CaseResult] = []
    latencies: dict[str, Latency] = {}
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
                ran, latencies, problem = _fork(engine, targets, parts)
                cases = sorted(ran, key=_plan_position(engine.full_plan()))
                if problem == "interrupted":
                    raise KeyboardInterrupt
                if problem is not None:
                    raise HarnessError(problem)
                if config.keep_db:
                    for target in targets:
                        note(f"harness: database kept: {target.display_url}")
                completed = True
        except KeyboardInterrupt:
            note("harness: interrupted; the results of what ran are written")
        finally:
            result = engine.finish(
                cases,
                latencies,
                dialect=dialect,
                url=url,
                interrupted=not completed,
                extra_run={"driver": "harness run", "workers": workers},
            )
            published = publish(result, config.report_dir)
    summary_table(result)
    note(f"harness: results {published.results}, report {published.report or '(not drawn)'}")
    return EXIT_PASS if completed and result.gate_passed else EXIT_FAIL


def _plan_position(plan: list[PlannedCase]) -> Callable[[CaseResult], int]:
    position = {pc.id: index for index, pc in enumerate(plan)}
    return lambda case: position.get(f"{case.pair}[{case.label}]", len(position))


def _fork(
    engine: Engine, targets: list[Target], parts: list[list[Any]]
) -> tuple[list[CaseResult], dict[str, Latency], str | None]:
    """Run each part in a forked worker on its target; gather what they send back."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    workers = []
    for target, units in zip(targets, parts, strict=True):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_work, args=(engine, target, units, send), daemon=True)
        process.start()
        send.close()
        workers.append((process, receive))
    cases: list[CaseResult] = []
    latencies: dict[str, Latency] = {}
    problem = None
    try:
        for process, receive in workers:
            try:
                ran, measured, error = receive.recv()
            except EOFError:
                ran, measured, error = [], {}, "a worker died without a word"
            cases += ran
            latencies.update(measured)
            problem = problem or error
            process.join()
    finally:
        for process, _ in workers:
            if process.is_alive():
                process.terminate()
                process.join()
    return cases, latencies, problem


def _work(engine: Engine, target: Target, units: list[Any], send: Any) -> None:
    """A worker's loop: its cases and measurements, then one message with all it found."""
    cases: list[CaseResult] = []
    latencies: dict[str, Latency] = {}
    error = None
    pairs = {p.name: p for p in engine.pairs}
    try:
        for unit in units:
            if isinstance(unit, str):
                latency = engine.measure(pairs[unit], target)
                if latency is not None:
                    latencies[unit] = latency
            else:
                cases.append(engine.run_case(unit, target))
    except KeyboardInterrupt:
        error = "interrupted"
    except Exception as exc:
        error = f"a worker failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    finally:
        target.close()
    send.send((cases, latencies, error))
    send.close()


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
