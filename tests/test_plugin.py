"""The pytest plugin, in real pytest sessions (pytester, in subprocesses): one engine with ``harness run``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    # The reference pairs stay out of these sessions: only the test modules' pairs load.
    pytester.makepyprojecttoml("[tool.harness]\ninclude_default_pairs = false\n")
    return pytester


def test_inert_without_harness(project: pytest.Pytester) -> None:
    project.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "query-equivalence harness" not in result.stdout.str()


def test_items_are_pair_and_case(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        *harness_args(project.path, "--collect-only", "-q", "-k", "good")
    )
    result.stdout.fnmatch_lines(["*::good.issueCount[[]*[]]", "*::good.comment[[]*[]]"])
    assert "planted" not in result.stdout.str()


def test_good_pairs_pass(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(*harness_args(project.path, "-k", "good"))
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*query-equivalence harness*", "*gate PASS*"])
    assert result.ret == 0


def test_planted_bugs_fail_with_the_diff(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(*harness_args(project.path, "-k", "planted"))
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
    result = project.runpytest_subprocess(*harness_args(project.path, "-x", "-k", "planted.titles"))
    result.assert_outcomes(failed=1)
    writes = project.runpytest_subprocess(
        *harness_args(project.path, "-m", "harness_writes", "--collect-only", "-q")
    )
    writes.stdout.fnmatch_lines(["*good.comment[[]*[]]", "*planted.assign[[]assign[]]"])
    assert "issueCount" not in writes.stdout.str()


def test_junitxml(project: pytest.Pytester) -> None:
    junit = project.path / "junit.xml"
    project.runpytest_subprocess(
        *harness_args(project.path, "-k", "titles or issueCount", f"--junitxml={junit}")
    )
    text = junit.read_text()
    assert 'name="planted.titles[' in text and "<failure" in text
    assert 'name="good.issueCount[' in text


def test_bad_option_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(*harness_args(project.path, "--harness-scale", "0"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*harness: --scale: '0' is not valid*"])


def test_ini_switches_it_on(project: pytest.Pytester) -> None:
    project.makepyprojecttoml(
        "[tool.harness]\ninclude_default_pairs = false\n"
        "[tool.pytest.ini_options]\nharness = true\n"
        f"harness_pairs = [{GOOD!r}]\nharness_bench = 'false'\n"
    )
    result = project.runpytest_subprocess(
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


def _stable(results: dict[str, Any]) -> dict[str, Any]:
    """results.json without what differs between any two runs (timings, paths, drivers)."""
    out = json.loads(json.dumps(results))
    out.pop("run")
    for p in out["pairs"]:
        p["cases"].sort(key=lambda c: c["label"])  # in the order they finished
    out["database"].pop("url")
    for p in out["pairs"]:
        p["options"].pop("where", None)
        for c in p["cases"]:
            for side in ("legacy", "new"):
                c[side].pop("ms")
                c[side]["statements"] = [s["sql"] for s in c[side]["statements"]]
            if c["error"]:
                c["error"].pop("traceback")
    return out


def test_harness_run_and_pytest_harness_agree(project: pytest.Pytester, tmp_path: Path) -> None:
    outcome = project.runpytest_subprocess(
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
    assert _stable(from_pytest) == _stable(from_cli)


def test_xdist_workers_give_the_same_results(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    selection = ("-k", "good or titles or leaky")
    serial = project.runpytest_subprocess(*harness_args(project.path, *selection))
    assert serial.ret == 1
    from_serial = json.loads((project.path / "reports" / "results.json").read_text())

    parallel = project.runpytest_subprocess(*harness_args(project.path, *selection, "-n", "2"))
    assert parallel.ret == 1
    from_xdist = json.loads((project.path / "reports" / "results.json").read_text())

    assert from_xdist["run"]["settings"] == from_serial["run"]["settings"]
    assert sum(len(p["cases"]) for p in from_xdist["pairs"]) > 4
    assert _stable(from_xdist) == _stable(from_serial)


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
