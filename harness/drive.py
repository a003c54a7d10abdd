"""``harness run``'s two drivers of the one engine: in-process, or pytest-xdist for ``--workers N``.

The in-process driver runs the same :class:`~harness.engine.Engine` steps as the pytest plugin,
with a progress bar and the terminal summary. With several workers it hands the run to
``pytest --harness -n N``: each worker seeds its own database and the controller writes the
reports, so both drivers produce the same results.json.
"""

from __future__ import annotations

from harness.engine import Engine
from harness.errors import EXIT_FAIL, EXIT_PASS, EXIT_USAGE
from harness.records import CaseResult, Latency, RunResult
from harness.report.console import note, progress, summary_table
from harness.report.publish import Published, publish
from harness.settings import HarnessConfig, pytest_arguments


def run_direct(config: HarnessConfig) -> int:
    """Run every pair in this process; return the exit status (the gate's verdict)."""
    engine = Engine(config)
    planned = engine.plan()
    note(
        f"harness: {len(engine.pairs)} pairs, {len(planned)} cases; fixture seed {config.seed}, "
        f"{config.tenants} tenants, scale {config.scale}; side order seed {engine.order_seed} "
        f"(replay with --order-seed {engine.order_seed})"
    )
    cases: list[CaseResult] = []
    latencies: dict[str, Latency] = {}
    result: RunResult | None = None
    published: Published | None = None
    completed = False
    try:
        with engine.database() as db:
            dialect, url = engine.describe_database(db.target)
            note(f"harness: seeded {sum(db.counts.values())} rows into {url} in {db.seconds:.2f}s")
            try:
                with progress("cases", len(planned)) as bar:
                    for pc in planned:
                        cases.append(engine.run_case(pc, db.target))
                        bar.advance(pc.id)
                measured = [p for p in engine.pairs if engine.measures(p)]
                if measured:
                    with progress("latency", len(measured)) as bar:
                        for p in measured:
                            latency = engine.measure(p, db.target)
                            if latency is not None:
                                latencies[p.name] = latency
                            bar.advance(p.name)
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
    except KeyboardInterrupt:
        note("harness: interrupted; the results of what ran are written")
    if result is None:  # interrupted before the database was seeded: nothing ran
        return EXIT_FAIL
    summary_table(result)
    if published is not None:
        note(f"harness: results {published.results}, report {published.report or '(not drawn)'}")
    return EXIT_PASS if completed and result.gate_passed else EXIT_FAIL


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
    code = pytest.main(pytest_args(config))
    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return int(code)
    if code == pytest.ExitCode.INTERRUPTED:
        return EXIT_FAIL
    return EXIT_USAGE
