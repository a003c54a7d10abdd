"""The pytest plugin: ``pytest --harness`` (or ``harness = true`` in the pytest configuration).

Hooks, options and thin fixtures only; the work is done by :mod:`harness.engine`. Inert until
asked for. Each pair x case becomes a test item named ``<pair>[<case label>]`` through
``pytest_generate_tests``; case results travel on the test reports as JSON-safe data, so under
pytest-xdist only the controller assembles results.json and the HTML report.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from harness.errors import HarnessError
from harness.run.interrupt import stop_on_signals
from harness.settings import SETTINGS, HarnessConfig, project_on_path, read_pyproject, resolve

if TYPE_CHECKING:
    # The engine (and SQLAlchemy, peewee) load only when the harness is switched on.
    from harness.engine import Engine, SeededDatabase
    from harness.records import CaseResult, Latency, RunResult, Side
    from harness.registry import Pair, PlannedCase
    from harness.report.publish import Published

PLUGIN_KEY = pytest.StashKey["HarnessSession"]()
CASE_KEY = pytest.StashKey["CaseResult"]()
LATENCY_KEY = pytest.StashKey[dict[str, Any]]()
LATENCY_IDS = ("latency:legacy", "latency:new")
# The controller's side-order seed, handed to each pytest-xdist worker in its workerinput.
ORDER_SEED_INPUT = "harness_order_seed"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "query-equivalence harness")
    group.addoption(
        "--harness", action="store_true", default=None, help="run the registered pairs as tests"
    )
    parser.addini(
        "harness",
        type="bool",
        default=False,
        help="run the registered pairs as tests (as --harness)",
    )
    for setting in SETTINGS:
        if setting.name == "workers":
            continue  # under pytest, that is pytest-xdist's -n
        if setting.switch:
            group.addoption(
                setting.pytest_flag,
                action="store_const",
                const=True,
                default=None,
                help=setting.help,
            )
            if setting.negative:
                group.addoption(
                    "--harness-" + setting.negative[2:],
                    dest="harness_" + setting.name,
                    action="store_const",
                    const=False,
                )
        else:
            group.addoption(
                setting.pytest_flag,
                action="append" if setting.multiple else "store",
                default=None,
                metavar=setting.metavar,
                dest="harness_" + setting.name,
                help=setting.help,
            )
        ini_type: Literal["linelist", "string"] = "linelist" if setting.multiple else "string"
        parser.addini(
            setting.ini_key,
            type=ini_type,
            default=None,
            help=setting.help,
        )
    group.addoption(
        "--harness-only-pairs",
        action="store_true",
        default=False,
        help="collect the harness items only",
    )


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("harness") or config.getini("harness"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "harness: a pair x case of the query-equivalence harness")
    config.addinivalue_line("markers", "harness_writes: a harness item of a writing pair")
    if not _enabled(config):
        return
    from harness.engine import Engine

    try:
        settings = harness_config(config)
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and ORDER_SEED_INPUT in workerinput:
            # The controller's seed, the one it prints: side order is then a function of that
            # seed and the case alone, whichever worker runs the case, and a replay replays.
            settings = replace(settings, order_seed=workerinput[ORDER_SEED_INPUT])
        engine = Engine(settings)
        engine.plan()
        if not hasattr(config, "workerinput"):
            engine.check_outputs()
    except HarnessError as exc:
        raise pytest.UsageError(f"harness: {exc}") from exc
    session = HarnessSession(config, engine)
    config.stash[PLUGIN_KEY] = session
    config.pluginmanager.register(session, "harness-session")
    config.args[:] = collection_args(config, session.files)


def collection_args(config: pytest.Config, pair_files: Any) -> list[str]:
    """pytest's arguments with the pair files added, as pytest would add ``testpaths``.

    Paths or node ids on the command line select as usual: nothing is added to them. With none
    (pytest collects ``testpaths`` or the current folder), the configured pair files are
    collected too, wherever they live in the project.
    """
    files = sorted({str(f) for f in pair_files})
    if config.getoption("harness_only_pairs"):
        return files
    args = list(config.args)
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return args
    roots = [Path(a).resolve() for a in args]
    return args + [f for f in files if not any(Path(f).is_relative_to(r) for r in roots)]


def harness_config(config: pytest.Config) -> HarnessConfig:
    """The run's settings from ``--harness-*`` options, ini keys and ``[tool.harness]``."""
    cli = {
        s.name: config.getoption("harness_" + s.name, default=None)
        for s in SETTINGS
        if s.name != "workers"
    }
    ini = {s.name: _ini(config, s.ini_key) for s in SETTINGS if s.name != "workers"}
    # The nearest pyproject.toml from where pytest was started, as for `harness run`; the
    # project's own packages (its provider, its pair modules) import from its root.
    project, project_file = read_pyproject(config.invocation_params.dir)
    project_on_path(project_file, config.invocation_params.dir)
    return resolve(cli, ini=ini, project=project, project_file=project_file, surface="pytest")


