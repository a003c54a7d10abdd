"""A shadowed call's verdict and its record: the suite's own judge, one JSON line out.

Both sides' values are normalized as the suite normalizes them (:mod:`harness.normalize.walk`,
with the pair's ``keys`` and ``normalize`` hook) and judged by the suite's judge
(:func:`harness.compare.judge.judge`: ``ordered``, ``ignore``, ``unordered``, ``float_tolerance``
and the tenant guard), so a pair means the same in CI and in production.

A record (one JSON line; ``kind: "call"``) is a case of ``results.json`` (CONTRACT section 4,
:meth:`harness.records.CaseResult.to_json`) plus where it came from::

    {"kind": "call", "v": 1, "at": "2025-06-01T12:00:00.123Z", "operation": "issue.list",
     "router": "issue", "use": "legacy", "label": "org-1,status=open", "status": "mismatch",
     "tenant_id": "org-1", "params": {"status": "open"}, "diff": {...}, "error": null,
     "legacy": {"ms": 1.9, "queries": 1, "result": [...], "result_rows": 120, "raised": null},
     "new": {"ms": 2.4, "queries": 3, "result": [...], "result_rows": 120, "raised": null}, ...}

``result`` is cut to 50 rows and ``max_value_chars`` characters of JSON; ``raised`` is
``{"type", "message", "category"}`` for a side that raised.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from harness.compare.categories import classify
from harness.compare.judge import judge
from harness.records import CaseResult, Observation, Side, SideError
from harness.registry import Case, Pair, PlannedCase
from harness.shadow.observe import Outcome

RECORD_VERSION = 1
TRACEBACK_LINES = 20


def _qualified(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def observation(outcome: Outcome, pair: Pair) -> Observation:
    """One side's outcome as the judge takes it: normalized, or the error it raised."""
    if outcome.exc is not None:
        error = side_error(outcome.side, outcome.exc, errors=pair.rules.errors)
        return Observation(outcome.side, error=error, ms=outcome.ms)
    from harness.normalize.walk import normalize_rows

    try:
        value, flat_bools = normalize_rows(outcome.value, keys=pair.options.keys)
        if pair.normalize_hook is not None:
            value, flat_bools = pair.normalize_hook(value), None
    except Exception as exc:  # a value the suite could not compare either: that side's error
        return Observation(outcome.side, error=side_error(outcome.side, exc), ms=outcome.ms)
    return Observation(outcome.side, value=value, ms=outcome.ms, flat_bools=flat_bools)


def side_error(
    side: Side, exc: BaseException, *, errors: Mapping[str, str] | None = None
) -> SideError:
    """``exc`` as the suite records a side's error, with its portable category."""
    lines = "".join(traceback.format_exception(exc)).splitlines()
    if len(lines) > TRACEBACK_LINES:
        lines = ["…", *lines[-TRACEBACK_LINES:]]
    message = " ".join(str(getattr(exc, "orig", None) or exc).split()) or type(exc).__name__
    return SideError(
        side=side,
        type=_qualified(exc),
        message=message[:2000],
        sql=getattr(exc, "statement", None),
        traceback="\n".join(lines),
        category=classify(exc, errors),
    )


def verdict(
    pair: Pair,
    *,
    tenant_id: Any,
    params: dict[str, Any],
    legacy: Outcome,
    new: Outcome,
    order: tuple[Side, Side],
) -> CaseResult:
    """Judge two outcomes of a call as the suite judges a case."""
    case = Case(tenant_id=tenant_id, params=params)
    planned = PlannedCase(pair, case.display_label(0), case)
    # The suite's judge decides error paths too: the same category on both sides is equal.
    result = judge(planned, observation(legacy, pair), observation(new, pair), order)
    return replace(
        result,
        legacy=replace(result.legacy, queries=legacy.queries),
        new=replace(result.new, queries=new.queries),
    )


def record_line(
    result: CaseResult,
    *,
    router: str,
    use: str,
    legacy: Outcome,
    new: Outcome,
    max_value_chars: int,
) -> str:
    """The call's record as one JSON line, every value bounded."""
    data = result.to_json()
    operation = data.pop("pair")
    record: dict[str, Any] = {
        "kind": "call",
        "v": RECORD_VERSION,
        "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "operation": operation,
        "router": router,
        "use": use,
        **data,
    }
    for outcome in (legacy, new):
        side = record[outcome.side]
        side.pop("statements", None)
        side.pop("changes", None)
        side["result"] = _bounded(side.get("result"), max_value_chars)
        side.setdefault("raised", None)  # {category, type, message} of the side that raised
    line = _dumps(record)
    if len(line) > 4 * max_value_chars and record.get("diff"):
        # A diff of very many wide rows: keep its summary, the report still says what differs.
        record["diff"] = {"summary": record["diff"]["summary"], "truncated": 1}
        line = _dumps(record)
    return line


def _bounded(value: Any, limit: int) -> Any:
    text = _dumps(value)
    if len(text) <= limit:
        return value
    return {"$cut": f"{len(text)} characters of JSON", "head": text[:limit]}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
