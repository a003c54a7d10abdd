"""Verdicts on any schema: error categories, expected differences, order_by, fresh values by
origin, the configurable tenant guard, rules on row changes and warnings, on every database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import peewee
import pytest
from sqlalchemy import text
from test_run_e2e import cli

from harness.compare.categories import classify
from harness.compare.fresh import match_fresh_values
from harness.database.scratch import open_target
from harness.database.target import Target
from harness.drive import run_direct
from harness.errors import RegistrationError
from harness.records import Observation, RowChanges, SchemaKeys
from harness.registry import load_pairs
from harness.settings import HarnessConfig

VERDICTS = str(Path(__file__).parent / "pair_modules" / "verdicts.py")


def _run(tmp: Path, db: str | None) -> dict[str, dict[str, Any]]:
    config = HarnessConfig(
        db=db,
        pairs=(VERDICTS,),
        report_dir=tmp,
        bench=False,
        baseline=None,
        include_default_pairs=False,
        order_seed=11,
    )
    assert run_direct(config) == 1
    results = json.loads((tmp / "results.json").read_text())
    return {p["name"]: p for p in results["pairs"]} | {"$summary": results["summary"]}


def test_each_verdict_on_every_database(tmp_path: Path, db_url: str | None) -> None:
    pairs = _run(tmp_path, db_url)

    def case(name: str) -> dict[str, Any]:
        (only,) = pairs[name]["cases"]
        return only

    # Both sides raise the same category: equal, and each side says what it raised.
    for name, category in (
        ("verdict.missing", "not_found"),
        ("verdict.duplicate", "unique_violation"),
        ("verdict.mapped", "not_found"),
    ):
        c = case(name)
        assert c["status"] == "equal", (name, c)
        assert c["legacy"]["raised"]["category"] == c["new"]["raised"]["category"] == category
    assert case("verdict.mapped")["legacy"]["raised"]["type"] == "ProjectNotFound"

    lookup = case("verdict.lookup")
    assert lookup["status"] == "mismatch"
    assert lookup["diff"]["summary"].startswith("legacy raised not_found (")
    assert "new returned None" in lookup["diff"]["summary"]

    buggy = case("verdict.buggy")
    assert buggy["status"] == "error" and buggy["error"]["type"] == "KeyError"
    assert buggy["new"]["raised"]["category"] is None

    declared = case("verdict.declared")
    assert declared["status"] == "expected" and declared["expected"].startswith("the new side")
    outdated = case("verdict.outdated")
    assert outdated["status"] == "mismatch" and "drop this case" in outdated["diff"]["summary"]

    assert case("verdict.tied")["status"] == "equal"
    moved = case("verdict.moved")
    assert moved["status"] == "mismatch"
    assert moved["diff"]["summary"].startswith("same rows, different order by ['notify']")
    assert not moved["diff"]["only_legacy"] and not moved["diff"]["only_new"]
    assert {c["kind"] for c in moved["diff"]["changes"]} == {"moved"}

    warned = case("verdict.warned")
    assert warned["status"] == "equal"
    (warning,) = warned["warnings"]
    assert warning["side"] == "new" and warning["category"] == "DeprecationWarning"
    assert "Session.get()" in warning["message"] and "verdicts.py" in warning["where"]

    everywhere = case("verdict.everywhere")
    assert everywhere["status"] == "mismatch"
    assert everywhere["leaks"][0].startswith("legacy: changes.Machine.updated[")
    assert any(leak.startswith("new: changes.Machine.updated[") for leak in everywhere["leaks"])

    assert case("verdict.token")["status"] == "equal"
    value_only = case("verdict.tokenValueOnly")
    assert value_only["status"] == "mismatch"
    assert value_only["diff"]["summary"].startswith("row changes: Comment.inserted[0].content")

    summary = pairs["$summary"]
    assert summary["expected"] == 1 and summary["warnings"] == 1 and summary["gate"] == "fail"


# --- categories of real database errors, raised through each ORM ------------------------------


@pytest.fixture
def table(db_url: str | None) -> Iterator[Target]:
    with open_target(db_url) as target:
        with target.engine.begin() as conn:
            conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            conn.execute(
                text(
                    "CREATE TABLE child (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL "
                    "UNIQUE, parent_id INTEGER REFERENCES parent (id), n INTEGER CHECK (n > 0))"
                )
            )
            conn.execute(text("INSERT INTO parent (id) VALUES (1)"))
            conn.execute(text("INSERT INTO child (id, name, parent_id, n) VALUES (1, 'a', 1, 1)"))
        yield target


VIOLATIONS = {
    "unique_violation": "INSERT INTO child (id, name) VALUES (2, 'a')",
    "foreign_key_violation": "INSERT INTO child (id, name, parent_id) VALUES (3, 'b', 99)",
    "not_null_violation": "INSERT INTO child (id, name) VALUES (4, NULL)",
    "check_violation": "INSERT INTO child (id, name, n) VALUES (5, 'c', -1)",
    None: "SELECT * FROM no_such_table",  # the query is wrong: a bug of the pair, no category
}


@pytest.mark.parametrize("category", list(VIOLATIONS), ids=str)
def test_both_orms_errors_get_the_same_category(table: Target, category: str | None) -> None:
    sql = VIOLATIONS[category]
    with pytest.raises(Exception) as from_sqlalchemy, table.engine.begin() as conn:
        conn.execute(text(sql))
    db = table.legacy_db
    with pytest.raises(peewee.PeeweeException) as from_peewee, db.atomic():
        db.execute_sql(sql)
    db.close()
    assert classify(from_sqlalchemy.value) == category
    assert classify(from_peewee.value) == category


def test_exceptions_of_no_database_have_no_category() -> None:
    assert classify(KeyError("x")) is None
    assert classify(ValueError("x"), {"builtins.ValueError": "invalid_input"}) == "invalid_input"


# --- fresh values matched by origin, never by value -------------------------------------------


def _writes(inserted: dict[str, list[dict[str, Any]]], value: Any) -> Observation:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    keys = SchemaKeys(
        primary={"items": ("id",), "groups": ("id",), "item_tags": ("item_id", "tag")},
        foreign={"items": {"group_id": "groups"}, "item_tags": {"item_id": "items"}},
    )
    tables = {t: {"inserted": rows, "updated": [], "deleted": []} for t, rows in inserted.items()}
    return Observation("legacy", value=value, changes=RowChanges(tables, (now, now), keys))


def test_a_fresh_integer_id_is_replaced_only_where_it_comes_from() -> None:
    """Sequences diverge (13 vs 14); group 13 and True are not the new item's id."""
    legacy = _writes(
        {
            "items": [{"id": 13, "group_id": 13, "active": True}],
            "item_tags": [{"item_id": 13, "tag": "x"}],
        },
        {"id": 13, "group_id": 13, "flags": [True, 1]},
    )
    new = _writes(
        {
            "items": [{"id": 14, "group_id": 13, "active": True}],
            "item_tags": [{"item_id": 14, "tag": "x"}],
        },
        {"id": 14, "group_id": 13, "flags": [True, 1]},
    )
    lv, nv, lc, nc = match_fresh_values(legacy, new)
    assert lv == nv == {"id": "<new items 1>", "group_id": 13, "flags": [True, 1]}
    assert lc["items"]["inserted"] == [{"id": "<new items 1>", "group_id": 13, "active": True}]
    assert lc == nc
    assert lc["item_tags"]["inserted"] == [{"item_id": "<new items 1>", "tag": "x"}]


