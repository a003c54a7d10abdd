"""``harness run --workers N``: one seeded fixture cloned per worker, the same results as one."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from conftest import stable_results
from harness.drive import run_direct, run_parallel
from harness.settings import HarnessConfig

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
