"""The gate's rules besides equivalence: a latency ceiling and query budgets for the new side.

Each threshold comes from the pair's own option when it sets one (``pair(...,
max_query_ratio=2)``), else from ``[tool.harness]``; a rule with neither is off.

- ``max_latency_ratio``: broken only when the whole 95% confidence interval of new/legacy lies
  above the threshold, so noise on a busy CI machine cannot fail a run, while a real slowdown
  still does once enough rounds narrow the interval.
- ``max_queries``: the new side sent more statements than this in a case.
- ``max_query_ratio``: the new side sent more than ``ratio x max(legacy statements, 1)``.

Statements are counted without transaction control (BEGIN, SAVEPOINT, RELEASE, COMMIT,
ROLLBACK): the new side's Session opens a savepoint the legacy side has no counterpart for, and a
budget is about the queries an operation sends, not how it brackets them.

When a query rule is broken, the message names the statement the new side repeated most (an
N+1 pattern, once literal values and placeholders are collapsed), since that is what to fix.
Cases that raised are skipped here: their error already fails them.

Example message::

    issue.list[org-1]: new side sent 23 statements, legacy 2 (max_query_ratio 1.5); repeated 21x:
    SELECT ... FROM "User" WHERE "User".id = ?
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from harness.records import (
    CaseResult,
    Latency,
    SideSummary,
    Statement,
    Violation,
    is_transaction_control,
)

if TYPE_CHECKING:
    from harness.registry import Pair

MAX_SQL_IN_MESSAGE = 240
MAX_CASES_NAMED = 3

# Order matters: strings first (they may hold anything), then the placeholder styles of the
# DB-API drivers (qmark, numeric $1, pyformat %(name)s / %s, named :name but not a ::cast).
_LITERALS = (
    (re.compile(r"'(?:[^']|'')*'"), "?"),
    (re.compile(r"\$\d+\b"), "?"),
    (re.compile(r"%\(\w+\)s|%s"), "?"),
    (re.compile(r"(?<![:\w]):\w+"), "?"),
    (re.compile(r"(?<![\w.\"`])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b"), "?"),
)
# IN (?, ?, ?) of any length is one shape: a batch of 3 ids and a batch of 40 are the same query.
_PLACEHOLDER_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_SPACE = re.compile(r"\s+")
_SELECT_LIST = re.compile(r"^(SELECT\s+(?:DISTINCT\s+)?)(.+?)(\s+FROM\s)", re.I | re.S)


def statement_shape(sql: str) -> str:
    """``sql`` with literal values and placeholders collapsed to ``?``, whitespace to one space.

    Example::

        statement_shape('SELECT * FROM "User" WHERE id = $1 AND name IN (%s, %s)')
        # 'SELECT * FROM "User" WHERE id = ? AND name IN (?)'
    """
    shape = sql
    for pattern, replacement in _LITERALS:
        shape = pattern.sub(replacement, shape)
    shape = _PLACEHOLDER_LIST.sub("(?)", shape)
    return _SPACE.sub(" ", shape).strip()


def repeated_statement(statements: Iterable[Statement | str]) -> tuple[str, int] | None:
    """The most repeated statement shape and how often it was sent; None when none repeats.

    Transaction control (BEGIN, SAVEPOINT, RELEASE, ...) is not counted: a harness or ORM sends it
    around work, and repeating it is not the N+1 pattern this looks for. Ties go to the shape sent
    first.
    """
    counts: Counter[str] = Counter()
    for statement in statements:
        sql = statement if isinstance(statement, str) else statement.sql
        if is_transaction_control(sql):
            continue
        counts[statement_shape(sql)] += 1
    if not counts:
        return None
    shape, count = counts.most_common(1)[0]  # most_common keeps first-seen order among ties
    return (shape, count) if count > 1 else None


def shorten_sql(shape: str, limit: int = MAX_SQL_IN_MESSAGE) -> str:
    """A statement shape short enough for a one-line message: a long column list becomes ``...``."""
    match = _SELECT_LIST.match(shape)
    if match and len(match.group(2)) > 40:
        shape = f"{match.group(1)}...{match.group(3)}{shape[match.end() :]}"
    return shape if len(shape) <= limit else shape[: limit - 3] + "..."


def threshold(pair: Pair, config: Any, name: str) -> tuple[Any, str]:
    """The value of the gate setting ``name`` for ``pair`` and where it came from.

    The pair's option wins over the global setting; ``(None, "")`` when neither sets it.
    """
    own = getattr(pair.options, name, None)
    if own is not None:
        return own, "from the pair's options"
    glob = getattr(config, name, None)
    if glob is not None:
        source = getattr(config, "source", None)
        return glob, source(name) if callable(source) else "from the run's settings"
    return None, ""


def check(
    pair: Pair,
    cases: Sequence[CaseResult],
    latency: Latency | None,
    config: Any,
) -> list[Violation]:
    """The gate rules ``pair`` broke on ``cases`` and ``latency`` (empty when none).

    ``config`` is the run's :class:`~harness.settings.HarnessConfig` (anything with
    ``max_latency_ratio``, ``max_queries`` and ``max_query_ratio`` attributes will do).
    """
    violations: list[Violation] = []
    runnable = [c for c in cases if c.error is None and c.status != "error"]

    limit, source = threshold(pair, config, "max_queries")
    if limit is not None:
        over = [c for c in runnable if query_count(c.new) > limit]
        if over:
            setting = f"max_queries {limit} {source}"
            violations.append(_query_violation("max_queries", over, _new_queries, setting))

    ratio, source = threshold(pair, config, "max_query_ratio")
    if ratio is not None:
        over = [c for c in runnable if _query_ratio(c) > ratio]
        if over:
            setting = f"max_query_ratio {ratio:g} {source}"
            violations.append(_query_violation("max_query_ratio", over, _query_ratio, setting))

    ceiling, source = threshold(pair, config, "max_latency_ratio")
    if ceiling is not None and latency is not None:
        violation = _latency_violation(pair.name, latency, ceiling, source)
        if violation is not None:
            violations.append(violation)
    return violations


def query_count(side: SideSummary) -> int:
    """The statements a side sent, transaction control left out.

    ``side.statements`` may be cut short in a results file; the statements beyond it are
    counted as queries, since that is what they almost always are.
    """
    control = sum(1 for s in side.statements if is_transaction_control(s.sql))
    return max(side.queries - control, 0)


def _new_queries(case: CaseResult) -> float:
    return query_count(case.new)


def _query_ratio(case: CaseResult) -> float:
    return query_count(case.new) / max(query_count(case.legacy), 1)


def _query_violation(
    rule: str,
    over: Sequence[CaseResult],
    worst_by: Callable[[CaseResult], float],
    setting: str,
) -> Violation:
    """One violation per rule and pair, told through its worst case; the others are named."""
    worst = max(over, key=worst_by)
    message = (
        f"{worst.pair}[{worst.label}]: new side sent {query_count(worst.new)} statements, "
        f"legacy {query_count(worst.legacy)} ({setting})"
    )
    repeated = repeated_statement(worst.new.statements)
    if repeated is not None:
        shape, count = repeated
        cut = len(worst.new.statements) < worst.new.queries
        within = f" in the first {len(worst.new.statements)} recorded" if cut else ""
        message += f"; repeated {count}x{within}: {shorten_sql(shape)}"
    others = [c.label for c in over if c is not worst]
    if others:
        named = ", ".join(others[:MAX_CASES_NAMED])
        more = f" and {len(others) - MAX_CASES_NAMED} more" if len(others) > MAX_CASES_NAMED else ""
        cases = "case" if len(others) == 1 else "cases"
        message += f" (also in {len(others)} other {cases}: {named}{more})"
    return Violation(rule=rule, message=message)


def _latency_violation(
    name: str, latency: Latency, ceiling: float, source: str
) -> Violation | None:
    """Broken when the interval lies wholly above ``ceiling``.

    A latency without an interval (a results file from elsewhere) is judged on its ratio alone,
    since nothing better is known.
    """
    low = latency.ratio_low if latency.ratio_low is not None else latency.ratio
    if not low > ceiling:
        return None
    if latency.ratio_low is not None and latency.ratio_high is not None:
        interval = f"95% CI {latency.ratio_low:.2f}-{latency.ratio_high:.2f}, "
    else:
        interval = ""
    return Violation(
        rule="max_latency_ratio",
        message=(
            f"{name}: new side takes {latency.ratio:.2f}x the legacy time "
            f"({interval}{latency.rounds} rounds; legacy p50 {latency.legacy_p50_ms:.3f} ms, "
            f"new p50 {latency.new_p50_ms:.3f} ms), above max_latency_ratio {ceiling:g} {source}"
        ),
    )
