"""The ``harness`` command line (also ``python -m harness``).

Exit status: 0 the gate passed; 1 the gate failed; 2 the run could not be made as asked, with one
line on stderr naming what to fix and no traceback.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from harness import __version__
from harness.errors import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, DatabaseError, HarnessError
from harness.settings import SETTINGS, HarnessConfig, read_pyproject, resolve


def _setting_options(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach every setting that applies to ``command`` as a click option (one definition each)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for setting in reversed(SETTINGS):
            if command not in setting.commands:
                continue
            if setting.switch and setting.negative:
                decl = f"{setting.flag}/{setting.negative}"
                func = click.option(decl, setting.name, default=None, help=setting.help)(func)
            elif setting.switch:
                func = click.option(
                    setting.flag, setting.name, is_flag=True, default=None, help=setting.help
                )(func)
            else:
                func = click.option(
                    setting.flag,
                    setting.name,
                    multiple=setting.multiple,
                    default=None,
                    metavar=setting.metavar,
                    help=setting.help,
                )(func)
        return func

    return decorate


def _config(values: dict[str, Any]) -> HarnessConfig:
    project, project_file = read_pyproject()
    # As `python -m` and pytest's rootdir do: the project's own packages (its pair modules, its
    # fixture provider) import from the project's root, whatever the console script's sys.path.
    root = str(project_file.parent if project_file else Path.cwd())
    if root not in sys.path:
        sys.path.insert(0, root)
    return resolve(values, project=project, project_file=project_file)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    """Query-equivalence shadow testing: legacy peewee vs new SQLAlchemy, per tenant, gated."""


@cli.command()
@_setting_options("run")
def run(**values: Any) -> None:
    """Seed a fresh fixture database, run every pair on every case, report, and gate."""
    from harness.drive import run_direct, run_parallel

    config = _config(values)
    status = run_parallel(config) if config.workers > 1 else run_direct(config)
    sys.exit(status)


@cli.command("list")
@_setting_options("list")
def list_pairs(**values: Any) -> None:
    """The registered pairs: name, router, gate, number of cases."""
    from rich.console import Console
    from rich.table import Table

    from harness.engine import Engine

    engine = Engine(_config(values))
    planned = engine.plan()
    table = Table()
    for column in ("pair", "router", "gate", "cases", "writes"):
        table.add_column(column)
    for p in engine.pairs:
        count = len(engine.cases_of(p))
        table.add_row(
            p.name,
            p.router,
            "yes" if p.options.gate else "no",
            str(count),
            "yes" if p.options.writes else "",
        )
    Console(highlight=False, width=120).print(table)
    click.echo(f"{len(engine.pairs)} pairs, {len(planned)} cases")


@cli.command()
@_setting_options("seed")
def seed(**values: Any) -> None:
    """Create the schema and seed the fixture data only; print row counts and the database URL."""
    from harness.engine import Engine

    if not values.get("db"):
        values["db"] = (
            f"sqlite:///{Path(tempfile.mkdtemp(prefix='harness-seed-')) / 'fixture.sqlite3'}"
        )
    values["keep_db"] = True
    engine = Engine(_config({**values, "only": None}))
    with engine.database() as db:
        width = max(len(t) for t in db.counts)
        for table, count in db.counts.items():
            click.echo(f"{table:<{width}}  {count:>8}")
        total = sum(db.counts.values())
        click.echo(f"{'total':<{width}}  {total:>8}  (schema and data in {db.seconds:.2f}s)")
        click.echo(f"database: {db.target.display_url}")


@cli.command("schema-diff")
@_setting_options("schema-diff")
def schema_diff(**values: Any) -> None:
    """Compare the legacy models, the new models and the live schema; exit 1 on a difference."""
    from harness.database.scratch import open_target
    from harness.fixture import load_provider
    from harness.schema.diff import diff_schema, format_schema_diff

    config = _config(values)
    provider = load_provider(config.fixture)
    with open_target(config.db, keep=config.keep_db) as target:
        provider.create_schema(target)
        diff = diff_schema(
            legacy_models=provider.legacy_models(),
            new_metadata=provider.new_metadata(),
            engine=target.engine,
            legacy_db=target.legacy_db,
        )
        click.echo(format_schema_diff(diff))
        if config.keep_db:
            click.echo(f"database kept: {target.display_url}")
    sys.exit(EXIT_FAIL if diff.differences else EXIT_PASS)


@cli.command()
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where to write index.html (default: next to the results file)",
)
def report(results: Path, out_dir: Path | None) -> None:
    """Rebuild the HTML report from a saved results file."""
    from harness.report.html import rebuild

    path = rebuild(results, out_dir)
    click.echo(f"report: {path}")


@cli.command()
@click.argument("results", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--report-dir",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="where the merged results.json and index.html go",
)
def merge(results: tuple[Path, ...], report_dir: Path) -> None:
    """Join the results of a run's shards (--shard K/N) into one results.json, report and verdict."""
    from harness.report.console import note, summary_table
    from harness.report.merge import merge_files
    from harness.report.publish import publish

    merged = merge_files(list(results))
    published = publish(merged, report_dir)
    summary_table(merged)
    note(
        f"harness: merged {len(results)} shards: {published.results}, report {published.report or '(not drawn)'}"
    )
    sys.exit(EXIT_PASS if merged.gate_passed and not merged.run.get("interrupted") else EXIT_FAIL)


