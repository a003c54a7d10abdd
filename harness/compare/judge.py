"""The verdict of a case: two observations in, a :class:`~harness.records.CaseResult` out.

* Both sides returned: their values (and a writing pair's row changes, after fresh values are
  matched) are compared under the pair's :class:`~harness.compare.rules.Rules`; the tenant
  guard runs on both sides' values and row changes, and a leak is a mismatch even when both
  sides agree.
* Both sides raised the same error category (``not_found``, ``unique_violation``, …): the same
  behaviour, ``equal`` ("both raised unique_violation"). Different categories, or one side
  raising where the other returns: ``mismatch``, showing both.
* An exception of the pair's own code (no database or ORM error), or a timeout or a lost
  connection: ``error``; the run could not observe the behaviour.
* A case the pair declared with ``expect=`` that differs is ``expected``; one that no longer
  differs is a ``mismatch`` asking to drop the expectation (strict, like ``xfail(strict=True)``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.compare import fresh as row_changes
from harness.compare.categories import INFRASTRUCTURE
from harness.compare.depths import Depths
from harness.compare.tenancy import find_leaks
from harness.compare.verdict import compare, tied_page
from harness.errors import ConfigError, RegistrationError
from harness.normalize.table import Table, materialize
from harness.normalize.walk import normalize
from harness.records import (
    CaseResult,
    CaseWarning,
    Diff,
    Observation,
    Side,
    SideError,
    SideSummary,
    Status,
)
from harness.registry import PlannedCase


def judge(
    planned: PlannedCase, legacy: Observation, new: Observation, order: tuple[Side, Side]
) -> CaseResult:
    """Compare two observations of a case into its :class:`CaseResult`."""
    pair = planned.pair
    rules = planned.rules
    case = planned.case
    status: Status = "equal"
    diff: Diff | None = None
    error: SideError | None = None
    leaks: tuple[str, ...] = ()
    notes: list[CaseWarning] = [*legacy.warnings, *new.warnings]
    legacy_value, new_value = legacy.value, new.value
    legacy_changes = new_changes = None
    if legacy.error or new.error:
        status, diff, error = _raised(legacy, new, order)
    else:
        needs_rows = pair.options.writes or rules.order_by or rules.paths is not None
        if needs_rows or legacy_value.__class__ is not new_value.__class__:
            # Row changes, rules on paths and mixed forms need canonical rows; flat rows that
            # compare as they are stay column-wise tables.
            legacy_value, new_value = materialize(legacy_value), materialize(new_value)
        if pair.options.writes:
            legacy_value, new_value, legacy_changes, new_changes = row_changes.match_fresh_values(
                legacy, new, fresh=rules.fresh
            )
            if rules.keys:  # keys= renames columns in row changes too
                legacy_changes = normalize(legacy_changes, keys=rules.keys)
                new_changes = normalize(new_changes, keys=rules.keys)
        # Walked once here for both the comparison's equal path and the tenant guard; not at
        # all when normalizing found flat tables (a hint only for the very value it returned).
        depths = (
            _depths(legacy_value, legacy.flat_bools if legacy_value is legacy.value else None),
            _depths(new_value, new.flat_bools if new_value is new.value else None),
        )
        try:
            comparison = compare(
                legacy_value,
                new_value,
                ordered=False,
                rules=rules,
                depths=None if depths[0] is None or depths[1] is None else (depths[0], depths[1]),
            )
        except ConfigError as exc:  # an order_by key the rows do not have: fix the pair
            raise RegistrationError.for_pair(pair.name, pair.where, str(exc)) from exc
        if pair.options.writes:
            comparison = row_changes.merge(
                comparison,
                compare(
                    legacy_changes,
                    new_changes,
                    ordered=True,
                    float_tolerance=rules.float_tolerance,
                    paths=rules.change_paths,
                ),
            )
        if case.tenant_id is not None and pair.options.tenant_scoped:
            leaks = find_leaks(
                case.tenant_id,
                rules.tenant,
                legacy=(depths[0] or legacy_value, legacy_changes),
                new=(depths[1] or new_value, new_changes),
            )
        if not comparison.equal:
            status, diff = "mismatch", comparison.diff
        if leaks:
            status = "mismatch"
            leak_line = f"tenant leak: {leaks[0]}" + (
                f" (+{len(leaks) - 1} more)" if len(leaks) > 1 else ""
            )
            diff = (
                Diff(summary=leak_line)
                if diff is None
                else replace(diff, summary=f"{leak_line}; {diff.summary}")
            )
        if rules.order_by:
            notes.extend(_page_ties(rules.order_by, (legacy, legacy_value), (new, new_value)))
    expected = rules.expectation(planned.label) if rules.expect else None
    if expected is not None:
        status, diff = _expected(status, diff, expected)
    return CaseResult(
        pair=pair.name,
        label=planned.label,
        status=status,
        tenant_id=case.tenant_id,
        user_id=case.user_id,
        params=dict(case.params),
        diff=diff,
        error=error,
        legacy=SideSummary.of(legacy, value=legacy_value, changes=legacy_changes),
        new=SideSummary.of(new, value=new_value, changes=new_changes),
        order=order,
        leaks=leaks,
        expected=expected,
        warnings=tuple(notes),
    )


def _raised(
    legacy: Observation, new: Observation, order: tuple[Side, Side]
) -> tuple[Status, Diff | None, SideError | None]:
    """The verdict of a case where at least one side raised."""
    errors = [o.error for o in (legacy, new) if o.error is not None]
    first = errors[0] if len(errors) == 1 or order[0] == "legacy" else errors[1]
    # The pair's own bug, or an operation the run could not observe: an error, not a verdict.
    for e in (first, *errors):
        if e.category is None or e.category in INFRASTRUCTURE:
            return "error", None, e
    if legacy.error is not None and new.error is not None:
        if legacy.error.category == new.error.category:
            return "equal", None, None
        summary = (
            f"legacy raised {legacy.error.category} ({legacy.error.type}: "
            f"{_short(legacy.error.message)}), new raised {new.error.category} "
            f"({new.error.type}: {_short(new.error.message)})"
        )
        return "mismatch", Diff(summary=summary), None
    raised, returned = (legacy, new) if legacy.error is not None else (new, legacy)
    assert raised.error is not None
    summary = (
        f"{raised.side} raised {raised.error.category} ({raised.error.type}: "
        f"{_short(raised.error.message)}), {returned.side} returned {_short(repr(returned.value))}"
    )
    return "mismatch", Diff(summary=summary), None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _expected(status: Status, diff: Diff | None, reason: str) -> tuple[Status, Diff | None]:
    """Strict expectations: a declared difference that differs is expected; one that agrees fails."""
    if status == "mismatch":
        return "expected", diff
    if status == "equal":
        return "mismatch", Diff(
            summary=(
                f"expected to differ ({reason}), but both sides now agree: drop this case "
                "from the pair's expect="
            )
        )
    return status, diff


def _page_ties(order_by: tuple[str, ...], *sides: tuple[Observation, Any]) -> list[CaseWarning]:
    """A warning when the sort keys tie on a page read with LIMIT: the page may not be determined."""
    found: list[CaseWarning] = []
    for obs, value in sides:
        limited = any(" LIMIT " in f" {s.sql.upper()} " for s in obs.statements)
        tie = tied_page(value, order_by) if limited else None
        if tie is not None:
            found.append(
                CaseWarning(
                    category="OrderByTie",
                    message=(
                        f"the sort keys {list(order_by)} are not unique on this page ({tie}); "
                        "with LIMIT, a tie cut at the page's end leaves the page's content to "
                        "the database: add a unique key to ORDER BY and to order_by"
                    ),
                    side=obs.side,
                )
            )
            break
    return found


def _depths(value: object, flat_bools: bool | None) -> Depths | None:
    """The value's Depths for the equal path and the tenant guard (a Table has its own)."""
    return None if value.__class__ is Table else Depths.of(value, flat_bools)
