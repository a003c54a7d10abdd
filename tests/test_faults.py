"""Fault injection on the real databases: a run never hangs, crashes or loses its results.

Each test does the fault for real: sides that sleep past ``--case-timeout`` (in Python and in the
database), scratch backends terminated mid-run, a side that closes its connection or calls
``sys.exit``, SIGTERM and SIGKILL sent to a real ``harness run`` process, an unwritable report
folder, a file-size limit (a full disk), a corrupt baseline.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from conftest import require, url_for
from harness.drive import run_direct
from harness.settings import HarnessConfig
from harness.url import parse_url

MODULES = Path(__file__).parent / "pair_modules"
HANG_S = 60  # how long the hanging sides of faults.py would run
FAULTS = str(MODULES / "faults.py")
HARNESS = [sys.executable, "-m", "harness"]


def run(tmp_path: Path, db: str | None, *only: str, **settings: Any) -> tuple[int, dict[str, Any]]:
    config = HarnessConfig(
        db=db,
        pairs=(FAULTS,),
        only=only,
        report_dir=tmp_path / "reports",
        bench=False,
        baseline=None,
        order_seed=3,
        include_default_pairs=False,
        case_timeout=settings.pop("case_timeout", 1.0),
        **settings,
    )
    status = run_direct(config)
    return status, json.loads((tmp_path / "reports" / "results.json").read_text())


def cases_of(results: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return next(p for p in results["pairs"] if p["name"] == name)["cases"]


def the_error(results: dict[str, Any], name: str) -> dict[str, Any]:
    (case,) = cases_of(results, name)
    assert case["status"] == "error", case
    return case["error"]


def scratch_databases(url: str) -> set[str]:
    engine = create_engine(parse_url(url).sqlalchemy_url(), poolclass=NullPool)
    dialect = parse_url(url).dialect
    sql = (
        "SELECT datname FROM pg_database"
        if dialect == "postgresql"
        else "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
    )
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text(sql)) if r[0].startswith("harness_")}
    finally:
        engine.dispose()


# --- 1. a side past the case timeout ---------------------------------------------------------


def test_sides_past_the_timeout_are_timeout_errors_and_the_run_goes_on(
    tmp_path: Path, db_url: str | None
) -> None:
    status, results = run(
        tmp_path, db_url, "faults.py_sleep", "faults.busy", "faults.db_sleep", "faults.after"
    )
    assert status == 1
    for name, side in (("faults.py_sleep", "legacy"), ("faults.busy", "new")):
        error = the_error(results, name)
        assert (error["side"], error["type"], error["category"]) == (side, "CaseTimeout", "timeout")
        # Stopped, not waited for: the side would have run HANG_S (60 s).
        assert cases_of(results, name)[0][side]["ms"] < HANG_S * 1000 / 2
    # pg_sleep / SLEEP() / a runaway SQLite query: stopped by the database or the watchdog.
    error = the_error(results, "faults.db_sleep")
    assert error["category"] == "timeout" and error["side"] == "legacy"
    assert cases_of(results, "faults.db_sleep")[0]["legacy"]["ms"] < HANG_S * 1000 / 2
    assert error["message"].startswith("stopped at the case timeout")
    # The connections were reset, and the later pair runs as usual.
    assert [c["status"] for c in cases_of(results, "faults.after")] == ["equal"] * 3


# --- 4. connections that recover -------------------------------------------------------------


def test_killed_backends_error_only_the_running_case(tmp_path: Path, db_url: str | None) -> None:
    status, results = run(tmp_path, db_url, "faults.kill_backends", "faults.after")
    assert status == 1
    error = the_error(results, "faults.kill_backends")
    assert (error["side"], error["category"]) == ("legacy", "connection_lost")
    assert [c["status"] for c in cases_of(results, "faults.after")] == ["equal"] * 3
    if db_url is not None:
        assert parse_url(results["database"]["url"]).database not in scratch_databases(db_url)


def test_a_side_closing_its_connection_errors_that_case_only(
    tmp_path: Path, db_url: str | None
) -> None:
    status, results = run(tmp_path, db_url, "faults.closes_connection", "faults.after")
    assert status == 1
    error = the_error(results, "faults.closes_connection")
    assert (error["side"], error["category"]) == ("new", "connection_lost")
    assert [c["status"] for c in cases_of(results, "faults.after")] == ["equal"] * 3
    if db_url is not None:  # the teardown did not crash: the scratch database is gone
        assert parse_url(results["database"]["url"]).database not in scratch_databases(db_url)


def test_connecting_retries_a_transient_refusal_and_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require("postgresql")
    server = url_for("postgresql")
    assert server is not None
    role = f"harness_t_limit_{os.getpid()}"
    admin = create_engine(parse_url(server).sqlalchemy_url(), poolclass=NullPool)
    with admin.connect() as conn:  # a role that may not connect: "too many connections" (53300)
        conn.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0"))
        conn.commit()
    try:
        spec = parse_url(server)
        url = f"postgresql://{role}:pw@{spec.host}:{spec.port or 5432}/{spec.database}"
        from harness.cli import main

        with pytest.raises(SystemExit) as exited:
            main(["run", "--db", url, "--no-bench", "--report-dir", str(tmp_path / "r")])
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
            conn.commit()
        admin.dispose()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("retry ") == 3  # 4 attempts, each retry reported
    assert "too many connections" in err.splitlines()[-1]


# --- 5. SystemExit ---------------------------------------------------------------------------


def test_sys_exit_in_a_side_is_that_cases_error(tmp_path: Path) -> None:
    status, results = run(tmp_path, None, "faults.exits", "faults.after")
    assert status == 1  # the gate's verdict, not the side's exit(0)
    error = the_error(results, "faults.exits")
    assert (error["side"], error["type"]) == ("new", "SystemExit")
    assert [c["status"] for c in cases_of(results, "faults.after")] == ["equal"] * 3


@pytest.mark.parametrize("where", ["cases", "import"])
def test_sys_exit_in_a_cases_function_or_pair_module_is_a_registration_error(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / f"exits_in_{where}.py"
    body = (
        "import sys\nfrom harness import pair\n"
        "p = pair('exiting.pair')\np.legacy(lambda ctx: 1)\np.new(lambda ctx: 1)\n"
    )
    body += "p.cases(lambda fx: sys.exit(0))\n" if where == "cases" else "sys.exit(0)\n"
    module.write_text(body)
    from harness.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["run", "--pairs", str(module), "--only", "exiting.*", "--no-bench"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "SystemExit" in err[0]
    assert ("'exiting.pair'" if where == "cases" else module.name) in err[0]


# --- 2 and 3. SIGTERM, SIGKILL and the janitor -----------------------------------------------


def start_run(tmp_path: Path, db: str | None, *extra: str, **popen: Any) -> subprocess.Popen[str]:
    (tmp_path / "pyproject.toml").write_text("[tool.harness]\ninclude_default_pairs = false\n")
    args = [*HARNESS, "run", "--pairs", FAULTS, "--only", "faults.py_sleep", "--only"]
    args += ["faults.after", "--no-bench", "--case-timeout", "120", "--order-seed", "3", *extra]
    if db:
        args += ["--db", db]
    return subprocess.Popen(
        args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )


def wait_until_seeded(proc: subprocess.Popen[str]) -> str:
    """Read stderr until the fixture is seeded (the hanging side runs next); its URL."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if "seeded" in line:
            return line.rsplit(" into ", 1)[1].rsplit(" in ", 1)[0]
    raise AssertionError(f"the run ended before seeding: {proc.wait()}")


