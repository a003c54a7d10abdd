"""The fixture database: what an application gives the harness to build and seed it.

The harness is not tied to the reference application. A project names its *fixture provider* in
``[tool.harness] fixture = "package.module:provider"`` (default: the reference application,
``harness.reference.provider:provider``). A provider generates the fixture data deterministically in
memory (cases are built from it at collection time, before any database exists), creates the
schema from the legacy models, and bulk-loads the data.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from harness.errors import ConfigError
from harness.settings import DEFAULT_PROVIDER

if TYPE_CHECKING:
    from harness.database.target import Target


@runtime_checkable
class Dataset(Protocol):
    """The seeded data, as ``fx`` in a pair's cases function."""

    @property
    def tenants(self) -> Sequence[str]:
        """The organization ids, sorted."""
        ...

    @property
    def tables(self) -> Mapping[str, list[dict[str, Any]]]:
        """Table name to rows (dicts keyed by physical column name), in load order."""
        ...

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The seeded rows of ``table``, sorted by primary key."""
        ...


class FixtureProvider(Protocol):
    """What a project implements to give the harness its schema and its data."""

    def generate(self, *, seed: int, tenants: int, scale: int) -> Dataset:
        """Build the fixture data in memory, the same for the same arguments on every run."""
        ...

    def create_schema(self, target: Target) -> None:
        """Create the schema in the target's empty database (from the legacy models)."""
        ...

    def load(self, target: Target, dataset: Dataset) -> dict[str, int]:
        """Bulk-load ``dataset`` into the target; return the row count per table."""
        ...

    def legacy_models(self) -> Sequence[Any]:
        """The peewee model classes, for schema-diff."""
        ...

    def new_metadata(self) -> Any:
        """The SQLAlchemy ``MetaData`` of the new models, for schema-diff."""
        ...


def load_provider(spec: str = DEFAULT_PROVIDER) -> FixtureProvider:
    """Import ``module:attribute`` and return the provider it names."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError.bad_value("fixture", spec, "'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"fixture {spec!r}: cannot import {module_name} ({exc}); fix [tool.harness] fixture"
        ) from exc
    try:
        provider = getattr(module, attr)
    except AttributeError as exc:
        raise ConfigError(f"fixture {spec!r}: {module_name} has no attribute {attr!r}") from exc
    missing = [
        m for m in ("generate", "create_schema", "load") if not callable(getattr(provider, m, None))
    ]
    if missing:
        raise ConfigError(
            f"fixture {spec!r}: the provider lacks {', '.join(missing)}; see harness.fixture.FixtureProvider"
        )
    return provider  # type: ignore[no-any-return,unused-ignore]


def seed_target(provider: FixtureProvider, target: Target, dataset: Dataset) -> dict[str, int]:
    """Create the schema and load the data; mark a SQLite file as a harness fixture."""
    from harness.database.target import mark_sqlite_fixture

    provider.create_schema(target)
    counts = provider.load(target, dataset)
    mark_sqlite_fixture(target)
    return counts