def _ini(config: pytest.Config, key: str) -> Any:
    value = config.getini(key)
    return value or None


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(PLUGIN_KEY, None)
    if session is not None:
        session.signals.close()
        config.pluginmanager.unregister(session)
        del config.stash[PLUGIN_KEY]


@pytest.fixture(scope="session")
def harness_database(request: pytest.FixtureRequest) -> Iterator[SeededDatabase]:
    """The seeded scratch database of this process (one per pytest-xdist worker)."""
    session: HarnessSession = request.config.stash[PLUGIN_KEY]
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    try:
        with session.engine.database(worker=worker, notify=session.note) as db:
            session.database = session.engine.describe_database(db.target)
            yield db
    except HarnessError as exc:
        output = getattr(request.config, "workeroutput", None)
        if output is not None:  # the controller prints it, not only "worker 'gw0' crashed"
            output["harness_error"] = str(exc)
        pytest.exit(f"harness: {exc}", returncode=2)


def _pair_test(pair: Pair) -> types.FunctionType:
    def test(harness_case: PlannedCase | str, request: pytest.FixtureRequest) -> None:
        session: HarnessSession = request.config.stash[PLUGIN_KEY]
        db: SeededDatabase = request.getfixturevalue("harness_database")
        if isinstance(harness_case, str):
            session.run_latency(pair, harness_case, db, request)
        else:
            session.run_item(harness_case, db, request)

    test.__name__ = pair.name
    test._harness_pair = pair  # type: ignore[attr-defined]
    return test  # type: ignore[return-value]


def _located(pair: Pair, name: str) -> Any:
    file, _, line = pair.where.rpartition(":")
    lineno = int(line) - 1 if line.isdigit() else None

    def reportinfo() -> tuple[Path, int | None, str]:
        return Path(file), lineno, f"{name} "

    return reportinfo


class PairModule(pytest.Module):
    """A pair module seen by pytest: one test function per pair, named after the pair.

    Why pytest's private ``Module._getobj``: a pair file must not be imported a second time as a
    test module (its ``pair()`` calls would register every pair again, under another module
    name), yet pytest's ``Module`` collects the functions of the object ``_getobj`` returns, and
    no public hook hands it a ready module object. Overriding ``_getobj`` to return a module of
    generated test functions keeps pytest's own collection, parametrization, node ids and
    ``-k``/``-m``/``--lf`` intact; the alternative, custom ``Item`` classes, would need pytest's
    private fixture manager instead. ``tests/test_plugin.py`` pins that ``Module._getobj`` exists.
    """

    pairs: list[Pair]

    def _getobj(self) -> types.ModuleType:
        module = types.ModuleType(f"harness_items_{self.path.stem}")
        for p in self.pairs:
            func = _pair_test(p)
            func.__module__ = module.__name__
            setattr(module, p.name, func)
        return module

    def istestfunction(self, obj: object, name: str) -> bool:
        return hasattr(obj, "_harness_pair")

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        """pytest's own collection, each item then located at its pair's registration.

        pytest's terminal turns the dots of an item's *domain* into ``::`` (for a method of a
        class), which would print ``pairs.py::issue::list[org]``, a node id that cannot be pasted
        back. The domain given here (the item's name and a space) is not a suffix of the node id,
        so ``-v`` prints the node id as it is; failure headlines still show the pair's name.
        """
        collected = list(super().collect())
        for node in collected:
            pair = getattr(getattr(node, "function", None), "_harness_pair", None)
            if pair is not None:
                node.reportinfo = _located(pair, node.name)  # type: ignore[method-assign,union-attr]
        return collected


