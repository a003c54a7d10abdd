"""Drawing ``reports/index.html`` from a :class:`RunResult`: one self-contained page.

The page must open from a CI artifact with no network, stay readable at a thousand cases and
never let fixture text (which holds ``<script>`` on purpose) run. So Jinja2 autoescapes every
value, the script's data travels as ``|tojson`` in a ``type="application/json"`` block, and a
Content-Security-Policy lets only the page's own script run (by hash) and forbids any fetch.

Example::

    from harness.report.html import rebuild, render_report

    render_report(result, out_dir=Path("reports"))     # -> reports/index.html
    rebuild(Path("reports/results.json"))               # the same, from a saved run
"""

from __future__ import annotations

import base64
import hashlib
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from harness.paths import steps
from harness.records import CaseResult, PairResult, RunResult, SideSummary
from harness.report.chart import chart_rows
from harness.report.filters import canonical, clip, counted, dump, ms, num, ratio, short
from harness.report.results_file import read_results, write_atomic

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"

# What keeps the page small whatever results.json holds (a file may come from another version).
DETAIL_CASES_PER_PAIR = 25  # failing cases drawn in full per pair; the rest go to a compact table
DETAIL_BUDGET_CHARS = 3_000_000  # all full case sections together; past it, cases go compact
COMPACT_CASES_PER_PAIR = 1_000
COMPACT_CASES_TOTAL = 5_000
MAX_CHANGES = 50
MAX_ONLY_ROWS = 20
MAX_STATEMENTS = 15
MAX_SIDE_LINES = 300
HEAD_ROWS = 5  # top-level rows always drawn; further ones only when they differ
MAX_DRAWN_ROWS = 30
MAX_LINE = 240
MAX_VALUE = 300
MAX_SQL = 3_000
MAX_TRACEBACK = 8_000
MAX_MARKS = 500  # changed paths and one-sided rows looked for in the drawn results
RUN_KEYS = ("seed", "order_seed", "tenants", "scale", "started_at", "duration_s", "argv")
FAILING = ("mismatch", "error")


@dataclass(frozen=True)
class PairView:
    """What the page shows of one pair: its table row, its chart bars and its cases."""

    index: int
    anchor: str  # the section's id, from the pair's name: links survive other pairs changing
    pair: PairResult
    status: str
    fails: bool
    counts: Mapping[str, int]
    accepted: int
    legacy_p50: float | None
    new_p50: float | None
    ratio: float | None  # None too when a case errored: its timings compare nothing
    interval: tuple[float, float] | None  # the ratio's 95% interval, when measured and shown
    limit: float | None  # max_latency_ratio for this pair, when one is set
    errored: bool
    benched: bool  # False: p50s are medians of single case runs (--no-bench)
    queries: tuple[float, float, int, int] | None  # medians then sums per side
    detailed: tuple[Markup, ...]
    compact: tuple[CaseResult, ...]
    compact_more: int
    detail_budget_cut: int  # failing cases left compact only because of the page budget


