"""Settings: one table drives the command line, the pytest options and the ini keys, both ways."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.drive import pytest_args
from harness.plugin import harness_config
from harness.settings import SETTINGS, HarnessConfig
from harness.shard import Shard


def every_setting_changed(tmp: Path) -> HarnessConfig:
    return HarnessConfig(
        db=f"sqlite:///{tmp / 'fixture.sqlite3'}",
        pairs=("my_app.shadow", str(tmp / "more_pairs.py")),
        only=("issue.*", "user.get"),
        tenants=5,
        scale=2,
        seed=7,
        order_seed=11,
        report_dir=tmp / "out",
        bench=False,
        bench_time=0.7,
        workers=3,
        keep_db=True,
        baseline=tmp / "accepted.json",
        fixture="my_app.shadow:provider",
        max_latency_ratio=1.7,
        max_queries=9,
        max_query_ratio=2.5,
        shard=Shard(2, 3),
        shard_costs=tmp / "earlier.json",
    )


def test_workers_hand_every_setting_to_the_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.harness]\n")
    config = every_setting_changed(pytester.path)
    defaults = HarnessConfig()
    unchanged = [s.name for s in SETTINGS if getattr(config, s.name) == getattr(defaults, s.name)]
    assert not unchanged, f"give these settings a non-default value here: {unchanged}"

    parsed = pytester.parseconfig(*pytest_args(config))

    assert parsed.getoption("numprocesses") == config.workers
    assert replace(harness_config(parsed), workers=config.workers) == config


def test_a_switch_left_at_its_default_is_not_turned_on(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.harness]\n")
    config = HarnessConfig(workers=2, report_dir=pytester.path / "r", baseline=None)

    parsed = pytester.parseconfig(*pytest_args(config))

    back = harness_config(parsed)
    assert back.bench is True and back.keep_db is False
    assert back.max_queries is None and back.pairs == ()
