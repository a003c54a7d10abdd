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
        case_timeout=12.5,
        keep_db=True,
        baseline=tmp / "accepted.json",
        fixture="my_app.shadow:provider",
        max_latency_ratio=1.7,
        max_queries=9,
        max_query_ratio=2.5,
        tenant_column={"Issue": "orgId", "Machine": "org_id"},
        errors={"my_app.errors.Missing": "not_found"},
        include_default_pairs=False,
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


def test_the_environment_beats_the_project_file_for_the_database() -> None:
    from harness.settings import resolve

    env = {"HARNESS_DATABASE_URL": "postgresql://ci@db/app"}
    project = {"db": "sqlite:///from-file.sqlite3"}
    assert resolve({}, project=project, environ=env).db == "postgresql://ci@db/app"
    assert resolve({}, project=project, environ={}).db == "sqlite:///from-file.sqlite3"
    given = resolve({"db": "mysql://me@h/x"}, project=project, environ=env)
    assert given.db == "mysql://me@h/x" and given.source("db") == "from --db"


def test_pairs_add_up_and_an_empty_value_replaces() -> None:
    from harness.settings import resolve

    project = {"pairs": ["app.shadow"]}
    added = resolve({"pairs": ("more.py",)}, project=project, environ={})
    assert added.pairs == ("app.shadow", "more.py") and not added.include_default_pairs
    replaced = resolve({"pairs": ("", "more.py")}, project=project, environ={})
    assert replaced.pairs == ("more.py",)
    assert resolve({}, environ={}).include_default_pairs  # the reference application alone
    assert not resolve(
        {}, project={"fixture": "app.shadow:provider"}, environ={}
    ).include_default_pairs
    forced = resolve({"include_default_pairs": True}, project=project, environ={})
    assert forced.include_default_pairs


def test_seed_honours_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from harness.cli import cli

    monkeypatch.chdir(tmp_path)
    fixture = tmp_path / "from-env.sqlite3"
    result = CliRunner().invoke(
        cli, ["seed", "--tenants", "1"], env={"HARNESS_DATABASE_URL": f"sqlite:///{fixture}"}
    )
    assert result.exit_code == 0, result.output
    assert fixture.exists() and f"database: sqlite:///{fixture}" in result.output
