"""A side's summary: report rows of a result kept raw are made when read, the same as made at once."""

from __future__ import annotations

import pickle
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal

from harness.normalize.table import Table
from harness.normalize.walk import normalize, normalize_rows
from harness.records import MAX_RESULT_ROWS, Later, Observation, SideSummary, Statement


def _rows(count: int) -> list[dict[str, object]]:
    start = datetime(2024, 1, 1, 9)
    return [
        {"id": i, "price": Decimal(i) / 4, "at": start + timedelta(minutes=i), "tags": ["a"]}
        for i in range(count)
    ]


def _summary(count: int) -> SideSummary:
    table, _ = normalize_rows(_rows(count), lazy=True)
    assert table.__class__ is Table
    obs = Observation("legacy", value=table, statements=(Statement("SELECT 1", "[]", 0.1),))
    return SideSummary.of(obs, value=table, changes=None)


def test_the_report_rows_of_a_table_are_made_when_read_and_cut_as_before() -> None:
    summary = _summary(MAX_RESULT_ROWS + 10)
    assert summary.__dict__["result"].__class__ is Later  # nothing made in the case's run
    assert summary.result == normalize(_rows(MAX_RESULT_ROWS + 10))[:MAX_RESULT_ROWS]
    assert summary.result_rows == MAX_RESULT_ROWS + 10
    assert summary.__dict__["result"] is summary.result  # made once, then kept


def test_to_json_is_what_asdict_gave_and_a_summary_pickles() -> None:
    summary = _summary(20)  # no more rows than a summary keeps: made by the Table itself
    assert summary.__dict__["result"].__class__ is Later
    assert pickle.loads(pickle.dumps(summary)) == summary  # made before pickling
    assert summary.result == normalize(_rows(20))
    expected = asdict(summary)
    del expected["raised"]
    expected["statements"] = list(expected["statements"])
    assert summary.to_json() == expected
    assert SideSummary.from_json(summary.to_json()) == summary
