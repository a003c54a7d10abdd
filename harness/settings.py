"""Settings: one definition each, shared by ``harness`` flags, ``--harness-*`` options and ini keys.

A setting is resolved once into the frozen :class:`HarnessConfig` the engine takes. Precedence:
command line, then the pytest ini key (``harness_<name>``), then ``[tool.harness]`` in the
project's ``pyproject.toml``, then the default; for ``db`` the environment
(``HARNESS_DATABASE_URL``) comes right after the command line, before any file, as CI passes
secrets that way. ``pairs`` adds up: the modules named on the command line come on top of the
configured ones (``--pairs=``, an empty value, drops the configured ones). Where each value came
from is kept (``HarnessConfig.sources``), so messages name it. A ``parse`` function rejects a
bad value with a message naming it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError
from harness.url import ENV_URL

if TYPE_CHECKING:
    from harness.shard import Shard

# The reference application's fixture provider (the repository's fixtures/ folder).
DEFAULT_PROVIDER = "harness.reference.provider:provider"
# A side that runs this long is stuck, not slow: five minutes.
DEFAULT_CASE_TIMEOUT = 300.0


def positive_int(name: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            number = int(str(value).strip()) if not isinstance(value, bool | float) else 0
        except ValueError:
            number = 0
        if number < 1:
            raise ConfigError.bad_value(name, value, "a whole number of 1 or more")
        return number

    return parse


def any_int(name: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            if isinstance(value, bool | float):  # TOML's 1.7 must not quietly become 1
                raise ValueError(value)
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError.bad_value(name, value, "a whole number") from exc

    return parse


def text(name: str) -> Callable[[Any], str]:
    """A string setting: a TOML list or number is refused, never turned into its repr."""

    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise ConfigError.bad_value(name, value, "a string")
        return value

    return parse


def positive_float(name: str) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            number = float(value) if not isinstance(value, bool) else -1.0
        except (TypeError, ValueError):
            number = -1.0
        if not number > 0:
            raise ConfigError.bad_value(name, value, "a number above 0")
        return number

    return parse


def boolean(name: str) -> Callable[[Any], bool]:
    def parse(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError.bad_value(name, value, "true or false")

    return parse


def mapping_of(
    name: str, check: Callable[[dict[str, str]], Any] | None = None
) -> Callable[[Any], Any]:
    """A ``{key: value}`` setting: a TOML table, or ``key=value,key=value`` on a command line."""

    def parse(value: Any) -> dict[str, str]:
        if isinstance(value, Mapping):
            found = {str(k): v for k, v in value.items()}
        elif isinstance(value, str) and value.strip():
            found = {}
            for item in value.split(","):
                key, eq, val = item.partition("=")
                if not eq or not key.strip() or not val.strip():
                    raise ConfigError.bad_value(name, value, "key=value pairs separated by commas")
                found[key.strip()] = val.strip()
        else:
            raise ConfigError.bad_value(name, value, "a table, or key=value pairs")
        if not all(isinstance(v, str) and v for v in found.values()):
            raise ConfigError.bad_value(name, value, "text values")
        if check is not None:
            try:
                check(found)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
        return found

    return parse


def column_or_mapping(name: str) -> Callable[[Any], Any]:
    """One column name, or a ``{table: column}`` mapping (``Table=column,…`` on a command line)."""
    as_mapping = mapping_of(name)

    def parse(value: Any) -> str | dict[str, str]:
        if isinstance(value, str) and "=" not in value and value.strip():
            return value.strip()
        return as_mapping(value)

    return parse


def render(value: Any) -> str:
    """A setting's value as its command-line text (the reverse of its parser)."""
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _check_errors(mapping: dict[str, str]) -> None:
    from harness.compare.categories import check_mapping

    check_mapping(mapping, "errors")


def _parse_shard(value: Any) -> Any:
    from harness.shard import parse_shard

    return parse_shard(value)


@dataclass(frozen=True)
class Setting:
    """One setting: its name, help, parser, default and how it appears on each surface."""

    name: str
    help: str
    parse: Callable[[Any], Any]
    default: Any = None
    multiple: bool = False
    switch: bool = False  # a flag without a value; ``negative`` names the flag that turns it off
    negative: str | None = None
    metavar: str = "VALUE"
    commands: frozenset[str] = frozenset({"run"})

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def pytest_flag(self) -> str:
        return "--harness-" + self.name.replace("_", "-")

    @property
    def ini_key(self) -> str:
        return "harness_" + self.name


