"""Row changes of a writing pair, and matching up the values both sides generate afresh.

A writing pair (``writes=True, watch=[...]``) is judged on its return value and on the rows it
inserted, updated and deleted in the watched tables, keyed by primary key. Both sides generate
some values afresh: new primary keys (random ids) and wall-clock timestamps. Those are matched
up, not reported: the i-th inserted row of a table on one side corresponds to the i-th on the
other (rows sorted with their fresh values masked), and each pair of fresh values is replaced by
the same token (``<new Issue 1>``, ``<now>``) wherever it appears, in rows and return values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from harness.canonical import DATETIME_TAG, canonical_json
from harness.normalize.walk import normalize
from harness.records import Change, Comparison, Diff, Observation

if TYPE_CHECKING:
    pass

NOW_TOKEN = "<now>"
# A timestamp a side took from the wall clock lies within its run, give or take the clock
# resolution of the database (MariaDB DATETIME without fractions rounds to the second).
CLOCK_SLACK = timedelta(seconds=1)
_TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


def _window(obs: Observation) -> tuple[datetime, datetime]:
    """The side's run in naive UTC (as the schema stores time), widened by the clock slack."""
    start, end = obs.changes["window"]
    return start.replace(tzinfo=None) - CLOCK_SLACK, end.replace(tzinfo=None) + CLOCK_SLACK


def _mask_clock(value: Any, window: tuple[datetime, datetime], seen: set[Any]) -> Any:
    """Replace datetimes taken from the wall clock during the side's run by ``<now>``.

    SQLite hands raw rows back with timestamps as text, so text shaped like a timestamp counts.
    """
    if isinstance(value, str) and _TIMESTAMP_TEXT.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if _in_window(parsed, window):
            seen.add(value)
            seen.add(_clock_key(normalize(parsed)))
            return NOW_TOKEN
        return value
    if isinstance(value, datetime):
        if _in_window(value, window):
            seen.add(_clock_key(normalize(value)))
            return NOW_TOKEN
        return value
    if isinstance(value, dict):
        return {k: _mask_clock(v, window, seen) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_clock(v, window, seen) for v in value]
    return value


def _in_window(value: datetime, window: tuple[datetime, datetime]) -> bool:
    naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return window[0] <= naive <= window[1]


def _clock_key(canonical: Any) -> Any:
    """A hashable key for a canonical datetime (a one-key tagged dict)."""
    return (DATETIME_TAG, canonical[DATETIME_TAG])


def _replace(value: Any, mapping: Mapping[Any, str]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and DATETIME_TAG in value:
            return mapping.get(_clock_key(value), value)
        return {k: _replace(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, mapping) for v in value]
    try:
        return mapping.get(value, value)
    except TypeError:  # unhashable leaves stay as they are
        return value


def match_fresh_values(legacy: Observation, new: Observation) -> tuple[Any, Any, Any, Any]:
    """Both sides' return values and row changes with their fresh values matched into tokens."""
    sides = []
    for obs in (legacy, new):
        clock_values: set[Any] = set()
        raw = obs.changes["changes"] if obs.changes else {}
        masked = _mask_clock(raw, _window(obs), clock_values) if obs.changes else {}
        canonical = normalize(masked)
        sides.append((canonical, clock_values))
    (legacy_changes, legacy_clock), (new_changes, new_clock) = sides
    legacy_map: dict[Any, str] = dict.fromkeys(legacy_clock, NOW_TOKEN)
    new_map: dict[Any, str] = dict.fromkeys(new_clock, NOW_TOKEN)
    for table in sorted(set(legacy_changes) | set(new_changes)):
        legacy_rows = (legacy_changes.get(table) or {}).get("inserted", [])
        new_rows = (new_changes.get(table) or {}).get("inserted", [])
        legacy_ids = _fresh_ids(legacy_rows)
        new_ids = _fresh_ids(new_rows)
        ordered_legacy = sorted(
            legacy_rows,
            key=lambda r: canonical_json(_replace(r, dict.fromkeys(legacy_ids, "<new>"))),
        )
        ordered_new = sorted(
            new_rows, key=lambda r: canonical_json(_replace(r, dict.fromkeys(new_ids, "<new>")))
        )
        for number, (lrow, nrow) in enumerate(
            zip(ordered_legacy, ordered_new, strict=False), start=1
        ):
            token = f"<new {table} {number}>"
            if "id" in lrow and "id" in nrow and isinstance(lrow["id"], str | int):
                legacy_map[lrow["id"]] = token
                new_map[nrow["id"]] = token
    legacy_value = _replace(legacy.value, legacy_map)
    new_value = _replace(new.value, new_map)
    return (
        legacy_value,
        new_value,
        _settle(_replace(legacy_changes, legacy_map)),
        _settle(_replace(new_changes, new_map)),
    )


def _fresh_ids(rows: Sequence[Mapping[str, Any]]) -> set[Any]:
    return {r["id"] for r in rows if "id" in r and isinstance(r["id"], str | int)}


def _settle(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Sort each table's row lists, so the comparison is independent of snapshot order."""
    return {
        table: {kind: sorted(rows, key=canonical_json) for kind, rows in (kinds or {}).items()}
        for table, kinds in changes.items()
    }


def merge(result: Comparison, rows: Comparison) -> Comparison:
    """One verdict from the return-value comparison and the row-change comparison."""
    if result.equal and rows.equal:
        return result
    summaries = []
    changes: list[Change] = []
    if result.diff is not None:
        summaries.append(f"return value: {result.diff.summary}")
        changes.extend(result.diff.changes)
    if rows.diff is not None:
        summaries.append(f"row changes: {rows.diff.summary}")
        changes.extend(
            Change(
                path=f"changes.{c.path}" if not c.path.startswith("[") else f"changes{c.path}",
                kind=c.kind,
                legacy=c.legacy,
                new=c.new,
            )
            for c in rows.diff.changes
        )
    base = result.diff or Diff(summary="")
    return Comparison(
        equal=False,
        diff=Diff(
            summary="; ".join(summaries),
            changes=tuple(changes),
            only_legacy=base.only_legacy,
            only_new=base.only_new,
            reordered=base.reordered,
            truncated=base.truncated + (rows.diff.truncated if rows.diff else 0),
        ),
    )
