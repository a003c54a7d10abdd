"""Sharding (``--shard K/N``) and ``harness merge``: N parts of a run give the run's verdict."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.drive import run_direct
from harness.errors import ConfigError
from harness.report.merge import merge_files
from harness.settings import HarnessConfig
from harness.shard import Shard, balance, parse_shard

PLANTED = str(Path(__file__).parent / "pair_modules" / "planted.py")


# A row one side inserted and the other did not keeps its random id (nothing to match it with),
# so two runs name it differently: the ids are masked, the rest of the summary is compared.
_RANDOM_ID = re.compile(
    r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
)


def cases_of(results: dict[str, Any]) -> dict[str, list[tuple[str, str, Any]]]:
    """Each pair's cases in order: label, status, diff summary (random ids masked)."""
    return {
        p["name"]: [
            (c["label"], c["status"], c["diff"] and _RANDOM_ID.sub("<id>", c["diff"]["summary"]))
            for c in p["cases"]
        ]
        for p in results["pairs"]
    }


def count(results: dict[str, Any]) -> int:
    return sum(len(p["cases"]) for p in results["pairs"])


def shard_results(tmp_path: Path, config: HarnessConfig, total: int) -> list[Path]:
    files = []
    for index in range(1, total + 1):
        out = tmp_path / f"shard-{index}"
        status = run_direct(replace(config, shard=Shard(index, total), report_dir=out))
        assert status in (0, 1)
        files.append(out / "results.json")
    return files


def test_three_shards_merged_give_the_unsharded_verdict_and_cases(tmp_path: Path) -> None:
    config = HarnessConfig(
        pairs=(PLANTED,),  # the reference suite and pairs with planted bugs: a failing gate
        report_dir=tmp_path / "whole",
        bench=False,
        baseline=None,
        order_seed=4,
    )
    assert run_direct(config) == 1
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())

    files = shard_results(tmp_path, config, 3)
    shards = [json.loads(f.read_text()) for f in files]
    assert all(0 < count(s) < count(whole) for s in shards)
    merged = merge_files(list(reversed(files))).to_json()

    assert merged["summary"] == whole["summary"]
    assert merged["summary"]["gate"] == "fail"
    assert cases_of(merged) == cases_of(whole)
    statuses = {p["name"]: p["status"] for p in whole["pairs"]}
    assert {p["name"]: p["status"] for p in merged["pairs"]} == statuses


def test_merge_writes_one_report_and_exits_with_the_gate(tmp_path: Path) -> None:
    config = HarnessConfig(bench=False, baseline=None, order_seed=1, only=("issue.*",))
    files = shard_results(tmp_path, config, 2)
    with pytest.raises(SystemExit) as done:
        main(["merge", *map(str, files), "--report-dir", str(tmp_path / "merged")])
    assert done.value.code == 0
    assert (tmp_path / "merged" / "index.html").exists()
    merged = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert merged["run"]["merged"]["shards"] == 2


@pytest.mark.parametrize("which", ["missing", "duplicated", "foreign"])
def test_a_missing_or_duplicated_shard_is_one_line_and_exit_2(
    tmp_path: Path, which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = HarnessConfig(bench=False, baseline=None, only=("model.*",))
    one, two, three = shard_results(tmp_path, config, 3)
    if which == "missing":
        given = [one, three]
    elif which == "duplicated":
        given = [one, two, two, three]
    else:
        other = shard_results(tmp_path / "other", replace(config, tenants=4), 3)
        given = [one, two, other[2]]
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["merge", *map(str, given), "--report-dir", str(tmp_path / "m")])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("harness: error:")
    assert {"missing": "2/3 missing", "duplicated": "given twice", "foreign": "another run"}[
        which
    ] in err[0]


def test_a_file_that_is_no_shard_is_refused(tmp_path: Path) -> None:
    config = HarnessConfig(bench=False, baseline=None, only=("model.*",), report_dir=tmp_path)
    run_direct(config)
    with pytest.raises(ConfigError, match="not the results of a shard"):
        merge_files([tmp_path / "results.json"])


@pytest.mark.parametrize("bad", ["3", "0/2", "3/2", "a/b", "1/0", ""])
def test_bad_shard_values_name_themselves(bad: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(bad)


def test_balance_is_deterministic_and_evens_out_the_weights() -> None:
    weights = {f"c{i}": w for i, w in enumerate([9, 1, 1, 1, 5, 4, 3, 2, 2, 2])}
    parts = balance(list(weights), 3, weights.__getitem__)
    assert parts == balance(list(weights), 3, weights.__getitem__)
    assert sorted(u for part in parts for u in part) == sorted(weights)
    loads = [sum(weights[u] for u in part) for part in parts]
    assert max(loads) - min(loads) <= 1
    assert all(part == sorted(part, key=list(weights).index) for part in parts)


def test_recorded_costs_balance_the_shards(tmp_path: Path) -> None:
    config = HarnessConfig(bench=False, baseline=None, report_dir=tmp_path / "first")
    run_direct(config)
    from harness.engine import Engine

    costed = Engine(replace(config, shard_costs=tmp_path / "first" / "results.json"))
    plain = Engine(config)
    assert costed.split(2) != plain.split(2)  # the recorded times move cases between parts
    with pytest.raises(ConfigError, match="--shard-costs"):
        Engine(replace(config, shard_costs=tmp_path / "nope.json")).split(2)
