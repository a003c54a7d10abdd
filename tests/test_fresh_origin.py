"""Fresh values matched by origin (harness.compare.fresh), found while writing the fleet example.

Pure unit tests: two observations made by hand, as the runner makes them from real databases.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from harness.compare.fresh import match_fresh_values
from harness.normalize.walk import normalize
from harness.records import Observation, RowChanges, SchemaKeys

WINDOW = (datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC))
KEYS = SchemaKeys(
    primary={"work_orders": ("id",), "notes": ("id",), "assets": ("id",)},
    foreign={"notes": {"work_order_id": "work_orders"}, "work_orders": {}, "assets": {}},
)


def observe(side: Any, value: Any, inserted: dict[str, list[dict[str, Any]]]) -> Observation:
    tables = {t: {"inserted": rows, "updated": [], "deleted": []} for t, rows in inserted.items()}
    return Observation(
        side, value=normalize(value), changes=RowChanges(tables=tables, window=WINDOW, keys=KEYS)
    )


def test_a_declared_fresh_uuid_stored_as_hex_text_matches_the_uuid_the_orm_returns() -> None:
    # MariaDB and SQLite store a UUID as CHAR(32) hex digits; the row snapshot reads that text,
    # while the ORM hands back uuid.UUID. Both spellings are the same fresh value.
    a, b = uuid.uuid4(), uuid.uuid4()
    legacy = observe(
        "legacy", {"id": 7, "serial_uuid": a}, {"assets": [{"id": 7, "serial_uuid": a.hex}]}
    )
    new = observe("new", {"id": 8, "serial_uuid": b}, {"assets": [{"id": 8, "serial_uuid": b.hex}]})
    lv, nv, lc, nc = match_fresh_values(legacy, new, fresh={"assets": ("serial_uuid",)})
    assert lv == nv == {"id": "<new assets 1>", "serial_uuid": "<new assets 1 serial_uuid>"}
    assert lc == nc


@pytest.mark.xfail(
    strict=True,
    reason="return values are matched by key name only: an 'id' is looked up in every "
    "table's fresh ids, so a note id equal to a work order id of the same side is taken for it",
)
def test_an_id_in_a_return_value_is_matched_within_its_own_table() -> None:
    # Each side inserts two work orders and a note, and returns the second work order. The
    # sequences diverge: legacy's note id equals that work order's id (12), new's does not.
    legacy = observe(
        "legacy",
        {"work_order": {"id": 12, "title": "b"}},
        {
            "work_orders": [{"id": 11, "title": "a"}, {"id": 12, "title": "b"}],
            "notes": [{"id": 12, "work_order_id": 11}],
        },
    )
    new = observe(
        "new",
        {"work_order": {"id": 14, "title": "b"}},
        {
            "work_orders": [{"id": 13, "title": "a"}, {"id": 14, "title": "b"}],
            "notes": [{"id": 13, "work_order_id": 13}],
        },
    )
    lv, nv, lc, nc = match_fresh_values(legacy, new)
    assert lc == nc
    assert lv == nv


@pytest.mark.xfail(
    strict=True,
    reason="a fresh id returned under a key that is no column name ('note_id') is left alone, "
    "so two sides whose sequences diverge differ there; no pair option says which table it is",
)
def test_a_fresh_id_returned_under_its_own_name_is_matched() -> None:
    legacy = observe(
        "legacy",
        {"work_order_id": 11, "note_id": 13},
        {"work_orders": [{"id": 11}], "notes": [{"id": 13, "work_order_id": 11}]},
    )
    new = observe(
        "new",
        {"work_order_id": 12, "note_id": 14},
        {"work_orders": [{"id": 12}], "notes": [{"id": 14, "work_order_id": 12}]},
    )
    lv, nv, _, _ = match_fresh_values(legacy, new)
    assert lv == nv
