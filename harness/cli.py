"""The ``harness`` command line (also ``python -m harness``).

Exit status: 0 the gate passed; 1 the gate failed; 2 the run could not be made as asked, with one
line on stderr naming what to fix and no traceback.
"""

from __future__ import annotations

import gc
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from harness import __version__
from harness.errors import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, DatabaseError, HarnessError
from harness.settings import SETTINGS, HarnessConfig, project_on_path, read_pyproject, resolve


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
    project_on_path(project_file)
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
    # Everything is written and every scratch database dropped. The run's objects are still
    # alive, and the interpreter's last garbage collection on the way out would walk them all
    # (0.3 s at --scale 10) for a process that ends: they are frozen out of it.
    gc.freeze()
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
    from dataclasses import replace

    from harness.engine import Engine

    config = replace(_config({**values, "only": None}), keep_db=True)
    if not config.db:  # neither --db, $HARNESS_DATABASE_URL nor [tool.harness] db: a kept file
        folder = Path(tempfile.mkdtemp(prefix="harness-seed-"))
        config = replace(config, db=f"sqlite:///{folder / 'fixture.sqlite3'}")
    engine = Engine(config)
    with engine.database() as db:
        width = max(len(t) for t in db.counts)
        for table, count in db.counts.items():
            click.echo(f"{table:<{width}}  {count:>8}")
        total = sum(db.counts.values())
        click.echo(f"{'total':<{width}}  {total:>8}  (schema and data in {db.seconds:.2f}s)")
        click.echo(f"database: {db.target.display_url}")


@cli.command()
@click.option(
    "--models",
    required=True,
    metavar="MODULE",
    help="the module defining your peewee (legacy) models, e.g. myapp.models",
)
@click.option(
    "--new-models",
    metavar="MODULE",
    default=None,
    help="the module defining your SQLAlchemy (new) models, e.g. myapp.orm",
)
@click.option(
    "--package",
    default="shadow",
    show_default=True,
    help="the folder (package) to write the provider and the pairs into",
)
@click.option(
    "--tenant-table",
    default=None,
    metavar="TABLE",
    help="the table of tenants (default: the one org_id/organization_id/... columns refer to)",
)
def init(models: str, new_models: str | None, package: str, tenant_table: str | None) -> None:
    """Set this project up: [tool.harness], a fixture provider and an example pair module."""
    from harness.scaffold import init_project

    written = init_project(
        Path.cwd(),
        models=models,
        new_models=new_models,
        package=package,
        tenant_table=tenant_table,
    )
    for path in written.files:
        click.echo(f"wrote {path.relative_to(Path.cwd())}")
    tenant = written.tenant_table or "none found (every table is global; see --tenant-table)"
    click.echo(f"{len(written.tables)} tables; tenant table: {tenant}")
    click.echo("next: harness run   (or: pytest --harness)")


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
    """Rebuild the HTML report from a saved results file, or draw one from a shadow log (.jsonl)."""
    from harness.report.html import render_report

    path = render_report(_read_run(results), out_dir=out_dir or results.parent)
    click.echo(f"report: {path}")


def _read_run(path: Path) -> Any:
    """A saved run: ``results.json``, or a runtime shadow log (``.jsonl``) read as one."""
    from harness.report.results_file import read_results
    from harness.shadow.log import is_shadow_log, read_shadow_log

    return read_shadow_log(path) if is_shadow_log(path) else read_results(path)


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
    help="the run whose differences to accept (results.json, or a shadow log .jsonl)",
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

    config = _config({"baseline": str(baseline_path) if baseline_path else None})
    target = config.baseline or Path("harness-baseline.json")
    added, kept, removed = update_baseline(_read_run(results), target, reason=reason)
    click.echo(f"{target}: {added} added, {kept} kept, {removed} removed")


@cli.command()
@click.option(
    "--db",
    "db",
    default=None,
    metavar="URL",
    help="the server to clean (default: $HARNESS_DATABASE_URL, else [tool.harness] db)",
)
def clean(db: str | None) -> None:
    """Drop scratch databases and temp folders whose owning run is gone (never any other)."""
    from harness.database.janitor import sweep_temp
    from harness.database.scratch import sweep_server
    from harness.url import parse_url

    config = _config({"db": db})
    folders = sweep_temp()
    for path in folders.dropped:
        click.echo(f"removed temporary folder {path}")
    left = len(folders.left)
    spec = parse_url(config.db) if config.db else None
    if spec is not None and spec.dialect in ("postgresql", "mysql"):
        found = sweep_server(spec)
        for name in found.dropped:
            click.echo(f"dropped scratch database {name} on {spec}")
        left += len(found.left)
        dropped = len(folders.dropped) + len(found.dropped)
    else:
        dropped = len(folders.dropped)
    click.echo(f"harness clean: {dropped} removed, {left} left (their runs are still going)")


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
            from harness.database.connect import classify_connection_error

            return DatabaseError(f"the database failed: {classify_connection_error(exc)}")
    return None
