"""The second example application (``examples/fleet_example``) on SQLite, PostgreSQL and MariaDB.

It shares nothing with the reference schema: integer serial keys, snake_case names, an integer
``org_id`` tenant column, arrays, JSONB, UUIDs and enums where the database has them. Every
equivalent pair must be equal (across side orders and fixture seeds), every planted divergence
flagged with the right explanation, and schema-diff clean.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from harness.drive import run_direct
from harness.settings import HarnessConfig
from harness.url import parse_url
from tests.test_run_e2e import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FIXTURE = "fleet_example.provider:provider"
PAIRS = 15


@pytest.fixture(autouse=True, scope="module")
def examples_on_path() -> Iterator[None]:
    """The example is not installed: it is imported from the repository's examples/ folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(EXAMPLES))
        yield


def run(
    tmp_path: Path, db: str | None, module: str, *, order_seed: int = 1, **settings: Any
) -> tuple[int, dict[str, Any]]:
    report_dir = tmp_path / f"reports-{order_seed}"
    config = HarnessConfig(
        db=db,
        pairs=(module,),
        fixture=FIXTURE,
        include_default_pairs=False,
        bench=False,
        baseline=None,
        order_seed=order_seed,
        report_dir=report_dir,
        **settings,
    )
    status = run_direct(config)
    return status, json.loads((report_dir / "results.json").read_text())