_DB_CMDS = frozenset({"run", "seed", "schema-diff", "calibrate"})
_SIZE_CMDS = frozenset({"run", "seed", "calibrate", "list"})

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "db",
        "database URL: sqlite:///PATH, postgresql://…, mysql://… or container:postgres "
        "(default: $HARNESS_DATABASE_URL, else a SQLite file in a temp dir)",
        text("db"),
        metavar="URL",
        commands=_DB_CMDS,
    ),
    Setting(
        "pairs",
        "more pair modules to load, on top of [tool.harness] pairs (dotted name, .py path or "
        "folder); repeatable; an empty value (--pairs=) drops the configured ones",
        text("pairs"),
        default=(),
        multiple=True,
        metavar="MODULE_OR_PATH",
        commands=frozenset({"run", "list", "calibrate"}),
    ),
    Setting(
        "only",
        "run only pairs whose name matches this glob; repeatable",
        text("only"),
        default=(),
        multiple=True,
        metavar="GLOB",
        commands=frozenset({"run", "list", "calibrate"}),
    ),
    Setting(
        "tenants",
        "number of organizations in the fixture",
        positive_int("--tenants"),
        default=3,
        metavar="N",
        commands=_SIZE_CMDS,
    ),
    Setting(
        "scale",
        "fixture size multiplier",
        positive_int("--scale"),
        default=1,
        metavar="N",
        commands=_SIZE_CMDS,
    ),
    Setting(
        "seed", "fixture data seed", any_int("--seed"), default=0, metavar="N", commands=_SIZE_CMDS
    ),
    Setting(
        "order_seed",
        "seed of the per-case shuffle of side order (default: random, printed)",
        any_int("--order-seed"),
        metavar="N",
        commands=frozenset({"run"}),
    ),
    Setting("report_dir", "where reports go", text("report_dir"), default="reports", metavar="DIR"),
    Setting(
        "bench",
        "measure latency (--no-bench skips it)",
        boolean("--bench"),
        default=True,
        switch=True,
        negative="--no-bench",
    ),
    Setting(
        "bench_time",
        "seconds of latency measurement per pair",
        positive_float("--bench-time"),
        default=0.3,
        metavar="SECONDS",
        commands=frozenset({"run", "calibrate"}),
    ),
    Setting(
        "workers",
        "parallel workers (pytest-xdist), each with its own database",
        positive_int("--workers"),
        default=1,
        metavar="N",
    ),
    Setting(
        "case_timeout",
        "seconds a side may run before it is stopped: an error of category timeout",
        positive_float("--case-timeout"),
        default=DEFAULT_CASE_TIMEOUT,
        metavar="SECONDS",
        commands=frozenset({"run"}),
    ),
    Setting(
        "keep_db",
        "keep the scratch database and print its URL",
        boolean("--keep-db"),
        default=False,
        switch=True,
        commands=frozenset({"run", "schema-diff"}),
    ),
    Setting(
        "baseline",
        "baseline file of accepted differences",
        text("baseline"),
        default="harness-baseline.json",
        metavar="PATH",
        commands=frozenset({"run"}),
    ),
    Setting(
        "fixture",
        "fixture provider, module:attribute",
        text("fixture"),
        default=DEFAULT_PROVIDER,
        metavar="MODULE:ATTR",
        commands=frozenset({"run", "seed", "schema-diff", "list", "calibrate"}),
    ),
    Setting(
        "include_default_pairs",
        "load the reference application's pairs (default: only when the project names "
        "neither its own pairs nor its own fixture)",
        boolean("--include-default-pairs"),
        switch=True,
        negative="--no-include-default-pairs",
        commands=frozenset({"run", "list", "calibrate"}),
    ),
    Setting(
        "shard",
        "run only the K-th of N deterministic, balanced parts of the cases (CI jobs side by "
        "side; join them with `harness merge`)",
        _parse_shard,
        metavar="K/N",
        commands=frozenset({"run", "list"}),
    ),
    Setting(
        "shard_costs",
        "an earlier results.json whose recorded case times balance --shard and --workers "
        "(default: every case weighs the same)",
        str,
        metavar="FILE",
        commands=frozenset({"run", "list"}),
    ),
    Setting(
        "max_latency_ratio",
        "fail a pair whose new/legacy latency ratio is surely above this",
        positive_float("max_latency_ratio"),
        metavar="RATIO",
    ),
    Setting(
        "max_queries",
        "fail a new side that sends more statements than this in a case",
        positive_int("max_queries"),
        metavar="N",
    ),
    Setting(
        "max_query_ratio",
        "fail a new side that sends more than RATIO x the legacy statements",
        positive_float("max_query_ratio"),
        metavar="RATIO",
    ),
    Setting(
        "tenant_column",
        "the tenant column: a name, or Table=column,… per table (default: organizationId, or "
        "the fixture provider's tenant_column)",
        column_or_mapping("tenant_column"),
        metavar="COLUMN",
        commands=frozenset({"run", "list", "calibrate"}),
    ),
    Setting(
        "errors",
        "error categories of the project's own exceptions: package.module.Class=category,…",
        mapping_of("errors", _check_errors),
        metavar="CLASS=CATEGORY",
        commands=frozenset({"run"}),
    ),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class HarnessConfig:
    """Every setting of a run, resolved and checked."""

    db: str | None = None
    pairs: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    tenants: int = 3
    scale: int = 1
    seed: int = 0
    order_seed: int | None = None
    report_dir: Path = Path("reports")
    bench: bool = True
    bench_time: float = 0.3
    workers: int = 1
    case_timeout: float = DEFAULT_CASE_TIMEOUT
    keep_db: bool = False
    baseline: Path | None = Path("harness-baseline.json")
    fixture: str = DEFAULT_PROVIDER
    max_latency_ratio: float | None = None
    max_queries: int | None = None
    max_query_ratio: float | None = None
    include_default_pairs: bool = True
    tenant_column: str | Mapping[str, str] | None = None
    errors: Mapping[str, str] | None = None
    shard: Shard | None = None
    shard_costs: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def source(self, name: str) -> str:
        """Where setting ``name`` came from, for messages: ``"from --max-queries"`` and the like."""
        return self.sources.get(name, "from the settings")

    def public(self) -> dict[str, Any]:
        """The settings as JSON-safe data (for results.json), the database URL masked."""
        from harness.url import mask_url

        return {
            "db": mask_url(self.db) if self.db else None,
            "pairs": list(self.pairs),
            "only": list(self.only),
            "tenants": self.tenants,
            "scale": self.scale,
            "seed": self.seed,
            "order_seed": self.order_seed,
            "bench": self.bench,
            "workers": self.workers,
            "case_timeout": self.case_timeout,
            "max_latency_ratio": self.max_latency_ratio,
            "max_queries": self.max_queries,
            "max_query_ratio": self.max_query_ratio,
            "tenant_column": self.tenant_column,
            "errors": dict(self.errors) if self.errors else None,
            "shard": str(self.shard) if self.shard else None,
        }


