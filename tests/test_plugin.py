"""The pytest plugin, in real pytest sessions (pytester, in process): one engine with ``harness run``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import stable_results
from harness.drive import run_direct
from harness.settings import HarnessConfig

MODULES = Path(__file__).parent / "pair_modules"
PLANTED = str(MODULES / "planted.py")
GOOD = str(MODULES / "good.py")

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def harness_args(tmp: Path, *extra: str) -> list[str]:
    return [
        "--harness",
        # The session's own configuration, not this project's (whose rootdir the pair paths name).
        "-c",
        str(tmp / "pyproject.toml"),
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "-p",
        "no:cacheprovider",
        "--harness-pairs",
        PLANTED,
        "--harness-pairs",
        GOOD,
        "--harness-report-dir",
        str(tmp / "reports"),
        "--harness-no-bench",
        "--harness-order-seed",
        "5",
        "--harness-baseline",
        str(tmp / "no-baseline.json"),
        *extra,
    ]


@pytest.fixture(scope="module", autouse=True)
def _everything_imported(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One real run first, so the sessions below start with every lazily imported module loaded.

    The sessions run in this process (``runpytest``); pytester removes the modules a session
    imported when it ends. A module imported inside one session and again inside the next (parts
    of SQLAlchemy load on first use) would exist twice and break SQLAlchemy's internals.
    """
    out = tmp_path_factory.mktemp("warm")
    config = HarnessConfig(
        pairs=(PLANTED, GOOD),
        report_dir=out,
        bench=False,
        baseline=None,
        include_default_pairs=False,
    )
    run_direct(config)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    # The reference pairs stay out of these sessions: only the test modules' pairs load.
    pytester.makepyprojecttoml("[tool.harness]\ninclude_default_pairs = false\n")
    return pytester


def test_pair_modules_rely_on_pytest_module_getobj() -> None:
    """PairModule overrides pytest's private ``Module._getobj`` (why: see its docstring)."""
    from harness.plugin import PairModule

    assert callable(vars(pytest.Module).get("_getobj")), (
        "pytest.Module._getobj is gone: harness.plugin.PairModule must supply its module another way"
    )
    assert "_getobj" in vars(PairModule)


def test_inert_without_harness(project: pytest.Pytester) -> None:
    project.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "query-equivalence harness" not in result.stdout.str()


def test_items_are_pair_and_case(project: pytest.Pytester) -> None:
    result = project.runpytest(*harness_args(project.path, "--collect-only", "-q", "-k", "good"))
    result.stdout.fnmatch_lines(["*::good.issueCount[[]*[]]", "*::good.comment[[]*[]]"])
    assert "planted" not in result.stdout.str()


def test_good_pairs_pass(project: pytest.Pytester) -> None:
    result = project.runpytest(*harness_args(project.path, "-k", "good"))
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*query-equivalence harness*", "*gate PASS*"])
    assert result.ret == 0


def test_planted_bugs_fail_with_the_diff(project: pytest.Pytester) -> None:
    result = project.runpytest(*harness_args(project.path, "-k", "planted"))
    result.assert_outcomes(failed=7, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*planted.titles[[]*[]]*.title: *!= *",
            "*planted.broken[[]*[]]*new side raised*NoSuchTable*",
            "*gate FAIL*",
        ]
    )
    assert result.ret == 1


def test_exitfirst_and_markers(project: pytest.Pytester) -> None:
    result = project.runpytest(*harness_args(project.path, "-x", "-k", "planted.titles"))
    result.assert_outcomes(failed=1)
    writes = project.runpytest(
        *harness_args(project.path, "-m", "harness_writes", "--collect-only", "-q")
    )
    writes.stdout.fnmatch_lines(["*good.comment[[]*[]]", "*planted.assign[[]assign[]]"])
    assert "issueCount" not in writes.stdout.str()


def test_junitxml(project: pytest.Pytester) -> None:
    junit = project.path / "junit.xml"
    project.runpytest(
        *harness_args(project.path, "-k", "titles or issueCount", f"--junitxml={junit}")
    )
    text = junit.read_text()
    assert 'name="planted.titles[' in text and "<failure" in text
    assert 'name="good.issueCount[' in text