class HarnessSession:
    """The plugin's state for one pytest session: registered only when the harness is on."""

    def __init__(self, config: pytest.Config, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.files: dict[Path, list[Pair]] = {}
        for p in engine.pairs:
            if not engine.cases_of(p) and not engine.measures(p):
                continue  # another shard's (--harness-shard)
            self.files.setdefault(Path(p.where.rsplit(":", 1)[0]).resolve(), []).append(p)
        self.cases: list[CaseResult] = []
        from harness.gate.latency import BenchmarkSamples

        self.benchmark_samples = BenchmarkSamples()
        self.local_samples = BenchmarkSamples()  # this process's own, for the items' verdicts
        self.latencies: dict[str, Latency] = {}
        self.database: tuple[str, str] | None = None  # (dialect, masked url), once seeded
        self.interrupted = False
        self.selected: set[str] | None = None  # pairs with at least one selected item
        self.result: RunResult | None = None  # the run's verdict, once the session finished
        self.published: Published | None = None
        self.problem: str | None = None  # why results.json could not be written
        # SIGTERM (CI's timeout, docker stop) ends the session as Ctrl-C does: results written.
        self.signals = contextlib.ExitStack()
        self.signals.enter_context(stop_on_signals())

    def note(self, line: str) -> None:
        """A line for the terminal (the janitor's removals, retried connections)."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)

    @property
    def controller(self) -> bool:
        return not hasattr(self.config, "workerinput")

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist, on the controller: each worker gets the run's side-order seed."""
        node.workerinput[ORDER_SEED_INPUT] = self.engine.order_seed

    def pytest_report_header(self) -> str | None:
        if not self.controller:
            return None
        seed = self.engine.order_seed
        return f"harness: side order seed {seed} (replay with --harness-order-seed {seed})"

    @pytest.hookimpl(wrapper=True)
    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> Any:
        """A pair file is collected as a :class:`PairModule`, whatever its name.

        pytest's own python plugin offers a ``Module`` for files named like tests (or named on
        the command line); a pair file must not be imported as a test module, so that one is
        replaced.
        """
        collected = yield
        pairs = self.files.get(file_path.resolve())
        if pairs is None:
            return collected
        module = PairModule.from_parent(parent, path=file_path)
        module.pairs = pairs
        return [c for c in collected if not isinstance(c, pytest.Module)] + [module]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        pair = getattr(metafunc.function, "_harness_pair", None)
        if pair is None:
            return
        planned: list[Any] = list(self.engine.cases_of(pair))
        ids = [pc.label for pc in planned]
        if self.engine.measures(pair):
            extra = list(LATENCY_IDS) if self._pytest_benchmark_active() else ["latency"]
            planned.extend(extra)
            ids.extend(extra)
        metafunc.parametrize("harness_case", planned, ids=ids)

    def _pytest_benchmark_active(self) -> bool:
        if not self.config.pluginmanager.hasplugin("benchmark"):
            return False
        # pytest-benchmark's own rule: --benchmark-enable wins over a --benchmark-disable in addopts.
        if self.config.getoption("benchmark_disable", default=False) and not self.config.getoption(
            "benchmark_enable", default=False
        ):
            return False
        # pytest-benchmark switches itself off under xdist; the interleaved core is used then.
        return not (
            self.config.getoption("numprocesses", default=None)
            or hasattr(self.config, "workerinput")
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            pair = getattr(getattr(item, "function", None), "_harness_pair", None)
            if pair is not None:
                item.add_marker(pytest.mark.harness)
                if pair.options.writes:
                    item.add_marker(pytest.mark.harness_writes)
                callspec = getattr(item, "callspec", None)
                if callspec is not None and callspec.params.get("harness_case") in LATENCY_IDS:
                    # A benchmark item to pytest-benchmark (kept by --benchmark-only, skipped
                    # by --benchmark-skip): it asks for the fixture when it runs.
                    item.fixturenames = [*item.fixturenames, "benchmark"]  # type: ignore[attr-defined]

    def run_item(
        self, planned: PlannedCase, db: SeededDatabase, request: pytest.FixtureRequest
    ) -> None:
        result = self.engine.run_case(planned, db.target)
        request.node.stash[CASE_KEY] = result
        if result.status == "equal" or result.accepted is not None:
            problem = self.engine.budget_problem(planned.pair, case=result)
            if problem is not None:
                self._fail(planned.pair, f"query budget: {problem}")
            return
        if result.status == "expected":  # declared with expect=: strict, like xfail(strict=True)
            pytest.xfail(result.reason)
        self._fail(planned.pair, f"{planned.id}: {result.reason}")

    @staticmethod
    def _fail(pair: Pair, message: str) -> None:
        if not pair.options.gate:
            pytest.xfail(f"not gated: {message}")
        pytest.fail(message, pytrace=False)

    def run_latency(
        self, pair: Pair, which: str, db: SeededDatabase, request: pytest.FixtureRequest
    ) -> None:
        if which == "latency":
            latency = self.engine.measure(pair, db.target)
            if latency is not None:
                request.node.stash[LATENCY_KEY] = {"pair": pair.name, "latency": latency.to_json()}
                self._check_latency(pair, latency)
            return
        from harness.run.timing import time_side

        side: Side = "legacy" if which == "latency:legacy" else "new"
        cases = self.engine.cases_of(pair)
        benchmark = request.getfixturevalue("benchmark")
        benchmark.group = pair.name
        benchmark.name = f"{pair.name}[{side}]"

        def all_cases() -> None:
            for pc in cases:
                time_side(pc, side, db.target, self.engine.now)

        benchmark.pedantic(
            all_cases, rounds=max(5, int(self.engine.config.bench_time * 20)), warmup_rounds=1
        )
        data = list(benchmark.stats.stats.data) if benchmark.stats else []
        request.node.stash[LATENCY_KEY] = {
            "pair": pair.name,
            "side": side,
            "samples": data,
            "calls": len(cases),
        }
        # pytest-benchmark runs in this one process: the second side's item joins the two and
        # fails when the pair's latency breaks its budget.
        joined = self.local_samples.add(pair.name, side, data, calls=len(cases))
        if joined is not None:
            self._check_latency(pair, joined)

    def _check_latency(self, pair: Pair, latency: Latency) -> None:
        problem = self.engine.budget_problem(pair, latency=latency)
        if problem is not None:
            self._fail(pair, f"latency budget: {problem}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if report.when == "call":
            result = item.stash.get(CASE_KEY, None)
            if result is not None:
                report.harness_case = result.to_json()
            latency = item.stash.get(LATENCY_KEY, None)
            if latency is not None:
                report.harness_latency = latency
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        case = getattr(report, "harness_case", None)
        if case is not None:
            from harness.records import CaseResult

            self.cases.append(CaseResult.from_json(case))
        latency = getattr(report, "harness_latency", None)
        if latency is not None:
            self._take_latency(latency)

    def _take_latency(self, data: dict[str, Any]) -> None:
        from harness.records import Latency

        if "latency" in data:  # measured in one item by the harness's interleaved core
            self.latencies[data["pair"]] = Latency(**data["latency"])
            return
        joined = self.benchmark_samples.add(
            data["pair"], data["side"], data["samples"], calls=data["calls"]
        )
        if joined is not None:
            self.latencies[data["pair"]] = joined

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.selected = {
            pair.name
            for item in session.items
            if (pair := getattr(getattr(item, "function", None), "_harness_pair", None))
        }

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Under xdist the controller collects nothing itself; the workers tell it what they have.
        names = {nodeid.rsplit("::", 1)[-1].split("[", 1)[0] for nodeid in ids}
        self.selected = (self.selected or set()) | (names & {p.name for p in self.engine.pairs})

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        problem = getattr(node, "workeroutput", {}).get("harness_error")
        if problem and self.problem is None:
            self.problem = problem  # the first worker's own error line

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupted = True

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.controller or self.config.option.collectonly:
            return
        if self.selected is not None and not self.selected:
            # Only other tests were selected (`pytest --harness tests/test_x.py`): no harness
            # run took place, so no verdict and no reports (an earlier run's stay as they were).
            self.problem = "no pair was selected; reports not written"
            return
        dialect, url = self.database or self.engine.describe_database()
        result = self.engine.finish(
            self.cases,
            self.latencies,
            dialect=dialect,
            url=url,
            interrupted=self.interrupted or exitstatus == pytest.ExitCode.INTERRUPTED,
            extra_run={"driver": "pytest"},
            selected=self.selected,
        )
        self.result = result
        from harness.report.publish import publish

        try:
            self.published = publish(result, self.engine.config.report_dir)
        except HarnessError as exc:
            self.problem = str(exc)
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        if self.problem is not None:  # a worker could not make its database
            import sys

            print(f"harness: error: {self.problem}", file=sys.stderr)
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
        elif not result.gate_passed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        result = self.result
        if result is None:
            if self.problem is not None:
                terminalreporter.line(f"harness: {self.problem}")
            return
        import io

        from harness.report.console import summary_table

        buffer = io.StringIO()
        summary_table(result, stream=buffer)
        terminalreporter.section("query-equivalence harness")
        for line in buffer.getvalue().splitlines():
            terminalreporter.line(line)
        if self.problem is not None:
            terminalreporter.line(f"harness: error: {self.problem}", red=True)
        elif self.published is not None:
            report = self.published.report or "(not drawn)"
            terminalreporter.line(f"results: {self.published.results}; report: {report}")
        terminalreporter.line(
            f"side order seed: {self.engine.order_seed} (replay with --harness-order-seed {self.engine.order_seed})"
        )
