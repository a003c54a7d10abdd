"""The engine both drivers share: ``harness run`` and ``pytest --harness`` call these steps.

1. :meth:`Engine.plan` loads the pairs and builds every pair x case from the fixture data,
   generated in memory (no database needed, so pytest can collect before any exists);
2. :meth:`Engine.database` opens a scratch database and seeds it (one per xdist worker);
3. :meth:`Engine.run_case` runs and judges one case; :meth:`Engine.measure` times a pair;
4. :meth:`Engine.finish` applies the gate rules and the baseline and returns the run's result,
   which :func:`harness.report.publish.publish` writes (results.json, then the HTML report).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from harness import __version__
from harness.clock import NOW
from harness.compare.rules import Rules
from harness.database.scratch import open_target
from harness.errors import ConfigError, RegistrationError
from harness.fixture import FixtureData, generate_dataset, load_provider, seed_target
from harness.records import CaseResult, Latency, PairResult, RunResult, Violation
from harness.registry import Pair, PlannedCase, load_pairs
from harness.run.sides import random_order_seed, run_case
from harness.settings import HarnessConfig
from harness.url import parse_url

if TYPE_CHECKING:
    from harness.database.target import Target


@dataclass(frozen=True)
class SeededDatabase:
    """An open, seeded fixture database and its row counts."""

    target: Target
    counts: dict[str, int]
    seconds: float


class Engine:
    """One run's pairs, fixture and settings; stateless between cases."""

    def __init__(self, config: HarnessConfig) -> None:
        self.config = config
        if config.db:
            parse_url(config.db)  # a bad URL fails before any work is done
        self.provider = load_provider(config.fixture)
        self.registry = load_pairs(config.pairs, include_default=config.include_default_pairs)
        self.pairs: list[Pair] = self.registry.select(config.only)
        self.order_seed = (
            config.order_seed if config.order_seed is not None else random_order_seed()
        )
        self.now = NOW
        self._dataset: FixtureData | None = None
        self._planned: dict[str, list[PlannedCase]] | None = None
        self._shard: tuple[set[str], set[str]] | None = None
        self.started_at = datetime.now(UTC)
        self._baseline_cache: Any = None
        self._rules: dict[str, Rules] = {}
        self._timed_out: set[str] = set()  # cases a side of which ran past case_timeout

    def check_outputs(self) -> None:
        """Before any case runs: the baseline parses and the report folder takes files.

        A bad baseline or an unwritable folder found after a long run would throw its results
        away; found now, it is one line and exit 2.
        """
        from harness.report.publish import check_writable

        self._baseline()
        check_writable(self.config.report_dir)

    def preflight(self, *, notify: Callable[[str], None] | None = None) -> None:
        """Reach the database server once (sweeping orphans), before workers are started."""
        from harness.database.scratch import sweep_server

        spec = parse_url(self.config.db) if self.config.db else None
        if spec is not None and spec.dialect in ("postgresql", "mysql"):
            sweep_server(spec, notify=notify)

    @property
    def dataset(self) -> FixtureData:
        """The provider's fixture data, generated once (``generate(..., now=self.now)``)."""
        if self._dataset is None:
            self._dataset = generate_dataset(
                self.provider,
                name=self.config.fixture,
                seed=self.config.seed,
                tenants=self.config.tenants,
                scale=self.config.scale,
                now=self.now,
            )
        return self._dataset

    def rules_of(self, pair: Pair) -> Rules:
        """``pair``'s rules completed with this run's settings (checked once per pair)."""
        rules = self._rules.get(pair.name)
        if rules is None:
            tenant = self.config.tenant_column or getattr(self.provider, "tenant_column", None)
            try:
                rules = pair.rules.completed(tenant_column=tenant, errors=self.config.errors)
            except ValueError as exc:
                raise ConfigError(f"{exc}; fix [tool.harness] or the fixture provider") from exc
            if pair.rules.tenant is not None or tenant is not None:  # set, so it must exist
                _check_tenant_column(pair, rules, self.provider)
            self._rules[pair.name] = rules
        return rules

    def plan(self) -> list[PlannedCase]:
        """Every pair x case of this run (of its shard, with ``--shard``), in registration order;
        no pair at all is an error (exit 2)."""
        if not self.pairs:
            raise ConfigError(
                "no pairs to run: no pair module registered any pair (the reference pairs are off "
                "when a project names its own pairs or fixture); name your pair modules in "
                "[tool.harness] pairs or with --pairs"
            )
        mine = self._shard_units()[0]
        return [pc for pc in self.full_plan() if pc.id in mine]

    def full_plan(self) -> list[PlannedCase]:
        """Every pair x case of the whole run, whatever the shard."""
        return [pc for cases in self._plan_by_pair().values() for pc in cases]

    def cases_of(self, pair: Pair) -> list[PlannedCase]:
        """The planned cases of one pair in this run (its shard)."""
        mine = self._shard_units()[0]
        return [pc for pc in self._plan_by_pair()[pair.name] if pc.id in mine]

    def measures(self, pair: Pair) -> bool:
        """Whether this run (its shard) measures the latency of ``pair``."""
        return self.config.bench and pair.name in self._shard_units()[1]

    def split(
        self,
        parts: int,
        planned: Sequence[PlannedCase] | None = None,
        measured: Sequence[str] | None = None,
    ) -> list[list[Any]]:
        """The units of work (planned cases, and names of pairs to measure) dealt into
        ``parts`` balanced lists (:mod:`harness.shard`); by default the whole run's."""
        from harness.shard import balance, case_weight, recorded_costs

        costs = recorded_costs(self.config.shard_costs) if self.config.shard_costs else {}
        weight = case_weight(costs)
        bench_ms = self.config.bench_time * 1000.0
        units: list[Any] = list(self.full_plan() if planned is None else planned)
        if measured is not None:
            units += measured
        elif self.config.bench:
            units += [p.name for p in self.pairs if self._plan_by_pair()[p.name]]
        return balance(units, parts, lambda u: bench_ms if isinstance(u, str) else weight(u.id))

    def _shard_units(self) -> tuple[set[str], set[str]]:
        """The case ids and the pair names (to measure) of this run's shard."""
        if self._shard is None:
            shard = self.config.shard
            if shard is None:
                units: list[Any] = [*self.full_plan(), *(p.name for p in self.pairs)]
            else:
                units = self.split(shard.total)[shard.index - 1]
            self._shard = (
                {u.id for u in units if not isinstance(u, str)},
                {u for u in units if isinstance(u, str)},
            )
        return self._shard

    def identity(self) -> str:
        """The digest naming this planned run, the same in every shard of it."""
        from harness.shard import run_identity

        c = self.config
        return run_identity(
            version=__version__,
            settings={
                "seed": c.seed,
                "tenants": c.tenants,
                "scale": c.scale,
                "fixture": c.fixture,
                "bench": c.bench,
                "shards": c.shard.total if c.shard else 1,
            },
            case_ids=[pc.id for pc in self.full_plan()],
        )

    def _plan_by_pair(self) -> dict[str, list[PlannedCase]]:
        if self._planned is None:
            self._planned = {
                p.name: [
                    PlannedCase(pair=p, label=label, case=case, policy=self.rules_of(p))
                    for label, case in p.make_cases(self.dataset)
                ]
                for p in self.pairs
            }
        return self._planned

    @contextlib.contextmanager
    def database(
        self, *, worker: str | None = None, notify: Callable[[str], None] | None = None
    ) -> Iterator[SeededDatabase]:
        """A scratch fixture database, seeded; dropped at the end unless ``keep_db``.

        ``notify`` is told what the janitor removed first and which connections were retried.
        """
        from harness.run.watchdog import Watchdog

        timeout = self.config.case_timeout
        with (
            open_target(
                self.config.db,
                keep=self.config.keep_db,
                suffix=worker,
                statement_timeout=timeout,
                notify=notify,
            ) as target,
            Watchdog(timeout) as dog,
        ):
            target.watchdog = dog
            started = time.perf_counter()
            counts = seed_target(self.provider, target, self.dataset, name=self.config.fixture)
            yield SeededDatabase(
                target=target, counts=counts, seconds=time.perf_counter() - started
            )

    def run_case(self, planned: PlannedCase, target: Target) -> CaseResult:
        """Run and judge one case; a difference the baseline accepts is marked so."""
        result = run_case(planned, target, order_seed=self.order_seed, now=self.now)
        if result.error is not None and result.error.category == "timeout":
            self._timed_out.add(planned.id)
        accepted = None if result.status == "equal" else self.accepted_reason(result)
        return result if accepted is None else replace(result, accepted=accepted)

    def budget_problem(
        self, pair: Pair, case: CaseResult | None = None, latency: Latency | None = None
    ) -> str | None:
        """The budget rules ``pair`` broke in one case or in its latency, as one message.

        The same rules :meth:`finish` applies to the whole run, so the item that shows a
        violation under pytest fails exactly when the gate does.
        """
        from harness.gate import budget

        broken = budget.check(pair, [case] if case is not None else [], latency, self.config)
        return "; ".join(v.message for v in broken) or None

    def measure(self, pair: Pair, target: Target) -> Latency | None:
        """Paired latency of ``pair`` over its cases (None when benchmarks are off or it has none)."""
        from harness.run.timing import measure_pair

        # All of them, whichever shard runs them; a case that ran past the timeout would only
        # time out again.
        cases = [pc for pc in self._plan_by_pair()[pair.name] if pc.id not in self._timed_out]
        if not cases or not self.measures(pair):
            return None
        return measure_pair(cases, target, now=self.now, budget_s=self.config.bench_time)

    def finish(
        self,
        cases: Sequence[CaseResult],
        latencies: dict[str, Latency],
        *,
        dialect: str,
        url: str,
        interrupted: bool = False,
        extra_run: dict[str, Any] | None = None,
        selected: set[str] | None = None,
    ) -> RunResult:
        """Apply the gate rules and the baseline: the run's result (``report.publish`` writes it)."""
        from harness.gate import budget

        by_pair: dict[str, list[CaseResult]] = {}
        for c in cases:
            by_pair.setdefault(c.pair, []).append(c)
        pair_results = []
        in_shard = {pc.pair.name for pc in self.plan()} | self._shard_units()[1]
        for p in self.pairs:
            if selected is not None and p.name not in selected:
                continue  # deselected (pytest -k, -m): not part of this run
            if p.name not in in_shard:
                continue  # another shard's
            pair_cases = tuple(by_pair.get(p.name, ()))
            latency = latencies.get(p.name)
            violations: tuple[Violation, ...] = tuple(
                budget.check(p, pair_cases, latency, self.config)
            )
            pair_results.append(
                PairResult(
                    name=p.name,
                    router=p.router,
                    gate=p.options.gate,
                    cases=pair_cases,
                    latency=latency,
                    violations=violations,
                    options=_options_json(p),
                    skipped_reason=None
                    if pair_cases
                    else ("interrupted before it ran" if interrupted else "not run (deselected)"),
                )
            )
        finished = datetime.now(UTC)
        run = {
            "seed": self.config.seed,
            "order_seed": self.order_seed,
            "tenants": self.config.tenants,
            "scale": self.config.scale,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "duration_s": round((finished - self.started_at).total_seconds(), 3),
            "interrupted": interrupted,
            "now": self.now.isoformat(),
            "settings": self.config.public(),
            "registered_pairs": [p.name for p in self.registry],
            **(extra_run or {}),
        }
        if self.config.shard is not None:
            run["shard"] = {
                "index": self.config.shard.index,
                "total": self.config.shard.total,
                "identity": self.identity(),
                # Every planned case of the whole run, so that merge can put them back in
                # order and check that each ran exactly once.
                "plan": {
                    p: [pc.label for pc in cases] for p, cases in self._plan_by_pair().items()
                },
            }
        result = RunResult(
            harness_version=__version__,
            dialect=dialect,
            url=url,
            pairs=tuple(pair_results),
            run=run,
        )
        result = self.apply_baseline(result)
        if interrupted:
            ran = len(cases)
            result = replace(
                result,
                gate_reasons=(
                    *result.gate_reasons,
                    f"the run was interrupted after {ran} of {len(self.plan())} cases",
                ),
            )
        return result

    def _baseline(self) -> Any:
        if self.config.baseline is None or not self.config.baseline.exists():
            return None
        if self._baseline_cache is None:
            from harness.gate.baseline import load_baseline

            self._baseline_cache = load_baseline(self.config.baseline)
        return self._baseline_cache

    def apply_baseline(self, result: RunResult) -> RunResult:
        """Mark accepted differences and stale baseline entries (no baseline file: unchanged)."""
        baseline = self._baseline()
        if baseline is None:
            return result
        from harness.gate.baseline import apply_baseline

        # A shard runs some cases of a pair: an entry of a case another shard runs still exists.
        planned = (
            {(pc.pair.name, pc.label) for pc in self.full_plan()}
            if self.config.shard is not None
            else None
        )
        return apply_baseline(result, baseline, planned=planned)

    def accepted_reason(self, case: CaseResult) -> str | None:
        """The baseline's reason when it accepts this case's exact difference, else None."""
        baseline = self._baseline()
        return None if baseline is None else baseline.accepts(case)

    def describe_database(self, target: Target | None = None) -> tuple[str, str]:
        """The dialect and the masked URL to record for this run (before a target exists too)."""
        if target is not None:
            return target.dialect, target.display_url
        if not self.config.db:
            return "sqlite", "sqlite:///<temporary file>"
        spec = parse_url(self.config.db)
        return ("postgresql" if spec.dialect == "container" else spec.dialect), str(spec)


