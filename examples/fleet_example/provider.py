"""The fleet tracker's fixture provider: ``[tool.harness] fixture = "fleet_example.provider:provider"``.

The schema comes from the legacy peewee models; the data is loaded with SQLAlchemy Core (one
``executemany`` INSERT per table, parents first), which converts each value to the column's
per-database type. Ids are explicit, so PostgreSQL's sequences are moved past them afterwards
(MariaDB and SQLite move their counters past explicit ids themselves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fleet_example import data

if TYPE_CHECKING:
    from harness.database.target import Target
    from harness.fixture import Dataset


class FleetProvider:
    """Schema and data of the fleet tracker; see :class:`harness.fixture.FixtureProvider`."""

    tenant_column = "org_id"

    def generate(self, *, seed: int = 0, tenants: int = 3, scale: int = 1) -> data.FleetDataset:
        """The deterministic fixture data (:func:`fleet_example.data.generate`)."""
        return data.generate(seed=seed, tenants=tenants, scale=scale)

    def create_schema(self, target: Target) -> None:
        """Create the enum types and tables from the legacy models."""
        from fleet_example.legacy import create_schema

        create_schema(target.legacy_db)
        target.legacy_db.close()  # the loader's connection must be the only writer (SQLite)

    def load(self, target: Target, dataset: Dataset) -> dict[str, int]:
        """Insert every table's rows in one transaction; the row count per table."""
        from sqlalchemy import text

        tables = self.new_metadata().tables
        with target.engine.begin() as conn:
            for name, rows in dataset.tables.items():
                if rows:
                    conn.execute(tables[name].insert(), rows)
                    if target.dialect == "postgresql":
                        conn.execute(
                            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), :top)"),
                            {"top": max(row["id"] for row in rows)},
                        )
        return {name: len(rows) for name, rows in dataset.tables.items()}

    def legacy_models(self) -> Sequence[Any]:
        """The peewee model classes, parents first."""
        from fleet_example.legacy import MODELS

        return MODELS

    def new_metadata(self) -> Any:
        """The SQLAlchemy ``MetaData`` of the new models."""
        from fleet_example.models import metadata

        return metadata


provider = FleetProvider()
