"""Registering pairs: ``pair(name, **options)`` and its ``.legacy``, ``.new`` and ``.cases`` decorators.

A *pair* is one router operation written twice: the legacy side (peewee, the control) and the new
side (SQLAlchemy 2.x, the candidate). Its *cases* say with which tenant, user and parameters to run
it. Modules register pairs when imported; :func:`load_pairs` imports the project's
``harness/pairs/`` and any module or file the user names, and returns the pairs in a
:class:`Registry`.

Example::

    from harness import pair, Case

    issue_get = pair("issue.get", router="issue")

    @issue_get.legacy
    def _(ctx, issue_id):
        return Issue.get_or_none(Issue.id == issue_id, Issue.organization == ctx.tenant_id)

    @issue_get.new
    def _(ctx, issue_id):
        return ctx.session.scalars(select(Issue).filter_by(id=issue_id, organizationId=ctx.tenant_id)).first()

    @issue_get.cases
    def _(fx):
        for org in fx.tenants:
            yield Case(tenant_id=org, params={"issue_id": fx.rows("Issue")[0]["id"]})
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import importlib.util
import inspect
import json
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from harness.errors import ConfigError, RegistrationError
from harness.records import Side

if TYPE_CHECKING:
    import peewee
    from sqlalchemy.orm import Session

    from harness.compare.rules import Rules

SideFunc = Callable[..., Any]
CasesFunc = Callable[["FixtureView"], Iterable["Case"]]
NormalizeHook = Callable[[Any], Any]

SIDES = ("legacy", "new")


class FixtureView(Protocol):
    """What a ``cases`` function is given: the seeded fixture data (``fx``)."""

    @property
    def tenants(self) -> Sequence[str]: ...

    def rows(self, table: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Case:
    """One way to run a pair: the tenant, the acting user and the side functions' parameters."""

    tenant_id: str | None = None
    user_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None

    def display_label(self, index: int) -> str:
        """The label shown in test ids and reports: the given one, else tenant, user and params."""
        if self.label:
            return self.label
        parts = []
        if self.tenant_id is not None:
            parts.append(str(self.tenant_id))
        if self.user_id is not None:
            parts.append(f"user={self.user_id}")
        parts.extend(f"{k}={_short(v)}" for k, v in self.params.items())
        return ",".join(parts) or f"case{index}"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class Context:
    """``ctx``: what a side function is given besides the case's parameters.

    ``db`` is the legacy side's peewee ``Database``, ``session`` the new side's SQLAlchemy
    ``Session``; only the one for the side being run is set. ``now`` is a fixed, aware UTC
    datetime, the same for both sides of a case.
    """

    tenant_id: str | None
    user_id: str | None
    now: datetime
    side: Side
    db: peewee.Database | None = None
    session: Session | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PairOptions:
    """A pair's options (see ``pair()``); the gate settings override ``[tool.harness]``."""

    router: str
    ordered: bool = False
    writes: bool = False
    watch: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()
    ignore_reasons: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    gate: bool = True
    tenant_scoped: bool = True
    cross_tenant_reason: str | None = None
    float_tolerance: float = 1e-9
    max_latency_ratio: float | None = None
    max_queries: int | None = None
    max_query_ratio: float | None = None
    order_by: tuple[str, ...] = ()
    expect: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tenant_column: str | Mapping[str, str] | None = None
    fresh: tuple[str, ...] = ()


