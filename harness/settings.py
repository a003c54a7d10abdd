"""Settings: one definition each, shared by ``harness`` flags, ``--harness-*`` options and ini keys.

A setting is resolved once into the frozen :class:`HarnessConfig` the engine takes. Precedence:
command line, then the pytest ini key (``harness_<name>``), then ``[tool.harness]`` in the
project's ``pyproject.toml``, then the environment (``HARNESS_DATABASE_URL`` for ``db``), then the
default. A ``parse`` function rejects a bad value with a message naming it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError
from harness.url import resolve_url

if TYPE_CHECKING:
    from harness.shard import Shard

# The reference application's fixture provider (the repository's fixtures/ folder).
DEFAULT_PROVIDER = "harness.reference.provider:provider"


def positive_int(name: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else 0
        except ValueError:
            number = 0
        if number < 1:
            raise ConfigError.bad_value(name, value, "a whole number of 1 or more")
        return number

    return parse


def any_int(name: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError.bad_value(name, value, "a whole number") from exc

    return parse


def positive_float(name: str) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            number = float(value)
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
        str,
        metavar="URL",
        commands=_DB_CMDS,
    ),
    Setting(
        "pairs",
        "more pair modules to load (dotted name or .py path); repeatable",
        str,
        default=(),
        multiple=True,
        metavar="MODULE_OR_PATH",
        commands=frozenset({"run", "list", "calibrate"}),
    ),
    Setting(
        "only",
        "run only pairs whose name matches this glob; repeatable",
        str,
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
    Setting("report_dir", "where reports go", str, default="reports", metavar="DIR"),
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
        str,
        default="harness-baseline.json",
        metavar="PATH",
        commands=frozenset({"run"}),
    ),
    Setting(
        "fixture",
        "fixture provider, module:attribute",
        str,
        default=DEFAULT_PROVIDER,
        metavar="MODULE:ATTR",
        commands=frozenset({"run", "seed", "schema-diff", "list", "calibrate"}),
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
    keep_db: bool = False
    baseline: Path | None = Path("harness-baseline.json")
    fixture: str = DEFAULT_PROVIDER
    max_latency_ratio: float | None = None
    max_queries: int | None = None
    max_query_ratio: float | None = None
    include_default_pairs: bool = True
    shard: Shard | None = None
    shard_costs: Path | None = None

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
            "max_latency_ratio": self.max_latency_ratio,
            "max_queries": self.max_queries,
            "max_query_ratio": self.max_query_ratio,
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
        if value is None or (setting.multiple and not value):
            continue
        if setting.switch:
            if value:
                args.append(setting.pytest_flag)
            elif setting.negative:
                args.append("--harness-" + setting.negative[2:])
            continue
        for item in value if setting.multiple else (value,):
            args += [setting.pytest_flag, str(item)]
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
            section = data.get("tool", {}).get("harness", {})
            if not isinstance(section, dict):
                raise ConfigError(f"{candidate}: [tool.harness] must be a table")
            return section, candidate
    return {}, None


def resolve(
    cli: Mapping[str, Any],
    *,
    ini: Mapping[str, Any] | None = None,
    project: Mapping[str, Any] | None = None,
    project_file: Path | None = None,
) -> HarnessConfig:
    """Build the :class:`HarnessConfig` from the values given on each surface.

    ``cli`` holds command-line values (None or empty when not given), ``ini`` pytest ini values,
    ``project`` the ``[tool.harness]`` table. Unknown ``[tool.harness]`` keys are an error.
    """
    ini = ini or {}
    project = dict(project or {})
    known = set(SETTINGS_BY_NAME) | {"include_default_pairs"}
    unknown = sorted(set(project) - known)
    if unknown:
        where = project_file or "pyproject.toml"
        raise ConfigError(
            f"{where}: [tool.harness] has unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = _first_given(
            setting, cli.get(setting.name), ini.get(setting.name), project.get(setting.name)
        )
        if setting.name == "db":
            raw = resolve_url(raw)
        values[setting.name] = _parse(setting, raw)
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
        keep_db=values["keep_db"],
        baseline=(base / baseline)
        if baseline and not Path(baseline).is_absolute()
        else (Path(baseline) if baseline else None),
        fixture=values["fixture"],
        max_latency_ratio=values["max_latency_ratio"],
        max_queries=values["max_queries"],
        max_query_ratio=values["max_query_ratio"],
        include_default_pairs=boolean("include_default_pairs")(
            project.get("include_default_pairs", True)
        ),
        shard=values["shard"],
        shard_costs=Path(values["shard_costs"]) if values["shard_costs"] else None,
    )


def _first_given(setting: Setting, *candidates: Any) -> Any:
    for value in candidates:
        if value is None:
            continue
        if setting.multiple and isinstance(value, str):
            value = value.split()
        if setting.multiple and not value:
            continue
        if isinstance(value, str) and value == "" and not setting.switch:
            continue
        return value
    return setting.default


def _parse(setting: Setting, raw: Any) -> Any:
    if raw is None:
        return None
    if setting.multiple:
        items: Sequence[Any] = raw if isinstance(raw, list | tuple) else [raw]
        return tuple(setting.parse(item) for item in items)
    return setting.parse(raw)