def render_report(result: RunResult, *, out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` for ``result`` and return its path."""
    env = _environment()
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    style = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    pairs = _pair_views(result, env.get_template("case.html.j2"))
    html = env.get_template("report.html.j2").render(
        r=result,
        # Every key optional: a results file from an older or newer harness still draws.
        run={key: result.run.get(key) for key in RUN_KEYS}
        # Files from before the seed had one name called it "shuffle_seed".
        | {"order_seed": result.run.get("order_seed", result.run.get("shuffle_seed"))},
        interrupted=bool(result.run.get("interrupted")),
        baseline=result.baseline or {},
        # A report drawn from a shadow log (harness.shadow.log) adds its real-traffic table.
        traffic=result.run.get("traffic") or [],
        summary=result.summary(),
        pairs=pairs,
        reasons=_gate_reasons(result),
        routers=sorted({p.router for p in result.pairs}),
        chart=chart_rows(pairs),
        data={"pairs": [_pair_data(v) for v in pairs]},
        # Our own static files, inlined as they are; the script's hash goes into the page's CSP.
        script=Markup(script),
        script_hash=f"sha256-{digest}",
        style=Markup(style),
    )
    path = out_dir / "index.html"
    write_atomic(path, html)
    return path


def prepare() -> None:
    """Import Jinja2 and compile the report's templates now (0.2-0.4 s cold), ahead of drawing:
    ``--workers``' controller does it while its workers run. Drawing does it itself otherwise.
    Every template, those the page includes as it draws too."""
    env = _environment()
    for name in env.list_templates(extensions=["j2"]):
        env.get_template(name)


def rebuild(results_path: Path, out_dir: Path | None = None) -> Path:
    """Rebuild the HTML report from a saved ``results.json`` (``harness report FILE.json``)."""
    return render_report(read_results(results_path), out_dir=out_dir or results_path.parent)


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # cheap to import the harness: Jinja2 only when a report is drawn

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=num, ms=ms, short=short, ratio=ratio, counted=counted)
    return env


# --- the pairs --------------------------------------------------------------------------------


def _pair_views(result: RunResult, case_template: jinja2.Template) -> list[PairView]:
    budget = DETAIL_BUDGET_CHARS
    compact_left = COMPACT_CASES_TOTAL
    views = []
    for index, pair in enumerate(result.pairs):
        counts = {s: 0 for s in ("equal", "mismatch", "error", "skipped")}
        for case in pair.cases:
            counts[case.status] = counts.get(case.status, 0) + 1
        # Unaccepted failures first, then accepted ones: the page opens on what blocks a merge.
        failing = sorted((c for c in pair.cases if c.status in FAILING), key=lambda c: not c.fails)
        detailed: list[Markup] = []
        rest: list[CaseResult] = []
        budget_cut = 0
        for case in failing:
            if len(detailed) >= DETAIL_CASES_PER_PAIR:
                rest.append(case)
            elif budget <= 0:
                budget_cut += 1
                rest.append(case)
            else:
                # Rendered here, not in the page template, so the budget can be kept exactly.
                html = Markup(case_template.render(c=case, d=_case_detail(case)))
                budget -= len(html)
                detailed.append(html)
        rest.extend(c for c in pair.cases if c.status not in FAILING)
        shown = rest[: max(0, min(COMPACT_CASES_PER_PAIR, compact_left))]
        compact_left -= len(shown)
        legacy, new, ratio, benched = _latency(pair)
        lat = pair.latency
        interval = (
            (lat.ratio_low, lat.ratio_high)
            if ratio is not None
            and lat
            and lat.ratio_low is not None
            and lat.ratio_high is not None
            else None
        )
        views.append(
            PairView(
                index=index,
                anchor=pair_anchor(pair.name),
                pair=pair,
                status=pair.status,
                fails=pair.fails_gate,
                counts=counts,
                accepted=sum(1 for c in pair.cases if c.accepted is not None),
                legacy_p50=legacy,
                new_p50=new,
                ratio=ratio,
                interval=interval,
                limit=_latency_limit(pair, result),
                errored=pair.errored,
                benched=benched,
                queries=_queries(pair.cases),
                detailed=tuple(detailed),
                compact=tuple(shown),
                compact_more=len(rest) - len(shown),
                detail_budget_cut=budget_cut,
            )
        )
    return views


def pair_anchor(name: str) -> str:
    """The id of a pair's section: its name as a slug, and a short hash of the name.

    Derived from the name alone, so a link to a pair keeps working when other pairs come or go;
    the hash keeps apart names with the same slug (``issue.list``, ``issue-list``).

    >>> pair_anchor("issue.list")
    'pair-issue-list-93ae15'
    """
    slug = _SLUG.sub("-", name.lower()).strip("-")[:60]
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=3).hexdigest()
    return f"pair-{slug}-{digest}" if slug else f"pair-{digest}"


_SLUG = re.compile(r"[^a-z0-9]+")


def _latency(pair: PairResult) -> tuple[float | None, float | None, float | None, bool]:
    # A case that raised was left out of the timing or timed raising: no ratio to stand by.
    if pair.latency is not None:
        lat = pair.latency
        return lat.legacy_p50_ms, lat.new_p50_ms, None if pair.errored else lat.ratio, True
    timed = [c for c in pair.cases if c.legacy.ms or c.new.ms]
    if not timed:
        return None, None, None, False
    # Without a benchmark the single case runs are all there is: shown, but marked approximate.
    legacy = statistics.median(c.legacy.ms for c in timed)
    new = statistics.median(c.new.ms for c in timed)
    ratio = new / legacy if legacy and not pair.errored else None
    return legacy, new, ratio, False


def _latency_limit(pair: PairResult, result: RunResult) -> float | None:
    """The pair's own max_latency_ratio, else the run's (as the gate chose it)."""
    own = pair.options.get("max_latency_ratio")
    if own is not None:
        return float(own)
    settings = result.run.get("settings")
    glob = settings.get("max_latency_ratio") if isinstance(settings, dict) else None
    return float(glob) if glob is not None else None


def _queries(cases: Sequence[CaseResult]) -> tuple[float, float, int, int] | None:
    if not cases:
        return None
    legacy = [c.legacy.queries for c in cases]
    new = [c.new.queries for c in cases]
    return statistics.median(legacy), statistics.median(new), sum(legacy), sum(new)


def _gate_reasons(result: RunResult) -> list[str]:
    reasons = list(result.gate_reasons)
    for pair in result.pairs:
        if not pair.fails_gate:
            continue
        failing = [c for c in pair.cases if c.fails]
        mism = sum(1 for c in failing if c.status == "mismatch")
        parts = [
            counted(n, f"{word} case")
            for n, word in ((mism, "mismatching"), (len(failing) - mism, "erroring"))
            if n
        ]
        if parts:
            reasons.append(f"{pair.name}: {' and '.join(parts)}")
        reasons.extend(f"{pair.name}: {v.rule}: {v.message}" for v in pair.violations)
    return reasons


def _pair_data(view: PairView) -> dict[str, Any]:
    """The little the script needs per pair row; everything else is already in the markup."""
    return {
        "name": view.pair.name,
        "router": view.pair.router,
        "status": view.status,
        "fails": view.fails,
        "ratio": view.ratio,
        "anchor": view.anchor,
        "legacy": view.legacy_p50,
        "new": view.new_p50,
    }


# --- one case in full --------------------------------------------------------------------------


def _case_detail(case: CaseResult) -> dict[str, Any]:
    diff = case.diff
    changed: set[tuple[str, ...]] = set()
    changes = []
    only: dict[str, list[tuple[str, int]]] = {"legacy": [], "new": []}
    only_rows: dict[str, set[str]] = {"legacy": set(), "new": set()}
    if diff is not None:
        # Only the first differences are looked for: a side draws at most MAX_DRAWN_ROWS rows.
        changed = {steps(c.path) for c in diff.changes[:MAX_MARKS]}
        changes = [
            (c.path, c.kind, clip(dump(c.legacy), MAX_VALUE), clip(dump(c.new), MAX_VALUE))
            for c in diff.changes[:MAX_CHANGES]
        ]
        for side, rows in (("legacy", diff.only_legacy), ("new", diff.only_new)):
            only[side] = [(clip(dump(r.row), MAX_VALUE), r.count) for r in rows[:MAX_ONLY_ROWS]]
            only_rows[side] = {canonical(r.row) for r in rows[:MAX_MARKS]}
    return {
        "changes": changes,
        "changes_more": len(diff.changes) - len(changes) if diff else 0,
        "only": only,
        "only_totals": {
            side: (len(rows), sum(r.count for r in rows))
            for side, rows in (
                ("legacy", diff.only_legacy if diff else ()),
                ("new", diff.only_new if diff else ()),
            )
        },
        "sides": [
            _side_view(side, summary, changed, only_rows[side])
            for side, summary in (("legacy", case.legacy), ("new", case.new))
        ],
        "traceback": clip(case.error.traceback, MAX_TRACEBACK, tail=True) if case.error else None,
        "error_sql": clip(case.error.sql, MAX_SQL) if case.error and case.error.sql else None,
    }


def _side_view(
    side: str, summary: SideSummary, changed: set[tuple[str, ...]], only_rows: set[str]
) -> dict[str, Any]:
    marked = set(changed)
    value = summary.result
    if isinstance(value, list) and only_rows:
        # An unordered comparison names rows, not paths: mark the rows found on this side only.
        marked.update(
            (str(i),) for i, row in enumerate(value[:MAX_MARKS]) if canonical(row) in only_rows
        )
    lines, cut = _pretty_lines(value, marked)
    statements = [
        (s.ms, clip(s.sql, MAX_SQL), clip(s.params, MAX_VALUE))
        for s in summary.statements[:MAX_STATEMENTS]
    ]
    return {
        "name": side,
        "summary": summary,
        "lines": lines,
        "lines_cut": cut,
        "rows_not_kept": (summary.result_rows - len(value))
        if summary.result_rows and isinstance(value, list)
        else 0,
        "statements": statements,
        "statements_more": max(summary.queries, len(summary.statements)) - len(statements),
        "changes": clip(dump(summary.changes, indent=1), 4000) if summary.changes else None,
    }


class _Full(Exception):
    """The side's drawing reached MAX_SIDE_LINES."""


def _pretty_lines(value: Any, marked: set[tuple[str, ...]]) -> tuple[Markup, bool]:
    """Pretty-print a normalized result as JSON, wrapping lines at or under a marked path."""
    out: list[str] = []

    def is_marked(path: tuple[str, ...]) -> bool:
        return any(path[:k] in marked for k in range(len(path) + 1))

    def emit(depth: int, text: str, path: tuple[str, ...]) -> None:
        if len(out) >= MAX_SIDE_LINES:
            raise _Full
        line = escape(clip("  " * depth + text, MAX_LINE))
        out.append(f'<mark class="hl">{line}</mark>' if is_marked(path) else str(line))

    def walk(v: Any, path: tuple[str, ...], depth: int, prefix: str, comma: str) -> None:
        if isinstance(v, dict | list) and v:
            opener, closer = ("{", "}") if isinstance(v, dict) else ("[", "]")
            emit(depth, prefix + opener, path)
            items = list(v.items()) if isinstance(v, dict) else list(enumerate(v))
            keep = _rows_to_draw(len(items), marked) if not path and isinstance(v, list) else None
            skipped = 0
            for n, (k, item) in enumerate(items):
                if keep is not None and n not in keep:
                    skipped += 1
                    continue
                if skipped:
                    emit(depth + 1, f"… {skipped:,} rows not drawn", path)
                    skipped = 0
                label = f"{dump(str(k))}: " if isinstance(v, dict) else ""
                walk(item, (*path, str(k)), depth + 1, label, "," if n < len(items) - 1 else "")
            if skipped:
                emit(depth + 1, f"… {skipped:,} rows not drawn", path)
            emit(depth, closer + comma, path)
        else:
            emit(depth, prefix + dump(v) + comma, path)

    try:
        walk(value, (), 0, "", "")
    except _Full:
        return Markup("\n".join(out)), True  # every line was escaped in emit()
    return Markup("\n".join(out)), False


def _rows_to_draw(count: int, marked: set[tuple[str, ...]]) -> set[int]:
    if () in marked:
        return set(range(min(count, MAX_DRAWN_ROWS)))
    differing = sorted({int(p[0]) for p in marked if p and p[0].isdigit() and int(p[0]) < count})
    keep = set(range(min(count, HEAD_ROWS)))
    keep.update(differing[: MAX_DRAWN_ROWS - len(keep)])
    return keep