def test_a_bare_returned_new_id_is_matched_and_a_different_row_is_not_hidden() -> None:
    legacy = _writes({"items": [{"id": 1, "group_id": 5}]}, 1)
    new = _writes({"items": [{"id": 2, "group_id": 6}]}, 2)
    lv, nv, lc, nc = match_fresh_values(legacy, new)
    assert lv == nv == "<new items 1>"
    assert lc != nc  # group 5 and group 6: a real difference, still there


# --- bad input: one line naming the pair -------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "p = pair('bad.errors', errors={'myapp.errors.Gone': 'not_there'})",
            "'not_there' (for myapp.errors.Gone) is not an error category",
        ),
        ("p = pair('bad.order', order_by=[''])", "order_by"),
        ("p = pair('bad.expect', expect={'*': ''})", "expect:"),
        ("p = pair('bad.fresh', fresh=['nodot'])", "fresh: 'nodot' is not 'Table.column'"),
    ],
)
def test_bad_options_are_registration_errors(tmp_path: Path, source: str, message: str) -> None:
    module = tmp_path / "bad_options.py"
    module.write_text(f"from harness import pair\n{source}\n")
    with pytest.raises(RegistrationError) as info:
        load_pairs([str(module)], include_default=False)
    assert message in str(info.value) and "bad." in str(info.value)


ORDER_KEY_MISSING = """
from harness import pair
p = pair('bad.sortkey', order_by=('createdAt',))
p.legacy(lambda ctx: [{'id': 1}])
p.new(lambda ctx: [{'id': 2}])
"""


def test_an_order_by_key_the_rows_lack_is_exit_2_naming_the_pair(tmp_path: Path) -> None:
    module = tmp_path / "sortkey.py"
    module.write_text(ORDER_KEY_MISSING)
    done = cli(
        "run",
        "--pairs",
        str(module),
        "--only",
        "bad.*",
        "--no-bench",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("harness: error")]
    assert "pair 'bad.sortkey'" in line and "'createdAt' is not a key" in line


def test_a_tenant_column_no_table_has_is_exit_2(tmp_path: Path) -> None:
    done = cli(
        "run",
        "--only",
        "issue.list",
        "--tenant-column",
        "org_id",
        "--no-bench",
        "--report-dir",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "tenant_column 'org_id' is a column of no table" in done.stderr


def test_an_unknown_error_category_in_the_settings_is_exit_2(tmp_path: Path) -> None:
    done = cli(
        "run", "--errors", "myapp.Gone=vanished", "--report-dir", str(tmp_path), cwd=tmp_path
    )
    assert done.returncode == 2
    assert "'vanished' (for myapp.Gone) is not an error category" in done.stderr