class Pair:
    """A registered pair; built by :func:`pair` and completed by its decorators."""

    def __init__(self, name: str, options: PairOptions, where: str) -> None:
        self.name = name
        self.options = options
        self.where = where
        self.sides: dict[str, SideFunc] = {}
        self.cases_func: CasesFunc | None = None
        self.normalize_hook: NormalizeHook | None = None

    def __repr__(self) -> str:
        return f"<Pair {self.name} router={self.options.router} ({self.where})>"

    @property
    def router(self) -> str:
        return self.options.router

    def legacy(self, func: SideFunc) -> SideFunc:
        """Register the legacy (peewee) side: ``func(ctx, **params)``."""
        return self._side("legacy", func)

    def legacy_bound(
        self, models: Sequence[Any] | Callable[[], Sequence[Any]]
    ) -> Callable[[SideFunc], SideFunc]:
        """Register the legacy side, run with the peewee ``models`` bound to ``ctx.db``.

        ``models`` may be a zero-argument callable, so a pair module need not import them first.
        References and back-references are not followed: name every model the side uses.

        Example::

            @issue_list.legacy_bound(MODELS)
            def _(ctx, limit=20):
                return list(Issue.select().limit(limit))
        """

        def decorate(func: SideFunc) -> SideFunc:
            @functools.wraps(func)
            def side(ctx: Any, **params: Any) -> Any:
                chosen = models() if callable(models) else models
                with ctx.db.bind_ctx(chosen, bind_refs=False, bind_backrefs=False):
                    return func(ctx, **params)

            self.legacy(side)
            return func

        return decorate

    def new(self, func: SideFunc) -> SideFunc:
        """Register the new (SQLAlchemy) side: ``func(ctx, **params)``."""
        return self._side("new", func)

    def cases(self, func: CasesFunc) -> CasesFunc:
        """Register the case generator: ``func(fx)`` yields :class:`Case` objects."""
        self.cases_func = func
        return func

    def normalize(self, func: NormalizeHook) -> NormalizeHook:
        """Register a hook applied to each side's normalized result before comparison."""
        self.normalize_hook = func
        return func

    def _side(self, side: Side, func: SideFunc) -> SideFunc:
        if side in self.sides:
            raise RegistrationError.for_pair(
                self.name, _where(func), f"the {side} side is registered twice"
            )
        self.sides[side] = func
        return func

    @cached_property
    def rules(self) -> Rules:
        """The pair's comparison rules, compiled once (patterns were checked at registration)."""
        from harness.compare.rules import Rules

        o = self.options
        return Rules.compile(
            ordered=o.ordered,
            order_by=o.order_by,
            ignore=o.ignore,
            unordered=o.unordered,
            float_tolerance=o.float_tolerance,
            keys=o.keys,
            tenant_column=o.tenant_column,
            errors=o.errors,
            expect=o.expect,
            fresh=o.fresh,
        )

    def check(self) -> None:
        """Raise a :class:`RegistrationError` when the pair cannot run."""
        for side in SIDES:
            if side not in self.sides:
                raise RegistrationError.for_pair(
                    self.name,
                    self.where,
                    f"no {side} side; decorate a function with @<pair>.{side}",
                )

    def make_cases(self, fx: FixtureView) -> list[tuple[str, Case]]:
        """The pair's cases with their unique labels; one empty case when it has none."""
        if self.cases_func is None:
            cases: list[Case] = [Case()]
        else:
            try:
                produced = self.cases_func(fx)
                cases = list(produced) if produced is not None else []
            except (Exception, SystemExit) as exc:  # sys.exit() there must not end the run
                raise RegistrationError.for_pair(
                    self.name,
                    _where(self.cases_func),
                    f"its cases function raised {type(exc).__name__}: {exc}",
                ) from exc
            if not cases:
                cases = [Case()]
        labelled: list[tuple[str, Case]] = []
        seen: dict[str, int] = {}
        # Each side's signature is read once per pair, not per case (1,000 at --scale 10).
        signatures: dict[str, inspect.Signature] = {}
        for index, case in enumerate(cases):
            if not isinstance(case, Case):
                raise RegistrationError.for_pair(
                    self.name,
                    _where(self.cases_func),
                    f"its cases function yielded {case!r}, not a Case",
                )
            self._check_params(case, signatures)
            label = case.display_label(index)
            if label in seen:
                seen[label] += 1
                label = f"{label}#{seen[label]}"
            else:
                seen[label] = 1
            labelled.append((label, case))
        return labelled

    def _check_params(self, case: Case, signatures: dict[str, inspect.Signature]) -> None:
        try:
            json.dumps(dict(case.params), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise RegistrationError.for_pair(
                self.name,
                _where(self.cases_func),
                f"case params {case.params!r} are not JSON-serializable ({exc}); "
                "use str, int, float, bool, None, lists and dicts",
            ) from exc
        for side, func in self.sides.items():
            try:
                if side not in signatures:
                    signatures[side] = inspect.signature(func)
                signatures[side].bind(None, **case.params)
            except TypeError as exc:
                raise RegistrationError.for_pair(
                    self.name,
                    _where(func),
                    f"the {side} side cannot take the case params {sorted(case.params)}: {exc}",
                ) from exc


def _where(obj: object) -> str:
    code = getattr(obj, "__code__", None)
    if code is None:
        return "?"
    return f"{code.co_filename}:{code.co_firstlineno}"


class Registry:
    """The pairs known to a run, by name, in registration order."""

    def __init__(self) -> None:
        self._pairs: dict[str, Pair] = {}

    def add(self, p: Pair) -> None:
        if self._pairs.get(p.name) is p:
            return  # the same registration seen twice (a file imported while resolving --pairs)
        if p.name in self._pairs:
            raise RegistrationError.for_pair(
                p.name, p.where, f"the name is already registered by {self._pairs[p.name].where}"
            )
        self._pairs[p.name] = p

    def __iter__(self) -> Iterator[Pair]:
        return iter(self._pairs.values())

    def __len__(self) -> int:
        return len(self._pairs)

    def __getitem__(self, name: str) -> Pair:
        return self._pairs[name]

    def select(self, patterns: Sequence[str]) -> list[Pair]:
        """The pairs whose name matches any of the glob patterns (all when none are given)."""
        if not patterns:
            return list(self)
        chosen = [p for p in self if any(fnmatch.fnmatchcase(p.name, pat) for pat in patterns)]
        unmatched = [
            pat for pat in patterns if not any(fnmatch.fnmatchcase(p.name, pat) for p in self)
        ]
        if unmatched:
            names = ", ".join(sorted(self._pairs)[:8])
            raise RegistrationError(
                f"--only {unmatched[0]!r} matches no registered pair; known pairs include: {names}"
            )
        return chosen


# The pairs a module registers live on the module itself, under this name: the registry of a run
# is a value built by load_pairs from the modules it loads, never module-global state here. A
# module imported again (pytester restores sys.modules between in-process sessions) brings fresh
# globals, so its pairs are registered afresh instead of twice.
MODULE_PAIRS = "__harness_pairs__"


def pair(
    name: str,
    *,
    router: str | None = None,
    ordered: bool = False,
    writes: bool = False,
    watch: Iterable[str] = (),
    ignore: Iterable[str] | Mapping[str, str] = (),
    keys: Mapping[str, str] | None = None,
    unordered: Iterable[str] = (),
    gate: bool = True,
    tenant_scoped: bool = True,
    cross_tenant_reason: str | None = None,
    float_tolerance: float = 1e-9,
    normalize: NormalizeHook | None = None,
    max_latency_ratio: float | None = None,
    max_queries: int | None = None,
    max_query_ratio: float | None = None,
    order_by: Iterable[str] | str = (),
    expect: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    tenant_column: str | Mapping[str, str] | None = None,
    fresh: Iterable[str] = (),
) -> Pair:
    """Register a pair named ``name`` and return it, to decorate its sides and cases with.

    ``unordered`` names nested lists compared as multisets (``"[*].comments"``).
    ``ignore`` takes paths left out of the comparison (``"createdAt"``, ``"[*].updatedAt"``);
    give a mapping ``{path: reason}`` to record why. ``tenant_scoped=False`` turns the tenant
    guard off for an operation that legitimately spans organizations; ``cross_tenant_reason``
    must then say why. ``order_by=("createdAt",)``: the result is ordered by these keys, rows tied
    on them compare as a multiset. ``expect={"<label or glob>": "why"}``: cases expected to differ
    (strict: one that no longer differs fails). ``errors={"myapp.errors.NotFound": "not_found"}``:
    the category of the project's own exceptions. ``tenant_column``: the tenant column (a name,
    or ``{table: column}``). ``fresh=("Table.column",)``: columns both sides fill afresh (random
    tokens), matched up like new primary keys.
    """
    # The calling frame alone: inspect.stack() would look up the source file of every frame
    # down to the interpreter's (a tenth of a second for a project's pairs).
    caller = sys._getframe(1)
    where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
    if not name or not isinstance(name, str):
        raise RegistrationError.for_pair(str(name), where, "a pair needs a non-empty string name")
    if not tenant_scoped and not cross_tenant_reason:
        raise RegistrationError.for_pair(
            name,
            where,
            "tenant_scoped=False needs cross_tenant_reason='why it spans organizations'",
        )
    if writes and not watch:
        raise RegistrationError.for_pair(
            name, where, "writes=True needs watch=[table names to compare]"
        )
    ignore_map = dict(ignore) if isinstance(ignore, Mapping) else {path: "" for path in ignore}
    from harness.paths import check_paths

    order_keys = (order_by,) if isinstance(order_by, str) else tuple(order_by)
    try:
        check_paths([p for p in ignore_map if not p.startswith("changes")], "ignore")
        check_paths([p for p in unordered if not p.startswith("changes")], "unordered")
        if any(not isinstance(k, str) or not k for k in order_keys):
            raise ValueError(f"order_by: {order_by!r} is not valid; give column names")
        if expect is not None and not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in expect.items()
        ):
            raise ValueError(
                "expect: give {'<case label or glob>': 'why it is expected to differ'}"
            )
        from harness.compare.categories import check_mapping

        error_map = check_mapping(errors or {}, "errors")
        from harness.compare.rules import Rules

        Rules.compile(
            ignore=tuple(ignore_map),
            unordered=tuple(unordered),
            tenant_column=tenant_column,
            fresh=tuple(fresh),
        )
    except (ConfigError, ValueError) as exc:
        raise RegistrationError.for_pair(name, where, str(exc)) from exc
    options = PairOptions(
        router=router or name.split(".", 1)[0],
        ordered=ordered,
        writes=writes,
        watch=tuple(watch),
        ignore=tuple(ignore_map),
        unordered=tuple(unordered),
        ignore_reasons=MappingProxyType(ignore_map),
        keys=MappingProxyType(dict(keys or {})),
        gate=gate,
        tenant_scoped=tenant_scoped,
        cross_tenant_reason=cross_tenant_reason,
        float_tolerance=float_tolerance,
        max_latency_ratio=max_latency_ratio,
        max_queries=max_queries,
        max_query_ratio=max_query_ratio,
        order_by=order_keys,
        expect=MappingProxyType(dict(expect or {})),
        errors=MappingProxyType(error_map),
        tenant_column=tenant_column,
        fresh=tuple(fresh),
    )
    p = Pair(name, options, where)
    if normalize is not None:
        p.normalize_hook = normalize
    registered: dict[str, Pair] = caller.f_globals.setdefault(MODULE_PAIRS, {})
    if name in registered:
        raise RegistrationError.for_pair(
            name, where, f"the name is already registered by {registered[name].where}"
        )
    registered[name] = p
    return p