def test_bad_option_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest(*harness_args(project.path, "--harness-scale", "0"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*harness: --scale: '0' is not valid*"])


def test_ini_switches_it_on(project: pytest.Pytester) -> None:
    project.makepyprojecttoml(
        "[tool.harness]\ninclude_default_pairs = false\n"
        "[tool.pytest.ini_options]\nharness = true\n"
        f"harness_pairs = [{GOOD!r}]\nharness_bench = 'false'\n"
    )
    result = project.runpytest(
        "-c",
        str(project.path / "pyproject.toml"),
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "-p",
        "no:cacheprovider",
        "--harness-report-dir",
        str(project.path / "r"),
        "-k",
        "issueCount",
    )
    result.assert_outcomes(passed=3)


def test_harness_run_and_pytest_harness_agree(project: pytest.Pytester, tmp_path: Path) -> None:
    outcome = project.runpytest(
        *harness_args(project.path, "-k", "good or titles or broken or leaky")
    )
    assert outcome.ret == 1
    from_pytest = json.loads((project.path / "reports" / "results.json").read_text())

    config = HarnessConfig(
        pairs=(PLANTED, GOOD),
        only=("good.*", "planted.titles", "planted.broken", "planted.leaky"),
        report_dir=tmp_path / "reports",
        bench=False,
        baseline=None,
        order_seed=5,
        include_default_pairs=False,
    )
    assert run_direct(config) == 1
    from_cli = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert from_pytest["summary"] == from_cli["summary"]
    assert stable_results(from_pytest) == stable_results(from_cli)


def test_xdist_workers_give_the_same_results(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    selection = ("-k", "good or titles or leaky")
    serial = project.runpytest(*harness_args(project.path, *selection))
    assert serial.ret == 1
    from_serial = json.loads((project.path / "reports" / "results.json").read_text())

    parallel = project.runpytest(*harness_args(project.path, *selection, "-n", "2"))
    assert parallel.ret == 1
    from_xdist = json.loads((project.path / "reports" / "results.json").read_text())

    assert from_xdist["run"]["settings"] == from_serial["run"]["settings"]
    assert sum(len(p["cases"]) for p in from_xdist["pairs"]) > 4
    assert stable_results(from_xdist) == stable_results(from_serial)


# --- pytest as users know it ---------------------------------------------------------------------

SHADOW = """
from typing import Any

from sqlalchemy import func, select

from harness import Case, pair
from harness.reference import legacy as lm
from harness.reference import models as nm

counts = pair("shadow.issueCount")


@counts.legacy
def _(ctx: Any) -> Any:
    with ctx.db.bind_ctx(lm.MODELS):
        return lm.Issue.select().where(lm.Issue.organization == ctx.tenant_id).count()


@counts.new
def _(ctx: Any) -> Any:
    stmt = select(func.count()).select_from(nm.Issue).where(nm.Issue.organizationId == ctx.tenant_id)
    ctx.session.scalar(select(func.count()).select_from(nm.User))  # one statement too many
    return ctx.session.scalar(stmt)


@counts.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org)
"""


@pytest.fixture
def user_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project laid out as users do: pairs in their own package, no testpaths, a plain test."""
    pytester.makepyprojecttoml(
        '[tool.harness]\npairs = ["shadow.pairs"]\nbench = false\nreport_dir = "out"\n'
        "[tool.pytest.ini_options]\n"
        'filterwarnings = ["ignore::pytest.PytestAssertRewriteWarning"]\n'
    )
    pytester.mkpydir("shadow")
    (pytester.path / "shadow" / "pairs.py").write_text(SHADOW)
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_x.py").write_text("def test_x():\n    assert True\n")
    pytester.syspathinsert()
    return pytester


def test_pairs_are_found_without_testpaths(user_project: pytest.Pytester) -> None:
    result = user_project.runpytest("--harness", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["shadow/pairs.py::shadow.issueCount[[]*[]] PASSED*"])
    assert (user_project.path / "out" / "results.json").exists()


def test_a_path_selects_as_usual(user_project: pytest.Pytester) -> None:
    result = user_project.runpytest("--harness", "-p", "no:cacheprovider", "tests/test_x.py")
    result.assert_outcomes(passed=1)
    assert not (user_project.path / "out").exists(), "no pair selected: no report"


def test_verbose_node_ids_paste_back(user_project: pytest.Pytester) -> None:
    listed = user_project.runpytest("--harness", "-p", "no:cacheprovider", "--collect-only", "-q")
    node_ids = [line for line in listed.stdout.lines if line.startswith("shadow/pairs.py::")]
    assert len(node_ids) == 3 and "::shadow.issueCount[" in node_ids[1]
    again = user_project.runpytest("--harness", "-p", "no:cacheprovider", "-v", node_ids[1])
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines([node_ids[1].replace("[", "[[]") + " PASSED*"])


def test_a_budget_violation_fails_its_item_and_junit_agrees(user_project: pytest.Pytester) -> None:
    junit = user_project.path / "junit.xml"
    result = user_project.runpytest(
        "--harness", "-p", "no:cacheprovider", "--harness-max-queries", "1", f"--junitxml={junit}"
    )
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        ["*query budget: shadow.issueCount*new side sent 2 statements*from --harness-max-queries*"]
    )
    assert result.ret == 1 and 'failures="3"' in junit.read_text()


def test_benchmark_only_keeps_the_latency_items(
    user_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest-benchmark switches itself off inside an xdist worker (this suite's own -n).
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    result = user_project.runpytest(
        "--harness", "-p", "no:cacheprovider", "--harness-bench", "--harness-bench-time", "0.05",
        "--benchmark-enable", "--benchmark-only", "-v",
    )  # fmt: skip
    result.stdout.fnmatch_lines(["*shadow.issueCount[[]latency:legacy[]] PASSED*"])
    result.assert_outcomes(passed=2, skipped=4)  # the 3 cases and test_x: not benchmarks


def _orders(results_dir: Path) -> tuple[int, dict[str, list[str]]]:
    """The run's side-order seed and every case's side order, from its results.json."""
    results = json.loads((results_dir / "results.json").read_text())
    orders = {
        f"{p['name']}[{c['label']}]": c["order"] for p in results["pairs"] for c in p["cases"]
    }
    return results["run"]["order_seed"], orders


def _expected_orders(seed: int) -> dict[str, list[str]]:
    """side_order(seed, case) for every case of the test pair modules."""
    from harness.engine import Engine
    from harness.run.sides import side_order

    config = HarnessConfig(pairs=(PLANTED, GOOD), include_default_pairs=False, order_seed=seed)
    return {pc.id: list(side_order(seed, pc)) for pc in Engine(config).plan()}


def test_xdist_replays_the_side_order_of_a_seed(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    runs = []
    for _ in range(2):
        result = project.runpytest_subprocess(*harness_args(project.path, "-n", "2"))
        assert result.ret == 1
        runs.append(_orders(project.path / "reports"))
    (seed, first), (_, second) = runs
    assert seed == 5 and len(first) > 10
    assert first == second  # every case, whichever worker ran it
    assert first == {k: v for k, v in _expected_orders(5).items() if k in first}
    assert {tuple(order) for order in first.values()} == {("legacy", "new"), ("new", "legacy")}


def test_xdist_workers_use_the_seed_the_controller_prints(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    args = harness_args(project.path, "-n", "2")
    at = args.index("--harness-order-seed")
    del args[at : at + 2]  # no seed given: the controller draws one
    result = project.runpytest_subprocess(*args)
    assert result.ret == 1
    printed = re.search(r"side order seed: (\d+) \(replay with", result.stdout.str())
    assert printed is not None, result.stdout.str()
    seed, orders = _orders(project.path / "reports")
    assert seed == int(printed.group(1))
    assert len(orders) > 10
    assert orders == {k: v for k, v in _expected_orders(seed).items() if k in orders}
