"""Row changes of a writing side: the watched tables read before and after, keyed by primary key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.database.target import Target


def primary_key(target: Target, table: str) -> tuple[str, ...]:
    """The primary-key columns of ``table`` in the live database (cached per target)."""
    cache = target.primary_keys
    if table not in cache:
        from sqlalchemy import inspect

        columns = tuple(
            inspect(target.engine).get_pk_constraint(table).get("constrained_columns") or ()
        )
        if not columns:
            from harness.errors import ConfigError

            raise ConfigError(
                f"watch: table {table!r} has no primary key (or does not exist); watch tables with one"
            )
        cache[table] = columns
    return cache[table]


def snapshot(target: Target, run_sql: RunSQL, tables: Iterable[str]) -> Snapshot:
    """Every row of the watched tables, keyed by primary key, as the side's transaction sees it."""
    quote = "`" if target.dialect == "mysql" else '"'
    result: Snapshot = {}
    for table in tables:
        pk = primary_key(target, table)
        columns, rows = run_sql(f"SELECT * FROM {quote}{table}{quote}")
        index = [columns.index(c) for c in pk]
        result[table] = {
            tuple(row[i] for i in index): dict(zip(columns, row, strict=True)) for row in rows
        }
    return result


def diff_snapshots(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[Any]]]:
    """Inserted, updated and deleted rows per table (raw driver values, not yet normalized)."""
    out: dict[str, dict[str, list[Any]]] = {}
    for table, rows_after in after.items():
        rows_before = before.get(table, {})
        inserted = [rows_after[k] for k in rows_after.keys() - rows_before.keys()]
        deleted = [rows_before[k] for k in rows_before.keys() - rows_after.keys()]
        updated = []
        for k in rows_after.keys() & rows_before.keys():
            old, new = rows_before[k], rows_after[k]
            changed = sorted(c for c in new if new[c] != old.get(c))
            if changed:
                updated.append(
                    {
                        "key": list(k),
                        "before": {c: old.get(c) for c in changed},
                        "after": {c: new[c] for c in changed},
                    }
                )
        out[table] = {"inserted": inserted, "updated": updated, "deleted": deleted}
    return out


RunSQL = Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]


Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]
