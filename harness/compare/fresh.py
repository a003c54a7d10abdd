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
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.canonical import DATETIME_TAG, canonical_json
from harness.normalize.walk import normalize
from harness.records import Change, Comparison, Diff, Observation, RowChanges, SchemaKeys

NOW_TOKEN = "<now>"
# A timestamp a side took from the wall clock lies within its run, give or take the clock
# resolution of the database (MariaDB DATETIME without fractions rounds to the second).
CLOCK_SLACK = timedelta(seconds=1)
_TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


def _window(changes: RowChanges) -> tuple[datetime, datetime]:
    """The side's run in naive UTC (as the schema stores time), widened by the clock slack."""
    start, end = changes.window
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


def _replace_clock(value: Any, mapping: Mapping[Any, str]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and DATETIME_TAG in value:
            return mapping.get(_clock_key(value), value)
        return {k: _replace_clock(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_clock(v, mapping) for v in value]
    try:
        return mapping.get(value, value)
    except TypeError:  # unhashable leaves stay as they are
        return value


Tokens = dict[Any, str]  # a fresh value of one side -> its token


def match_fresh_values(
    legacy: Observation, new: Observation, *, fresh: Mapping[str, tuple[str, ...]] | None = None
) -> tuple[Any, Any, Any, Any]:
    """Both sides' return values and row changes with their fresh values matched into tokens.

    A value is fresh only by where it sits: in a generated primary-key column (or a column the
    pair declared ``fresh=``) of an inserted row, or in a column that references such a key. The
    i-th inserted row of a table on one side is matched with the i-th on the other (rows sorted
    with their fresh columns masked), and both get the token ``<new Table i>``. An equal value
    anywhere else (an unrelated foreign key that happens to be 13, a ``True``) is left alone.
    """
    observed = legacy.changes or new.changes
    keys = observed.keys if observed is not None else None
    sides = []
    for obs in (legacy, new):
        clock_values: set[Any] = set()
        if obs.changes is not None:
            masked = _mask_clock(dict(obs.changes.tables), _window(obs.changes), clock_values)
            canonical = normalize(masked)
        else:
            canonical = {}
        sides.append((canonical, clock_values))
    (legacy_changes, legacy_clock), (new_changes, new_clock) = sides
    # Tokens per table and column, for each side: {table: {column: {value: token}}}.
    legacy_tokens: dict[str, dict[str, Tokens]] = {}
    new_tokens: dict[str, dict[str, Tokens]] = {}
    if keys is not None:
        declared = fresh or {}
        tables = sorted(set(legacy_changes) | set(new_changes))
        fresh_columns = {
            t: tuple(dict.fromkeys((*keys.generated(t), *declared.get(t, ())))) for t in tables
        }
        for table in tables:
            columns = fresh_columns[table]
            if not columns:
                continue
            references = {
                c: r for c, r in keys.foreign.get(table, {}).items() if fresh_columns.get(r)
            }
            masked_columns = (*columns, *references)
            rows_l = sorted(
                (legacy_changes.get(table) or {}).get("inserted", []),
                key=lambda r: canonical_json(_masked(r, masked_columns)),
            )
            rows_n = sorted(
                (new_changes.get(table) or {}).get("inserted", []),
                key=lambda r: canonical_json(_masked(r, masked_columns)),
            )
            primary = keys.generated(table)
            for number, (lrow, nrow) in enumerate(zip(rows_l, rows_n, strict=False), start=1):
                for column in columns:
                    lvalue, nvalue = lrow.get(column), nrow.get(column)
                    if not (_can_be_fresh(lvalue) and _can_be_fresh(nvalue)):
                        continue
                    single = column in primary and len(primary) == 1
                    token = (
                        f"<new {table} {number}>" if single else f"<new {table} {number} {column}>"
                    )
                    for mine, value in ((legacy_tokens, lvalue), (new_tokens, nvalue)):
                        mapping = mine.setdefault(table, {}).setdefault(column, {})
                        mapping.update(dict.fromkeys(_spellings(value), token))
    legacy_value = _replace_clock(legacy.value, dict.fromkeys(legacy_clock, NOW_TOKEN))
    new_value = _replace_clock(new.value, dict.fromkeys(new_clock, NOW_TOKEN))
    if keys is not None and (legacy_tokens or new_tokens):
        legacy_value = _by_name(legacy_value, _name_maps(legacy_tokens, keys), top=True)
        new_value = _by_name(new_value, _name_maps(new_tokens, keys), top=True)
        legacy_changes = _in_rows(legacy_changes, legacy_tokens, keys)
        new_changes = _in_rows(new_changes, new_tokens, keys)
    return legacy_value, new_value, _settle(legacy_changes), _settle(new_changes)


def _can_be_fresh(value: Any) -> bool:
    # bool is an int to Python (True == 1, and they hash alike): never an id here.
    return value is not None and value.__class__ is not bool and isinstance(value, str | int)


def _spellings(value: Any) -> tuple[Any, ...]:
    """A fresh value and the other spelling a side may show of it.

    A UUID kept as 32 hex digits (CHAR(32) on MariaDB and SQLite) is read back as that text by
    the row snapshot, while the ORM returns ``uuid.UUID`` (canonical text with dashes).
    """
    if value.__class__ is str and len(value) in (32, 36):
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            return (value,)
        return tuple(dict.fromkeys((value, parsed.hex, str(parsed))))
    return (value,)


def _masked(row: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {k: ("<new>" if k in columns else v) for k, v in row.items()}


def _name_maps(
    tokens: Mapping[str, Mapping[str, Tokens]], keys: SchemaKeys
) -> dict[str, list[Tokens]]:
    """For a return value: by key name, the token maps a value under that key may come from."""
    by_name: dict[str, list[Tokens]] = {}
    for columns in tokens.values():
        for column, mapping in columns.items():
            by_name.setdefault(column, []).append(mapping)
    for references in keys.foreign.values():
        for column, referred in references.items():
            primary = keys.generated(referred)
            if len(primary) == 1 and primary[0] in tokens.get(referred, {}):
                by_name.setdefault(column, []).append(tokens[referred][primary[0]])
    return by_name


def _by_name(value: Any, maps: Mapping[str, list[Tokens]], *, top: bool = False) -> Any:
    """Replace fresh values under the key names that can hold them; a bare returned id too."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, dict | list):
                out[key] = _by_name(item, maps)
            elif _can_be_fresh(item) and key in maps:
                out[key] = next((m[item] for m in maps[key] if item in m), item)
            else:
                out[key] = item
        return out
    if isinstance(value, list):
        if top:  # a list of the ids the operation created, as many pairs return
            return [_any_token(v, maps) if _can_be_fresh(v) else _by_name(v, maps) for v in value]
        return [_by_name(v, maps) for v in value]
    if top and _can_be_fresh(value):  # the operation returned the new id itself
        return _any_token(value, maps)
    return value


def _any_token(value: Any, maps: Mapping[str, list[Tokens]]) -> Any:
    for mappings in maps.values():
        for mapping in mappings:
            if value in mapping:
                return mapping[value]
    return value


def _in_rows(
    changes: Mapping[str, Any], tokens: Mapping[str, Mapping[str, Tokens]], keys: SchemaKeys
) -> dict[str, Any]:
    """Replace fresh values in row changes, by table and column."""

    def row(table: str, values: Mapping[str, Any]) -> dict[str, Any]:
        own = tokens.get(table, {})
        references = keys.foreign.get(table, {})
        out = {}
        for column, item in values.items():
            mapping = own.get(column)
            if mapping is None and column in references:
                referred = keys.generated(references[column])
                if len(referred) == 1:
                    mapping = tokens.get(references[column], {}).get(referred[0])
            out[column] = mapping.get(item, item) if mapping and _can_be_fresh(item) else item
        return out

    out: dict[str, Any] = {}
    for table, kinds in changes.items():
        kinds = kinds or {}
        out[table] = {
            "inserted": [row(table, r) for r in kinds.get("inserted", [])],
            "updated": [
                {k: (row(table, v) if isinstance(v, dict) else v) for k, v in entry.items()}
                for entry in kinds.get("updated", [])
            ],
            "deleted": [row(table, r) for r in kinds.get("deleted", [])],
        }
    return out


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