def cases_of(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{p['name']}[{c['label']}]": c for p in results["pairs"] for c in p["cases"]}


def not_equal(results: dict[str, Any]) -> list[str]:
    return [
        f"{key}: {case['status']}: {(case['diff'] or case['error'] or {})}"
        for key, case in cases_of(results).items()
        if case["status"] != "equal"
    ]


# -- every equivalent pair is equal -----------------------------------------------------------


def test_every_pair_is_equal(tmp_path: Path, db_url: str | None) -> None:
    status, results = run(tmp_path, db_url, "fleet_example.pairs", keep_db=db_url is not None)
    try:
        assert not_equal(results) == []
        assert status == 0
        assert results["summary"]["pairs"] == PAIRS
        assert results["summary"]["equal"] == PAIRS
        cases = cases_of(results)
        # Only the pages ordered by a key with ties warn (a tie may be cut at the page's end);
        # the list ordered by (created_at, id) does not.
        warned = {key for key, case in cases.items() if case["warnings"]}
        pages = {f"fleet.asset.recent[{org},limit=4]" for org in (1, 2, 3)}
        assert warned == pages | {"fleet.asset.recent[1,limit=3]"}
        assert {w["category"] for k in warned for w in cases[k]["warnings"]} == {"OrderByTie"}
        # A new work order's id is a fresh value on each side; the asset it references, whose id
        # equals one of the fresh ids by coincidence, is left alone.
        opened = [c for k, c in cases.items() if k.startswith("fleet.work_order.open[")]
        assert len(opened) == 3
        for case in opened:
            for side in ("legacy", "new"):
                assert case[side]["result"]["id"] == "<new work_orders 1>"
                assert case[side]["result"]["asset_id"] == case["params"]["asset_id"]
        # Both sides raised unique_violation on the duplicate SKU: equal, and said so.
        duplicate = cases["fleet.part.add[duplicate-sku]"]
        assert duplicate["legacy"]["raised"]["category"] == "unique_violation"
        assert duplicate["new"]["raised"]["category"] == "unique_violation"
        missing = cases["fleet.asset.get[missing]"]
        assert missing["legacy"]["raised"]["category"] == missing["new"]["raised"]["category"]
        assert missing["new"]["raised"]["category"] == "not_found"
        if db_url is not None:
            # Sequences are not rolled back: each side took ids of its own (10 seeded work
            # orders, then 5 cases inserting one on each side), so the sides' ids differed.
            assert next_work_order_id(results["database"]["url"]) == 10 + 2 * 5 + 1
    finally:
        if db_url is not None:
            drop(db_url, results["database"]["url"])


def next_work_order_id(url: str) -> int:
    """The id the next work order would get in the kept scratch database at ``url``."""
    engine = create_engine(parse_url(url).sqlalchemy_url(), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                last = conn.execute(text("SELECT last_value FROM work_orders_id_seq")).scalar_one()
                return int(last) + 1
            query = (
                "SELECT AUTO_INCREMENT FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'work_orders'"
            )
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def drop(server_url: str, kept_url: str) -> None:
    """Drop the scratch database this test kept (only that one)."""
    kept = parse_url(kept_url)
    admin = create_engine(
        parse_url(server_url).sqlalchemy_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            quote = '"' if kept.dialect == "postgresql" else "`"
            conn.execute(text(f"DROP DATABASE IF EXISTS {quote}{kept.database}{quote}"))
    finally:
        admin.dispose()


@pytest.mark.parametrize("order_seed", range(10))
def test_no_false_alarm_across_order_seeds_and_fixture_seeds(
    tmp_path: Path, order_seed: int
) -> None:
    status, results = run(
        tmp_path, None, "fleet_example.pairs", order_seed=order_seed, seed=order_seed
    )
    assert not_equal(results) == []
    assert status == 0


# -- every planted divergence is flagged, with the right explanation --------------------------


def test_planted_divergences_are_flagged(tmp_path: Path, db_url: str | None) -> None:
    status, results = run(tmp_path, db_url, "fleet_example.planted")
    assert status == 1
    cases = cases_of(results)

    leak = cases["planted.asset.get_unscoped[other-org]"]
    assert leak["status"] == "mismatch"
    assert leak["leaks"] == ["new: org_id = 2 (case tenant 1)"]
    assert leak["diff"]["summary"].startswith("tenant leak: new: org_id = 2")

    agreed = cases["planted.asset.service_unplaced[org-1]"]
    assert agreed["status"] == "mismatch"
    assert agreed["legacy"]["changes"] == agreed["new"]["changes"]  # both sides agree
    assert {leak.split(":")[0] for leak in agreed["leaks"]} == {"legacy", "new"}
    assert all(".scope.org_id = " in leak for leak in agreed["leaks"])
    assert not any("= 1 (case tenant 1)" in leak for leak in agreed["leaks"])

    moved = cases["planted.work_order.misordered[org-1]"]
    assert moved["status"] == "mismatch"
    assert moved["diff"]["summary"].startswith("same rows, different order by ['created_at']")
    assert moved["diff"]["reordered"] is True
    assert {c["kind"] for c in moved["diff"]["changes"]} == {"moved"}
    assert moved["diff"]["only_legacy"] == moved["diff"]["only_new"] == []

    raised = cases["planted.asset.find_by_tag[missing]"]
    assert raised["status"] == "mismatch"
    assert raised["diff"]["summary"].startswith("new raised not_found (NoResultFound")
    assert raised["diff"]["summary"].endswith("legacy returned None")

    wrong = cases["planted.part.add[duplicate-sku]"]
    assert wrong["status"] == "mismatch"
    assert wrong["diff"]["summary"].startswith("legacy raised unique_violation (")
    assert ", new raised not_null_violation (" in wrong["diff"]["summary"]

    assert cases["planted.org.settings[org-2]"]["status"] == "expected"
    assert cases["planted.org.settings[org-2]"]["expected"].startswith("the new API returns {}")
    assert cases["planted.org.settings[org-1]"]["status"] == "equal"

    stale = cases["planted.org.slug[org-1]"]
    assert stale["status"] == "mismatch"
    assert "drop this case from the pair's expect=" in stale["diff"]["summary"]

    assert results["summary"]["expected"] == 1
    assert results["summary"]["mismatch"] == 6
    assert results["summary"]["gate"] == "fail"


def test_an_expected_difference_passes_the_gate(tmp_path: Path) -> None:
    status, results = run(tmp_path, None, "fleet_example.planted", only=("planted.org.settings",))
    assert status == 0
    assert results["summary"]["expected"] == 1
    assert results["summary"]["gate"] == "pass"


def test_a_page_that_cuts_a_tie_in_two_warns(tmp_path: Path) -> None:
    _, results = run(tmp_path, None, "fleet_example.pairs", only=("fleet.asset.recent",))
    assert cases_of(results)["fleet.asset.recent[1,limit=3]"]["warnings"]


# -- schema-diff ------------------------------------------------------------------------------


def test_schema_diff_reports_no_difference(db_url: str | None) -> None:
    args = ["schema-diff", "--fixture", FIXTURE] + (["--db", db_url] if db_url else [])
    done = cli(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("no difference: 9 tables, 56 columns")


# -- bad input: one line naming the pair, exit 2 ------------------------------------------------

BAD_CATEGORY = """
from fleet_example import models as nm
from harness import pair

p = pair("bad.category", errors={"fleet_example.errors.Gone": "vanished"})
p.legacy(lambda ctx: None)
p.new(lambda ctx: None)
"""

BAD_ORDER_BY = """
from sqlalchemy import select

from fleet_example import legacy as lm
from fleet_example import models as nm
from fleet_example.sides import legacy_side
from harness import Case, pair

p = pair("bad.order_by", order_by=("opened_at",))


@legacy_side(p)
def _(ctx):
    return list(lm.WorkOrder.select().where(lm.WorkOrder.org == ctx.tenant_id))


@p.new
def _(ctx):
    stmt = select(nm.WorkOrder).where(nm.WorkOrder.org_id == ctx.tenant_id)
    return ctx.session.scalars(stmt).all()


@p.cases
def _(fx):
    yield Case(tenant_id=fx.tenants[0])
"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (BAD_CATEGORY, ["bad.category", "'vanished'", "is not an error category"]),
        (BAD_ORDER_BY, ["bad.order_by", "order_by: 'opened_at' is not a key"]),
    ],
    ids=["unknown-category", "order-by-key-missing"],
)
def test_bad_pair_options_exit_2_with_one_line(
    tmp_path: Path, source: str, expected: list[str]
) -> None:
    module = tmp_path / "bad_pairs.py"
    module.write_text(textwrap.dedent(source))
    # The reference application's pairs stay out (they cannot run on the fleet fixture).
    (tmp_path / "pyproject.toml").write_text("[tool.harness]\ninclude_default_pairs = false\n")
    done = cli(
        "run",
        "--fixture",
        FIXTURE,
        "--pairs",
        str(module),
        "--no-bench",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    # Progress notes may come first (an order_by key is checked on the rows, once they run).
    lines = [line for line in done.stderr.splitlines() if line.startswith("harness: error:")]
    assert len(lines) == 1, done.stderr
    assert all(text in lines[0] for text in expected), lines[0]
    assert "Traceback" not in done.stderr
