"""End to end: ``harness run`` on SQLite, PostgreSQL and MariaDB, with pairs that must pass and
pairs with bugs planted in the new side that must fail with a diff naming the path and both values.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.drive import run_direct
from harness.engine import Engine
from harness.run.sides import side_order
from harness.settings import HarnessConfig

MODULES = Path(__file__).parent / "pair_modules"
PLANTED = str(MODULES / "planted.py")
GOOD = str(MODULES / "good.py")


def run(tmp_path: Path, db: str | None, *only: str, **settings: Any) -> tuple[int, dict[str, Any]]:
    config = HarnessConfig(
        db=db,
        pairs=(PLANTED, GOOD),
        only=only,
        report_dir=tmp_path / "reports",
        bench=False,
        baseline=None,
        order_seed=7,
        include_default_pairs=False,
        **settings,
    )
    status = run_direct(config)
    return status, json.loads((tmp_path / "reports" / "results.json").read_text())


def run_source(tmp_path: Path, source: Path) -> int:
    """Run the pairs of one module file only (no benchmarks, no baseline); reports in tmp_path/r."""
    config = HarnessConfig(
        pairs=(str(source),),
        report_dir=tmp_path / "r",
        bench=False,
        baseline=None,
        include_default_pairs=False,
        order_seed=1,
    )
    return run_direct(config)


def pair_of(results: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in results["pairs"] if p["name"] == name)


def test_good_pairs_pass_the_gate(tmp_path: Path, db_url: str | None) -> None:
    status, results = run(tmp_path, db_url, "good.*")
    assert status == 0
    assert results["summary"] == {
        "pairs": 2,
        "equal": 2,
        "mismatch": 0,
        "error": 0,
        "skipped": 0,
        "expected": 0,
        "warnings": 0,
        "gate": "pass",
    }
    # The writing pair's sides each generated a fresh id and wall-clock timestamps: matched up.
    comment = pair_of(results, "good.comment")["cases"][0]
    assert comment["legacy"]["result"]["id"] == comment["new"]["result"]["id"] == "<new Comment 1>"
    inserted = comment["new"]["changes"]["Comment"]["inserted"]
    assert inserted[0]["createdAt"] == "<now>"
    assert (tmp_path / "reports" / "index.html").exists()


def test_planted_bugs_fail_with_path_and_both_values(tmp_path: Path, db_url: str | None) -> None:
    status, results = run(tmp_path, db_url, "planted.*")
    assert status == 1
    assert results["summary"]["gate"] == "fail"

    titles = pair_of(results, "planted.titles")
    assert titles["status"] == "mismatch"
    change = titles["cases"][0]["diff"]["changes"][0]
    assert change["path"].endswith(".title")
    assert change["new"] == change["legacy"].upper() != change["legacy"]

    leak = pair_of(results, "planted.leaky")["cases"][0]
    assert leak["status"] == "mismatch"
    assert leak["leaks"] and leak["leaks"][0].startswith("new: ")
    assert leak["diff"]["summary"].startswith("tenant leak")

    broken = pair_of(results, "planted.broken")["cases"][0]
    assert broken["status"] == "error"
    assert broken["error"]["side"] == "new"
    assert "NoSuchTable" in broken["error"]["sql"]
    assert broken["error"]["type"] in ("OperationalError", "ProgrammingError")

    assign = pair_of(results, "planted.assign")["cases"][0]
    assert assign["status"] == "mismatch"
    assert "IssueHistory.inserted" in assign["diff"]["summary"] or any(
        c["path"].startswith("changes.IssueHistory") for c in assign["diff"]["changes"]
    )

    advisory = pair_of(results, "planted.advisory")
    assert advisory["gate"] is False and advisory["status"] == "mismatch"


def test_not_gated_mismatch_alone_passes(tmp_path: Path) -> None:
    status, results = run(tmp_path, None, "planted.advisory", "good.issueCount")
    assert status == 0
    assert results["summary"]["mismatch"] == 1 and results["summary"]["gate"] == "pass"


def test_reads_are_rolled_back_between_cases(tmp_path: Path) -> None:
    """A read that writes must not leak into the next case: every case sees the seeded state."""
    source = tmp_path / "sneaky.py"
    source.write_text(
        "from sqlalchemy import text\n"
        "from harness import pair, Case\n"
        "p = pair('sneaky.count', router='sneaky')\n"
        "@p.legacy\n"
        "def _(ctx, n):\n"
        "    ctx.db.execute_sql('DELETE FROM \"Notification\"')\n"
        "    return n\n"
        "@p.new\n"
        "def _(ctx, n):\n"
        "    return ctx.session.execute(text('SELECT COUNT(*) FROM \"Notification\"')).scalar() and n\n"
        "@p.cases\n"
        "def _(fx):\n"
        "    for n in range(4):\n"
        "        yield Case(params={'n': n + 1})\n"
    )
    assert run_source(tmp_path, source) == 0  # the new side always still sees notifications


def test_side_order_is_shuffled_and_replayable(tmp_path: Path) -> None:
    orders = []
    for attempt in ("a", "b"):
        config = HarnessConfig(
            pairs=(GOOD,),
            only=("good.issueCount",),
            report_dir=tmp_path / attempt,
            bench=False,
            baseline=None,
            include_default_pairs=False,
            order_seed=11,
            tenants=8,
        )
        run_direct(config)
        results = json.loads((tmp_path / attempt / "results.json").read_text())
        orders.append([tuple(c["order"]) for c in results["pairs"][0]["cases"]])
    assert orders[0] == orders[1]  # the same seed replays the same order
    assert len(set(orders[0])) == 2  # both orders occur across 8 cases


def test_interrupted_run_still_writes_what_ran(tmp_path: Path) -> None:
    source = tmp_path / "interrupt.py"
    source.write_text(
        "from harness import pair, Case\n"
        "p = pair('stop.here', router='stop')\n"
        "@p.legacy\n"
        "def _(ctx, n):\n"
        "    return n\n"
        "@p.new\n"
        "def _(ctx, n):\n"
        "    if n == 3:\n"
        "        raise KeyboardInterrupt\n"
        "    return n\n"
        "@p.cases\n"
        "def _(fx):\n"
        "    return [Case(params={'n': n}) for n in range(1, 6)]\n"
    )
    assert run_source(tmp_path, source) == 1
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["run"]["interrupted"] is True
    assert [c["params"]["n"] for c in results["pairs"][0]["cases"]] == [1, 2]
    assert results["summary"]["gate"] == "fail"  # an interrupted run never passes the gate
    assert "interrupted after 2 of 5 cases" in results["gate_reasons"][-1]


@dataclass(frozen=True)
class Done:
    """What a command printed and its exit status."""

    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, cwd: Path | None = None) -> Done:
    """``harness ARGS`` in this process, through click's test runner, from ``cwd``."""
    runner = CliRunner()
    previous = Path.cwd()
    os.chdir(cwd or previous)
    try:
        with runner.isolation() as streams:
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            out, err = streams[0].getvalue(), streams[1].getvalue()
    finally:
        os.chdir(previous)
    return Done(returncode=code, stdout=out.decode(), stderr=err.decode())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--db", "oracle://x"], "unknown URL scheme"),
        (["run", "--scale", "0"], "--scale: '0' is not valid"),
        (["run", "--only", "no.such.*"], "matches no registered pair"),
        (["run", "--pairs", "no_such_module_xyz"], "no module of that name"),
        (["run", "--db", "postgresql://postgres:s3cret@127.0.0.1:1/postgres"], "cannot connect"),
        (["run", "--bogus"], "No such option"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    done = cli(*args, "--report-dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("harness: error")]
    assert len(errors) == 1 and expected in errors[0]
    assert "Traceback" not in done.stderr
    assert "s3cret" not in done.stderr + done.stdout


def test_pair_module_that_fails_to_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad_pairs.py"
    bad.write_text("import no_such_dependency_xyz\n")
    done = cli("run", "--pairs", str(bad), "--report-dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "bad_pairs.py failed to import: ModuleNotFoundError" in done.stderr


def test_existing_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    precious = tmp_path / "app.sqlite3"
    import sqlite3

    with sqlite3.connect(precious) as conn:
        conn.execute("CREATE TABLE keep (x)")
    done = cli(
        "run",
        "--db",
        f"sqlite:///{precious}",
        "--only",
        "organization.get",
        "--no-bench",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "not a harness fixture" in done.stderr
    with sqlite3.connect(precious) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("keep",)]


def test_list_and_seed_commands(tmp_path: Path) -> None:
    listing = cli("list", cwd=tmp_path)
    assert listing.returncode == 0
    assert "organization.get" in listing.stdout and "pairs," in listing.stdout
    target = tmp_path / "fx.sqlite3"
    seeded = cli("seed", "--db", f"sqlite:///{target}", cwd=tmp_path)
    assert seeded.returncode == 0
    assert "Organization" in seeded.stdout and f"sqlite:///{target}" in seeded.stdout
    again = cli(
        "seed", "--db", f"sqlite:///{target}", "--seed", "3", cwd=tmp_path
    )  # a fixture file: replaced
    assert again.returncode == 0


def test_reference_suite_is_equal(tmp_path: Path, db_url: str | None) -> None:
    """Every reference pair is equal on every case, on this database (scale 1)."""
    config = HarnessConfig(
        db=db_url, report_dir=tmp_path / "r", bench=False, baseline=None, order_seed=2
    )
    status = run_direct(config)
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    failing = [f"{p['name']}: {p['status']}" for p in results["pairs"] if p["status"] != "equal"]
    assert failing == [] and status == 0
    assert results["summary"]["pairs"] >= 30
    assert len({p["router"] for p in results["pairs"]}) >= 8
    assert sum(1 for p in results["pairs"] if p["options"]["writes"]) >= 8


def test_workers_use_the_side_order_seed_harness_run_prints(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    done = cli(
        "run",
        "--workers",
        "2",
        "--only",
        "organization.*",
        "--no-bench",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    printed = re.search(r"side order seed (\d+) \(replay with --order-seed (\d+)\)", done.stderr)
    assert printed is not None and printed.group(1) == printed.group(2), done.stderr
    seed = int(printed.group(1))
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["run"]["order_seed"] == seed
    orders = {
        f"{p['name']}[{c['label']}]": c["order"] for p in results["pairs"] for c in p["cases"]
    }
    engine = Engine(HarnessConfig(only=("organization.*",), order_seed=seed))
    assert orders == {pc.id: list(side_order(seed, pc)) for pc in engine.plan()}
    assert len(orders) > 10