DEFAULT_PAIRS = "harness.pairs"


def load_pairs(sources: Sequence[str] = (), *, include_default: bool = True) -> Registry:
    """Import the pair modules and return their pairs.

    ``sources`` are dotted module names or ``.py`` file paths (a directory loads each ``.py`` in
    it). Modules already imported contribute the pairs they registered then; the registry is a
    new value each time, so two loads (two pytest sessions in one process) never share state.
    """
    registry = Registry()
    names: list[str] = []
    if include_default:
        names.extend(_package_modules(DEFAULT_PAIRS))
    for source in sources:
        names.extend(_resolve_source(source))
    for module_name in dict.fromkeys(names):
        before = set(sys.modules)
        module = sys.modules.get(module_name) or _import(module_name)
        # Pairs of modules it imported on the way (a package's __init__ importing its pair
        # modules, say) belong to the run too, in import order, the module itself last.
        fresh = [
            m for name, m in list(sys.modules.items()) if name not in before and m is not module
        ]
        for loaded in (*fresh, module):
            for p in vars(loaded).get(MODULE_PAIRS, {}).values():
                registry.add(p)
    for p in registry:
        p.check()
        p.rules  # noqa: B018  (compiled now, at registration, not in the first case)
    return registry


def _package_modules(package: str) -> list[str]:
    pkg = _import(package)
    names = [package]
    if hasattr(pkg, "__path__"):
        names.extend(
            info.name
            for info in pkgutil.iter_modules(pkg.__path__, prefix=f"{package}.")
            if not info.name.rsplit(".", 1)[-1].startswith("_")
        )
    return names


