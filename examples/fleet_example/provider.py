"""The fleet tracker's fixture provider: ``[tool.harness] fixture = "fleet_example.provider:provider"``.

Built from the harness's blocks (:class:`harness.fixture.Provider`): the data comes from
:func:`fleet_example.data.generate`, the schema from the legacy peewee models (the enum types
first, on PostgreSQL), and the default :class:`~harness.fixture.BulkLoader` loads it parents
first, adapts arrays, JSON, UUIDs and enums per database and moves the serial counters past the
explicit ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleet_example import data
from harness.fixture import Provider

if TYPE_CHECKING:
    from harness.database.target import Target


def _legacy_models() -> Any:
    from fleet_example.legacy import MODELS

    return MODELS


def _new_metadata() -> Any:
    from fleet_example.models import metadata

    return metadata


def _create_schema(target: Target) -> None:
    from fleet_example.legacy import create_schema

    create_schema(target.legacy_db)  # the enum types, then the tables
    target.legacy_db.close()  # the loader's connection must be the only writer (SQLite)


provider = Provider(
    legacy_models=_legacy_models,
    new_metadata=_new_metadata,
    generate=data.generate,
    create_schema=_create_schema,
    tenant_column="org_id",
    name="fleet_example",
)
