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
import json
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from harness.records import CaseResult, PairResult, RunResult, SideSummary
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
MAX_CHART_PAIRS = 80
MAX_MARKS = 500  # changed paths and one-sided rows looked for in the drawn results
RUN_KEYS = ("seed", "shuffle_seed", "tenants", "scale", "started_at", "duration_s", "argv")
CHART_WIDTH = 520  # px of the longest bar
FAILING = ("mismatch", "error")


@dataclass(frozen=True)
class PairView:
    """What the page shows of one pair: its table row, its chart bars and its cases."""

    index: int
    pair: PairResult
    status: str
    fails: bool
    counts: Mapping[str, int]
    accepted: int
    legacy_p50: float | None
    new_p50: float | None
    ratio: float | None
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
        | {"shuffle_seed": result.run.get("shuffle_seed", result.run.get("order_seed"))},
        interrupted=bool(result.run.get("interrupted")),
        baseline=result.baseline or {},
        summary=result.summary(),
        pairs=pairs,
        reasons=_gate_reasons(result),
        routers=sorted({p.router for p in result.pairs}),
        chart_pairs=[v for v in pairs if v.legacy_p50 is not None and v.new_p50 is not None],
        chart_max=MAX_CHART_PAIRS,
        chart_width=CHART_WIDTH,
        data={"pairs": [_pair_data(v) for v in pairs]},
        # Our own static files, inlined as they are; the script's hash goes into the page's CSP.
        script=Markup(script),
        script_hash=f"sha256-{digest}",
        style=Markup(style),
    )
    path = out_dir / "index.html"
    write_atomic(path, html)
    return path


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
    env.filters.update(num=_num, ms=_ms, short=_short, ratio=_ratio, counted=_counted)
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
        views.append(
            PairView(
                index=index,
                pair=pair,
                status=pair.status,
                fails=pair.fails_gate,
                counts=counts,
                accepted=sum(1 for c in pair.cases if c.accepted is not None),
                legacy_p50=legacy,
                new_p50=new,
                ratio=ratio,
                benched=benched,
                queries=_queries(pair.cases),
                detailed=tuple(detailed),
                compact=tuple(shown),
                compact_more=len(rest) - len(shown),
                detail_budget_cut=budget_cut,
            )
        )
    return views


def _latency(pair: PairResult) -> tuple[float | None, float | None, float | None, bool]:
    if pair.latency is not None:
        lat = pair.latency
        return lat.legacy_p50_ms, lat.new_p50_ms, lat.ratio, True
    timed = [c for c in pair.cases if c.legacy.ms or c.new.ms]
    if not timed:
        return None, None, None, False
    # Without a benchmark the single case runs are all there is: shown, but marked approximate.
    legacy = statistics.median(c.legacy.ms for c in timed)
    new = statistics.median(c.new.ms for c in timed)
    return legacy, new, (new / legacy if legacy else None), False


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
            _counted(n, f"{word} case")
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
        changed = {parse_path(c.path) for c in diff.changes[:MAX_MARKS]}
        changes = [
            (c.path, c.kind, _clip(_dump(c.legacy), MAX_VALUE), _clip(_dump(c.new), MAX_VALUE))
            for c in diff.changes[:MAX_CHANGES]
        ]
        for side, rows in (("legacy", diff.only_legacy), ("new", diff.only_new)):
            only[side] = [(_clip(_dump(r.row), MAX_VALUE), r.count) for r in rows[:MAX_ONLY_ROWS]]
            only_rows[side] = {_canonical(r.row) for r in rows[:MAX_MARKS]}
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
        "traceback": _clip(case.error.traceback, MAX_TRACEBACK, tail=True) if case.error else None,
        "error_sql": _clip(case.error.sql, MAX_SQL) if case.error and case.error.sql else None,
    }


def _side_view(
    side: str, summary: SideSummary, changed: set[tuple[str, ...]], only_rows: set[str]
) -> dict[str, Any]:
    marked = set(changed)
    value = summary.result
    if isinstance(value, list) and only_rows:
        # An unordered comparison names rows, not paths: mark the rows found on this side only.
        marked.update(
            (str(i),) for i, row in enumerate(value[:MAX_MARKS]) if _canonical(row) in only_rows
        )
    lines, cut = _pretty_lines(value, marked)
    statements = [
        (s.ms, _clip(s.sql, MAX_SQL), _clip(s.params, MAX_VALUE))
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
        "changes": _clip(_dump(summary.changes, indent=1), 4000) if summary.changes else None,
    }


_ROOT = re.compile(r"^(?:root|\$)(?=[\[.]|$)")
_TOKEN = re.compile(r"""\[\s*(?:'([^']*)'|"([^"]*)"|([^\]]*?))\s*\]|([^.\[\]/]+)""")


def parse_path(path: str) -> tuple[str, ...]:
    """Split a diff path into keys: ``[0].title``, ``root[0]['title']`` and ``0/title`` agree.

    >>> parse_path("[3].machine.name")
    ('3', 'machine', 'name')
    """
    tokens = []
    for m in _TOKEN.finditer(_ROOT.sub("", path.strip())):
        tokens.append(next(t for t in m.groups() if t is not None))
    return tuple(tokens)


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
        line = escape(_clip("  " * depth + text, MAX_LINE))
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
                label = f"{_dump(str(k))}: " if isinstance(v, dict) else ""
                walk(item, (*path, str(k)), depth + 1, label, "," if n < len(items) - 1 else "")
            if skipped:
                emit(depth + 1, f"… {skipped:,} rows not drawn", path)
            emit(depth, closer + comma, path)
        else:
            emit(depth, prefix + _dump(v) + comma, path)

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


# --- text helpers (also Jinja filters) -----------------------------------------------------------


def _dump(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, indent=indent)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _clip(text: str | None, limit: int, *, tail: bool = False) -> str:
    if text is None or len(text) <= limit:
        return text or ""
    if tail:  # a traceback's end names the failing line: keep that
        return f"… ({len(text) - limit:,} characters cut)\n{text[-limit:]}"
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else _dump(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: float | int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():  # a median of whole counts
        value = int(value)
    return f"{value:,}"


def _counted(value: int, singular: str, plural: str | None = None) -> str:
    """``3|counted("query", "queries")`` -> ``3 queries``; ``1`` -> ``1 query``."""
    return f"{_num(value)} {singular if value == 1 else plural or singular + 's'}"


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.3f}" if value < 1 else f"{value:,.2f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}\N{MULTIPLICATION SIGN}"