def scratch_of(url: str, db_url: str | None) -> Path | str:
    spec = parse_url(url)
    return spec.path.parent if db_url is None and spec.path else str(spec.database)


def exists(place: Path | str, db_url: str | None) -> bool:
    if isinstance(place, Path):
        return place.exists()
    assert db_url is not None
    return place in scratch_databases(db_url)


def test_sigterm_writes_results_and_report_and_drops_the_scratch_database(
    tmp_path: Path, db_url: str | None
) -> None:
    proc = start_run(tmp_path, db_url)
    place = scratch_of(wait_until_seeded(proc), db_url)
    time.sleep(0.5)  # the hanging side is running (not a race: the case runs for 120 s)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "stopped by SIGTERM" in err
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert results["run"]["interrupted"] is True and results["summary"]["gate"] == "fail"
    assert (tmp_path / "reports" / "index.html").exists()
    assert not exists(place, db_url)


def test_sigkill_leaves_an_orphan_that_harness_clean_removes(
    tmp_path: Path, db_url: str | None
) -> None:
    foreign = None
    if db_url is not None:  # a harness-named database the harness did not create: never touched
        foreign = f"harness_{os.getpid() % 0xFFFFFFFF:08x}"
        engine = create_engine(
            parse_url(db_url).sqlalchemy_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {foreign}"))
    try:
        proc = start_run(tmp_path, db_url)
        place = scratch_of(wait_until_seeded(proc), db_url)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        clean = [*HARNESS, "clean"] + (["--db", db_url] if db_url else [])
        done = subprocess.run(clean, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert not exists(place, db_url)
        # Under pytest-xdist another test's run may sweep the orphan first (every run sweeps
        # orphans before it starts): only a lone session can see `clean` name it.
        if "PYTEST_XDIST_WORKER" not in os.environ:
            assert str(place) in done.stdout
        if foreign is not None:
            assert foreign in scratch_databases(db_url)  # type: ignore[arg-type]
    finally:
        if foreign is not None:
            with engine.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {foreign}"))
            engine.dispose()


# --- 7. outputs checked before the run, written atomically -----------------------------------


def test_an_unwritable_report_folder_is_refused_before_any_case_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    if os.geteuid() == 0:
        report_dir = blocker / "reports"  # root writes anywhere: a folder under a file cannot be
    else:
        report_dir = tmp_path / "read-only"
        report_dir.mkdir(mode=0o555)
    from harness.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["run", "--pairs", FAULTS, "--only", "faults.after", "--report-dir", str(report_dir)])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--report-dir" in err[0] and "cannot write there" in err[0]


def test_a_full_disk_is_one_line_exit_2_and_no_old_report_looks_current(
    tmp_path: Path, db_url: str | None
) -> None:
    if db_url is None:
        pytest.skip("SQLite's fixture file is itself written under the file-size limit")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "results.json").write_text('{"summary": {"gate": "pass"}}')
    (reports / "index.html").write_text("<p>an older run: PASS</p>")

    def limit_file_size() -> None:  # in the child: writes past 2 KB fail (EFBIG), as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    proc = start_run(tmp_path, db_url, "--case-timeout", "1", preexec_fn=limit_file_size)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("harness: error: cannot write") and "results.json" in last
    assert "Traceback" not in err
    assert sorted(p.name for p in reports.iterdir()) == []  # no old files, no temp file


def test_a_corrupt_baseline_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "harness-baseline.json"
    baseline.write_text('{"entries": [{"pair": "x"')
    from harness.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["run", "--pairs", FAULTS, "--baseline", str(baseline), "--report-dir", str(tmp_path)])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(baseline) in err[0] and "not JSON" in err[0]
    assert not (tmp_path / "results.json").exists()  # nothing ran


# --- 9. --workers ----------------------------------------------------------------------------


def test_workers_show_the_real_error_line(tmp_path: Path) -> None:
    require("postgresql")
    server = url_for("postgresql")
    assert server is not None
    spec = parse_url(server)
    url = f"postgresql://postgres:pw@{spec.host}:1/postgres"  # nothing listens on port 1
    done = subprocess.run(
        [*HARNESS, "run", "--workers", "2", "--db", url, "--no-bench"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("harness: error: cannot connect to")
    assert "crashed" not in done.stdout + done.stderr
