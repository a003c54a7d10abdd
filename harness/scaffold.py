"""``harness init``: set a project up for the harness from its own peewee (and SQLAlchemy) models.

Writes, in the project's root:

* ``[tool.harness]`` in ``pyproject.toml`` (appended; an existing section is never overwritten);
* ``<package>/provider.py``: a fixture provider that introspects the peewee models and fills
  every table with plausible, deterministic rows (:func:`harness.fixture.auto.generate_from_models`);
* ``<package>/pairs.py``: one example pair over the first tenant-scoped table.

Then ``harness run`` and ``pytest --harness`` work at once. Nothing is overwritten: an existing
file or section is an error that says so.
"""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.errors import ConfigError


@dataclass(frozen=True)
class Written:
    """What ``harness init`` wrote, for its report."""

    files: tuple[Path, ...]
    tables: tuple[str, ...]
    tenant_table: str | None


def find_models(module_name: str) -> list[Any]:
    """The peewee model classes of ``module_name``: its ``MODELS`` list, else those it defines."""
    import peewee

    module = _import(module_name, "--models")
    listed = getattr(module, "MODELS", None)
    if listed:
        return list(listed)
    defined = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, peewee.Model)
        and obj is not peewee.Model
        and obj.__module__ == module.__name__
    ]
    # A base class the others derive from (class BaseModel(Model): Meta.database = db) is no table.
    bases = {b for m in defined for b in m.__mro__[1:]}
    models = [m for m in defined if m not in bases]
    if not models:
        raise ConfigError(
            f"--models {module_name}: no peewee model is defined there; name the module that "
            "defines your peewee models (or give it a MODELS list)"
        )
    return list(peewee.sort_models(models))  # type: ignore[attr-defined]


def find_metadata(module_name: str) -> str:
    """``attribute`` of ``module_name`` holding the SQLAlchemy MetaData (or a declarative Base)."""
    from sqlalchemy import MetaData

    module = _import(module_name, "--new-models")
    for name, obj in vars(module).items():
        if isinstance(obj, MetaData):
            return name
    for name, obj in vars(module).items():
        declarative_base = (
            isinstance(obj, type)
            and isinstance(getattr(obj, "metadata", None), MetaData)
            and getattr(obj, "__module__", None) == module.__name__
            and "__table__" not in vars(obj)
        )
        if declarative_base:
            return f"{name}.metadata"
    raise ConfigError(
        f"--new-models {module_name}: no SQLAlchemy MetaData or declarative Base there; name the "
        "module that defines your SQLAlchemy models"
    )


def _import(module_name: str, option: str) -> ModuleType:
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"{option} {module_name}: cannot import it ({type(exc).__name__}: {exc}); run "
            "harness init from the project's root and give a dotted module name"
        ) from exc


