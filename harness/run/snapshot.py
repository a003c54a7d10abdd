"""Row changes of a writing side: the watched tables read before and after, keyed by primary key."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from harness.records import SchemaKeys

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


def schema_keys(target: Target) -> SchemaKeys:
    """Every table's primary key and foreign keys in the live database (read once per target)."""
    if target.schema_keys is None:
        from sqlalchemy import inspect

        inspector = inspect(target.engine)
        primary: dict[str, tuple[str, ...]] = {}
        foreign: dict[str, dict[str, str]] = {}
        for table in inspector.get_table_names():
            primary[table] = tuple(
                inspector.get_pk_constraint(table).get("constrained_columns") or ()
            )
            foreign[table] = {
                column: fk["referred_table"]
                for fk in inspector.get_foreign_keys(table)
                if len(fk["constrained_columns"]) == 1
                for column in fk["constrained_columns"]
            }
        target.schema_keys = SchemaKeys(primary=primary, foreign=foreign)
    return target.schema_keys


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


def diff_snapshots(
    before: Snapshot, after: Snapshot, scope: Mapping[str, str | None] | None = None
) -> dict[str, dict[str, list[Any]]]:
    """Inserted, updated and deleted rows per table (raw driver values, not yet normalized).

    An updated row names its key, the columns that changed, and in ``scope`` the row's tenant
    column (``scope[table]``), so that a write to another tenant's rows shows as one even when
    the tenant column itself did not change.
    """
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
                entry: dict[str, Any] = {"key": list(k)}
                column = (scope or {}).get(table)
                if column is not None and column in old:
                    entry["scope"] = {column: old[column]}
                entry["before"] = {c: old.get(c) for c in changed}
                entry["after"] = {c: new[c] for c in changed}
                updated.append(entry)
        out[table] = {"inserted": inserted, "updated": updated, "deleted": deleted}
    return out


RunSQL = Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]


Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]
