"""``harness run --workers N``: one seeded fixture cloned per worker, the same results as one."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from conftest import stable_results
from harness.drive import run_direct, run_parallel
from harness.settings import HarnessConfig

PLANTED = str(Path(__file__).parent / "pair_modules" / "planted.py")


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
