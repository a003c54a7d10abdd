"""``harness run --workers N``: one seeded fixture cloned per worker, the same results as one."""

from __future__ import annotations

import gc
import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from test_faults import scratch_databases

from conftest import stable_results
from harness.database import janitor
from harness.drive import run_direct, run_parallel
from harness.errors import HarnessError
from harness.settings import HarnessConfig
from harness.url import parse_url

PLANTED = str(Path(__file__).parent / "pair_modules" / "planted.py")
FAULTS = str(Path(__file__).parent / "pair_modules" / "faults.py")
HANG_S = 60  # how long the hanging sides of faults.py would run


def test_workers_on_clones_give_the_results_of_one(tmp_path: Path, db_url: str | None) -> None:
    config = HarnessConfig(
        db=db_url,
        pairs=(PLANTED,),
        # Writing pairs too (each worker writes in its own clone); not planted.assign, whose
        # diff shows the fresh random ids a side generates.
        only=("planted.titles", "planted.leaky", "planted.broken", "issue.*", "comment.*"),
        report_dir=tmp_path / "one",
        bench=False,
        baseline=None,
        order_seed=3,
    )
    assert run_direct(config) == 1
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    assert run_parallel(replace(config, workers=3, report_dir=tmp_path / "three")) == 1
    three = json.loads((tmp_path / "three" / "results.json").read_text())
    assert three["run"]["workers"] == 3
    assert stable_results(three) == stable_results(one)


COLLECTOR_PAIRS = """
import gc

from harness import Case, pair

collector = pair("gc.collector", router="gc")


@collector.legacy
def _(ctx, planned_collecting):
    return gc.isenabled()


@collector.new
def _(ctx, planned_collecting):
    return True


@collector.cases
def _(fx):
    for n in range(8):  # planned in the controller, before the fork
        yield Case(label=f"case{n}", params={"planned_collecting": gc.isenabled()})
"""


def test_the_collector_waits_for_the_fork_and_runs_in_the_workers(tmp_path: Path) -> None:
    """Start-up makes objects that live as long as the run: the controller holds the garbage
    collector off until it forks; the workers collect as one process does (legacy sees the
    collector on, else its case differs), and the caller gets it back as it was."""
    module = tmp_path / "collector_pairs.py"
    module.write_text(COLLECTOR_PAIRS)
    config = HarnessConfig(
        pairs=(str(module),),
        include_default_pairs=False,
        report_dir=tmp_path / "reports",
        bench=False,
        baseline=None,
        order_seed=3,
        workers=2,
    )
    assert gc.isenabled()

    assert run_parallel(config) == 0  # every case equal: each worker collects

    assert gc.isenabled() and gc.get_freeze_count() == 0
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    (pair,) = results["pairs"]
    assert [c["status"] for c in pair["cases"]] == ["equal"] * 8
    assert {c["params"]["planned_collecting"] for c in pair["cases"]} == {False}
    # A run that stops before the fork gives the collector back too.
    with pytest.raises(HarnessError, match="no_such_pairs"):
        run_parallel(replace(config, pairs=(str(tmp_path / "no_such_pairs.py"),)))
    assert gc.isenabled()


def test_workers_stop_sides_past_the_case_timeout(tmp_path: Path, db_url: str | None) -> None:
    """Each worker watches its own sides: the controller's watchdog thread does not survive a
    fork, and a hang in Python (no statement to cancel) needs one."""
    config = HarnessConfig(
        db=db_url,
        pairs=(FAULTS,),
        only=("faults.py_sleep", "faults.busy", "faults.db_sleep", "faults.after"),
        report_dir=tmp_path,
        bench=False,
        baseline=None,
        order_seed=3,
        include_default_pairs=False,
        case_timeout=1.0,
        workers=2,
    )
    assert run_parallel(config) == 1
    results = json.loads((tmp_path / "results.json").read_text())
    cases = {p["name"]: p["cases"] for p in results["pairs"]}
    for name, side in (
        ("faults.py_sleep", "legacy"),
        ("faults.busy", "new"),
        ("faults.db_sleep", "legacy"),
    ):
        (case,) = cases[name]
        assert case["status"] == "error", case
        assert (case["error"]["side"], case["error"]["category"]) == (side, "timeout")
        assert case[side]["ms"] < HANG_S * 1000 / 2  # stopped, not waited for
    assert [c["status"] for c in cases["faults.after"]] == ["equal"] * 3
    assert not results["run"]["interrupted"]


def test_sigterm_keeps_what_the_workers_ran(tmp_path: Path, db_url: str | None) -> None:
    """SIGTERM reaches the controller only (CI, ``timeout``): it stops the workers, takes in what
    they ran, writes it, and drops every database."""
    (tmp_path / "pyproject.toml").write_text("[tool.harness]\ninclude_default_pairs = false\n")
    args = [sys.executable, "-m", "harness", "run", "--pairs", FAULTS, "--only"]
    args += ["faults.py_sleep", "--only", "faults.after", "--no-bench", "--workers", "2"]
    args += ["--case-timeout", "120", "--order-seed", "3"] + (["--db", db_url] if db_url else [])
    proc = subprocess.Popen(args, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:  # until the workers are forked
        lines.append(line)
        if "cloned it for 1 more workers" in line:
            break
    else:
        raise AssertionError(f"the run ended before forking: {''.join(lines)}")
    url = next(x for x in lines if "seeded" in x).rsplit(" into ", 1)[1].rsplit(" in ", 1)[0]
    # One worker hangs in faults.py_sleep (120 s); the other runs faults.after's 3 cases,
    # which take milliseconds.
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert results["run"]["interrupted"] is True and results["summary"]["gate"] == "fail"
    cases = {p["name"]: p["cases"] for p in results["pairs"]}
    assert [c["status"] for c in cases["faults.after"]] == ["equal"] * 3
    assert cases["faults.py_sleep"] == []
    spec = parse_url(url)
    if db_url is None:
        assert spec.path is not None and not spec.path.parent.exists()  # both files, their folder
    else:  # neither the seeded database nor its clone is left
        assert spec.database not in scratch_databases(db_url)
        assert not databases_made_by(proc.pid, db_url)


def databases_made_by(pid: int, url: str) -> list[str]:
    """The scratch databases on the server whose owner mark names process ``pid``."""
    spec = parse_url(url)
    engine = create_engine(spec.sqlalchemy_url(), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(janitor.list_sql(spec.dialect))).all()
    finally:
        engine.dispose()
    owners = {name: janitor.parse_mark(comment) for name, comment in rows}
    return [name for name, owner in owners.items() if owner is not None and owner.pid == pid]