def pytest_arguments(config: HarnessConfig) -> list[str]:
    """``config`` as ``--harness-*`` options, derived from :data:`SETTINGS` (for ``--workers``).

    The reverse of what the plugin reads, so every setting reaches the pytest-xdist run; a test
    round-trips each one. ``workers`` itself becomes pytest-xdist's ``-n``.
    """
    args: list[str] = []
    for setting in SETTINGS:
        if setting.name == "workers":
            continue
        value = getattr(config, setting.name)
        if setting.name == "pairs":
            # The resolved list is complete: replace what the pytest run would read again.
            args.append(setting.pytest_flag + "=")
        if value is None or (setting.multiple and not value):
            continue
        if setting.switch:
            if value:
                args.append(setting.pytest_flag)
            elif setting.negative:
                args.append("--harness-" + setting.negative[2:])
            continue
        for item in value if setting.multiple else (value,):
            args += [setting.pytest_flag, render(item)]
    return args


def read_pyproject(start: Path | None = None) -> tuple[dict[str, Any], Path | None]:
    """``[tool.harness]`` of the nearest ``pyproject.toml`` at or above ``start`` (cwd)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{candidate}: not valid TOML ({exc}); fix the file") from exc
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"{candidate}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
                ) from exc
            except OSError as exc:
                raise ConfigError(
                    f"{candidate}: cannot be read ({exc.strerror}); check it"
                ) from exc
            section = data.get("tool", {}).get("harness", {})
            if not isinstance(section, dict):
                raise ConfigError(f"{candidate}: [tool.harness] must be a table")
            return section, candidate
    return {}, None


def project_on_path(project_file: Path | None, fallback: Path | None = None) -> None:
    """Put the project's root first on ``sys.path``, as ``python -m`` does for the current folder.

    The project's own packages (its fixture provider, its pair modules) then import by dotted
    name, whatever the console script's or pytest's own ``sys.path``.
    """
    import sys

    root = str(project_file.parent if project_file else (fallback or Path.cwd()))
    if root not in sys.path:
        sys.path.insert(0, root)


def resolve(
    cli: Mapping[str, Any],
    *,
    ini: Mapping[str, Any] | None = None,
    project: Mapping[str, Any] | None = None,
    project_file: Path | None = None,
    surface: str = "harness",
    environ: Mapping[str, str] | None = None,
) -> HarnessConfig:
    """Build the :class:`HarnessConfig` from the values given on each surface.

    ``cli`` holds command-line values (None or empty when not given), ``ini`` pytest ini values,
    ``project`` the ``[tool.harness]`` table; ``surface`` says whether the command line was
    ``harness`` or ``pytest`` (for the sources named in messages). Unknown ``[tool.harness]``
    keys are an error.
    """
    import os

    ini = ini or {}
    project = dict(project or {})
    environ = os.environ if environ is None else environ
    known = set(SETTINGS_BY_NAME)
    unknown = sorted(set(project) - known)
    if unknown:
        where = project_file or "pyproject.toml"
        raise ConfigError(
            f"{where}: [tool.harness] has unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        flag = setting.flag if surface == "harness" else setting.pytest_flag
        surfaces = [
            (f"from {flag}", cli.get(setting.name)),
            (f"from the pytest ini key {setting.ini_key}", ini.get(setting.name)),
            ("from [tool.harness]", project.get(setting.name)),
        ]
        if setting.name == "db":
            surfaces.insert(1, (f"from ${ENV_URL}", environ.get(ENV_URL) or None))
        if setting.name == "pairs":
            raw, source = _added_pairs(setting, surfaces)
        else:
            raw, source = _first_given(setting, surfaces)
        try:
            values[setting.name] = _parse(setting, raw)
        except ConfigError as exc:
            if source == "from [tool.harness]":
                where = project_file or "pyproject.toml"
                raise ConfigError(f"{where}: [tool.harness] {setting.name}: {exc}") from exc
            raise
        sources[setting.name] = source
    if values["include_default_pairs"] is None:
        # The reference application's pairs belong to the reference application's fixture.
        values["include_default_pairs"] = (
            not values["pairs"] and values["fixture"] == DEFAULT_PROVIDER
        )
    base = Path(project_file).parent if project_file else Path.cwd()
    baseline = values["baseline"]
    return HarnessConfig(
        db=values["db"],
        pairs=tuple(values["pairs"]),
        only=tuple(values["only"]),
        tenants=values["tenants"],
        scale=values["scale"],
        seed=values["seed"],
        order_seed=values["order_seed"],
        report_dir=Path(values["report_dir"]),
        bench=values["bench"],
        bench_time=values["bench_time"],
        workers=values["workers"],
        case_timeout=values["case_timeout"],
        keep_db=values["keep_db"],
        baseline=(base / baseline)
        if baseline and not Path(baseline).is_absolute()
        else (Path(baseline) if baseline else None),
        fixture=values["fixture"],
        max_latency_ratio=values["max_latency_ratio"],
        max_queries=values["max_queries"],
        max_query_ratio=values["max_query_ratio"],
        tenant_column=values["tenant_column"],
        errors=values["errors"],
        include_default_pairs=values["include_default_pairs"],
        sources=sources,
        shard=values["shard"],
        shard_costs=Path(values["shard_costs"]) if values["shard_costs"] else None,
    )


def _given(setting: Setting, value: Any) -> Any:
    """``value`` as a list for a multiple setting, None when it was not given."""
    if value is None:
        return None
    if setting.multiple and isinstance(value, str):
        value = value.split()
    if setting.multiple and not value:
        return None
    if isinstance(value, str) and value == "" and not setting.switch:
        return None
    return value


def _first_given(setting: Setting, surfaces: Sequence[tuple[str, Any]]) -> tuple[Any, str]:
    for source, value in surfaces:
        given = _given(setting, value)
        if given is not None:
            return given, source
    return setting.default, "by default"


def _added_pairs(setting: Setting, surfaces: Sequence[tuple[str, Any]]) -> tuple[Any, str]:
    """The pair modules of every surface, the configured ones first; ``""`` drops those before it."""
    pairs: list[str] = []
    named: list[str] = []
    for source, value in reversed(surfaces):  # [tool.harness], then the ini, then the command line
        items = [value] if isinstance(value, str) and value == "" else value
        if isinstance(items, str):
            items = items.split()
        for item in items or ():
            if item == "":
                pairs.clear()  # --pairs= : the configured pair modules are dropped
                named.clear()
                continue
            if item not in pairs:
                pairs.append(item)
            if source not in named:
                named.append(source)
    return pairs, " and ".join(named) or "by default"


def _parse(setting: Setting, raw: Any) -> Any:
    if raw is None:
        return None
    if setting.multiple:
        items: Sequence[Any] = raw if isinstance(raw, list | tuple) else [raw]
        return tuple(setting.parse(item) for item in items)
    return setting.parse(raw)