def _options_json(p: Pair) -> dict[str, Any]:
    o = p.options
    return {
        "ordered": o.ordered,
        "writes": o.writes,
        "watch": list(o.watch),
        "ignore": dict(o.ignore_reasons),
        "unordered": list(o.unordered),
        "tenant_scoped": o.tenant_scoped,
        "cross_tenant_reason": o.cross_tenant_reason,
        "max_latency_ratio": o.max_latency_ratio,
        "max_queries": o.max_queries,
        "max_query_ratio": o.max_query_ratio,
        "where": p.where,
    }


def _check_tenant_column(pair: Pair, rules: Rules, provider: Any) -> None:
    """A tenant column the schema does not have is a typo: say so before the run.

    Checked against the new models' tables: a per-table column must exist in its table, and a
    single column name in at least one table. Watched tables without the column are fine (a
    comment belongs to its tenant through its issue); their row changes are simply not guarded.
    """
    if not pair.options.tenant_scoped or rules.tenant is None:
        return
    new_metadata = getattr(provider, "new_metadata", None)
    try:
        tables = new_metadata().tables if callable(new_metadata) else None
    except Exception:  # a provider that cannot say: nothing to check against
        tables = None
    if not tables:
        return
    tenant = rules.tenant
    for table, column in tenant.by_table.items():
        if table in tables and column not in tables[table].c:
            raise RegistrationError.for_pair(
                pair.name,
                pair.where,
                f"tenant_column: table {table!r} has no column {column!r}; fix the mapping",
            )
    default = tenant.default
    if default is not None and not any(default in t.c for t in tables.values()):
        raise RegistrationError.for_pair(
            pair.name,
            pair.where,
            f"tenant_column {default!r} is a column of no table; set tenant_column (on the "
            "pair, in [tool.harness] or on the fixture provider) to the tenant column's name",
        )
