"""``harness run --workers N``: one seeded fixture cloned per worker, the same results as one."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.drive import run_direct, run_parallel
from harness.settings import HarnessConfig

PLANTED = str(Path(__file__).parent / "pair_modules" / "planted.py")


def stable(results: dict[str, Any]) -> dict[str, Any]:
    """results.json without what differs between two runs (timings, the database's name)."""
    out = json.loads(json.dumps(results))
    out.pop("run")
    out["database"].pop("url")
    for p in out["pairs"]:
        p["options"].pop("where", None)
        for c in p["cases"]:
            for side in ("legacy", "new"):
                c[side].pop("ms")
                c[side]["statements"] = [s["sql"] for s in c[side]["statements"]]
            if c["error"]:
                c["error"].pop("traceback")
    # Pair modules loaded again in one process may register in another order.
    out["pairs"] = {p["name"]: p for p in out["pairs"]}
    return out


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
    assert stable(three) == stable(one)