@cli.group()
def baseline() -> None:
    """Accepted differences: migrate router by router while known ones are reviewed."""


@baseline.command("update")
@click.option(
    "--results",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("reports/results.json"),
    show_default=True,
    help="the run whose differences to accept",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the baseline file (default: [tool.harness] baseline, else harness-baseline.json)",
)
@click.option("--reason", default=None, help="why these differences are accepted (for new entries)")
def baseline_update(results: Path, baseline_path: Path | None, reason: str | None) -> None:
    """Write the current mismatches and errors into the baseline file."""
    from harness.gate.baseline import update_baseline
    from harness.report.results_file import read_results

    config = _config({"baseline": str(baseline_path) if baseline_path else None})
    target = config.baseline or Path("harness-baseline.json")
    added, kept, removed = update_baseline(read_results(results), target, reason=reason)
    click.echo(f"{target}: {added} added, {kept} kept, {removed} removed")


@cli.command()
@_setting_options("calibrate")
def calibrate(**values: Any) -> None:
    """A/A calibration: each pair's legacy side against itself; shows the latency-ratio spread."""
    from harness.calibrate import calibrate as run_calibration
    from harness.calibrate import format_calibration
    from harness.engine import Engine

    config = _config(values)
    engine = Engine(config)
    with engine.database() as db:
        rows = run_calibration(engine, db.target, budget_s=config.bench_time)
    click.echo(format_calibration(rows))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command line, turning every user error into one line and exit 2."""
    try:
        cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        click.echo(f"harness: error: {exc.format_message()}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except click.Abort:
        click.echo("harness: interrupted", err=True)
        sys.exit(EXIT_FAIL)
    except HarnessError as exc:
        click.echo(f"harness: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        error = database_error(exc)
        if error is None:
            raise
        click.echo(f"harness: error: {error}", err=True)
        sys.exit(EXIT_USAGE)


def database_error(exc: BaseException) -> DatabaseError | None:
    """A driver's connection error, as one line naming what to fix (None for anything else)."""
    for mod, names in (
        ("sqlalchemy.exc", ("OperationalError", "InterfaceError")),
        ("peewee", ("OperationalError", "InterfaceError")),
    ):
        module = sys.modules.get(mod)
        if module is not None and isinstance(exc, tuple(getattr(module, n) for n in names)):
            text = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
            return DatabaseError(
                f"the database failed: {text}; check that it is reachable and the URL is right"
            )
    return None