def init_project(
    root: Path,
    *,
    models: str,
    new_models: str | None,
    package: str = "shadow",
    tenant_table: str | None = None,
) -> Written:
    """Write the configuration, the provider and an example pair module into ``root``."""
    from harness.fixture.auto import find_tenant_table

    legacy = find_models(models)
    metadata_attr = find_metadata(new_models) if new_models else None
    tenant = tenant_table or find_tenant_table(legacy)
    folder = root / package
    targets = [folder / "provider.py", folder / "pairs.py"]
    pyproject = root / "pyproject.toml"
    existing = [p for p in targets if p.exists()]
    if existing:
        raise ConfigError(f"{existing[0]} already exists; harness init overwrites nothing")
    section = _section(package)
    if pyproject.exists():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: not valid TOML ({exc}); fix it first") from exc
        if "harness" in data.get("tool", {}):
            raise ConfigError(
                f"{pyproject} already has a [tool.harness] section; harness init leaves it alone "
                f"(add by hand: {' '.join(section.split())})"
            )
    folder.mkdir(parents=True, exist_ok=True)
    init = folder / "__init__.py"
    if not init.exists():
        init.write_text('"""Shadow testing of the data-layer migration (harness)."""\n')
    targets[0].write_text(_provider_source(legacy, models, new_models, metadata_attr, tenant))
    targets[1].write_text(_pairs_source(legacy, models, new_models, metadata_attr, tenant))
    text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    separator = (
        "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    )
    pyproject.write_text(text + separator + section, encoding="utf-8")
    return Written(
        files=(pyproject, init, *targets),
        tables=tuple(m._meta.table_name for m in legacy),
        tenant_table=tenant,
    )


def _section(package: str) -> str:
    return f'[tool.harness]\nfixture = "{package}.provider:provider"\npairs = ["{package}.pairs"]\n'


def _describe(model: Any) -> str:
    import peewee

    columns = []
    for field in model._meta.sorted_fields:
        text = field.column_name + ("?" if field.null else "")
        if isinstance(field, peewee.ForeignKeyField):
            text += f" -> {field.rel_model._meta.table_name}"
        columns.append(text)
    return f"    {model._meta.table_name}: {', '.join(columns)}"


def _provider_source(
    legacy: list[Any], models: str, new_models: str | None, attr: str | None, tenant: str | None
) -> str:
    names = ", ".join(f"legacy.{m.__name__}" for m in legacy)
    described = "\n".join(_describe(m) for m in legacy)
    if new_models and attr:
        new_import = f"import {new_models} as new\n"
        metadata = f"new.{attr}"
    else:
        new_import = ""
        metadata = "None  # name your SQLAlchemy MetaData here for schema-diff"
    return f'''"""The fixture provider of this project, written by ``harness init``: edit it freely.

The tables found in {models} (``?`` nullable, ``->`` foreign key):

{described}

``generate`` fills every table with plausible, deterministic rows from the models. Replace a
table's rows with your own where the data matters (see harness.fixture.Dataset and Fake).
"""

from __future__ import annotations

from harness.fixture import Provider
from harness.fixture.auto import generate_from_models

import {models} as legacy
{new_import}
MODELS = [{names}]


def generate(*, seed, tenants, scale, now):
    """The fixture data: the same for the same arguments on every run."""
    return generate_from_models(
        MODELS, seed=seed, tenants=tenants, scale=scale, now=now, tenant_table={tenant!r}
    )


provider = Provider(legacy_models=MODELS, new_metadata={metadata}, generate=generate)
'''


def _pairs_source(
    legacy: list[Any], models: str, new_models: str | None, attr: str | None, tenant: str | None
) -> str:
    import peewee

    def tenant_field(model: Any) -> Any:
        return next(
            (
                f
                for f in model._meta.sorted_fields
                if isinstance(f, peewee.ForeignKeyField) and f.rel_model._meta.table_name == tenant
            ),
            None,
        )

    bind = (
        "legacy.MODELS"
        if hasattr(sys.modules[models], "MODELS")
        else "[" + ", ".join(f"legacy.{m.__name__}" for m in legacy) + "]"
    )
    scoped = [m for m in legacy if tenant_field(m) is not None]
    model = (scoped or legacy)[0]
    table = model._meta.table_name
    field = tenant_field(model)
    name = f"{table.lower()}.list"
    var = re.sub(r"\W+", "_", table.lower()).strip("_") + "_list"
    if field is not None:
        legacy_where = f".where(legacy.{model.__name__}.{field.name} == ctx.tenant_id)"
        new_where = f".where(TABLE.c[{field.column_name!r}] == ctx.tenant_id)"
        cases = "    for tenant in fx.tenants:\n        yield Case(tenant_id=tenant)\n"
    else:
        legacy_where = new_where = ""
        cases = "    yield Case(label='all')\n"
    if new_models and attr:
        new_import = f"import {new_models} as new\n"
        new_table = f"new.{attr}.tables[{table!r}]"
    else:
        new_import = "from sqlalchemy import MetaData\n"
        new_table = f"MetaData().reflect and None  # give the new models' Table {table!r} here"
    return f'''"""Pairs of this project: each operation written with peewee (legacy) and SQLAlchemy (new).

Written by ``harness init`` as an example; add a pair per router operation you migrate.
"""

from __future__ import annotations

from sqlalchemy import select

import {models} as legacy
from harness import Case, pair
{new_import}
TABLE = {new_table}

{var} = pair({name!r})


@{var}.legacy
def _(ctx):
    with ctx.db.bind_ctx({bind}):
        return list(legacy.{model.__name__}.select(){legacy_where})


@{var}.new
def _(ctx):
    return ctx.session.execute(select(TABLE){new_where}).all()


@{var}.cases
def _(fx):
{cases}'''