def _resolve_source(source: str) -> list[str]:
    path = Path(source)
    if source.endswith(".py") or path.is_dir() or path.exists():
        if not path.exists():
            raise RegistrationError(
                f"--pairs {source}: no such file; give a .py path or a dotted module name"
            )
        files = (
            sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
            if path.is_dir()
            else [path]
        )
        return [_import_file(f) for f in files]
    try:
        spec = importlib.util.find_spec(source)
    except (ImportError, ValueError) as exc:
        raise RegistrationError(
            f"--pairs {source}: cannot import it ({exc}); check the module name"
        ) from exc
    if spec is None:
        raise RegistrationError(
            f"--pairs {source}: no module of that name; give a dotted module name or a .py path"
        )
    if spec.submodule_search_locations:
        return _package_modules(source)
    return [source]


def _import_file(path: Path) -> str:
    resolved = path.resolve()
    module_name = f"harness_pairs_{abs(hash(str(resolved))):x}_{resolved.stem}"
    if module_name in sys.modules:
        return module_name
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise RegistrationError(f"--pairs {path}: not a loadable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except RegistrationError:
        del sys.modules[module_name]
        raise
    except (Exception, SystemExit) as exc:
        del sys.modules[module_name]
        raise RegistrationError(
            f"pair module {path} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    return module_name


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except RegistrationError:
        raise
    except (Exception, SystemExit) as exc:
        raise RegistrationError(
            f"pair module {module_name} failed to import: {type(exc).__name__}: {exc}"
        ) from exc


@dataclass(frozen=True)
class PlannedCase:
    """A pair with one of its cases and the case's unique label: one test item.

    ``policy``: the pair's rules completed with the run's settings (tenant column, error
    mappings); the engine sets it, and without it the pair's own rules with the defaults apply.
    """

    pair: Pair
    label: str
    case: Case
    policy: Rules | None = None

    @cached_property
    def id(self) -> str:
        return f"{self.pair.name}[{self.label}]"

    @cached_property
    def rules(self) -> Rules:
        return self.policy or self.pair.rules.completed()
