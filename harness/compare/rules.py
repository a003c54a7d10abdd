"""A pair's comparison rules, compiled once when the pair is registered.

Everything that decides how two observations of a pair are judged travels together as a
:class:`Rules` on the pair: ``ordered``/``order_by``, the ``ignore`` and ``unordered`` path
patterns (compiled into :class:`~harness.paths.PathFilter` objects, one for the return value and
one for the row changes), the float tolerance, the ``keys`` rename map, the tenant column, the
error categories of the project's own exceptions, the cases expected to differ, and the columns
both sides fill afresh. No case parses a pattern again, and a bad option is a registration error.

Path patterns and row changes: a writing pair's row changes are compared as
``{Table: {"inserted": [row, …], "updated": [{"key", "scope", "before", "after"}, …],
"deleted": [row, …]}}``. A pattern that starts with ``changes.`` applies to them only, from
their top (``changes.Issue.inserted[*].apiKey``); a bare key (``apiKey``, ``author.email``)
applies at any depth of both the return value and the row changes; any other anchored pattern
(``[*].updatedAt``, ``$.total``) applies to the return value only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from functools import cached_property
from types import MappingProxyType
from typing import Any

from harness.paths import DROP, SORT, PathFilter, compile_paths, parse_path

CHANGES_PREFIX = "changes"
DEFAULT_TENANT_COLUMN = "organizationId"


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class TenantColumns:
    """Where a row names its tenant: one column name everywhere, or a column per table.

    With a per-table mapping, tables it does not name have no tenant (global tables).
    """

    default: str | None = DEFAULT_TENANT_COLUMN
    by_table: Mapping[str, str] = field(default_factory=_empty)

    @classmethod
    def of(cls, value: str | Mapping[str, str] | None) -> TenantColumns | None:
        """From a setting's value (None: not given); a ValueError names a bad one."""
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            return cls(default=value.strip())
        if (
            isinstance(value, Mapping)
            and value
            and all(isinstance(k, str) and isinstance(v, str) and v for k, v in value.items())
        ):
            return cls(default=None, by_table=MappingProxyType(dict(value)))
        raise ValueError(
            f"tenant_column: {value!r} is not valid; give a column name or a table of "
            "{table = column}"
        )

    @cached_property
    def names(self) -> frozenset[str]:
        """Every column name that holds a tenant somewhere: what a return value is checked for.

        Worked out once (every case of a tenant-scoped pair asks); the fields are frozen.
        """
        found = set(self.by_table.values())
        if self.default:
            found.add(self.default)
        return frozenset(found)

    def of_table(self, table: str) -> str | None:
        return self.by_table.get(table, self.default)


@dataclass(frozen=True)
class Rules:
    """How two observations of a pair are compared (see the module docstring)."""

    ordered: bool = False
    order_by: tuple[str, ...] = ()
    float_tolerance: float = 1e-9
    paths: PathFilter | None = None  # ignore + unordered for the return value
    change_paths: PathFilter | None = None  # ignore + unordered for the row changes
    keys: Mapping[str, str] = field(default_factory=_empty)
    tenant: TenantColumns | None = None  # None: not set on the pair (the run's default applies)
    errors: Mapping[str, str] = field(default_factory=_empty)  # qualified class name -> category
    expect: Mapping[str, str] = field(default_factory=_empty)  # case label glob -> reason
    fresh: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)  # table -> columns

    @classmethod
    def compile(
        cls,
        *,
        ordered: bool = False,
        order_by: Sequence[str] = (),
        ignore: Sequence[str] = (),
        unordered: Sequence[str] = (),
        float_tolerance: float = 1e-9,
        keys: Mapping[str, str] | None = None,
        tenant_column: str | Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        expect: Mapping[str, str] | None = None,
        fresh: Iterable[str] = (),
    ) -> Rules:
        """Parse and compile the options; a bad one raises :class:`~harness.errors.ConfigError`
        (a path) or ValueError (anything else), which registration turns into one line."""
        value_ignore, change_ignore = _split(ignore, DROP)
        value_sort, change_sort = _split(unordered, SORT)
        return cls(
            ordered=ordered or bool(order_by),
            order_by=tuple(order_by),
            float_tolerance=float_tolerance,
            paths=_compiled(value_ignore, value_sort),
            change_paths=_compiled(change_ignore, change_sort),
            keys=MappingProxyType(dict(keys or {})),
            tenant=TenantColumns.of(tenant_column),
            errors=MappingProxyType(dict(errors or {})),
            expect=MappingProxyType(dict(expect or {})),
            fresh=MappingProxyType(_fresh_columns(fresh)),
        )

    def completed(
        self,
        *,
        tenant_column: str | Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> Rules:
        """These rules with the run's settings where the pair set nothing of its own.

        The pair's own ``tenant_column`` wins over the run's; ``errors`` mappings merge, the
        pair's entries first.
        """
        tenant = self.tenant or TenantColumns.of(tenant_column) or TenantColumns()
        merged = {**(errors or {}), **self.errors}
        return replace(self, tenant=tenant, errors=MappingProxyType(merged))

    def expectation(self, label: str) -> str | None:
        """The reason the case labelled ``label`` is declared to differ, or None."""
        for pattern, reason in self.expect.items():
            if label == pattern or fnmatchcase(label, pattern):
                return reason
        return None


EXACT = Rules(tenant=TenantColumns())
"""Rules with no options: unordered top level, nothing ignored, the default tolerance."""


def _split(patterns: Sequence[str], setting: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Patterns for the return value, and for the row changes (``changes.…`` ones re-anchored)."""
    value: list[str] = []
    changes: list[str] = []
    for text in patterns:
        if text == CHANGES_PREFIX or text.startswith((CHANGES_PREFIX + ".", CHANGES_PREFIX + "[")):
            rest = text[len(CHANGES_PREFIX) :]
            anchored = "$" + rest
            parse_path(anchored, setting)  # a bad one is named with its own setting
            changes.append(anchored)
            continue
        pattern = parse_path(text, setting)
        value.append(text)
        if not pattern.anchored:
            changes.append(text)
    return tuple(value), tuple(changes)


def _compiled(ignore: tuple[str, ...], unordered: tuple[str, ...]) -> PathFilter | None:
    return compile_paths(ignore, unordered) if ignore or unordered else None


def _fresh_columns(spec: Iterable[str]) -> dict[str, tuple[str, ...]]:
    columns: dict[str, list[str]] = {}
    for item in spec:
        table, dot, column = str(item).partition(".")
        if not dot or not table or not column:
            raise ValueError(
                f"fresh: {item!r} is not 'Table.column'; name the columns both sides fill afresh"
            )
        columns.setdefault(table, []).append(column)
    return {table: tuple(cols) for table, cols in columns.items()}
